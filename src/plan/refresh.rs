//! Refresh: read every recorded resource from its provider, batched per type (one
//! `read_many` per type, which a provider turns into paginated list calls), and resolve
//! intents left by an interrupted apply.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use plinth_provider::{
    object_from_json, CallContext, ErrorKind, NoProgress, Object, ProviderError, ReadItem, Value,
};
use plinth_state::{ResourceRecord, StateDocument};

use crate::config::Stack;
use crate::eval::StateScope;
use crate::plan::planner::desired_inputs;
use crate::registry::Registry;
use crate::retry::with_retries;
use crate::secrets::Secrets;

/// What refresh found for one recorded resource.
#[derive(Clone, Debug)]
pub enum Refreshed {
    /// It exists; its live attributes.
    Live {
        /// Cloud id.
        id: String,
        /// Live attributes.
        attributes: Object,
        /// The live attributes equal the recorded ones exactly (no drift is possible).
        unchanged: bool,
    },
    /// It no longer exists.
    Gone,
    /// A create was interrupted and the resource was found by its token: adopt it.
    Recovered {
        /// Cloud id.
        id: String,
        /// Live attributes.
        attributes: Object,
    },
    /// A create was interrupted and nothing was created.
    NeverCreated,
    /// Not read (refresh disabled): the recorded attributes.
    Recorded {
        /// Cloud id.
        id: String,
        /// Recorded attributes.
        attributes: Object,
    },
}

/// A refresh failure.
#[derive(Debug)]
pub struct RefreshError {
    /// Addresses concerned.
    pub addresses: Vec<String>,
    /// The provider's error.
    pub error: ProviderError,
}

/// Refreshes every record of the state. `warnings` collects notes for the plan.
#[allow(clippy::too_many_arguments)]
pub async fn refresh(
    state: &StateDocument,
    secrets: &Secrets,
    stack: &Stack,
    registry: &Registry,
    work_dir: &Path,
    read_live: bool,
    warnings: &mut Vec<String>,
) -> Result<HashMap<String, Refreshed>, RefreshError> {
    let mut results = HashMap::with_capacity(state.resources.len());
    let mut by_type: BTreeMap<&str, Vec<&ResourceRecord>> = BTreeMap::new();
    for record in state.resources.values() {
        match (&record.id, &record.pending) {
            (None, Some(intent)) => {
                let found = recover(
                    state,
                    secrets,
                    record,
                    &intent.token,
                    stack,
                    registry,
                    work_dir,
                    warnings,
                )
                .await?;
                results.insert(record.address.clone(), found);
            }
            (None, None) => {
                results.insert(record.address.clone(), Refreshed::NeverCreated);
            }
            (Some(id), _) if !read_live => {
                results.insert(
                    record.address.clone(),
                    Refreshed::Recorded {
                        id: id.clone(),
                        attributes: object_from_json(&record.attributes),
                    },
                );
            }
            (Some(_), _) => by_type
                .entry(record.type_name.as_str())
                .or_default()
                .push(record),
        }
    }
    let reads = by_type
        .into_iter()
        .map(|(type_name, records)| read_type(type_name, records, stack, registry, work_dir));
    for outcome in futures::future::join_all(reads).await {
        results.extend(outcome?);
    }
    Ok(results)
}

async fn read_type(
    type_name: &str,
    records: Vec<&ResourceRecord>,
    stack: &Stack,
    registry: &Registry,
    work_dir: &Path,
) -> Result<Vec<(String, Refreshed)>, RefreshError> {
    let addresses = || {
        records
            .iter()
            .map(|r| r.address.clone())
            .collect::<Vec<_>>()
    };
    let resource = registry
        .resource_for(type_name, stack, work_dir)
        .await
        .map_err(|error| RefreshError {
            addresses: addresses(),
            error,
        })?;
    let priors: Vec<Object> = records
        .iter()
        .map(|r| object_from_json(&r.attributes))
        .collect();
    let items: Vec<ReadItem<'_>> = records
        .iter()
        .zip(&priors)
        .map(|(r, prior)| ReadItem {
            id: r.id.as_deref().unwrap_or_default(),
            prior,
        })
        .collect();
    let label = format!("{type_name} (refresh of {})", records.len());
    let ctx = CallContext {
        address: &label,
        token: "",
        progress: &NoProgress,
        timeout: None,
    };
    let live = with_retries(|| resource.read_many(&ctx, &items))
        .await
        .map_err(|error| RefreshError {
            addresses: addresses(),
            error,
        })?;
    Ok(records
        .iter()
        .zip(&priors)
        .zip(live)
        .map(|((record, prior), live)| {
            let refreshed = match live {
                Some(attributes) => {
                    let attributes = carry_sensitivity(prior, attributes);
                    Refreshed::Live {
                        id: record.id.clone().unwrap_or_default(),
                        unchanged: &attributes == prior,
                        attributes,
                    }
                }
                None => Refreshed::Gone,
            };
            (record.address.clone(), refreshed)
        })
        .collect())
}

/// Marks live values sensitive where the recorded ones were (a provider reads back what it
/// was given, e.g. a secret interpolated into a plain attribute): without this a refreshed
/// record, its drift and the diffs against it would show the secret in plain text.
fn carry_sensitivity(recorded: &Object, live: Object) -> Object {
    live.into_iter()
        .map(|(name, value)| {
            let value = match recorded.get(&name) {
                Some(recorded) => carry_value(recorded, value),
                None => value,
            };
            (name, value)
        })
        .collect()
}

fn carry_value(recorded: &Value, live: Value) -> Value {
    match (recorded, live) {
        (_, live @ (Value::Null | Value::Unknown | Value::Sensitive(_) | Value::Redacted(_))) => {
            live
        }
        (Value::Redacted(_) | Value::Sensitive(_), live) => live.sensitive(),
        (Value::Map(recorded), Value::Map(live)) => Value::Map(carry_sensitivity(recorded, live)),
        (Value::List(recorded), Value::List(live)) => Value::List(
            live.into_iter()
                .enumerate()
                .map(|(i, value)| match recorded.get(i) {
                    Some(recorded) => carry_value(recorded, value),
                    None => value,
                })
                .collect(),
        ),
        (_, live) => live,
    }
}

#[allow(clippy::too_many_arguments)]
async fn recover(
    state: &StateDocument,
    secrets: &Secrets,
    record: &ResourceRecord,
    token: &str,
    stack: &Stack,
    registry: &Registry,
    work_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Refreshed, RefreshError> {
    let fail = |error| RefreshError {
        addresses: vec![record.address.clone()],
        error,
    };
    let resource = registry
        .resource_for(&record.type_name, stack, work_dir)
        .await
        .map_err(fail)?;
    // What the interrupted create was asked for, as far as it can be known now: the
    // configuration evaluated against the recorded state (natural keys such as names).
    // Sensitive leaves stay marked here, to mark what the provider reports back.
    let marked = match stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == record.address)
    {
        Some(config) => match registry.schema(&record.type_name) {
            Some(schema) => {
                let scope = StateScope {
                    document: state,
                    secrets,
                };
                desired_inputs(config, schema, &scope)
            }
            None => Object::new(),
        },
        None => object_from_json(&record.attributes),
    };
    let desired: Object = marked
        .iter()
        .map(|(k, v)| (k.clone(), v.reveal()))
        .collect();
    let ctx = CallContext {
        address: &record.address,
        token,
        progress: &NoProgress,
        timeout: None,
    };
    match with_retries(|| resource.recover(&ctx, &desired)).await {
        Ok(Some(created)) => {
            warnings.push(format!(
                "{}: an earlier apply was interrupted during its create; the resource it made ({}) was found and adopted",
                record.address, created.id
            ));
            Ok(Refreshed::Recovered {
                id: created.id,
                attributes: carry_sensitivity(&marked, created.attributes),
            })
        }
        Ok(None) => Ok(Refreshed::NeverCreated),
        Err(e) if e.kind == ErrorKind::Unsupported => {
            warnings.push(format!(
                "{}: an earlier apply was interrupted during its create and the provider cannot tell whether it \
                 happened; check the cloud for a duplicate after this apply ({e})",
                record.address
            ));
            Ok(Refreshed::NeverCreated)
        }
        Err(e) => Err(fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: refresh of a resource whose payload holds a secret the API returns in
    /// plaintext recorded the plaintext in the state.
    #[test]
    fn refresh_keeps_secrets_read_back_in_plaintext_sensitive() {
        let salt = "salt";
        let digest = Value::Redacted(Value::string("canary").digest(salt));
        let recorded: Object = [(
            "payload".to_string(),
            Value::Map(
                [
                    ("token".to_string(), digest),
                    ("db".to_string(), Value::string("arn:1")),
                ]
                .into(),
            ),
        )]
        .into();
        let live: Object = [(
            "payload".to_string(),
            Value::Map(
                [
                    ("token".to_string(), Value::string("canary")),
                    ("db".to_string(), Value::string("arn:2")),
                ]
                .into(),
            ),
        )]
        .into();
        let kept = carry_sensitivity(&recorded, live);
        let Some(Value::Map(payload)) = kept.get("payload") else {
            panic!("payload: {kept:?}")
        };
        assert!(matches!(payload["token"], Value::Sensitive(_)));
        assert_eq!(payload["db"], Value::string("arn:2"));
        let persisted = plinth_provider::object_to_persisted_json(&kept, salt);
        assert!(!serde_json::Value::Object(persisted)
            .to_string()
            .contains("canary"));
    }
}
