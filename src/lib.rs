//! # Plinth
//!
//! (architecture map: filled in as the engine lands)

pub mod apply;
pub mod cli;
pub mod config;
pub mod eval;
pub mod graph;
pub mod ops;
pub mod plan;
pub mod registry;
pub mod render;
pub mod retry;
pub mod secrets;

/// Default `--parallelism`: operations in flight at once (provider limits apply too).
pub const DEFAULT_PARALLELISM: usize = 64;
