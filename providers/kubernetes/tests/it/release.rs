//! app_release against kmock: the MITA release, ordering, rollback, failing migration, pruning.

use plinth_provider::{Object, Provider, Value};
use serde_json::json;

use crate::{cluster, ctx, get, object, Cluster};

const NS: &str = "mita-production";

/// The MITA production release (the same values as the README example).
pub fn mita(tag: &str) -> Object {
    let mut release = object(json!({
        "name": "mita", "namespace": NS, "image": format!("ghcr.io/mita-finance/backend:{tag}"), "replicas": 3,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2000m", "memory": "2Gi"}},
        "env": {"ENVIRONMENT": "production", "LOG_LEVEL": "INFO", "BACKUP_BUCKET": "mita-production-backups"},
        "ports": [{"name": "http", "port": 8000, "service_port": 80}],
        "probes": {"liveness": "/health", "readiness": "/health/production"},
        "security": {"run_as_non_root": true, "run_as_user": 1000, "network_policy": true},
        "ingress": {"host": "mita.finance", "tls": true, "class": "nginx",
                    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}},
        "autoscaling": {"min": 3, "max": 10, "cpu_percent": 70},
        "service_account": "mita",
        "migrate": {"command": ["alembic", "upgrade", "head"]},
        "jobs": {"seed-data": {"command": ["python", "scripts/seed_production_data.py"]}},
        "cronjobs": {"backup": {"schedule": "0 2 * * *", "command": ["python", "scripts/backup.py"]}},
        "pod_disruption_budget": {"min_available": 2},
    }));
    let env = release.get_mut("env").unwrap();
    if let Value::Map(env) = env {
        env.insert(
            "DATABASE_URL".into(),
            Value::string("postgresql+asyncpg://mita:pw@db.internal:5432/mita?sslmode=require")
                .sensitive(),
        );
    }
    let secrets = [
        "JWT_SECRET",
        "JWT_PREVIOUS_SECRET",
        "SECRET_KEY",
        "OPENAI_API_KEY",
        "SENTRY_DSN",
        "BACKUP_ENCRYPTION_KEY",
    ];
    // The engine marks a sensitive attribute as a whole (one digest for the table).
    let secret_env: Object = secrets
        .iter()
        .map(|k| (k.to_string(), Value::string(format!("{k}-value"))))
        .collect();
    release.insert("secret_env".into(), Value::Map(secret_env).sensitive());
    release
}

async fn prepared() -> Cluster {
    let cluster = cluster().await;
    let namespaces = cluster.provider.resource("k8s_namespace").unwrap();
    namespaces
        .create(&ctx("k8s_namespace.mita"), &object(json!({"name": NS})))
        .await
        .unwrap();
    cluster
}

fn created_at(object: &serde_json::Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn mita_release_creates_every_object_in_order() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let created = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    assert_eq!(created.id, "mita-production/mita");
    // Read right after create shows no drift.
    let read = resource
        .read(&ctx("app_release.mita"), &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert!(
        crate::same_inputs(&mita("v1.0.0"), &read),
        "read differs from the inputs: {read:?}"
    );
    assert_eq!(created.attributes["revision"], Value::Int(1));
    let history = created.attributes["history"].as_list().unwrap();
    assert_eq!(history.len(), 1);
    assert!(
        !format!("{:?}", created.attributes["history"]).contains("JWT_SECRET-value"),
        "no plaintext secret in history"
    );

    let deployment = get(&cluster, "apps/v1", "Deployment", Some(NS), "mita")
        .await
        .expect("deployment");
    // A new autoscaled Deployment starts at the HPA minimum (then the HPA owns the count).
    assert_eq!(deployment["spec"]["replicas"], 3, "{}", deployment["spec"]);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["serviceAccountName"], "mita");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "ghcr.io/mita-finance/backend:v1.0.0");
    assert_eq!(container["resources"]["requests"]["cpu"], "500m");
    assert_eq!(container["resources"]["limits"]["memory"], "2Gi");
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"],
        "/health/production"
    );
    assert!(
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["name"] != "DATABASE_URL"),
        "secret env is not inline"
    );
    let secret_name = container["envFrom"][0]["secretRef"]["name"]
        .as_str()
        .unwrap();
    let secret = get(&cluster, "v1", "Secret", Some(NS), secret_name)
        .await
        .expect("env secret");
    assert!(
        secret["data"].get("DATABASE_URL").is_some() && secret["data"].get("SENTRY_DSN").is_some()
    );
    assert_eq!(secret["immutable"], true);
    // The operators' Secret, as the guide names it and spells its keys.
    let stable = get(&cluster, "v1", "Secret", Some(NS), "mita-secrets")
        .await
        .expect("the operators' secret");
    assert!(
        stable["data"].get("database-url").is_some() && stable["data"].get("sentry-dsn").is_some(),
        "{}",
        stable["data"]
    );
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "plinth"
    );
    assert_eq!(deployment["metadata"]["labels"]["plinth.dev/revision"], "1");

    let hpa = get(
        &cluster,
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        Some(NS),
        "mita-hpa",
    )
    .await
    .expect("hpa");
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_i64(),
            hpa["spec"]["maxReplicas"].as_i64()
        ),
        (Some(3), Some(10))
    );
    let ingress = get(
        &cluster,
        "networking.k8s.io/v1",
        "Ingress",
        Some(NS),
        "mita-ingress",
    )
    .await
    .expect("ingress");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "mita.finance");
    assert_eq!(ingress["spec"]["tls"][0]["secretName"], "mita-tls");
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt-prod"
    );
    let cron = get(&cluster, "batch/v1", "CronJob", Some(NS), "mita-backup")
        .await
        .expect("backup cronjob");
    assert_eq!(cron["spec"]["schedule"], "0 2 * * *");
    assert!(get(
        &cluster,
        "networking.k8s.io/v1",
        "NetworkPolicy",
        Some(NS),
        "mita"
    )
    .await
    .is_some());
    assert!(get(
        &cluster,
        "policy/v1",
        "PodDisruptionBudget",
        Some(NS),
        "mita-pdb"
    )
    .await
    .is_some());
    assert!(get(&cluster, "v1", "Service", Some(NS), "mita")
        .await
        .is_some());

    // The migration and seed Jobs ran, and before the Deployment was created.
    let objects = created.attributes["objects"].as_list().unwrap();
    let job_name = |prefix: &str| {
        objects
            .iter()
            .filter_map(Value::as_str)
            .find(|o| o.starts_with(&format!("Job/mita-{prefix}")))
            .unwrap()
            .trim_start_matches("Job/")
            .to_string()
    };
    assert_eq!(job_name("migration"), "mita-migration-latest");
    assert_eq!(job_name("seed-data"), "mita-seed-data-latest");
    let migration = get(
        &cluster,
        "batch/v1",
        "Job",
        Some(NS),
        &job_name("migration"),
    )
    .await
    .expect("migration job");
    let seed = get(
        &cluster,
        "batch/v1",
        "Job",
        Some(NS),
        &job_name("seed-data"),
    )
    .await
    .expect("seed job");
    assert_eq!(
        migration["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["alembic", "upgrade", "head"])
    );
    assert_eq!(migration["status"]["succeeded"], 1);
    let deployment_uid_version: u64 = deployment["metadata"]["generation"].as_u64().unwrap();
    assert_eq!(deployment_uid_version, 1);
    assert!(migration["metadata"]["uid"].is_string() && seed["status"]["succeeded"] == 1);
    assert!(
        created_at(&migration) < created_at(&deployment),
        "migration before deployment"
    );

    // Delete removes every object of the release.
    resource
        .delete(&ctx("app_release.mita"), &created.id, &created.attributes)
        .await
        .unwrap();
    assert!(get(&cluster, "apps/v1", "Deployment", Some(NS), "mita")
        .await
        .is_none());
    assert!(
        get(&cluster, "batch/v1", "CronJob", Some(NS), "mita-backup")
            .await
            .is_none()
    );
    assert!(resource
        .read(&ctx("app_release.mita"), &created.id, &created.attributes)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn failed_rollout_rolls_back_to_the_previous_image() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let v1 = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    cluster
        .kmock
        .deployment_never_ready(NS, "mita", Some("ghcr.io/mita-finance/backend:v1.1.0"));
    let error = resource
        .update(
            &ctx("app_release.mita"),
            &v1.id,
            &v1.attributes,
            &mita("v1.1.0"),
            &["image".into()],
        )
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("ProgressDeadlineExceeded") && text.contains("v1.1.0"),
        "names the failure: {text}"
    );
    assert!(
        text.contains("rolled back to revision 1")
            && text.contains("v1.0.0")
            && text.contains("ok"),
        "names the rollback: {text}"
    );
    let deployment = get(&cluster, "apps/v1", "Deployment", Some(NS), "mita")
        .await
        .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/mita-finance/backend:v1.0.0"
    );
    // The previous revision still works afterwards, and `rollback` re-applies it as a new revision.
    let app = cluster.provider.app_release();
    let rolled = app
        .rollback(&ctx("app_release.mita"), &v1.attributes, Some(1))
        .await
        .unwrap();
    assert_eq!(rolled["revision"], Value::Int(2));
    assert_eq!(rolled["history"].as_list().unwrap().len(), 2);
}

#[tokio::test]
async fn failing_migration_leaves_the_deployment_alone() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let v1 = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    let before = get(&cluster, "apps/v1", "Deployment", Some(NS), "mita")
        .await
        .unwrap();
    cluster.kmock.job_fails(NS, "mita-migration-latest");
    let error = resource
        .update(
            &ctx("app_release.mita"),
            &v1.id,
            &v1.attributes,
            &mita("v2.0.0"),
            &["image".into()],
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("BackoffLimitExceeded"),
        "{error}"
    );
    let after = get(&cluster, "apps/v1", "Deployment", Some(NS), "mita")
        .await
        .unwrap();
    assert_eq!(
        after["metadata"]["generation"], before["metadata"]["generation"],
        "deployment not updated"
    );
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/mita-finance/backend:v1.0.0"
    );
}

#[tokio::test]
async fn removed_cronjob_is_pruned_and_foreign_objects_are_kept() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let v1 = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    // An object someone else made with a similar name but without Plinth's labels.
    let objects = cluster.provider.resource("k8s_config_map").unwrap();
    objects
        .create(
            &ctx("k8s_config_map.x"),
            &object(json!({"name": "mita-backup", "namespace": NS})),
        )
        .await
        .unwrap();
    let mut v2 = mita("v1.0.1");
    v2.remove("cronjobs");
    let updated = resource
        .update(
            &ctx("app_release.mita"),
            &v1.id,
            &v1.attributes,
            &v2,
            &["cronjobs".into()],
        )
        .await
        .unwrap();
    assert_eq!(updated["revision"], Value::Int(2));
    assert!(
        get(&cluster, "batch/v1", "CronJob", Some(NS), "mita-backup")
            .await
            .is_none(),
        "cronjob pruned"
    );
    assert!(
        get(&cluster, "v1", "ConfigMap", Some(NS), "mita-backup")
            .await
            .is_some(),
        "unlabelled object kept"
    );
    let jobs = updated["objects"]
        .as_list()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|o| o.starts_with("Job/mita-migration"))
        .count();
    assert_eq!(jobs, 1);
    // The new revision's migration re-created the Job of the stable name with the new image.
    let migration = get(
        &cluster,
        "batch/v1",
        "Job",
        Some(NS),
        "mita-migration-latest",
    )
    .await
    .expect("the latest migration job");
    assert_eq!(
        migration["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/mita-finance/backend:v1.0.1"
    );
}

/// A server that ignores `labelSelector` (plain kmock, some proxies) lists every object: the
/// prune checks each object's labels itself and keeps what the release does not own.
#[tokio::test]
async fn prune_keeps_foreign_objects_when_the_server_ignores_label_selectors() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let v1 = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    let objects = cluster.provider.resource("k8s_object").unwrap();
    objects
        .create(
            &ctx("k8s_object.foreign"),
            &object(json!({"manifest": {"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "someone-elses-report", "namespace": NS},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "Never", "containers": [{"name": "report", "image": "busybox"}]}}}}}}})),
        )
        .await
        .unwrap();
    cluster.kmock.control(r#"{"ignore_label_selector": true}"#);
    let mut v2 = mita("v1.0.1");
    v2.remove("cronjobs");
    resource
        .update(
            &ctx("app_release.mita"),
            &v1.id,
            &v1.attributes,
            &v2,
            &["cronjobs".into()],
        )
        .await
        .unwrap();
    cluster.kmock.reset();
    assert!(
        get(
            &cluster,
            "batch/v1",
            "CronJob",
            Some(NS),
            "someone-elses-report"
        )
        .await
        .is_some(),
        "an unlabelled CronJob survived the prune"
    );
    assert!(
        get(&cluster, "batch/v1", "CronJob", Some(NS), "mita-backup")
            .await
            .is_none(),
        "the release's own CronJob was pruned"
    );
}

/// Regression: a Job's template is immutable, so an env change under the same image tag must
/// run a new migration Job instead of re-applying the old one (the server answers 422).
#[tokio::test]
async fn env_change_under_the_same_tag_runs_a_new_migration_job() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let v1 = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    let mut changed = mita("v1.0.0");
    if let Some(Value::Map(env)) = changed.get_mut("env") {
        env.insert("LOG_LEVEL".into(), Value::string("DEBUG"));
    }
    let v2 = resource
        .update(
            &ctx("app_release.mita"),
            &v1.id,
            &v1.attributes,
            &changed,
            &["env".into()],
        )
        .await
        .unwrap();
    let job = get(
        &cluster,
        "batch/v1",
        "Job",
        Some(NS),
        "mita-migration-latest",
    )
    .await
    .expect("the latest migration job");
    let env = &job["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "LOG_LEVEL" && e["value"] == "DEBUG"),
        "the Job was re-created with the new env: {env}"
    );
    assert_eq!(job["status"]["succeeded"], 1);
    assert_eq!(v2["revision"], Value::Int(2));
}

#[tokio::test]
async fn drift_and_crash_recovery() {
    let cluster = prepared().await;
    let resource = cluster.provider.resource("app_release").unwrap();
    let created = resource
        .create(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap();
    // Someone sets the image by hand: the refresh shows it.
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(crate::client(&cluster).await, NS);
    let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [{"name": "mita", "image": "ghcr.io/mita-finance/backend:hotfix"}]}}}});
    api.patch(
        "mita",
        &kube::api::PatchParams::apply("kubectl").force(),
        &kube::api::Patch::Apply(&patch),
    )
    .await
    .unwrap();
    let read = resource
        .read(&ctx("app_release.mita"), &created.id, &created.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read["image"],
        Value::string("ghcr.io/mita-finance/backend:hotfix")
    );
    // After a crash that lost the create's result, the release is found by its natural key.
    let recovered = resource
        .recover(&ctx("app_release.mita"), &mita("v1.0.0"))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(recovered.id, created.id);
    assert_eq!(recovered.attributes["revision"], Value::Int(0));
    let objects = cluster.provider.resource("k8s_object").unwrap();
    let missing = object(
        json!({"manifest": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nope", "namespace": NS}}}),
    );
    assert!(objects
        .recover(&ctx("k8s_object.nope"), &missing)
        .await
        .unwrap()
        .is_none());
}
