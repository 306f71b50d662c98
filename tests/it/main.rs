//! The integration test binary: one module per area.

mod backends;
mod ci;
mod cli;
mod crash;
mod diagnostics;
mod fmt;
mod fuzz;
mod hostile;
mod lifecycle;
mod mita;
mod mita_checks;
mod mita_dr;
mod mita_env;
mod mita_runbook;
mod mita_scan;
mod modules;
mod moves;
mod planning;
mod policy;
mod schema;
mod stack_outputs;
mod state_commands;
mod support;
mod team_locks;
mod trust;
