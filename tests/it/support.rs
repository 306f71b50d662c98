//! Helpers: run the real `plinth` binary on a copy of a fixture stack.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fixture stack copied into a temp dir (state and simulated cloud live there too).
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Copies `tests/fixtures/<area>/<case>/` (with its subdirectories) into a fresh temp dir.
    pub fn new(area_case: &str) -> Fixture {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(area_case);
        let dir = tempfile::tempdir().expect("temp dir");
        // Subdirectories too: a fixture may hold the modules it uses (`source = "./part"`).
        crate::mita_env::copy_dir(&source, dir.path());
        Fixture { dir }
    }

    /// The stack directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The simulated cloud (default location, next to the state).
    pub fn cloud(&self) -> PathBuf {
        self.path().join(".plinth/sim-cloud")
    }

    /// Rewrites `stack.toml` with a text replacement.
    pub fn edit(&self, from: &str, to: &str) {
        let path = self.path().join("stack.toml");
        let text = std::fs::read_to_string(&path).expect("read stack");
        assert!(text.contains(from), "fixture does not contain {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write stack");
    }

    /// Runs `plinth <args> <stack dir>`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut command = plinth();
        command.args(args).arg(self.path());
        Run::from(command.output().expect("run plinth"))
    }

    /// The state document, with its journal replayed (an apply appends to the journal and
    /// compacts into the document only once the journal has grown).
    pub fn state(&self) -> serde_json::Value {
        load_state(&self.path().join(".plinth"), "test")
    }
}

/// The state of `environment` in a local state directory, journal included (an apply appends
/// to the journal and compacts only when it has grown large).
pub fn load_state(dir: &Path, environment: &str) -> serde_json::Value {
    use plinth_state::StateStore;
    let store = plinth_state::LocalStore::new(dir, environment);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let document = runtime
        .block_on(store.load())
        .expect("state loads")
        .expect("state exists");
    serde_json::to_value(document).expect("state json")
}

/// A path inside the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The binary with a test environment. `PLINTH_TEST_BINARY` runs the tests against another
/// build (e.g. an older release, to show a regression test fails there).
pub fn plinth() -> Command {
    let binary = std::env::var("PLINTH_TEST_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_plinth").to_string());
    let mut command = Command::new(binary);
    command
        .env("NO_COLOR", "1")
        .env("PLINTH_RETRY_BASE_MS", "1")
        .env_remove("PLINTH_ENV");
    command
}

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, printing the output when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Every file under a directory (state, journal, backup, lock...), concatenated as text.
pub fn all_text_under(dir: &Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.push_str(&all_text_under(&path));
            } else {
                out.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&path).unwrap_or_default(),
                ));
            }
        }
    }
    out
}
