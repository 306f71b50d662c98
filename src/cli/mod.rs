//! The command line (clap): one file per command, each parsing its arguments and calling
//! one use case in [`crate::ops`]. Exit codes: 0 success / no changes, 1 error,
//! 2 changes present (`plan --detailed-exitcode`), 3 only drift (`plan --detailed-exitcode`).

mod apply;
mod bootstrap;
mod graph;
mod import;
mod lock;
pub mod panic;
mod plan;
mod render;
mod rollback;
mod show;
mod state;
mod unlock;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Limits, LoadOptions};
use crate::ops::OpenOptions;

/// Exit code: success, or a plan without changes.
pub const EXIT_OK: i32 = 0;
/// Exit code: an error.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: `plan --detailed-exitcode` found changes.
pub const EXIT_CHANGES: i32 = 2;
/// Exit code: `plan --detailed-exitcode` found only drift (changes made outside Plinth).
pub const EXIT_DRIFT: i32 = 3;

/// Plinth: declarative infrastructure from TOML stacks.
#[derive(Debug, Parser)]
#[command(name = "plinth", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success or no changes, 1 error, 2 changes present (plan --detailed-exitcode), \
3 only drift (plan --detailed-exitcode, drift)."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack: syntax, types, references, cycles. No state or network.
    Validate(validate::ValidateArgs),
    /// Show what apply would change.
    Plan(plan::PlanArgs),
    /// Report changes made outside Plinth (`plan --refresh-only` with exit codes 0 none,
    /// 3 drift, 1 error), for scheduled jobs.
    Drift(plan::DriftArgs),
    /// Create, update and delete resources to match the stack (or apply a saved plan file).
    Apply(apply::ApplyArgs),
    /// Destroy everything the state of an environment records.
    Destroy(apply::DestroyArgs),
    /// Print the Kubernetes manifests of the stack's app releases as YAML (no cluster needed).
    Render(render::RenderArgs),
    /// Re-apply an earlier revision of an app release (default: the previous one).
    Rollback(rollback::RollbackArgs),
    /// Print the dependency graph in Graphviz DOT.
    Graph(graph::GraphArgs),
    /// Show the state of an environment, or one resource of it, or a saved plan file.
    Show(show::ShowArgs),
    /// Print the stack's outputs.
    Output(show::OutputArgs),
    /// Read and edit the recorded state: list, show, mv, rm, pull, push.
    State(state::StateArgs),
    /// Adopt an existing cloud resource into a resource block of the stack.
    Import(import::ImportArgs),
    /// Create the remote state home (bucket or tables), migrate a local state, then apply.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Inspect state locks (`plinth lock list`).
    Lock(lock::LockArgs),
    /// Remove a state lock left by a process that died.
    ForceUnlock(unlock::ForceUnlockArgs),
}

/// Arguments shared by every command that loads a stack.
#[derive(Debug, Args, Clone)]
pub struct StackArgs {
    /// The stack directory.
    #[arg(default_value = ".")]
    pub stack: PathBuf,
    /// The environment (may be omitted when the stack has only one).
    #[arg(long, short = 'e', env = "PLINTH_ENV")]
    pub env: Option<String>,
    /// Set a variable: `--var NAME=VALUE` (beats --var-file, PLINTH_VAR_NAME and the stack's values).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a TOML file of `name = value` lines (later files win).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// Where the local backend keeps state (default: `<stack>/.plinth`).
    #[arg(long, env = "PLINTH_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// At most this many resource instances in the stack, after `count` [default: 250000].
    #[arg(long, env = "PLINTH_MAX_RESOURCES", value_name = "N", value_parser = crate::config::limits::parse_count)]
    pub max_resources: Option<u64>,
    /// At most this many instances of one block (`count`) [default: 10000].
    #[arg(long, env = "PLINTH_MAX_COUNT", value_name = "N", value_parser = crate::config::limits::parse_count)]
    pub max_count: Option<u64>,
    /// Largest stack or var file, e.g. `256MiB` [default: 64MiB].
    #[arg(long, env = "PLINTH_MAX_FILE_SIZE", value_name = "SIZE", value_parser = crate::config::limits::parse_size, hide_short_help = true)]
    pub max_file_size: Option<u64>,
    /// Longest string after interpolation, e.g. `4MiB` [default: 1MiB].
    #[arg(long, env = "PLINTH_MAX_STRING_SIZE", value_name = "SIZE", value_parser = crate::config::limits::parse_size, hide_short_help = true)]
    pub max_string_size: Option<u64>,
    /// Deepest nesting of arrays, tables and dotted keys (at most 256) [default: 64].
    #[arg(long, env = "PLINTH_MAX_DEPTH", value_name = "N", value_parser = crate::config::limits::parse_count, hide_short_help = true)]
    pub max_depth: Option<u64>,
    /// Most values built by variable substitution and `count`, e.g. `1GiB` [default: 512MiB].
    #[arg(long, env = "PLINTH_MAX_EXPANSION", value_name = "SIZE", value_parser = crate::config::limits::parse_size, hide_short_help = true)]
    pub max_expansion: Option<u64>,
}

impl StackArgs {
    /// Workspace options from the arguments.
    pub fn open_options(&self) -> miette::Result<OpenOptions> {
        let mut vars = Vec::new();
        for var in &self.vars {
            let (name, value) = var.split_once('=').ok_or_else(|| {
                miette::miette!(
                    help = "write it as `--var NAME=VALUE`",
                    "`--var {var}` has no `=`"
                )
            })?;
            vars.push((name.trim().to_string(), value.to_string()));
        }
        Ok(OpenOptions {
            load: LoadOptions {
                environment: self.env.clone(),
                vars,
                var_files: self.var_files.clone(),
                limits: self.limits(),
            },
            state_dir: self.state_dir.clone(),
        })
    }
}

impl StackArgs {
    /// The loader's limits: the defaults, overridden by `PLINTH_MAX_*` and `--max-*`.
    pub fn limits(&self) -> Limits {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut limits = Limits::from_env();
        if let Some(n) = self.max_resources {
            limits.max_resources = size(n);
        }
        if let Some(n) = self.max_count {
            limits.max_count = size(n);
        }
        if let Some(n) = self.max_file_size {
            limits.max_file_bytes = n;
        }
        if let Some(n) = self.max_string_size {
            limits.max_string_bytes = size(n);
        }
        if let Some(n) = self.max_depth {
            limits.max_depth = size(n);
        }
        if let Some(n) = self.max_expansion {
            limits.max_expansion_bytes = n;
        }
        limits.clamped()
    }
}

/// Runs a command; returns the exit code.
pub async fn run(cli: Cli) -> miette::Result<i32> {
    // The integration tests check what a panic looks like to a user (`tests/it/hostile.rs`).
    if std::env::var_os("PLINTH_PANIC_FOR_TESTS").is_some() {
        panic!("PLINTH_PANIC_FOR_TESTS is set");
    }
    match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args).await,
        Command::Drift(args) => plan::run_drift(args).await,
        Command::Apply(args) => apply::run(args).await,
        Command::Destroy(args) => apply::run_destroy(args).await,
        Command::Render(args) => render::run(args).await,
        Command::Rollback(args) => rollback::run(args).await,
        Command::Graph(args) => graph::run(args),
        Command::Show(args) => show::run(args).await,
        Command::Output(args) => show::run_output(args).await,
        Command::State(args) => state::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Bootstrap(args) => bootstrap::run(args).await,
        Command::Lock(args) => lock::run(args).await,
        Command::ForceUnlock(args) => unlock::run(args).await,
    }
}

/// Parses `90s`, `5m`, `1h30m`, `250ms` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (e.g. 90s, 5m, 1h30m)"))?;
        number.clear();
        total += match c {
            'h' => Duration::from_secs(value * 3600),
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                Duration::from_millis(value)
            }
            'm' => Duration::from_secs(value * 60),
            's' => Duration::from_secs(value),
            _ => return Err(format!("`{text}` is not a duration (e.g. 90s, 5m, 1h30m)")),
        };
    }
    if !number.is_empty() {
        return Err(format!("`{text}` needs a unit (s, m, h)"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
