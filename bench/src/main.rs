//! `plinth-bench`: Plinth against Terraform on synthetic stacks.
//!
//! ```text
//! cargo run --release -p plinth-bench -- --sizes 1000,10000,100000 --json bench.json
//! ```
//!
//! Three benchmarks (see the "Performance" section of the README):
//! - [`scale`]: layered stacks of zero-latency resources; apply from empty, no-op plan, a
//!   one-resource change, peak memory and state bytes written, against Terraform's
//!   `terraform_data` when `terraform` is on `PATH` (up to `--terraform-max` resources);
//! - [`latency`]: the MITA stack's shape in simulated resources, apply time against the
//!   critical path, at the default parallelism and at Terraform's 10;
//! - [`refresh`]: API calls and time of a batched refresh against one call per resource.
//!
//! Every measured command runs in its own child process of the real `plinth` binary (built by
//! this program with `cargo build --release -p plinth` when run under cargo).

mod generate;
mod latency;
mod measure;
mod refresh;
mod report;
mod scale;
mod state_bytes;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

use measure::Runner;
use report::Report;

/// What can go wrong in a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A measured command failed.
    #[error("`{command}` failed: {reason} (its output is in {})", .log.display())]
    Failed {
        /// The command.
        command: String,
        /// How it failed.
        reason: String,
        /// The log holding its output.
        log: PathBuf,
    },
    /// The engine failed in process.
    #[error("the engine failed: {0}")]
    Engine(String),
    /// Bad arguments or an unexpected result.
    #[error("{0}")]
    Usage(String),
}

impl BenchError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io {
            context: context.into(),
            source,
        }
    }

    fn engine(report: miette::Report) -> Self {
        BenchError::Engine(format!("{report:?}"))
    }
}

/// Benchmarks of Plinth (and Terraform, when on PATH).
#[derive(Debug, Parser)]
#[command(name = "plinth-bench")]
struct Args {
    /// Stack sizes of the scale benchmark.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// References each resource makes into the layer below.
    #[arg(long, default_value_t = 2)]
    width: usize,
    /// Layers of the synthetic stacks.
    #[arg(long, default_value_t = 10)]
    depth: usize,
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Write the results as JSON to this file too.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the Markdown tables to this file too.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Largest stack Terraform is run at (it needs over half an hour for 10,000).
    #[arg(long, default_value_t = 1000)]
    terraform_max: usize,
    /// Terraform's `-parallelism` (its default is 10).
    #[arg(long, default_value_t = 10)]
    terraform_parallelism: usize,
    /// Runs per Terraform measurement (default: `--runs`).
    #[arg(long)]
    terraform_runs: Option<usize>,
    /// Do not run Terraform even when it is on PATH.
    #[arg(long)]
    no_terraform: bool,
    /// The scale benchmark also runs each size as this many instances of one module
    /// (`for_each`), beside the flat stack; 0 skips the module case.
    #[arg(long, default_value_t = 100)]
    module_instances: usize,
    /// Which benchmarks: `scale`, `latency`, `refresh`.
    #[arg(long, value_delimiter = ',', default_value = "scale,latency,refresh")]
    only: Vec<String>,
    /// Resources of the refresh benchmark.
    #[arg(long, default_value_t = 2000)]
    refresh_size: usize,
    /// `page_size` of the refresh benchmark's provider.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// `rate_limit` (calls per second) of the refresh benchmark's provider.
    #[arg(long, default_value_t = 100.0)]
    rate_limit: f64,
    /// `read_ms` of the refresh benchmark's resources.
    #[arg(long, default_value_t = 20)]
    read_ms: u64,
    /// The `plinth` binary (default: built next to this program).
    #[arg(long, value_name = "PATH")]
    plinth: Option<PathBuf>,
    /// Only write the stacks of the first size (Plinth's `stack.toml` in `DIR/base` and
    /// `DIR/changed`, the module case in `DIR/modules-base` and `DIR/modules-changed`,
    /// Terraform's `main.tf` in `DIR/terraform`), for profiling by hand.
    #[arg(long, value_name = "DIR")]
    emit: Option<PathBuf>,
    /// Working directory for the generated stacks (default: a temporary directory, removed).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(measure::WRAPPER_FLAG) {
        let result = match (argv.get(2), argv.get(3).map(String::as_str)) {
            (Some(log), Some("--")) => measure::wrapper_main(Path::new(log), &argv[4..]),
            _ => Err(BenchError::Usage(
                "usage: __measure LOG -- COMMAND...".into(),
            )),
        };
        if let Err(e) = result {
            eprintln!("plinth-bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run(Args::parse()) {
        eprintln!("plinth-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), BenchError> {
    if let Some(dir) = &args.emit {
        let shape = generate::Shape {
            size: args.sizes.first().copied().unwrap_or(1000),
            depth: args.depth,
            width: args.width,
        };
        let written = generate::write_plinth(&dir.join("base"), &shape, generate::Variant::Base)
            .and_then(|_| {
                generate::write_plinth(&dir.join("changed"), &shape, generate::Variant::OneChanged)
            })
            .and_then(|_| {
                generate::write_plinth_modules(
                    &dir.join("modules-base"),
                    &shape,
                    generate::Variant::Base,
                    args.module_instances.max(1),
                )
            })
            .and_then(|_| {
                generate::write_plinth_modules(
                    &dir.join("modules-changed"),
                    &shape,
                    generate::Variant::OneChanged,
                    args.module_instances.max(1),
                )
            })
            .and_then(|_| {
                generate::write_terraform(&dir.join("terraform"), &shape, generate::Variant::Base)
            });
        return written.map_err(|e| BenchError::io(format!("writing to {}", dir.display()), e));
    }
    let this = std::env::current_exe().map_err(|e| BenchError::io("finding this program", e))?;
    let plinth = match &args.plinth {
        Some(path) => path.clone(),
        None => build_plinth(&this)?,
    };
    let temp = tempfile::Builder::new()
        .prefix("plinth-bench-")
        .tempdir()
        .map_err(|e| BenchError::io("creating a temporary directory", e))?;
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&work).map_err(|e| BenchError::io("creating the work dir", e))?;
    let runner = Runner {
        this,
        log: work.join("commands.log"),
        env: vec![
            ("NO_COLOR".into(), "1".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
        ],
    };
    let terraform = (!args.no_terraform).then(find_terraform).flatten();
    let terraform_version = terraform.as_ref().and_then(|t| {
        let output = Command::new(t).arg("version").output().ok()?;
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .map(str::to_string)
    });
    let mut report = Report {
        machine: report::machine(),
        load_average: (report::load_average(), String::new()),
        runs: args.runs,
        terraform_version,
        terraform_parallelism: args.terraform_parallelism,
        scale: Vec::new(),
        latency: None,
        refresh: None,
    };
    let wants = |name: &str| args.only.iter().any(|o| o == name);
    if wants("scale") {
        let options = scale::ScaleOptions {
            depth: args.depth,
            width: args.width,
            runs: args.runs.max(1),
            plinth: plinth.clone(),
            terraform: terraform.clone(),
            terraform_max: args.terraform_max,
            terraform_parallelism: args.terraform_parallelism,
            terraform_runs: args.terraform_runs.unwrap_or(args.runs).max(1),
            module_instances: args.module_instances,
        };
        for &size in &args.sizes {
            report
                .scale
                .push(scale::run_size(size, &options, &runner, &work)?);
            scale::remove_dir(&work.join(format!("scale-{size}")))?;
        }
    }
    if wants("latency") {
        let parallelisms = [plinth::DEFAULT_PARALLELISM, args.terraform_parallelism];
        report.latency = Some(latency::run(
            &plinth,
            &parallelisms,
            args.runs.max(1),
            &runner,
            &work,
        )?);
    }
    if wants("refresh") {
        let options = refresh::RefreshOptions {
            size: args.refresh_size,
            page_size: args.page_size,
            rate_limit: args.rate_limit,
            read_ms: args.read_ms,
            runs: args.runs.max(1),
        };
        report.refresh = Some(refresh::run(&plinth, &options, &runner, &work)?);
    }

    report.load_average.1 = report::load_average();
    let markdown = report.to_markdown();
    println!("{markdown}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &markdown)
            .map_err(|e| BenchError::io(format!("writing {}", path.display()), e))?;
    }
    if let Some(path) = &args.json {
        let json =
            serde_json::to_vec_pretty(&report).map_err(|e| BenchError::Usage(e.to_string()))?;
        std::fs::write(path, json)
            .map_err(|e| BenchError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// Builds the `plinth` binary with the same profile when run under cargo, else expects it
/// next to this program.
fn build_plinth(this: &Path) -> Result<PathBuf, BenchError> {
    let dir = this
        .parent()
        .ok_or_else(|| BenchError::Usage("this program has no directory".into()))?;
    let binary = dir.join("plinth");
    if let Ok(cargo) = std::env::var("CARGO") {
        let release = dir.file_name().is_some_and(|n| n == "release");
        let mut command = Command::new(cargo);
        command.args(["build", "-p", "plinth", "--bin", "plinth"]);
        if release {
            command.arg("--release");
        } else {
            eprintln!("plinth-bench: not a release build; the numbers will be slow (use `cargo run --release`)");
        }
        let status = command
            .status()
            .map_err(|e| BenchError::io("running cargo build", e))?;
        if !status.success() {
            return Err(BenchError::Usage("building plinth failed".into()));
        }
    }
    if binary.exists() {
        Ok(binary)
    } else {
        Err(BenchError::Usage(format!(
            "{} not found: run under `cargo run --release -p plinth-bench` or pass `--plinth PATH`",
            binary.display()
        )))
    }
}

fn find_terraform() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("terraform"))
        .find(|candidate| candidate.is_file())
}
