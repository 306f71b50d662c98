//! create → read → no-op → update → delete → gone for every object type, CRDs included.

use plinth_provider::{Object, Provider, ProviderFactory, Value};
use serde_json::json;

use crate::{cluster, ctx, get, object, same_inputs, Cluster};

async fn namespace(cluster: &Cluster, name: &str) {
    let resource = cluster.provider.resource("k8s_namespace").unwrap();
    resource
        .create(&ctx("k8s_namespace.ns"), &object(json!({"name": name})))
        .await
        .unwrap();
}

/// The conformance cycle; returns the id it used.
async fn cycle(cluster: &Cluster, type_name: &str, first: Object, second: Object) {
    let resource = cluster.provider.resource(type_name).unwrap();
    let address = format!("{type_name}.test");
    let ctx = ctx(&address);
    let created = resource.create(&ctx, &first).await.unwrap();
    assert!(
        same_inputs(&first, &created.attributes),
        "{type_name}: create returned {:?}",
        created.attributes
    );
    assert!(
        matches!(created.attributes.get("uid"), Some(Value::String(_))),
        "{type_name}: no uid"
    );
    let read = resource
        .read(&ctx, &created.id, &created.attributes)
        .await
        .unwrap()
        .expect("exists after create");
    assert!(
        same_inputs(&first, &read),
        "{type_name}: read differs: {read:?}"
    );
    // No-op: applying the same inputs keeps the resource version.
    let again = resource
        .update(&ctx, &created.id, &read, &first, &[])
        .await
        .unwrap();
    assert_eq!(
        again.get("resource_version"),
        read.get("resource_version"),
        "{type_name}: no-op changed the object"
    );
    let updated = resource
        .update(&ctx, &created.id, &read, &second, &["*".into()])
        .await
        .unwrap();
    assert!(
        same_inputs(&second, &updated),
        "{type_name}: update returned {updated:?}"
    );
    let read = resource
        .read(&ctx, &created.id, &updated)
        .await
        .unwrap()
        .expect("exists after update");
    assert!(
        same_inputs(&second, &read),
        "{type_name}: read after update differs: {read:?}"
    );
    resource.delete(&ctx, &created.id, &read).await.unwrap();
    assert!(
        resource
            .read(&ctx, &created.id, &read)
            .await
            .unwrap()
            .is_none(),
        "{type_name}: still there after delete"
    );
    resource
        .delete(&ctx, &created.id, &read)
        .await
        .expect("deleting what is gone is fine");
}

#[tokio::test]
async fn namespace_cycle() {
    let cluster = cluster().await;
    cycle(&cluster, "k8s_namespace", object(json!({"name": "mita-production", "labels": {"team": "mita"}})),
          object(json!({"name": "mita-production", "labels": {"team": "finance"}, "annotations": {"a": "b"}}))).await;
}

#[tokio::test]
async fn secret_cycle_keeps_data_sensitive() {
    let cluster = cluster().await;
    namespace(&cluster, "apps").await;
    let mut first =
        object(json!({"name": "mita-production-secrets", "namespace": "apps", "type": "Opaque"}));
    let secret =
        |v: &str| Value::Map([("jwt-secret".to_string(), Value::string(v))].into()).sensitive();
    first.insert("data".into(), secret("s3cret-one"));
    let mut second = first.clone();
    second.insert("data".into(), secret("s3cret-two"));
    cycle(&cluster, "k8s_secret", first.clone(), second).await;
    // The data went to the API base64-encoded and reads back sensitive.
    let resource = cluster.provider.resource("k8s_secret").unwrap();
    let created = resource.create(&ctx("k8s_secret.x"), &first).await.unwrap();
    assert!(matches!(created.attributes["data"], Value::Sensitive(_)));
    let live = get(
        &cluster,
        "v1",
        "Secret",
        Some("apps"),
        "mita-production-secrets",
    )
    .await
    .unwrap();
    assert_eq!(live["data"]["jwt-secret"], "czNjcmV0LW9uZQ==");
    assert!(!format!("{}", created.attributes["data"]).contains("s3cret"));
}

#[tokio::test]
async fn config_map_and_network_policy_cycles() {
    let cluster = cluster().await;
    namespace(&cluster, "apps").await;
    cycle(&cluster, "k8s_config_map", object(json!({"name": "settings", "namespace": "apps", "data": {"LOG_LEVEL": "INFO"}})),
          object(json!({"name": "settings", "namespace": "apps", "data": {"LOG_LEVEL": "DEBUG", "ENVIRONMENT": "production"}}))).await;
    cycle(&cluster, "k8s_network_policy",
          object(json!({"name": "default-deny", "namespace": "apps", "pod_selector": {}, "policy_types": ["Ingress"]})),
          object(json!({"name": "default-deny", "namespace": "apps", "pod_selector": {}, "policy_types": ["Ingress", "Egress"],
                        "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}))).await;
}

#[tokio::test]
async fn crd_objects_cluster_issuer_and_prometheus_rule() {
    let cluster = cluster().await;
    namespace(&cluster, "monitoring").await;
    let issuer = |email: &str| {
        object(
            json!({"manifest": {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
        "metadata": {"name": "letsencrypt-prod"},
        "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": email,
                          "privateKeySecretRef": {"name": "letsencrypt-prod"},
                          "solvers": [{"http01": {"ingress": {"class": "nginx"}}}]}}}}),
        )
    };
    cycle(
        &cluster,
        "k8s_object",
        issuer("ops@mita.finance"),
        issuer("sre@mita.finance"),
    )
    .await;
    let rule = |threshold: &str| {
        object(
            json!({"manifest": {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "mita-app-alerts", "namespace": "monitoring"},
        "spec": {"groups": [{"name": "mita", "rules": [{"alert": "HighErrorRate",
            "expr": format!("rate(http_requests_total{{status=~\"5..\"}}[5m]) > {threshold}"), "for": "5m",
            "labels": {"severity": "critical"}}]}]}}}),
        )
    };
    cycle(&cluster, "k8s_object", rule("0.05"), rule("0.01")).await;
}

#[tokio::test]
async fn apply_conflicts_name_the_other_manager_unless_forced() {
    let cluster = cluster().await;
    namespace(&cluster, "apps").await;
    let resource = cluster.provider.resource("k8s_object").unwrap();
    let config_map = |level: &str, force: bool| {
        object(
            json!({"force": force, "manifest": {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shared", "namespace": "apps"}, "data": {"LOG_LEVEL": level}}}),
        )
    };
    let created = resource
        .create(&ctx("k8s_object.shared"), &config_map("INFO", false))
        .await
        .unwrap();
    // Someone else takes the field with kubectl.
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(crate::client(&cluster).await, "apps");
    let patch = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"LOG_LEVEL": "DEBUG"}});
    api.patch(
        "shared",
        &kube::api::PatchParams::apply("kubectl").force(),
        &kube::api::Patch::Apply(&patch),
    )
    .await
    .unwrap();
    let error = resource
        .update(
            &ctx("k8s_object.shared"),
            &created.id,
            &created.attributes,
            &config_map("WARN", false),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(error.code.as_deref(), Some("Conflict"), "{error}");
    assert!(
        error.message.contains("kubectl"),
        "the conflict names the other manager: {error}"
    );
    let forced = resource
        .update(
            &ctx("k8s_object.shared"),
            &created.id,
            &created.attributes,
            &config_map("WARN", true),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        forced["manifest"].as_map().unwrap()["data"],
        Value::from_json(&json!({"LOG_LEVEL": "WARN"}))
    );
}

#[tokio::test]
async fn identity_change_is_refused_as_force_new() {
    let cluster = cluster().await;
    let resource = cluster.provider.resource("k8s_object").unwrap();
    let ns = |name: &str| {
        object(
            json!({"manifest": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}}),
        )
    };
    let created = resource
        .create(&ctx("k8s_object.ns"), &ns("one"))
        .await
        .unwrap();
    assert_eq!(created.id, "v1:Namespace::one");
    let error = resource
        .update(
            &ctx("k8s_object.ns"),
            &created.id,
            &created.attributes,
            &ns("two"),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(error.code.as_deref(), Some("IdentityChanged"));
    assert!(plinth_kubernetes::KubernetesFactory
        .schemas()
        .iter()
        .any(|s| s.type_name == "k8s_namespace" && s.get("name").unwrap().force_new));
}

#[tokio::test]
async fn delete_waits_for_finalizers_to_clear() {
    let cluster = cluster().await;
    namespace(&cluster, "apps").await;
    let resource = cluster.provider.resource("k8s_object").unwrap();
    let manifest = object(json!({"manifest": {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "guarded", "namespace": "apps", "finalizers": ["example.com/cleanup"]}, "data": {"a": "b"}}}));
    let created = resource
        .create(&ctx("k8s_object.guarded"), &manifest)
        .await
        .unwrap();
    let client = crate::client(&cluster).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(client, "apps");
        let patch = json!({"metadata": {"finalizers": null}});
        api.patch(
            "guarded",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    });
    let started = std::time::Instant::now();
    resource
        .delete(&ctx("k8s_object.guarded"), &created.id, &created.attributes)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1400),
        "delete returned before the finalizer cleared"
    );
    release.await.unwrap();
    assert!(get(&cluster, "v1", "ConfigMap", Some("apps"), "guarded")
        .await
        .is_none());
}

/// Regression guard for kmock's merge-on-reapply gap: a field Plinth stops setting is removed.
#[tokio::test]
async fn reapply_drops_fields_plinth_no_longer_sets() {
    let cluster = cluster().await;
    namespace(&cluster, "apps").await;
    let resource = cluster.provider.resource("k8s_config_map").unwrap();
    let first =
        object(json!({"name": "settings", "namespace": "apps", "data": {"A": "1", "B": "2"}}));
    let created = resource
        .create(&ctx("k8s_config_map.s"), &first)
        .await
        .unwrap();
    let second = object(json!({"name": "settings", "namespace": "apps", "data": {"A": "1"}}));
    resource
        .update(
            &ctx("k8s_config_map.s"),
            &created.id,
            &created.attributes,
            &second,
            &["data".into()],
        )
        .await
        .unwrap();
    let live = get(&cluster, "v1", "ConfigMap", Some("apps"), "settings")
        .await
        .unwrap();
    assert_eq!(live["data"], json!({"A": "1"}));
}
