//! Saved plans (`plinth plan --out FILE`, `plinth apply FILE`): a versioned JSON document bound
//! to the stack's config hash, the variables, and the state lineage + serial it was made
//! against. It holds no secret values, and is written with mode 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use miette::{miette, IntoDiagnostic, Result};
use serde::{Deserialize, Serialize};

use crate::config::LoadOptions;
use crate::plan::{Plan, PLAN_FORMAT_VERSION};

/// The marker of a plan file.
pub const PLAN_FILE_KIND: &str = "plinth-plan";

/// What a plan file holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlanFile {
    /// Always [`PLAN_FILE_KIND`].
    pub kind: String,
    /// The stack directory, as given to `plan`.
    pub stack_dir: PathBuf,
    /// `--var` pairs given to `plan` (re-used by apply; variables are not secret).
    pub vars: Vec<(String, String)>,
    /// `--var-file` paths given to `plan`.
    pub var_files: Vec<PathBuf>,
    /// The plan.
    pub plan: Plan,
}

impl PlanFile {
    /// Load options that reproduce the plan's configuration.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            environment: Some(self.plan.environment.clone()),
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
        }
    }
}

/// Writes a plan file (0600, atomically).
pub fn write(path: &Path, file: &PlanFile) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(file).into_diagnostic()?;
    let tmp = path.with_extension("tmp");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| miette!("cannot write the plan file {}: {e}", tmp.display()))?;
    out.write_all(&bytes)
        .and_then(|_| out.sync_all())
        .into_diagnostic()?;
    std::fs::rename(&tmp, path)
        .map_err(|e| miette!("cannot write the plan file {}: {e}", path.display()))
}

/// Reads a plan file, refusing other formats and versions.
pub fn read(path: &Path) -> Result<PlanFile> {
    let bytes = std::fs::read(path)
        .map_err(|e| miette!("cannot read the plan file {}: {e}", path.display()))?;
    let file: PlanFile = serde_json::from_slice(&bytes).map_err(|e| {
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
    Ok(file)
}

/// True when `path` looks like a plan file rather than a stack directory.
pub fn is_plan_file(path: &Path) -> bool {
    path.is_file()
}
