//! The action decision, as one pure function: what the plan does with one address, and
//! why, from what state and refresh say about its object, what the configuration wants, and
//! what the user asked for. Like Terraform's `getAction`, everything the planner decides
//! about create/update/replace/delete goes through [`decide`], so the whole matrix is unit
//! tested here.

use serde::{Deserialize, Serialize};

use super::model::{Action, ReplaceOrder};

/// What state and refresh know about the object at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Current {
    /// No object: never created, or its create never happened.
    Absent,
    /// Recorded, but refresh found it deleted outside Plinth.
    Gone,
    /// It exists (live, recovered, or recorded when refresh is off).
    Exists {
        /// A failed create or update left it tainted.
        tainted: bool,
    },
}

/// Everything the decision depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inputs {
    /// The object.
    pub current: Current,
    /// The address is in the configuration.
    pub in_config: bool,
    /// A destroy plan.
    pub destroy: bool,
    /// A refresh-only plan (no configuration changes).
    pub refresh_only: bool,
    /// `--replace` names the address.
    pub replace_requested: bool,
    /// An attribute change cannot be made in place (schema `force_new` or the provider).
    pub forced: bool,
    /// Some attribute differs (ignoring `ignore_changes`).
    pub changed: bool,
    /// `lifecycle.create_before_destroy`.
    pub create_before_destroy: bool,
}

/// Why an address gets its action; the code is stable in plan JSON (`reason_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionReason {
    /// In the configuration, not in state: created.
    New,
    /// Recorded, but deleted outside Plinth: created again.
    DeletedOutside,
    /// Some attribute differs: updated in place.
    AttributesChanged,
    /// Tainted by a failed apply: replaced.
    ReplaceTainted,
    /// `--replace` asked for it.
    ReplaceRequested,
    /// An attribute change cannot be made in place.
    ReplaceForced,
    /// In state but no longer in the configuration: destroyed.
    DeleteNotInConfig,
    /// A destroy plan.
    DeleteDestroy,
    /// An object left behind by a replacement (deposed): destroyed.
    DeleteDeposed,
    /// Recorded (or deposed) but already gone: the record is removed, nothing is called.
    ForgetGone,
}

impl ActionReason {
    /// The stable machine code (`new`, `replace-forced`, ...).
    pub fn code(self) -> &'static str {
        match self {
            ActionReason::New => "new",
            ActionReason::DeletedOutside => "deleted-outside",
            ActionReason::AttributesChanged => "attributes-changed",
            ActionReason::ReplaceTainted => "replace-tainted",
            ActionReason::ReplaceRequested => "replace-requested",
            ActionReason::ReplaceForced => "replace-forced",
            ActionReason::DeleteNotInConfig => "delete-not-in-config",
            ActionReason::DeleteDestroy => "delete-destroy",
            ActionReason::DeleteDeposed => "delete-deposed",
            ActionReason::ForgetGone => "forget-gone",
        }
    }

    /// The reason as the plan prints it; `forced_by` names the attributes of a forced
    /// replacement. `None` where the action says it all (a plain create or update).
    pub fn text(self, forced_by: &[String]) -> Option<String> {
        Some(match self {
            ActionReason::New | ActionReason::AttributesChanged => return None,
            ActionReason::DeletedOutside => "deleted outside Plinth".into(),
            ActionReason::ReplaceTainted => "tainted by a failed apply".into(),
            ActionReason::ReplaceRequested => "requested with --replace".into(),
            ActionReason::ReplaceForced => {
                let names: Vec<String> = forced_by.iter().map(|f| format!("`{f}`")).collect();
                format!("{} forces replacement", names.join(", "))
            }
            ActionReason::DeleteNotInConfig => "not in the configuration".into(),
            ActionReason::DeleteDestroy => "destroy requested".into(),
            ActionReason::DeleteDeposed => "deposed by an earlier replacement".into(),
            ActionReason::ForgetGone => "already gone; its record will be removed".into(),
        })
    }
}

/// The decision for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// What to do (a replacement carries its order).
    pub action: Action,
    /// Why (`None` for a no-op).
    pub reason: Option<ActionReason>,
}

impl Decision {
    const fn of(action: Action, reason: ActionReason) -> Self {
        Decision {
            action,
            reason: Some(reason),
        }
    }

    const NOOP: Decision = Decision {
        action: Action::NoOp,
        reason: None,
    };
}

/// Decides the action for one address (see the module documentation).
pub fn decide(inputs: Inputs) -> Decision {
    let wanted = inputs.in_config && !inputs.destroy;
    match inputs.current {
        // Nothing to read, nothing recorded as existing.
        Current::Absent if !wanted || inputs.refresh_only => Decision::NOOP,
        Current::Absent => Decision::of(Action::Create, ActionReason::New),
        // Gone: a refresh-only plan reports the drift; otherwise the record goes, and the
        // configuration (if it still wants it) creates it again.
        Current::Gone if inputs.refresh_only => Decision::NOOP,
        Current::Gone if !wanted => Decision::of(Action::NoOp, ActionReason::ForgetGone),
        Current::Gone => Decision::of(Action::Create, ActionReason::DeletedOutside),
        Current::Exists { .. } if inputs.refresh_only => Decision::NOOP,
        Current::Exists { .. } if !wanted => Decision::of(
            Action::Delete,
            if inputs.destroy {
                ActionReason::DeleteDestroy
            } else {
                ActionReason::DeleteNotInConfig
            },
        ),
        Current::Exists { tainted } => {
            let reason = if tainted {
                Some(ActionReason::ReplaceTainted)
            } else if inputs.replace_requested {
                Some(ActionReason::ReplaceRequested)
            } else if inputs.forced {
                Some(ActionReason::ReplaceForced)
            } else {
                None
            };
            match reason {
                Some(reason) => Decision::of(
                    Action::Replace {
                        order: if inputs.create_before_destroy {
                            ReplaceOrder::CreateThenDelete
                        } else {
                            ReplaceOrder::DeleteThenCreate
                        },
                    },
                    reason,
                ),
                None if inputs.changed => {
                    Decision::of(Action::Update, ActionReason::AttributesChanged)
                }
                None => Decision::NOOP,
            }
        }
    }
}

/// The decision for a deposed object: destroy it, or forget it when it is already gone
/// (never kept: it is not at its address any more). Refresh-only plans leave it.
pub fn decide_deposed(live: bool, refresh_only: bool) -> Decision {
    match (live, refresh_only) {
        (_, true) => Decision::NOOP,
        (true, false) => Decision::of(Action::Delete, ActionReason::DeleteDeposed),
        (false, false) => Decision::of(Action::NoOp, ActionReason::ForgetGone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Inputs = Inputs {
        current: Current::Exists { tainted: false },
        in_config: true,
        destroy: false,
        refresh_only: false,
        replace_requested: false,
        forced: false,
        changed: false,
        create_before_destroy: false,
    };

    fn action(inputs: Inputs) -> (Action, Option<&'static str>) {
        let d = decide(inputs);
        (d.action, d.reason.map(ActionReason::code))
    }

    #[test]
    fn absent_objects_are_created_only_when_wanted() {
        let absent = Inputs {
            current: Current::Absent,
            ..BASE
        };
        assert_eq!(action(absent), (Action::Create, Some("new")));
        for unwanted in [
            Inputs {
                in_config: false,
                ..absent
            },
            Inputs {
                destroy: true,
                ..absent
            },
            Inputs {
                refresh_only: true,
                ..absent
            },
        ] {
            assert_eq!(action(unwanted), (Action::NoOp, None), "{unwanted:?}");
        }
    }

    #[test]
    fn gone_objects_are_recreated_or_forgotten_never_deleted() {
        let gone = Inputs {
            current: Current::Gone,
            ..BASE
        };
        assert_eq!(action(gone), (Action::Create, Some("deleted-outside")));
        assert_eq!(
            action(Inputs {
                in_config: false,
                ..gone
            }),
            (Action::NoOp, Some("forget-gone"))
        );
        assert_eq!(
            action(Inputs {
                destroy: true,
                ..gone
            }),
            (Action::NoOp, Some("forget-gone"))
        );
        assert_eq!(
            action(Inputs {
                refresh_only: true,
                ..gone
            }),
            (Action::NoOp, None)
        );
    }

    #[test]
    fn existing_objects_are_deleted_when_unwanted() {
        assert_eq!(
            action(Inputs {
                in_config: false,
                changed: true,
                forced: true,
                ..BASE
            }),
            (Action::Delete, Some("delete-not-in-config"))
        );
        assert_eq!(
            action(Inputs {
                destroy: true,
                ..BASE
            }),
            (Action::Delete, Some("delete-destroy"))
        );
    }

    #[test]
    fn replacement_reasons_in_priority_order_and_both_orders() {
        let tainted = Inputs {
            current: Current::Exists { tainted: true },
            replace_requested: true,
            forced: true,
            changed: true,
            ..BASE
        };
        assert_eq!(action(tainted), (Action::REPLACE, Some("replace-tainted")));
        assert_eq!(
            action(Inputs {
                current: Current::Exists { tainted: false },
                ..tainted
            }),
            (Action::REPLACE, Some("replace-requested"))
        );
        assert_eq!(
            action(Inputs {
                forced: true,
                changed: true,
                create_before_destroy: true,
                ..BASE
            }),
            (Action::REPLACE_CBD, Some("replace-forced"))
        );
    }

    #[test]
    fn changes_are_updates_and_no_change_is_a_noop() {
        assert_eq!(
            action(Inputs {
                changed: true,
                ..BASE
            }),
            (Action::Update, Some("attributes-changed"))
        );
        assert_eq!(action(BASE), (Action::NoOp, None));
        // A refresh-only plan proposes nothing, whatever differs.
        assert_eq!(
            action(Inputs {
                refresh_only: true,
                changed: true,
                forced: true,
                current: Current::Exists { tainted: true },
                ..BASE
            }),
            (Action::NoOp, None)
        );
    }

    /// The whole matrix: every combination decides without panicking, and the invariants
    /// hold (no delete of something wanted, a replace always has an order, only existing
    /// objects are updated, replaced or deleted).
    #[test]
    fn whole_matrix_invariants() {
        let currents = [
            Current::Absent,
            Current::Gone,
            Current::Exists { tainted: false },
            Current::Exists { tainted: true },
        ];
        let mut seen = std::collections::BTreeSet::new();
        for current in currents {
            for bits in 0..(1u32 << 7) {
                let bit = |i: u32| bits & (1 << i) != 0;
                let inputs = Inputs {
                    current,
                    in_config: bit(0),
                    destroy: bit(1),
                    refresh_only: bit(2),
                    replace_requested: bit(3),
                    forced: bit(4),
                    changed: bit(5),
                    create_before_destroy: bit(6),
                };
                let d = decide(inputs);
                seen.insert(d.reason.map(ActionReason::code));
                let wanted = inputs.in_config && !inputs.destroy;
                let exists = matches!(current, Current::Exists { .. });
                assert_eq!(
                    d.action.is_create_before_destroy(),
                    d.action.is_replace() && inputs.create_before_destroy,
                    "{inputs:?}"
                );
                if matches!(
                    d.action,
                    Action::Update | Action::Replace { .. } | Action::Delete
                ) {
                    assert!(exists, "{inputs:?} → {d:?}");
                }
                if d.action == Action::Delete {
                    assert!(!wanted, "{inputs:?}");
                }
                if matches!(
                    d.action,
                    Action::Create | Action::Update | Action::Replace { .. }
                ) {
                    assert!(wanted && !inputs.refresh_only, "{inputs:?}");
                }
                if inputs.refresh_only {
                    assert_eq!(d, Decision::NOOP, "{inputs:?}");
                }
                if d.action == Action::NoOp {
                    assert!(
                        d.reason.is_none() || d.reason == Some(ActionReason::ForgetGone),
                        "{inputs:?}"
                    );
                }
            }
        }
        // Every reason but the deposed one is reachable from here.
        assert_eq!(seen.len(), 10, "{seen:?}");
        assert_eq!(
            decide_deposed(true, false).reason,
            Some(ActionReason::DeleteDeposed)
        );
        assert_eq!(
            decide_deposed(false, false).reason,
            Some(ActionReason::ForgetGone)
        );
        assert_eq!(decide_deposed(true, true), Decision::NOOP);
    }
}
