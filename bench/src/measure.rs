//! Running one measured command in a child process: wall time and peak resident memory.
//!
//! The benchmark re-executes itself as a wrapper (`plinth-bench __measure <log> -- cmd...`)
//! whose only child is the measured command, so `getrusage(RUSAGE_CHILDREN).ru_maxrss` of the
//! wrapper is exactly the peak memory of that command (the value is a maximum over children,
//! so a long-lived parent could not tell its runs apart).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::BenchError;

/// The first argument that turns the benchmark binary into the wrapper.
pub const WRAPPER_FLAG: &str = "__measure";

/// What one run of a command cost.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Sample {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Peak resident set size in bytes.
    pub peak_bytes: u64,
}

/// The wrapper's main: runs `command` with stdout and stderr appended to `log`, prints a
/// [`Sample`] as JSON on stdout.
pub fn wrapper_main(log: &Path, command: &[String]) -> Result<(), BenchError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| BenchError::Usage("nothing to measure".into()))?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| BenchError::io(format!("opening {}", log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| BenchError::io("duplicating the log handle", e))?;
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| BenchError::io(format!("running {program}"), e))?;
    let seconds = start.elapsed().as_secs_f64();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_err(|e| BenchError::Usage(format!("getrusage: {e}")))?;
    let sample = Sample {
        code: status.code().unwrap_or(-1),
        seconds,
        // Linux reports kilobytes.
        peak_bytes: u64::try_from(usage.max_rss()).unwrap_or(0) * 1024,
    };
    let json = serde_json::to_string(&sample).map_err(|e| BenchError::Usage(e.to_string()))?;
    println!("{json}");
    Ok(())
}

/// Runs commands through the wrapper.
pub struct Runner {
    /// The benchmark binary itself.
    pub this: PathBuf,
    /// Where command output goes (one log per benchmark run).
    pub log: PathBuf,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
}

impl Runner {
    /// Runs `program args` in `dir` and measures it; fails unless it exits with one of `ok`.
    pub fn run(
        &self,
        dir: &Path,
        program: &Path,
        args: &[&str],
        ok: &[i32],
    ) -> Result<Sample, BenchError> {
        let output = Command::new(&self.this)
            .arg(WRAPPER_FLAG)
            .arg(&self.log)
            .arg("--")
            .arg(program)
            .args(args)
            .current_dir(dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| BenchError::io(format!("running {}", self.this.display()), e))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let sample: Sample = serde_json::from_str(text.trim()).map_err(|e| BenchError::Failed {
            command: describe(program, args),
            reason: format!("the wrapper printed {text:?} ({e})"),
            log: self.log.clone(),
        })?;
        if !ok.contains(&sample.code) {
            return Err(BenchError::Failed {
                command: describe(program, args),
                reason: format!("exit code {}", sample.code),
                log: self.log.clone(),
            });
        }
        Ok(sample)
    }
}

fn describe(program: &Path, args: &[&str]) -> String {
    format!("{} {}", program.display(), args.join(" "))
}

/// Median of the samples' wall times and the largest peak.
pub fn summarise(samples: &[Sample]) -> Sample {
    let mut times: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    times.sort_by(f64::total_cmp);
    let seconds = if times.is_empty() {
        0.0
    } else if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2.0
    };
    Sample {
        code: 0,
        seconds,
        peak_bytes: samples.iter().map(|s| s.peak_bytes).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_take_the_middle() {
        let s = |seconds| Sample {
            code: 0,
            seconds,
            peak_bytes: (seconds * 10.0) as u64,
        };
        let m = summarise(&[s(3.0), s(1.0), s(2.0)]);
        assert_eq!(m.seconds, 2.0);
        assert_eq!(m.peak_bytes, 30);
        assert_eq!(summarise(&[s(1.0), s(2.0)]).seconds, 1.5);
    }
}
