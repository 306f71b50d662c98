//! The planner: refresh → evaluate desired values in dependency order → diff desired vs
//! live → an action per resource with its reason. The engine, not the provider, decides.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use plinth_provider::{
    object_from_json, object_to_persisted_json, CallContext, NoProgress, Object, Schema, Value,
};
use plinth_state::{ResourceStatus, StateDocument};

use super::diff::{attribute_diffs, creation_diffs, planned_after_create, planned_after_update};
use super::model::*;
use super::refresh::{refresh, RefreshError, Refreshed};
use crate::config::{ResourceConfig, Stack};
use crate::eval::{coerce, eval, PlannedScope, Scope};
use crate::graph::DependencyGraph;
use crate::registry::Registry;
use crate::secrets::Secrets;

/// Knobs of a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Read live resources first (default true; `--refresh=false` turns it off).
    pub skip_refresh: bool,
    /// Plan the destruction of everything in state.
    pub destroy: bool,
    /// Report drift only; propose no config changes.
    pub refresh_only: bool,
    /// `--target ADDR`: only these (and what they depend on).
    pub targets: Vec<String>,
    /// `--replace ADDR`: force these to be replaced.
    pub replace: Vec<String>,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Refresh failed.
    #[error("refreshing {}: {}", .0.addresses.join(", "), .0.error)]
    Refresh(RefreshError),
    /// A provider failed during preflight or plan refinement.
    #[error("{context}: {error}")]
    Provider {
        /// What was being done.
        context: String,
        /// The provider's error.
        error: plinth_provider::ProviderError,
    },
    /// `--target` or `--replace` names nothing.
    #[error("{0}")]
    Usage(String),
}

/// Everything the planner needs.
pub struct Planner<'a> {
    /// The stack.
    pub stack: &'a Stack,
    /// Providers.
    pub registry: &'a Registry,
    /// The dependency graph of the stack.
    pub graph: &'a DependencyGraph,
    /// Secrets of this run.
    pub secrets: &'a Secrets,
    /// Working directory for providers (next to the state).
    pub work_dir: &'a Path,
}

/// Binds a plan to the stack's files and variable values: a saved plan applies only when
/// both are unchanged.
pub fn fingerprint(stack: &Stack) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(stack.config_hash.as_bytes());
    for (name, value) in &stack.variables {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.to_plain_json().to_string().as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// Evaluates a resource's desired inputs: expressions resolved, types coerced, schema
/// sensitivity applied.
pub fn desired_inputs(resource: &ResourceConfig, schema: &Schema, scope: &dyn Scope) -> Object {
    let mut desired = Object::new();
    for (name, expr) in &resource.attributes {
        let mut value = eval(expr, scope);
        if let Some(attribute) = schema.get(name) {
            value = coerce(value, &attribute.value_type);
            if attribute.sensitive && !value.is_null() {
                value = value.sensitive();
            }
        }
        desired.insert(name.clone(), value);
    }
    desired
}

impl Planner<'_> {
    /// Makes the plan.
    pub async fn plan(
        &self,
        state: Option<&StateDocument>,
        options: &PlanOptions,
    ) -> Result<Plan, PlanError> {
        let mut warnings = Vec::new();
        let empty = StateDocument::new(env!("CARGO_PKG_VERSION"));
        let doc = state.unwrap_or(&empty);
        let salt = doc.salt.as_str();

        for (name, reason) in self.secrets.unresolved() {
            warnings.push(format!(
                "secret `{name}` is unresolved ({reason}); `apply` will need it"
            ));
        }
        self.preflight(doc, &mut warnings).await?;

        let mut refreshed = refresh(
            doc,
            self.secrets,
            self.stack,
            self.registry,
            self.work_dir,
            !options.skip_refresh,
            &mut warnings,
        )
        .await
        .map_err(PlanError::Refresh)?;

        let selected = self.selected(doc, options)?;
        let config_by_address: HashMap<String, &ResourceConfig> = self
            .stack
            .resources
            .iter()
            .map(|r| (r.address.to_string(), r))
            .collect();

        let mut planned: HashMap<String, Object> =
            HashMap::with_capacity(self.stack.resources.len());
        let mut changes = Vec::with_capacity(self.stack.resources.len() + doc.resources.len());
        let mut drift = Vec::new();

        // Drift, from refresh, for everything recorded.
        for (address, record) in &doc.resources {
            let Some(result) = refreshed.get(address) else {
                continue;
            };
            let Some(schema) = self.registry.schema(&record.type_name) else {
                continue;
            };
            match result {
                Refreshed::Gone if record.id.is_some() => drift.push(Drift {
                    address: address.clone(),
                    type_name: record.type_name.clone(),
                    deleted: true,
                    diffs: Vec::new(),
                }),
                // Equal to the record: no attribute can differ.
                Refreshed::Live {
                    unchanged: true, ..
                } => {}
                Refreshed::Live { attributes, .. } => {
                    let recorded = object_from_json(&record.attributes);
                    let diffs = attribute_diffs(schema, &recorded, attributes, salt, &[], false);
                    if !diffs.is_empty() {
                        drift.push(Drift {
                            address: address.clone(),
                            type_name: record.type_name.clone(),
                            deleted: false,
                            diffs,
                        });
                    }
                }
                _ => {}
            }
        }

        // Resources in the configuration, in dependency order.
        for address in self.graph.dependency_order() {
            let Some(resource) = config_by_address.get(&address) else {
                continue;
            };
            let schema = match self.registry.schema(&resource.address.type_name) {
                Some(schema) => schema,
                None => continue,
            };
            let record = doc.resources.get(&address);
            // Destroy plans read the refresh results again below; otherwise each is used once.
            let live = if options.destroy {
                refreshed.get(&address).cloned()
            } else {
                refreshed.remove(&address)
            };
            let recovered = matches!(live, Some(Refreshed::Recovered { .. }));
            let gone = matches!(live, Some(Refreshed::Gone));
            let (prior_id, prior) = match live {
                Some(Refreshed::Live { id, attributes, .. })
                | Some(Refreshed::Recovered { id, attributes })
                | Some(Refreshed::Recorded { id, attributes }) => (Some(id), Some(attributes)),
                _ => (None, None),
            };
            if !selected.contains(&address) {
                if let Some(prior) = prior {
                    planned.insert(address.clone(), prior);
                }
                continue;
            }
            let scope = PlannedScope {
                planned: &planned,
                secrets: self.secrets,
            };
            let desired = desired_inputs(resource, schema, &scope);
            let provider = self
                .registry
                .provider_name(&resource.address.type_name)
                .unwrap_or("unknown")
                .to_string();
            let mut change = ResourceChange {
                dependencies: self.graph.dependencies(&address),
                recovered,
                ..ResourceChange::new(
                    &address,
                    &resource.address.type_name,
                    &provider,
                    Action::NoOp,
                )
            };
            if let (Some(id), Some(attributes)) = (&prior_id, &prior) {
                let recorded = record.map(|r| &r.attributes);
                let persisted = object_to_persisted_json(attributes, salt);
                change.prior = Some(PriorRecord {
                    id: id.clone(),
                    refreshed: recorded != Some(&persisted) || change.recovered,
                    attributes: persisted,
                });
            }

            let after = match (&prior, options.destroy, options.refresh_only) {
                (_, true, _) => {
                    // Destroy plans delete everything recorded; handled below with orphans.
                    if let Some(prior) = prior {
                        planned.insert(address.clone(), prior);
                    }
                    continue;
                }
                (Some(prior), _, true) => {
                    planned.insert(address.clone(), prior.clone());
                    changes.push(change);
                    continue;
                }
                (None, _, true) => continue,
                (None, _, _) => {
                    change.action = Action::Create;
                    change.reason = gone.then(|| "deleted outside Plinth".into());
                    planned_after_create(schema, &desired)
                }
                (Some(prior), _, _) => {
                    let tainted = record.is_some_and(|r| r.status == ResourceStatus::Tainted);
                    let requested = options.replace.contains(&address);
                    let mut diffs = attribute_diffs(
                        schema,
                        prior,
                        &desired,
                        salt,
                        &resource.lifecycle.ignore_changes,
                        true,
                    );
                    if !diffs.is_empty() {
                        self.provider_replacement_rules(
                            &resource.address.type_name,
                            prior,
                            &desired,
                            &mut diffs,
                        )
                        .await?;
                    }
                    let forced: BTreeSet<String> = diffs
                        .iter()
                        .filter(|d| d.forces_replacement)
                        .map(|d| d.path.clone())
                        .collect();
                    change.diffs = diffs;
                    if tainted || requested || !forced.is_empty() {
                        change.action = Action::Replace;
                        change.forced_by = forced.into_iter().collect();
                        change.reason = Some(if tainted {
                            "tainted by a failed apply".to_string()
                        } else if requested {
                            "requested with --replace".to_string()
                        } else {
                            let names: Vec<String> =
                                change.forced_by.iter().map(|f| format!("`{f}`")).collect();
                            format!("{} forces replacement", names.join(", "))
                        });
                        change.replace_order = Some(if resource.lifecycle.create_before_destroy {
                            ReplaceOrder::CreateThenDelete
                        } else {
                            ReplaceOrder::DeleteThenCreate
                        });
                        planned_after_create(schema, &desired)
                    } else if !change.diffs.is_empty() {
                        change.action = Action::Update;
                        planned_after_update(schema, prior, &desired)
                    } else {
                        prior.clone()
                    }
                }
            };
            let mut after = after;
            if matches!(
                change.action,
                Action::Create | Action::Update | Action::Replace
            ) {
                self.refine(&change, prior.as_ref(), &mut after).await?;
                if change.action == Action::Create {
                    change.diffs = creation_diffs(schema, &after);
                }
            }
            change.risk = risk(schema, change.action, change.replace_order);
            if change.action != Action::NoOp
                && matches!(change.action, Action::Replace)
                && resource.lifecycle.prevent_destroy
            {
                change.blocked = Some(prevent_destroy_message(&address, change.reason.as_deref()));
            }
            planned.insert(address.clone(), after);
            changes.push(change);
        }

        // Recorded resources that are gone from the configuration (or everything, to destroy).
        let mut deletions = Vec::new();
        for (address, record) in &doc.resources {
            let in_config = config_by_address.contains_key(address);
            if (in_config && !options.destroy)
                || options.refresh_only
                || !selected.contains(address)
            {
                continue;
            }
            let provider = self
                .registry
                .provider_name(&record.type_name)
                .unwrap_or("unknown");
            let (id, attributes) = match refreshed.get(address) {
                Some(Refreshed::Live { id, attributes, .. })
                | Some(Refreshed::Recovered { id, attributes })
                | Some(Refreshed::Recorded { id, attributes }) => (id.clone(), attributes.clone()),
                _ => {
                    // Already gone: nothing to delete, but the record must go.
                    deletions.push(ResourceChange {
                        reason: Some("already gone; its record will be removed".into()),
                        dependencies: record.dependencies.clone(),
                        ..ResourceChange::new(address, &record.type_name, provider, Action::NoOp)
                    });
                    continue;
                }
            };
            let schema = self.registry.schema(&record.type_name);
            let prevent = config_by_address
                .get(address)
                .is_some_and(|r| r.lifecycle.prevent_destroy);
            let reason = if options.destroy {
                "destroy requested"
            } else {
                "not in the configuration"
            };
            deletions.push(ResourceChange {
                reason: Some(reason.into()),
                dependencies: if in_config {
                    self.graph.dependencies(address)
                } else {
                    record.dependencies.clone()
                },
                risk: schema.and_then(|s| risk(s, Action::Delete, None)),
                blocked: prevent.then(|| prevent_destroy_message(address, Some(reason))),
                prior: Some(PriorRecord {
                    id,
                    attributes: object_to_persisted_json(&attributes, salt),
                    refreshed: false,
                }),
                ..ResourceChange::new(address, &record.type_name, provider, Action::Delete)
            });
        }
        changes.extend(deletions);
        propagate_blocks(&mut changes);

        let outputs = if options.destroy {
            Vec::new()
        } else {
            self.output_changes(doc, &planned)
        };
        Ok(Plan {
            format_version: PLAN_FORMAT_VERSION,
            plinth_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: self.stack.name.clone(),
            environment: self.stack.environment.clone(),
            config_hash: fingerprint(self.stack),
            state_lineage: state.map(|s| s.lineage.clone()),
            state_serial: state.map(|s| s.serial),
            destroy: options.destroy,
            refresh_only: options.refresh_only,
            changes,
            drift,
            outputs,
            warnings,
        })
    }

    /// Provider preflight checks (cluster version, ...), only for providers already in use
    /// or with preconditions declared.
    async fn preflight(
        &self,
        doc: &StateDocument,
        warnings: &mut Vec<String>,
    ) -> Result<(), PlanError> {
        let types = self
            .stack
            .resources
            .iter()
            .map(|r| r.address.type_name.as_str())
            .chain(doc.resources.values().map(|r| r.type_name.as_str()));
        for name in self.registry.provider_names(types) {
            let Some(conditions) = self.stack.preconditions.get(name) else {
                continue;
            };
            let Some(type_name) = self
                .stack
                .resources
                .iter()
                .map(|r| r.address.type_name.as_str())
                .find(|t| self.registry.provider_name(t) == Some(name))
            else {
                continue;
            };
            let provider = self
                .registry
                .provider_for(type_name, self.stack, self.work_dir)
                .await
                .map_err(|error| PlanError::Provider {
                    context: format!("configuring provider `{name}`"),
                    error,
                })?;
            let notes =
                provider
                    .preflight(conditions)
                    .await
                    .map_err(|error| PlanError::Provider {
                        context: format!("provider `{name}` preconditions"),
                        error,
                    })?;
            warnings.extend(notes.into_iter().map(|n| format!("{name}: {n}")));
        }
        Ok(())
    }

    /// Marks diffs the provider says cannot be made in place (e.g. an engine downgrade).
    async fn provider_replacement_rules(
        &self,
        type_name: &str,
        prior: &Object,
        desired: &Object,
        diffs: &mut [AttributeDiff],
    ) -> Result<(), PlanError> {
        let resource = self
            .registry
            .resource_for(type_name, self.stack, self.work_dir)
            .await
            .map_err(|error| PlanError::Provider {
                context: format!("configuring the provider of `{type_name}`"),
                error,
            })?;
        let revealed: Object = desired
            .iter()
            .map(|(k, v)| (k.clone(), v.reveal()))
            .collect();
        let forced = resource.replacement_required(prior, &revealed);
        for diff in diffs.iter_mut() {
            let attribute = diff.path.split('.').next().unwrap_or(&diff.path);
            if forced.iter().any(|f| f == attribute) {
                diff.forces_replacement = true;
            }
        }
        Ok(())
    }

    async fn refine(
        &self,
        change: &ResourceChange,
        prior: Option<&Object>,
        after: &mut Object,
    ) -> Result<(), PlanError> {
        let resource = self
            .registry
            .resource_for(&change.type_name, self.stack, self.work_dir)
            .await
            .map_err(|error| PlanError::Provider {
                context: format!("configuring the provider of {}", change.address),
                error,
            })?;
        let ctx = CallContext {
            address: &change.address,
            token: "",
            progress: &NoProgress,
            timeout: None,
        };
        let prior = if change.action == Action::Update {
            prior
        } else {
            None
        };
        resource
            .refine_plan(&ctx, prior, after)
            .await
            .map_err(|error| PlanError::Provider {
                context: format!("planning {}", change.address),
                error,
            })
    }

    /// Addresses in scope: all, or the targets plus their dependencies.
    fn selected(
        &self,
        doc: &StateDocument,
        options: &PlanOptions,
    ) -> Result<HashSet<String>, PlanError> {
        let all: HashSet<String> = self
            .stack
            .resources
            .iter()
            .map(|r| r.address.to_string())
            .chain(doc.resources.keys().cloned())
            .collect();
        for address in &options.replace {
            if !all.contains(address) {
                return Err(PlanError::Usage(format!(
                    "--replace `{address}`: no such resource in the stack or state"
                )));
            }
        }
        if options.targets.is_empty() {
            return Ok(all);
        }
        let configured: HashSet<String> = self
            .stack
            .resources
            .iter()
            .map(|r| r.address.to_string())
            .collect();
        let mut selected = HashSet::new();
        let mut stack: Vec<String> = Vec::new();
        for target in &options.targets {
            let matches: Vec<&String> = all
                .iter()
                .filter(|a| crate::config::selects(target, a))
                .collect();
            if matches.is_empty() {
                return Err(PlanError::Usage(format!(
                    "--target `{target}`: no such resource in the stack or state"
                )));
            }
            stack.extend(matches.into_iter().cloned());
        }
        while let Some(address) = stack.pop() {
            if selected.insert(address.clone()) {
                let deps = if configured.contains(&address) {
                    self.graph.dependencies(&address)
                } else {
                    doc.resources
                        .get(&address)
                        .map(|r| r.dependencies.clone())
                        .unwrap_or_default()
                };
                stack.extend(deps);
            }
        }
        Ok(selected)
    }

    fn output_changes(
        &self,
        doc: &StateDocument,
        planned: &HashMap<String, Object>,
    ) -> Vec<OutputChange> {
        let scope = PlannedScope {
            planned,
            secrets: self.secrets,
        };
        let mut out = Vec::new();
        let mut names: BTreeSet<&String> = self.stack.outputs.keys().collect();
        names.extend(doc.outputs.keys());
        for name in names {
            let before = doc
                .outputs
                .get(name)
                .map(Value::from_json)
                .unwrap_or(Value::Null);
            let after = match self.stack.outputs.get(name) {
                Some(output) => {
                    let value = eval(&output.value, &scope);
                    if output.sensitive {
                        value.sensitive()
                    } else {
                        value
                    }
                }
                None => Value::Null,
            };
            if after.has_unknown() || !after.same_as(&before, &doc.salt) {
                out.push(OutputChange {
                    name: name.clone(),
                    before: DiffValue::of(&before),
                    after: DiffValue::of(&after),
                });
            }
        }
        out
    }
}

fn prevent_destroy_message(address: &str, reason: Option<&str>) -> String {
    format!(
        "`{address}` has `lifecycle.prevent_destroy = true`, but this plan would destroy it{}; \
         change the configuration so it is kept, or remove `prevent_destroy` first",
        reason.map(|r| format!(" ({r})")).unwrap_or_default()
    )
}

/// Marks every change depending (transitively) on a blocked one as blocked too.
fn propagate_blocks(changes: &mut [ResourceChange]) {
    let mut blocked: HashMap<String, String> = changes
        .iter()
        .filter(|c| c.blocked.is_some())
        .map(|c| (c.address.clone(), c.address.clone()))
        .collect();
    if blocked.is_empty() {
        return;
    }
    loop {
        let mut grew = false;
        for change in changes.iter_mut() {
            if change.blocked.is_some() || change.action == Action::NoOp {
                continue;
            }
            if let Some(root) = change
                .dependencies
                .iter()
                .find_map(|d| blocked.get(d).cloned())
            {
                change.blocked = Some(format!(
                    "depends on `{root}`, whose destruction `prevent_destroy` blocks"
                ));
                blocked.insert(change.address.clone(), root);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
}

fn risk(schema: &Schema, action: Action, order: Option<ReplaceOrder>) -> Option<Risk> {
    match action {
        Action::Delete | Action::Replace if schema.stateful => Some(Risk::DataLoss),
        Action::Delete if schema.serves_traffic => Some(Risk::Downtime),
        Action::Replace
            if schema.serves_traffic && order != Some(ReplaceOrder::CreateThenDelete) =>
        {
            Some(Risk::Downtime)
        }
        _ => None,
    }
}

/// Planned values by address, for callers that need to evaluate outputs after apply.
pub type PlannedValues = BTreeMap<String, Object>;
