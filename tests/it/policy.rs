//! The policy gate through the binary: Rego policies of `policies/` evaluated on the plan's
//! Terraform-format JSON during `plan` and again before `apply`, waivers with expiry dates,
//! diagnostics for policies that do not parse, and the MITA Security Checklist.

use std::path::{Path, PathBuf};

use crate::mita_env::edit;
use crate::support::{plinth, Run};

const GATED_STACK: &str = r#"
[stack]
name = "gated"
environments = ["test"]

[sim_resource.db]
name = "db"
size = "1"
tags = { encrypted = "false" }

[sim_resource.web]
name = "web"
size = "1"
"#;

const TAG_POLICY: &str = r#"# Every database carries encrypted = "true".
package gate.tags

import rego.v1

deny contains {"msg": "the database must be encrypted", "address": rc.address, "attribute": "tags.encrypted"} if {
	some rc in input.resource_changes
	rc.type == "sim_resource"
	rc.change.after.name == "db"
	rc.change.after.tags.encrypted != "true"
}

warn contains sprintf("%s has no tags", [rc.address]) if {
	some rc in input.resource_changes
	rc.change.after.name == "web"
	not rc.change.after.tags
}
"#;

struct Gated {
    dir: tempfile::TempDir,
}

impl Gated {
    fn new(with_policy: bool) -> Gated {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("stack.toml"), GATED_STACK).expect("write stack");
        let gated = Gated { dir };
        if with_policy {
            gated.add_policy("tags.rego", TAG_POLICY);
        }
        gated
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn add_policy(&self, name: &str, text: &str) {
        let dir = self.path().join("policies");
        std::fs::create_dir_all(&dir).expect("policies dir");
        std::fs::write(dir.join(name), text).expect("write policy");
    }

    fn append(&self, text: &str) {
        let path = self.path().join("stack.toml");
        let mut stack = std::fs::read_to_string(&path).expect("read stack");
        stack.push_str(text);
        std::fs::write(path, stack).expect("write stack");
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(
            plinth()
                .args(args)
                .arg(self.path())
                .output()
                .expect("run plinth"),
        )
    }

    /// Objects in the simulated cloud.
    fn cloud_objects(&self) -> usize {
        let resources = self.path().join(".plinth/sim-cloud/resources");
        std::fs::read_dir(resources).map_or(0, |entries| entries.count())
    }
}

#[test]
fn a_denying_policy_fails_plan_and_apply_with_exit_4_and_nothing_is_created() {
    let stack = Gated::new(true);
    let plan = stack.run(&["plan"]).expect(4);
    assert!(
        plan.stdout.contains("Policy checks: 1 policy in")
            && plan.stdout.contains("1 denied, 1 warning, 0 waived"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("✗ deny    gate.tags  sim_resource.db  tags.encrypted"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("the database must be encrypted"));
    assert!(
        plan.stdout
            .contains("! warn    gate.tags  sim_resource.web"),
        "a string result is attributed to the address it mentions:\n{}",
        plan.stdout
    );
    assert!(
        plan.stderr
            .contains("1 policy violation (gate.tags on sim_resource.db)"),
        "{}",
        plan.stderr
    );
    stack.run(&["plan", "--detailed-exitcode"]).expect(4);

    let apply = stack.run(&["apply", "--auto-approve"]).expect(4);
    assert!(
        apply.stderr.contains("apply refused, nothing was changed"),
        "{}",
        apply.stderr
    );
    assert_eq!(stack.cloud_objects(), 0, "nothing was created");

    // Fixed: the plan passes and the apply goes ahead.
    std::fs::write(
        stack.path().join("stack.toml"),
        GATED_STACK.replace("encrypted = \"false\"", "encrypted = \"true\""),
    )
    .expect("write stack");
    let plan = stack.run(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains("0 denied, 1 warning, 0 waived"),
        "{}",
        plan.stdout
    );
    stack.run(&["apply", "--auto-approve"]).expect(0);
    assert!(stack.cloud_objects() > 0);
}

#[test]
fn a_saved_plan_is_checked_again_with_the_policies_of_now() {
    let stack = Gated::new(false);
    let planfile = stack.path().join("reviewed.plan");
    let plan = stack
        .run(&["plan", "--out", planfile.to_str().expect("utf-8 path")])
        .expect(0);
    assert!(!plan.stdout.contains("Policy checks"), "no policies yet");
    // A policy lands between review and apply: the saved plan is refused.
    stack.add_policy("tags.rego", TAG_POLICY);
    let apply = Run::from(
        plinth()
            .args(["apply"])
            .arg(&planfile)
            .output()
            .expect("run plinth"),
    )
    .expect(4);
    assert!(apply.stdout.contains("gate.tags"), "{}", apply.stdout);
    assert!(apply.stderr.contains("apply refused"), "{}", apply.stderr);
    assert_eq!(stack.cloud_objects(), 0);
}

#[test]
fn a_waiver_accepts_a_violation_until_it_expires() {
    let stack = Gated::new(true);
    stack.append(
        r#"
[waivers.db-unencrypted]
policy  = "gate.tags"
address = "sim_resource.db"
reason  = "encryption arrives with the next engine version (TICKET-7)"
expires = 2999-12-31
"#,
    );
    let plan = stack.run(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains("~ waived  gate.tags  sim_resource.db")
            && plan.stdout.contains(
                "waived by `db-unencrypted` until 2999-12-31: encryption arrives with the next engine version (TICKET-7)"
            ),
        "{}",
        plan.stdout
    );
    let markdown = stack.run(&["plan", "--format", "markdown"]).expect(0);
    assert!(
        markdown.stdout.contains("<b>waived</b>") || markdown.stdout.contains("**waived**"),
        "{}",
        markdown.stdout
    );
    assert!(markdown.stdout.contains("TICKET-7"), "{}", markdown.stdout);
    let json = stack.run(&["plan", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan json");
    assert_eq!(
        doc["policy_checks"]["findings"][0]["waiver"]["name"],
        "db-unencrypted"
    );

    std::fs::write(
        stack.path().join("stack.toml"),
        std::fs::read_to_string(stack.path().join("stack.toml"))
            .expect("read")
            .replace("expires = 2999-12-31", "expires = \"2020-01-31\""),
    )
    .expect("write");
    let plan = stack.run(&["plan"]).expect(4);
    assert!(
        plan.stdout.contains(
            "waiver `db-unencrypted` (gate.tags on sim_resource.db) expired on 2020-01-31"
        ),
        "{}",
        plan.stdout
    );
}

#[test]
fn waivers_and_policies_with_mistakes_get_diagnostics_with_file_and_line() {
    let stack = Gated::new(false);
    stack.append(
        r#"
[waivers.half]
policy = "gate.tags"
address = "sim_resource.db"
expires = "2027-02-30"
"#,
    );
    let validate = stack.run(&["validate"]).expect(1);
    assert!(
        validate.stderr.contains("plinth::bad_waiver")
            && validate.stderr.contains("`expires` is not a date"),
        "{}",
        validate.stderr
    );

    let stack = Gated::new(false);
    stack.add_policy(
        "broken.rego",
        "package gate.broken\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := \n}\n",
    );
    for command in ["plan", "validate"] {
        let run = stack.run(&[command]).expect(1);
        assert!(
            run.stderr.contains("plinth::policy") && run.stderr.contains("broken.rego:"),
            "{command}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("broken.rego:6:") || run.stderr.contains("broken.rego:7:"),
            "{command}: the line of the error: {}",
            run.stderr
        );
    }
}

fn mita_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = dir.path().join("mita");
    crate::mita_env::copy_mita(&stack);
    let _ = std::fs::remove_dir_all(stack.join(".plinth"));
    (dir, stack)
}

fn plan_production(stack: &Path) -> Run {
    Run::from(
        plinth()
            .args(["plan"])
            .arg(stack)
            .args(["--env", "production"])
            .output()
            .expect("run plinth"),
    )
}

#[test]
fn mita_passes_its_security_checklist_and_each_setting_turned_off_fails_naming_it() {
    let (_keep, stack) = mita_copy();
    let plan = plan_production(&stack).expect(0);
    assert!(
        plan.stdout.contains("Policy checks: 11 policies in") && plan.stdout.contains("passed."),
        "{}",
        plan.stdout
    );
    // A targeted plan holds only some resources: the whole-stack rules (a default-deny
    // NetworkPolicy exists, monitoring exists) do not deny it, and the plan says so.
    let targeted = Run::from(
        plinth()
            .args(["plan"])
            .arg(&stack)
            .args(["--env", "production", "--target", "app_release.backend"])
            .output()
            .expect("run plinth"),
    )
    .expect(0);
    assert!(
        targeted
            .stdout
            .contains("a targeted plan: the policies saw only the resources it contains"),
        "{}",
        targeted.stdout
    );
    // (file, setting as written, turned off, policy, resource, attribute)
    let cases = [
        (
            "data.toml",
            "storage_encrypted = true",
            "storage_encrypted = false",
            "mita.encryption_at_rest",
            "aws_rds_instance.primary",
            "storage_encrypted",
        ),
        (
            "data.toml",
            "at_rest_encryption = true",
            "at_rest_encryption = false",
            "mita.encryption_at_rest",
            "aws_elasticache_replication_group.cache",
            "at_rest_encryption_enabled",
        ),
        (
            "data.toml",
            "server_side_encryption = \"AES256\"",
            "",
            "mita.encryption_at_rest",
            "aws_s3_bucket.",
            "server_side_encryption",
        ),
        (
            "data.toml",
            "transit_encryption = true",
            "transit_encryption = false",
            "mita.tls_in_transit",
            "aws_elasticache_replication_group.cache",
            "transit_encryption_enabled",
        ),
        (
            "data.toml",
            "\"rds.force_ssl\" = \"1\"",
            "\"rds.force_ssl\" = \"0\"",
            "mita.tls_in_transit",
            "aws_rds_parameter_group.pg15",
            "parameters",
        ),
        (
            // The edge is the module stacks/modules/https-edge (copied beside the stack).
            "../modules/https-edge/edge.toml",
            "ssl_policy        = \"ELBSecurityPolicy-TLS13-1-2-2021-06\"",
            "ssl_policy        = \"ELBSecurityPolicy-2016-08\"",
            "mita.tls_in_transit",
            "module.edge.aws_lb_listener.https",
            "ssl_policy",
        ),
        (
            "stack.toml",
            "deletion_protection = { default = true",
            "deletion_protection = { default = false",
            "mita.deletion_protection",
            "aws_rds_instance.primary",
            "deletion_protection",
        ),
        (
            "data.toml",
            "block_public_acls = true",
            "block_public_acls = false",
            "mita.no_public_buckets",
            "aws_s3_bucket.",
            "public_access_block.block_public_acls",
        ),
        (
            "app.toml",
            "network_policy = true",
            "network_policy = false",
            "mita.network_policy",
            "app_release.backend",
            "security.network_policy",
        ),
        (
            "app.toml",
            "run_as_non_root = true",
            "run_as_non_root = false",
            "mita.run_as_non_root",
            "app_release.backend",
            "security.run_as_non_root",
        ),
        (
            "data.toml",
            "backup_retention_days = 7",
            "backup_retention_days = 1",
            "mita.backups",
            "aws_rds_instance.primary",
            "backup_retention_period",
        ),
        (
            "network.toml",
            "to_port = 5432, security_groups = [\"${aws_security_group.app.id}\"]",
            "to_port = 5432, cidr_blocks = [\"0.0.0.0/0\"]",
            "mita.network_tiers",
            "aws_security_group.db",
            "ingress",
        ),
        (
            "network.toml",
            "from_port = 443, to_port = 443,",
            "from_port = 22, to_port = 443,",
            "mita.network_tiers",
            "aws_security_group.alb",
            "ingress",
        ),
        (
            "stack.toml",
            "skip_final_snapshot = { default = false",
            "skip_final_snapshot = { default = true",
            "mita.deletion_protection",
            "aws_rds_instance.primary",
            "skip_final_snapshot",
        ),
        (
            "data.toml",
            "publicly_accessible = false # never",
            "publicly_accessible = true # never",
            "mita.no_public_database",
            "aws_rds_instance.primary",
            "publicly_accessible",
        ),
    ];
    for (file, on, off, policy, address, attribute) in cases {
        let (_keep, stack) = mita_copy();
        edit(&stack.join(file), on, off);
        let plan = plan_production(&stack);
        let named = plan.stdout.lines().any(|l| {
            l.contains("✗ deny")
                && l.contains(policy)
                && l.contains(address)
                && l.contains(attribute)
        });
        assert!(
            plan.code == 4 && named,
            "{file}: {off} must fail {policy} on {address} {attribute} (exit {})\n{}\n{}",
            plan.code,
            plan.stdout,
            plan.stderr
        );
    }
}

#[test]
fn a_conftest_policy_written_for_terraform_plans_runs_unchanged() {
    // conftest's Terraform example style: Rego v0, `input.resource_changes[_]`, Terraform's
    // type names, a message naming the Terraform address.
    let (_keep, stack) = mita_copy();
    std::fs::write(
        stack.join("policies/terraform_conftest.rego"),
        r#"package main

deny[msg] {
  rc := input.resource_changes[_]
  rc.type == "aws_db_instance"
  rc.change.actions[_] == "create"
  not rc.change.after.storage_encrypted
  not rc.change.after_unknown.storage_encrypted
  msg := sprintf("%v: RDS storage must be encrypted", [rc.address])
}
"#,
    )
    .expect("write policy");
    plan_production(&stack).expect(0);
    edit(
        &stack.join("data.toml"),
        "storage_encrypted = true",
        "storage_encrypted = false",
    );
    let plan = plan_production(&stack).expect(4);
    assert!(
        plan.stdout
            .contains("✗ deny    main  aws_rds_instance.primary")
            && plan
                .stdout
                .contains("aws_db_instance.primary: RDS storage must be encrypted"),
        "{}",
        plan.stdout
    );
}

/// The part of a plan from "Policy checks" (or "#### ...Policy checks") to the next section,
/// with the temporary directory replaced.
fn policy_section(text: &str, dir: &Path, start: &str, end: &str) -> String {
    let from = text.find(start).expect("a policy section");
    let rest = &text[from..];
    let to = rest[start.len()..]
        .find(end)
        .map_or(rest.len(), |i| i + start.len());
    rest[..to]
        .replace(&dir.display().to_string(), "<stack>")
        .trim_end()
        .to_string()
}

#[test]
fn the_policy_section_reads_as_a_reviewer_expects_in_text_and_markdown() {
    let stack = Gated::new(true);
    stack.append(
        r#"
[waivers.web-untagged]
policy  = "gate.tags"
address = "sim_resource.web"
reason  = "tags come with the cost-allocation work (FIN-9)"
expires = 2999-01-31

[waivers.gone]
policy  = "gate.tags"
address = "sim_resource.cache"
reason  = "the cache was removed"
expires = 2999-01-31
"#,
    );
    let text = stack.run(&["plan"]).expect(4);
    insta::assert_snapshot!(
        "policy_text",
        policy_section(&text.stdout, stack.path(), "Policy checks:", "\n\n")
    );
    let markdown = stack.run(&["plan", "--format", "markdown"]).expect(4);
    insta::assert_snapshot!(
        "policy_markdown",
        policy_section(
            &markdown.stdout,
            stack.path(),
            "#### ❌ Policy checks",
            "\n####"
        )
    );
}
