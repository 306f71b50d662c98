//! Planning: refresh, diff and the plan model.

pub mod model;
pub mod planner;
pub mod refresh;

pub use model::*;
pub use planner::{attribute_diffs, desired_inputs, fingerprint, PlanError, PlanOptions, Planner};
