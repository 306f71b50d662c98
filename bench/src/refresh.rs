//! The refresh benchmark: `size` `sim_resource`s behind a rate-limited API with paginated
//! list calls. After an apply (unthrottled, not measured), `plinth plan` refreshes them all;
//! the simulated cloud counts the calls it served. Compared with reading one resource per call,
//! as Terraform does: `size` calls, taking at least `size / rate_limit` seconds and
//! `size / 10 × read_ms` with Terraform's ten slots.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::measure::{summarise, Runner, Sample};
use crate::scale::remove_dir;
use crate::BenchError;

/// Settings of the refresh benchmark.
#[derive(Clone, Copy, Debug)]
pub struct RefreshOptions {
    /// Resources.
    pub size: usize,
    /// `[providers.sim] page_size`.
    pub page_size: usize,
    /// `[providers.sim] rate_limit` (calls per second).
    pub rate_limit: f64,
    /// `read_ms` of every resource.
    pub read_ms: u64,
    /// Runs (median reported).
    pub runs: usize,
}

/// The refresh benchmark's results.
#[derive(Clone, Debug, Serialize)]
pub struct RefreshResult {
    /// Resources.
    pub size: usize,
    /// Page size.
    pub page_size: usize,
    /// Rate limit (calls per second).
    pub rate_limit: f64,
    /// Read latency per call (ms).
    pub read_ms: u64,
    /// API calls one refresh made (all kinds).
    pub calls: u64,
    /// Of which batched page reads.
    pub page_reads: u64,
    /// Calls with one read per resource.
    pub one_per_resource_calls: u64,
    /// `calls / one_per_resource_calls`.
    pub call_ratio: f64,
    /// Median wall time and peak memory of `plinth plan`.
    pub plan: Sample,
    /// Lower bound of a one-read-per-resource refresh with 10 reads in flight (seconds).
    pub one_per_resource_seconds: f64,
}

fn write_stack(dir: &Path, options: &RefreshOptions, throttled: bool) -> Result<(), BenchError> {
    let rate = if throttled { options.rate_limit } else { 0.0 };
    let mut out = format!(
        "[stack]\nname = \"refresh\"\nenvironments = [\"bench\"]\n\n[providers.sim]\npage_size = {}\nrate_limit = {rate}\nrecord_calls = true\n\n",
        options.page_size
    );
    for index in 0..options.size {
        let _ = writeln!(
            out,
            "[sim_resource.r{index}]\nname = \"refresh-{index}\"\nsize = {index}\nread_ms = {}\n",
            options.read_ms
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| BenchError::io("creating the stack dir", e))?;
    std::fs::write(dir.join("stack.toml"), out).map_err(|e| BenchError::io("writing the stack", e))
}

/// Runs the refresh benchmark.
pub fn run(
    plinth: &Path,
    options: &RefreshOptions,
    runner: &Runner,
    work: &Path,
) -> Result<RefreshResult, BenchError> {
    let dir = work.join("refresh");
    let setup = dir.join("setup");
    let stack = dir.join("stack");
    let state = dir.join("state");
    let cloud = state.join("sim-cloud");
    write_stack(&setup, options, false)?;
    write_stack(&stack, options, true)?;
    remove_dir(&state)?;
    let state_arg = state.display().to_string();
    eprintln!("  refresh, {} resources", options.size);
    runner.run(
        &dir,
        plinth,
        &[
            "apply",
            &setup.display().to_string(),
            "--auto-approve",
            "--state-dir",
            &state_arg,
        ],
        &[0],
    )?;
    let mut samples = Vec::new();
    let mut counts = plinth_builtin::CallCounts::default();
    for _ in 0..options.runs {
        plinth_builtin::reset_call_counts(&cloud)
            .map_err(|e| BenchError::Usage(format!("resetting the call log: {e}")))?;
        samples.push(runner.run(
            &dir,
            plinth,
            &[
                "plan",
                &stack.display().to_string(),
                "--state-dir",
                &state_arg,
                "--detailed-exitcode",
            ],
            &[0],
        )?);
        counts = plinth_builtin::call_counts(&cloud)
            .map_err(|e| BenchError::Usage(format!("reading the call log: {e}")))?;
    }
    remove_dir(&state)?;
    let size = options.size as u64;
    let by_rate = if options.rate_limit > 0.0 {
        options.size as f64 / options.rate_limit
    } else {
        0.0
    };
    let by_slots = options.size.div_ceil(10) as f64 * options.read_ms as f64 / 1000.0;
    Ok(RefreshResult {
        size: options.size,
        page_size: options.page_size,
        rate_limit: options.rate_limit,
        read_ms: options.read_ms,
        calls: counts.total(),
        page_reads: counts.read_page,
        one_per_resource_calls: size,
        call_ratio: counts.total() as f64 / size.max(1) as f64,
        plan: summarise(&samples),
        one_per_resource_seconds: by_rate.max(by_slots),
    })
}
