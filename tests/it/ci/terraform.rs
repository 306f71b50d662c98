//! The Terraform-format plan JSON (issue 13) read by a real consumer: checkov's
//! `terraform_plan` framework parses Plinth's plan of `stacks/mita` and evaluates its AWS
//! checks on every AWS resource type of the stack; no secret is in the document.

use std::collections::BTreeMap;
use std::process::Command;

use crate::support::{repo_path, Run};

const JWT: &str = "terraform-json-test-jwt-secret-value";

fn mita_terraform_json(dir: &std::path::Path) -> String {
    let mut command = crate::support::plinth();
    command
        .env_remove("KUBECONFIG")
        .env("HOME", dir)
        .env("PLINTH_STATE_DIR", dir)
        .env("JWT_SECRET", JWT)
        .args(["plan", "--env", "production", "--format", "terraform-json"])
        .arg(repo_path("stacks/mita"));
    Run::from(command.output().expect("run plinth"))
        .expect(0)
        .stdout
}

#[test]
fn the_document_has_terraforms_shape_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let text = mita_terraform_json(dir.path());
    assert!(!text.contains(JWT));
    assert!(!text.contains("$sensitive"));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format_version"], "1.2");
    let changes = doc["resource_changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for change in changes {
        for key in [
            "actions",
            "before",
            "after",
            "after_unknown",
            "before_sensitive",
            "after_sensitive",
        ] {
            assert!(change["change"].get(key).is_some(), "{key} in {change}");
        }
    }
    let db = changes
        .iter()
        .find(|c| c["type"] == "aws_db_instance")
        .expect("aws_rds_instance maps to aws_db_instance");
    assert!(db["address"]
        .as_str()
        .unwrap()
        .starts_with("aws_db_instance."));
    let after = &db["change"]["after"];
    assert!(after.get("backup_retention_period").is_some(), "{after}");
    assert!(after.get("backup_retention_days").is_none(), "{after}");
    assert!(doc["planned_values"]["root_module"]["resources"].is_array());
    assert!(doc["prior_state"]["values"]["root_module"]["resources"].is_array());
    assert!(doc["output_changes"].is_object());
}

#[test]
fn checkov_evaluates_its_aws_checks_on_every_aws_resource_type_of_mita() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, mita_terraform_json(dir.path())).unwrap();
    let checkov = plinth_testkit::venv_python()
        .parent()
        .expect("venv bin")
        .join("checkov");
    let output = Command::new(checkov)
        .current_dir(dir.path())
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("HOME", dir.path())
        .args([
            "--framework",
            "terraform_plan",
            "--skip-download",
            "-o",
            "json",
            "-f",
        ])
        .arg(&file)
        .output()
        .expect("run checkov");
    // checkov exits 1 when a check fails; that is a result, not an error.
    assert!(
        output.status.code() == Some(0) || output.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(
        report["summary"]["parsing_errors"], 0,
        "{}",
        report["summary"]
    );
    let mut per_type: BTreeMap<String, usize> = BTreeMap::new();
    for kind in ["passed_checks", "failed_checks"] {
        for check in report["results"][kind].as_array().unwrap() {
            let resource = check["resource"].as_str().unwrap();
            // `module.edge.aws_lb.web`: the type follows the module steps.
            let mut parts = resource.split('.').peekable();
            while parts.peek() == Some(&"module") {
                parts.next();
                parts.next();
            }
            let type_name = parts.next().unwrap().to_string();
            *per_type.entry(type_name).or_default() += 1;
        }
    }
    eprintln!("checkov results per resource type: {per_type:?}");
    for type_name in [
        "aws_db_instance",
        "aws_elasticache_replication_group",
        "aws_s3_bucket",
        "aws_lb",
    ] {
        assert!(
            per_type.get(type_name).copied().unwrap_or(0) > 0,
            "no checkov check evaluated on {type_name}: {per_type:?}"
        );
    }
}
