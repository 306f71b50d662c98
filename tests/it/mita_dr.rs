//! The README's disaster-recovery procedure ("MITA: disaster recovery"), read from the README
//! and run command by command with the real binary against moto and kmock, after `plinth
//! apply stacks/mita --env production`: the restore plan creates only the restored instance,
//! the switch only rolls the release out, and the AWS side is checked through the SDK.

use serde_json::Value as Json;

use crate::mita_env::MitaEnv;

const NS: &str = "mita-production";
use crate::support::Run;

/// The `plinth ...` lines of the README's disaster-recovery block, as argument lists.
fn procedure() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(crate::support::repo_path("README.md")).unwrap();
    let section = readme
        .split("### MITA: disaster recovery")
        .nth(1)
        .expect("the README has a disaster-recovery section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    block
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("plinth "))
        .map(words)
        .collect()
}

/// Shell words: blanks split, single quotes group (all the block uses).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

fn run(env: &MitaEnv, argv: &[String]) -> Run {
    let mut cmd = env.command();
    cmd.current_dir(env.dir.path());
    for arg in &argv[1..] {
        if arg == "stacks/mita" {
            cmd.arg(env.stack());
        } else {
            cmd.arg(arg);
        }
    }
    Run::from(cmd.output().expect("run plinth"))
}

fn secret_value(env: &MitaEnv, key: &str) -> String {
    use base64::Engine;
    let secret = env
        .kube_get(&format!("/api/v1/namespaces/{NS}/secrets/{NS}-secrets"))
        .expect("the release's Secret");
    let encoded = secret["data"][key].as_str().unwrap_or_default();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn mita_disaster_recovery_procedure() {
    let env = MitaEnv::start_in("production");
    env.plinth("apply", &["--auto-approve"]).expect(0);
    let steps = procedure();
    assert_eq!(steps.len(), 5, "{steps:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // 1. The restore plan: one create, the restored instance, from the primary's latest time.
    let plan = run(&env, &steps[0]).expect(0);
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("# aws_rds_instance.restore[0] will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("source = \"mita-production-db\""),
        "{}",
        plan.stdout
    );
    run(&env, &steps[1]).expect(0);
    let restored = runtime.block_on(async {
        let aws = env.aws().await;
        let all = aws.rds.describe_db_instances().send().await.unwrap();
        all.db_instances()
            .iter()
            .find(|d| d.db_instance_identifier() == Some("mita-production-restore"))
            .cloned()
            .expect("the restored instance exists")
    });
    assert_eq!(restored.db_instance_status(), Some("available"));
    assert_eq!(restored.engine(), Some("postgres"));
    assert_eq!(restored.publicly_accessible(), Some(false));
    assert_eq!(restored.multi_az(), Some(true));
    assert_eq!(restored.storage_encrypted(), Some(true));
    assert_eq!(restored.backup_retention_period(), Some(7));
    assert_eq!(
        restored
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name()),
        Some("mita-production-db")
    );
    assert_eq!(
        restored
            .db_parameter_groups()
            .first()
            .and_then(|g| g.db_parameter_group_name()),
        Some("mita-production-pg15")
    );
    assert_eq!(restored.vpc_security_groups().len(), 1);
    let endpoint = restored
        .endpoint()
        .and_then(|e| e.address())
        .unwrap()
        .to_string();
    // The application still uses the primary.
    assert!(!secret_value(&env, "database-url").contains(&endpoint));

    // 2. The switch: only the release changes (its database URLs, masked), then rolls out.
    let switch = run(&env, &steps[2]).expect(0);
    assert!(
        switch
            .stdout
            .contains("# app_release.backend will be updated in place"),
        "{}",
        switch.stdout
    );
    assert!(
        switch
            .stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        switch.stdout
    );
    assert!(!switch.stdout.contains(&endpoint) || !switch.stdout.contains("mita:"));
    for (name, value) in crate::mita_env::SECRETS {
        assert!(!switch.stdout.contains(value), "{name} in the plan");
    }
    run(&env, &steps[3]).expect(0);
    assert!(secret_value(&env, "database-url").contains(&endpoint));
    let deployment: Json = env
        .kube_get(&format!("/apis/apps/v1/namespaces/{NS}/deployments/{NS}"))
        .expect("deployment");
    assert!(deployment["metadata"]["generation"].as_i64().unwrap_or(0) >= 2);

    // 3. Nothing left to do; the primary is untouched.
    let check = run(&env, &steps[4]).expect(0);
    assert!(check.stdout.contains("No changes."), "{}", check.stdout);
    let primary_status = runtime.block_on(async {
        let aws = env.aws().await;
        let out = aws
            .rds
            .describe_db_instances()
            .db_instance_identifier("mita-production-db")
            .send()
            .await
            .unwrap();
        out.db_instances()[0]
            .db_instance_status()
            .map(str::to_string)
    });
    assert_eq!(primary_status.as_deref(), Some("available"));

    // A later restore time does nothing to the restored database, and the plan says so.
    let later = run(
        &env,
        &[
            "plinth",
            "plan",
            "stacks/mita",
            "--env",
            "production",
            "--var",
            "db_restore=1",
            "--var",
            "database=restore[0]",
            "--var",
            "database_reader=restore[0]",
            "--var",
            "db_restore_time=2026-12-03T09:30:00Z",
            "--detailed-exitcode",
        ]
        .map(String::from),
    )
    .expect(0);
    assert!(
        later
            .stderr
            .contains("`restore` is used only when the object is created")
            || later
                .stdout
                .contains("`restore` is used only when the object is created"),
        "{}\n{}",
        later.stdout,
        later.stderr
    );
}

#[test]
fn shell_words_keep_quoted_brackets() {
    assert_eq!(
        words("plinth plan stacks/mita --var database='restore[0]'"),
        [
            "plinth",
            "plan",
            "stacks/mita",
            "--var",
            "database=restore[0]"
        ]
    );
}
