//! # plinth-testkit: the emulators the tests talk to
//!
//! Tests use real clients over HTTP against real emulators started here on free loopback
//! ports: moto server (AWS), kmock (Kubernetes) and a throwaway PostgreSQL cluster.
//! The Python emulators live in a virtualenv (`$PLINTH_TEST_VENV`, default
//! `target/test-venv`), created on first use when missing; `scripts/test-deps.sh` does the
//! same ahead of time and also installs PostgreSQL.

pub mod kmock;
pub mod moto;
pub mod postgres;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The Python interpreter of the test virtualenv, creating the virtualenv when missing.
/// Panics with a clear message when it cannot (tests should fail, not skip).
pub fn venv_python() -> PathBuf {
    let root = repo_root();
    let venv = std::env::var_os("PLINTH_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/test-venv"));
    let python = venv.join("bin/python");
    let stamp = venv.join(".requirements.sha256");
    if python.exists() && stamp.exists() {
        return python;
    }
    // Serialise concurrent test processes on a lock file while one installs.
    std::fs::create_dir_all(root.join("target")).expect("target dir");
    let lock = std::fs::File::create(root.join("target/test-venv.lock")).expect("venv lock file");
    fs2::FileExt::lock_exclusive(&lock).expect("venv lock");
    if !(python.exists() && stamp.exists()) {
        let status = Command::new("bash")
            .arg(root.join("scripts/test-deps.sh"))
            .env("PLINTH_TEST_VENV", &venv)
            .status()
            .expect("running scripts/test-deps.sh");
        assert!(
            status.success(),
            "scripts/test-deps.sh failed: cannot set up the test emulators"
        );
    }
    python
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts TCP connections on the port.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A child process killed when dropped.
pub struct ServerProcess {
    /// The process.
    pub child: Child,
    /// Its port.
    pub port: u16,
}

impl ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
