//! Bytes an apply writes to the state, measured in process: the `wchar` counter of
//! `/proc/self/io` (every byte passed to `write(2)` by any thread) around `ops::apply` of the
//! real engine with the real local backend. Nothing else in the process writes meanwhile, so
//! the difference is the journal appends, the lock file and any compaction.

use std::path::Path;
use std::time::Duration;

use plinth::apply::QuietReporter;
use plinth::ops::{self, ApplyOptions, OpenOptions, Workspace};
use plinth::plan::PlanOptions;

use crate::BenchError;

/// Bytes this process has written so far (`wchar` of `/proc/self/io`).
pub fn bytes_written_so_far() -> Result<u64, BenchError> {
    let text = std::fs::read_to_string("/proc/self/io")
        .map_err(|e| BenchError::io("reading /proc/self/io", e))?;
    text.lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| BenchError::Usage("/proc/self/io has no `wchar` line".into()))
}

/// What one in-process apply wrote.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Written {
    /// Bytes written (journal, lock file, compaction).
    pub bytes: u64,
    /// Changes the plan held.
    pub changes: usize,
    /// Journal entries appended.
    pub journal_entries: usize,
    /// Durable journal appends (one fsync each).
    pub journal_appends: usize,
}

/// Applies the stack in `stack_dir` with state in `state_dir` and counts what it wrote.
pub fn apply_counting_bytes(stack_dir: &Path, state_dir: &Path) -> Result<Written, BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::io("starting a runtime", e))?;
    let options = OpenOptions {
        state_dir: Some(state_dir.to_path_buf()),
        ..OpenOptions::default()
    };
    let workspace = Workspace::open(stack_dir, &options).map_err(BenchError::engine)?;
    runtime.block_on(async {
        let mut confirm = |_: &plinth::plan::Plan| -> miette::Result<bool> { Ok(true) };
        let before = bytes_written_so_far()?;
        let result = ops::apply(
            &workspace,
            ApplyOptions {
                plan: PlanOptions::default(),
                parallelism: plinth::DEFAULT_PARALLELISM,
                lock_timeout: Duration::ZERO,
                reporter: &QuietReporter,
                confirm: &mut confirm,
                notice: &|_| {},
                accept_drift: false,
            },
        )
        .await
        .map_err(BenchError::engine)?;
        let after = bytes_written_so_far()?;
        let changes = result
            .plan
            .changes
            .iter()
            .filter(|c| c.action != plinth::plan::Action::NoOp)
            .count();
        if result.report.as_ref().is_some_and(|r| r.failed()) {
            return Err(BenchError::Usage(format!(
                "the apply of {} failed",
                stack_dir.display()
            )));
        }
        Ok(Written {
            bytes: after.saturating_sub(before),
            changes,
            journal_entries: result.journal.entries,
            journal_appends: result.journal.appends,
        })
    })
}
