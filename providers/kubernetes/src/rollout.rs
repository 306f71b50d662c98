//! Applying a rendered release in order, pruning what left it, and rolling back.
//!
//! Order: ServiceAccount/Secret → migration Job (must complete) → one-shot Jobs → Deployment
//! (rollout awaited) → Service/HPA/Ingress/NetworkPolicy/PDB/CronJobs. A failed Job stops the
//! release before the Deployment changes.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::error::KubeError;
use crate::objects::{ObjectRef, Objects};
use crate::render::{Rendered, INSTANCE, MANAGED_BY, SPEC_DIGEST};
use crate::wait::{self, Deadline};

/// A release owns its objects: like a GitOps controller it applies with force, so a field
/// someone changed by hand (`kubectl edit`, `kubectl set image`) is taken back on the next
/// apply instead of failing with a conflict. Use `k8s_object` for shared objects.
const FORCE: bool = true;

/// The kinds a release may own, in the order they are deleted.
pub const RELEASE_KINDS: &[(&str, &str)] = &[
    ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
];

/// Applies every phase of a rendered release, waiting where the order demands it.
pub async fn install(
    objects: &Objects,
    rendered: &Rendered,
    deadline: &Deadline<'_>,
) -> Result<(), KubeError> {
    for object in &rendered.config {
        objects.apply(object, FORCE, false).await?;
    }
    for job in rendered.migration.iter().chain(&rendered.jobs) {
        run_job(objects, job, deadline).await?;
    }
    roll_out(objects, rendered, deadline).await
}

/// Applies the Deployment, waits for its rollout, then applies the rest (no Jobs).
pub async fn roll_out(
    objects: &Objects,
    rendered: &Rendered,
    deadline: &Deadline<'_>,
) -> Result<(), KubeError> {
    let deployment = ObjectRef::of(&rendered.deployment)?;
    deadline.report(&format!("applying {}", deployment.describe()));
    let mut desired = rendered.deployment.clone();
    if let Some(initial) = rendered.initial_replicas {
        // Autoscaled: a new Deployment starts at the HPA minimum; an existing one keeps the
        // count the HPA gave it (so the apply neither drops nor fights the field).
        let live = objects.get(&deployment).await?;
        let replicas = live
            .as_ref()
            .and_then(|l| l.pointer("/spec/replicas"))
            .and_then(Json::as_i64)
            .unwrap_or(initial);
        desired["spec"]["replicas"] = Json::from(replicas);
    }
    objects.apply(&desired, FORCE, false).await?;
    wait::deployment_rollout(objects, &deployment, deadline).await?;
    for object in &rendered.rest {
        objects.apply(object, FORCE, false).await?;
    }
    Ok(())
}

/// Applies a Job and waits for it. A Job of the same name that failed, or whose spec digest
/// differs (a new revision), is deleted and run again (its spec is immutable; like a Helm
/// hook with `before-hook-creation`). An unchanged, completed Job is not re-run.
async fn run_job(objects: &Objects, job: &Json, deadline: &Deadline<'_>) -> Result<(), KubeError> {
    let reference = ObjectRef::of(job)?;
    if let Some(existing) = objects.get(&reference).await? {
        if wait::job_failed(&existing).is_some() {
            deadline.report(&format!("re-running failed {}", reference.describe()));
            objects.delete(&reference, deadline).await?;
        } else if job_changed(&existing, job) {
            deadline.report(&format!(
                "re-creating {} for this revision",
                reference.describe()
            ));
            objects.delete(&reference, deadline).await?;
        }
    }
    deadline.report(&format!("running {}", reference.describe()));
    objects.apply(job, FORCE, false).await?;
    wait::job_completion(objects, &reference, deadline).await
}

/// Whether a live Job was made from another spec than `desired` (by the spec digest).
pub fn job_changed(live: &Json, desired: &Json) -> bool {
    let digest = |o: &Json| {
        o.pointer(&format!(
            "/metadata/annotations/{}",
            SPEC_DIGEST.replace('/', "~1")
        ))
        .and_then(Json::as_str)
        .map(str::to_string)
    };
    digest(live) != digest(desired)
}

/// `managed-by=plinth,instance=<release>`: the selector of a release's objects.
pub fn selector(release: &str) -> String {
    format!("{MANAGED_BY}=plinth,{INSTANCE}={release}")
}

/// Whether a live object carries the labels of release `release` managed by Plinth. Checked
/// on every listed object before a delete: a server that ignores `labelSelector` must not
/// make Plinth delete what it does not own.
pub fn owned_by(live: &Json, release: &str) -> bool {
    let label = |key: &str| {
        live.pointer("/metadata/labels")
            .and_then(|labels| labels.get(key))
            .and_then(Json::as_str)
    };
    label(MANAGED_BY) == Some("plinth") && label(INSTANCE) == Some(release)
}

/// Deletes the release's objects (by label) whose `Kind/name` is not in `keep`.
/// Objects without Plinth's labels are never touched: the server filters by label, and each
/// listed object's labels are checked again here ([`owned_by`]).
pub async fn prune(
    objects: &Objects,
    namespace: &str,
    release: &str,
    keep: &BTreeSet<String>,
    deadline: &Deadline<'_>,
) -> Result<Vec<String>, KubeError> {
    let mut pruned = Vec::new();
    for (api_version, kind) in RELEASE_KINDS {
        for live in objects
            .list(api_version, kind, namespace, &selector(release))
            .await?
        {
            let reference = ObjectRef::of(&live)?;
            let key = format!("{kind}/{}", reference.name);
            if !owned_by(&live, release) {
                continue;
            }
            if !keep.contains(&key) {
                deadline.report(&format!("pruning {}", reference.describe()));
                objects.delete(&reference, deadline).await?;
                pruned.push(key);
            }
        }
    }
    Ok(pruned)
}

/// `Kind/name` of every rendered object.
pub fn object_keys(rendered: &Rendered) -> BTreeSet<String> {
    rendered
        .all()
        .iter()
        .filter_map(|o| {
            Some(format!(
                "{}/{}",
                o.get("kind")?.as_str()?,
                o.pointer("/metadata/name")?.as_str()?
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_objects_labelled_for_the_release_are_owned() {
        let labelled = |labels: Json| json!({"metadata": {"name": "x", "labels": labels}});
        assert!(owned_by(
            &labelled(json!({MANAGED_BY: "plinth", INSTANCE: "mita"})),
            "mita"
        ));
        assert!(!owned_by(
            &labelled(json!({MANAGED_BY: "plinth", INSTANCE: "other"})),
            "mita"
        ));
        assert!(!owned_by(
            &labelled(json!({MANAGED_BY: "helm", INSTANCE: "mita"})),
            "mita"
        ));
        assert!(!owned_by(&json!({"metadata": {"name": "x"}}), "mita"));
    }
}
