//! Refresh: read every recorded resource from its provider, batched per type (one
//! `read_many` per type, which a provider turns into paginated list calls), and resolve
//! intents left by an interrupted apply.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
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
    /// A create was interrupted and the provider could not tell whether it happened: the
    /// address is blocked until someone looks (the message says why).
    Undecided(String),
    /// Not read (refresh disabled): the recorded attributes.
    Recorded {
        /// Cloud id.
        id: String,
        /// Recorded attributes.
        attributes: Object,
    },
}

/// What refresh found for a deposed object (by its key).
#[derive(Clone, Debug)]
pub enum DeposedRefreshed {
    /// It still exists: its live (or, refresh off, recorded) attributes.
    Live(Object),
    /// It is gone.
    Gone,
}

/// Everything refresh found.
#[derive(Debug, Default)]
pub struct Refresh {
    /// Per recorded address.
    pub resources: HashMap<String, Refreshed>,
    /// Per deposed key.
    pub deposed: HashMap<String, DeposedRefreshed>,
}

/// A refresh failure.
#[derive(Debug)]
pub struct RefreshError {
    /// Addresses concerned.
    pub addresses: Vec<String>,
    /// The provider's error.
    pub error: ProviderError,
}

/// What one batched read is about: a record at an address, or a deposed object.
enum Subject {
    Address(String),
    Deposed(String),
}

/// One object to read.
struct ReadTarget<'a> {
    subject: Subject,
    label: String,
    id: &'a str,
    prior: Object,
}

/// Refreshes every record and deposed object of the state. `warnings` collects notes for
/// the plan.
#[allow(clippy::too_many_arguments)]
pub async fn refresh(
    state: &StateDocument,
    secrets: &Secrets,
    stack: &Stack,
    registry: &Registry,
    work_dir: &Path,
    read_live: bool,
    warnings: &mut Vec<String>,
) -> Result<Refresh, RefreshError> {
    let mut found = Refresh {
        resources: HashMap::with_capacity(state.resources.len()),
        deposed: HashMap::with_capacity(state.deposed.len()),
    };
    let mut by_type: BTreeMap<&str, Vec<ReadTarget<'_>>> = BTreeMap::new();
    for record in state.resources.values() {
        match (&record.id, &record.pending) {
            // An interrupted create is settled by its token. (A record with an id *and* a
            // pending create, left by format 1, was split by `StateDocument::upgrade` into a
            // deposed object and this.)
            (None, Some(intent)) => {
                let settled = recover(
                    state,
                    secrets,
                    record,
                    &intent.token,
                    stack,
                    registry,
                    work_dir,
                    warnings,
                )
                .await;
                found.resources.insert(record.address.clone(), settled);
            }
            (None, None) => {
                found
                    .resources
                    .insert(record.address.clone(), Refreshed::NeverCreated);
            }
            (Some(id), _) if !read_live => {
                found.resources.insert(
                    record.address.clone(),
                    Refreshed::Recorded {
                        id: id.clone(),
                        attributes: object_from_json(&record.attributes),
                    },
                );
            }
            // An interrupted update or delete is settled by the read.
            (Some(id), _) => {
                by_type
                    .entry(record.type_name.as_str())
                    .or_default()
                    .push(ReadTarget {
                        subject: Subject::Address(record.address.clone()),
                        label: record.address.clone(),
                        id,
                        prior: object_from_json(&record.attributes),
                    })
            }
        }
    }
    for object in state.deposed.values() {
        if !read_live {
            found.deposed.insert(
                object.key.clone(),
                DeposedRefreshed::Live(object_from_json(&object.attributes)),
            );
            continue;
        }
        by_type
            .entry(object.type_name.as_str())
            .or_default()
            .push(ReadTarget {
                subject: Subject::Deposed(object.key.clone()),
                label: format!("{} (deposed {})", object.address, object.key),
                id: &object.id,
                prior: object_from_json(&object.attributes),
            });
    }
    let reads = by_type
        .into_iter()
        .map(|(type_name, targets)| read_type(type_name, targets, stack, registry, work_dir));
    for outcome in futures::future::join_all(reads).await {
        for (subject, refreshed) in outcome? {
            match subject {
                Subject::Address(address) => {
                    found.resources.insert(address, refreshed);
                }
                Subject::Deposed(key) => {
                    let live = match refreshed {
                        Refreshed::Live { attributes, .. } => DeposedRefreshed::Live(attributes),
                        _ => DeposedRefreshed::Gone,
                    };
                    found.deposed.insert(key, live);
                }
            }
        }
    }
    Ok(found)
}

async fn read_type(
    type_name: &str,
    targets: Vec<ReadTarget<'_>>,
    stack: &Stack,
    registry: &Registry,
    work_dir: &Path,
) -> Result<Vec<(Subject, Refreshed)>, RefreshError> {
    let addresses = || targets.iter().map(|t| t.label.clone()).collect::<Vec<_>>();
    let resource = registry
        .resource_for(type_name, stack, work_dir)
        .await
        .map_err(|error| RefreshError {
            addresses: addresses(),
            error,
        })?;
    let items: Vec<ReadItem<'_>> = targets
        .iter()
        .map(|t| ReadItem {
            id: t.id,
            prior: &t.prior,
        })
        .collect();
    let label = format!("{type_name} (refresh of {})", targets.len());
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
    drop(items);
    Ok(targets
        .into_iter()
        .zip(live)
        .map(|(target, live)| {
            let refreshed = match live {
                Some(attributes) => {
                    let attributes = carry_sensitivity(&target.prior, attributes);
                    Refreshed::Live {
                        id: target.id.to_string(),
                        unchanged: attributes == target.prior,
                        attributes,
                    }
                }
                None => Refreshed::Gone,
            };
            (target.subject, refreshed)
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

/// Settles an interrupted create by its token: adopted, never created, or undecided (the
/// provider failed or cannot look up by token; only this address is blocked).
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
) -> Refreshed {
    let resource = match registry
        .resource_for(&record.type_name, stack, work_dir)
        .await
    {
        Ok(resource) => resource,
        Err(e) => {
            return Refreshed::Undecided(format!(
                "an earlier apply was interrupted creating it, and its provider cannot be configured to \
                 look for what it made: {e}"
            ))
        }
    };
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
            Refreshed::Recovered {
                id: created.id,
                attributes: carry_sensitivity(&marked, created.attributes),
            }
        }
        Ok(None) => Refreshed::NeverCreated,
        Err(e) if e.kind == ErrorKind::Unsupported => {
            warnings.push(format!(
                "{}: an earlier apply was interrupted during its create and the provider cannot tell whether it \
                 happened; check the cloud for a duplicate after this apply ({e})",
                record.address
            ));
            Refreshed::NeverCreated
        }
        Err(e) => Refreshed::Undecided(format!(
            "an earlier apply was interrupted creating it, and looking for what it made failed: {e}; plan again \
             once the provider answers"
        )),
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
