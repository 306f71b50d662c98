//! The compact description of one application release, parsed from `app_release` attributes.

use std::collections::BTreeMap;

use plinth_provider::{Object, Value};
use serde::Deserialize;

use crate::error::KubeError;

/// What the user writes in `[app_release.<name>]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// Release name: prefix and `app.kubernetes.io/instance` of every object.
    pub name: String,
    /// Namespace the release lives in.
    pub namespace: String,
    /// Container image, e.g. `ghcr.io/mita-finance/backend:v1.0.0`.
    pub image: String,
    /// Replicas when autoscaling is off.
    #[serde(default = "one", deserialize_with = "int")]
    pub replicas: i64,
    /// Requests and limits.
    #[serde(default)]
    pub resources: Option<Resources>,
    /// Plain environment (a value holding a secret moves to the generated Secret).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Sensitive environment, always in the generated Secret.
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// Container ports (default one port `http` 8000).
    #[serde(default)]
    pub ports: Vec<Port>,
    /// HTTP probe paths.
    #[serde(default)]
    pub probes: Option<Probes>,
    /// Pod security and the network policy switch.
    #[serde(default)]
    pub security: Option<Security>,
    /// Ingress with optional TLS.
    #[serde(default)]
    pub ingress: Option<Ingress>,
    /// HorizontalPodAutoscaler; replicas then belong to it.
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    /// ServiceAccount to create and run as.
    #[serde(default)]
    pub service_account: Option<String>,
    /// Migration Job run (and awaited) before the rollout.
    #[serde(default)]
    pub migrate: Option<Command>,
    /// One-shot Jobs run after the migration, before the rollout (e.g. `seed-data`).
    #[serde(default)]
    pub jobs: BTreeMap<String, Command>,
    /// CronJobs by name.
    #[serde(default)]
    pub cronjobs: BTreeMap<String, CronJob>,
    /// PodDisruptionBudget.
    #[serde(default)]
    pub pod_disruption_budget: Option<DisruptionBudget>,
    /// Deployment `progressDeadlineSeconds` (default 600).
    #[serde(default, deserialize_with = "opt_int")]
    pub progress_deadline_seconds: Option<i64>,
}

/// Requests and limits, e.g. `{ cpu = "500m", memory = "1Gi" }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Requests.
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    /// Limits.
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

/// A container port.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// Port name (also the Service port name).
    pub name: String,
    /// Container port.
    #[serde(deserialize_with = "int")]
    pub port: i64,
    /// Service port (default: the container port).
    #[serde(default, deserialize_with = "opt_int")]
    pub service_port: Option<i64>,
}

/// Liveness and readiness HTTP paths, on the first port.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    /// e.g. `/health`.
    #[serde(default)]
    pub liveness: Option<String>,
    /// e.g. `/ready`.
    #[serde(default)]
    pub readiness: Option<String>,
}

/// Pod security settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// `runAsNonRoot`.
    #[serde(default)]
    pub run_as_non_root: bool,
    /// `runAsUser`.
    #[serde(default, deserialize_with = "opt_int")]
    pub run_as_user: Option<i64>,
    /// Generate a NetworkPolicy admitting traffic only to the release's ports.
    #[serde(default)]
    pub network_policy: bool,
}

/// Ingress settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    /// Host name, e.g. `mita.finance`.
    pub host: String,
    /// TLS with secret `<name>-tls` (issued by cert-manager when annotated).
    #[serde(default)]
    pub tls: bool,
    /// `ingressClassName`.
    #[serde(default)]
    pub class: Option<String>,
    /// Annotations, e.g. `cert-manager.io/cluster-issuer`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// HPA bounds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    /// minReplicas.
    #[serde(deserialize_with = "int")]
    pub min: i64,
    /// maxReplicas.
    #[serde(deserialize_with = "int")]
    pub max: i64,
    /// Target average CPU utilisation (default 70).
    #[serde(default = "seventy", deserialize_with = "int")]
    pub cpu_percent: i64,
}

/// A command run in the release's image.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// argv.
    pub command: Vec<String>,
}

/// A scheduled command.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronJob {
    /// Cron schedule, e.g. `0 2 * * *`.
    pub schedule: String,
    /// argv.
    pub command: Vec<String>,
}

/// PodDisruptionBudget.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisruptionBudget {
    /// minAvailable (a count or a percentage).
    pub min_available: serde_json::Value,
}

fn one() -> i64 {
    1
}

fn seventy() -> i64 {
    70
}

fn int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("expected a whole number")),
        serde_json::Value::String(s) => s
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a whole number"))),
        other => Err(serde::de::Error::custom(format!(
            "expected a whole number, found {other}"
        ))),
    }
}

fn opt_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    int(d).map(Some)
}

/// The attribute names of a release that are inputs (everything else is computed).
pub const INPUTS: &[&str] = &[
    "name",
    "namespace",
    "image",
    "replicas",
    "resources",
    "env",
    "secret_env",
    "ports",
    "probes",
    "security",
    "ingress",
    "autoscaling",
    "service_account",
    "migrate",
    "jobs",
    "cronjobs",
    "pod_disruption_budget",
    "progress_deadline_seconds",
];

impl ReleaseSpec {
    /// Parses the input attributes (secrets revealed). Computed attributes are ignored.
    pub fn from_attributes(attributes: &Object) -> Result<ReleaseSpec, KubeError> {
        let inputs: serde_json::Map<String, serde_json::Value> = attributes
            .iter()
            .filter(|(key, value)| INPUTS.contains(&key.as_str()) && !value.is_null())
            .map(|(key, value)| (key.clone(), value.to_plain_json()))
            .collect();
        let mut spec: ReleaseSpec = serde_json::from_value(serde_json::Value::Object(inputs))
            .map_err(|e| KubeError::Invalid(format!("app_release: {e}")))?;
        if spec.ports.is_empty() {
            spec.ports.push(Port {
                name: "http".into(),
                port: 8000,
                service_port: None,
            });
        }
        if let Some(scaling) = &spec.autoscaling {
            if scaling.min < 1 || scaling.max < scaling.min {
                return Err(KubeError::Invalid(format!(
                    "app_release {}: autoscaling needs 1 <= min <= max (got min {}, max {})",
                    spec.name, scaling.min, scaling.max
                )));
            }
        }
        Ok(spec)
    }

    /// Env entries whose value carries a secret (sensitive in the attributes).
    pub fn sensitive_env(attributes: &Object) -> Vec<String> {
        attributes
            .get("env")
            .and_then(Value::as_map)
            .map(|env| {
                env.iter()
                    .filter(|(_, v)| v.has_sensitive())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The image tag (after the last `:` past the last `/`), or `latest`.
    pub fn image_tag(&self) -> String {
        let last = self.image.rsplit('/').next().unwrap_or(&self.image);
        let without_digest = last.split('@').next().unwrap_or(last);
        without_digest
            .split_once(':')
            .map(|(_, tag)| tag.to_string())
            .unwrap_or_else(|| "latest".into())
    }
}
