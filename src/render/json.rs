//! The public plan JSON (`plinth plan --format json`, `plinth show FILE --format json`): a
//! versioned view of the engine's [`Plan`], described exactly by `docs/plan.schema.json`.
//!
//! It is a view, not the engine's serialisation: it leaves out what apply needs but readers
//! must not depend on (the refreshed prior records with their whole attribute maps, recovery
//! markers), names every field explicitly (no omitted keys: absent values are `null` or `[]`),
//! and carries the summary counts so a CI job does not have to count. Sensitive values only
//! ever appear as `{"kind": "sensitive"}`.

use serde::Serialize;

use crate::plan::{
    Action, ActionKind, AttributeDiff, DiffValue, Drift, OutputChange, Plan, ReplaceOrder,
    ResourceChange, Risk,
};

/// Version of the public plan JSON. Bumped on any incompatible change; additive changes
/// (new fields) keep it.
pub const PLAN_JSON_FORMAT_VERSION: u32 = 2;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct PlanJson<'a> {
    /// [`PLAN_JSON_FORMAT_VERSION`].
    pub format_version: u32,
    /// The Plinth version that made the plan.
    pub plinth_version: &'a str,
    /// Stack name.
    pub stack: &'a str,
    /// Environment.
    pub environment: &'a str,
    /// `apply`, `destroy` or `refresh-only`.
    pub mode: &'static str,
    /// Fingerprint of the stack files and variables the plan was made from.
    pub config_fingerprint: &'a str,
    /// The state the plan was made against.
    pub state: StateJson<'a>,
    /// Counts.
    pub summary: SummaryJson,
    /// Every resource the plan considered, in dependency order (no-ops included).
    pub resource_changes: Vec<ResourceChangeJson<'a>>,
    /// Changes made outside Plinth, found by refresh.
    pub drift: Vec<DriftJson<'a>>,
    /// Changes to stack outputs.
    pub output_changes: Vec<OutputChangeJson<'a>>,
    /// Things the reader should know.
    pub warnings: &'a [String],
    /// The `[data.TYPE.NAME]` lookups as read (values), or why one was not read.
    pub data_sources: &'a [crate::plan::DataRead],
    /// Recorded addresses renamed (`[[moved]]`) or forgotten (`[[removed]]`, `to` absent).
    pub moved: &'a [crate::plan::moves::StateMove],
    /// The policy gate's results (`null`: the stack has no `policies/` directory, or a
    /// refresh-only plan).
    pub policy_checks: Option<&'a crate::policy::PolicyReport>,
}

/// The state a plan was made against.
#[derive(Debug, Serialize)]
pub struct StateJson<'a> {
    /// Lineage (`null`: no state existed).
    pub lineage: Option<&'a str>,
    /// Serial (`null`: no state existed).
    pub serial: Option<u64>,
}

/// Summary counts.
#[derive(Debug, Serialize)]
pub struct SummaryJson {
    /// Resources created (replacements included).
    pub add: usize,
    /// Resources updated in place.
    pub change: usize,
    /// Resources destroyed (replacements included).
    pub destroy: usize,
    /// Replacements.
    pub replace: usize,
    /// Changes blocked by `prevent_destroy`.
    pub blocked: usize,
    /// Resources left as they are.
    pub no_op: usize,
    /// Changes tagged `data-loss`.
    pub data_loss: usize,
    /// Changes tagged `downtime`.
    pub downtime: usize,
    /// Resources changed outside Plinth.
    pub drifted: usize,
    /// Outputs that change.
    pub output_changes: usize,
    /// True when applying would change resources or outputs.
    pub has_changes: bool,
}

/// One resource.
#[derive(Debug, Serialize)]
pub struct ResourceChangeJson<'a> {
    /// Address, e.g. `aws_rds_instance.primary` or `sim_resource.replica[0]`.
    pub address: &'a str,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_name: &'a str,
    /// Provider.
    pub provider: &'a str,
    /// `no-op`, `create`, `update`, `replace` or `delete`.
    pub action: ActionKind,
    /// For replacements: `delete-then-create` or `create-then-delete`; otherwise `null`.
    pub replace_order: Option<ReplaceOrder>,
    /// Why, in words.
    pub reason: Option<&'a str>,
    /// Why, as a stable code: `new`, `deleted-outside`, `attributes-changed`,
    /// `replace-tainted`, `replace-requested`, `replace-forced`, `delete-not-in-config`,
    /// `delete-destroy`, `delete-deposed`, `forget-gone` (format 2).
    pub reason_code: Option<&'static str>,
    /// For a deposed object of the address (an old object left by a replacement): its key
    /// (format 2).
    pub deposed: Option<&'a str>,
    /// The recorded address this one was moved from (`[[moved]]`), or `null`.
    pub moved_from: Option<&'a str>,
    /// The attributes that force a replacement.
    pub forced_by: &'a [String],
    /// `data-loss`, `downtime` or `null`.
    pub risk: Option<Risk>,
    /// Why the change is blocked (`prevent_destroy`), or `null`.
    pub blocked: Option<&'a str>,
    /// Addresses it depends on.
    pub dependencies: &'a [String],
    /// Attribute-level diffs.
    pub attribute_diffs: Vec<AttributeDiffJson<'a>>,
}

/// One attribute.
#[derive(Debug, Serialize)]
pub struct AttributeDiffJson<'a> {
    /// Path (nested tables per key: `tags.Name`; keys that are not identifiers quoted:
    /// `manifest.data."nginx.conf"`).
    pub path: &'a str,
    /// The same path as an array of keys, unquoted: `["manifest", "data", "nginx.conf"]`.
    pub path_segments: Vec<String>,
    /// Before.
    pub before: &'a DiffValue,
    /// After.
    pub after: &'a DiffValue,
    /// This attribute's change forces the replacement.
    pub forces_replacement: bool,
}

/// One drifted resource.
#[derive(Debug, Serialize)]
pub struct DriftJson<'a> {
    /// Address.
    pub address: &'a str,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_name: &'a str,
    /// True when the resource is gone.
    pub deleted: bool,
    /// Recorded → live.
    pub attribute_diffs: Vec<AttributeDiffJson<'a>>,
}

/// One output.
#[derive(Debug, Serialize)]
pub struct OutputChangeJson<'a> {
    /// Output name.
    pub name: &'a str,
    /// Before.
    pub before: &'a DiffValue,
    /// After.
    pub after: &'a DiffValue,
}

impl<'a> PlanJson<'a> {
    /// The public view of `plan`.
    pub fn new(plan: &'a Plan) -> Self {
        let summary = plan.summary();
        let risky = |risk: Risk| {
            plan.changes
                .iter()
                .filter(|c| c.action != Action::NoOp && c.risk == Some(risk))
                .count()
        };
        PlanJson {
            format_version: PLAN_JSON_FORMAT_VERSION,
            plinth_version: &plan.plinth_version,
            stack: &plan.stack,
            environment: &plan.environment,
            mode: if plan.refresh_only {
                "refresh-only"
            } else if plan.destroy {
                "destroy"
            } else {
                "apply"
            },
            config_fingerprint: &plan.config_hash,
            state: StateJson {
                lineage: plan.state_lineage.as_deref(),
                serial: plan.state_serial,
            },
            summary: SummaryJson {
                add: summary.add,
                change: summary.change,
                destroy: summary.destroy,
                replace: summary.replace,
                blocked: summary.blocked,
                no_op: plan
                    .changes
                    .iter()
                    .filter(|c| c.action == Action::NoOp)
                    .count(),
                data_loss: risky(Risk::DataLoss),
                downtime: risky(Risk::Downtime),
                drifted: plan.drift.len(),
                output_changes: plan.outputs.len(),
                has_changes: plan.has_changes() && !plan.refresh_only,
            },
            resource_changes: plan.changes.iter().map(change).collect(),
            drift: plan.drift.iter().map(drift).collect(),
            output_changes: plan.outputs.iter().map(output).collect(),
            warnings: &plan.warnings,
            data_sources: &plan.data,
            moved: &plan.moved,
            policy_checks: plan.policy.as_ref(),
        }
    }
}

fn change(change: &ResourceChange) -> ResourceChangeJson<'_> {
    ResourceChangeJson {
        address: &change.address,
        type_name: &change.type_name,
        provider: &change.provider,
        action: change.action.kind(),
        replace_order: change.action.replace_order(),
        reason: change.reason.as_deref(),
        reason_code: change.reason_code.map(|r| r.code()),
        deposed: change.deposed.as_deref(),
        moved_from: change.moved_from.as_deref(),
        forced_by: &change.forced_by,
        risk: change.risk,
        blocked: change.blocked.as_deref(),
        dependencies: &change.dependencies,
        attribute_diffs: change.diffs.iter().map(diff).collect(),
    }
}

fn drift(drift: &Drift) -> DriftJson<'_> {
    DriftJson {
        address: &drift.address,
        type_name: &drift.type_name,
        deleted: drift.deleted,
        attribute_diffs: drift.diffs.iter().map(diff).collect(),
    }
}

fn output(output: &OutputChange) -> OutputChangeJson<'_> {
    OutputChangeJson {
        name: &output.name,
        before: &output.before,
        after: &output.after,
    }
}

fn diff(diff: &AttributeDiff) -> AttributeDiffJson<'_> {
    AttributeDiffJson {
        path: &diff.path,
        path_segments: super::value_diff::path_segments(&diff.path),
        before: &diff.before,
        after: &diff.after,
        forces_replacement: diff.forces_replacement,
    }
}

/// The plan as pretty-printed public JSON, with a final newline.
pub fn render_plan_json(plan: &Plan) -> String {
    match serde_json::to_string_pretty(&PlanJson::new(plan)) {
        Ok(text) => text + "\n",
        // Serialising plain structs of strings, numbers and JSON values cannot fail; keep a
        // valid document anyway rather than panic.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}
