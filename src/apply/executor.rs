//! The apply executor. The plan is compiled into an execution graph of operations (apply,
//! delete, delete of a deposed object for create-before-destroy) and run concurrently: an
//! operation starts as soon as the ones it waits for finish, bounded by `--parallelism` and
//! by each provider's own concurrency limit. Before every provider call an intent is made
//! durable; after it, the result. A failure skips the operations that depend on it while
//! independent branches go on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::{HashMap, HashMapExt};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::stream::{FuturesUnordered, StreamExt};
use plinth_provider::{Object, Value};
use tokio::sync::Semaphore;

use super::error::OpError;
use super::graph::{chain_lengths, compile, OpKind};
use super::journal::{Durable, JournalWriter};
use super::report::{ApplyReport, Outcome, Reporter};
use crate::config::{Address, ResourceConfig, Stack};
use crate::eval::{lookup_object, Scope};
use crate::plan::{Action, Plan, ReplaceOrder, ResourceChange};
use crate::registry::Registry;
use crate::secrets::Secrets;

/// Where an operation is: its provider call returned (with its result queued in the
/// journal, or nothing to record), or its result became durable.
enum Step {
    Called(Result<Option<Durable>, OpError>),
    Recorded(Result<(), OpError>),
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

/// Values known so far, for evaluating references during apply.
pub(super) struct Known {
    pub(super) values: Mutex<HashMap<String, Object>>,
    /// The deposed key of each create-before-destroy replacement whose old object was
    /// deposed by its create (its deposed delete needs it).
    pub(super) deposed: Mutex<HashMap<String, String>>,
}

pub(super) struct KnownScope<'a> {
    pub(super) known: &'a Known,
    pub(super) secrets: &'a Secrets,
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
                    let recorded: Pending<'_> = Box::pin(async move {
                        (
                            op_index,
                            Step::Recorded(durable.wait().await.map_err(OpError::recording)),
                        )
                    });
                    running.push(recorded);
                    Ok(())
                }
                Step::Called(Ok(None)) => Ok(()),
                // Dependents were released and the outcome recorded when the call returned.
                Step::Recorded(Ok(())) => continue,
                Step::Called(Err(error)) | Step::Recorded(Err(error)) => Err(error),
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
                Err(error) => {
                    let outcome = match outcomes.remove(&change_index) {
                        Some(Outcome::Partial { done, .. }) => Outcome::Partial {
                            done,
                            rest: error.to_string(),
                        },
                        _ => Outcome::Failed(error),
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
    ) -> Result<Option<Durable>, OpError> {
        let closed = |e: tokio::sync::AcquireError| OpError::inconsistent(e.to_string());
        let _slot = global.acquire().await.map_err(closed)?;
        if kind == OpKind::Record {
            return self.record_only(change, journal, known).await;
        }
        let resource = self
            .registry
            .resource_for(&change.type_name, self.stack, self.work_dir)
            .await
            .map_err(|e| {
                OpError::configuration(format!(
                    "configuring the provider of {}: {e}",
                    change.address
                ))
            })?;
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
            Some(semaphore) => Some(semaphore.acquire().await.map_err(closed)?),
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
}

/// The outcome of a change once one of its operations succeeded: a replacement is only
/// replaced once both halves happened.
fn succeeded(change: &ResourceChange, kind: OpKind) -> Outcome {
    match (change.action, kind) {
        (Action::Replace { .. }, OpKind::Delete) => Outcome::Partial {
            done: Action::Delete,
            rest: "its replacement was not created".into(),
        },
        (
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            },
            OpKind::Apply,
        ) => Outcome::Partial {
            done: Action::Create,
            rest: "the replaced object was not destroyed".into(),
        },
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
