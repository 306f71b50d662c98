//! Recording for the executor: what goes into the journal before and after a provider call
//! (intents, records, deposed objects, failures), and the attributes kept.

use std::time::Instant;

use plinth_provider::{object_to_persisted_json, Object, Schema, Value};
use plinth_state::{
    now_unix, random_id, DeposedObject, Intent, JournalEntry, ResourceRecord, ResourceStatus,
};

use super::error::OpError;
use super::executor::{Executor, Known};
use super::journal::{Durable, JournalWriter};
use super::operations::{Done, Failed};
use crate::plan::{ActionReason, ResourceChange};

impl Executor<'_> {
    /// Attributes to keep: the provider's view, with sensitivity re-applied from the schema
    /// and from desired values that carried secrets.
    pub(super) fn recorded(&self, schema: &Schema, desired: &Object, returned: &Object) -> Object {
        let mut out = returned.clone();
        // Plaintexts of the secrets this resource was given: an attribute that echoes one
        // (e.g. `plinth_data.output`) is sensitive too.
        let mut secrets = Vec::new();
        for value in desired.values() {
            crate::secrets::secret_texts(value, &mut secrets);
        }
        for (name, value) in out.iter_mut() {
            let schema_sensitive = schema.get(name).is_some_and(|a| a.sensitive);
            let desired_value = desired.get(name);
            if desired_value.is_some_and(Value::has_sensitive) {
                *value = desired_value.cloned().unwrap_or(Value::Null);
            } else if (schema_sensitive && !value.is_null())
                || (!secrets.is_empty() && {
                    let text = value.to_plain_json().to_string();
                    secrets.iter().any(|s| text.contains(s.as_str()))
                })
            {
                *value = value.clone().sensitive();
            }
        }
        for (name, value) in desired {
            if value.has_sensitive() && !out.contains_key(name) {
                out.insert(name.clone(), value.clone());
            }
        }
        out
    }

    /// Makes the intent of an operation durable, then reports it started.
    pub(super) async fn begin(
        &self,
        change: &ResourceChange,
        operation: &str,
        verb: &str,
        journal: &JournalWriter,
        before: Vec<JournalEntry>,
    ) -> Result<(Intent, Instant), OpError> {
        let intent = self.intent(change, operation);
        let mut entries = before;
        entries.push(JournalEntry::Intent(intent.clone()));
        journal.write(entries).await.map_err(|e| {
            OpError::recording(format!("recording the intent for {}: {e}", change.address))
        })?;
        self.reporter.started(&change.address, verb);
        Ok((intent, Instant::now()))
    }

    /// Records a successful create or update: the record is queued in the journal, its values
    /// become visible to dependents, and the display reports it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn succeeded(
        &self,
        change: &ResourceChange,
        schema: &Schema,
        desired: &Object,
        returned: &Object,
        done: Done<'_>,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, OpError> {
        let attributes = self.recorded(schema, desired, returned);
        let record = self.record(
            change,
            Some(done.id.to_string()),
            &attributes,
            ResourceStatus::Ready,
            None,
        );
        let durable = journal
            .enqueue(
                vec![JournalEntry::Put(Box::new(record))],
                format!("recording {} ({})", change.address, done.id),
            )
            .map_err(OpError::recording)?;
        known
            .values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(change.address.clone(), attributes);
        self.reporter.finished(
            &change.address,
            done.verb,
            done.started.elapsed(),
            Some(done.id),
            None,
        );
        Ok(Some(durable))
    }

    /// The object a create-before-destroy replacement deposes (`None` for other creates).
    pub(super) fn deposed_by(&self, change: &ResourceChange) -> Option<DeposedObject> {
        if !change.action.is_create_before_destroy() {
            return None;
        }
        let prior = change.prior.as_ref()?;
        Some(DeposedObject {
            key: random_id()[..8].to_string(),
            address: change.address.clone(),
            type_name: change.type_name.clone(),
            id: prior.id.clone(),
            attributes: prior.attributes.clone(),
            dependencies: change.dependencies.clone(),
            reason: format!(
                "replaced by create_before_destroy{}",
                change
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            since: now_unix(),
        })
    }

    /// The record of a deposed object made current again.
    pub(super) fn restored(
        &self,
        change: &ResourceChange,
        object: &DeposedObject,
    ) -> ResourceRecord {
        ResourceRecord {
            address: change.address.clone(),
            type_name: change.type_name.clone(),
            id: Some(object.id.clone()),
            attributes: object.attributes.clone(),
            dependencies: object.dependencies.clone(),
            status: if change.reason_code == Some(ActionReason::ReplaceTainted) {
                ResourceStatus::Tainted
            } else {
                ResourceStatus::Ready
            },
            pending: None,
            prevent_destroy: false,
        }
    }

    /// Records what a failed call left; the call's error either way, with the recording's
    /// error added when that failed too (the executor then starts nothing new).
    pub(super) async fn record_failure(
        &self,
        journal: &JournalWriter,
        entries: Vec<JournalEntry>,
        error: OpError,
    ) -> Result<Option<Durable>, OpError> {
        match journal.write(entries).await {
            Ok(()) => Err(error),
            Err(e) => Err(error.also(format_args!("recording this failure failed too: {e}"))),
        }
    }

    pub(super) fn intent(&self, change: &ResourceChange, operation: &str) -> Intent {
        Intent {
            address: change.address.clone(),
            type_name: change.type_name.clone(),
            operation: operation.to_string(),
            token: random_id(),
            dependencies: change.dependencies.clone(),
            started: now_unix(),
        }
    }

    pub(super) fn record(
        &self,
        change: &ResourceChange,
        id: Option<String>,
        attributes: &Object,
        status: ResourceStatus,
        pending: Option<Intent>,
    ) -> ResourceRecord {
        ResourceRecord {
            address: change.address.clone(),
            type_name: change.type_name.clone(),
            id,
            attributes: object_to_persisted_json(attributes, self.salt),
            dependencies: change.dependencies.clone(),
            status,
            pending,
            prevent_destroy: change.prevent_destroy,
        }
    }

    /// After a failed update or delete: the object is still there, recorded as it was (its
    /// intent cleared); the next refresh reads what the call left.
    pub(super) async fn keep_after_failure(
        &self,
        change: &ResourceChange,
        id: &str,
        prior: &Object,
        journal: &JournalWriter,
        failed: Failed<'_>,
    ) -> Result<Option<Durable>, OpError> {
        let error = self.fail(change, failed.verb, failed.started, failed.error);
        let record = self.record(
            change,
            Some(id.to_string()),
            prior,
            ResourceStatus::Ready,
            None,
        );
        self.record_failure(journal, vec![JournalEntry::Put(Box::new(record))], error)
            .await
    }
}
