//! End-to-end against a real cluster, only when `PLINTH_E2E_KUBECONFIG` is set (CI runs it
//! on kind: `.github/workflows/e2e-kind.yml`). Without it the test returns at once.

use plinth_kubernetes::KubernetesProvider;
use plinth_provider::{Provider, Value};
use serde_json::json;

use crate::{ctx, object};

/// Needs a real cluster: run with `PLINTH_E2E_KUBECONFIG=... cargo test -p plinth-kubernetes
/// --test it e2e:: -- --ignored` (the kind workflow does). Ignored otherwise, so it is reported
/// as not run rather than passing without doing anything.
#[tokio::test]
#[ignore = "needs a real cluster: set PLINTH_E2E_KUBECONFIG and run with --ignored"]
async fn real_cluster_release_round_trip() {
    let path = std::env::var_os("PLINTH_E2E_KUBECONFIG")
        .expect("PLINTH_E2E_KUBECONFIG must point at the kubeconfig of a real cluster");
    let provider =
        KubernetesProvider::from_kubeconfig(path.into(), std::env::var("PLINTH_E2E_CONTEXT").ok())
            .await;
    let notes = provider
        .preflight(&object(
            json!({"min_version": "1.25", "min_ready_nodes": 1}),
        ))
        .await
        .unwrap();
    assert!(
        !notes.iter().any(|n| n.contains("unreachable")),
        "{notes:?}"
    );
    let namespaces = provider.resource("k8s_namespace").unwrap();
    let ns = namespaces
        .create(
            &ctx("k8s_namespace.e2e"),
            &object(json!({"name": "plinth-e2e"})),
        )
        .await
        .unwrap();
    let release = provider.resource("app_release").unwrap();
    let attributes = object(json!({
        "name": "web", "namespace": "plinth-e2e", "image": "nginxinc/nginx-unprivileged:1.27-alpine", "replicas": 2,
        "ports": [{"name": "http", "port": 8080}], "probes": {"readiness": "/"},
        "security": {"run_as_non_root": true, "network_policy": true},
        "migrate": {"command": ["sh", "-c", "echo migrated"]},
        "cronjobs": {"backup": {"schedule": "0 2 * * *", "command": ["sh", "-c", "echo backup"]}},
    }));
    let created = release
        .create(&ctx("app_release.web"), &attributes)
        .await
        .unwrap();
    assert_eq!(created.attributes["revision"], Value::Int(1));
    release
        .delete(&ctx("app_release.web"), &created.id, &created.attributes)
        .await
        .unwrap();
    namespaces
        .delete(&ctx("k8s_namespace.e2e"), &ns.id, &ns.attributes)
        .await
        .unwrap();
}
