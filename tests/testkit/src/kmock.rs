//! kmock (Kubernetes API emulator) on a free loopback port, with a kubeconfig pointing at it.
//!
//! The launcher (`tests/harness/kmock_server.py`) fixes kmock's gaps with the kube client and
//! adds a tiny controller (Deployments roll out, Jobs complete, three Ready nodes). The
//! switches below make a rollout hang or a Job fail, for the failure-path tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{free_port, repo_root, venv_python, wait_for_port, ServerProcess};

/// The kubeconfig context name [`Kmock::start`] writes.
pub const KMOCK_CONTEXT: &str = "kmock";

/// A running kmock emulator and the kubeconfig file that points at it.
pub struct Kmock {
    /// The process (killed on drop).
    pub process: ServerProcess,
    /// A kubeconfig with one context, [`KMOCK_CONTEXT`], pointing at the emulator.
    pub kubeconfig: PathBuf,
    _dir: TempDir,
}

impl Kmock {
    /// Starts the emulator; panics when it does not come up within 30 s (tests fail, not skip).
    pub fn start() -> Kmock {
        let python = venv_python();
        let port = free_port();
        let child = Command::new(python)
            .arg(repo_root().join("tests/harness/kmock_server.py"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting kmock");
        let process = ServerProcess { child, port };
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "kmock did not start on port {port}"
        );
        let dir = TempDir::new(port);
        let kubeconfig = dir.0.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(&process.url()))
            .expect("writing the kubeconfig");
        Kmock {
            process,
            kubeconfig,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.process.url()
    }

    /// The kubeconfig path.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Makes the Deployment `namespace/name` never become ready (ProgressDeadlineExceeded)
    /// while its pod template uses `image` (any image when `None`).
    pub fn deployment_never_ready(&self, namespace: &str, name: &str, image: Option<&str>) {
        let image = image
            .map(|i| format!(r#", "image": "{i}""#))
            .unwrap_or_default();
        self.control(&format!(
            r#"{{"deployment_never_ready": {{"namespace": "{namespace}", "name": "{name}"{image}}}}}"#
        ));
    }

    /// Makes every Job in `namespace` whose name starts with `name_prefix` fail.
    pub fn job_fails(&self, namespace: &str, name_prefix: &str) {
        self.control(&format!(
            r#"{{"job_fails": {{"namespace": "{namespace}", "name_prefix": "{name_prefix}"}}}}"#
        ));
    }

    /// Sets the version `/version` reports, e.g. `1.24`.
    pub fn set_server_version(&self, version: &str) {
        self.control(&format!(r#"{{"server_version": "{version}"}}"#));
    }

    /// Sets how many of the three nodes are Ready.
    pub fn set_ready_nodes(&self, ready: u32) {
        self.control(&format!(r#"{{"ready_nodes": {ready}}}"#));
    }

    /// Clears every switch.
    pub fn reset(&self) {
        self.control(r#"{"reset": true}"#);
    }

    /// POSTs a JSON body to the launcher's control endpoint; panics unless it answers 200.
    pub fn control(&self, body: &str) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.process.port)).expect("connecting to kmock");
        let request = format!(
            "POST /_plinth/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .expect("writing to kmock");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("reading from kmock");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "kmock control failed: {response}"
        );
    }
}

fn kubeconfig_text(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kmock\n  cluster:\n    server: {url}\n\
         contexts:\n- name: {KMOCK_CONTEXT}\n  context:\n    cluster: kmock\n    user: kmock\n    namespace: default\n\
         current-context: {KMOCK_CONTEXT}\nusers:\n- name: kmock\n  user:\n    token: kmock-token\n"
    )
}

/// A directory under the target dir removed on drop (no extra dependency for the test kit).
struct TempDir(PathBuf);

impl TempDir {
    fn new(port: u16) -> TempDir {
        let dir = repo_root()
            .join("target/kmock")
            .join(format!("{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the kmock directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
