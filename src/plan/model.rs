//! The plan: what apply will do, per resource, with reasons and attribute diffs. It is
//! serialisable (saved plans, JSON output) and holds no secret values: sensitive leaves are
//! only ever [`DiffValue::Sensitive`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use plinth_provider::Value;

/// Version of the plan format (saved plans and `--format json`).
///
/// - 2: `reason_code` (a stable [`ActionReason`] code) and `deposed` (the key of a deposed
///   object the change destroys) on resource changes.
pub const PLAN_FORMAT_VERSION: u32 = 2;

pub use super::decide::ActionReason;

/// What happens to one resource. A replacement carries its order, so no code can see a
/// replacement without knowing which object goes first.
///
/// On the wire (saved plans, plan JSON) it is two fields, `action` (an [`ActionKind`]) and, for
/// replacements, `replace_order`: the format of plans made before the typed action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "ActionWire", from = "ActionWire")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Create a new resource.
    Create,
    /// Change it in place.
    Update,
    /// Destroy and re-create, in `order`.
    Replace {
        /// Which object goes first.
        order: ReplaceOrder,
    },
    /// Destroy it.
    Delete,
}

/// The kind of an [`Action`] without its details: what summaries count and JSON names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Nothing to do.
    NoOp,
    /// Create.
    Create,
    /// Update in place.
    Update,
    /// Replace (either order).
    Replace,
    /// Destroy.
    Delete,
}

/// The two-field wire form of an [`Action`] (flattened into the change that holds it).
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct ActionWire {
    action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replace_order: Option<ReplaceOrder>,
}

impl From<Action> for ActionWire {
    fn from(action: Action) -> Self {
        ActionWire {
            action: action.kind(),
            replace_order: action.replace_order(),
        }
    }
}

impl From<ActionWire> for Action {
    fn from(wire: ActionWire) -> Self {
        match wire.action {
            ActionKind::NoOp => Action::NoOp,
            ActionKind::Create => Action::Create,
            ActionKind::Update => Action::Update,
            ActionKind::Replace => Action::Replace {
                order: wire.replace_order.unwrap_or(ReplaceOrder::DeleteThenCreate),
            },
            ActionKind::Delete => Action::Delete,
        }
    }
}

impl Action {
    /// A delete-then-create replacement (the default order).
    pub const REPLACE: Action = Action::Replace {
        order: ReplaceOrder::DeleteThenCreate,
    };
    /// A create-before-destroy replacement.
    pub const REPLACE_CBD: Action = Action::Replace {
        order: ReplaceOrder::CreateThenDelete,
    };

    /// The kind, without the replacement order.
    pub fn kind(self) -> ActionKind {
        match self {
            Action::NoOp => ActionKind::NoOp,
            Action::Create => ActionKind::Create,
            Action::Update => ActionKind::Update,
            Action::Replace { .. } => ActionKind::Replace,
            Action::Delete => ActionKind::Delete,
        }
    }

    /// The order, for replacements.
    pub fn replace_order(self) -> Option<ReplaceOrder> {
        match self {
            Action::Replace { order } => Some(order),
            _ => None,
        }
    }

    /// A replacement of either order.
    pub fn is_replace(self) -> bool {
        matches!(self, Action::Replace { .. })
    }

    /// A create-before-destroy replacement.
    pub fn is_create_before_destroy(self) -> bool {
        self == Action::REPLACE_CBD
    }

    /// The Terraform-style symbol: `+`, `~`, `-/+`, `+/-`, `-`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            } => "+/-",
            Action::Replace {
                order: ReplaceOrder::DeleteThenCreate,
            } => "-/+",
            Action::Delete => "-",
        }
    }

    /// A verb for summaries.
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "unchanged",
            Action::Create => "created",
            Action::Update => "updated in place",
            Action::Replace { .. } => "replaced",
            Action::Delete => "destroyed",
        }
    }
}

/// The order of a replacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplaceOrder {
    /// Delete the old one, then create the new one (the default).
    DeleteThenCreate,
    /// Create the new one first (`lifecycle.create_before_destroy`).
    CreateThenDelete,
}

/// Risk of a change to a stateful or serving resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Replacing or deleting a database, cache or bucket.
    DataLoss,
    /// Delete-before-create of something serving traffic.
    Downtime,
}

/// One side of an attribute diff, safe to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum DiffValue {
    /// Not set.
    Absent,
    /// A known, non-secret value.
    Known(Json),
    /// Known after apply.
    Unknown,
    /// A secret (never shown).
    Sensitive,
}

impl DiffValue {
    /// The safe representation of a value.
    pub fn of(value: &Value) -> Self {
        if value.is_null() {
            DiffValue::Absent
        } else if value.has_sensitive() {
            DiffValue::Sensitive
        } else if value.has_unknown() {
            DiffValue::Unknown
        } else {
            DiffValue::Known(value.to_plain_json())
        }
    }
}

/// A change to one attribute (nested tables diffed per key: `tags.Name`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeDiff {
    /// Attribute path.
    pub path: String,
    /// Value before.
    pub before: DiffValue,
    /// Value after.
    pub after: DiffValue,
    /// This attribute's change forces a replacement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// The recorded resource as refreshed during planning: what apply starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorRecord {
    /// Cloud id.
    pub id: String,
    /// Attributes (persisted form: sensitive leaves redacted).
    pub attributes: Map<String, Json>,
    /// True when refresh found it differs from what state recorded (apply records it).
    #[serde(default)]
    pub refreshed: bool,
}

/// The plan for one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// Address.
    pub address: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Provider name.
    pub provider: String,
    /// The action (on the wire: `action` and, for replacements, `replace_order`).
    #[serde(flatten)]
    pub action: Action,
    /// Why (e.g. "`engine_version` forces replacement", "not in the configuration").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why, as a stable machine code (`replace-forced`, `delete-deposed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ActionReason>,
    /// The change is about a deposed object of the address (its key), not its current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// Attributes that force the replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<String>,
    /// Attribute-level diffs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<AttributeDiff>,
    /// Addresses it depends on (its edges in the apply graph).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Risk tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// Set when `prevent_destroy` (its own or a dependency's) stops this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// The refreshed record apply starts from (absent for creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<PriorRecord>,
    /// Recovered after an interrupted apply (adopted from the cloud by its creation token).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
    /// The recorded address this one was moved from (`[[moved]]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// The configuration's `lifecycle.prevent_destroy`, recorded with the resource by apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
}

impl ResourceChange {
    /// A change of `action` with no reason, diffs, dependencies, risk, block or prior record;
    /// fill in the rest with struct update syntax.
    pub fn new(address: &str, type_name: &str, provider: &str, action: Action) -> Self {
        ResourceChange {
            address: address.to_string(),
            type_name: type_name.to_string(),
            provider: provider.to_string(),
            action,
            reason: None,
            reason_code: None,
            deposed: None,
            forced_by: Vec::new(),
            diffs: Vec::new(),
            dependencies: Vec::new(),
            risk: None,
            blocked: None,
            prior: None,
            recovered: false,
            moved_from: None,
            prevent_destroy: false,
        }
    }
}

/// A change made outside Plinth, found by refresh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Address.
    pub address: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// True when the resource is gone.
    pub deleted: bool,
    /// Attribute differences, recorded → live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<AttributeDiff>,
}

/// A stack output's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    /// Output name.
    pub name: String,
    /// Before.
    pub before: DiffValue,
    /// After.
    pub after: DiffValue,
}

/// A whole plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The Plinth version that made it.
    pub plinth_version: String,
    /// Stack name.
    pub stack: String,
    /// Environment.
    pub environment: String,
    /// Hash of the stack's files.
    pub config_hash: String,
    /// Lineage of the state planned against (None: no state yet).
    pub state_lineage: Option<String>,
    /// Serial of the state planned against (None: no state yet).
    pub state_serial: Option<u64>,
    /// A destroy plan.
    #[serde(default)]
    pub destroy: bool,
    /// A refresh-only (drift) plan.
    #[serde(default)]
    pub refresh_only: bool,
    /// Per-resource changes in dependency order (no-ops included).
    pub changes: Vec<ResourceChange>,
    /// Changes made outside Plinth.
    #[serde(default)]
    pub drift: Vec<Drift>,
    /// Output changes.
    #[serde(default)]
    pub outputs: Vec<OutputChange>,
    /// Things the reader should know (unresolved secrets, client-side diff only, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The data sources read (`[data.TYPE.NAME]`): apply evaluates references to them with
    /// these values, so it does what the plan showed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<super::data::DataRead>,
    /// Recorded addresses renamed by `[[moved]]` or forgotten by `[[removed]]` (made in state
    /// before any provider call).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<super::moves::StateMove>,
    /// The policy gate's results (None: the stack has no `policies/` directory, or a
    /// refresh-only plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::PolicyReport>,
}

/// Counts per action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates (replacements count here too).
    pub add: usize,
    /// In-place updates.
    pub change: usize,
    /// Deletes (replacements count here too).
    pub destroy: usize,
    /// Replacements.
    pub replace: usize,
    /// Blocked by prevent_destroy.
    pub blocked: usize,
}

impl Plan {
    /// An empty plan of `stack` / `environment` by this version of Plinth, against no state;
    /// fill in the rest with struct update syntax.
    pub fn new(stack: &str, environment: &str) -> Self {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            plinth_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: stack.to_string(),
            environment: environment.to_string(),
            config_hash: String::new(),
            state_lineage: None,
            state_serial: None,
            destroy: false,
            refresh_only: false,
            changes: Vec::new(),
            drift: Vec::new(),
            outputs: Vec::new(),
            warnings: Vec::new(),
            data: Vec::new(),
            moved: Vec::new(),
            policy: None,
        }
    }

    /// Counts like Terraform's "Plan: 1 to add, 2 to change, 0 to destroy".
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for change in &self.changes {
            if change.blocked.is_some() {
                s.blocked += 1;
                continue;
            }
            match change.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace { .. } => {
                    s.add += 1;
                    s.destroy += 1;
                    s.replace += 1;
                }
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// True when applying would change something (resources or outputs).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
            || !self.outputs.is_empty()
            || !self.moved.is_empty()
    }

    /// True when applying would change the state even without a provider call: a refreshed
    /// record to keep, or the record of an object already gone to remove.
    pub fn updates_state(&self) -> bool {
        self.changes.iter().any(|c| {
            c.action == Action::NoOp
                && (c.prior.as_ref().is_some_and(|p| p.refreshed)
                    || c.reason_code == Some(ActionReason::ForgetGone))
        })
    }

    /// Records (current or deposed) that are gone and will be removed from state.
    pub fn forgets(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes
            .iter()
            .filter(|c| c.reason_code == Some(ActionReason::ForgetGone))
    }

    /// True when the plan cannot be applied in full (prevent_destroy).
    pub fn has_blocked(&self) -> bool {
        self.changes.iter().any(|c| c.blocked.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_keep_the_two_field_wire_format() {
        let cbd = ResourceChange::new("a.lb", "sim_resource", "sim", Action::REPLACE_CBD);
        let json = serde_json::to_value(&cbd).unwrap();
        assert_eq!(json["action"], "replace");
        assert_eq!(json["replace_order"], "create-then-delete");
        let back: ResourceChange = serde_json::from_value(json).unwrap();
        assert_eq!(back.action, Action::REPLACE_CBD);

        let update = serde_json::to_value(ResourceChange::new("a.b", "t", "p", Action::Update));
        let update = update.unwrap();
        assert_eq!(update["action"], "update");
        assert!(update.get("replace_order").is_none());
    }

    #[test]
    fn a_replacement_without_an_order_reads_as_delete_then_create() {
        let mut json =
            serde_json::to_value(ResourceChange::new("a.b", "t", "p", Action::REPLACE)).unwrap();
        json.as_object_mut().unwrap().remove("replace_order");
        let back: ResourceChange = serde_json::from_value(json).unwrap();
        assert_eq!(back.action, Action::REPLACE);
        assert_eq!(back.action.symbol(), "-/+");
        assert_eq!(Action::REPLACE_CBD.symbol(), "+/-");
        assert_eq!(Action::REPLACE_CBD.kind(), ActionKind::Replace);
    }
}
