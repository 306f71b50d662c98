//! The state document and the journal entries that amend it between compactions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// Version of the state document format this build reads and writes.
///
/// - 1: resources, outputs, secrets.
/// - 2: the document names its stack and environment (a state of another stack is refused),
///   and objects left behind by a replacement are kept as [`DeposedObject`]s until deleted.
///   A version-1 document is upgraded on read ([`StateDocument::upgrade`]) and written as 2.
pub const FORMAT_VERSION: u32 = 2;

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
    /// The stack this state belongs to (format 2; `None` in a state not yet upgraded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// The environment this state belongs to (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Managed resources by address (`type.name` or `type.name[i]`).
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceRecord>,
    /// Objects no longer current at their address but still in the cloud, by deposed key:
    /// the predecessor of a create-before-destroy replacement, or an old object whose delete
    /// failed. The next apply deletes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deposed: BTreeMap<String, DeposedObject>,
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
            stack: None,
            environment: None,
            resources: BTreeMap::new(),
            deposed: BTreeMap::new(),
            outputs: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// Applies one journal entry.
    pub fn apply(&mut self, entry: &JournalEntry) {
        self.apply_owned(entry.clone());
    }

    /// Applies one journal entry, taking it (no copy of a record's attributes).
    pub fn apply_owned(&mut self, entry: JournalEntry) {
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
                        prevent_destroy: false,
                    });
                record.pending = Some(intent);
            }
            JournalEntry::Put(record) => {
                self.resources.insert(record.address.clone(), *record);
            }
            JournalEntry::Remove { address } => {
                self.resources.remove(&address);
            }
            JournalEntry::Secret { name, value } => {
                self.secrets.insert(name, value);
            }
            JournalEntry::Outputs(outputs) => {
                self.outputs = outputs;
            }
            JournalEntry::Serial {
                serial,
                plinth_version,
            } => {
                self.serial = serial;
                self.plinth_version = plinth_version;
            }
            JournalEntry::Depose(object) => {
                self.deposed.insert(object.key.clone(), *object);
            }
            JournalEntry::RemoveDeposed { key } => {
                self.deposed.remove(&key);
            }
        }
    }

    /// Upgrades a document read in an older format to [`FORMAT_VERSION`] in memory (it is
    /// written in the new format at the next write):
    /// - a record that has an id *and* a pending create is what a version-1 engine left when
    ///   it was interrupted creating the successor of a create-before-destroy replacement:
    ///   the recorded object becomes deposed (it is still in the cloud), and the address keeps
    ///   only the pending create, which the next plan recovers by its token.
    ///
    /// Returns what was changed, for a notice.
    pub fn upgrade(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let interrupted: Vec<String> = self
            .resources
            .values()
            .filter(|r| {
                r.id.is_some() && r.pending.as_ref().is_some_and(|p| p.operation == "create")
            })
            .map(|r| r.address.clone())
            .collect();
        for address in interrupted {
            let Some(record) = self.resources.get_mut(&address) else {
                continue;
            };
            let object = DeposedObject::of(
                record,
                "replaced by create_before_destroy; the successor's create was interrupted",
            );
            notes.push(format!(
                "{address}: the object {} left by an interrupted replacement is now tracked as deposed ({})",
                object.id, object.key
            ));
            record.id = None;
            record.attributes = Map::new();
            record.status = ResourceStatus::Pending;
            self.deposed.insert(object.key.clone(), object);
        }
        self.format_version = FORMAT_VERSION;
        notes
    }

    /// Deposed objects of one address, oldest first.
    pub fn deposed_of<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a DeposedObject> {
        self.deposed.values().filter(move |d| d.address == address)
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
    /// `lifecycle.prevent_destroy` when last applied: deleting the block does not delete the
    /// protection (the plan blocks the delete until the block says `prevent_destroy = false`
    /// or `[[removed]]` forgets it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
}

/// An object that left its address but not the cloud (see [`StateDocument::deposed`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeposedObject {
    /// Random key (8 hex digits), unique in the document.
    pub key: String,
    /// The address it was current at.
    pub address: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Cloud id.
    pub id: String,
    /// Attributes as last recorded (sensitive leaves redacted).
    pub attributes: Map<String, Json>,
    /// Dependencies when it was current (orders its delete).
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Why it was deposed.
    pub reason: String,
    /// Unix seconds.
    pub since: u64,
}

impl DeposedObject {
    /// Deposes the object a record describes (the record must have an id; an empty id is
    /// kept as is).
    pub fn of(record: &ResourceRecord, reason: &str) -> Self {
        DeposedObject {
            key: random_id()[..8].to_string(),
            address: record.address.clone(),
            type_name: record.type_name.clone(),
            id: record.id.clone().unwrap_or_default(),
            attributes: record.attributes.clone(),
            dependencies: record.dependencies.clone(),
            reason: reason.to_string(),
            since: now_unix(),
        }
    }
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
    /// Unused since format 2 (deposed objects live in [`StateDocument::deposed`]); read from
    /// old documents only.
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
    /// An object left its address but not the cloud (written with the intent of the
    /// operation that replaces it, so the two are durable together).
    Depose(Box<DeposedObject>),
    /// A deposed object is gone from the cloud.
    RemoveDeposed {
        /// Its key.
        key: String,
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
            prevent_destroy: false,
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

    fn record(id: Option<&str>, pending: Option<&str>) -> ResourceRecord {
        ResourceRecord {
            address: "sim_resource.lb".into(),
            type_name: "sim_resource".into(),
            id: id.map(String::from),
            attributes: [("name".to_string(), Json::from("lb-1"))]
                .into_iter()
                .collect(),
            dependencies: vec![],
            status: ResourceStatus::Ready,
            pending: pending.map(|operation| Intent {
                address: "sim_resource.lb".into(),
                type_name: "sim_resource".into(),
                operation: operation.into(),
                token: "tok".into(),
                dependencies: vec![],
                started: 1,
            }),
            prevent_destroy: false,
        }
    }

    #[test]
    fn deposed_objects_replay_and_leave() {
        let mut doc = StateDocument::new("test");
        let object = DeposedObject::of(&record(Some("lb-1"), None), "replaced");
        let key = object.key.clone();
        doc.apply(&JournalEntry::Depose(Box::new(object)));
        assert_eq!(doc.deposed_of("sim_resource.lb").count(), 1);
        assert_eq!(doc.deposed[&key].id, "lb-1");
        doc.apply(&JournalEntry::RemoveDeposed { key });
        assert!(doc.deposed.is_empty());
    }

    #[test]
    fn upgrade_deposes_the_object_behind_an_interrupted_successor_create() {
        let mut doc = StateDocument::new("test");
        doc.format_version = 1;
        doc.resources.insert(
            "sim_resource.lb".into(),
            record(Some("lb-1"), Some("create")),
        );
        doc.resources.insert("sim_resource.app".into(), {
            let mut r = record(Some("app-1"), Some("update"));
            r.address = "sim_resource.app".into();
            r
        });
        let notes = doc.upgrade();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(doc.format_version, FORMAT_VERSION);
        let lb = &doc.resources["sim_resource.lb"];
        assert_eq!(lb.id, None);
        assert_eq!(lb.pending.as_ref().map(|p| p.token.as_str()), Some("tok"));
        let deposed: Vec<_> = doc.deposed_of("sim_resource.lb").collect();
        assert_eq!(deposed.len(), 1);
        assert_eq!(deposed[0].id, "lb-1");
        assert_eq!(deposed[0].attributes["name"], Json::from("lb-1"));
        // An interrupted update keeps its object at the address.
        assert_eq!(
            doc.resources["sim_resource.app"].id.as_deref(),
            Some("app-1")
        );
        assert!(doc.upgrade().is_empty(), "upgrading twice changes nothing");
    }
}
