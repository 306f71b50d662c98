//! `${file("PATH")}`: the text of a file of the stack directory, read at load time (Terraform's
//! `file()`), e.g. a Grafana dashboard's JSON for a config map. Only paths inside the stack
//! directory are read: a plan of an untrusted pull request must not be able to print the CI
//! runner's files. Every file read is part of the stack's configuration digest, so a saved plan
//! is refused when one changed.

use std::cell::RefCell;
use std::path::{Component, Path};

use sha2::{Digest, Sha256};

use super::diagnostics::{Diagnostics, Problem};
use super::model::Origin;

/// Reads files for one load of a stack.
pub(crate) struct FileReader<'a> {
    dir: &'a Path,
    max_bytes: u64,
    /// `(path as written, SHA-256 of the text)` of every file read, in order.
    read: RefCell<Vec<(String, String)>>,
}

impl<'a> FileReader<'a> {
    pub(crate) fn new(dir: &'a Path, max_bytes: u64) -> Self {
        FileReader {
            dir,
            max_bytes,
            read: RefCell::new(Vec::new()),
        }
    }

    /// The text of `path` (relative to the stack directory), or a diagnostic at `here`.
    pub(crate) fn read(&self, path: &str, here: Origin, diags: &mut Diagnostics) -> Option<String> {
        let relative = Path::new(path);
        let inside = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            diags.push(
                Problem::new(
                    "plinth::bad_file",
                    format!("`file(\"{path}\")` reads outside the stack directory"),
                )
                .at(here, "not a path inside the stack directory")
                .help("put the file in the stack directory (or a subdirectory) and give its relative path"),
            );
            return None;
        }
        let full = self.dir.join(relative);
        if !full.is_file() {
            diags.push(
                Problem::new(
                    "plinth::bad_file",
                    format!("`{path}` is not a file of the stack"),
                )
                .at(here, "no such file")
                .help(format!(
                    "paths are relative to the stack directory `{}`",
                    super::load::display_path(self.dir)
                )),
            );
            return None;
        }
        let mut problems = Vec::new();
        let text = super::load::read_text(&full, self.max_bytes, &mut problems);
        for problem in problems {
            diags.push(problem.at(here, "read here"));
        }
        let text = text?;
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        self.read.borrow_mut().push((path.to_string(), digest));
        Some(text)
    }

    /// The configuration digest with every file read folded in (unchanged when none was).
    pub(crate) fn extend_hash(&self, config_hash: String) -> String {
        let read = self.read.borrow();
        fold_into_hash(
            config_hash,
            read.iter()
                .map(|(path, digest)| (path.as_str(), digest.as_bytes())),
        )
    }
}

/// `config_hash` with each `(name, bytes)` folded in (unchanged when there are none): the
/// files `file()` read, the files of the modules.
pub(crate) fn fold_into_hash<'a>(
    config_hash: String,
    items: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> String {
    let mut items = items.peekable();
    if items.peek().is_none() {
        return config_hash;
    }
    let mut hasher = Sha256::new();
    hasher.update(config_hash.as_bytes());
    for (name, bytes) in items {
        hasher.update([0u8]);
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(bytes);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}
