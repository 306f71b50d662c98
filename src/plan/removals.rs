//! The changes of what the configuration no longer holds: recorded addresses gone from it (or
//! everything, to destroy), and deposed objects left by earlier replacements. Each is
//! destroyed, or forgotten when refresh found it already gone.

use foldhash::{HashMap, HashSet};

use plinth_provider::object_to_persisted_json;
use plinth_state::StateDocument;

use super::decide::{decide, decide_deposed, Current, Inputs};
use super::model::*;
use super::planner::{
    existing, prevent_destroy_message, recorded_protection_message, risk, PlanOptions, Planner,
};
use super::refresh::{DeposedRefreshed, Refreshed};
use crate::config::ResourceConfig;

impl Planner<'_> {
    /// Recorded addresses gone from the configuration (or everything, to destroy): deleted,
    /// or forgotten when already gone.
    pub(super) fn unconfigured_changes(
        &self,
        doc: &StateDocument,
        live: &HashMap<String, Refreshed>,
        selected: &HashSet<String>,
        options: &PlanOptions,
        changes: &mut Vec<ResourceChange>,
    ) {
        let configured: HashMap<String, &ResourceConfig> = self
            .stack
            .resources
            .iter()
            .map(|r| (r.address.to_string(), r))
            .collect();
        for (address, record) in &doc.resources {
            let in_config = configured.contains_key(address);
            if (in_config && !options.destroy) || !selected.contains(address) {
                continue;
            }
            let found = live.get(address);
            if let Some(Refreshed::Undecided(why)) = found {
                changes.push(ResourceChange {
                    blocked: Some(format!("{address}: {why}")),
                    dependencies: record.dependencies.clone(),
                    ..ResourceChange::new(address, &record.type_name, "unknown", Action::NoOp)
                });
                continue;
            }
            let exists = existing(found);
            let current = match (&exists, found) {
                (Some(_), _) => Current::Exists { tainted: false },
                (None, Some(Refreshed::Gone)) => Current::Gone,
                // Never created: its record goes like that of a gone object.
                (None, _) => Current::Gone,
            };
            let decision = decide(Inputs {
                current,
                in_config,
                destroy: options.destroy,
                refresh_only: options.refresh_only,
                replace_requested: false,
                forced: false,
                changed: false,
                create_before_destroy: false,
            });
            if decision.reason.is_none() {
                continue;
            }
            let provider = self
                .registry
                .provider_name(&record.type_name)
                .unwrap_or("unknown");
            let reason = decision.reason.and_then(|r| r.text(&[]));
            let mut change = ResourceChange {
                reason_code: decision.reason,
                reason: reason.clone(),
                dependencies: if in_config {
                    self.graph.dependencies(address)
                } else {
                    record.dependencies.clone()
                },
                ..ResourceChange::new(address, &record.type_name, provider, decision.action)
            };
            if let Some((id, attributes)) = exists {
                let prevent = configured
                    .get(address)
                    .is_some_and(|r| r.lifecycle.prevent_destroy);
                change.risk = self
                    .registry
                    .schema(&record.type_name)
                    .and_then(|s| risk(s, Action::Delete));
                change.blocked = if prevent {
                    Some(prevent_destroy_message(address, reason.as_deref()))
                } else if !in_config && record.prevent_destroy {
                    Some(recorded_protection_message(address))
                } else {
                    None
                };
                change.prior = Some(PriorRecord {
                    id: id.to_string(),
                    attributes: object_to_persisted_json(attributes, &doc.salt),
                    refreshed: false,
                });
            }
            changes.push(change);
        }
    }

    /// Deposed objects: destroyed (after whatever replaced them is in place), or forgotten when
    /// already gone.
    pub(super) fn deposed_changes(
        &self,
        doc: &StateDocument,
        deposed: &HashMap<String, DeposedRefreshed>,
        selected: &HashSet<String>,
        options: &PlanOptions,
        changes: &mut Vec<ResourceChange>,
    ) {
        for object in doc.deposed.values() {
            if !selected.contains(&object.address) && !options.targets.is_empty() {
                continue;
            }
            let found = deposed.get(&object.key);
            let live = matches!(found, Some(DeposedRefreshed::Live(_)));
            let decision = decide_deposed(live, options.refresh_only);
            let Some(reason) = decision.reason else {
                continue;
            };
            let provider = self
                .registry
                .provider_name(&object.type_name)
                .unwrap_or("unknown");
            let mut change = ResourceChange {
                reason_code: Some(reason),
                reason: Some(match reason {
                    ActionReason::DeleteDeposed => format!("deposed: {}", object.reason),
                    other => other.text(&[]).unwrap_or_default(),
                }),
                deposed: Some(object.key.clone()),
                dependencies: object.dependencies.clone(),
                ..ResourceChange::new(
                    &object.address,
                    &object.type_name,
                    provider,
                    decision.action,
                )
            };
            if let Some(DeposedRefreshed::Live(attributes)) = found {
                change.risk = self
                    .registry
                    .schema(&object.type_name)
                    .and_then(|s| risk(s, Action::Delete));
                change.prior = Some(PriorRecord {
                    id: object.id.clone(),
                    attributes: object_to_persisted_json(attributes, &doc.salt),
                    refreshed: false,
                });
            }
            changes.push(change);
        }
    }
}
