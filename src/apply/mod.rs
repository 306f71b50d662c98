//! Applying a plan: the execution graph, the executor and the journal writer.

pub mod executor;
pub mod graph;
pub mod journal;
pub mod report;

pub use executor::Executor;
pub use graph::OpKind;
pub use journal::{JournalStats, JournalWriter};
pub use report::{ApplyReport, Outcome, ProgressTo, QuietReporter, Reporter};
