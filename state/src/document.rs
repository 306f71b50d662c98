//! The state document and the journal entries that amend it between compactions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// Version of the state document format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// What Plinth knows about one stack + environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateDocument {
    /// Format version (see [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Random id fixed when the state is created; never changes.
    pub lineage: String,
    /// Incremented by every completed apply that changed something (a
    /// [`JournalEntry::Serial`] entry, folded in at the next compaction).
    pub serial: u64,
    /// The Plinth version that wrote it.
    pub plinth_version: String,
    /// Salt for the digests of sensitive values (see `Value::digest`).
    pub salt: String,
    /// Managed resources by address (`type.name` or `type.name[i]`).
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceRecord>,
    /// Stack outputs (sensitive ones redacted).
    #[serde(default)]
    pub outputs: BTreeMap<String, Json>,
    /// Generated secrets (`[secrets] x = { generate = ... }`): created once, never re-rolled.
    /// The only plaintext secrets in state; encrypt the state at rest to protect them.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

impl StateDocument {
    /// A new, empty state with a fresh lineage and salt.
    pub fn new(plinth_version: &str) -> Self {
        StateDocument {
            format_version: FORMAT_VERSION,
            lineage: random_id(),
            serial: 0,
            plinth_version: plinth_version.to_string(),
            salt: random_id(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// Applies one journal entry.
    pub fn apply(&mut self, entry: &JournalEntry) {
        match entry {
            JournalEntry::Intent(intent) => {
                let record = self
                    .resources
                    .entry(intent.address.clone())
                    .or_insert_with(|| ResourceRecord {
                        address: intent.address.clone(),
                        type_name: intent.type_name.clone(),
                        id: None,
                        attributes: Map::new(),
                        dependencies: intent.dependencies.clone(),
                        status: ResourceStatus::Pending,
                        pending: None,
                    });
                record.pending = Some(intent.clone());
            }
            JournalEntry::Put(record) => {
                self.resources
                    .insert(record.address.clone(), (**record).clone());
            }
            JournalEntry::Remove { address } => {
                self.resources.remove(address);
            }
            JournalEntry::Secret { name, value } => {
                self.secrets.insert(name.clone(), value.clone());
            }
            JournalEntry::Outputs(outputs) => {
                self.outputs = outputs.clone();
            }
            JournalEntry::Serial {
                serial,
                plinth_version,
            } => {
                self.serial = *serial;
                self.plinth_version = plinth_version.clone();
            }
        }
    }

    /// Resources with an intent that never got its result (a crash mid-call).
    pub fn pending(&self) -> impl Iterator<Item = &ResourceRecord> {
        self.resources.values().filter(|r| r.pending.is_some())
    }
}

/// One managed resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Address in the stack.
    pub address: String,
    /// Resource type, e.g. `aws_s3_bucket`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Cloud id; `None` while a create is pending.
    pub id: Option<String>,
    /// Attributes as last read or written (sensitive leaves redacted).
    pub attributes: Map<String, Json>,
    /// Addresses this resource depended on when last applied (orders deletes of orphans).
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Lifecycle status.
    pub status: ResourceStatus,
    /// An operation started but not known to have finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Intent>,
}

/// Lifecycle status of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// Exists and matches its attributes.
    Ready,
    /// A create or update failed part way: the next plan replaces it.
    Tainted,
    /// Recorded before a create call that may or may not have happened.
    Pending,
    /// A replaced resource kept until its successor is ready (create-before-destroy).
    Deposed,
}

/// An operation recorded before a provider call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Resource address.
    pub address: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// Idempotency token handed to the provider.
    pub token: String,
    /// Dependencies at the time.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Unix seconds.
    pub started: u64,
}

/// One incremental change to the state, appended after every resource change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JournalEntry {
    /// About to call the provider.
    Intent(Intent),
    /// A resource's new record.
    Put(Box<ResourceRecord>),
    /// A resource is gone.
    Remove {
        /// Address.
        address: String,
    },
    /// A secret was generated.
    Secret {
        /// Secret name.
        name: String,
        /// Its value.
        value: String,
    },
    /// New stack outputs.
    Outputs(BTreeMap<String, Json>),
    /// An apply completed: the document's new serial (saved plans made against an older
    /// serial are stale), written by the Plinth version named. Lets an apply end with one small
    /// journal entry instead of rewriting the whole document.
    Serial {
        /// The new serial.
        serial: u64,
        /// The Plinth version that completed the apply.
        plinth_version: String,
    },
}

/// A random 128-bit id in hex.
pub fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_replays_into_the_document() {
        let mut doc = StateDocument::new("test");
        let intent = Intent {
            address: "a.b".into(),
            type_name: "a".into(),
            operation: "create".into(),
            token: "t".into(),
            dependencies: vec![],
            started: 1,
        };
        doc.apply(&JournalEntry::Intent(intent));
        assert_eq!(doc.pending().count(), 1);
        let record = ResourceRecord {
            address: "a.b".into(),
            type_name: "a".into(),
            id: Some("id-1".into()),
            attributes: Map::new(),
            dependencies: vec![],
            status: ResourceStatus::Ready,
            pending: None,
        };
        doc.apply(&JournalEntry::Put(Box::new(record)));
        assert_eq!(doc.pending().count(), 0);
        doc.apply(&JournalEntry::Remove {
            address: "a.b".into(),
        });
        assert!(doc.resources.is_empty());
        doc.apply(&JournalEntry::Serial {
            serial: 7,
            plinth_version: "9.9.9".into(),
        });
        assert_eq!(doc.serial, 7);
        assert_eq!(doc.plinth_version, "9.9.9");
    }
}
