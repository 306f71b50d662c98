//! The integration test binary: one module per area.

mod ci;
mod crash;
mod diagnostics;
mod lifecycle;
mod mita;
mod mita_checks;
mod mita_env;
mod planning;
mod support;
