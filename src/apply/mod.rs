//! Applying a plan: the execution graph, the executor and the journal writer.

pub mod executor;
pub mod journal;

pub use executor::{ApplyReport, Executor, OpKind, Outcome, QuietReporter, Reporter};
pub use journal::{JournalStats, JournalWriter};
