//! Saved plans (`plinth plan --out FILE`, `plinth apply FILE`): a versioned JSON document bound
//! to the stack's config hash, the variables, and the state lineage + serial it was made
//! against, plus a digest of the whole state document so that anything written to the state
//! since (even the journal of an interrupted apply, which does not move the serial) makes the
//! plan stale. It is single use: applying it moves the serial. It holds no secret values
//! (sensitive leaves are masked in diffs and salted digests in prior records), and is written
//! with mode 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use miette::{miette, IntoDiagnostic, Result};
use serde::{Deserialize, Serialize};

use plinth_state::StateDocument;
use sha2::{Digest, Sha256};

use crate::config::LoadOptions;
use crate::plan::{Plan, PLAN_FORMAT_VERSION};

/// The marker of a plan file.
pub const PLAN_FILE_KIND: &str = "plinth-plan";

/// What a plan file holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlanFile {
    /// Always [`PLAN_FILE_KIND`].
    pub kind: String,
    /// The stack directory, made absolute when the plan was made so that `apply FILE` works
    /// from any directory (after [`read`]: the directory to load).
    pub stack_dir: PathBuf,
    /// The stack directory as given to `plan`: [`read`] falls back to it, relative to the
    /// current directory, when `stack_dir` does not exist (a plan made in one CI checkout and
    /// applied in another, where only the relative path holds).
    #[serde(default)]
    pub stack_dir_as_given: Option<PathBuf>,
    /// `--var` pairs given to `plan` (re-used by apply; variables are not secret).
    pub vars: Vec<(String, String)>,
    /// `--var-file` paths given to `plan`, made absolute (after [`read`]: the files to load).
    pub var_files: Vec<PathBuf>,
    /// The `--var-file` paths as given, the fallback of each as for `stack_dir_as_given`.
    #[serde(default)]
    pub var_files_as_given: Vec<PathBuf>,
    /// [`state_digest`] of the state the plan was made against (`None`: no state existed).
    pub state_digest: Option<String>,
    /// The plan.
    pub plan: Plan,
}

impl PlanFile {
    /// A plan file for `plan`, made from the stack in `stack_dir` loaded with `load`, against
    /// `state`.
    pub fn new(
        stack_dir: PathBuf,
        load: &LoadOptions,
        plan: Plan,
        state: Option<&StateDocument>,
    ) -> PlanFile {
        PlanFile {
            kind: PLAN_FILE_KIND.to_string(),
            stack_dir: absolute(&stack_dir),
            stack_dir_as_given: Some(stack_dir),
            vars: load.vars.clone(),
            var_files: load.var_files.iter().map(|f| absolute(f)).collect(),
            var_files_as_given: load.var_files.clone(),
            state_digest: state_digest(state),
            plan,
        }
    }

    /// Load options that reproduce the plan's configuration.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            environment: Some(self.plan.environment.clone()),
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
            // The flags of `apply PLANFILE` do not reach here: the `PLINTH_MAX_*` variables do.
            limits: crate::config::Limits::from_env(),
            as_module: false,
        }
    }
}

/// `path` made absolute (against the current directory), or as it is when that fails.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Writes a plan file (0600, atomically): a fresh temp file next to it, then a rename, so a
/// reader never sees half a plan and an existing file's looser mode is never kept.
pub fn write(path: &Path, file: &PlanFile) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(file).into_diagnostic()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".to_string());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover temp file would keep its own mode: start from nothing.
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut out| {
            out.write_all(&bytes)?;
            out.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(miette!(
            "cannot write the plan file {}: {e}",
            path.display()
        ));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        miette!("cannot write the plan file {}: {e}", path.display())
    })
}

/// Reads a plan file, refusing other formats and versions.
pub fn read(path: &Path) -> Result<PlanFile> {
    let bytes = std::fs::read(path)
        .map_err(|e| miette!("cannot read the plan file {}: {e}", path.display()))?;
    let mut file: PlanFile = serde_json::from_slice(&bytes).map_err(|e| {
        miette!(
            help = "make it with `plinth plan --out FILE`",
            "{} is not a Plinth plan file: {e}",
            path.display()
        )
    })?;
    if file.kind != PLAN_FILE_KIND {
        return Err(miette!("{} is not a Plinth plan file", path.display()));
    }
    if file.plan.format_version != PLAN_FORMAT_VERSION
        || file.plan.plinth_version != env!("CARGO_PKG_VERSION")
    {
        return Err(miette!(
            help = "plan again with this version of Plinth",
            "{} was made by Plinth {} (plan format {}); this is Plinth {} (format {})",
            path.display(),
            file.plan.plinth_version,
            file.plan.format_version,
            env!("CARGO_PKG_VERSION"),
            PLAN_FORMAT_VERSION
        ));
    }
    if !file.stack_dir.is_dir() {
        if let Some(given) = file.stack_dir_as_given.take() {
            file.stack_dir = given;
        }
    }
    if file.var_files_as_given.len() == file.var_files.len() {
        for (path, given) in file.var_files.iter_mut().zip(&file.var_files_as_given) {
            if !path.is_file() {
                *path = given.clone();
            }
        }
    }
    Ok(file)
}

/// Refuses arguments that would make `apply FILE` do something other than the saved plan:
/// another environment, variables (the file carries its own), targets or replacements.
pub fn check_arguments(
    file: &PlanFile,
    environment: Option<&str>,
    variables: bool,
    selection: bool,
) -> Result<()> {
    if let Some(environment) = environment.filter(|e| *e != file.plan.environment) {
        return Err(miette!(
            help = "a plan file applies to the environment it was made for; plan again with `--env {environment}`",
            "this plan is for environment `{}`, not `{environment}`",
            file.plan.environment
        ));
    }
    if variables {
        return Err(miette!(
            help = "a plan file carries the variables it was made with; plan again to change them",
            "--var and --var-file cannot be given with a plan file"
        ));
    }
    if selection {
        return Err(miette!(
            help = "give --target and --replace to `plinth plan --out`; the plan file holds the result",
            "--target and --replace cannot be given with a plan file"
        ));
    }
    Ok(())
}

/// True when `path` looks like a plan file rather than a stack directory.
pub fn is_plan_file(path: &Path) -> bool {
    path.is_file()
}

/// SHA-256 (hex) of a state document as loaded (journal replayed). Generated secrets count by
/// name only, so the digest says nothing about their values.
pub fn state_digest(state: Option<&StateDocument>) -> Option<String> {
    let mut document = state?.clone();
    for value in document.secrets.values_mut() {
        value.clear();
    }
    let bytes = serde_json::to_vec(&document).unwrap_or_default();
    Some(hex::encode(Sha256::digest(&bytes)))
}

/// Refuses a saved plan when the state is not exactly the one it was made against. Run
/// under the state lock, after the lineage and serial checks (which give the more specific
/// messages).
pub fn check_state_digest(expected: Option<&str>, state: Option<&StateDocument>) -> Result<()> {
    let actual = state_digest(state);
    if actual.as_deref() == expected {
        return Ok(());
    }
    Err(miette!(
        help = "something wrote to the state since the plan was made (an interrupted apply, or \
                a state command); run `plinth plan --out` again and review the new plan",
        "stale plan: the state changed since the plan was made, at the same serial"
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn sample() -> PlanFile {
        let plan = Plan::new("s", "e");
        PlanFile::new(PathBuf::from("stack"), &LoadOptions::default(), plan, None)
    }

    #[test]
    fn a_plan_file_is_0600_even_over_a_world_readable_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.bin");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, &sample()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(&path).unwrap().plan.stack, "s");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn the_state_digest_changes_with_the_state_but_not_with_secret_values() {
        let mut state = StateDocument::new("0.0.0");
        let before = state_digest(Some(&state));
        assert_eq!(before, state_digest(Some(&state.clone())));
        state.secrets.insert("db_password".into(), "one".into());
        let with_secret = state_digest(Some(&state));
        assert_ne!(before, with_secret);
        state.secrets.insert("db_password".into(), "two".into());
        assert_eq!(with_secret, state_digest(Some(&state)));
        state.outputs.insert("x".into(), serde_json::json!(1));
        assert_ne!(with_secret, state_digest(Some(&state)));
        assert_eq!(state_digest(None), None);
        assert!(check_state_digest(None, None).is_ok());
        assert!(check_state_digest(before.as_deref(), Some(&state)).is_err());
    }
}
