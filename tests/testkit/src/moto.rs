//! moto server (AWS API emulator) on a free loopback port.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{free_port, repo_root, venv_python, wait_for_port, ServerProcess};

/// A running moto server.
pub struct MotoServer {
    /// The process (killed on drop).
    pub process: ServerProcess,
}

impl MotoServer {
    /// Starts moto server; panics when it does not come up within 30 s.
    pub fn start() -> MotoServer {
        let python = venv_python();
        let port = free_port();
        let child = Command::new(python)
            .arg(repo_root().join("tests/harness/moto_server.py"))
            .arg(port.to_string())
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
        MotoServer { process }
    }

    /// The endpoint URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        self.process.url()
    }
}
