//! The command line (clap): one file per command, each parsing its arguments and calling
//! one use case in [`crate::ops`]. Exit codes: 0 success / no changes, 1 error,
//! 2 changes present (`plan --detailed-exitcode`), 3 only drift (`plan --detailed-exitcode`).

mod apply;
mod bootstrap;
mod completions;
mod fmt;
mod graph;
mod import;
mod lock;
pub mod panic;
mod plan;
mod prompt;
mod render;
mod rollback;
mod schema;
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
/// Exit code: the policy gate (`policies/*.rego`) denied the plan; nothing was changed.
pub const EXIT_POLICY: i32 = 4;

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
    /// Log to stderr: `-v` info, `-vv` debug (the AWS SDK's requests), `-vvv` trace.
    /// `PLINTH_LOG` (or `RUST_LOG`), e.g. `aws_smithy_runtime=debug`, wins over it.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log line format: `text` or `json` (one object per line, for CI).
    #[arg(long, value_enum, default_value_t = crate::logs::LogFormat::Text, global = true, value_name = "FORMAT")]
    pub log_format: crate::logs::LogFormat,
    /// No colour on any stream (also `NO_COLOR=1`; `CLICOLOR_FORCE=1` forces it on).
    #[arg(long, global = true)]
    pub no_color: bool,
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
    /// Rewrite stack files in the canonical layout, keeping comments (`--check`: exit 3 when
    /// one is not formatted).
    Fmt(fmt::FmtArgs),
    /// Print the JSON Schema of stack files (for editors: taplo / Even Better TOML), generated
    /// from the provider schemas.
    Schema(schema::SchemaArgs),
    /// Print a shell completion script (`plinth completions bash > ...`).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff: `plinth man > plinth.1`), or write every page (`--dir`).
    Man(completions::ManArgs),
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
    /// At most this many resource instances in the stack, after `count` [default: 100000].
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
    /// Most memory the plan may hold for values built by variable substitution and `count` (each counted four times), e.g. `1GiB` [default: 512MiB].
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
                as_module: false,
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

/// Parses the process arguments, exiting on `--help`, `--version` or a usage error. A usage
/// error exits 1, never clap's 2, which `plan --detailed-exitcode` uses for "changes present".
/// Terraform's single-dash long options (`-detailed-exitcode`, `-auto-approve`, `-force`)
/// get a hint instead of being read as clusters of short options (`-env` as `-e nv`).
pub fn parse_args() -> Cli {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(hint) = single_dash_hint(&args) {
        eprintln!("{hint}");
        std::process::exit(EXIT_ERROR);
    }
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
        }
    }
}

/// An error message for the first argument that is a long option of Plinth written with one
/// dash (`-detailed-exitcode`, `-target=x`), or `None`.
pub fn single_dash_hint(args: &[String]) -> Option<String> {
    use clap::CommandFactory;
    fn long_names(command: &clap::Command, out: &mut std::collections::BTreeSet<String>) {
        out.extend(
            command
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string)),
        );
        for sub in command.get_subcommands() {
            long_names(sub, out);
        }
    }
    let mut names = std::collections::BTreeSet::from(["help".to_string(), "version".to_string()]);
    long_names(&Cli::command(), &mut names);
    args.iter()
        .skip(1)
        .take_while(|a| a.as_str() != "--")
        .find_map(|arg| {
            let word = arg.strip_prefix('-').filter(|w| !w.starts_with('-'))?;
            let (name, value) = match word.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (word, None),
            };
            if name.chars().count() < 2 || !names.contains(name) {
                return None;
            }
            let fixed = match value {
                Some(value) => format!("--{name}={value}"),
                None => format!("--{name}"),
            };
            Some(format!(
                "error: unexpected argument `{arg}`\n\n  tip: Plinth's long options take two dashes \
                 (Terraform's take one): did you mean `{fixed}`?"
            ))
        })
}

/// Runs a command; returns the exit code.
pub async fn run(cli: Cli) -> miette::Result<i32> {
    if cli.no_color {
        crate::render::disable_color();
    }
    crate::logs::init(cli.verbose, cli.log_format);
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
        Command::Fmt(args) => fmt::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => completions::run_man(args),
    }
}

/// Parses a duration argument (`250ms`, `90s`, `5m`, `1h30m`, `1d`, or seconds): the same
/// grammar as durations in stack files, see [`crate::duration`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_timeout_takes_days() {
        // Regression (issue 14): `--lock-timeout 1d` was refused (no `d` unit).
        let cli = Cli::try_parse_from(["plinth", "apply", "--lock-timeout", "1d", "."])
            .expect("`1d` parses");
        let Command::Apply(args) = cli.command else {
            panic!("not apply");
        };
        assert_eq!(args.lock_timeout, Duration::from_secs(86_400));
    }

    #[test]
    fn single_dash_long_options_get_a_hint() {
        let args = |line: &str| line.split(' ').map(str::to_string).collect::<Vec<_>>();
        let hint = single_dash_hint(&args("plinth plan -detailed-exitcode .")).expect("a hint");
        assert!(
            hint.contains("did you mean `--detailed-exitcode`?"),
            "{hint}"
        );
        let hint = single_dash_hint(&args("plinth plan -target=sim.a")).expect("a hint");
        assert!(hint.contains("`--target=sim.a`"), "{hint}");
        assert!(single_dash_hint(&args("plinth plan -e staging --detailed-exitcode")).is_none());
        assert!(single_dash_hint(&args("plinth plan -estaging")).is_none());
        assert!(single_dash_hint(&args("plinth state rm -- -env")).is_none());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
