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
    /// Name of the env Secret the pods read (None when the release has no secret env).
    pub secret_name: Option<String>,
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
    let labels = |component: &str| {
        json!({"app.kubernetes.io/name": name, INSTANCE: name, MANAGED_BY: "plinth",
               REVISION: revision.to_string(), COMPONENT: component})
    };
    let selector = json!({"app.kubernetes.io/name": name, INSTANCE: name, COMPONENT: "web"});
    let meta = |object_name: &str, component: &str| json!({"name": object_name, "namespace": ns, "labels": labels(component)});

    let mut out = Rendered::default();
    if let Some(account) = &spec.service_account {
        out.config.push(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(account, "web")}),
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
        {
            let digest = short_digest(&json!([ns, name, secret_entries]));
            let secret = format!("{name}-env-{digest}");
            let data: serde_json::Map<String, Json> = secret_entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::to_value(ByteString(v.clone().into_bytes()))
                            .unwrap_or(Json::Null),
                    )
                })
                .collect();
            out.config.push(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta(&secret, "config"),
                                   "type": "Opaque", "data": data}),
            );
            out.secret_name = Some(secret);
        }
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
    if let Some(user) = security.run_as_user {
        pod_security["runAsUser"] = json!(user);
    }
    let container = |command: Option<&[String]>| {
        let mut c = json!({"name": name, "image": spec.image, "env": env, "envFrom": env_from,
                           "securityContext": {"allowPrivilegeEscalation": false}});
        if let Some(r) = &resources {
            c["resources"] = r.clone();
        }
        if let Some(cmd) = command {
            c["command"] = json!(cmd);
        }
        c
    };
    let pod = |component: &str, c: Json, restart: Option<&str>| {
        let mut spec_json = json!({"securityContext": pod_security, "containers": [c]});
        if let Some(account) = &spec.service_account {
            spec_json["serviceAccountName"] = json!(account);
        }
        if let Some(policy) = restart {
            spec_json["restartPolicy"] = json!(policy);
        }
        let pod_labels = json!({"app.kubernetes.io/name": name, INSTANCE: name, MANAGED_BY: "plinth", COMPONENT: component});
        json!({"metadata": {"labels": pod_labels}, "spec": spec_json})
    };
    // A Job's template is immutable: its name carries the image tag and a digest of its spec,
    // so a new image (or new command/env) runs a new Job and an unchanged one is not re-run.
    let job = |job_name: &str, component: &str, command: &[String]| {
        let job_spec = json!({"backoffLimit": 1, "template": pod(component, container(Some(command)), Some("Never"))});
        let job_name = suffixed_name(
            &format!("{name}-{job_name}-{}", spec.image_tag()),
            &short_digest(&job_spec),
        );
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(&job_name, component), "spec": job_spec})
    };
    out.migration = spec
        .migrate
        .as_ref()
        .map(|m| job("migrate", "migrate", &m.command));
    out.jobs = spec
        .jobs
        .iter()
        .map(|(job_name, c)| job(job_name, "job", &c.command))
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
    if spec.autoscaling.is_none() {
        // Under an HPA the replica count is the HPA's field: Plinth leaves it out.
        deployment_spec["replicas"] = json!(spec.replicas);
    }
    out.deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, "web"), "spec": deployment_spec});

    let service_ports: Vec<Json> = spec.ports.iter()
        .map(|p| json!({"name": p.name, "port": p.service_port.unwrap_or(p.port), "targetPort": p.name, "protocol": "TCP"}))
        .collect();
    out.rest.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(name, "web"),
                         "spec": {"type": "ClusterIP", "selector": selector, "ports": service_ports}}));
    if let Some(scaling) = &spec.autoscaling {
        out.rest.push(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name, "web"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": scaling.min, "maxReplicas": scaling.max,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                  "target": {"type": "Utilization", "averageUtilization": scaling.cpu_percent}}}]}}));
    }
    if let Some(ingress) = &spec.ingress {
        let mut metadata = meta(name, "web");
        if !ingress.annotations.is_empty() {
            metadata["annotations"] = json!(ingress.annotations);
        }
        let service_port = spec.ports[0].service_port.unwrap_or(spec.ports[0].port);
        let mut ingress_spec = json!({"rules": [{"host": ingress.host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": service_port}}}}]}}]});
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
        let ports: Vec<Json> = spec
            .ports
            .iter()
            .map(|p| json!({"port": p.port, "protocol": "TCP"}))
            .collect();
        out.rest.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name, "web"),
            "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"], "ingress": [{"ports": ports}]}}));
    }
    if let Some(budget) = &spec.pod_disruption_budget {
        out.rest.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name, "web"),
            "spec": {"minAvailable": budget.min_available, "selector": {"matchLabels": selector}}}));
    }
    for (cron_name, cron) in &spec.cronjobs {
        let cron_object = kube_name(&format!("{name}-{cron_name}"));
        out.rest.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(&cron_object, "cronjob"),
            "spec": {"schedule": cron.schedule, "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3,
                     "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"spec": {"backoffLimit": 1,
                        "template": pod("cronjob", container(Some(&cron.command)), Some("OnFailure"))}}}}));
    }
    Ok(out)
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
    fn migration_job_name_follows_the_image_tag() {
        let v1 = render(
            &release(json!({"migrate": {"command": ["migrate"]}})),
            1,
            None,
        )
        .unwrap();
        let name = v1.migration.as_ref().unwrap()["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(name.starts_with("mita-migrate-v1-0-0-"), "{name}");
        let mut other = release(json!({"migrate": {"command": ["migrate"]}}));
        other.insert("image".into(), Value::string("ghcr.io/mita/backend:v1.1.0"));
        let v2 = render(&other, 2, None).unwrap();
        assert_ne!(v2.migration.unwrap()["metadata"]["name"], name.as_str());
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
        let secret = find(&rendered, "Secret").unwrap();
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
