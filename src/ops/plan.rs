//! `plinth plan`: refresh, diff, and the plan.

use std::collections::BTreeSet;

use miette::{miette, IntoDiagnostic, Result};
use plinth_state::StateDocument;

use super::workspace::Workspace;
use crate::plan::{Plan, PlanOptions, Planner};
use crate::secrets::Secrets;

/// Makes a plan against the current state (no lock: a plan only reads).
pub async fn plan(
    workspace: &Workspace,
    options: &PlanOptions,
) -> Result<(Plan, Option<StateDocument>)> {
    let state = workspace.store.load().await.into_diagnostic()?;
    let plan = plan_with_state(workspace, state.as_ref(), options).await?;
    Ok((plan, state))
}

/// Makes a plan against a given state document.
pub async fn plan_with_state(
    workspace: &Workspace,
    state: Option<&StateDocument>,
    options: &PlanOptions,
) -> Result<Plan> {
    check_selection(workspace, state, options)?;
    let generated = state.map(|s| s.secrets.clone()).unwrap_or_default();
    let secrets = Secrets::resolve(&workspace.stack, &generated);
    let planner = Planner {
        stack: &workspace.stack,
        registry: &workspace.registry,
        graph: &workspace.graph,
        secrets: &secrets,
        work_dir: &workspace.work_dir,
    };
    let mut plan = planner
        .plan(state, options)
        .await
        .map_err(|e| miette!("{e}"))?;
    plan.policy = crate::policy::check(&workspace.stack, &plan)?;
    Ok(plan)
}

/// Refuses a `--target` or `--replace` that names nothing in the stack or state, suggesting
/// the nearest addresses (a typo such as `sim_resource.wbe` gets "did you mean
/// `sim_resource.web`?").
fn check_selection(
    workspace: &Workspace,
    state: Option<&StateDocument>,
    options: &PlanOptions,
) -> Result<()> {
    if options.replace.is_empty() && options.targets.is_empty() {
        return Ok(());
    }
    let mut known: BTreeSet<String> = workspace
        .stack
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .chain(state.iter().flat_map(|s| s.resources.keys().cloned()))
        .collect();
    let unknown_replace = options.replace.iter().find(|a| !known.contains(*a));
    // A target may name a whole block (`type.name`) of counted instances.
    let blocks: Vec<String> = known
        .iter()
        .filter_map(|a| a.split_once('[').map(|(block, _)| block.to_string()))
        .collect();
    known.extend(blocks);
    let unknown_target = options
        .targets
        .iter()
        .find(|t| !known.iter().any(|a| crate::config::selects(t, a)));
    let (flag, address) = match (unknown_replace, unknown_target) {
        (Some(address), _) => ("--replace", address),
        (None, Some(address)) => ("--target", address),
        (None, None) => return Ok(()),
    };
    Err(miette!(
        help = crate::config::listing(address, known.iter().map(String::as_str), "resources"),
        "{flag} `{address}`: no such resource in the stack or state"
    ))
}

/// Exit code of `plan --detailed-exitcode`: 0 no changes, 2 changes, 3 drift only.
pub fn detailed_exit_code(plan: &Plan) -> i32 {
    if plan.has_changes() && !plan.refresh_only {
        2
    } else if !plan.drift.is_empty() {
        3
    } else {
        0
    }
}
