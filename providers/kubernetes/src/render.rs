//! Turns a release description into Kubernetes objects (`render_release`) and YAML
//! (`render_release_yaml`). Pure: no cluster needed.
//!
//! Every object carries `app.kubernetes.io/managed-by: plinth`, `app.kubernetes.io/instance`
//! and `plinth.dev/revision`; pruning only ever touches objects with those labels.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use plinth_provider::{Object, Value};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::error::KubeError;
use crate::release_spec::{ReleaseSpec, INPUTS};

/// Label naming the tool that manages an object.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label naming the release an object belongs to.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// Label carrying the release revision that last applied an object.
pub const REVISION: &str = "plinth.dev/revision";
const COMPONENT: &str = "app.kubernetes.io/component";
const VERSION: &str = "app.kubernetes.io/version";
/// Annotation on a Job: the digest of its spec (a Job is re-created when it changes).
pub const SPEC_DIGEST: &str = "plinth.dev/spec-digest";

/// A rendered release, grouped in the order it is applied.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// ServiceAccount and the generated env Secret.
    pub config: Vec<Json>,
    /// The migration Job, if any (must complete before the rollout).
    pub migration: Option<Json>,
    /// One-shot Jobs (after the migration, before the rollout).
    pub jobs: Vec<Json>,
    /// The Deployment.
    pub deployment: Json,
    /// Service, HPA, Ingress, NetworkPolicy, PodDisruptionBudget, CronJobs.
    pub rest: Vec<Json>,
    /// Name of the env Secret the pods read (None when the release has no secret env): the
    /// immutable copy of this revision.
    pub secret_name: Option<String>,
    /// The HPA minimum when autoscaled: the Deployment's replica count on create.
    pub initial_replicas: Option<i64>,
}

impl Rendered {
    /// Every object in apply order.
    pub fn all(&self) -> Vec<Json> {
        let mut out = self.config.clone();
        out.extend(self.migration.clone());
        out.extend(self.jobs.iter().cloned());
        out.push(self.deployment.clone());
        out.extend(self.rest.iter().cloned());
        out
    }
}

/// Renders the objects of a release from its attributes (secrets revealed), in apply order.
/// `revision` is read from the attributes (default 1).
pub fn render_release(attributes: &Object) -> Result<Vec<Json>, KubeError> {
    let revision = attributes
        .get("revision")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    Ok(render(attributes, revision, None)?.all())
}

/// Renders a release as a multi-document YAML stream (Secret values masked), for
/// `plinth render`.
pub fn render_release_yaml(attributes: &Object) -> Result<String, KubeError> {
    let mut out = String::new();
    for mut object in render_release(attributes)? {
        if object["kind"] == "Secret" {
            if let Some(data) = object.get_mut("data").and_then(Json::as_object_mut) {
                data.values_mut()
                    .for_each(|v| *v = Json::from("(sensitive)"));
            }
        }
        let text = serde_saphyr::to_string(&object)
            .map_err(|e| KubeError::Invalid(format!("YAML rendering: {e}")))?;
        out.push_str("---\n");
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// Renders with an explicit revision. `secret_name` names the env Secret when its values are
/// not available (a rollback from state, where secrets are only digests).
pub fn render(
    attributes: &Object,
    revision: i64,
    secret_name: Option<&str>,
) -> Result<Rendered, KubeError> {
    let (mut inputs, redacted) = revealed_inputs(attributes);
    let sensitive_env = ReleaseSpec::sensitive_env(attributes);
    // Env values that carry a secret move to the generated Secret.
    let mut secret_entries: BTreeMap<String, String> = BTreeMap::new();
    if let Some(env) = inputs.get_mut("env").and_then(Json::as_object_mut) {
        for key in &sensitive_env {
            if let Some(Json::String(v)) = env.remove(key) {
                secret_entries.insert(key.clone(), v);
            }
        }
    }
    let spec = match &inputs {
        Json::Object(map) => ReleaseSpec::from_attributes(&plinth_provider::object_from_json(map))?,
        _ => {
            return Err(KubeError::Invalid(
                "app_release attributes must be a table".into(),
            ))
        }
    };
    secret_entries.extend(spec.secret_env.clone());
    let name = spec.name.as_str();
    let ns = spec.namespace.as_str();
    let names = &spec.names;
    let version = kube_label(&spec.image_tag());
    let labels = |component: &str| {
        json!({"app": name, "app.kubernetes.io/name": name, INSTANCE: name, MANAGED_BY: "plinth",
               VERSION: version, REVISION: revision.to_string(), COMPONENT: component})
    };
    let selector = json!({"app.kubernetes.io/name": name, INSTANCE: name, COMPONENT: "web"});
    let meta = |object_name: &str, component: &str| json!({"name": object_name, "namespace": ns, "labels": labels(component)});

    let mut out = Rendered::default();
    if let Some(account) = &spec.service_account {
        let mut metadata = meta(account, "web");
        let annotations: BTreeMap<&String, &String> = spec
            .service_account_annotations
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if !annotations.is_empty() {
            metadata["annotations"] = json!(annotations);
        }
        out.config.push(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata,
                               "automountServiceAccountToken": security_token(&spec)}),
        );
    }
    if redacted {
        // Rendering from state: the Secret exists already under its recorded name.
        match secret_name {
            Some(known) => out.secret_name = Some(known.to_string()),
            None if !secret_entries.is_empty() => {
                return Err(KubeError::Invalid(format!(
                "release {name}: secret values are not available and no Secret name was recorded"
            )))
            }
            None => {}
        }
    } else if !secret_entries.is_empty() {
        let data = |key: &dyn Fn(&str) -> String| -> serde_json::Map<String, Json> {
            secret_entries
                .iter()
                .map(|(k, v)| {
                    (
                        key(k),
                        serde_json::to_value(ByteString(v.clone().into_bytes()))
                            .unwrap_or(Json::Null),
                    )
                })
                .collect()
        };
        // The Secret operators read, with the guide's key spelling (`database-url`).
        let stable = spec.object_name(&names.secret, "");
        out.config.push(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta(&stable, "config"),
                   "type": "Opaque", "data": data(&secret_key)}),
        );
        // The pods read an immutable copy per content (env spelling, through envFrom): a
        // rollback re-applies a Deployment whose copy still exists with the old values.
        let digest = short_digest(&json!([ns, name, secret_entries]));
        let copy = suffixed_name(&stable, &digest);
        out.config.push(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta(&copy, "config"),
                   "type": "Opaque", "immutable": true, "data": data(&|k: &str| k.to_string())}),
        );
        out.secret_name = Some(copy);
    }

    let env: Vec<Json> = spec
        .env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let env_from: Vec<Json> = out
        .secret_name
        .iter()
        .map(|s| json!({"secretRef": {"name": s}}))
        .collect();
    let resources = spec
        .resources
        .as_ref()
        .map(|r| json!({"requests": r.requests, "limits": r.limits}));
    let security = spec.security.clone().unwrap_or_default();
    let mut pod_security = json!({});
    if security.run_as_non_root {
        pod_security["runAsNonRoot"] = json!(true);
    }
    for (field, value) in [
        ("runAsUser", security.run_as_user),
        ("runAsGroup", security.run_as_group),
        ("fsGroup", security.fs_group),
    ] {
        if let Some(id) = value {
            pod_security[field] = json!(id);
        }
    }
    if !security.seccomp_profile.is_empty() {
        pod_security["seccompProfile"] = json!({"type": security.seccomp_profile});
    }
    let mut container_security = json!({
        "allowPrivilegeEscalation": security.allow_privilege_escalation,
        "readOnlyRootFilesystem": security.read_only_root_filesystem,
    });
    if security.run_as_non_root {
        container_security["runAsNonRoot"] = json!(true);
    }
    if security.drop_all_capabilities {
        container_security["capabilities"] = json!({"drop": ["ALL"]});
    }
    // Writable emptyDir volumes: the configured paths and the Prometheus multiprocess dir.
    let mut writable = security.writable_paths.clone();
    if let Some(dir) = spec.env.get("PROMETHEUS_MULTIPROC_DIR") {
        if !writable.contains(dir) {
            writable.push(dir.clone());
        }
    }
    let volumes: Vec<(String, String)> = writable
        .iter()
        .map(|path| (kube_name(path).chars().take(63).collect(), path.clone()))
        .collect();
    let image = spec.image_ref();
    let pull_policy = spec.image_pull_policy.clone().unwrap_or_else(|| {
        if image.contains('@') {
            "IfNotPresent"
        } else {
            "Always"
        }
        .to_string()
    });
    let container = |command: Option<&[String]>| {
        let mut c = json!({"name": spec.container(), "image": image, "imagePullPolicy": pull_policy,
                           "env": env, "envFrom": env_from, "securityContext": container_security});
        if !volumes.is_empty() {
            c["volumeMounts"] = json!(volumes
                .iter()
                .map(|(name, path)| json!({"name": name, "mountPath": path}))
                .collect::<Vec<_>>());
        }
        if let Some(r) = &resources {
            c["resources"] = r.clone();
        }
        if let Some(cmd) = command {
            c["command"] = json!(cmd);
        }
        c
    };
    let pod = |component: &str, c: Json, restart: Option<&str>| {
        let mut spec_json = json!({"securityContext": pod_security, "containers": [c],
            "automountServiceAccountToken": security.automount_service_account_token});
        if !volumes.is_empty() {
            spec_json["volumes"] = json!(volumes
                .iter()
                .map(|(name, _)| json!({"name": name, "emptyDir": {}}))
                .collect::<Vec<_>>());
        }
        if let Some(account) = &spec.service_account {
            spec_json["serviceAccountName"] = json!(account);
        }
        if let Some(policy) = restart {
            spec_json["restartPolicy"] = json!(policy);
        }
        let pod_labels = json!({"app": name, "app.kubernetes.io/name": name, INSTANCE: name,
                                MANAGED_BY: "plinth", VERSION: version, COMPONENT: component});
        json!({"metadata": {"labels": pod_labels}, "spec": spec_json})
    };
    // A Job keeps a stable name (`<release>-migration-latest`) and is re-created when its spec
    // changes (like a Helm hook with `before-hook-creation`): the spec digest is annotated, so
    // an unchanged Job is not re-run.
    let job = |job_name: String, component: &str, command: &[String]| {
        let job_spec = json!({"backoffLimit": 1, "template": pod(component, container(Some(command)), Some("Never"))});
        let mut metadata = meta(&job_name, component);
        metadata["annotations"] = json!({SPEC_DIGEST: short_digest(&job_spec)});
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec})
    };
    out.migration = spec.migrate.as_ref().map(|m| {
        job(
            spec.object_name(&names.migration, "migration"),
            "migrate",
            &m.command,
        )
    });
    out.jobs = spec
        .jobs
        .iter()
        .map(|(job_name, c)| job(spec.object_name(&names.job, job_name), "job", &c.command))
        .collect();

    let mut web = container(None);
    web["ports"] = json!(spec
        .ports
        .iter()
        .map(|p| json!({"name": p.name, "containerPort": p.port, "protocol": "TCP"}))
        .collect::<Vec<_>>());
    let first_port = spec.ports[0].name.clone();
    if let Some(probes) = &spec.probes {
        for (field, path) in [
            ("livenessProbe", &probes.liveness),
            ("readinessProbe", &probes.readiness),
        ] {
            if let Some(path) = path {
                web[field] = json!({"httpGet": {"path": path, "port": first_port}, "periodSeconds": 10, "failureThreshold": 3});
            }
        }
    }
    let mut deployment_spec = json!({
        "selector": {"matchLabels": selector}, "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": spec.progress_deadline_seconds.unwrap_or(600),
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": pod("web", web, None),
    });
    match &spec.autoscaling {
        // Under an HPA the replica count is the HPA's field: Plinth leaves it out of the
        // render; the rollout starts a new Deployment at the HPA minimum.
        Some(scaling) => out.initial_replicas = Some(scaling.min),
        None => deployment_spec["replicas"] = json!(spec.replicas),
    }
    let deployment_name = spec.object_name(&names.deployment, "");
    let service_name = spec.object_name(&names.service, "");
    out.deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(&deployment_name, "web"), "spec": deployment_spec});

    let service_ports: Vec<Json> = spec.ports.iter()
        .map(|p| json!({"name": p.name, "port": p.service_port.unwrap_or(p.port), "targetPort": p.name, "protocol": "TCP"}))
        .collect();
    out.rest.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(&service_name, "web"),
                         "spec": {"type": "ClusterIP", "selector": selector, "ports": service_ports}}));
    if let Some(scaling) = &spec.autoscaling {
        out.rest.push(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(&spec.object_name(&names.hpa, ""), "web"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name},
                     "minReplicas": scaling.min, "maxReplicas": scaling.max,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                  "target": {"type": "Utilization", "averageUtilization": scaling.cpu_percent}}}]}}));
    }
    if let Some(ingress) = &spec.ingress {
        let mut metadata = meta(&spec.object_name(&names.ingress, ""), "web");
        if !ingress.annotations.is_empty() {
            metadata["annotations"] = json!(ingress.annotations);
        }
        let service_port = spec.ports[0].service_port.unwrap_or(spec.ports[0].port);
        let mut ingress_spec = json!({"rules": [{"host": ingress.host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": service_name, "port": {"number": service_port}}}}]}}]});
        if ingress.tls {
            ingress_spec["tls"] =
                json!([{"hosts": [ingress.host], "secretName": format!("{name}-tls")}]);
        }
        if let Some(class) = &ingress.class {
            ingress_spec["ingressClassName"] = json!(class);
        }
        out.rest.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": ingress_spec}));
    }
    if security.network_policy {
        // Every pod of the release (web, jobs, cronjobs): in from the load balancer path only,
        // out to DNS and the configured services only.
        let ports: Vec<Json> = spec
            .ports
            .iter()
            .map(|p| json!({"port": p.port, "protocol": "TCP"}))
            .collect();
        let ingress: Vec<Json> = if security.ingress_from.is_empty() {
            Vec::new()
        } else {
            vec![json!({"from": security.ingress_from, "ports": ports})]
        };
        let mut egress = vec![json!({
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]})];
        for rule in &security.egress {
            let ports: Vec<Json> = rule
                .ports
                .iter()
                .map(|p| json!({"port": int_or_percent(p), "protocol": "TCP"}))
                .collect();
            let mut out_rule = json!({"ports": ports});
            if !rule.to.is_empty() {
                out_rule["to"] = json!(rule.to);
            }
            egress.push(out_rule);
        }
        out.rest.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(&spec.object_name(&names.network_policy, ""), "web"),
            "spec": {"podSelector": {"matchLabels": {INSTANCE: name, MANAGED_BY: "plinth"}},
                     "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress}}));
    }
    if let Some(budget) = &spec.pod_disruption_budget {
        out.rest.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(&spec.object_name(&names.pdb, ""), "web"),
            "spec": {"minAvailable": int_or_percent(&budget.min_available), "selector": {"matchLabels": selector}}}));
    }
    for (cron_name, cron) in &spec.cronjobs {
        let cron_object = spec.object_name(&names.cronjob, cron_name);
        out.rest.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(&cron_object, "cronjob"),
            "spec": {"schedule": cron.schedule, "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3,
                     "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"spec": {"backoffLimit": 1,
                        "template": pod("cronjob", container(Some(&cron.command)), Some("OnFailure"))}}}}));
    }
    Ok(out)
}

/// Whether pods mount a service-account token (the `security` switch, default false).
fn security_token(spec: &ReleaseSpec) -> bool {
    spec.security
        .as_ref()
        .is_some_and(|s| s.automount_service_account_token)
}

/// The input attributes as plain JSON; redacted secrets become `""` and are reported.
fn revealed_inputs(attributes: &Object) -> (Json, bool) {
    fn walk(value: &Value, redacted: &mut bool) -> Json {
        match value {
            Value::Redacted(_) => {
                *redacted = true;
                Json::from("")
            }
            Value::Sensitive(inner) => walk(inner, redacted),
            Value::List(items) => Json::Array(items.iter().map(|v| walk(v, redacted)).collect()),
            Value::Map(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, redacted)))
                    .collect(),
            ),
            other => other.to_plain_json(),
        }
    }
    let mut redacted = false;
    let mut map = serde_json::Map::new();
    for (key, value) in attributes
        .iter()
        .filter(|(k, _)| INPUTS.contains(&k.as_str()))
    {
        if let Value::Redacted(_) = value {
            // A whole table recorded as one digest (e.g. `secret_env`): its keys are unknown.
            redacted = true;
            continue;
        }
        map.insert(key.clone(), walk(value, &mut redacted));
    }
    (Json::Object(map), redacted)
}

/// Ten hex characters of the SHA-256 of a JSON document.
pub fn short_digest(json: &Json) -> String {
    hex::encode(Sha256::digest(json.to_string().as_bytes()))[..10].to_string()
}

/// `<prefix>-<suffix>` within 63 characters: the prefix is shortened, the suffix kept whole.
pub fn suffixed_name(prefix: &str, suffix: &str) -> String {
    let room = 63 - suffix.len().min(62) - 1;
    let prefix: String = kube_name(prefix).chars().take(room).collect();
    format!("{}-{suffix}", prefix.trim_end_matches('-'))
}

/// An IntOrString: `"2"` (e.g. from a variable) is the count 2; `"50%"` stays a string.
fn int_or_percent(value: &Json) -> Json {
    match value.as_str().map(str::trim).map(str::parse::<i64>) {
        Some(Ok(count)) => Json::from(count),
        _ => value.clone(),
    }
}

/// The key of an env entry in the operators' Secret: `DATABASE_URL` → `database-url`.
pub fn secret_key(env: &str) -> String {
    env.to_lowercase().replace('_', "-")
}

/// A valid label value: `[A-Za-z0-9._-]`, at most 63 characters, alphanumeric at both ends.
fn kube_label(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// A valid object name: lowercase, `[a-z0-9-]`, at most 63 characters.
pub fn kube_name(raw: &str) -> String {
    let cleaned: String = raw
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    cleaned.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(extra: Json) -> Object {
        let mut base = json!({"name": "mita", "namespace": "prod", "image": "ghcr.io/mita/backend:v1.0.0", "replicas": 3});
        if let (Some(base), Json::Object(extra)) = (base.as_object_mut(), extra) {
            base.extend(extra);
        }
        plinth_provider::object_from_json(base.as_object().unwrap())
    }

    fn find<'a>(rendered: &'a Rendered, kind: &str) -> Option<&'a Json> {
        rendered
            .rest
            .iter()
            .chain(&rendered.config)
            .find(|o| o["kind"] == kind)
    }

    #[test]
    fn replicas_belong_to_the_hpa_when_autoscaling() {
        let fixed = render(&release(json!({})), 1, None).unwrap();
        assert_eq!(fixed.deployment["spec"]["replicas"], 3);
        assert!(find(&fixed, "HorizontalPodAutoscaler").is_none());
        let scaled = render(
            &release(json!({"autoscaling": {"min": 3, "max": 10}})),
            1,
            None,
        )
        .unwrap();
        assert!(scaled.deployment["spec"].get("replicas").is_none());
        let hpa = find(&scaled, "HorizontalPodAutoscaler").unwrap();
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
    }

    #[test]
    fn every_object_is_labelled_and_pods_do_not_carry_the_revision() {
        let rendered = render(
            &release(
                json!({"migrate": {"command": ["alembic", "upgrade", "head"]},
            "cronjobs": {"backup": {"schedule": "0 2 * * *", "command": ["backup"]}}}),
            ),
            7,
            None,
        )
        .unwrap();
        for object in rendered.all() {
            let labels = &object["metadata"]["labels"];
            assert_eq!(labels[MANAGED_BY], "plinth", "{object}");
            assert_eq!(labels[INSTANCE], "mita");
            assert_eq!(labels[REVISION], "7");
        }
        assert!(
            rendered.deployment["spec"]["template"]["metadata"]["labels"]
                .get(REVISION)
                .is_none()
        );
    }

    #[test]
    fn jobs_keep_stable_names_and_a_digest_of_their_spec() {
        let v1 = render(
            &release(json!({"migrate": {"command": ["migrate"]}, "jobs": {"seed-data": {"command": ["seed"]}}})),
            1,
            None,
        )
        .unwrap();
        let migration = v1.migration.as_ref().unwrap();
        assert_eq!(migration["metadata"]["name"], "mita-migration-latest");
        assert_eq!(v1.jobs[0]["metadata"]["name"], "mita-seed-data-latest");
        let mut other = release(json!({"migrate": {"command": ["migrate"]}}));
        other.insert("image".into(), Value::string("ghcr.io/mita/backend:v1.1.0"));
        let v2 = render(&other, 2, None).unwrap();
        let next = v2.migration.unwrap();
        assert_eq!(next["metadata"]["name"], "mita-migration-latest");
        assert!(crate::rollout::job_changed(migration, &next));
        let again = render(
            &release(json!({"migrate": {"command": ["migrate"]}})),
            3,
            None,
        )
        .unwrap();
        assert!(!crate::rollout::job_changed(
            migration,
            again.migration.as_ref().unwrap()
        ));
    }

    #[test]
    fn names_follow_the_templates_and_the_container_is_named() {
        let rendered = render(
            &release(
                json!({"autoscaling": {"min": 3, "max": 10}, "ingress": {"host": "mita.finance"},
                "pod_disruption_budget": {"min_available": 2}, "container_name": "backend",
                "names": {"hpa": "{release}-autoscaler"}}),
            ),
            1,
            None,
        )
        .unwrap();
        let name = |kind: &str| find(&rendered, kind).unwrap()["metadata"]["name"].clone();
        assert_eq!(name("HorizontalPodAutoscaler"), "mita-autoscaler");
        assert_eq!(name("Ingress"), "mita-ingress");
        assert_eq!(name("PodDisruptionBudget"), "mita-pdb");
        assert_eq!(rendered.deployment["metadata"]["name"], "mita");
        assert_eq!(rendered.initial_replicas, Some(3));
        let pod = &rendered.deployment["spec"]["template"];
        assert_eq!(pod["spec"]["containers"][0]["name"], "backend");
        assert_eq!(pod["metadata"]["labels"]["app"], "mita");
        assert_eq!(
            pod["metadata"]["labels"]["app.kubernetes.io/version"],
            "v1.0.0"
        );
    }

    #[test]
    fn sensitive_env_goes_to_a_content_named_secret() {
        let mut attributes = release(json!({"env": {"LOG_LEVEL": "INFO"}}));
        if let Some(Value::Map(env)) = attributes.get_mut("env") {
            env.insert(
                "DATABASE_URL".into(),
                Value::string("postgres://u:pw@h/db").sensitive(),
            );
        }
        let rendered = render(&attributes, 1, None).unwrap();
        let stable = find(&rendered, "Secret").unwrap();
        assert_eq!(stable["metadata"]["name"], "mita-secrets");
        assert!(stable["data"].get("database-url").is_some());
        let secret = rendered
            .config
            .iter()
            .find(|o| o["kind"] == "Secret" && o["immutable"] == true)
            .unwrap();
        assert!(secret["data"].get("DATABASE_URL").is_some());
        let container = &rendered.deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["env"],
            json!([{"name": "LOG_LEVEL", "value": "INFO"}])
        );
        assert_eq!(
            container["envFrom"][0]["secretRef"]["name"],
            secret["metadata"]["name"]
        );
        // Without the values (from state), the recorded name must be given.
        let mut redacted = attributes.clone();
        if let Some(Value::Map(env)) = redacted.get_mut("env") {
            env.insert("DATABASE_URL".into(), Value::Redacted("sha256:x".into()));
        }
        assert!(render(&redacted, 2, None).is_err());
        let again = render(&redacted, 2, rendered.secret_name.as_deref()).unwrap();
        assert!(find(&again, "Secret").is_none());
        assert_eq!(again.secret_name, rendered.secret_name);
    }

    #[test]
    fn pods_are_restricted_by_default_and_each_setting_can_be_relaxed() {
        let rendered = render(
            &release(json!({"env": {"PROMETHEUS_MULTIPROC_DIR": "/var/prom"},
                "migrate": {"command": ["migrate"]},
                "cronjobs": {"backup": {"schedule": "0 2 * * *", "command": ["backup"]}}})),
            1,
            None,
        )
        .unwrap();
        let cron = find(&rendered, "CronJob").unwrap();
        for pod in [
            &rendered.deployment["spec"]["template"]["spec"],
            &rendered.migration.as_ref().unwrap()["spec"]["template"]["spec"],
            &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        ] {
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            assert_eq!(pod["automountServiceAccountToken"], false);
            let c = &pod["containers"][0];
            assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
            assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
            assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
            let mounts: Vec<&str> = c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["mountPath"].as_str())
                .collect();
            assert_eq!(mounts, ["/tmp", "/var/prom"]);
            assert_eq!(pod["volumes"][0]["emptyDir"], json!({}));
        }
        let relaxed = render(
            &release(json!({"image_digest": "sha256:abc",
                "security": {"read_only_root_filesystem": false, "writable_paths": [],
                             "seccomp_profile": "", "drop_all_capabilities": false,
                             "automount_service_account_token": true}})),
            1,
            None,
        )
        .unwrap();
        let pod = &relaxed.deployment["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "ghcr.io/mita/backend:v1.0.0@sha256:abc");
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], false);
        assert!(c["securityContext"].get("capabilities").is_none());
        assert!(pod["securityContext"].get("seccompProfile").is_none());
        assert!(pod.get("volumes").is_none() && c.get("volumeMounts").is_none());
        assert_eq!(pod["automountServiceAccountToken"], true);
    }

    #[test]
    fn the_network_policy_covers_every_pod_and_both_directions() {
        let open = render(
            &release(json!({"security": {"network_policy": true}})),
            1,
            None,
        )
        .unwrap();
        let policy = find(&open, "NetworkPolicy").unwrap();
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        // Nobody is admitted unless named; only DNS is allowed out.
        assert_eq!(policy["spec"]["ingress"], json!([]));
        assert_eq!(policy["spec"]["egress"].as_array().unwrap().len(), 1);
        assert!(policy["spec"]["podSelector"]["matchLabels"]
            .get(COMPONENT)
            .is_none());
        let lb = json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}});
        let rendered = render(
            &release(json!({"security": {"network_policy": true, "ingress_from": [lb],
                "egress": [{"name": "postgresql", "ports": [5432], "to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}]},
                           {"ports": ["443"]}]}})),
            1,
            None,
        )
        .unwrap();
        let spec = &find(&rendered, "NetworkPolicy").unwrap()["spec"];
        assert_eq!(spec["ingress"][0]["from"][0], lb);
        assert_eq!(spec["ingress"][0]["ports"][0]["port"], 8000);
        assert_eq!(spec["egress"][1]["ports"][0]["port"], 5432);
        assert_eq!(spec["egress"][2]["ports"][0]["port"], 443);
        assert!(spec["egress"][2].get("to").is_none());
    }

    #[test]
    fn service_account_annotations_skip_empty_values() {
        let rendered = render(
            &release(
                json!({"service_account": "mita", "service_account_annotations":
                {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/backup", "unset": ""}}),
            ),
            1,
            None,
        )
        .unwrap();
        let account = find(&rendered, "ServiceAccount").unwrap();
        assert_eq!(
            account["metadata"]["annotations"],
            json!({"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/backup"})
        );
        assert_eq!(account["automountServiceAccountToken"], false);
    }

    #[test]
    fn long_tags_keep_the_spec_digest_in_job_names() {
        let name = suffixed_name(&format!("mita-migrate-{}", "sha-".repeat(30)), "0123456789");
        assert!(name.len() <= 63 && name.ends_with("-0123456789"), "{name}");
    }

    #[test]
    fn names_are_valid_kubernetes_names() {
        assert_eq!(kube_name("Mita_Backend-v1.0.0"), "mita-backend-v1-0-0");
        assert_eq!(kube_name(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let error = render(
            &release(json!({"ingress": {"hots": "mita.finance"}})),
            1,
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("hots"), "{error}");
    }
}
