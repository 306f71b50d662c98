//! `plinth apply` / `plinth destroy`: lock, plan (or take a saved plan), check secrets,
//! execute, record outputs, commit the new serial, unlock.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::sync::Arc;
use std::time::Duration;

use miette::{miette, IntoDiagnostic, Result};
use plinth_provider::{object_from_json, Object};
use plinth_state::{spawn_renewal, JournalEntry, Session, StateDocument, StateError};

use super::plan::plan_with_state;
use super::workspace::Workspace;
use crate::apply::{ApplyReport, Executor, JournalStats, JournalWriter, Outcome, Reporter};
use crate::eval::{eval, StateScope};
use crate::plan::{Action, Plan, PlanOptions};
use crate::secrets::Secrets;

/// Options of an apply.
pub struct ApplyOptions<'a> {
    /// Plan options (destroy, targets, replace).
    pub plan: PlanOptions,
    /// Max operations in flight.
    pub parallelism: usize,
    /// How long to wait for the state lock.
    pub lock_timeout: Duration,
    /// Progress display.
    pub reporter: &'a dyn Reporter,
    /// Called with the plan before anything changes; returning false cancels.
    pub confirm: &'a mut dyn FnMut(&Plan) -> Result<bool>,
    /// Receives warnings worth showing at once (e.g. an expired lock was taken over).
    pub notice: &'a dyn Fn(&str),
    /// A saved plan: apply it even when the resources it changes changed in the cloud since
    /// it was made (`apply --accept-drift`).
    pub accept_drift: bool,
}

/// What an apply did.
pub struct ApplyResult {
    /// The plan that was executed.
    pub plan: Plan,
    /// Per-resource outcomes (None when cancelled or nothing to do).
    pub report: Option<ApplyReport>,
    /// Journal statistics.
    pub journal: JournalStats,
}

/// Plans and applies.
pub async fn apply(workspace: &Workspace, options: ApplyOptions<'_>) -> Result<ApplyResult> {
    let operation = if options.plan.destroy {
        "destroy"
    } else {
        "apply"
    };
    locked(workspace, operation, None, options).await
}

/// Applies a saved plan, refusing a stale one: `state_digest` is the plan file's
/// [`super::planfile::state_digest`] of the state it was made against.
pub async fn apply_saved(
    workspace: &Workspace,
    plan: Plan,
    state_digest: Option<String>,
    options: ApplyOptions<'_>,
) -> Result<ApplyResult> {
    locked(workspace, "apply", Some((plan, state_digest)), options).await
}

/// Takes the lock, keeps its lease alive with [`plinth_state::spawn_renewal`] while the apply
/// runs, and refuses to write state once the lock was lost (taken over after the lease ran
/// out, or force-unlocked).
async fn locked(
    workspace: &Workspace,
    operation: &str,
    saved: Option<(Plan, Option<String>)>,
    options: ApplyOptions<'_>,
) -> Result<ApplyResult> {
    let lock = workspace
        .lock(operation, options.lock_timeout, options.notice)
        .await?;
    if let Some(previous) = &lock.took_over {
        (options.notice)(&format!(
            "Warning: the lease of the previous lock had expired; took over the state lock from {previous}. \
             Its apply may have been interrupted: resources it was changing are checked now."
        ));
    }
    let interval = Duration::from_millis((lock.lease() * 1000 / 3).max(100));
    let renewal = Arc::new(spawn_renewal(workspace.store.clone(), lock, interval));
    let watch = Arc::clone(&renewal);
    let halt = move || {
        watch
            .lost()
            .map(|reason| format!("the state lock was lost: {reason}"))
    };
    let result = apply_locked(workspace, saved, options, &halt).await;
    drop(halt);
    let renewal =
        Arc::into_inner(renewal).ok_or_else(|| miette!("the lock renewal is still shared"))?;
    match renewal.stop().await {
        Ok(lock) => {
            workspace.store.unlock(&lock).await.into_diagnostic()?;
            result
        }
        Err(lost) => {
            let lost = match lost {
                StateError::Conflict(reason) => reason,
                other => other.to_string(),
            };
            let done = match &result {
                Ok(ApplyResult {
                    report: Some(report),
                    ..
                }) => format!(
                    " ({} of {} changes were not attempted)",
                    report
                        .outcomes
                        .iter()
                        .filter(|(_, o)| matches!(o, Outcome::Skipped(_)))
                        .count(),
                    report.outcomes.len()
                ),
                _ => String::new(),
            };
            Err(miette!(
                help = "another process may now hold the lock (`plinth lock list`); run `plinth apply` again \
                        when it is done: the journal records what this run changed",
                "{operation} stopped, the state lock was lost: {lost}{done}"
            ))
        }
    }
}

async fn apply_locked(
    workspace: &Workspace,
    saved: Option<(Plan, Option<String>)>,
    options: ApplyOptions<'_>,
    halt: &(dyn Fn() -> Option<String> + Sync),
) -> Result<ApplyResult> {
    let state = workspace.store.load().await.into_diagnostic()?;
    let plan = match saved {
        Some((mut plan, state_digest)) => {
            check_saved_plan(workspace, &plan, state.as_ref())?;
            super::planfile::check_state_digest(state_digest.as_deref(), state.as_ref())?;
            if !options.accept_drift {
                if let Some(state) = state.as_ref() {
                    let moved = crate::plan::moves::moved_document(state, &plan.moved);
                    check_unchanged_since_plan(workspace, &plan, &moved).await?;
                }
            }
            // The gate runs again on the saved plan with the policies and waivers of now: a
            // plan made before a policy was added, or while a waiver held, is checked anew.
            plan.policy = crate::policy::check(&workspace.stack, &plan)?;
            plan
        }
        None => plan_with_state(workspace, state.as_ref(), &options.plan).await?,
    };
    refuse_unread_data(&plan)?;
    if plan.policy_denied() {
        // Nothing is changed; the caller shows the plan with the denials (exit 4).
        return Ok(ApplyResult {
            plan,
            report: None,
            journal: JournalStats::default(),
        });
    }
    // Records of objects already gone and refreshed records are written even when no
    // provider call is needed: otherwise a destroy of what is already gone would say
    // "No changes" and keep the records for ever.
    let nothing_to_do = !plan.has_changes() && !plan.updates_state();
    if nothing_to_do {
        return Ok(ApplyResult {
            plan,
            report: None,
            journal: JournalStats::default(),
        });
    }
    if !(options.confirm)(&plan)? {
        return Ok(ApplyResult {
            plan,
            report: None,
            journal: JournalStats::default(),
        });
    }

    let mut session = Session::open(&*workspace.store, state, env!("CARGO_PKG_VERSION"))
        .await
        .into_diagnostic()?;
    // Borrowed: the session keeps the document and the journal writer gets the one copy it
    // needs (a second full copy was +330 MiB peak in a 1-change apply of 100k resources).
    let document = session.document();
    let mut secrets = Secrets::resolve(&workspace.stack, &document.secrets);
    let mut early = Vec::new();
    check_secrets(workspace, &plan, &mut secrets, &mut early)?;
    // `[[moved]]` / `[[removed]]` first, in the same durable append as the generated secrets:
    // a kill before it leaves the old addresses (the next plan moves them again), after it
    // the new ones.
    early.extend(crate::plan::moves::move_entries(document, &plan.moved));

    let salt = document.salt.clone();
    let (journal, writer) = JournalWriter::start(workspace.store.clone(), document.clone());
    if !early.is_empty() {
        journal
            .write(early)
            .await
            .map_err(|e| miette!("recording generated secrets: {e}"))?;
    }
    let known = known_values(document, &plan);
    let executor = Executor {
        stack: &workspace.stack,
        registry: &workspace.registry,
        secrets: &secrets,
        work_dir: &workspace.work_dir,
        parallelism: options.parallelism,
        reporter: options.reporter,
        salt: &salt,
        halt: Some(halt),
    };
    let mut known_after = known;
    let report = executor
        .run(&plan, &journal, std::mem::take(&mut known_after))
        .await;

    // Outputs from what is now recorded.
    drop(journal);
    let (stats, after) = writer.await.into_diagnostic()?;
    session.replace(after);
    if halt().is_some() {
        // Another process may own the state now: leave the journal for it, write nothing
        // more. The caller turns the lost lock into the error.
        return Ok(ApplyResult {
            plan,
            report: Some(report),
            journal: stats,
        });
    }
    // Outputs from what is now recorded; after a destroy that left nothing, none (so
    // `plinth output` does not print what was destroyed).
    let outputs = if plan.destroy && session.document().resources.is_empty() {
        BTreeMap::new()
    } else {
        evaluate_outputs(workspace, session.document(), &secrets)
    };
    if outputs != session.document().outputs {
        session
            .append(&[JournalEntry::Outputs(outputs)])
            .await
            .into_diagnostic()?;
    }
    // The next serial as a journal entry (the backend compacts when its journal has grown),
    // so a small change to a large state writes a few entries, not the whole document.
    session.commit().await.into_diagnostic()?;
    Ok(ApplyResult {
        plan,
        report: Some(report),
        journal: stats,
    })
}

/// Re-reads (one batched refresh, as `plan` does) the resources a saved plan changes and
/// refuses the plan, naming each attribute, when any of them changed in the cloud since the
/// plan was made: the diff that was reviewed would not be the diff applied.
async fn check_unchanged_since_plan(
    workspace: &Workspace,
    plan: &Plan,
    state: &StateDocument,
) -> Result<()> {
    let touched: BTreeMap<&str, &crate::plan::PriorRecord> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp && c.deposed.is_none())
        .filter_map(|c| c.prior.as_ref().map(|p| (c.address.as_str(), p)))
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let mut subset = state.clone();
    subset
        .resources
        .retain(|address, _| touched.contains_key(address.as_str()));
    subset.deposed.clear();
    let secrets = Secrets::resolve(&workspace.stack, &state.secrets);
    let mut warnings = Vec::new();
    let refreshed = crate::plan::refresh::refresh(
        &subset,
        &secrets,
        &workspace.stack,
        &workspace.registry,
        &workspace.work_dir,
        true,
        &mut warnings,
    )
    .await
    .map_err(|e| {
        miette!(
            "re-reading {} before applying the saved plan: {}",
            e.addresses.join(", "),
            e.error
        )
    })?;
    let mut differences = Vec::new();
    for (address, prior) in &touched {
        match refreshed.resources.get(*address) {
            Some(crate::plan::refresh::Refreshed::Live { attributes, .. }) => {
                let live = plinth_provider::object_to_persisted_json(attributes, &state.salt);
                differences.extend(
                    changed_attributes(&prior.attributes, &live)
                        .into_iter()
                        .map(|name| format!("{address}.{name}")),
                );
            }
            Some(crate::plan::refresh::Refreshed::Gone) => {
                differences.push(format!("{address} (deleted)"));
            }
            _ => {}
        }
    }
    if differences.is_empty() {
        return Ok(());
    }
    Err(miette!(
        help = "make a new plan and review it, or apply this one anyway with `--accept-drift`",
        "refusing the saved plan: {} changed outside of Plinth since the plan was made:\n  {}",
        if differences.len() == 1 {
            "1 attribute".to_string()
        } else {
            format!("{} attributes", differences.len())
        },
        differences.join("\n  ")
    ))
}

/// The top-level attributes whose persisted values differ between two records.
fn changed_attributes(
    planned: &serde_json::Map<String, serde_json::Value>,
    live: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    let mut names: Vec<&String> = planned.keys().chain(live.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| planned.get(*name) != live.get(*name))
        .cloned()
        .collect()
}

/// Refuses a saved plan made against other config or state.
fn check_saved_plan(
    workspace: &Workspace,
    plan: &Plan,
    state: Option<&StateDocument>,
) -> Result<()> {
    if plan.stack != workspace.stack.name || plan.environment != workspace.stack.environment {
        return Err(miette!(
            help = "apply it to the stack and environment it was made for",
            "this plan is for stack `{}` environment `{}`, not `{}` environment `{}`",
            plan.stack,
            plan.environment,
            workspace.stack.name,
            workspace.stack.environment
        ));
    }
    if plan.config_hash != crate::plan::fingerprint(&workspace.stack) {
        return Err(miette!(
            help = "the stack files or variables changed since the plan was made; run `plinth plan --out` again",
            "the configuration differs from the one this plan was made from"
        ));
    }
    match (state, &plan.state_lineage, plan.state_serial) {
        (None, None, _) => Ok(()),
        (Some(s), Some(lineage), Some(serial)) if &s.lineage == lineage && s.serial == serial => Ok(()),
        (Some(s), Some(lineage), _) if &s.lineage != lineage => Err(miette!(
            help = "this plan belongs to another state (a different stack or a re-created state)",
            "state lineage mismatch: the plan was made against lineage {lineage}, the state has {}",
            s.lineage
        )),
        (Some(s), None, _) => Err(miette!(
            help = "the plan was made when no state existed; it has been applied or another apply ran since. \
                    Run `plinth plan --out` again",
            "stale plan: state now exists (serial {})",
            s.serial
        )),
        (Some(s), _, serial) => Err(miette!(
            help = "a plan can be applied once, and only to the state it was made against; run `plinth plan --out` again",
            "stale plan: it was made against state serial {}, the state is now at serial {}",
            serial.map(|s| s.to_string()).unwrap_or_else(|| "none".into()),
            s.serial
        )),
        (None, Some(_), _) => Err(miette!(
            help = "the state this plan was made against no longer exists",
            "stale plan: no state found"
        )),
    }
}

/// Every secret the changes need must be available; generated ones are created now.
fn check_secrets(
    workspace: &Workspace,
    plan: &Plan,
    secrets: &mut Secrets,
    early: &mut Vec<JournalEntry>,
) -> Result<()> {
    let mut missing = BTreeMap::new();
    let unresolved: BTreeMap<String, String> = secrets
        .unresolved()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let configs: HashMap<String, &crate::config::ResourceConfig> = workspace
        .stack
        .resources
        .iter()
        .map(|r| (r.address.to_string(), r))
        .collect();
    for change in plan.changes.iter().filter(|c| {
        matches!(
            c.action,
            Action::Create | Action::Update | Action::Replace { .. }
        )
    }) {
        let Some(config) = configs.get(&change.address) else {
            continue;
        };
        for expr in config.attributes.values() {
            for secret in expr.secrets() {
                if let Some(reason) = unresolved.get(&secret.name) {
                    missing
                        .entry(secret.name.clone())
                        .or_insert_with(|| (reason.clone(), Vec::new()))
                        .1
                        .push(change.address.clone());
                } else if let Some(value) = secrets.generate(&secret.name) {
                    early.push(JournalEntry::Secret {
                        name: secret.name.clone(),
                        value,
                    });
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = missing
        .iter()
        .map(|(name, (reason, users))| {
            format!("`{name}`: {reason} (needed by {})", users.join(", "))
        })
        .collect();
    Err(miette!(
        help = "set the missing secrets (see `[secrets]` in the stack) and run apply again",
        "cannot apply: {} secret(s) unresolved:\n  {}",
        missing.len(),
        lines.join("\n  ")
    ))
}

/// A plan whose data sources could not all be read (no credentials when it was made) shows
/// values it does not know: it cannot be applied.
fn refuse_unread_data(plan: &Plan) -> Result<()> {
    let unread: Vec<String> = plan
        .data
        .iter()
        .filter_map(|read| {
            read.unread
                .as_ref()
                .map(|why| format!("{}: {why}", read.address))
        })
        .collect();
    if unread.is_empty() {
        return Ok(());
    }
    Err(miette!(
        help = "run it where the provider's credentials are available (the plan reads data sources when it starts)",
        "cannot apply: {} data source(s) were not read:\n  {}",
        unread.len(),
        unread.join("\n  ")
    ))
}

/// Reference values for resources the executor will not produce itself.
fn known_values(document: &StateDocument, plan: &Plan) -> HashMap<String, Object> {
    let mut known: HashMap<String, Object> = document
        .resources
        .iter()
        .filter(|(_, r)| r.id.is_some())
        .map(|(address, record)| (address.clone(), object_from_json(&record.attributes)))
        .collect();
    // Data sources: the values the plan read (references to them are evaluated again).
    for read in &plan.data {
        if let Some(attributes) = &read.attributes {
            known.insert(read.address.clone(), object_from_json(attributes));
        }
    }
    // A deposed object's change carries the old object: its address's values are those of
    // the current one.
    for change in plan.changes.iter().filter(|c| c.deposed.is_none()) {
        if let Some(prior) = &change.prior {
            known.insert(change.address.clone(), object_from_json(&prior.attributes));
        }
    }
    known
}

/// Outputs evaluated against the state (sensitive ones redacted).
pub fn evaluate_outputs(
    workspace: &Workspace,
    document: &StateDocument,
    secrets: &Secrets,
) -> BTreeMap<String, serde_json::Value> {
    let scope = StateScope { document, secrets };
    workspace
        .stack
        .outputs
        .iter()
        .map(|(name, output)| {
            let mut value = eval(&output.value, &scope);
            if output.sensitive {
                value = value.sensitive();
            }
            (name.clone(), value.to_persisted_json(&document.salt))
        })
        .collect()
}
