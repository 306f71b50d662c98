//! What an apply reports: per-resource outcomes, and the [`Reporter`] the progress display
//! implements.

use std::time::Duration;

use plinth_provider::Progress;

use super::error::OpError;
use crate::plan::Action;

/// The outcome of one resource in an apply.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Done.
    Succeeded(Action),
    /// An operation failed (the provider, or recording what it did).
    Failed(OpError),
    /// Not attempted (a dependency failed, or prevent_destroy blocked it).
    Skipped(String),
    /// One half of a replacement happened, the other did not (yet): `done` is what happened
    /// (`Delete`: the old object is destroyed; `Create`: the successor exists and the old
    /// object is kept as deposed), `rest` why the other half did not.
    Partial {
        /// The half that happened.
        done: Action,
        /// Why the other half did not.
        rest: String,
    },
}

/// What the executor reports back.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// Per address, in plan order.
    pub outcomes: Vec<(String, Outcome)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl ApplyReport {
    /// True when something failed or was skipped.
    pub fn failed(&self) -> bool {
        self.outcomes
            .iter()
            .any(|(_, o)| !matches!(o, Outcome::Succeeded(_)))
    }
}

/// Receives progress events (the terminal display implements it).
pub trait Reporter: Send + Sync {
    /// An operation started.
    fn started(&self, address: &str, verb: &str);
    /// A status line from the provider.
    fn progress(&self, address: &str, message: &str);
    /// An operation finished (`error` is None on success).
    fn finished(
        &self,
        address: &str,
        verb: &str,
        elapsed: Duration,
        id: Option<&str>,
        error: Option<&str>,
    );
}

/// A reporter that prints nothing.
pub struct QuietReporter;

impl Reporter for QuietReporter {
    fn started(&self, _: &str, _: &str) {}
    fn progress(&self, _: &str, _: &str) {}
    fn finished(&self, _: &str, _: &str, _: Duration, _: Option<&str>, _: Option<&str>) {}
}

/// Forwards a provider's progress lines for one resource to a [`Reporter`].
pub struct ProgressTo<'a> {
    /// The resource's address.
    pub address: &'a str,
    /// Where the lines go.
    pub reporter: &'a dyn Reporter,
}

impl Progress for ProgressTo<'_> {
    fn update(&self, message: &str) {
        self.reporter.progress(self.address, message);
    }
}
