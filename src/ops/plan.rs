//! `plinth plan`: refresh, diff, and the plan.

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
    let generated = state.map(|s| s.secrets.clone()).unwrap_or_default();
    let secrets = Secrets::resolve(&workspace.stack, &generated);
    let planner = Planner {
        stack: &workspace.stack,
        registry: &workspace.registry,
        graph: &workspace.graph,
        secrets: &secrets,
        work_dir: &workspace.work_dir,
    };
    planner
        .plan(state, options)
        .await
        .map_err(|e| miette!("{e}"))
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
