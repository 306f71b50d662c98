//! `plinth render`: the Kubernetes manifests of the stack's `app_release` resources, rendered
//! from the evaluated configuration without touching a cluster.
//!
//! References are resolved as a plan would before refreshing: recorded attributes, and the
//! configured inputs of resources not created yet; what is not known until apply (an RDS
//! endpoint of a new database) is shown as [`UNKNOWN_PLACEHOLDER`]. Secret values never
//! appear: env values carrying a secret go to the release's Secret, whose data is masked, an
//! unresolved secret is [`SECRET_PLACEHOLDER`], and every known secret plaintext is scrubbed
//! from the output as a last line of defence.

use foldhash::{HashMap, HashMapExt};

use miette::{miette, IntoDiagnostic, Result};
use plinth_provider::{object_from_json, AttributeMode, Object, Value};
use plinth_state::StateDocument;

use super::workspace::Workspace;
use crate::eval::PlannedScope;
use crate::plan::desired_inputs;
use crate::secrets::Secrets;

/// The resource type whose manifests `plinth render` prints.
pub const RELEASE_TYPE: &str = "app_release";
/// Shown for a value known only after apply.
pub const UNKNOWN_PLACEHOLDER: &str = "(known after apply)";
/// Shown for a secret that is not available to this run.
pub const SECRET_PLACEHOLDER: &str = "(sensitive)";

/// One release's manifests.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedRelease {
    /// Its address, e.g. `app_release.backend`.
    pub address: String,
    /// The revision an apply would record (the recorded one + 1, or 1).
    pub revision: i64,
    /// A multi-document YAML stream (`---` before every object).
    pub yaml: String,
}

/// Evaluates every resource in dependency order; returns the desired inputs per address.
/// References see values as a plan would know them before refreshing: recorded attributes
/// with the configuration laid over them, or for a resource not created yet its inputs
/// (computed attributes unknown).
fn evaluate(
    workspace: &Workspace,
    state: Option<&StateDocument>,
    secrets: &Secrets,
    mut planned: HashMap<String, Object>,
) -> HashMap<String, Object> {
    let mut desired_by_address = HashMap::new();
    let by_address: HashMap<String, &crate::config::ResourceConfig> = workspace
        .stack
        .resources
        .iter()
        .map(|r| (r.address.to_string(), r))
        .collect();
    for address in workspace.graph.dependency_order() {
        let Some(resource) = by_address.get(&address) else {
            continue;
        };
        let Some(schema) = workspace.registry.schema(&resource.address.type_name) else {
            continue;
        };
        let scope = PlannedScope {
            planned: &planned,
            secrets,
        };
        let desired = desired_inputs(resource, schema, &scope);
        let recorded = state
            .and_then(|s| s.resources.get(&address))
            .filter(|r| r.id.is_some())
            .map(|r| object_from_json(&r.attributes));
        let mut after = recorded.unwrap_or_else(|| {
            schema
                .attributes
                .iter()
                .filter(|a| !a.is_input() || a.mode == AttributeMode::OptionalComputed)
                .map(|a| (a.name.clone(), Value::Unknown))
                .collect()
        });
        for (name, value) in &desired {
            if !value.is_null() {
                after.insert(name.clone(), value.clone());
            }
        }
        planned.insert(address.clone(), after);
        desired_by_address.insert(address, desired);
    }
    desired_by_address
}

/// Renders every `app_release` of the stack, or only `only` (an address such as
/// `app_release.backend`, or the block of a counted release).
pub async fn render_releases(
    workspace: &Workspace,
    only: Option<&str>,
) -> Result<Vec<RenderedRelease>> {
    let state = workspace.store.load().await.into_diagnostic()?;
    let generated = state
        .as_ref()
        .map(|s| s.secrets.clone())
        .unwrap_or_default();
    let secrets = Secrets::resolve(&workspace.stack, &generated);
    // The stack's lookups (a VPC's CIDR in a network policy) are read as a plan reads them;
    // one that cannot be read now is shown as known after apply.
    let mut planned = HashMap::new();
    let mut warnings = Vec::new();
    if !workspace.stack.data.is_empty() {
        crate::plan::data::read_all(
            &workspace.stack,
            &workspace.registry,
            &secrets,
            &workspace.work_dir,
            &mut planned,
            &mut warnings,
        )
        .await
        .map_err(|e| miette!("{e}"))?;
    }
    for warning in &warnings {
        eprintln!("Warning: {warning}");
    }
    let desired = evaluate(workspace, state.as_ref(), &secrets, planned);
    let releases: Vec<_> = workspace
        .stack
        .resources
        .iter()
        .filter(|r| r.address.type_name == RELEASE_TYPE)
        .collect();
    let selected: Vec<_> = releases
        .iter()
        .filter(|r| only.is_none_or(|o| r.address.to_string() == o || r.address.block() == o))
        .collect();
    if selected.is_empty() {
        let known: Vec<String> = releases
            .iter()
            .map(|r| format!("`{}`", r.address))
            .collect();
        return Err(match only {
            Some(address) => miette!(
                help = if known.is_empty() {
                    "the stack declares no `[app_release.NAME]`".to_string()
                } else {
                    format!("releases in this stack: {}", known.join(", "))
                },
                "no release `{address}` in the stack"
            ),
            None => miette!(
                help = "`plinth render` prints the manifests of `[app_release.NAME]` blocks",
                "the stack declares no `{RELEASE_TYPE}`"
            ),
        });
    }
    let scrub: Vec<&str> = secrets.known_plaintexts();
    let mut out = Vec::with_capacity(selected.len());
    for resource in selected {
        let address = resource.address.to_string();
        let mut attributes: Object = desired
            .get(&address)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, with_placeholders(value)))
            .collect();
        if attributes.get("name").is_none_or(Value::is_null) {
            attributes.insert(
                "name".into(),
                Value::String(resource.address.name.replace('_', "-")),
            );
        }
        let recorded = state
            .as_ref()
            .and_then(|s| s.resources.get(&address))
            .and_then(|r| r.attributes.get("revision"))
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        attributes.insert("revision".into(), Value::Int(recorded + 1));
        let mut yaml = plinth_kubernetes::render_release_yaml(&attributes)
            .map_err(|e| miette!(help = "check the release's attributes", "{address}: {e}"))?;
        for secret in &scrub {
            if yaml.contains(secret) {
                yaml = yaml.replace(secret, SECRET_PLACEHOLDER);
            }
        }
        out.push(RenderedRelease {
            address,
            revision: recorded + 1,
            yaml,
        });
    }
    Ok(out)
}

/// Unknown leaves become [`UNKNOWN_PLACEHOLDER`], unavailable secrets [`SECRET_PLACEHOLDER`]
/// (still marked sensitive, so the renderer keeps them in the Secret it masks).
fn with_placeholders(value: Value) -> Value {
    match value {
        Value::Unknown => Value::string(UNKNOWN_PLACEHOLDER),
        Value::Redacted(_) => Value::string(SECRET_PLACEHOLDER).sensitive(),
        Value::Sensitive(inner) => match *inner {
            Value::Unknown => Value::string(SECRET_PLACEHOLDER).sensitive(),
            other => with_placeholders(other).sensitive(),
        },
        Value::List(items) => Value::List(items.into_iter().map(with_placeholders).collect()),
        Value::Map(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (k, with_placeholders(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_replace_unknowns_and_keep_secrets_sensitive() {
        let mut env = Object::new();
        env.insert("A".into(), Value::Unknown);
        env.insert("B".into(), Value::Unknown.sensitive());
        env.insert("C".into(), Value::string("plain"));
        env.insert(
            "D".into(),
            Value::Map([("K".to_string(), Value::Unknown.sensitive())].into()).sensitive(),
        );
        let out = with_placeholders(Value::Map(env));
        let map = out.as_map().unwrap();
        assert_eq!(map["A"], Value::string(UNKNOWN_PLACEHOLDER));
        assert_eq!(map["B"], Value::string(SECRET_PLACEHOLDER).sensitive());
        assert_eq!(map["C"], Value::string("plain"));
        let table = map["D"].reveal();
        assert_eq!(
            table.as_map().unwrap()["K"],
            Value::string(SECRET_PLACEHOLDER)
        );
        assert!(!out.has_unknown());
    }
}
