//! `stacks/mita` end to end through the real binary, against moto and kmock: apply the whole
//! guide, a no-op plan, in-place update vs replacement, a failed rollout rolled back, a failed
//! migration stopping the deployment, `plinth rollback`, pruning, `plinth render`, destroy.

use std::time::Instant;

use serde_json::Value as Json;

use crate::mita_env::{MitaEnv, NAMESPACE, RELEASE, SECRETS};
use crate::support::Run;

const IMAGE: &str = "ghcr.io/mita-finance/backend";

/// Every run's output and the state file must be free of the guide's secrets.
fn assert_no_secrets(env: &MitaEnv, runs: &[&Run]) {
    // State, journal and backup alike.
    let state = crate::support::all_text_under(&env.stack().join(".plinth"));
    for (name, value) in SECRETS {
        for run in runs {
            assert!(
                !run.stdout.contains(value) && !run.stderr.contains(value),
                "{name} leaked into output:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
        assert!(!state.contains(value), "{name} leaked into the state file");
    }
}

fn image_of(deployment: &Json) -> String {
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn release_revision(env: &MitaEnv) -> i64 {
    env.state()["resources"]["app_release.backend"]["attributes"]["revision"]
        .as_i64()
        .unwrap_or(0)
}

#[test]
fn mita_stack_end_to_end() {
    let started = Instant::now();
    let mut env = MitaEnv::start();
    let setup = started.elapsed();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // 1. Apply the whole guide to staging from nothing.
    let apply = env.plinth("apply", &["--auto-approve"]).expect(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 29 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );
    // The migration Job completes before the Deployment is applied.
    let migrated = apply
        .stderr
        .find("-migration-latest")
        .expect("migration ran");
    let completed = apply.stderr[migrated..]
        .find("completed")
        .map(|i| i + migrated)
        .expect("migration completed");
    let deployed = apply
        .stderr
        .find(&format!("applying Deployment {NAMESPACE}/{RELEASE}"))
        .expect("deployment applied");
    assert!(completed < deployed, "{}", apply.stderr);
    runtime.block_on(crate::mita_checks::aws_created(&env));
    crate::mita_checks::kubernetes_created(&env);
    runtime.block_on(crate::mita_checks::traffic_path(&env, RELEASE));

    // 2. Nothing to do right after.
    let noop = env.plinth("plan", &["--detailed-exitcode"]).expect(0);
    assert!(noop.stdout.contains("No changes."), "{}", noop.stdout);

    // 3. A bigger instance class is an in-place update of the primary and its replica, tagged
    //    DOWNTIME with how RDS makes it (the primary is Multi-AZ: a failover).
    env.vars.push("db_instance_class=db.r6g.xlarge".into());
    let resize = env.plinth("plan", &["--detailed-exitcode"]).expect(2);
    assert!(
        resize
            .stdout
            .contains("# aws_rds_instance.primary will be updated in place (instance class db.t4g.medium → db.r6g.xlarge: a failover to the resized standby")
            && resize
                .stdout
                .contains("risk: DOWNTIME — the cloud makes this change with a restart or a failover")
            && resize
                .stdout
                .contains("instance_class = \"db.t4g.medium\" -> \"db.r6g.xlarge\"")
            && resize
                .stdout
                .contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{}",
        resize.stdout
    );
    env.plinth("apply", &["--auto-approve"]).expect(0);
    runtime.block_on(crate::mita_checks::instance_class_is(&env, "db.r6g.xlarge"));
    env.plinth("plan", &["--detailed-exitcode"]).expect(0);

    // 4. A Redis engine upgrade is done in place by ElastiCache (`ModifyReplicationGroup`; a
    //    replacement would empty the cache); force-new attributes replace, naming the attribute.
    env.edit(
        "data.toml",
        "engine_version           = \"7.1\"",
        "engine_version           = \"7.2\"",
    );
    let upgrade = env.plinth("plan", &["--detailed-exitcode"]).expect(2);
    assert!(
        upgrade
            .stdout
            .contains("# aws_elasticache_replication_group.cache will be updated in place")
            && upgrade
                .stdout
                .contains("~ engine_version = \"7.1\" -> \"7.2\"\n"),
        "{}",
        upgrade.stdout
    );
    // ... but it cannot downgrade: a lower engine version is a replacement naming the attribute.
    env.edit(
        "data.toml",
        "engine_version           = \"7.2\"",
        "engine_version           = \"6.2\"",
    );
    let downgrade = env.plinth("plan", &["--detailed-exitcode"]).expect(2);
    for expected in [
        "# aws_elasticache_replication_group.cache must be replaced (`engine_version` forces replacement)",
        "~ engine_version = \"7.1\" -> \"6.2\" # forces replacement",
    ] {
        assert!(downgrade.stdout.contains(expected), "{expected}\n{}", downgrade.stdout);
    }
    env.edit(
        "data.toml",
        "engine_version           = \"6.2\"",
        "engine_version           = \"7.1\"",
    );
    env.edit(
        "data.toml",
        "bucket                 = \"mita-${env}-files\"",
        "bucket                 = \"mita-${env}-user-files\"",
    );
    env.edit(
        "data.toml",
        "at_rest_encryption       = true",
        "at_rest_encryption       = false",
    );
    // Turning encryption at rest off is a replacement, and the Security Checklist policies
    // deny it (exit 4): the plan is shown, it cannot be applied.
    let replace = env.plinth("plan", &["--detailed-exitcode"]).expect(4);
    for expected in [
        "✗ deny    mita.encryption_at_rest  aws_elasticache_replication_group.cache  at_rest_encryption_enabled",
        "# aws_s3_bucket.files must be replaced (`bucket` forces replacement)",
        "~ bucket = \"mita-staging-files\" -> \"mita-staging-user-files\" # forces replacement",
        "# aws_elasticache_replication_group.cache must be replaced (`at_rest_encryption` forces replacement)",
        "~ at_rest_encryption = true -> false # forces replacement",
        "risk: DATA LOSS",
        "Plan: 2 to add, 1 to change, 2 to destroy (2 replaced).",
    ] {
        assert!(
            replace.stdout.contains(expected),
            "{expected}\n{}",
            replace.stdout
        );
    }
    std::fs::copy(
        crate::support::repo_path("stacks/mita/data.toml"),
        env.stack().join("data.toml"),
    )
    .unwrap();
    env.plinth("plan", &["--detailed-exitcode"]).expect(0);

    // 5. A new image rolls out (revision 2).
    env.vars.push("image_tag=v1.1.0".into());
    env.plinth("apply", &["--auto-approve"]).expect(0);
    assert_eq!(
        image_of(&env.deployment().unwrap()),
        format!("{IMAGE}:v1.1.0")
    );
    assert_eq!(release_revision(&env), 2);

    // 6. A rollout that never becomes ready is rolled back to the previous image.
    env.kmock
        .deployment_never_ready(NAMESPACE, RELEASE, Some(&format!("{IMAGE}:v1.2.0")));
    env.vars.push("image_tag=v1.2.0".into());
    let stuck = env.plinth("apply", &["--auto-approve"]).expect(1);
    for expected in [
        "Apply failed:",
        "failed: app_release.backend",
        "ProgressDeadlineExceeded",
        "rolled back to revision 2 (image ghcr.io/mita-finance/backend:v1.1.0): ok",
    ] {
        assert!(
            stuck.stdout.contains(expected),
            "{expected}\n{}",
            stuck.stdout
        );
    }
    assert_eq!(
        image_of(&env.deployment().unwrap()),
        format!("{IMAGE}:v1.1.0")
    );
    assert_eq!(release_revision(&env), 2);
    env.kmock.reset();
    let generation = env.deployment().unwrap()["metadata"]["generation"].clone();

    // 7. A failed migration stops the release before the Deployment changes.
    env.kmock
        .job_fails(NAMESPACE, &format!("{RELEASE}-migration-latest"));
    env.vars.push("image_tag=v1.3.0".into());
    let migration = env.plinth("apply", &["--auto-approve"]).expect(1);
    assert!(
        migration.stdout.contains("failed: app_release.backend")
            && migration.stdout.contains("BackoffLimitExceeded"),
        "{}",
        migration.stdout
    );
    assert!(
        !migration.stderr.contains("seed-data-latest")
            && !migration
                .stderr
                .contains(&format!("{IMAGE}:v1.3.0 rolled out")),
        "{}",
        migration.stderr
    );
    let deployment = env.deployment().unwrap();
    assert_eq!(image_of(&deployment), format!("{IMAGE}:v1.1.0"));
    assert_eq!(deployment["metadata"]["generation"], generation);
    env.kmock.reset();
    env.vars.retain(|v| !v.starts_with("image_tag="));
    env.vars.push("image_tag=v1.1.0".into());
    env.plinth("plan", &["--detailed-exitcode"]).expect(0);

    // 8. `plinth rollback` re-applies revision 1 as revision 3 and records it.
    let rollback = env.rollback(&["app_release.backend"]).expect(0);
    assert!(
        rollback
            .stdout
            .contains("app_release.backend is at revision 3 (revision 1 re-applied, image ghcr.io/mita-finance/backend:v1.0.0"),
        "{}",
        rollback.stdout
    );
    assert_eq!(
        image_of(&env.deployment().unwrap()),
        format!("{IMAGE}:v1.0.0")
    );
    assert_eq!(release_revision(&env), 3);
    assert_eq!(env.state()["outputs"]["release_revision"], 3);
    let missing = env.rollback(&["app_release.backend", "9"]).expect(1);
    assert!(
        missing
            .stderr
            .contains("no revision 9 in the release history"),
        "{}",
        missing.stderr
    );
    let back = env.plinth("plan", &["--detailed-exitcode"]).expect(2);
    assert!(
        back.stdout.contains(
            "\"ghcr.io/mita-finance/backend:v1.0.0\" -> \"ghcr.io/mita-finance/backend:v1.1.0\""
        ),
        "{}",
        back.stdout
    );

    // 9. Removing the backup CronJob from the stack prunes it (and the release goes back to v1.1.0).
    let cronjobs = format!("/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs");
    assert_eq!(env.kube_names(&cronjobs), vec![format!("{RELEASE}-backup")]);
    env.edit(
        "app.toml",
        "cronjobs.backup = { schedule = \"0 2 * * *\", command = [\"python\", \"scripts/backup.py\"] }\n",
        "",
    );
    let prune = env.plinth("apply", &["--auto-approve"]).expect(0);
    assert!(
        prune
            .stderr
            .contains(&format!("pruning CronJob {NAMESPACE}/{RELEASE}-backup")),
        "{}",
        prune.stderr
    );
    assert!(env.kube_names(&cronjobs).is_empty());
    assert_eq!(
        image_of(&env.deployment().unwrap()),
        format!("{IMAGE}:v1.1.0")
    );
    env.plinth("plan", &["--detailed-exitcode"]).expect(0);

    // 10. `plinth render` shows what is recorded, secrets masked.
    let render = env
        .plinth("render", &["--release", "app_release.backend"])
        .expect(0);
    let documents = crate::mita_checks::yaml_documents(&render.stdout);
    assert!(documents
        .iter()
        .any(|d| d["kind"] == "Deployment" && image_of(d) == format!("{IMAGE}:v1.1.0")));
    assert!(
        !render.stdout.contains("(known after apply)"),
        "{}",
        render.stdout
    );

    // 11. Destroy leaves nothing behind.
    let destroy = env.plinth("destroy", &["--auto-approve"]).expect(0);
    assert!(
        destroy.stdout.contains("Destroy complete!"),
        "{}",
        destroy.stdout
    );
    runtime.block_on(crate::mita_checks::aws_empty(&env));
    crate::mita_checks::kubernetes_empty(&env);
    assert_no_secrets(
        &env,
        &[
            &apply, &noop, &resize, &stuck, &migration, &rollback, &prune, &render, &destroy,
        ],
    );
    eprintln!(
        "mita end to end: {:.1}s wall time ({:.1}s emulator setup)",
        started.elapsed().as_secs_f64(),
        setup.as_secs_f64()
    );
}

#[test]
fn render_prints_yaml_documents_without_a_cluster_or_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = crate::support::plinth();
    command
        .env_remove("KUBECONFIG")
        .env("HOME", dir.path())
        .env("PLINTH_STATE_DIR", dir.path())
        .env("JWT_SECRET", "render-test-jwt-secret-value")
        .args(["render", "--env", "production"])
        .arg(crate::support::repo_path("stacks/mita"));
    let run = Run::from(command.output().expect("run plinth")).expect(0);
    let documents = crate::mita_checks::yaml_documents(&run.stdout);
    let kinds: Vec<&str> = documents
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    for kind in [
        "ServiceAccount",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "CronJob",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    for document in &documents {
        assert!(document["apiVersion"].is_string(), "{document}");
        assert_eq!(document["metadata"]["namespace"], "mita-production");
    }
    let deployment = documents
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    assert_eq!(image_of(deployment), format!("{IMAGE}:v1.0.0"));
    let secret = documents
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == "mita-production-secrets")
        .expect("the guide's Secret");
    assert_eq!(secret["data"]["database-url"], "(sensitive)");
    assert_eq!(secret["data"]["jwt-secret"], "(sensitive)");
    let copy = documents
        .iter()
        .find(|d| d["kind"] == "Secret" && d["immutable"] == true)
        .expect("the revision's immutable copy");
    assert_eq!(copy["data"]["DATABASE_URL"], "(sensitive)");
    assert!(!run.stdout.contains("render-test-jwt-secret-value"));
    // Env values carrying a secret live only in the (masked) Secret.
    assert!(!deployment.to_string().contains("DATABASE_URL"));
}

/// Offline plan-time checks of the release: a PodDisruptionBudget the replica count can never
/// satisfy names both values, and a misspelt release field is named, without a cluster.
#[test]
fn plan_refuses_an_unsatisfiable_disruption_budget_and_unknown_release_fields() {
    let dir = tempfile::tempdir().unwrap();
    let plan = |stack: &std::path::Path, vars: &[&str]| {
        let mut command = crate::support::plinth();
        command
            .env_remove("KUBECONFIG")
            .env("HOME", dir.path())
            .env("PLINTH_STATE_DIR", dir.path())
            .args(["plan", "--env", "production"])
            .arg(stack);
        for var in vars {
            command.args(["--var", var]);
        }
        Run::from(command.output().expect("run plinth"))
    };
    let stack = crate::support::repo_path("stacks/mita");
    plan(&stack, &[]).expect(0);
    let budget = plan(&stack, &["pdb_min_available=3"]).expect(1);
    let text = format!("{}{}", budget.stdout, budget.stderr);
    for expected in [
        "app_release.backend",
        "min_available = 3",
        "autoscaling.min = 3",
        "every node drain blocks",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let copy = dir.path().join("mita");
    crate::mita_env::copy_mita(&copy);
    crate::mita_env::edit(
        &copy.join("app.toml"),
        "names = { hpa",
        "names = { hpaa = \"x\", hpa",
    );
    let typo = plan(&copy, &[]).expect(1);
    let text = format!("{}{}", typo.stdout, typo.stderr);
    assert!(text.contains("unknown field `hpaa`"), "{text}");
}
