//! The environment of the MITA end-to-end test: moto and kmock from the test kit, a copy of
//! `stacks/mita`, the network and certificate seeded as a platform team tags them (the stack
//! looks them up), and the real binary run
//! with `AWS_ENDPOINT_URL`, static test credentials, `KUBECONFIG` and the guide's secrets.

use std::path::{Path, PathBuf};
use std::process::Command;

use plinth_aws::{AwsSettings, Clients};
use plinth_provider::{ProviderConfig, Value};
use plinth_testkit::kmock::Kmock;
use plinth_testkit::moto::{Account, MotoServer};
use serde_json::Value as Json;

use crate::support::Run;

pub const REGION: &str = "us-east-1";
pub const NAMESPACE: &str = "mita-staging";
pub const RELEASE: &str = "mita-staging";

/// The guide's secrets ("Generate Production Secrets"), as CI would export them.
pub const SECRETS: &[(&str, &str)] = &[
    ("JWT_SECRET", "e2e-jwt-secret-2f1c9a7d5b3e8f0a6c4d"),
    ("JWT_PREVIOUS_SECRET", "e2e-jwt-previous-7a9c1e3b5d7f9a1c3e"),
    ("SECRET_KEY", "e2e-secret-key-4b6d8f0a2c4e6a8c0e2a"),
    ("OPENAI_API_KEY", "sk-e2e-openai-9d7b5f3a1c9e7b5d3f"),
    ("SENTRY_DSN", "https://e2e-sentry-key@sentry.example/42"),
    ("BACKUP_ENCRYPTION_KEY", "e2e-backup-key-1a3c5e7b9d1f3a5c7e"),
    (
        "PAGERDUTY_ROUTING_KEY",
        "e2e-pagerduty-routing-key-5c3a1e9b7d",
    ),
];

/// Both emulators, the account, and the stack copy.
pub struct MitaEnv {
    pub moto: MotoServer,
    pub account: Account,
    pub kmock: Kmock,
    pub dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    var_file: PathBuf,
    /// `--var` arguments added to every command (e.g. a new instance class).
    pub vars: Vec<String>,
    /// The stack environment (`staging` unless started with [`MitaEnv::start_in`]).
    pub env: &'static str,
    /// The seeded VPC the stack's security groups belong to.
    pub vpc_id: String,
    /// Its subnets tagged `Tier=private` (where the data tier must be).
    pub private_subnets: Vec<String>,
    /// The certificate imported for the environment's domain.
    pub certificate_arn: String,
}

impl MitaEnv {
    /// Starts moto and kmock, seeds the network and certificate, copies the stack (staging).
    pub fn start() -> MitaEnv {
        MitaEnv::start_in("staging")
    }

    /// The same for environment `env` (`staging` or `production`).
    pub fn start_in(env: &'static str) -> MitaEnv {
        let moto = MotoServer::start();
        let account = moto.new_account();
        // The platform team's network, found by the stack's `[data.*]` lookups by its tags.
        let network = moto.seed_named_network(&account, REGION, &format!("mita-{env}"));
        let domain = if env == "production" {
            "mita.finance".to_string()
        } else {
            format!("{env}.mita.finance")
        };
        let certificate_arn = moto.import_certificate(&account, REGION, &domain);
        let kmock = Kmock::start();
        // The Prometheus operator (guide: "Monitoring and Alerting") is a cluster prerequisite,
        // like the CRDs the launcher registers: it brings the `monitoring` namespace.
        let (status, body) = kube_send(
            &kmock,
            "POST",
            "/api/v1/namespaces",
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"monitoring"}}"#,
        );
        assert!(
            matches!(status, 200 | 201),
            "creating `monitoring`: {status} {body}"
        );
        // The ingress-nginx controller behind the ALB is a cluster prerequisite too: its
        // namespace and Service (the TargetGroupBinding's `serviceRef`).
        for (path, body) in [
            (
                "/api/v1/namespaces",
                r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ingress-nginx","labels":{"kubernetes.io/metadata.name":"ingress-nginx"}}}"#,
            ),
            (
                "/api/v1/namespaces/ingress-nginx/services",
                r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"ingress-nginx-controller","namespace":"ingress-nginx"},"spec":{"type":"ClusterIP","selector":{"app.kubernetes.io/name":"ingress-nginx"},"ports":[{"name":"http","port":80,"targetPort":"http","protocol":"TCP"}]}}"#,
            ),
        ] {
            let (status, answer) = kube_send(&kmock, "POST", path, body);
            assert!(matches!(status, 200 | 201), "{path}: {status} {answer}");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let stack = dir.path().join("mita");
        copy_mita(&stack);
        // Fast waits against the emulator (a real account keeps the provider defaults).
        edit(
            &stack.join("stack.toml"),
            "region = \"${var.aws_region}\"",
            "region = \"${var.aws_region}\"\npoll_interval_ms = 20\nretry_initial_backoff_ms = 10",
        );
        // The stack selects the kubeconfig context `mita-${env}`: the cluster's kubeconfig
        // names its context that way, as the platform team's would.
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: kmock\n  cluster:\n    server: {}\n\
                 contexts:\n- name: mita-{env}\n  context:\n    cluster: kmock\n    user: kmock\n\
                 current-context: mita-{env}\nusers:\n- name: kmock\n  user:\n    token: kmock-token\n",
                kmock.url()
            ),
        )
        .expect("kubeconfig");
        // No network ids: the stack looks them up. The var file stays for tests that add to it.
        let var_file = dir.path().join(format!("{env}.vars.toml"));
        std::fs::write(
            &var_file,
            "# the network and the certificate are looked up by the stack (network.toml)\n",
        )
        .expect("var file");
        MitaEnv {
            moto,
            account,
            kmock,
            dir,
            kubeconfig,
            var_file,
            vars: Vec::new(),
            env,
            vpc_id: network.vpc_id.clone(),
            private_subnets: network.subnet_ids.clone(),
            certificate_arn,
        }
    }

    /// The stack directory (a copy).
    pub fn stack(&self) -> PathBuf {
        self.dir.path().join("mita")
    }

    /// Edits a file of the stack copy.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        edit(&self.stack().join(file), from, to);
    }

    /// Runs `plinth <command> <stack> --env <env> --var-file ... <args>`.
    pub fn plinth(&self, command: &str, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.arg(command)
            .arg(self.stack())
            .args(["--env", self.env, "--var-file"])
            .arg(&self.var_file);
        for var in &self.vars {
            cmd.args(["--var", var]);
        }
        cmd.args(args);
        Run::from(cmd.output().expect("run plinth"))
    }

    /// Runs `plinth rollback <args> <stack> --env <env> --var-file ...`.
    pub fn rollback(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.arg("rollback")
            .args(args)
            .arg(self.stack())
            .args(["--env", self.env, "--var-file"])
            .arg(&self.var_file);
        for var in &self.vars {
            cmd.args(["--var", var]);
        }
        Run::from(cmd.output().expect("run plinth"))
    }

    /// The binary with the emulators' environment.
    pub fn command(&self) -> Command {
        let mut cmd = crate::support::plinth();
        cmd.env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", self.account.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", self.account.secret_access_key())
            .env("AWS_REGION", REGION)
            .env_remove("AWS_PROFILE")
            .env("KUBECONFIG", &self.kubeconfig)
            .env("PLINTH_K8S_POLL_MS", "20")
            .envs(SECRETS.iter().copied());
        cmd
    }

    /// The kubeconfig pointing at kmock (context `mita-<env>`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// SDK clients for the test's account.
    pub async fn aws(&self) -> Clients {
        let mut config = ProviderConfig::default();
        for (key, value) in [
            ("region", REGION.to_string()),
            ("endpoint_url", self.moto.endpoint()),
            ("access_key_id", self.account.access_key_id()),
            ("secret_access_key", self.account.secret_access_key()),
        ] {
            config.settings.insert(key.into(), Value::string(value));
        }
        let settings = AwsSettings::from_config(&config).expect("settings");
        Clients::build(&settings).await.expect("clients")
    }

    /// GET a Kubernetes API path; `None` on 404.
    pub fn kube_get(&self, path: &str) -> Option<Json> {
        let (status, body) = kube_send(&self.kmock, "GET", path, "");
        match status {
            200 => Some(serde_json::from_str(&body).expect("kube JSON")),
            404 => None,
            other => panic!("GET {path}: HTTP {other}: {body}"),
        }
    }

    /// The names of the objects a list path returns.
    pub fn kube_names(&self, path: &str) -> Vec<String> {
        self.kube_get(path)
            .and_then(|list| list["items"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    /// The release's Deployment.
    pub fn deployment(&self) -> Option<Json> {
        self.kube_get(&format!(
            "/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{RELEASE}"
        ))
    }

    /// The state document.
    pub fn state(&self) -> Json {
        crate::support::load_state(&self.stack().join(".plinth"), self.env)
    }
}

/// One HTTP/1.1 request to kmock (no auth); `(status, body)`.
fn kube_send(kmock: &Kmock, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", kmock.process.port)).expect("connect kmock");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write kmock");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read kmock");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "kmock answered chunked; the test client reads plain bodies only"
    );
    (status, body.to_string())
}

/// Replaces the first occurrence of `from` in a stack file. A run of spaces in `from` matches
/// any run of spaces (or none), so an edit survives `plinth fmt` aligning the `=` signs.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read stack file");
    let Some((start, end)) = find_loose(&text, from) else {
        panic!("{} has no {from:?}", path.display());
    };
    let edited = format!("{}{to}{}", &text[..start], &text[end..]);
    std::fs::write(path, edited).expect("write stack file");
}

fn find_loose(text: &str, pattern: &str) -> Option<(usize, usize)> {
    let text_bytes = text.as_bytes();
    let pattern = pattern.as_bytes();
    'start: for start in 0..text_bytes.len() {
        let (mut i, mut j) = (start, 0);
        while j < pattern.len() {
            if pattern[j] == b' ' {
                while j < pattern.len() && pattern[j] == b' ' {
                    j += 1;
                }
                while i < text_bytes.len() && text_bytes[i] == b' ' {
                    i += 1;
                }
            } else if i < text_bytes.len() && text_bytes[i] == pattern[j] {
                i += 1;
                j += 1;
            } else {
                continue 'start;
            }
        }
        if text.is_char_boundary(start) && text.is_char_boundary(i) {
            return Some((start, i));
        }
    }
    None
}

/// Copies `stacks/mita` to `to`, and the modules it uses (`stacks/modules`) beside it.
pub fn copy_mita(to: &Path) {
    copy_dir(&crate::support::repo_path("stacks/mita"), to);
    let parent = to.parent().expect("a parent directory");
    copy_dir(
        &crate::support::repo_path("stacks/modules"),
        &parent.join("modules"),
    );
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".plinth" {
            continue;
        }
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}
