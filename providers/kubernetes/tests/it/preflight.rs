//! preflight: offline plans and cluster preconditions.

use plinth_kubernetes::KubernetesProvider;
use plinth_provider::{Provider, ProviderConfig, ProviderFactory, Value};
use serde_json::json;

use crate::{cluster, ctx, object};

#[tokio::test]
async fn no_cluster_means_a_note_and_clear_apply_errors() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let port = plinth_testkit::free_port(); // nothing listens there
    std::fs::write(&kubeconfig, format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         contexts:\n- name: mita-staging\n  context:\n    cluster: c\n    user: u\ncurrent-context: mita-staging\nusers:\n- name: u\n  user: {{}}\n")).unwrap();
    let mut settings = plinth_provider::Object::new();
    settings.insert(
        "kubeconfig".into(),
        Value::string(kubeconfig.to_string_lossy()),
    );
    settings.insert("context".into(), Value::string("mita-staging"));
    let config = ProviderConfig {
        settings,
        environment: "staging".into(),
        work_dir: dir.path().into(),
    };
    let provider = plinth_kubernetes::KubernetesFactory
        .configure(&config)
        .await
        .expect("configure works offline");
    let notes = provider
        .preflight(&object(json!({"min_version": "1.25"})))
        .await
        .unwrap();
    assert!(
        notes[0].contains("cluster unreachable") && notes[0].contains("client-side diff only"),
        "{notes:?}"
    );
    // Plan refinement does nothing; apply fails clearly.
    let release = provider.resource("app_release").unwrap();
    let mut planned = crate::release::mita("v1.0.0");
    let before = planned.clone();
    release
        .refine_plan(&ctx("app_release.mita"), None, &mut planned)
        .await
        .unwrap();
    assert_eq!(planned, before);
    let error = release
        .create(&ctx("app_release.mita"), &before)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cluster unreachable"), "{error}");

    // A missing context in an existing kubeconfig is not fatal either.
    let mut settings = config.settings.clone();
    settings.insert("context".into(), Value::string("mita-production"));
    let provider = plinth_kubernetes::KubernetesFactory
        .configure(&ProviderConfig { settings, ..config })
        .await
        .unwrap();
    assert!(
        provider.preflight(&Default::default()).await.unwrap()[0].contains("client-side diff only")
    );
}

#[tokio::test]
async fn preconditions_on_version_and_ready_nodes() {
    let cluster = cluster().await;
    let provider: &KubernetesProvider = &cluster.provider;
    let wanted = object(json!({"min_version": "1.25", "min_ready_nodes": 3}));
    let notes = provider.preflight(&wanted).await.unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    cluster.kmock.set_ready_nodes(2);
    let error = provider.preflight(&wanted).await.unwrap_err();
    assert!(
        error.message.contains("2 Ready node(s)") && error.message.contains("at least 3"),
        "{error}"
    );
    cluster.kmock.reset();
    cluster.kmock.set_server_version("1.24");
    let error = provider.preflight(&wanted).await.unwrap_err();
    assert!(
        error.message.contains("1.24") && error.message.contains("1.25"),
        "{error}"
    );
}

#[tokio::test]
async fn plan_refinement_dry_runs_against_a_reachable_cluster() {
    let cluster = cluster().await;
    let namespaces = cluster.provider.resource("k8s_namespace").unwrap();
    let created = namespaces
        .create(&ctx("k8s_namespace.a"), &object(json!({"name": "a"})))
        .await
        .unwrap();
    let mut planned = object(json!({"name": "a", "labels": {"x": "y"}, "uid": null}));
    namespaces
        .refine_plan(
            &ctx("k8s_namespace.a"),
            Some(&created.attributes),
            &mut planned,
        )
        .await
        .unwrap();
    assert_eq!(planned["uid"], created.attributes["uid"]);
    // The dry run did not change the live object.
    let live = crate::get(&cluster, "v1", "Namespace", None, "a")
        .await
        .unwrap();
    assert!(live["metadata"].get("labels").is_none());
}

#[tokio::test]
async fn plan_of_a_new_crd_object_predicts_the_live_manifest_without_creating_it() {
    let cluster = cluster().await;
    let resource = cluster.provider.resource("k8s_object").unwrap();
    let mut planned = object(
        json!({"force": false, "manifest": {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
        "metadata": {"name": "letsencrypt-prod"}, "spec": {"acme": {"email": "ops@mita.finance"}}}}),
    );
    planned.insert("uid".into(), Value::Unknown);
    planned.insert("live_manifest".into(), Value::Unknown);
    resource
        .refine_plan(&ctx("k8s_object.issuer"), None, &mut planned)
        .await
        .unwrap();
    let predicted = planned["live_manifest"].to_plain_json();
    assert_eq!(
        predicted["spec"]["acme"]["email"], "ops@mita.finance",
        "{predicted}"
    );
    assert!(predicted["metadata"].get("managedFields").is_none());
    assert_eq!(
        planned["uid"],
        Value::Unknown,
        "a new object has no uid yet"
    );
    assert!(crate::get(
        &cluster,
        "cert-manager.io/v1",
        "ClusterIssuer",
        None,
        "letsencrypt-prod"
    )
    .await
    .is_none());
}

#[tokio::test]
async fn release_plan_is_dry_run_and_predicts_revision_and_objects() {
    let cluster = cluster().await;
    let namespaces = cluster.provider.resource("k8s_namespace").unwrap();
    namespaces
        .create(
            &ctx("k8s_namespace.mita"),
            &object(json!({"name": "mita-production"})),
        )
        .await
        .unwrap();
    let release = cluster.provider.resource("app_release").unwrap();
    let mut planned = crate::release::mita("v1.0.0");
    planned.remove("name");
    for computed in ["name", "revision", "history", "objects"] {
        planned.insert(computed.into(), Value::Unknown);
    }
    release
        .refine_plan(&ctx("app_release.backend"), None, &mut planned)
        .await
        .unwrap();
    assert_eq!(planned["name"], Value::string("backend"));
    assert_eq!(planned["revision"], Value::Int(1));
    let objects: Vec<&str> = planned["objects"]
        .as_list()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        objects.contains(&"Deployment/backend") && objects.contains(&"CronJob/backend-backup"),
        "{objects:?}"
    );
    assert!(
        crate::get(
            &cluster,
            "apps/v1",
            "Deployment",
            Some("mita-production"),
            "backend"
        )
        .await
        .is_none(),
        "dry run only"
    );
}
