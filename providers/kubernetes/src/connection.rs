//! Finding the cluster: kubeconfig (`kubeconfig` setting, `KUBECONFIG`, `~/.kube/config`) with an
//! optional context, or in-cluster configuration. Configuring never fails because a cluster is
//! missing: `plinth plan` of a new environment works offline, and only calls that need the API
//! (apply, refresh) report the cluster as unreachable.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use plinth_provider::{ProviderConfig, ProviderError, Value};
use tokio::sync::OnceCell;

use crate::error::KubeError;

/// How the provider reaches the cluster, decided once at configure time.
pub struct Connection {
    client: Result<Client, String>,
    /// Whether `/version` answered, checked on first use.
    reachable: OnceCell<Result<(), String>>,
    /// Where the configuration came from, for messages.
    pub source: String,
}

impl Connection {
    /// Reads `[providers.kubernetes]`: `kubeconfig`, `context`, `in_cluster`.
    pub async fn from_settings(config: &ProviderConfig) -> Result<Connection, ProviderError> {
        // Precondition keys may sit in the same table; the engine hands them to `preflight`.
        const KNOWN: &[&str] = &[
            "kubeconfig",
            "context",
            "in_cluster",
            "preconditions",
            "min_version",
            "min_ready_nodes",
        ];
        if let Some(key) = config
            .settings
            .keys()
            .find(|k| !KNOWN.contains(&k.as_str()))
        {
            return Err(ProviderError::config(format!(
                "unknown setting `{key}` in [providers.kubernetes] (expected `kubeconfig`, `context` or `in_cluster`)"
            )));
        }
        let string = |key: &str| -> Result<Option<String>, ProviderError> {
            match config.settings.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
                    ProviderError::config(format!(
                        "`{key}` in [providers.kubernetes] must be a string"
                    ))
                }),
            }
        };
        let kubeconfig = string("kubeconfig")?.map(|path| expand_home(&path));
        let context = string("context")?;
        let in_cluster = config
            .settings
            .get("in_cluster")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (client, source) = build_client(kubeconfig, context, in_cluster).await;
        Ok(Connection {
            client,
            reachable: OnceCell::new(),
            source,
        })
    }

    /// A connection to an explicit kubeconfig file and context (tests and tools).
    pub async fn from_kubeconfig(path: PathBuf, context: Option<String>) -> Connection {
        let (client, source) = build_client(Some(path), context, false).await;
        Connection {
            client,
            reachable: OnceCell::new(),
            source,
        }
    }

    /// The client when the cluster answers; `Unreachable` otherwise (checked once).
    pub async fn client(&self) -> Result<Client, KubeError> {
        let client = self
            .client
            .as_ref()
            .map_err(|reason| KubeError::Unreachable(reason.clone()))?;
        let reachable = self
            .reachable
            .get_or_init(|| async {
                match client.apiserver_version().await {
                    Ok(_) => Ok(()),
                    Err(error) => Err(format!("{} did not answer: {error}", self.source)),
                }
            })
            .await;
        match reachable {
            Ok(()) => Ok(client.clone()),
            Err(reason) => Err(KubeError::Unreachable(reason.clone())),
        }
    }

    /// True when the cluster answered `/version`.
    pub async fn is_reachable(&self) -> bool {
        self.client().await.is_ok()
    }
}

async fn build_client(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    in_cluster: bool,
) -> (Result<Client, String>, String) {
    let options = KubeConfigOptions {
        context: context.clone(),
        ..Default::default()
    };
    let with_context = |source: String| match &context {
        Some(c) => format!("{source} (context `{c}`)"),
        None => source,
    };
    let (config, source) = if in_cluster {
        (
            Config::incluster().map_err(|e| e.to_string()),
            "in-cluster configuration".to_string(),
        )
    } else if let Some(path) = kubeconfig {
        let source = with_context(format!("kubeconfig `{}`", path.display()));
        let config = match Kubeconfig::read_from(&path) {
            Ok(file) => Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        (config, source)
    } else if std::env::var_os("KUBECONFIG").is_some() || default_kubeconfig_exists() {
        let source = with_context("kubeconfig from $KUBECONFIG or ~/.kube/config".to_string());
        (
            Config::from_kubeconfig(&options)
                .await
                .map_err(|e| e.to_string()),
            source,
        )
    } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        (
            Config::incluster().map_err(|e| e.to_string()),
            "in-cluster configuration".to_string(),
        )
    } else {
        return (
            Err("no kubeconfig found and not running in a cluster".to_string()),
            "nothing".to_string(),
        );
    };
    let client = config.and_then(|mut config| {
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(Duration::from_secs(60));
        Client::try_from(config).map_err(|e| e.to_string())
    });
    (client.map_err(|e| format!("{source}: {e}")), source)
}

fn default_kubeconfig_exists() -> bool {
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".kube/config").exists())
        .unwrap_or(false)
}

/// `~/x` → `$HOME/x`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
