//! The integration test binary: one module per area.

mod ci;
mod crash;
mod diagnostics;
mod lifecycle;
mod planning;
mod support;
