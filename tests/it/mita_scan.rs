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
