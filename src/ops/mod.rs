//! Use cases, one per file: what each command does, callable from tests and benchmarks
//! without the CLI.

pub mod apply;
pub mod bootstrap;
pub mod import;
pub mod inspect;
pub mod manifests;
pub mod plan;
pub mod planfile;
pub mod rollback;
pub mod state;
pub mod workspace;

pub use apply::{apply, apply_saved, ApplyOptions, ApplyResult};
pub use plan::{detailed_exit_code, plan, plan_with_state};
pub use workspace::{OpenOptions, Workspace};
