//! The planner: refresh → evaluate desired values in dependency order → diff desired vs
//! live → an action per resource with its reason. The engine, not the provider, decides.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::Path;
use std::sync::Arc;

use plinth_provider::{
    object_from_json, object_to_persisted_json, CallContext, NoProgress, Object, Resource, Schema,
    Value,
};
use plinth_state::{ResourceStatus, StateDocument};

use super::decide::{decide, Current, Inputs};
use super::diff::{
    attribute_diffs, create_only_changes, creation_diffs, left_alone_note, planned_after_create,
    planned_after_update,
};
use super::model::*;
use super::refresh::{refresh, Refresh, RefreshError, Refreshed};
use crate::config::{ResourceConfig, Stack};
use crate::eval::{coerce, eval, PlannedScope, Scope};
use crate::graph::DependencyGraph;
use crate::registry::Registry;
use crate::secrets::Secrets;

/// Knobs of a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Read live resources first (default true; `--refresh=false` turns it off).
    pub skip_refresh: bool,
    /// Plan the destruction of everything in state.
    pub destroy: bool,
    /// Report drift only; propose no config changes.
    pub refresh_only: bool,
    /// `--target ADDR`: only these (and what they depend on).
    pub targets: Vec<String>,
    /// `--replace ADDR`: force these to be replaced.
    pub replace: Vec<String>,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Refresh failed.
    #[error("refreshing {}: {}", .0.addresses.join(", "), .0.error)]
    Refresh(RefreshError),
    /// A provider failed during preflight or plan refinement.
    #[error("{context}: {error}")]
    Provider {
        /// What was being done.
        context: String,
        /// The provider's error.
        error: plinth_provider::ProviderError,
    },
    /// `--target` or `--replace` names nothing.
    #[error("{0}")]
    Usage(String),
}

/// Everything the planner needs.
pub struct Planner<'a> {
    /// The stack.
    pub stack: &'a Stack,
    /// Providers.
    pub registry: &'a Registry,
    /// The dependency graph of the stack.
    pub graph: &'a DependencyGraph,
    /// Secrets of this run.
    pub secrets: &'a Secrets,
    /// Working directory for providers (next to the state).
    pub work_dir: &'a Path,
}

/// Binds a plan to the stack's files and variable values: a saved plan applies only when
/// both are unchanged.
pub fn fingerprint(stack: &Stack) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(stack.config_hash.as_bytes());
    for (name, value) in &stack.variables {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.to_plain_json().to_string().as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// Evaluates a resource's desired inputs: expressions resolved, types coerced, schema
/// sensitivity applied.
pub fn desired_inputs(resource: &ResourceConfig, schema: &Schema, scope: &dyn Scope) -> Object {
    let mut desired = Object::new();
    for (name, expr) in &resource.attributes {
        let mut value = eval(expr, scope);
        if let Some(attribute) = schema.get(name) {
            value = coerce(value, &attribute.value_type);
            if attribute.sensitive && !value.is_null() {
                value = value.sensitive();
            }
        }
        desired.insert(name.clone(), value);
    }
    desired
}

/// What the planner knows about one configured address while it plans it.
struct Planned<'p> {
    address: &'p str,
    resource: &'p ResourceConfig,
    schema: &'p Schema,
    live: Option<Refreshed>,
}

impl Planner<'_> {
    /// Makes the plan: refresh, then the changes of configured addresses in dependency order,
    /// of recorded addresses gone from the configuration, and of deposed objects; then the
    /// `prevent_destroy` blocks and the outputs.
    pub async fn plan(
        &self,
        state: Option<&StateDocument>,
        options: &PlanOptions,
    ) -> Result<Plan, PlanError> {
        let empty = StateDocument::new(env!("CARGO_PKG_VERSION"));
        let recorded = state.unwrap_or(&empty);
        let mut warnings = self.unresolved_secrets();
        // `[[moved]]` / `[[removed]]`: the plan sees the state with the moves made.
        let (moved, notes) =
            super::moves::planned_moves(recorded, &self.stack.moved, &self.stack.removed);
        warnings.extend(notes);
        let moved_state;
        let doc = if moved.is_empty() {
            recorded
        } else {
            moved_state = super::moves::moved_document(recorded, &moved);
            &moved_state
        };
        self.preflight(doc, &mut warnings).await?;
        let refreshed = refresh(
            doc,
            self.secrets,
            self.stack,
            self.registry,
            self.work_dir,
            !options.skip_refresh,
            &mut warnings,
        )
        .await
        .map_err(PlanError::Refresh)?;
        let Refresh {
            resources: mut live,
            deposed,
        } = refreshed;
        let selected = self.selected(doc, options)?;
        let drift = self.drift(doc, &live);

        let mut planned: HashMap<String, Object> =
            HashMap::with_capacity(self.stack.resources.len() + self.stack.data.len());
        // Data sources are read on every plan that evaluates the configuration.
        let data = if options.destroy || options.refresh_only || self.stack.data.is_empty() {
            Vec::new()
        } else {
            super::data::read_all(
                self.stack,
                self.registry,
                self.secrets,
                self.work_dir,
                &mut planned,
                &mut warnings,
            )
            .await?
        };
        let mut changes = Vec::with_capacity(self.stack.resources.len() + doc.resources.len());
        self.configured_changes(
            doc,
            &mut live,
            &selected,
            options,
            &mut planned,
            &mut changes,
        )
        .await
        .map(|notes| warnings.extend(notes))?;
        self.unconfigured_changes(doc, &live, &selected, options, &mut changes);
        self.deposed_changes(doc, &deposed, &selected, options, &mut changes);
        propagate_blocks(&mut changes);
        for change in changes.iter_mut().filter(|c| c.deposed.is_none()) {
            change.moved_from = moved
                .iter()
                .find(|m| m.to.as_deref() == Some(change.address.as_str()))
                .map(|m| m.from.clone());
        }

        let outputs = if options.destroy {
            Vec::new()
        } else {
            self.output_changes(doc, &planned)
        };
        Ok(Plan {
            format_version: PLAN_FORMAT_VERSION,
            plinth_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: self.stack.name.clone(),
            environment: self.stack.environment.clone(),
            config_hash: fingerprint(self.stack),
            state_lineage: state.map(|s| s.lineage.clone()),
            state_serial: state.map(|s| s.serial),
            destroy: options.destroy,
            refresh_only: options.refresh_only,
            changes,
            drift,
            outputs,
            warnings,
            data,
            moved,
            policy: None,
        })
    }

    /// Warnings for secrets that cannot be resolved now.
    fn unresolved_secrets(&self) -> Vec<String> {
        self.secrets
            .unresolved()
            .map(|(name, reason)| {
                format!("secret `{name}` is unresolved ({reason}); `apply` will need it")
            })
            .collect()
    }

    /// Changes made outside Plinth, from refresh, for everything recorded.
    fn drift(&self, doc: &StateDocument, live: &HashMap<String, Refreshed>) -> Vec<Drift> {
        let salt = doc.salt.as_str();
        let mut drift = Vec::new();
        for (address, record) in &doc.resources {
            let (Some(result), Some(schema)) =
                (live.get(address), self.registry.schema(&record.type_name))
            else {
                continue;
            };
            match result {
                Refreshed::Gone if record.id.is_some() => drift.push(Drift {
                    address: address.clone(),
                    type_name: record.type_name.clone(),
                    deleted: true,
                    diffs: Vec::new(),
                }),
                // Equal to the record: no attribute can differ.
                Refreshed::Live {
                    unchanged: true, ..
                } => {}
                Refreshed::Live { attributes, .. } => {
                    let recorded = object_from_json(&record.attributes);
                    let diffs = attribute_diffs(schema, &recorded, attributes, salt, &[], false);
                    if !diffs.is_empty() {
                        drift.push(Drift {
                            address: address.clone(),
                            type_name: record.type_name.clone(),
                            deleted: false,
                            diffs,
                        });
                    }
                }
                _ => {}
            }
        }
        drift
    }

    /// The change of every configured address, in dependency order, so references see the
    /// planned values of what they depend on.
    async fn configured_changes(
        &self,
        doc: &StateDocument,
        live: &mut HashMap<String, Refreshed>,
        selected: &HashSet<String>,
        options: &PlanOptions,
        planned: &mut HashMap<String, Object>,
        changes: &mut Vec<ResourceChange>,
    ) -> Result<Vec<String>, PlanError> {
        let mut notes = Vec::new();
        let warnings = &mut notes;
        let config_by_address: HashMap<String, &ResourceConfig> = self
            .stack
            .resources
            .iter()
            .map(|r| (r.address.to_string(), r))
            .collect();
        for address in self.graph.dependency_order() {
            let Some(resource) = config_by_address.get(&address) else {
                continue;
            };
            let Some(schema) = self.registry.schema(&resource.address.type_name) else {
                continue;
            };
            // Destroy plans read the refresh results again for the deletions; otherwise each
            // is used once.
            let found = if options.destroy {
                live.get(&address).cloned()
            } else {
                live.remove(&address)
            };
            let item = Planned {
                address: &address,
                resource,
                schema,
                live: found,
            };
            if options.destroy || !selected.contains(&address) {
                // Not changed by this plan: dependents see what exists.
                if let Some((_, prior)) = existing(item.live.as_ref()) {
                    planned.insert(address.clone(), prior.clone());
                }
                continue;
            }
            let (change, after) = self
                .configured_change(doc, item, options, planned, warnings)
                .await?;
            if let Some(after) = after {
                planned.insert(address.clone(), after);
            }
            if let Some(change) = change {
                changes.push(change);
            }
        }
        Ok(notes)
    }

    /// The change of one configured address and its planned values.
    async fn configured_change(
        &self,
        doc: &StateDocument,
        item: Planned<'_>,
        options: &PlanOptions,
        planned: &HashMap<String, Object>,
        warnings: &mut Vec<String>,
    ) -> Result<(Option<ResourceChange>, Option<Object>), PlanError> {
        let Planned {
            address,
            resource,
            schema,
            live,
        } = item;
        let salt = doc.salt.as_str();
        let record = doc.resources.get(address);
        let provider = self
            .registry
            .provider_name(&resource.address.type_name)
            .unwrap_or("unknown")
            .to_string();
        let mut change = ResourceChange {
            dependencies: self.graph.dependencies(address),
            recovered: matches!(live, Some(Refreshed::Recovered { .. })),
            ..ResourceChange::new(
                address,
                &resource.address.type_name,
                &provider,
                Action::NoOp,
            )
        };
        if let Some(Refreshed::Undecided(why)) = &live {
            change.blocked = Some(format!("{address}: {why}"));
            return Ok((Some(change), None));
        }
        let gone = matches!(live, Some(Refreshed::Gone));
        // Moved out, not cloned: a 100k-resource no-op plan copied every object here.
        let mut prior = live.and_then(into_existing);
        change.prevent_destroy = resource.lifecycle.prevent_destroy;
        if let Some((id, attributes)) = &prior {
            let recorded = record.map(|r| &r.attributes);
            let persisted = object_to_persisted_json(attributes, salt);
            // A protection turned on or off is recorded even when nothing else changes.
            let protection_changed =
                record.is_some_and(|r| r.prevent_destroy != resource.lifecycle.prevent_destroy);
            change.prior = Some(PriorRecord {
                id: id.clone(),
                refreshed: recorded != Some(&persisted) || change.recovered || protection_changed,
                attributes: persisted,
            });
        }
        let scope = PlannedScope {
            planned,
            secrets: self.secrets,
        };
        let desired = desired_inputs(resource, schema, &scope);
        let current = match (gone, &prior) {
            (_, Some(_)) => Current::Exists {
                tainted: record.is_some_and(|r| r.status == ResourceStatus::Tainted),
            },
            (true, None) => Current::Gone,
            _ => Current::Absent,
        };
        if let (Some((_, prior)), false) = (&prior, options.refresh_only) {
            warnings.extend(
                create_only_changes(schema, prior, &desired, salt)
                    .into_iter()
                    .map(|name| left_alone_note(address, &name)),
            );
            let mut diffs = attribute_diffs(
                schema,
                prior,
                &desired,
                salt,
                &resource.lifecycle.ignore_changes,
                true,
            );
            if !diffs.is_empty() {
                self.provider_replacement_rules(
                    &resource.address.type_name,
                    prior,
                    &desired,
                    &mut diffs,
                )
                .await?;
            }
            change.forced_by = diffs
                .iter()
                .filter(|d| d.forces_replacement)
                .map(|d| d.path.clone())
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect();
            change.diffs = diffs;
        }
        let decision = decide(Inputs {
            current,
            in_config: true,
            destroy: false,
            refresh_only: options.refresh_only,
            replace_requested: options.replace.iter().any(|r| r == address),
            forced: !change.forced_by.is_empty(),
            changed: !change.diffs.is_empty(),
            create_before_destroy: resource.lifecycle.create_before_destroy,
        });
        change.action = decision.action;
        change.reason_code = decision.reason;
        change.reason = decision.reason.and_then(|r| r.text(&change.forced_by));
        if !change.action.is_replace() {
            change.forced_by.clear();
        }
        let mut after = match (change.action, &mut prior) {
            (Action::Create | Action::Replace { .. }, _) => planned_after_create(schema, &desired),
            (Action::Update, Some((_, prior))) => planned_after_update(schema, prior, &desired),
            // Unchanged (or going away): the prior object is the planned one, and nothing
            // below needs it any more.
            (_, Some((_, prior))) => std::mem::take(prior),
            (_, None) => {
                // Refresh-only, nothing there: nothing to plan or show.
                return Ok((None, None));
            }
        };
        if options.refresh_only {
            return Ok((Some(change), Some(after)));
        }
        if matches!(
            change.action,
            Action::Create | Action::Update | Action::Replace { .. }
        ) {
            let prior = prior.as_ref().map(|(_, p)| p);
            self.refine(&change, prior, &mut after).await?;
            crate::secrets::mark_derived(&desired, &mut after);
            if change.action == Action::Create {
                change.diffs = creation_diffs(schema, &after);
            }
        }
        change.risk = risk(schema, change.action);
        if let (Action::Update, None, Some((_, prior))) = (change.action, change.risk, &prior) {
            if let Some(why) = self
                .update_interruption(&change.type_name, prior, &desired, &change.diffs)
                .await?
            {
                change.risk = Some(Risk::Downtime);
                change.reason = Some(why);
            }
        }
        if change.action.is_replace() && resource.lifecycle.prevent_destroy {
            change.blocked = Some(prevent_destroy_message(address, change.reason.as_deref()));
        }
        Ok((Some(change), Some(after)))
    }

    /// Provider preflight checks (cluster version, ...), only for providers already in use
    /// or with preconditions declared.
    async fn preflight(
        &self,
        doc: &StateDocument,
        warnings: &mut Vec<String>,
    ) -> Result<(), PlanError> {
        let types = self
            .stack
            .resources
            .iter()
            .map(|r| r.address.type_name.as_str())
            .chain(doc.resources.values().map(|r| r.type_name.as_str()));
        for name in self.registry.provider_names(types) {
            let Some(conditions) = self.stack.preconditions.get(name) else {
                continue;
            };
            let Some(type_name) = self
                .stack
                .resources
                .iter()
                .map(|r| r.address.type_name.as_str())
                .find(|t| self.registry.provider_name(t) == Some(name))
            else {
                continue;
            };
            let provider = self
                .registry
                .provider_for(type_name, self.stack, self.work_dir)
                .await
                .map_err(|error| PlanError::Provider {
                    context: format!("configuring provider `{name}`"),
                    error,
                })?;
            let notes =
                provider
                    .preflight(conditions)
                    .await
                    .map_err(|error| PlanError::Provider {
                        context: format!("provider `{name}` preconditions"),
                        error,
                    })?;
            warnings.extend(notes.into_iter().map(|n| format!("{name}: {n}")));
        }
        Ok(())
    }

    /// The resource implementation of `type_name` (its provider configured on first use).
    async fn resource_of(&self, type_name: &str) -> Result<Arc<dyn Resource>, PlanError> {
        self.registry
            .resource_for(type_name, self.stack, self.work_dir)
            .await
            .map_err(|error| PlanError::Provider {
                context: format!("configuring the provider of `{type_name}`"),
                error,
            })
    }

    /// Marks diffs the provider says cannot be made in place (e.g. an engine downgrade).
    async fn provider_replacement_rules(
        &self,
        type_name: &str,
        prior: &Object,
        desired: &Object,
        diffs: &mut [AttributeDiff],
    ) -> Result<(), PlanError> {
        let resource = self.resource_of(type_name).await?;
        let forced = resource.replacement_required(prior, &revealed(desired));
        for diff in diffs.iter_mut() {
            if forced.iter().any(|f| f == top_attribute(&diff.path)) {
                diff.forces_replacement = true;
            }
        }
        Ok(())
    }

    /// How the provider interrupts the resource to update it in place (a reboot, a
    /// failover), if it does.
    async fn update_interruption(
        &self,
        type_name: &str,
        prior: &Object,
        desired: &Object,
        diffs: &[AttributeDiff],
    ) -> Result<Option<String>, PlanError> {
        let resource = self.resource_of(type_name).await?;
        let changed: BTreeSet<&str> = diffs.iter().map(|d| top_attribute(&d.path)).collect();
        let changed: Vec<String> = changed.into_iter().map(str::to_string).collect();
        Ok(resource.update_interruption(prior, &revealed(desired), &changed))
    }

    async fn refine(
        &self,
        change: &ResourceChange,
        prior: Option<&Object>,
        after: &mut Object,
    ) -> Result<(), PlanError> {
        let resource = self
            .registry
            .resource_for(&change.type_name, self.stack, self.work_dir)
            .await
            .map_err(|error| PlanError::Provider {
                context: format!("configuring the provider of {}", change.address),
                error,
            })?;
        let ctx = CallContext {
            address: &change.address,
            token: "",
            progress: &NoProgress,
            timeout: None,
        };
        let prior = if change.action == Action::Update {
            prior
        } else {
            None
        };
        resource
            .refine_plan(&ctx, prior, after)
            .await
            .map_err(|error| PlanError::Provider {
                context: format!("planning {}", change.address),
                error,
            })
    }

    /// Addresses in scope: all, or the targets plus their dependencies.
    fn selected(
        &self,
        doc: &StateDocument,
        options: &PlanOptions,
    ) -> Result<HashSet<String>, PlanError> {
        let all: HashSet<String> = self
            .stack
            .resources
            .iter()
            .map(|r| r.address.to_string())
            .chain(doc.resources.keys().cloned())
            .collect();
        for address in &options.replace {
            if !all.contains(address) {
                return Err(PlanError::Usage(format!(
                    "--replace `{address}`: no such resource in the stack or state"
                )));
            }
        }
        if options.targets.is_empty() {
            return Ok(all);
        }
        let configured: HashSet<String> = self
            .stack
            .resources
            .iter()
            .map(|r| r.address.to_string())
            .collect();
        let mut selected = HashSet::new();
        let mut stack: Vec<String> = Vec::new();
        for target in &options.targets {
            let matches: Vec<&String> = all
                .iter()
                .filter(|a| crate::config::selects(target, a))
                .collect();
            if matches.is_empty() {
                return Err(PlanError::Usage(format!(
                    "--target `{target}`: no such resource in the stack or state"
                )));
            }
            stack.extend(matches.into_iter().cloned());
        }
        while let Some(address) = stack.pop() {
            if selected.insert(address.clone()) {
                let deps = if configured.contains(&address) {
                    self.graph.dependencies(&address)
                } else {
                    doc.resources
                        .get(&address)
                        .map(|r| r.dependencies.clone())
                        .unwrap_or_default()
                };
                stack.extend(deps);
            }
        }
        Ok(selected)
    }

    fn output_changes(
        &self,
        doc: &StateDocument,
        planned: &HashMap<String, Object>,
    ) -> Vec<OutputChange> {
        let scope = PlannedScope {
            planned,
            secrets: self.secrets,
        };
        let mut out = Vec::new();
        let mut names: BTreeSet<&String> = self.stack.outputs.keys().collect();
        names.extend(doc.outputs.keys());
        for name in names {
            let before = doc
                .outputs
                .get(name)
                .map(Value::from_json)
                .unwrap_or(Value::Null);
            let after = match self.stack.outputs.get(name) {
                Some(output) => {
                    let value = eval(&output.value, &scope);
                    if output.sensitive {
                        value.sensitive()
                    } else {
                        value
                    }
                }
                None => Value::Null,
            };
            if after.has_unknown() || !after.same_as(&before, &doc.salt) {
                out.push(OutputChange {
                    name: name.clone(),
                    before: DiffValue::of(&before),
                    after: DiffValue::of(&after),
                });
            }
        }
        out
    }
}

/// The id and attributes of the object refresh found (or recorded, refresh off).
pub(super) fn existing(live: Option<&Refreshed>) -> Option<(&str, &Object)> {
    match live {
        Some(Refreshed::Live { id, attributes, .. })
        | Some(Refreshed::Recovered { id, attributes })
        | Some(Refreshed::Recorded { id, attributes }) => Some((id, attributes)),
        _ => None,
    }
}

/// The desired inputs with secrets revealed (what the provider's pure hooks compare).
fn revealed(desired: &Object) -> Object {
    desired
        .iter()
        .map(|(k, v)| (k.clone(), v.reveal()))
        .collect()
}

/// The attribute a diff path is under (`tags.Name`, `ingress[0].from_port` → `ingress`).
fn top_attribute(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// The id and attributes of what exists, taken out of the refresh result.
fn into_existing(live: Refreshed) -> Option<(String, Object)> {
    match live {
        Refreshed::Live { id, attributes, .. }
        | Refreshed::Recovered { id, attributes }
        | Refreshed::Recorded { id, attributes } => Some((id, attributes)),
        _ => None,
    }
}

/// Why a recorded resource whose block is gone may not be destroyed: it was protected when
/// last applied.
pub(super) fn recorded_protection_message(address: &str) -> String {
    format!(
        "`{address}` was applied with `lifecycle.prevent_destroy = true` and its block is gone, so the \
         protection holds: put the block back with `prevent_destroy = false` and apply, or forget it \
         with `[[removed]] from = \"{address}\"` and `destroy = false`"
    )
}

pub(super) fn prevent_destroy_message(address: &str, reason: Option<&str>) -> String {
    format!(
        "`{address}` has `lifecycle.prevent_destroy = true`, but this plan would destroy it{}; \
         change the configuration so it is kept, or remove `prevent_destroy` first",
        reason.map(|r| format!(" ({r})")).unwrap_or_default()
    )
}

/// Marks every change depending (transitively) on a blocked one as blocked too.
fn propagate_blocks(changes: &mut [ResourceChange]) {
    let mut blocked: HashMap<String, String> = changes
        .iter()
        .filter(|c| c.blocked.is_some())
        .map(|c| (c.address.clone(), c.address.clone()))
        .collect();
    if blocked.is_empty() {
        return;
    }
    loop {
        let mut grew = false;
        for change in changes.iter_mut() {
            if change.blocked.is_some() || change.action == Action::NoOp {
                continue;
            }
            if let Some(root) = change
                .dependencies
                .iter()
                .find_map(|d| blocked.get(d).cloned())
            {
                change.blocked = Some(format!(
                    "depends on `{root}`, whose destruction `prevent_destroy` blocks"
                ));
                blocked.insert(change.address.clone(), root);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
}

pub(super) fn risk(schema: &Schema, action: Action) -> Option<Risk> {
    match action {
        Action::Delete | Action::Replace { .. } if schema.stateful => Some(Risk::DataLoss),
        Action::Delete
        | Action::Replace {
            order: ReplaceOrder::DeleteThenCreate,
        } if schema.serves_traffic => Some(Risk::Downtime),
        _ => None,
    }
}

/// Planned values by address, for callers that need to evaluate outputs after apply.
pub type PlannedValues = BTreeMap<String, Object>;
