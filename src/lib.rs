//! # Plinth
//!
//! (architecture map: filled in as the engine lands)

pub mod apply;
pub mod config;
pub mod eval;
pub mod graph;
pub mod plan;
pub mod registry;
pub mod retry;
pub mod secrets;
pub mod ops;
pub mod render;
pub mod cli;

/// Default `--parallelism`: operations in flight at once (provider limits apply too).
pub const DEFAULT_PARALLELISM: usize = 64;
