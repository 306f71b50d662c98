//! The apply executor. The plan is compiled into an execution graph of operations (apply,
//! delete, delete of a deposed object for create-before-destroy) and run concurrently: an
//! operation starts as soon as the ones it waits for finish, bounded by `--parallelism` and
//! by each provider's own concurrency limit. Before every provider call an intent is made
//! durable; after it, the result. A failure skips the operations that depend on it while
//! independent branches go on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use plinth_provider::{
    object_from_json, object_to_persisted_json, CallContext, Object, ProviderError, Resource,
    Schema, Value,
};
use plinth_state::{
    now_unix, random_id, DeposedObject, Intent, JournalEntry, ResourceRecord, ResourceStatus,
};
use tokio::sync::Semaphore;

use super::graph::{chain_lengths, compile, OpKind};
use super::journal::{Durable, JournalWriter};
use super::report::{ApplyReport, Outcome, ProgressTo, Reporter};
use crate::config::{Address, ResourceConfig, Stack};
use crate::eval::{lookup_object, Scope};
use crate::plan::{desired_inputs, Action, ActionReason, Plan, ReplaceOrder, ResourceChange};
use crate::registry::Registry;
use crate::retry::with_retries;
use crate::secrets::Secrets;

/// Where an operation is: its provider call returned (with its result queued in the
/// journal, or nothing to record), or its result became durable.
enum Step {
    Called(Result<Option<Durable>, String>),
    Recorded(Result<(), String>),
}

type Pending<'a> = Pin<Box<dyn Future<Output = (usize, Step)> + 'a>>;

/// Everything the executor needs.
pub struct Executor<'a> {
    /// The stack (expressions are evaluated again with real values).
    pub stack: &'a Stack,
    /// Providers.
    pub registry: &'a Registry,
    /// Secrets (generated ones already filled in).
    pub secrets: &'a Secrets,
    /// Provider working directory.
    pub work_dir: &'a Path,
    /// Max operations in flight.
    pub parallelism: usize,
    /// Progress display.
    pub reporter: &'a dyn Reporter,
    /// The state's salt (for digests of sensitive values).
    pub salt: &'a str,
    /// Checked before each operation starts: `Some(reason)` stops starting new ones (e.g. the
    /// state lock was lost); operations in flight finish and are recorded.
    pub halt: Option<&'a (dyn Fn() -> Option<String> + Sync)>,
}

/// A finished provider call: the resource's id, the verb for the display, the start time.
struct Done<'a> {
    id: &'a str,
    verb: &'a str,
    started: Instant,
}

/// Values known so far, for evaluating references during apply.
struct Known {
    values: Mutex<HashMap<String, Object>>,
    /// The deposed key of each create-before-destroy replacement whose old object was
    /// deposed by its create (its deposed delete needs it).
    deposed: Mutex<HashMap<String, String>>,
}

struct KnownScope<'a> {
    known: &'a Known,
    secrets: &'a Secrets,
}

impl Scope for KnownScope<'_> {
    fn attribute(&self, target: &Address, path: &[String]) -> Value {
        let values = self.known.values.lock().unwrap_or_else(|e| e.into_inner());
        match values.get(&target.to_string()) {
            Some(object) => lookup_object(object, path),
            None => Value::Unknown,
        }
    }

    fn secret(&self, name: &str) -> Value {
        self.secrets.value(name)
    }
}

impl Executor<'_> {
    /// Runs the plan. `known` seeds reference values of resources the plan does not touch.
    pub async fn run(
        &self,
        plan: &Plan,
        journal: &JournalWriter,
        known: HashMap<String, Object>,
    ) -> ApplyReport {
        let start = Instant::now();
        let known = Known {
            values: Mutex::new(known),
            deposed: Mutex::new(HashMap::new()),
        };
        let configs: HashMap<String, &ResourceConfig> = self
            .stack
            .resources
            .iter()
            .map(|r| (r.address.to_string(), r))
            .collect();
        let mut ops = compile(plan);
        let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
        for (index, change) in plan.changes.iter().enumerate() {
            if let Some(reason) = &change.blocked {
                outcomes.insert(index, Outcome::Skipped(reason.clone()));
            }
        }

        let global = Semaphore::new(self.parallelism.max(1));
        let provider_limits: Mutex<HashMap<String, Arc<Semaphore>>> = Mutex::new(HashMap::new());
        // Ready operations start longest-chain-first: when a provider serialises calls (a
        // rate limit, a lock), the ones with most work waiting behind them go first.
        let chain = chain_lengths(&ops);
        let mut ready: BinaryHeap<(usize, Reverse<usize>)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.waiting_for == 0)
            .map(|(i, _)| (chain[i], Reverse(i)))
            .collect();
        let mut running = FuturesUnordered::new();
        let mut failed_ops = vec![false; ops.len()];

        loop {
            while let Some((_, Reverse(op_index))) = ready.pop() {
                let stop = self.halt.and_then(|halt| halt()).or_else(|| {
                    journal.failure().map(|e| {
                        format!("a state write failed, so nothing more can be recorded: {e}")
                    })
                });
                if let Some(reason) = stop {
                    let reason = format!("not attempted: {reason}");
                    not_attempted(&mut outcomes, ops[op_index].change, &reason);
                    for (_, Reverse(rest)) in ready.drain() {
                        not_attempted(&mut outcomes, ops[rest].change, &reason);
                    }
                    break;
                }
                let op = &ops[op_index];
                let change = &plan.changes[op.change];
                let config = configs.get(&change.address).copied();
                let kind = op.kind;
                let fut = self.run_op(
                    kind,
                    change,
                    config,
                    journal,
                    &known,
                    &global,
                    &provider_limits,
                );
                let call: Pending<'_> =
                    Box::pin(async move { (op_index, Step::Called(fut.await)) });
                running.push(call);
            }
            let Some((op_index, step)) = running.next().await else {
                break;
            };
            let change_index = ops[op_index].change;
            let result = match step {
                // The result is queued in the journal: dependents may start now, since their
                // intents are written behind it and a durable intent implies a durable result
                // (the writer is fail-stop). The outcome stands once the result is durable.
                Step::Called(Ok(Some(durable))) => {
                    let recorded: Pending<'_> =
                        Box::pin(async move { (op_index, Step::Recorded(durable.wait().await)) });
                    running.push(recorded);
                    Ok(())
                }
                Step::Called(Ok(None)) => Ok(()),
                // Dependents were released and the outcome recorded when the call returned.
                Step::Recorded(Ok(())) => continue,
                Step::Called(Err(message)) | Step::Recorded(Err(message)) => Err(message),
            };
            match result {
                Ok(()) => {
                    let dependents = std::mem::take(&mut ops[op_index].dependents);
                    for dependent in dependents {
                        ops[dependent].waiting_for -= 1;
                        if ops[dependent].waiting_for == 0 && !failed_ops[dependent] {
                            ready.push((chain[dependent], Reverse(dependent)));
                        }
                    }
                    let change = &plan.changes[change_index];
                    outcomes.insert(change_index, succeeded(change, ops[op_index].kind));
                }
                Err(message) => {
                    let outcome = match outcomes.remove(&change_index) {
                        Some(Outcome::Partial { done, .. }) => Outcome::Partial {
                            done,
                            rest: message,
                        },
                        _ => Outcome::Failed(message),
                    };
                    outcomes.insert(change_index, outcome);
                    // Skip everything downstream.
                    let reason = format!(
                        "not attempted: `{}` failed",
                        plan.changes[change_index].address
                    );
                    let mut stack = vec![op_index];
                    while let Some(i) = stack.pop() {
                        for &dependent in &ops[i].dependents {
                            if !failed_ops[dependent] {
                                failed_ops[dependent] = true;
                                not_attempted(&mut outcomes, ops[dependent].change, &reason);
                                stack.push(dependent);
                            }
                        }
                    }
                }
            }
        }

        let mut report = ApplyReport {
            outcomes: Vec::new(),
            elapsed: start.elapsed(),
        };
        for (index, change) in plan.changes.iter().enumerate() {
            match outcomes.remove(&index) {
                Some(outcome) => report.outcomes.push((change.address.clone(), outcome)),
                None if change.action == Action::NoOp => {}
                None => report.outcomes.push((
                    change.address.clone(),
                    Outcome::Skipped("not attempted".into()),
                )),
            }
        }
        report
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_op(
        &self,
        kind: OpKind,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        journal: &JournalWriter,
        known: &Known,
        global: &Semaphore,
        provider_limits: &Mutex<HashMap<String, Arc<Semaphore>>>,
    ) -> Result<Option<Durable>, String> {
        let _slot = global.acquire().await.map_err(|e| e.to_string())?;
        if kind == OpKind::Record {
            return self.record_only(change, journal, known).await;
        }
        let resource = self
            .registry
            .resource_for(&change.type_name, self.stack, self.work_dir)
            .await
            .map_err(|e| format!("configuring the provider of {}: {e}", change.address))?;
        let limit = {
            let mut limits = provider_limits.lock().unwrap_or_else(|e| e.into_inner());
            match limits.get(&change.provider) {
                Some(semaphore) => Some(Arc::clone(semaphore)),
                None => {
                    let provider = self.registry.configured_provider(&change.provider);
                    let max = provider.and_then(|p| p.limits().max_concurrency);
                    let semaphore = max.map(|m| Arc::new(Semaphore::new(m.max(1))));
                    if let Some(s) = &semaphore {
                        limits.insert(change.provider.clone(), Arc::clone(s));
                    }
                    semaphore
                }
            }
        };
        let _provider_slot = match &limit {
            Some(semaphore) => Some(semaphore.acquire().await.map_err(|e| e.to_string())?),
            None => None,
        };
        let schema = resource.schema();
        match kind {
            OpKind::Apply => match change.action {
                Action::Update => {
                    self.update(change, config, &*resource, schema, journal, known)
                        .await
                }
                _ => {
                    self.create(change, config, &*resource, schema, journal, known)
                        .await
                }
            },
            OpKind::Delete => self.delete(change, config, &*resource, journal).await,
            OpKind::DeleteDeposed => {
                self.delete_deposed(change, config, &*resource, journal, known)
                    .await
            }
            OpKind::Record => Ok(None),
        }
    }

    async fn record_only(
        &self,
        change: &ResourceChange,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, String> {
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
    }

    fn desired(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        schema: &Schema,
        known: &Known,
    ) -> Result<Object, String> {
        let config =
            config.ok_or_else(|| format!("{} is not in the configuration", change.address))?;
        let scope = KnownScope {
            known,
            secrets: self.secrets,
        };
        let desired = desired_inputs(config, schema, &scope);
        for (name, value) in &desired {
            if value.has_unknown() {
                return Err(format!(
                    "{}: attribute `{name}` is still unknown at apply time (a secret is unresolved or a referenced \
                     attribute was not returned by its provider)",
                    change.address
                ));
            }
        }
        Ok(desired)
    }

    fn timeout(config: Option<&ResourceConfig>, kind: &str) -> Option<Duration> {
        let t = config?.timeouts;
        let secs = match kind {
            "create" => t.create,
            "update" => t.update,
            _ => t.delete,
        };
        secs.map(Duration::from_secs)
    }

    /// Attributes to keep: the provider's view, with sensitivity re-applied from the schema
    /// and from desired values that carried secrets.
    fn recorded(&self, schema: &Schema, desired: &Object, returned: &Object) -> Object {
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
    async fn begin(
        &self,
        change: &ResourceChange,
        operation: &str,
        verb: &str,
        journal: &JournalWriter,
        before: Vec<JournalEntry>,
    ) -> Result<(Intent, Instant), String> {
        let intent = self.intent(change, operation);
        let mut entries = before;
        entries.push(JournalEntry::Intent(intent.clone()));
        journal
            .write(entries)
            .await
            .map_err(|e| format!("recording the intent for {}: {e}", change.address))?;
        self.reporter.started(&change.address, verb);
        Ok((intent, Instant::now()))
    }

    /// Records a successful create or update: the record is queued in the journal, its values
    /// become visible to dependents, and the display reports it.
    #[allow(clippy::too_many_arguments)]
    fn succeeded(
        &self,
        change: &ResourceChange,
        schema: &Schema,
        desired: &Object,
        returned: &Object,
        done: Done<'_>,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, String> {
        let attributes = self.recorded(schema, desired, returned);
        let record = self.record(
            change,
            Some(done.id.to_string()),
            &attributes,
            ResourceStatus::Ready,
            None,
        );
        let durable = journal.enqueue(
            vec![JournalEntry::Put(Box::new(record))],
            format!("recording {} ({})", change.address, done.id),
        )?;
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

    /// Creates the object of a create or of a replacement. A create-before-destroy
    /// replacement first deposes the current object, durably with the create's intent, so
    /// whatever happens next the old object stays tracked: interrupted, the next plan recovers
    /// the successor by its token and destroys the deposed object; failed with nothing
    /// created, the old object is current again.
    async fn create(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        schema: &Schema,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, String> {
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
        let message = self.fail(change, "Creation", started, &error);
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
        self.record_failure(journal, entries, message).await
    }

    /// The object a create-before-destroy replacement deposes (`None` for other creates).
    fn deposed_by(&self, change: &ResourceChange) -> Option<DeposedObject> {
        if change.action != Action::Replace
            || change.replace_order != Some(ReplaceOrder::CreateThenDelete)
        {
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
    fn restored(&self, change: &ResourceChange, object: &DeposedObject) -> ResourceRecord {
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
        }
    }

    /// Records what a failed call left; the call's error either way, with the recording's
    /// error added when that failed too (the executor then starts nothing new).
    async fn record_failure(
        &self,
        journal: &JournalWriter,
        entries: Vec<JournalEntry>,
        message: String,
    ) -> Result<Option<Durable>, String> {
        match journal.write(entries).await {
            Ok(()) => Err(message),
            Err(e) => Err(format!("{message}; recording this failure failed too: {e}")),
        }
    }

    async fn update(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        schema: &Schema,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, String> {
        let prior_record = change
            .prior
            .as_ref()
            .ok_or_else(|| format!("{}: no prior record to update", change.address))?;
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
            Err(error) => {
                let message = self.fail(change, "Modifications", started, &error);
                // The object is still there; the next refresh reads what the update left.
                let record = self.record(
                    change,
                    Some(prior_record.id.clone()),
                    &prior,
                    ResourceStatus::Ready,
                    None,
                );
                self.record_failure(journal, vec![JournalEntry::Put(Box::new(record))], message)
                    .await
            }
        }
    }

    /// Deletes the current object of an address (a delete, or the first half of a
    /// delete-then-create replacement). The intent is durable first; an interrupted delete
    /// is settled by the next refresh (gone: the record goes).
    async fn delete(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        journal: &JournalWriter,
    ) -> Result<Option<Durable>, String> {
        let prior_record = change
            .prior
            .as_ref()
            .ok_or_else(|| format!("{}: no record to delete", change.address))?;
        let prior = object_from_json(&prior_record.attributes);
        let intent = self.intent(change, "delete");
        journal
            .write(vec![JournalEntry::Intent(intent.clone())])
            .await
            .map_err(|e| format!("recording the intent for {}: {e}", change.address))?;
        let started = Instant::now();
        self.reporter.started(&change.address, "Destroying");
        let progress = ProgressTo {
            address: &change.address,
            reporter: self.reporter,
        };
        let ctx = CallContext {
            address: &change.address,
            token: &intent.token,
            progress: &progress,
            timeout: Self::timeout(config, "delete"),
        };
        match with_retries(|| resource.delete(&ctx, &prior_record.id, &prior)).await {
            Ok(()) => {
                let durable = journal.enqueue(
                    vec![JournalEntry::Remove {
                        address: change.address.clone(),
                    }],
                    format!("recording the deletion of {}", change.address),
                )?;
                self.reporter.finished(
                    &change.address,
                    "Destruction",
                    started.elapsed(),
                    Some(&prior_record.id),
                    None,
                );
                Ok(Some(durable))
            }
            Err(error) => {
                let message = self.fail(change, "Destruction", started, &error);
                let record = self.record(
                    change,
                    Some(prior_record.id.clone()),
                    &prior,
                    ResourceStatus::Ready,
                    None,
                );
                self.record_failure(journal, vec![JournalEntry::Put(Box::new(record))], message)
                    .await
            }
        }
    }

    /// Deletes a deposed object: the old object of a create-before-destroy replacement of
    /// this plan, or one an earlier apply left behind. It is in state as deposed already, so
    /// only success is recorded; a failure leaves it deposed for the next apply.
    async fn delete_deposed(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        resource: &dyn Resource,
        journal: &JournalWriter,
        known: &Known,
    ) -> Result<Option<Durable>, String> {
        let prior_record = change
            .prior
            .as_ref()
            .ok_or_else(|| format!("{}: no deposed object to delete", change.address))?;
        let key = match &change.deposed {
            Some(key) => key.clone(),
            None => known
                .deposed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&change.address)
                .cloned()
                .ok_or_else(|| {
                    format!("{}: the replaced object was not deposed", change.address)
                })?,
        };
        let prior = object_from_json(&prior_record.attributes);
        let label = format!("{} (deposed object {key})", change.address);
        let started = Instant::now();
        self.reporter.started(&label, "Destroying");
        let progress = ProgressTo {
            address: &label,
            reporter: self.reporter,
        };
        let ctx = CallContext {
            address: &label,
            token: "",
            progress: &progress,
            timeout: Self::timeout(config, "delete"),
        };
        match with_retries(|| resource.delete(&ctx, &prior_record.id, &prior)).await {
            Ok(()) => {
                let durable = journal.enqueue(
                    vec![JournalEntry::RemoveDeposed { key }],
                    format!("recording the deletion of {label}"),
                )?;
                self.reporter.finished(
                    &label,
                    "Destruction",
                    started.elapsed(),
                    Some(&prior_record.id),
                    None,
                );
                Ok(Some(durable))
            }
            Err(error) => {
                let message = self.secrets.scrub(&error.to_string());
                self.reporter.finished(
                    &label,
                    "Destruction",
                    started.elapsed(),
                    None,
                    Some(&message),
                );
                Err(format!(
                    "[{}] destroying deposed object {key} ({}): {message}; it stays in state as deposed and the \
                     next apply destroys it",
                    change.provider, prior_record.id
                ))
            }
        }
    }

    fn fail(
        &self,
        change: &ResourceChange,
        verb: &str,
        started: Instant,
        error: &ProviderError,
    ) -> String {
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
        let error = self.secrets.scrub(&error.to_string());
        let message = format!("[{}{declared}] {error}", change.provider);
        self.reporter
            .finished(&change.address, verb, started.elapsed(), None, Some(&error));
        message
    }

    fn intent(&self, change: &ResourceChange, operation: &str) -> Intent {
        Intent {
            address: change.address.clone(),
            type_name: change.type_name.clone(),
            operation: operation.to_string(),
            token: random_id(),
            dependencies: change.dependencies.clone(),
            started: now_unix(),
        }
    }

    fn record(
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
        }
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

/// The outcome of a change once one of its operations succeeded: a replacement is only
/// replaced once both halves happened.
fn succeeded(change: &ResourceChange, kind: OpKind) -> Outcome {
    match (change.action, kind) {
        (Action::Replace, OpKind::Delete) => Outcome::Partial {
            done: Action::Delete,
            rest: "its replacement was not created".into(),
        },
        (Action::Replace, OpKind::Apply)
            if change.replace_order == Some(ReplaceOrder::CreateThenDelete) =>
        {
            Outcome::Partial {
                done: Action::Create,
                rest: "the replaced object was not destroyed".into(),
            }
        }
        (action, _) => Outcome::Succeeded(action),
    }
}

/// Marks a change not attempted (or, half replaced, says why the other half was not).
fn not_attempted(outcomes: &mut HashMap<usize, Outcome>, change: usize, reason: &str) {
    match outcomes.get_mut(&change) {
        Some(Outcome::Partial { rest, .. }) => *rest = reason.to_string(),
        Some(_) => {}
        None => {
            outcomes.insert(change, Outcome::Skipped(reason.to_string()));
        }
    }
}
