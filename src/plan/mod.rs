//! Planning: refresh, diff and the plan model.

pub mod data;
pub mod decide;
pub mod diff;
pub mod model;
pub mod moves;
pub mod planner;
pub mod refresh;
mod removals;

pub use data::DataRead;
pub use diff::attribute_diffs;
pub use model::*;
pub use planner::{desired_inputs, fingerprint, PlanError, PlanOptions, Planner};
