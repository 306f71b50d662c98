//! `plinth import ADDRESS ID`: adopts an existing cloud resource into the state of a resource
//! block that already exists in the stack. The provider reads it by id
//! ([`plinth_provider::Resource::import`]); the result is recorded under the state lock as the
//! next serial, schema-sensitive attributes stored as digests. A plan afterwards shows what
//! differs between the imported resource and the configuration.

use miette::{miette, Result};
use plinth_provider::{object_to_persisted_json, CallContext, Progress};
use plinth_state::{with_lock, ResourceRecord, ResourceStatus, Session, StateError};

use super::workspace::Workspace;

/// What an import recorded.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The address it is now managed at.
    pub address: String,
    /// The cloud id.
    pub id: String,
    /// The state serial written.
    pub serial: u64,
    /// How many attributes were recorded.
    pub attributes: usize,
}

/// Progress lines of an import are not shown (a read is short).
struct Silent;

impl Progress for Silent {
    fn update(&self, _message: &str) {}
}

/// Imports the resource with cloud id `id` as `address`.
pub async fn import(workspace: &Workspace, address: &str, id: &str) -> Result<Imported> {
    let stack = &workspace.stack;
    let Some(config) = stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == address)
    else {
        let known: Vec<String> = stack
            .resources
            .iter()
            .map(|r| r.address.to_string())
            .collect();
        let closest = known
            .iter()
            .max_by(|a, b| {
                strsim::jaro_winkler(a, address).total_cmp(&strsim::jaro_winkler(b, address))
            })
            .map(|a| format!("did you mean `{a}`? "))
            .unwrap_or_default();
        return Err(miette!(
            help = format!(
                "{closest}write the resource block (`[type.name]`) in the stack first, then import into it"
            ),
            "`{address}` is not a resource of stack `{}`",
            stack.name
        ));
    };
    let type_name = config.address.type_name.clone();
    let resource = workspace
        .registry
        .resource_for(&type_name, stack, &workspace.work_dir)
        .await
        .map_err(|e| miette!("configuring the provider of `{address}`: {e}"))?;
    let schema = resource.schema().clone();
    let dependencies = workspace.graph.dependencies(address);
    let store = &*workspace.store;
    with_lock(store, "import", |_| async move {
        let loaded = store.load().await?;
        let mut session = Session::open(store, loaded, env!("CARGO_PKG_VERSION")).await?;
        let document = session.document().clone();
        if let Some(existing) = document.resources.get(address) {
            return Err(StateError::Edit(format!(
                "`{address}` is already in the state (id {}); `plinth state rm {address}` first to import \
                 another resource into it",
                existing.id.as_deref().unwrap_or("none")
            )));
        }
        let token = plinth_state::random_id();
        let ctx = CallContext {
            address,
            token: &token,
            progress: &Silent,
            timeout: None,
        };
        let attributes = resource
            .import(&ctx, id)
            .await
            .map_err(|e| StateError::Edit(format!("importing `{address}` (id `{id}`): {e}")))?
            .ok_or_else(|| {
                StateError::Edit(format!(
                    "no `{type_name}` with id `{id}` exists: check the id (the provider read nothing)"
                ))
            })?;
        let attributes = attributes
            .into_iter()
            .map(|(name, value)| {
                let sensitive = schema.get(&name).is_some_and(|a| a.sensitive) && !value.is_null();
                let value = if sensitive { value.sensitive() } else { value };
                (name, value)
            })
            .collect();
        let record = ResourceRecord {
            address: address.to_string(),
            type_name: type_name.clone(),
            id: Some(id.to_string()),
            attributes: object_to_persisted_json(&attributes, &document.salt),
            dependencies,
            status: ResourceStatus::Ready,
            pending: None,
            prevent_destroy: false,
        };
        let count = record.attributes.len();
        session
            .document_mut()
            .resources
            .insert(address.to_string(), record);
        let document = session.compact().await?;
        Ok(Imported {
            address: address.to_string(),
            id: id.to_string(),
            serial: document.serial,
            attributes: count,
        })
    })
    .await
    .map_err(|e| match e {
        StateError::Locked(holder) => miette!(
            help = "`plinth lock list` shows who holds the lock; wait for it to finish",
            "{} is locked: {}",
            store.describe(),
            holder.describe()
        ),
        other => miette!("{other}"),
    })
}
