//! moto server (AWS API emulator) on a free loopback port, behind Plinth's launcher
//! (`tests/harness/moto_server.py`): per-account isolation by access key, transient-status
//! holds, fault injection, call counts, a seeded network and imported ACM certificates.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::{free_port, repo_root, venv_python, wait_for_port, ServerProcess};

/// Options for [`MotoServer::start_with`].
#[derive(Clone, Debug, Default)]
pub struct MotoOptions {
    /// Extra environment variables for the server (e.g. `MOTO_ACM_VALIDATION_WAIT=0`).
    pub env: Vec<(String, String)>,
}

/// A fault the launcher injects into the next `count` calls of an action.
#[derive(Clone, Debug)]
pub struct Fault {
    /// The API action, e.g. `DescribeDBInstances` (S3: `s3:GET`, `s3:PUT`, ...).
    pub action: String,
    /// What to do.
    pub kind: FaultKind,
    /// How many calls to affect.
    pub count: u32,
}

/// The kinds of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with the service's throttling error (`Throttling`, S3 `SlowDown`).
    Throttle,
    /// Answer with HTTP 500.
    ServerError,
    /// Delay the call by this many milliseconds, then answer normally.
    Latency(u64),
}

/// The network the launcher seeds: a VPC, one subnet in each of two AZs, a security group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// The VPC id.
    pub vpc_id: String,
    /// Two subnet ids in different availability zones.
    pub subnet_ids: Vec<String>,
    /// A security group in the VPC.
    pub security_group_id: String,
}

/// One isolated AWS account on a shared moto server. The launcher runs every request signed
/// with [`Account::access_key_id`] in this account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
}

impl Account {
    /// An access key id the launcher maps to this account.
    pub fn access_key_id(&self) -> String {
        format!("AKPLINTH{}", self.id)
    }

    /// Any secret works with moto.
    pub fn secret_access_key(&self) -> String {
        "plinth-test-secret".to_string()
    }
}

/// A running moto server.
pub struct MotoServer {
    /// The process when this handle started the server (killed on drop); `None` for a handle
    /// on the server shared by test processes ([`MotoServer::shared`]).
    pub process: Option<ServerProcess>,
    port: u16,
    next_account: AtomicU64,
}

/// Seconds a shared server lives without requests.
const SHARED_IDLE_EXIT_SECONDS: u32 = 60;

impl MotoServer {
    /// Starts moto server; panics when it does not come up within 30 s.
    pub fn start() -> MotoServer {
        Self::start_with(MotoOptions::default())
    }

    /// Starts moto server with options; panics when it does not come up within 30 s.
    pub fn start_with(options: MotoOptions) -> MotoServer {
        let python = venv_python();
        let port = free_port();
        let child = Command::new(python)
            .arg(repo_root().join("tests/harness/moto_server.py"))
            .arg(port.to_string())
            .env("PLINTH_PARENT_PID", std::process::id().to_string())
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting moto server");
        let process = ServerProcess { child, port };
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "moto server did not start on port {port}"
        );
        MotoServer::handle(Some(process), port)
    }

    /// The moto server shared by every test process of the checkout (cargo-nextest runs each
    /// test in its own process): reused while it answers, started when it does not. It
    /// exits after a minute without requests and logs to `target/moto-shared.log`. Tests
    /// stay apart by taking their own [`Account`]; never [`MotoServer::reset`] it.
    pub fn shared() -> MotoServer {
        let target = repo_root().join("target");
        std::fs::create_dir_all(&target).expect("target dir");
        let lock = std::fs::File::create(target.join("moto-shared.lock")).expect("lock file");
        fs2::FileExt::lock_exclusive(&lock).expect("moto lock");
        let port_file = target.join("moto-shared.port");
        // Reused only when it runs the launcher as it is now (edits start a fresh server).
        let script = repo_root().join("tests/harness/moto_server.py");
        let stamp = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(&script)
                .expect("reading the moto launcher")
                .hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        };
        let recorded = std::fs::read_to_string(&port_file).unwrap_or_default();
        if let Some((port, recorded_stamp)) = recorded.trim().split_once(' ') {
            if let Ok(port) = port.parse() {
                if recorded_stamp == stamp
                    && try_request(port, "GET", "/_plinth/ping", "").is_some_and(|(ok, _)| ok)
                {
                    return MotoServer::handle(None, port);
                }
            }
        }
        let python = venv_python();
        let port = free_port();
        let log = std::fs::File::create(target.join("moto-shared.log")).expect("moto log");
        // Started through `sh … &` so it is nobody's child: it outlives this test process
        // and exits by itself when idle.
        let status = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" &"#)
            .arg(python)
            .arg(&script)
            .arg(port.to_string())
            .arg("--idle-exit")
            .arg(SHARED_IDLE_EXIT_SECONDS.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .status()
            .expect("starting moto server");
        assert!(status.success(), "starting moto server: {status}");
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "moto server did not start on port {port}; see target/moto-shared.log"
        );
        std::fs::write(&port_file, format!("{port} {stamp}")).expect("writing the moto port file");
        MotoServer::handle(None, port)
    }

    fn handle(process: Option<ServerProcess>, port: u16) -> MotoServer {
        // Account ids unique across test processes: seconds, pid, then a counter.
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let base =
            (seconds % 100_000) * 10_000_000 + u64::from(std::process::id() % 10_000) * 1_000;
        MotoServer {
            process,
            port,
            next_account: AtomicU64::new(base + 1),
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A fresh account on this server (each test takes its own and never sees the others).
    pub fn new_account(&self) -> Account {
        Account {
            id: format!("{:012}", self.next_account.fetch_add(1, Ordering::SeqCst)),
        }
    }

    /// Makes the next `fault.count` calls of `fault.action` in `account` fail or slow down.
    pub fn inject_fault(&self, account: &Account, fault: &Fault) {
        let (kind, latency_ms) = match fault.kind {
            FaultKind::Throttle => ("throttle", 0),
            FaultKind::ServerError => ("error", 0),
            FaultKind::Latency(ms) => ("latency", ms),
        };
        self.control(
            "POST",
            "/_plinth/faults",
            &json!({"account": account.id, "action": fault.action, "kind": kind,
                    "count": fault.count, "latency_ms": latency_ms}),
        );
    }

    /// Arms a hold: the next `on` (`create`/`modify`/`delete`) of a resource of `service`
    /// (`rds`/`elasticache`/`elbv2`; `id` or any) keeps it in the transient status for the
    /// next `describes` describes.
    pub fn hold(
        &self,
        account: &Account,
        service: &str,
        on: &str,
        id: Option<&str>,
        describes: u32,
    ) {
        self.control(
            "POST",
            "/_plinth/holds",
            &json!({"account": account.id, "service": service, "on": on, "id": id, "describes": describes}),
        );
    }

    /// Calls per `service:Action` made in the account since the last reset.
    pub fn call_counts(&self, account: &Account) -> BTreeMap<String, u64> {
        let counts = self.control(
            "GET",
            &format!("/_plinth/calls?account={}", account.id),
            &Json::Null,
        );
        counts
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets the account's call counts.
    pub fn reset_call_counts(&self, account: &Account) {
        self.control(
            "POST",
            "/_plinth/calls/reset",
            &json!({"account": account.id}),
        );
    }

    /// Creates a VPC with subnets in two AZs and a security group in the account.
    pub fn seed_network(&self, account: &Account, region: &str) -> Network {
        self.seed(account, region, Json::Null)
    }

    /// [`MotoServer::seed_network`] as a platform team tags its network: the VPC `Name=name`,
    /// its two subnets `Tier=private`, two more `Tier=public` (not in `subnet_ids`).
    pub fn seed_named_network(&self, account: &Account, region: &str, name: &str) -> Network {
        self.seed(account, region, Json::String(name.to_string()))
    }

    fn seed(&self, account: &Account, region: &str, name: Json) -> Network {
        let out = self.control(
            "POST",
            "/_plinth/seed-network",
            &json!({"account": account.id, "region": region, "name": name}),
        );
        let text = |v: &Json| v.as_str().expect("seed-network answer").to_string();
        Network {
            vpc_id: text(&out["vpc_id"]),
            subnet_ids: out["subnet_ids"]
                .as_array()
                .expect("subnet ids")
                .iter()
                .map(text)
                .collect(),
            security_group_id: text(&out["security_group_id"]),
        }
    }

    /// Imports a freshly generated self-signed certificate for `domain` into ACM; its ARN.
    pub fn import_certificate(&self, account: &Account, region: &str, domain: &str) -> String {
        let out = self.control(
            "POST",
            "/_plinth/acm-certificate",
            &json!({"account": account.id, "region": region, "domain": domain}),
        );
        out["certificate_arn"]
            .as_str()
            .expect("certificate ARN")
            .to_string()
    }

    /// Wipes all of moto's state and the launcher's faults, holds and counts.
    pub fn reset(&self) {
        self.control("POST", "/_plinth/reset", &json!({}));
    }

    /// One request to the launcher's control API; panics with the launcher's message on error.
    fn control(&self, method: &str, path: &str, body: &Json) -> Json {
        let payload = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (ok, text) = try_request(self.port, method, path, &payload).unwrap_or_else(|| {
            panic!(
                "{method} {path}: moto on port {} does not answer",
                self.port
            )
        });
        assert!(ok, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Json::Null)
    }
}

/// One HTTP/1.1 request to the launcher: (status is 200, body), or `None` when nothing
/// answers.
fn try_request(port: u16, method: &str, path: &str, payload: &str) -> Option<(bool, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let ok = head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200");
    Some((
        ok,
        if ok {
            body.to_string()
        } else {
            format!("{head}\n{body}")
        },
    ))
}
