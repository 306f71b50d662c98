//! The guide's own `kubectl` commands (docs/mita-production-deployment-guide.md), run
//! unchanged with the real `kubectl` against the test cluster after `plinth apply stacks/mita
//! --env production`. kubectl is `$PLINTH_KUBECTL` or `kubectl` on `PATH`; the test fails
//! (it does not skip) when it is missing.

use std::process::Command;

use serde_json::Value as Json;

use crate::mita_env::MitaEnv;

const NS: &str = "mita-production";

/// Runs kubectl with the environment's kubeconfig and a private discovery cache; returns
/// stdout, panicking with both streams when it fails.
fn kubectl(env: &MitaEnv, args: &[&str]) -> String {
    let binary = std::env::var("PLINTH_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let output = Command::new(&binary)
        .env("KUBECONFIG", env.kubeconfig())
        .arg("--cache-dir")
        .arg(env.dir.path().join("kubectl-cache"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {binary} (set PLINTH_KUBECTL): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "kubectl {}: {}\n{stdout}\n{stderr}",
        args.join(" "),
        output.status
    );
    // A real server gives kubectl no reason to warn (ambiguous short names, bad discovery) or
    // to log errors (klog lines like `E1202 ... reflector.go:...]`, e.g. an undecodable watch).
    let klog_error = stderr
        .lines()
        .any(|l| l.starts_with('E') && l[1..].starts_with(|c: char| c.is_ascii_digit()));
    assert!(
        !stderr.contains("Warning") && !klog_error,
        "kubectl {}: {stderr}",
        args.join(" ")
    );
    stdout
}

fn json(env: &MitaEnv, args: &[&str]) -> Json {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl(env, &all)).expect("kubectl JSON")
}

#[test]
fn mita_guide_runbook_with_real_kubectl() {
    let env = MitaEnv::start_in("production");
    env.plinth("apply", &["--auto-approve"]).expect(0);
    let noop = env.plinth("plan", &["--detailed-exitcode"]).expect(0);
    assert!(noop.stdout.contains("No changes."), "{}", noop.stdout);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::mita_checks::traffic_path(&env, NS));

    // "Verify Deployment": pods, services, ingress.
    let pods = kubectl(&env, &["get", "pods", "-n", NS]);
    assert_eq!(
        pods.lines()
            .filter(|l| l.starts_with("mita-production-"))
            .count(),
        3,
        "the Deployment starts at the HPA minimum:\n{pods}"
    );
    // `kubectl logs -l app=mita-production` selects by the `app` label.
    let labelled = json(
        &env,
        &["get", "pods", "-l", "app=mita-production", "-n", NS],
    );
    assert_eq!(labelled["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        labelled["items"][0]["spec"]["containers"][0]["name"],
        "backend"
    );
    // "Logging": by label, and the Deployment's `backend` container by name.
    let logs = kubectl(
        &env,
        &["logs", "-l", "app=mita-production", "-n", NS, "--tail=100"],
    );
    assert_eq!(
        logs.matches("/backend runs no process").count(),
        3,
        "{logs}"
    );
    let logs = kubectl(
        &env,
        &[
            "logs",
            "deployment/mita-production",
            "-c",
            "backend",
            "-n",
            NS,
        ],
    );
    assert!(logs.contains("/backend runs no process"), "{logs}");
    let services = kubectl(&env, &["get", "services", "-n", NS]);
    assert!(services.contains("mita-production "), "{services}");
    let ingress = kubectl(&env, &["get", "ingress", "-n", NS]);
    assert!(ingress.contains("mita-production-ingress"), "{ingress}");

    // "Backup Procedures": the cronjob and a manual run from it.
    let cronjobs = kubectl(&env, &["get", "cronjobs", "-n", NS]);
    assert!(cronjobs.contains("mita-production-backup"), "{cronjobs}");
    let manual = kubectl(
        &env,
        &[
            "create",
            "job",
            "mita-backup-manual",
            "--from=cronjob/mita-production-backup",
            "-n",
            NS,
        ],
    );
    assert!(
        manual.contains("job.batch/mita-backup-manual created"),
        "{manual}"
    );
    let job = json(&env, &["get", "job", "mita-backup-manual", "-n", NS]);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["python", "scripts/backup.py"])
    );

    // "Scaling": the HPA by the guide's name.
    let hpa = kubectl(&env, &["get", "hpa", "-n", NS]);
    assert!(hpa.contains("mita-production-hpa"), "{hpa}");
    let described = kubectl(&env, &["describe", "hpa", "mita-production-hpa", "-n", NS]);
    for expected in [
        "Reference:",
        "Deployment/mita-production",
        "Min replicas:",
        "Max replicas:",
    ] {
        assert!(described.contains(expected), "{expected}\n{described}");
    }
    assert!(
        described
            .lines()
            .any(|l| l.starts_with("Min replicas:") && l.trim_end().ends_with(" 3"))
            && described
                .lines()
                .any(|l| l.starts_with("Max replicas:") && l.trim_end().ends_with(" 10")),
        "{described}"
    );

    // "Kubernetes Secrets": the secret by name, with the guide's keys.
    let secret = json(
        &env,
        &["get", "secret", "mita-production-secrets", "-n", NS],
    );
    for key in [
        "database-url",
        "redis-url",
        "jwt-secret",
        "secret-key",
        "openai-api-key",
        "sentry-dsn",
        "backup-encryption-key",
    ] {
        assert!(secret["data"][key].is_string(), "{key} missing");
    }

    // "Database Migrations": the latest migration and seed jobs by their stable names.
    for name in [
        "mita-production-migration-latest",
        "mita-production-seed-data-latest",
    ] {
        let job = json(&env, &["get", "job", name, "-n", NS]);
        assert_eq!(job["status"]["succeeded"], 1, "{name}");
    }

    // "Emergency Shutdown": scale down all pods, then block ingress traffic (the guide's
    // exact patch).
    let scaled = kubectl(
        &env,
        &[
            "scale",
            "deployment",
            "mita-production",
            "--replicas=0",
            "-n",
            NS,
        ],
    );
    assert!(scaled.contains("scaled"), "{scaled}");
    let deployment = json(&env, &["get", "deployment", "mita-production", "-n", NS]);
    assert_eq!(deployment["spec"]["replicas"], 0);
    let patched = kubectl(
        &env,
        &[
            "patch",
            "ingress",
            "mita-production-ingress",
            "-n",
            NS,
            "-p",
            r#"{"metadata":{"annotations":{"nginx.ingress.kubernetes.io/whitelist-source-range":"127.0.0.1/32"}}}"#,
        ],
    );
    assert!(patched.contains("patched"), "{patched}");
    let ingress = json(
        &env,
        &["get", "ingress", "mita-production-ingress", "-n", NS],
    );
    assert_eq!(
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"],
        "127.0.0.1/32"
    );

    // "Disaster Recovery": switch the `backend` container to a restored database.
    let patched = kubectl(
        &env,
        &[
            "patch",
            "deployment",
            "mita-production",
            "-n",
            NS,
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"backend","env":[{"name":"DATABASE_URL","value":"<restored-db-url>"}]}]}}}}"#,
        ],
    );
    assert!(patched.contains("patched"), "{patched}");
    let deployment = json(&env, &["get", "deployment", "mita-production", "-n", NS]);
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "the patch merged into `backend`");
    assert_eq!(
        containers[0]["image"],
        "ghcr.io/mita-finance/backend:v1.0.0"
    );
    assert!(
        containers[0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "DATABASE_URL" && e["value"] == "<restored-db-url>"),
        "{}",
        containers[0]["env"]
    );

    // "Application Recovery": scale up again and wait for the rollout.
    let scaled = kubectl(
        &env,
        &[
            "scale",
            "deployment",
            "mita-production",
            "--replicas=3",
            "-n",
            NS,
        ],
    );
    assert!(scaled.contains("scaled"), "{scaled}");
    let status = kubectl(
        &env,
        &[
            "rollout",
            "status",
            "deployment/mita-production",
            "-n",
            NS,
            "--timeout=60s",
        ],
    );
    assert!(status.contains("successfully rolled out"), "{status}");
}
