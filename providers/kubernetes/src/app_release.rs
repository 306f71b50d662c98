//! `app_release`: the Helm-like release of one application, applied atomically.
//!
//! Each create/update renders the release ([`crate::render`]), applies it in order
//! ([`crate::rollout`]), prunes objects that left it, and records a new `revision` with a
//! `history` entry (at most [`MAX_HISTORY`]) in the attributes returned to the engine — the
//! history lives in Plinth's state, not in the cluster. When the migration, a Job or the
//! rollout fails, the previous revision is re-applied with a fresh timeout and the error
//! reports both the failure and the rollback's result.

use std::collections::BTreeSet;
use std::sync::Arc;

use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, Resource, Schema, Value,
    ValueType,
};
use serde_json::Value as Json;

use crate::error::KubeError;
use crate::manifest::json_digest;
use crate::objects::{ObjectRef, Objects};
use crate::release_spec::{ReleaseSpec, INPUTS};
use crate::render::{render, Rendered};
use crate::rollout::{self, install, object_keys, prune};
use crate::wait::Deadline;

/// History entries kept in state.
pub const MAX_HISTORY: usize = 10;
const DIGEST_SALT: &str = "plinth-kubernetes";

/// The `app_release` schema.
pub fn schema() -> Schema {
    let any = |name: &str, text: &str| Attribute::optional(name, ValueType::Any).describe(text);
    Schema::new("app_release")
        .describe("One application: Deployment, Service, Ingress, HPA, NetworkPolicy, Jobs and CronJobs, applied atomically.")
        .attribute(Attribute::optional_computed("name", ValueType::String).force_new().describe("Release name (default: the block's name)"))
        .attribute(Attribute::required("namespace", ValueType::String).force_new())
        .attribute(Attribute::required("image", ValueType::String))
        .attribute(Attribute::optional("replicas", ValueType::Int).default(Value::Int(1)))
        .attribute(any("resources", "{ requests = {cpu, memory}, limits = {cpu, memory} }"))
        .attribute(Attribute::optional("env", ValueType::string_map()).describe("Plain env; values holding secrets go to the generated Secret"))
        .attribute(Attribute::optional("secret_env", ValueType::string_map()).sensitive())
        .attribute(any("ports", "[{ name, port, service_port }], default http 8000"))
        .attribute(any("probes", "{ liveness = \"/health\", readiness = \"/ready\" }"))
        .attribute(any("security", "{ run_as_non_root, run_as_user, run_as_group, fs_group, read_only_root_filesystem, writable_paths, drop_all_capabilities, seccomp_profile, allow_privilege_escalation, automount_service_account_token, network_policy }: restricted by default"))
        .attribute(Attribute::optional("image_digest", ValueType::String).describe("Pins the image: pods run <image>@<digest>"))
        .attribute(Attribute::optional("image_pull_policy", ValueType::String).describe("Default IfNotPresent with a digest, else Always"))
        .attribute(any("ingress", "{ host, tls, class, annotations }"))
        .attribute(any("autoscaling", "{ min, max, cpu_percent }"))
        .attribute(Attribute::optional("service_account", ValueType::String))
        .attribute(Attribute::optional("service_account_annotations", ValueType::string_map()).describe("e.g. eks.amazonaws.com/role-arn (IRSA); empty values are left out"))
        .attribute(any("migrate", "{ command = [...] }: Job run before the rollout"))
        .attribute(any("jobs", "name → { command }: one-shot Jobs after the migration"))
        .attribute(any("cronjobs", "name → { schedule, command }"))
        .attribute(any("pod_disruption_budget", "{ min_available }"))
        .attribute(Attribute::optional("progress_deadline_seconds", ValueType::Int))
        .attribute(any("names", "{ deployment, service, hpa, ingress, network_policy, pdb, secret, migration, job, cronjob }: name templates over {release}, {job}, {cronjob}"))
        .attribute(Attribute::optional("container_name", ValueType::String).describe("The app container's name (default: the release name)"))
        .attribute(Attribute::computed("revision", ValueType::Int))
        .attribute(Attribute::computed("history", ValueType::List(Box::new(ValueType::Any))))
        .attribute(Attribute::computed("objects", ValueType::string_list()))
        .serves_traffic()
}

/// The `app_release` resource.
pub struct AppRelease {
    schema: Schema,
    objects: Arc<Objects>,
}

impl AppRelease {
    /// A release resource talking through `objects`.
    pub fn new(objects: Arc<Objects>) -> AppRelease {
        AppRelease {
            schema: schema(),
            objects,
        }
    }

    /// Re-applies revision `to` (default: the one before the current) from the history in
    /// `current` (the release's recorded attributes) as a new revision, like `helm rollback`.
    /// Returns the attributes to record. Jobs are not re-run.
    pub async fn rollback(
        &self,
        ctx: &CallContext<'_>,
        current: &Object,
        to: Option<i64>,
    ) -> Result<Object, ProviderError> {
        let revision = current.get("revision").and_then(Value::as_i64).unwrap_or(0);
        let target = to.unwrap_or(revision - 1);
        let deadline = Deadline::new(ctx.timeout, ctx.progress);
        let (mut attributes, rendered) = self
            .restore(ctx, current, target, revision + 1, &deadline)
            .await?;
        self.finish(&mut attributes, &rendered, current, revision + 1, &deadline)
            .await?;
        Ok(attributes)
    }

    /// Renders history entry `target` of `current` with revision label `label` and rolls it out.
    async fn restore(
        &self,
        ctx: &CallContext<'_>,
        current: &Object,
        target: i64,
        label: i64,
        deadline: &Deadline<'_>,
    ) -> Result<(Object, Rendered), ProviderError> {
        let history = history_of(current);
        let entry = history
            .iter()
            .find(|e| e.get("revision").and_then(Json::as_i64) == Some(target))
            .ok_or_else(|| {
                ProviderError::api(
                    "RevisionNotFound",
                    format!(
                        "{}: no revision {target} in the release history",
                        ctx.address
                    ),
                )
            })?;
        let values = Value::from_json(entry.get("values").unwrap_or(&Json::Null))
            .as_map()
            .cloned()
            .unwrap_or_default();
        let rendered = render(
            &values,
            label,
            entry.get("secret_name").and_then(Json::as_str),
        )?;
        rollout::roll_out(&self.objects, &rendered, deadline).await?;
        Ok((values, rendered))
    }

    async fn release(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
        prior: Option<&Object>,
    ) -> Result<Object, ProviderError> {
        let mut attributes = with_name(desired, ctx.address);
        let previous = prior
            .and_then(|p| p.get("revision"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let revision = previous + 1;
        let rendered = render(&attributes, revision, None)?;
        let spec = ReleaseSpec::from_attributes(&attributes)?;
        spec.check()?;
        let deadline = Deadline::new(ctx.timeout, ctx.progress);
        if let Err(failure) = install(&self.objects, &rendered, &deadline).await {
            let what = format!(
                "release {}/{} revision {revision} (image {})",
                spec.namespace, spec.name, spec.image
            );
            let Some(prior) = prior.filter(|p| !history_of(p).is_empty()) else {
                return Err(ProviderError::from(failure).with_context(
                    &format!("{what} failed"),
                    "no previous revision to roll back to",
                ));
            };
            // The rollback gets its own budget, not what the failed upgrade left over.
            let rollback_deadline = Deadline::new(ctx.timeout, ctx.progress);
            let outcome = match self
                .restore(ctx, prior, previous, previous, &rollback_deadline)
                .await
            {
                Ok(_) => format!(
                    "rolled back to revision {previous} (image {}): ok",
                    prior.get("image").and_then(Value::as_str).unwrap_or("?")
                ),
                Err(error) => format!("rollback to revision {previous} FAILED too: {error}"),
            };
            return Err(
                ProviderError::from(failure).with_context(&format!("{what} failed"), &outcome)
            );
        }
        self.finish(
            &mut attributes,
            &rendered,
            prior.unwrap_or(&Object::new()),
            revision,
            &deadline,
        )
        .await?;
        Ok(attributes)
    }

    /// Prunes what left the release and writes revision, history and objects.
    async fn finish(
        &self,
        attributes: &mut Object,
        rendered: &Rendered,
        prior: &Object,
        revision: i64,
        deadline: &Deadline<'_>,
    ) -> Result<(), KubeError> {
        let spec = ReleaseSpec::from_attributes(&revealed(attributes))?;
        let history = push_history(
            history_of(prior),
            history_entry(attributes, rendered, revision),
        );
        let mut keep = object_keys(rendered);
        // The operators' Secret stays when a rollback renders from state (values unknown).
        keep.insert(format!(
            "Secret/{}",
            spec.object_name(&spec.names.secret, "")
        ));
        // Env Secrets of revisions still in history stay, so rollbacks can use them.
        keep.extend(history.iter().filter_map(|e| {
            e.get("secret_name")?
                .as_str()
                .map(|s| format!("Secret/{s}"))
        }));
        prune(&self.objects, &spec.namespace, &spec.name, &keep, deadline).await?;
        attributes.insert("revision".into(), Value::Int(revision));
        attributes.insert(
            "history".into(),
            Value::List(history.iter().map(Value::from_json).collect()),
        );
        attributes.insert(
            "objects".into(),
            Value::List(
                object_keys(rendered)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        );
        Ok(())
    }
}

/// Adds `name` from the address (`app_release.backend` → `backend`) when the user gave none.
fn with_name(desired: &Object, address: &str) -> Object {
    let mut attributes = desired.clone();
    if attributes
        .get("name")
        .is_none_or(|v| v.is_null() || matches!(v, Value::Unknown))
    {
        let label = address.rsplit('.').next().unwrap_or(address);
        let label = label.split('[').next().unwrap_or(label).replace('_', "-");
        attributes.insert("name".into(), Value::String(label));
    }
    attributes
}

/// The plan-time checks that need no cluster and no secret: every input known now is parsed
/// (so a misspelt field is a plan error, not an apply error) and the PodDisruptionBudget is
/// checked against the replica count. Inputs still unknown, or holding a secret, are skipped.
fn check_counts(attributes: &Object) -> Result<(), KubeError> {
    let mut known: Object = attributes
        .iter()
        .filter(|(k, v)| INPUTS.contains(&k.as_str()) && !v.has_unknown() && !v.has_sensitive())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for key in ["name", "namespace", "image"] {
        known
            .entry(key.to_string())
            .or_insert_with(|| Value::string("(unknown)"));
    }
    let counts_known = ["replicas", "autoscaling", "pod_disruption_budget"]
        .iter()
        .all(|k| attributes.get(*k).is_none_or(|v| !v.has_unknown()));
    let spec = ReleaseSpec::from_attributes(&known)?;
    if counts_known {
        spec.check()?;
    }
    Ok(())
}

fn revealed(attributes: &Object) -> Object {
    attributes
        .iter()
        .filter(|(_, v)| !v.has_sensitive())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Appends an entry, keeping the newest [`MAX_HISTORY`].
fn push_history(mut history: Vec<Json>, entry: Json) -> Vec<Json> {
    history.push(entry);
    let excess = history.len().saturating_sub(MAX_HISTORY);
    history.drain(..excess);
    history
}

/// The history entries as JSON; secret digests stay `{"$sensitive": digest}` markers.
fn history_of(attributes: &Object) -> Vec<Json> {
    attributes
        .get("history")
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .map(|entry| entry.to_persisted_json(DIGEST_SALT))
                .collect()
        })
        .unwrap_or_default()
}

/// One history entry: revision, image, manifest hash, values digest, the env Secret's name
/// and the input values with every secret replaced by its digest (never plaintext).
fn history_entry(attributes: &Object, rendered: &Rendered, revision: i64) -> Json {
    fn redact(value: &Value) -> Value {
        match value {
            Value::Sensitive(inner) => Value::Redacted(inner.digest(DIGEST_SALT)),
            Value::List(items) => Value::List(items.iter().map(redact).collect()),
            Value::Map(map) => {
                Value::Map(map.iter().map(|(k, v)| (k.clone(), redact(v))).collect())
            }
            other => other.clone(),
        }
    }
    let inputs: Object = attributes
        .iter()
        .filter(|(k, _)| INPUTS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), redact(v)))
        .collect();
    let masked: Vec<Json> = rendered
        .all()
        .into_iter()
        .filter(|o| o["kind"] != "Secret")
        .collect();
    let values = plinth_provider::object_to_persisted_json(&inputs, DIGEST_SALT);
    serde_json::json!({
        "revision": revision,
        "image": attributes.get("image").and_then(Value::as_str).unwrap_or(""),
        "manifest_hash": json_digest(&Json::Array(masked)),
        "values_digest": Value::Map(inputs.clone()).digest(DIGEST_SALT),
        "secret_name": rendered.secret_name,
        "values": values,
    })
}

trait WithContext {
    fn with_context(self, what: &str, outcome: &str) -> ProviderError;
}

impl WithContext for ProviderError {
    fn with_context(mut self, what: &str, outcome: &str) -> ProviderError {
        self.message = format!("{what}: {}; {outcome}", self.message);
        self
    }
}

#[async_trait]
impl Resource for AppRelease {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Env values carrying a secret go to the env Secret and are digested in the history:
    /// the release must see which leaves are secret.
    fn keeps_secret_markers(&self) -> bool {
        true
    }

    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let attributes = self.release(ctx, desired, None).await?;
        let spec = ReleaseSpec::from_attributes(&revealed(&attributes))?;
        Ok(Created {
            id: format!("{}/{}", spec.namespace, spec.name),
            attributes,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let (namespace, name) = id
            .split_once('/')
            .ok_or_else(|| ProviderError::config(format!("`{id}` is not namespace/name")))?;
        let deployment = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        };
        let Some(live) = self.objects.get(&deployment).await? else {
            return Ok(None);
        };
        let mut attributes = prior.clone();
        attributes.insert("name".into(), Value::string(name));
        attributes.insert("namespace".into(), Value::string(namespace));
        if let Some(image) = live
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Json::as_str)
        {
            attributes.insert("image".into(), Value::string(image));
        }
        let autoscaled = prior.get("autoscaling").is_some_and(|v| !v.is_null());
        if let (false, Some(replicas)) = (
            autoscaled,
            live.pointer("/spec/replicas").and_then(Json::as_i64),
        ) {
            attributes.insert("replicas".into(), Value::Int(replicas));
        }
        Ok(Some(attributes))
    }

    async fn update(
        &self,
        ctx: &CallContext<'_>,
        _id: &str,
        prior: &Object,
        desired: &Object,
        _changed: &[String],
    ) -> Result<Object, ProviderError> {
        self.release(ctx, desired, Some(prior)).await
    }

    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let (namespace, name) = id
            .split_once('/')
            .ok_or_else(|| ProviderError::config(format!("`{id}` is not namespace/name")))?;
        let deadline = Deadline::new(ctx.timeout, ctx.progress);
        prune(&self.objects, namespace, name, &BTreeSet::new(), &deadline).await?;
        Ok(())
    }

    async fn recover(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let attributes = with_name(desired, ctx.address);
        let spec = ReleaseSpec::from_attributes(&revealed(&attributes))?;
        let id = format!("{}/{}", spec.namespace, spec.name);
        // A release whose Deployment exists but whose history was lost: adopt it as revision 0,
        // so the next apply re-applies everything.
        Ok(self
            .read(ctx, &id, &attributes)
            .await?
            .map(|mut attributes| {
                attributes.insert("revision".into(), Value::Int(0));
                attributes.insert("history".into(), Value::List(Vec::new()));
                Created { id, attributes }
            }))
    }

    async fn refine_plan(
        &self,
        ctx: &CallContext<'_>,
        prior: Option<&Object>,
        planned: &mut Object,
    ) -> Result<(), ProviderError> {
        // An unset `name` is the block's name, known now.
        let attributes = with_name(planned, ctx.address);
        let inputs_known = attributes
            .iter()
            .filter(|(k, _)| INPUTS.contains(&k.as_str()))
            .all(|(_, v)| !v.has_unknown());
        check_counts(&attributes)?;
        if !inputs_known {
            return Ok(()); // client-side diff only
        }
        if !self.objects.connection().is_reachable().await {
            return Ok(()); // client-side diff only
        }
        let previous = prior
            .and_then(|p| p.get("revision"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let rendered = render(&attributes, previous + 1, None)?;
        for object in rendered.all() {
            if object["kind"] == "Job" {
                // A Job of a new revision replaces the live one (its spec is immutable):
                // a dry-run apply over the old one would be refused.
                if let Some(live) = self.objects.get(&ObjectRef::of(&object)?).await? {
                    if rollout::job_changed(&live, &object) {
                        continue;
                    }
                }
            }
            match self.objects.apply(&object, false, true).await {
                Ok(_) | Err(KubeError::Api { code: 404, .. }) => {} // namespace created later in the apply
                Err(error) => return Err(error.into()),
            }
        }
        planned.insert(
            "name".into(),
            attributes.get("name").cloned().unwrap_or(Value::Null),
        );
        planned.insert("revision".into(), Value::Int(previous + 1));
        let objects = object_keys(&rendered)
            .into_iter()
            .map(Value::String)
            .collect();
        planned.insert("objects".into(), Value::List(objects));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_newest_ten_revisions() {
        let mut history = Vec::new();
        for revision in 1..=12 {
            history = push_history(history, serde_json::json!({"revision": revision}));
        }
        assert_eq!(history.len(), MAX_HISTORY);
        assert_eq!(history[0]["revision"], 3);
        assert_eq!(history[9]["revision"], 12);
    }

    #[test]
    fn history_keeps_secret_digests_not_values() {
        let mut attributes = Object::new();
        attributes.insert("name".into(), Value::string("web"));
        attributes.insert("namespace".into(), Value::string("apps"));
        attributes.insert("image".into(), Value::string("nginx:1"));
        attributes.insert(
            "secret_env".into(),
            Value::Map([("KEY".to_string(), Value::string("plain").sensitive())].into()),
        );
        let rendered = render(&attributes, 1, None).unwrap();
        let entry = history_entry(&attributes, &rendered, 1);
        assert!(!entry.to_string().contains("plain"));
        let mut recorded = Object::new();
        recorded.insert(
            "history".into(),
            Value::List(vec![Value::from_json(&entry)]),
        );
        let back = history_of(&recorded);
        let values = Value::from_json(&back[0]["values"]);
        assert!(
            matches!(
                values.as_map().unwrap()["secret_env"].as_map().unwrap()["KEY"],
                Value::Redacted(_)
            ),
            "{values:?}"
        );
        let again = render(values.as_map().unwrap(), 2, back[0]["secret_name"].as_str()).unwrap();
        assert_eq!(again.secret_name, rendered.secret_name);
    }
}
