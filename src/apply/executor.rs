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
use plinth_state::{now_unix, random_id, Intent, JournalEntry, ResourceRecord, ResourceStatus};
use tokio::sync::Semaphore;

use super::graph::{chain_lengths, compile, OpKind};
use super::journal::{Durable, JournalWriter};
use super::report::{ApplyReport, Outcome, ProgressTo, Reporter};
use crate::config::{Address, ResourceConfig, Stack};
use crate::eval::{lookup_object, Scope};
use crate::plan::{desired_inputs, Action, Plan, ResourceChange};
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
                if let Some(reason) = self.halt.and_then(|halt| halt()) {
                    let change_index = ops[op_index].change;
                    outcomes
                        .entry(change_index)
                        .or_insert_with(|| Outcome::Skipped(format!("not attempted: {reason}")));
                    for (_, Reverse(rest)) in ready.drain() {
                        outcomes.entry(ops[rest].change).or_insert_with(|| {
                            Outcome::Skipped(format!("not attempted: {reason}"))
                        });
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
                    if !outcomes.contains_key(&change_index) || ops[op_index].kind == OpKind::Apply
                    {
                        let action = plan.changes[change_index].action;
                        outcomes.insert(change_index, Outcome::Succeeded(action));
                    }
                }
                Err(message) => {
                    outcomes.insert(change_index, Outcome::Failed(message));
                    // Skip everything downstream.
                    let mut stack = vec![op_index];
                    while let Some(i) = stack.pop() {
                        for &dependent in &ops[i].dependents {
                            if !failed_ops[dependent] {
                                failed_ops[dependent] = true;
                                let dependent_change = ops[dependent].change;
                                outcomes.entry(dependent_change).or_insert_with(|| {
                                    Outcome::Skipped(format!(
                                        "not attempted: `{}` failed",
                                        plan.changes[change_index].address
                                    ))
                                });
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
            OpKind::Delete | OpKind::DeleteDeposed => {
                self.delete(change, config, kind, &*resource, journal).await
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
            None => JournalEntry::Remove {
                address: change.address.clone(),
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
            collect_secret_texts(value, false, &mut secrets);
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
    ) -> Result<(Intent, Instant), String> {
        let intent = self.intent(change, operation);
        journal
            .write(vec![JournalEntry::Intent(intent.clone())])
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
        let (intent, started) = self.begin(change, "create", "Creating", journal).await?;
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
        match with_retries(|| resource.create(&ctx, &revealed)).await {
            Ok(created) => {
                let done = Done {
                    id: &created.id,
                    verb: "Creation",
                    started,
                };
                self.succeeded(
                    change,
                    schema,
                    &desired,
                    &created.attributes,
                    done,
                    journal,
                    known,
                )
            }
            Err(error) => {
                // Keep the intent: the next run looks for a half-made resource by its token and
                // replaces it (tainted) if one exists.
                let record = self.record(
                    change,
                    None,
                    &Object::new(),
                    ResourceStatus::Tainted,
                    Some(intent),
                );
                let _ = journal
                    .write(vec![JournalEntry::Put(Box::new(record))])
                    .await;
                Err(self.fail(change, "Creation", started, &error))
            }
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
        let (intent, started) = self.begin(change, "update", "Modifying", journal).await?;
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
                let record = self.record(
                    change,
                    Some(prior_record.id.clone()),
                    &prior,
                    ResourceStatus::Ready,
                    None,
                );
                let _ = journal
                    .write(vec![JournalEntry::Put(Box::new(record))])
                    .await;
                Err(self.fail(change, "Modifications", started, &error))
            }
        }
    }

    async fn delete(
        &self,
        change: &ResourceChange,
        config: Option<&ResourceConfig>,
        kind: OpKind,
        resource: &dyn Resource,
        journal: &JournalWriter,
    ) -> Result<Option<Durable>, String> {
        let prior_record = change
            .prior
            .as_ref()
            .ok_or_else(|| format!("{}: no record to delete", change.address))?;
        let prior = object_from_json(&prior_record.attributes);
        let intent = self.intent(change, "delete");
        // A deposed object is no longer at the address (its successor is): track it by id only.
        if kind == OpKind::Delete {
            journal
                .write(vec![JournalEntry::Intent(intent.clone())])
                .await
                .map_err(|e| format!("recording the intent for {}: {e}", change.address))?;
        }
        let started = Instant::now();
        let verb = if kind == OpKind::DeleteDeposed {
            "Destroying the replaced object of"
        } else {
            "Destroying"
        };
        self.reporter.started(&change.address, verb);
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
                let durable = if kind == OpKind::Delete {
                    Some(journal.enqueue(
                        vec![JournalEntry::Remove {
                            address: change.address.clone(),
                        }],
                        format!("recording the deletion of {}", change.address),
                    )?)
                } else {
                    None
                };
                self.reporter.finished(
                    &change.address,
                    "Destruction",
                    started.elapsed(),
                    Some(&prior_record.id),
                    None,
                );
                Ok(durable)
            }
            Err(error) => {
                if kind == OpKind::Delete {
                    let record = self.record(
                        change,
                        Some(prior_record.id.clone()),
                        &prior,
                        ResourceStatus::Ready,
                        None,
                    );
                    let _ = journal
                        .write(vec![JournalEntry::Put(Box::new(record))])
                        .await;
                }
                Err(self.fail(change, "Destruction", started, &error))
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
        let message = format!("[{}{declared}] {error}", change.provider);
        self.reporter.finished(
            &change.address,
            verb,
            started.elapsed(),
            None,
            Some(&error.to_string()),
        );
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

/// The plaintext strings under sensitive marks (at least 4 characters, to avoid matching noise).
fn collect_secret_texts(value: &Value, inside_secret: bool, out: &mut Vec<String>) {
    match value {
        Value::Sensitive(inner) => collect_secret_texts(inner, true, out),
        Value::String(text) if inside_secret && text.len() >= 4 => out.push(text.clone()),
        Value::List(items) => items
            .iter()
            .for_each(|v| collect_secret_texts(v, inside_secret, out)),
        Value::Map(map) => map
            .values()
            .for_each(|v| collect_secret_texts(v, inside_secret, out)),
        _ => {}
    }
}
