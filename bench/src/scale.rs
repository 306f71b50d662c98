//! The scale benchmark: layered stacks of zero-latency resources (`plinth_data` for Plinth,
//! `terraform_data` for Terraform), measuring apply from empty, a no-op plan and the apply of a
//! one-resource change, each in a child process (wall time, peak memory), plus the bytes each
//! apply writes to the state.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::generate::{write_plinth, write_plinth_modules, write_terraform, Shape, Variant};
use crate::measure::{summarise, Runner, Sample};
use crate::state_bytes::{apply_counting_bytes, Written};
use crate::BenchError;

/// Settings of the scale benchmark.
#[derive(Clone, Debug)]
pub struct ScaleOptions {
    /// Layers.
    pub depth: usize,
    /// References per resource into the layer below.
    pub width: usize,
    /// Runs per measurement (the median is reported).
    pub runs: usize,
    /// The `plinth` binary.
    pub plinth: PathBuf,
    /// The `terraform` binary, when it is to be compared.
    pub terraform: Option<PathBuf>,
    /// Largest size Terraform is run at.
    pub terraform_max: usize,
    /// Terraform's `-parallelism`.
    pub terraform_parallelism: usize,
    /// Runs per Terraform measurement.
    pub terraform_runs: usize,
    /// Module instances of the module case (0: not run).
    pub module_instances: usize,
}

/// One tool's figures at one size.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ToolFigures {
    /// Apply into an empty state: median seconds and peak bytes.
    pub apply_empty: Option<Sample>,
    /// Plan with nothing to change.
    pub noop_plan: Option<Sample>,
    /// Apply (plan included) of a change to one resource.
    pub one_change_apply: Option<Sample>,
    /// Bytes written to state by the apply from empty.
    pub state_bytes_apply_empty: Option<u64>,
    /// Bytes written to state by the one-resource change.
    pub state_bytes_one_change: Option<u64>,
    /// True when the state byte counts are lower bounds (Terraform: final file size only).
    pub state_bytes_lower_bound: bool,
    /// Plinth's journal activity in the apply from empty (entries, durable appends).
    pub journal_apply_empty: Option<Written>,
    /// Plinth's journal activity in the one-resource change.
    pub journal_one_change: Option<Written>,
}

/// Results at one size.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleResult {
    /// The stack's shape.
    pub size: usize,
    /// Layers.
    pub depth: usize,
    /// References per resource.
    pub width: usize,
    /// Plinth.
    pub plinth: ToolFigures,
    /// Terraform, when run.
    pub terraform: Option<ToolFigures>,
    /// Why Terraform was not run at this size.
    pub terraform_skipped: Option<String>,
    /// Plinth on the same number of resources written as `module_instances` instances of one
    /// module.
    pub plinth_modules: Option<ToolFigures>,
    /// The module instances of `plinth_modules`.
    pub module_instances: usize,
}

/// Runs the scale benchmark at one size in `work`.
pub fn run_size(
    size: usize,
    options: &ScaleOptions,
    runner: &Runner,
    work: &Path,
) -> Result<ScaleResult, BenchError> {
    let shape = Shape {
        size,
        depth: options.depth,
        width: options.width,
    };
    let dir = work.join(format!("scale-{size}"));
    let base = dir.join("base");
    let changed = dir.join("changed");
    write_plinth(&base, &shape, Variant::Base).map_err(|e| BenchError::io("writing a stack", e))?;
    write_plinth(&changed, &shape, Variant::OneChanged)
        .map_err(|e| BenchError::io("writing a stack", e))?;
    eprintln!("  plinth, {size} resources");
    let plinth = plinth_figures(&dir, &base, &changed, options, runner)?;
    let plinth_modules = match options.module_instances {
        0 => None,
        instances => {
            let modules = work.join(format!("scale-{size}-modules"));
            let base = modules.join("base");
            let changed = modules.join("changed");
            write_plinth_modules(&base, &shape, Variant::Base, instances)
                .map_err(|e| BenchError::io("writing a stack", e))?;
            write_plinth_modules(&changed, &shape, Variant::OneChanged, instances)
                .map_err(|e| BenchError::io("writing a stack", e))?;
            eprintln!("  plinth, {size} resources in {instances} module instances");
            let figures = plinth_figures(&modules, &base, &changed, options, runner)?;
            remove_dir(&modules)?;
            Some(figures)
        }
    };

    let (terraform, terraform_skipped) = match &options.terraform {
        None => (None, Some("terraform is not on PATH".to_string())),
        Some(_) if size > options.terraform_max => (
            None,
            Some(format!(
                "not run: {size} > --terraform-max {}",
                options.terraform_max
            )),
        ),
        Some(terraform) => {
            eprintln!("  terraform, {size} resources");
            (
                Some(terraform_figures(&dir, &shape, terraform, options, runner)?),
                None,
            )
        }
    };
    Ok(ScaleResult {
        size,
        depth: options.depth,
        width: options.width,
        plinth,
        terraform,
        terraform_skipped,
        plinth_modules,
        module_instances: options.module_instances,
    })
}

fn plinth_figures(
    dir: &Path,
    base: &Path,
    changed: &Path,
    options: &ScaleOptions,
    runner: &Runner,
) -> Result<ToolFigures, BenchError> {
    let state = dir.join("state");
    let scratch = dir.join("scratch-state");
    let path = |p: &Path| p.display().to_string();
    let state_arg = path(&state);
    let scratch_arg = path(&scratch);

    let mut applies = Vec::new();
    for _ in 0..options.runs {
        remove_dir(&state)?;
        applies.push(runner.run(
            dir,
            &options.plinth,
            &[
                "apply",
                &path(base),
                "--auto-approve",
                "--state-dir",
                &state_arg,
            ],
            &[0],
        )?);
    }
    let mut plans = Vec::new();
    for _ in 0..options.runs {
        plans.push(runner.run(
            dir,
            &options.plinth,
            &[
                "plan",
                &path(base),
                "--state-dir",
                &state_arg,
                "--detailed-exitcode",
            ],
            &[0],
        )?);
    }
    let mut changes = Vec::new();
    for _ in 0..options.runs {
        copy_dir(&state, &scratch)?;
        changes.push(runner.run(
            dir,
            &options.plinth,
            &[
                "apply",
                &path(changed),
                "--auto-approve",
                "--state-dir",
                &scratch_arg,
            ],
            &[0],
        )?);
    }

    // State bytes, in process with the same engine.
    let counted = dir.join("counted-state");
    remove_dir(&counted)?;
    let empty = apply_counting_bytes(base, &counted)?;
    let change = apply_counting_bytes(changed, &counted)?;
    if change.changes != 1 {
        return Err(BenchError::Usage(format!(
            "the one-resource change planned {} changes",
            change.changes
        )));
    }
    remove_dir(&counted)?;
    remove_dir(&scratch)?;
    Ok(ToolFigures {
        apply_empty: Some(summarise(&applies)),
        noop_plan: Some(summarise(&plans)),
        one_change_apply: Some(summarise(&changes)),
        state_bytes_apply_empty: Some(empty.bytes),
        state_bytes_one_change: Some(change.bytes),
        state_bytes_lower_bound: false,
        journal_apply_empty: Some(empty),
        journal_one_change: Some(change),
    })
}

fn terraform_figures(
    dir: &Path,
    shape: &Shape,
    terraform: &Path,
    options: &ScaleOptions,
    runner: &Runner,
) -> Result<ToolFigures, BenchError> {
    let tf = dir.join("terraform");
    let tf_changed = dir.join("terraform-changed");
    write_terraform(&tf, shape, Variant::Base).map_err(|e| BenchError::io("writing HCL", e))?;
    runner.run(&tf, terraform, &["init", "-input=false", "-no-color"], &[0])?;
    let parallelism = format!("-parallelism={}", options.terraform_parallelism);
    let state_file = tf.join("terraform.tfstate");
    let apply_args = [
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        parallelism.as_str(),
    ];

    let mut applies = Vec::new();
    for _ in 0..options.terraform_runs {
        remove_file(&state_file)?;
        remove_file(&tf.join("terraform.tfstate.backup"))?;
        applies.push(runner.run(&tf, terraform, &apply_args, &[0])?);
    }
    let bytes_empty = file_size(&state_file);
    let mut plans = Vec::new();
    for _ in 0..options.terraform_runs {
        plans.push(runner.run(
            &tf,
            terraform,
            &[
                "plan",
                "-input=false",
                "-no-color",
                "-detailed-exitcode",
                parallelism.as_str(),
            ],
            &[0],
        )?);
    }
    let mut changes = Vec::new();
    let mut bytes_change = 0;
    for _ in 0..options.terraform_runs {
        copy_dir(&tf, &tf_changed)?;
        write_terraform(&tf_changed, shape, Variant::OneChanged)
            .map_err(|e| BenchError::io("writing HCL", e))?;
        changes.push(runner.run(&tf_changed, terraform, &apply_args, &[0])?);
        bytes_change = file_size(&tf_changed.join("terraform.tfstate"));
    }
    remove_dir(&tf_changed)?;
    Ok(ToolFigures {
        apply_empty: Some(summarise(&applies)),
        noop_plan: Some(summarise(&plans)),
        one_change_apply: Some(summarise(&changes)),
        state_bytes_apply_empty: Some(bytes_empty),
        state_bytes_one_change: Some(bytes_change),
        state_bytes_lower_bound: true,
        journal_apply_empty: None,
        journal_one_change: None,
    })
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn remove_file(path: &Path) -> Result<(), BenchError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(BenchError::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

/// Removes a directory tree if it exists.
pub fn remove_dir(path: &Path) -> Result<(), BenchError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(BenchError::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

/// Replaces `to` with a copy of `from` (files and directories; symlinks are recreated).
pub fn copy_dir(from: &Path, to: &Path) -> Result<(), BenchError> {
    remove_dir(to)?;
    std::fs::create_dir_all(to)
        .map_err(|e| BenchError::io(format!("creating {}", to.display()), e))?;
    let entries = std::fs::read_dir(from)
        .map_err(|e| BenchError::io(format!("reading {}", from.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| BenchError::io(format!("reading {}", from.display()), e))?;
        let kind = entry
            .file_type()
            .map_err(|e| BenchError::io("reading a file type", e))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path())
                .map_err(|e| BenchError::io("reading a link", e))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(|e| BenchError::io("copying a link", e))?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| BenchError::io(format!("copying to {}", target.display()), e))?;
        }
    }
    Ok(())
}
