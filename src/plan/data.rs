//! Reading the stack's `[data.TYPE.NAME]` blocks when a plan starts: in waves (a data source
//! may use another's results), each wave one batched read per type, never a write. A lookup
//! that cannot be made for want of credentials (a plan on a laptop, a fork's pull request)
//! leaves its values unknown with a warning, and `apply` refuses such a plan; any other
//! failure (nothing matches, several match, an API error) fails the plan.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet, HashSetExt};
use std::path::Path;

use plinth_provider::{DataRequest, ErrorKind, Object};
use serde::{Deserialize, Serialize};

use crate::config::{ResourceConfig, Stack};
use crate::eval::PlannedScope;
use crate::registry::Registry;
use crate::secrets::Secrets;

use super::planner::{desired_inputs, PlanError};

/// One data source as the plan read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataRead {
    /// `data.aws_vpc.main`.
    pub address: String,
    /// What was read (plain values: data sources take no secrets), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// Why it was not read now (its values are known after apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

/// The data blocks that can be read once `done` are known: every data source they refer to
/// has been read (or given up on).
pub fn next_wave<'a>(
    pending: &[&'a ResourceConfig],
    done: &HashSet<String>,
) -> Vec<&'a ResourceConfig> {
    pending
        .iter()
        .copied()
        .filter(|block| {
            block
                .attributes
                .values()
                .flat_map(|e| e.references())
                .all(|r| done.contains(&r.target.to_string()))
        })
        .collect()
}

/// The data source a block is waiting on that was not read, if any.
fn waits_on_unread(block: &ResourceConfig, unread: &HashSet<String>) -> Option<String> {
    block
        .attributes
        .values()
        .flat_map(|e| e.references())
        .map(|r| r.target.to_string())
        .find(|address| unread.contains(address))
}

/// Reads every data block of `stack`; the values read are also put in `planned`, where
/// resources' references find them.
pub async fn read_all(
    stack: &Stack,
    registry: &Registry,
    secrets: &Secrets,
    work_dir: &Path,
    planned: &mut HashMap<String, Object>,
    warnings: &mut Vec<String>,
) -> Result<Vec<DataRead>, PlanError> {
    let mut pending: Vec<&ResourceConfig> = stack.data.iter().collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut unread: HashSet<String> = HashSet::new();
    let mut reads: Vec<DataRead> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let wave = next_wave(&pending, &done);
        if wave.is_empty() {
            let names: Vec<String> = pending.iter().map(|b| b.address.to_string()).collect();
            return Err(PlanError::Usage(format!(
                "data sources refer to each other in a cycle: {}",
                names.join(", ")
            )));
        }
        let in_wave: HashSet<String> = wave.iter().map(|b| b.address.to_string()).collect();
        pending.retain(|b| !in_wave.contains(&b.address.to_string()));
        // One batch per type.
        let mut by_type: BTreeMap<&str, Vec<&ResourceConfig>> = BTreeMap::new();
        for block in wave {
            let address = block.address.to_string();
            if let Some(missing) = waits_on_unread(block, &unread) {
                unread.insert(address.clone());
                done.insert(address.clone());
                reads.push(DataRead {
                    address,
                    attributes: None,
                    unread: Some(format!("it uses `{missing}`, which was not read")),
                });
                continue;
            }
            by_type
                .entry(block.address.type_name.as_str())
                .or_default()
                .push(block);
        }
        for (type_name, blocks) in by_type {
            let provider_error = |error| PlanError::Provider {
                context: format!("reading {}", type_name),
                error,
            };
            let schema = registry.schema(type_name).ok_or_else(|| {
                provider_error(plinth_provider::ProviderError::config(format!(
                    "no provider offers `{type_name}`"
                )))
            })?;
            let arguments: Vec<(String, Object)> = {
                let scope = PlannedScope { planned, secrets };
                blocks
                    .iter()
                    .map(|b| {
                        let inputs = desired_inputs(b, schema, &scope);
                        let revealed: Object =
                            inputs.into_iter().map(|(k, v)| (k, v.reveal())).collect();
                        (b.address.to_string(), revealed)
                    })
                    .collect()
            };
            let results = match registry.data_source_for(type_name, stack, work_dir).await {
                Ok(source) => {
                    let requests: Vec<DataRequest<'_>> = arguments
                        .iter()
                        .map(|(address, arguments)| DataRequest { address, arguments })
                        .collect();
                    source.read(&requests).await
                }
                Err(error) => arguments.iter().map(|_| Err(error.clone())).collect(),
            };
            for ((address, _), result) in arguments.into_iter().zip(results) {
                done.insert(address.clone());
                match result {
                    Ok(attributes) => {
                        let plain =
                            match plinth_provider::Value::Map(attributes.clone()).to_plain_json() {
                                serde_json::Value::Object(map) => map,
                                _ => serde_json::Map::new(),
                            };
                        planned.insert(address.clone(), attributes);
                        reads.push(DataRead {
                            address,
                            attributes: Some(plain),
                            unread: None,
                        });
                    }
                    Err(error) if error.kind == ErrorKind::Config => {
                        warnings.push(format!(
                            "`{address}` was not read ({}): what uses it is known after apply, and `apply` needs it",
                            error.message
                        ));
                        unread.insert(address.clone());
                        reads.push(DataRead {
                            address,
                            attributes: None,
                            unread: Some(error.message),
                        });
                    }
                    Err(error) => {
                        return Err(PlanError::Provider {
                            context: format!("reading `{address}`"),
                            error,
                        })
                    }
                }
            }
        }
    }
    Ok(reads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Address, Expr, Origin, Reference};

    fn block(name: &str, refers_to: &[&str]) -> ResourceConfig {
        let origin = Origin {
            file: 0,
            span: (0, 0).into(),
        };
        let attributes = refers_to
            .iter()
            .enumerate()
            .map(|(i, target)| {
                (
                    format!("a{i}"),
                    Expr::Ref(Reference {
                        target: Address::new("data.aws_vpc", target),
                        path: vec!["id".into()],
                        origin,
                    }),
                )
            })
            .collect();
        ResourceConfig {
            address: Address::new("data.aws_vpc", name),
            attributes,
            depends_on: Vec::new(),
            lifecycle: Default::default(),
            timeouts: Default::default(),
            origin,
        }
    }

    #[test]
    fn data_sources_are_read_in_waves_after_what_they_use() {
        let a = block("a", &[]);
        let b = block("b", &["a"]);
        let c = block("c", &["a", "b"]);
        let pending = vec![&c, &b, &a];
        let mut done = HashSet::new();
        let wave: Vec<String> = next_wave(&pending, &done)
            .iter()
            .map(|b| b.address.to_string())
            .collect();
        assert_eq!(wave, vec!["data.aws_vpc.a"]);
        done.insert("data.aws_vpc.a".to_string());
        let wave: Vec<String> = next_wave(&pending, &done)
            .iter()
            .map(|b| b.address.to_string())
            .collect();
        assert_eq!(wave, vec!["data.aws_vpc.b", "data.aws_vpc.a"]);
        let unread: HashSet<String> = ["data.aws_vpc.a".to_string()].into_iter().collect();
        assert_eq!(
            waits_on_unread(&c, &unread).as_deref(),
            Some("data.aws_vpc.a")
        );
        assert_eq!(waits_on_unread(&a, &unread), None);
    }
}
