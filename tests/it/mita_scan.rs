//! `plinth render stacks/mita --env production` checked by independent tools from the test
//! virtualenv: `kubernetes-validate` (schemas of Kubernetes 1.29 and 1.33, strict) and checkov's
//! Kubernetes framework, whose only failures may be the deliberate, overridable choices listed
//! in [`DELIBERATE`] (documented in the README's MITA section).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::support::Run;

/// checkov checks that fail on purpose, each with the setting that changes it.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "CKV_K8S_43",
        "image by digest: set `image_digest` (var.image_digest); a tag is the guide's default",
    ),
    (
        "CKV_K8S_40",
        "UID >= 10000: the guide's image runs as 1000 (`security.run_as_user`)",
    ),
    (
        "CKV_K8S_35",
        "secrets as env vars: the app reads DATABASE_URL etc. from its environment",
    ),
];

fn tool(name: &str) -> PathBuf {
    let python = plinth_testkit::venv_python();
    let path = python.parent().expect("venv bin").join(name);
    assert!(
        path.exists(),
        "{} missing from the test venv",
        path.display()
    );
    path
}

fn render_production(dir: &Path) -> PathBuf {
    let mut command = crate::support::plinth();
    command
        .env_remove("KUBECONFIG")
        .env("HOME", dir)
        .env("PLINTH_STATE_DIR", dir)
        .args(["render", "--env", "production"])
        .arg(crate::support::repo_path("stacks/mita"));
    let run = Run::from(command.output().expect("run plinth")).expect(0);
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    let file = manifests.join("mita-production.yaml");
    std::fs::write(&file, &run.stdout).unwrap();
    file
}

#[test]
fn mita_manifests_pass_schema_validation_for_1_29_and_1_33() {
    let dir = tempfile::Builder::new()
        .prefix("mita-scan")
        .tempdir()
        .unwrap();
    let file = render_production(dir.path());
    for version in ["1.29.0", "1.33.0"] {
        let output = Command::new(tool("kubernetes-validate"))
            .args(["--strict", "-k", version])
            .arg(&file)
            .output()
            .expect("kubernetes-validate");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{version}:\n{text}");
        let passed = text.matches(" passed for resource ").count();
        assert!(
            passed >= 12,
            "{version}: only {passed} resources checked:\n{text}"
        );
        assert!(!text.contains("ERROR") && !text.contains("WARN"), "{text}");
    }
}

#[test]
fn mita_manifests_have_no_checkov_failure_but_the_deliberate_ones() {
    let dir = tempfile::Builder::new()
        .prefix("mita-scan")
        .tempdir()
        .unwrap();
    let file = render_production(dir.path());
    let output = Command::new(tool("checkov"))
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "kubernetes",
            "--skip-download",
            "-o",
            "json",
            "-d",
        ])
        .arg(file.parent().unwrap())
        .output()
        .expect("checkov");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov JSON: {e}\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let results = &report["results"];
    let passed = results["passed_checks"].as_array().map_or(0, Vec::len);
    assert!(
        passed > 50,
        "checkov checked too little ({passed} passed):\n{stdout}"
    );
    let unexpected: Vec<String> = results["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            !DELIBERATE
                .iter()
                .any(|(id, _)| c["check_id"].as_str() == Some(id))
        })
        .map(|c| format!("{} {} ({})", c["check_id"], c["check_name"], c["resource"]))
        .collect();
    assert!(
        unexpected.is_empty(),
        "checkov failures:\n{}",
        unexpected.join("\n")
    );
    // The restricted-profile checks run and pass.
    for id in [
        "CKV_K8S_37",
        "CKV_K8S_31",
        "CKV_K8S_22",
        "CKV_K8S_20",
        "CKV_K8S_38",
    ] {
        assert!(
            results["passed_checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["check_id"] == id),
            "{id} did not pass"
        );
    }
}

/// The Pod Security Standard "restricted" profile (v1.29+), checked field by field on every
/// pod template of the render: the namespace enforces it, so a pod that breaks it is refused.
fn restricted_violations(kind: &str, pod: &Json) -> Vec<String> {
    let mut out = Vec::new();
    let spec = &pod["spec"];
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[field] == true {
            out.push(format!("{kind}: {field}"));
        }
    }
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let allowed = [
            "name",
            "emptyDir",
            "configMap",
            "secret",
            "projected",
            "downwardAPI",
            "persistentVolumeClaim",
            "csi",
            "ephemeral",
        ];
        if let Some(key) = volume
            .as_object()
            .unwrap()
            .keys()
            .find(|k| !allowed.contains(&k.as_str()))
        {
            out.push(format!("{kind}: volume type {key}"));
        }
    }
    let pod_non_root = spec["securityContext"]["runAsNonRoot"] == true;
    let pod_seccomp = spec["securityContext"]["seccompProfile"]["type"].as_str();
    for container in spec["containers"]
        .as_array()
        .into_iter()
        .chain(spec["initContainers"].as_array())
        .flatten()
    {
        let name = format!("{kind}/{}", container["name"]);
        let context = &container["securityContext"];
        if context["privileged"] == true {
            out.push(format!("{name}: privileged"));
        }
        if context["allowPrivilegeEscalation"] != false {
            out.push(format!("{name}: allowPrivilegeEscalation not false"));
        }
        if !(pod_non_root || context["runAsNonRoot"] == true) || context["runAsNonRoot"] == false {
            out.push(format!("{name}: runAsNonRoot"));
        }
        if context["runAsUser"] == 0 || spec["securityContext"]["runAsUser"] == 0 {
            out.push(format!("{name}: runAsUser 0"));
        }
        let seccomp = context["seccompProfile"]["type"].as_str().or(pod_seccomp);
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            out.push(format!("{name}: seccompProfile {seccomp:?}"));
        }
        let drops = context["capabilities"]["drop"].as_array();
        if !drops.is_some_and(|d| d.iter().any(|c| c == "ALL")) {
            out.push(format!("{name}: capabilities not dropped"));
        }
        for added in context["capabilities"]["add"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if added != "NET_BIND_SERVICE" {
                out.push(format!("{name}: adds {added}"));
            }
        }
        if container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p.get("hostPort").is_some())
        {
            out.push(format!("{name}: hostPort"));
        }
    }
    out
}

#[test]
fn mita_pods_meet_the_restricted_pod_security_standard() {
    let dir = tempfile::Builder::new()
        .prefix("mita-scan")
        .tempdir()
        .unwrap();
    let file = render_production(dir.path());
    let documents = crate::mita_checks::yaml_documents(&std::fs::read_to_string(file).unwrap());
    let mut pods = 0;
    let mut violations = Vec::new();
    for document in &documents {
        let kind = document["kind"].as_str().unwrap_or("?");
        let template = match kind {
            "Deployment" | "Job" => &document["spec"]["template"],
            "CronJob" => &document["spec"]["jobTemplate"]["spec"]["template"],
            _ => continue,
        };
        pods += 1;
        violations.extend(restricted_violations(kind, template));
        // Beyond the profile: no token, read-only root.
        assert_eq!(
            template["spec"]["automountServiceAccountToken"], false,
            "{kind}"
        );
        assert_eq!(
            template["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true,
            "{kind}"
        );
    }
    assert_eq!(
        pods, 4,
        "Deployment, migration and seed Jobs, backup CronJob"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // The check itself catches a pod that breaks the profile.
    let bad = serde_json::json!({"spec": {"hostNetwork": true, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}});
    assert_eq!(
        restricted_violations("Pod", &bad).len(),
        7,
        "{:?}",
        restricted_violations("Pod", &bad)
    );
}
