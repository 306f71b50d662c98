//! The integration test binary: one module per area.

mod crash;
mod diagnostics;
mod lifecycle;
mod planning;
mod support;
