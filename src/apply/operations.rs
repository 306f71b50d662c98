//! Provider operations of the executor: create, update, delete (of a current or a deposed
//! object) and record-only changes. Each makes its intent durable before the provider call
//! (see [`super::recording`]) and records what the call left, success or failure.

use std::time::{Duration, Instant};

use plinth_provider::{object_from_json, CallContext, Object, ProviderError, Resource, Schema};
use plinth_state::{JournalEntry, ResourceRecord, ResourceStatus};

use super::error::OpError;
use super::executor::{Executor, Known, KnownScope};
use super::journal::{Durable, JournalWriter};
use super::report::ProgressTo;
use crate::config::ResourceConfig;
use crate::plan::{desired_inputs, ResourceChange};
use crate::retry::with_retries;

/// An object a delete destroys: the display label, the intent's token (none for deposed
/// objects), the cloud id and attributes, and the journal entry that forgets it.
struct Doomed<'a> {
    label: &'a str,
    token: &'a str,
    id: &'a str,
    prior: &'a Object,
    removal: JournalEntry,
}

/// How a delete's provider call failed: the provider refused (with when it started, for the
/// display), or its success could not be recorded.
enum Destroy {
    Provider(ProviderError, Instant),
    Recording(OpError),
}

/// A failed provider call: the verb for the display, when it started, the error.
pub(super) struct Failed<'a> {
    pub(super) verb: &'a str,
    pub(super) started: Instant,
    pub(super) error: &'a ProviderError,
}

/// A finished provider call: the resource's id, the verb for the display, the start time.
pub(super) struct Done<'a> {
    pub(super) id: &'a str,
    pub(super) verb: &'a str,
    pub(super) started: Instant,
}

impl Executor<'_> {
    pub(super) async fn record_only(
        &self,
        change: &ResourceChange,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, OpError> {
        let entry = match &change.prior {
            Some(prior) => {
                known
                    .values
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(change.address.clone(), object_from_json(&prior.attributes));
                JournalEntry::Put(Box::new(ResourceRecord {
                    address: change.address.clone(),
                    type_name: change.type_name.clone(),
                    id: Some(prior.id.clone()),
                    attributes: prior.attributes.clone(),
                    dependencies: change.dependencies.clone(),
                    status: ResourceStatus::Ready,
                    pending: None,
                    prevent_destroy: change.prevent_destroy,
                }))
            }
            None => match &change.deposed {
                Some(key) => JournalEntry::RemoveDeposed { key: key.clone() },
                None => JournalEntry::Remove {
                    address: change.address.clone(),
                },
            },
        };
        journal
            .enqueue(vec![entry], format!("recording {}", change.address))
            .map(Some)
            .map_err(OpError::recording)
    }

    pub(super) fn desired(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        schema: &Schema,
        known: &Known,
    ) -> Result<Object, OpError> {
        let config = config.ok_or_else(|| {
            OpError::inconsistent(format!("{} is not in the configuration", change.address))
        })?;
        let scope = KnownScope {
            known,
            secrets: self.secrets,
        };
        let desired = desired_inputs(config, schema, &scope);
        for (name, value) in &desired {
            if value.has_unknown() {
                return Err(OpError::inconsistent(format!(
                    "{}: attribute `{name}` is still unknown at apply time (a secret is unresolved or a referenced \
                     attribute was not returned by its provider)",
                    change.address
                )));
            }
        }
        Ok(desired)
    }

    pub(super) fn timeout(config: Option<&ResourceConfig>, kind: &str) -> Option<Duration> {
        let t = config?.timeouts;
        let secs = match kind {
            "create" => t.create,
            "update" => t.update,
            _ => t.delete,
        };
        secs.map(Duration::from_secs)
    }

    /// Creates the object of a create or of a replacement. A create-before-destroy
    /// replacement first deposes the current object, durably with the create's intent, so
    /// whatever happens next the old object stays tracked: interrupted, the next plan recovers
    /// the successor by its token and destroys the deposed object; failed with nothing
    /// created, the old object is current again.
    pub(super) async fn create(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        schema: &Schema,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, OpError> {
        let desired = self.desired(change, config, schema, known)?;
        let deposed = self.deposed_by(change);
        let before = match &deposed {
            Some(object) => vec![
                JournalEntry::Depose(Box::new(object.clone())),
                JournalEntry::Remove {
                    address: change.address.clone(),
                },
            ],
            None => Vec::new(),
        };
        let (intent, started) = self
            .begin(change, "create", "Creating", journal, before)
            .await?;
        if let Some(object) = &deposed {
            known
                .deposed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(change.address.clone(), object.key.clone());
        }
        let progress = ProgressTo {
            address: &change.address,
            reporter: self.reporter,
        };
        let ctx = CallContext {
            address: &change.address,
            token: &intent.token,
            progress: &progress,
            timeout: Self::timeout(config, "create"),
        };
        let revealed = provider_inputs(resource, &desired);
        let error = match with_retries(|| resource.create(&ctx, &revealed)).await {
            Ok(created) => {
                let done = Done {
                    id: &created.id,
                    verb: "Creation",
                    started,
                };
                return self.succeeded(
                    change,
                    schema,
                    &desired,
                    &created.attributes,
                    done,
                    journal,
                    known,
                );
            }
            Err(error) => error,
        };
        let failure = self.fail(change, "Creation", started, &error);
        // Keep the intent: the next run looks for a half-made resource by its token and
        // replaces it (tainted) if one exists.
        let pending = self.record(
            change,
            None,
            &Object::new(),
            ResourceStatus::Tainted,
            Some(intent.clone()),
        );
        let entries = match &deposed {
            None => vec![JournalEntry::Put(Box::new(pending))],
            Some(object) => match with_retries(|| resource.recover(&ctx, &revealed)).await {
                // Nothing was made: the old object is current again.
                Ok(None) => {
                    known
                        .deposed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&change.address);
                    vec![
                        JournalEntry::Put(Box::new(self.restored(change, object))),
                        JournalEntry::RemoveDeposed {
                            key: object.key.clone(),
                        },
                    ]
                }
                // Half made: kept, tainted (the next plan replaces it); the old object stays
                // deposed.
                Ok(Some(made)) => {
                    let attributes = self.recorded(schema, &desired, &made.attributes);
                    vec![JournalEntry::Put(Box::new(self.record(
                        change,
                        Some(made.id),
                        &attributes,
                        ResourceStatus::Tainted,
                        None,
                    )))]
                }
                // Cannot tell: the token stays for the next plan to settle.
                Err(_) => vec![JournalEntry::Put(Box::new(pending))],
            },
        };
        self.record_failure(journal, entries, failure).await
    }

    pub(super) async fn update(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        schema: &Schema,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, OpError> {
        let prior_record = change.prior.as_ref().ok_or_else(|| {
            OpError::inconsistent(format!("{}: no prior record to update", change.address))
        })?;
        let desired = self.desired(change, config, schema, known)?;
        let prior = object_from_json(&prior_record.attributes);
        let changed: Vec<String> = {
            let mut names: Vec<String> = change
                .diffs
                .iter()
                .map(|d| d.path.split('.').next().unwrap_or(&d.path).to_string())
                .collect();
            names.dedup();
            names
        };
        let (intent, started) = self
            .begin(change, "update", "Modifying", journal, Vec::new())
            .await?;
        let progress = ProgressTo {
            address: &change.address,
            reporter: self.reporter,
        };
        let ctx = CallContext {
            address: &change.address,
            token: &intent.token,
            progress: &progress,
            timeout: Self::timeout(config, "update"),
        };
        let revealed = provider_inputs(resource, &desired);
        match with_retries(|| resource.update(&ctx, &prior_record.id, &prior, &revealed, &changed))
            .await
        {
            Ok(returned) => {
                let done = Done {
                    id: &prior_record.id,
                    verb: "Modifications",
                    started,
                };
                self.succeeded(change, schema, &desired, &returned, done, journal, known)
            }
            // The object is still there; the next refresh reads what the update left.
            Err(error) => {
                let failed = Failed {
                    verb: "Modifications",
                    started,
                    error: &error,
                };
                self.keep_after_failure(change, &prior_record.id, &prior, journal, failed)
                    .await
            }
        }
    }

    /// Deletes the current object of an address (a delete, or the first half of a
    /// delete-then-create replacement). The intent is durable first; an interrupted delete
    /// is settled by the next refresh (gone: the record goes).
    pub(super) async fn delete(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        journal: &JournalWriter,
    ) -> Result<Option<Durable>, OpError> {
        let prior_record = change.prior.as_ref().ok_or_else(|| {
            OpError::inconsistent(format!("{}: no record to delete", change.address))
        })?;
        let prior = object_from_json(&prior_record.attributes);
        let intent = self.intent(change, "delete");
        journal
            .write(vec![JournalEntry::Intent(intent.clone())])
            .await
            .map_err(|e| {
                OpError::recording(format!("recording the intent for {}: {e}", change.address))
            })?;
        let target = Doomed {
            label: &change.address,
            token: &intent.token,
            id: &prior_record.id,
            prior: &prior,
            removal: JournalEntry::Remove {
                address: change.address.clone(),
            },
        };
        match self.destroy(target, config, resource, journal).await {
            Ok(durable) => Ok(Some(durable)),
            Err(Destroy::Recording(error)) => Err(error),
            Err(Destroy::Provider(error, started)) => {
                let failed = Failed {
                    verb: "Destruction",
                    started,
                    error: &error,
                };
                self.keep_after_failure(change, &prior_record.id, &prior, journal, failed)
                    .await
            }
        }
    }

    /// Deletes a deposed object: the old object of a create-before-destroy replacement of
    /// this plan, or one an earlier apply left behind. It is in state as deposed already, so
    /// only success is recorded; a failure leaves it deposed for the next apply.
    pub(super) async fn delete_deposed(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, OpError> {
        let prior_record = change.prior.as_ref().ok_or_else(|| {
            OpError::inconsistent(format!("{}: no deposed object to delete", change.address))
        })?;
        let key = match &change.deposed {
            Some(key) => key.clone(),
            None => known
                .deposed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&change.address)
                .cloned()
                .ok_or_else(|| {
                    OpError::inconsistent(format!(
                        "{}: the replaced object was not deposed",
                        change.address
                    ))
                })?,
        };
        let prior = object_from_json(&prior_record.attributes);
        let label = format!("{} (deposed object {key})", change.address);
        let target = Doomed {
            label: &label,
            token: "",
            id: &prior_record.id,
            prior: &prior,
            removal: JournalEntry::RemoveDeposed { key: key.clone() },
        };
        match self.destroy(target, config, resource, journal).await {
            Ok(durable) => Ok(Some(durable)),
            Err(Destroy::Recording(error)) => Err(error),
            Err(Destroy::Provider(error, started)) => {
                let message = self.secrets.scrub(&error.to_string());
                self.reporter.finished(
                    &label,
                    "Destruction",
                    started.elapsed(),
                    None,
                    Some(&message),
                );
                Err(OpError::provider(
                    &error,
                    format!(
                        "[{}] destroying deposed object {key} ({}): {message}; it stays in state as deposed \
                         and the next apply destroys it",
                        change.provider, prior_record.id
                    ),
                ))
            }
        }
    }

    /// The provider call of a delete (of a current or a deposed object): on success the
    /// removal is queued in the journal and the display reports it.
    async fn destroy(
        &self,
        target: Doomed<'_>,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        journal: &JournalWriter,
    ) -> Result<Durable, Destroy> {
        let started = Instant::now();
        self.reporter.started(target.label, "Destroying");
        let progress = ProgressTo {
            address: target.label,
            reporter: self.reporter,
        };
        let ctx = CallContext {
            address: target.label,
            token: target.token,
            progress: &progress,
            timeout: Self::timeout(config, "delete"),
        };
        if let Err(error) = with_retries(|| resource.delete(&ctx, target.id, target.prior)).await {
            return Err(Destroy::Provider(error, started));
        }
        let durable = journal
            .enqueue(
                vec![target.removal],
                format!("recording the deletion of {}", target.label),
            )
            .map_err(|e| Destroy::Recording(OpError::recording(e)))?;
        self.reporter.finished(
            target.label,
            "Destruction",
            started.elapsed(),
            Some(target.id),
            None,
        );
        Ok(durable)
    }

    pub(super) fn fail(
        &self,
        change: &ResourceChange,
        verb: &str,
        started: Instant,
        error: &ProviderError,
    ) -> OpError {
        // Where the resource is declared, so the error leads back to the stack (failure path
        // only: a scan is fine here).
        let declared = self
            .stack
            .resources
            .iter()
            .find(|r| r.address.to_string() == change.address)
            .map(|r| format!(", declared at {}", self.stack.sources.locate(r.origin)))
            .unwrap_or_default();
        // Provider errors may quote what they were given: no secret leaves in them.
        let text = self.secrets.scrub(&error.to_string());
        self.reporter
            .finished(&change.address, verb, started.elapsed(), None, Some(&text));
        OpError::provider(error, format!("[{}{declared}] {text}", change.provider))
    }
}

/// The desired inputs as a provider receives them: secrets revealed, unless the resource
/// asks to see which leaves are secret ([`Resource::keeps_secret_markers`]).
fn provider_inputs(resource: &dyn Resource, desired: &Object) -> Object {
    if resource.keeps_secret_markers() {
        return desired.clone();
    }
    desired
        .iter()
        .map(|(k, v)| (k.clone(), v.reveal()))
        .collect()
}
