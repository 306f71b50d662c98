//! # Plinth: the engine
//!
//! The pipeline, module by module:
//!
//! 1. [`config`] — a stack directory of TOML files is parsed into a spanned mirror, then
//!    lowered into a validated, typed [`config::Stack`] for one environment. Every problem is
//!    collected and reported at once with file, line, span and a hint (miette).
//! 2. [`graph`] — [`graph::DependencyGraph`] (petgraph) from references and `depends_on`;
//!    a cycle is an error printing the minimal cycle as a path.
//! 3. [`plan`] — [`plan::Planner`] refreshes recorded resources (one batched read per type),
//!    evaluates desired values ([`eval`], [`secrets`]) in dependency order, diffs them against
//!    live values and decides an [`plan::Action`] per resource. The [`plan::Plan`] is
//!    serialisable (saved plans, JSON) and holds no secret values.
//! 4. [`apply`] — [`apply::Executor`] compiles the plan into an execution graph and runs it
//!    concurrently; [`apply::JournalWriter`] makes an intent durable before every provider call
//!    and the result after it (group commit).
//! 5. State — the `plinth-state` crate: document, journal, `StateStore` backends, locks.
//!
//! Around it: [`registry`] (which provider serves which type; providers are configured
//! lazily), [`retry`] (backoff with jitter for retryable provider errors), [`render`]
//! (everything printed), [`ops`] (one use case per file, called by [`cli`], tests and
//! benchmarks). Providers implement the I/O-free contract in `plinth-provider`.
//!
//! ```no_run
//! # async fn demo() -> miette::Result<()> {
//! use plinth::ops::{OpenOptions, Workspace};
//! use plinth::plan::PlanOptions;
//! let workspace = Workspace::open("stacks/examples/hello".as_ref(), &OpenOptions::default())?;
//! let (plan, _state) = plinth::ops::plan(&workspace, &PlanOptions::default()).await?;
//! print!("{}", plinth::render::render_plan(&plan, plinth::render::Style::plain()));
//! # Ok(()) }
//! ```

pub mod apply;
pub mod cli;
pub mod config;
pub mod duration;
pub mod eval;
pub mod graph;
pub mod logs;
pub mod ops;
pub mod plan;
pub mod policy;
pub mod registry;
pub mod render;
pub mod retry;
pub mod schema;
pub mod secrets;
pub mod stack_outputs;

/// Default `--parallelism`: operations in flight at once (provider limits apply too).
pub const DEFAULT_PARALLELISM: usize = 64;
