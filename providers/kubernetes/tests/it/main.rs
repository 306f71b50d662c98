//! Integration tests of the Kubernetes provider against kmock over HTTP with the real kube
//! client (one binary, a module per area). Each test starts its own emulator.

mod e2e;
mod objects;
mod preflight;
mod release;
mod render;

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use plinth_kubernetes::KubernetesProvider;
use plinth_provider::{CallContext, NoProgress, Object, Value};
use plinth_testkit::kmock::{Kmock, KMOCK_CONTEXT};

/// A running emulator and a provider configured for it.
pub struct Cluster {
    pub kmock: Kmock,
    pub provider: KubernetesProvider,
}

pub async fn cluster() -> Cluster {
    let kmock = Kmock::start();
    let provider =
        KubernetesProvider::from_kubeconfig(kmock.kubeconfig.clone(), Some(KMOCK_CONTEXT.into()))
            .await;
    Cluster { kmock, provider }
}

pub static NO_PROGRESS: NoProgress = NoProgress;

pub fn ctx(address: &str) -> CallContext<'_> {
    CallContext {
        address,
        token: "test-token",
        progress: &NO_PROGRESS,
        timeout: Some(Duration::from_secs(20)),
    }
}

/// Builds an [`Object`] from JSON.
pub fn object(json: serde_json::Value) -> Object {
    plinth_provider::object_from_json(json.as_object().expect("a JSON object"))
}

/// A kube client for the emulator, to look at objects directly.
pub async fn client(cluster: &Cluster) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kmock.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Reads an object as JSON (None when absent).
pub async fn get(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Option<serde_json::Value> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = kube::discovery::pinned_kind(&client(cluster).await, &gvk)
        .await
        .unwrap();
    let api: Api<DynamicObject> = match (caps.scope, namespace) {
        (kube::discovery::Scope::Namespaced, Some(ns)) => {
            Api::namespaced_with(client(cluster).await, ns, &resource)
        }
        _ => Api::all_with(client(cluster).await, &resource as &ApiResource),
    };
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

/// Input attributes of `attributes` equal `desired` (seeing through sensitivity).
pub fn same_inputs(desired: &Object, attributes: &Object) -> bool {
    desired
        .iter()
        .all(|(k, v)| v.same_as(attributes.get(k).unwrap_or(&Value::Null), "salt"))
}
