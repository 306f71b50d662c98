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
    /// Pins the image by digest (`sha256:...`): pods run `<image>@<digest>`.
    #[serde(default)]
    pub image_digest: Option<String>,
    /// `imagePullPolicy` (default `IfNotPresent` with a digest, else `Always`).
    #[serde(default)]
    pub image_pull_policy: Option<String>,
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
    /// Annotations of that ServiceAccount, e.g. `eks.amazonaws.com/role-arn` (IRSA); entries
    /// with an empty value are left out (an unset variable).
    #[serde(default)]
    pub service_account_annotations: BTreeMap<String, String>,
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
    /// Object names, each a template over `{release}` (and `{job}` / `{cronjob}`).
    #[serde(default)]
    pub names: Names,
    /// The app container's name (default: the release name).
    #[serde(default)]
    pub container_name: Option<String>,
}

/// The names of a release's objects. Defaults follow the common Helm chart convention of a
/// `<release>-<kind>` suffix where a kind is not the release itself.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Names {
    /// Deployment (default `{release}`).
    pub deployment: String,
    /// Service (default `{release}`).
    pub service: String,
    /// HorizontalPodAutoscaler (default `{release}-hpa`).
    pub hpa: String,
    /// Ingress (default `{release}-ingress`).
    pub ingress: String,
    /// NetworkPolicy (default `{release}`).
    pub network_policy: String,
    /// PodDisruptionBudget (default `{release}-pdb`).
    pub pdb: String,
    /// The Secret operators read (default `{release}-secrets`); each revision also gets an
    /// immutable copy `<secret>-<digest>` that its pods use, so a rollback restores the values.
    pub secret: String,
    /// The migration Job, re-created per revision (default `{release}-migration-latest`).
    pub migration: String,
    /// One-shot Jobs, re-created per revision (default `{release}-{job}-latest`).
    pub job: String,
    /// CronJobs (default `{release}-{cronjob}`).
    pub cronjob: String,
}

impl Default for Names {
    fn default() -> Names {
        let s = |t: &str| t.to_string();
        Names {
            deployment: s("{release}"),
            service: s("{release}"),
            hpa: s("{release}-hpa"),
            ingress: s("{release}-ingress"),
            network_policy: s("{release}"),
            pdb: s("{release}-pdb"),
            secret: s("{release}-secrets"),
            migration: s("{release}-migration-latest"),
            job: s("{release}-{job}-latest"),
            cronjob: s("{release}-{cronjob}"),
        }
    }
}

/// Fills a name template: `{release}`, `{job}` and `{cronjob}` (both from `item`).
pub fn fill(template: &str, release: &str, item: &str) -> String {
    crate::render::kube_name(
        &template
            .replace("{release}", release)
            .replace("{job}", item)
            .replace("{cronjob}", item),
    )
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

/// Pod security settings. The defaults meet the Pod Security Standard "restricted" profile
/// (and more: read-only root filesystem, no service-account token); each can be relaxed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// `runAsNonRoot` (default true).
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    /// `runAsUser`.
    #[serde(default, deserialize_with = "opt_int")]
    pub run_as_user: Option<i64>,
    /// `runAsGroup`.
    #[serde(default, deserialize_with = "opt_int")]
    pub run_as_group: Option<i64>,
    /// `fsGroup` (owner group of the writable volumes).
    #[serde(default, deserialize_with = "opt_int")]
    pub fs_group: Option<i64>,
    /// `readOnlyRootFilesystem` (default true); `writable_paths` get `emptyDir` volumes.
    #[serde(default = "yes")]
    pub read_only_root_filesystem: bool,
    /// Paths the app writes, each an `emptyDir` (default `/tmp`; `PROMETHEUS_MULTIPROC_DIR`
    /// from `env` is added).
    #[serde(default = "tmp")]
    pub writable_paths: Vec<String>,
    /// `capabilities.drop: [ALL]` (default true).
    #[serde(default = "yes")]
    pub drop_all_capabilities: bool,
    /// `seccompProfile.type` (default `RuntimeDefault`; `""` leaves it out).
    #[serde(default = "runtime_default")]
    pub seccomp_profile: String,
    /// `allowPrivilegeEscalation` (default false).
    #[serde(default)]
    pub allow_privilege_escalation: bool,
    /// `automountServiceAccountToken` (default false: the app does not call the API server).
    #[serde(default)]
    pub automount_service_account_token: bool,
    /// Generate a NetworkPolicy for every pod of the release (Ingress and Egress).
    #[serde(default)]
    pub network_policy: bool,
    /// Who may reach the app's ports: NetworkPolicy peers (e.g. the load balancer's
    /// `namespaceSelector` or `ipBlock`). Empty: nobody (no ingress rule).
    #[serde(default)]
    pub ingress_from: Vec<serde_json::Value>,
    /// Where pods may connect besides DNS (UDP/TCP 53 to kube-system, always allowed).
    #[serde(default)]
    pub egress: Vec<EgressRule>,
}

/// One egress rule: ports to peers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressRule {
    /// A name for readers (e.g. `postgresql`).
    #[serde(default)]
    pub name: Option<String>,
    /// TCP ports.
    pub ports: Vec<serde_json::Value>,
    /// NetworkPolicy peers (`ipBlock`, `namespaceSelector`, ...); empty: anywhere.
    #[serde(default)]
    pub to: Vec<serde_json::Value>,
}

impl Default for Security {
    fn default() -> Security {
        Security {
            run_as_non_root: true,
            run_as_user: None,
            run_as_group: None,
            fs_group: None,
            read_only_root_filesystem: true,
            writable_paths: tmp(),
            drop_all_capabilities: true,
            seccomp_profile: runtime_default(),
            allow_privilege_escalation: false,
            automount_service_account_token: false,
            network_policy: false,
            ingress_from: Vec::new(),
            egress: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

fn tmp() -> Vec<String> {
    vec!["/tmp".into()]
}

fn runtime_default() -> String {
    "RuntimeDefault".into()
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
    "names",
    "container_name",
    "image_digest",
    "image_pull_policy",
    "service_account_annotations",
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

/// The PodDisruptionBudget check: `min_available` (a count or `"N%"`) must leave at least one
/// pod evictable at the smallest replica count the release can run with (`replicas`, or the
/// HPA minimum), otherwise every node drain is blocked (or the budget is never met at all).
/// Returns the reason when it does not.
pub fn disruption_budget_problem(
    min_available: &serde_json::Value,
    replicas: i64,
) -> Option<String> {
    let needed = match min_available {
        serde_json::Value::Number(n) => n.as_i64()?,
        serde_json::Value::String(s) => match s.strip_suffix('%') {
            Some(percent) => {
                let percent: i64 = percent.trim().parse().ok()?;
                // The disruption controller rounds a percentage of minAvailable up.
                (percent * replicas + 99) / 100
            }
            None => s.trim().parse().ok()?,
        },
        _ => return None,
    };
    if needed > replicas {
        Some(format!(
            "min_available = {min_available} needs {needed} pods but the release runs {replicas}: the budget is never met"
        ))
    } else if needed == replicas {
        Some(format!(
            "min_available = {min_available} equals the {replicas} replica(s) the release runs: no pod may ever be evicted, every node drain blocks"
        ))
    } else {
        None
    }
}

impl ReleaseSpec {
    /// The fewest replicas the release runs with: the HPA minimum, else `replicas`.
    pub fn min_replicas(&self) -> i64 {
        self.autoscaling
            .as_ref()
            .map(|a| a.min)
            .unwrap_or(self.replicas)
    }

    /// Plan-time checks across fields (the PodDisruptionBudget against the replica count).
    pub fn check(&self) -> Result<(), KubeError> {
        if let Some(budget) = &self.pod_disruption_budget {
            let (replicas, which) = match &self.autoscaling {
                Some(a) => (a.min, "autoscaling.min"),
                None => (self.replicas, "replicas"),
            };
            if let Some(problem) = disruption_budget_problem(&budget.min_available, replicas) {
                return Err(KubeError::Invalid(format!(
                    "app_release {}: pod_disruption_budget.{problem} ({which} = {replicas}); lower min_available below {which} or raise {which}",
                    self.name
                )));
            }
        }
        Ok(())
    }

    /// The image reference pods run: with `@<digest>` when pinned.
    pub fn image_ref(&self) -> String {
        match self.image_digest.as_deref().filter(|d| !d.is_empty()) {
            Some(digest) if !self.image.contains('@') => format!("{}@{digest}", self.image),
            _ => self.image.clone(),
        }
    }

    /// The container name (default: the release name).
    pub fn container(&self) -> String {
        self.container_name
            .clone()
            .unwrap_or_else(|| self.name.clone())
    }

    /// A name from a template of [`Names`].
    pub fn object_name(&self, template: &str, item: &str) -> String {
        fill(template, &self.name, item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_budget_must_leave_one_pod_evictable() {
        assert!(disruption_budget_problem(&json!(2), 1)
            .unwrap()
            .contains("never met"));
        assert!(disruption_budget_problem(&json!(3), 3)
            .unwrap()
            .contains("drain"));
        assert_eq!(disruption_budget_problem(&json!(2), 3), None);
        assert_eq!(disruption_budget_problem(&json!("50%"), 3), None);
        assert!(disruption_budget_problem(&json!("100%"), 3).is_some());
        assert!(disruption_budget_problem(&json!("60%"), 2).is_some());
        assert_eq!(disruption_budget_problem(&json!("2"), 3), None);
    }

    #[test]
    fn names_fill_their_templates() {
        let names = Names::default();
        assert_eq!(
            fill(&names.hpa, "mita-production", ""),
            "mita-production-hpa"
        );
        assert_eq!(
            fill(&names.job, "mita-production", "seed-data"),
            "mita-production-seed-data-latest"
        );
        assert_eq!(
            fill(&names.cronjob, "mita-production", "backup"),
            "mita-production-backup"
        );
    }
}
