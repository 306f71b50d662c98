//! Applying a plan: the execution graph, the executor (scheduling in `executor`, provider
//! calls in `operations`, journal records in `recording`) and the journal writer.

pub mod error;
pub mod executor;
pub mod graph;
pub mod journal;
mod operations;
mod recording;
pub mod report;

pub use error::{FailedAt, OpError};
pub use executor::Executor;
pub use graph::OpKind;
pub use journal::{JournalStats, JournalWriter};
pub use report::{ApplyReport, Outcome, ProgressTo, QuietReporter, Reporter};
#[cfg(test)]
mod tests;
