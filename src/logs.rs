//! Logs (`tracing`): off unless asked for, on stderr, never mixed into stdout (plans, JSON).
//! `-v` info, `-vv` debug, `-vvv` trace; `PLINTH_LOG` (or `RUST_LOG`) takes a filter such as
//! `aws_smithy_runtime=debug,plinth=trace` and wins over `-v`. The AWS SDK's and kube-rs's
//! own events come through the same subscriber. `--log-format json` gives one JSON object per
//! line for CI.
//!
//! Logs never carry a secret of the stack: at trace level the AWS SDK prints response bodies
//! (a tag holding `${secret.token}` comes back in `GetBucketTagging`), so every line is
//! written through [`ScrubbingStderr`], which replaces the plaintexts registered with
//! [`scrub`] (the stack's secrets, registered when a stack is opened) by `(sensitive)`.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// Secret plaintexts that log lines must not carry.
static SCRUBBED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Set once a subscriber is installed (registering secrets costs nothing otherwise).
static ENABLED: OnceLock<()> = OnceLock::new();

/// Whether logs are on.
pub fn enabled() -> bool {
    ENABLED.get().is_some()
}

/// Registers secret plaintexts to replace by `(sensitive)` in every later log line.
pub fn scrub<'a>(plaintexts: impl IntoIterator<Item = &'a str>) {
    let mut scrubbed = SCRUBBED.lock().unwrap_or_else(|e| e.into_inner());
    for text in plaintexts {
        if !text.is_empty() && !scrubbed.iter().any(|s| s == text) {
            scrubbed.push(text.to_string());
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    scrubbed.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by `(sensitive)`.
pub fn scrubbed(text: &str) -> String {
    let secrets = SCRUBBED.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "(sensitive)");
        }
    }
    out
}

/// stderr through [`scrubbed`]. The fmt layer writes each event with one `write`, so a secret
/// is never split between two writes.
pub struct ScrubbingStderr;

impl Write for ScrubbingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = scrubbed(&String::from_utf8_lossy(buf));
        std::io::stderr().lock().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO target: message key=value`.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`, `spans`).
    Json,
}

/// The filter asked for: `PLINTH_LOG`, else `RUST_LOG`, else the `-v` count (`None`: no
/// logs).
pub fn filter_directive(verbose: u8, getenv: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let from_env = ["PLINTH_LOG", "RUST_LOG"]
        .iter()
        .find_map(|name| getenv(name).filter(|value| !value.trim().is_empty()));
    from_env.or_else(|| {
        let level = match verbose {
            0 => return None,
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        Some(level.to_string())
    })
}

/// Installs the subscriber when logs were asked for.
pub fn init(verbose: u8, format: LogFormat) {
    let Some(directive) = filter_directive(verbose, &|name| std::env::var(name).ok()) else {
        return;
    };
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|e| {
        eprintln!("Warning: ignoring the log filter `{directive}` ({e}); logging at `info`");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ScrubbingStderr)
        .with_ansi(false);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    match installed {
        Ok(()) => {
            let _ = ENABLED.set(());
        }
        Err(e) => eprintln!("Warning: logs are off: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed_longest_first() {
        scrub(["abc", "abcdef", ""]);
        assert_eq!(
            scrubbed("x=abcdef y=abc z"),
            "x=(sensitive) y=(sensitive) z"
        );
    }

    #[test]
    fn the_environment_filter_wins_over_verbosity() {
        let none = |_: &str| None;
        assert_eq!(filter_directive(0, &none), None);
        assert_eq!(filter_directive(1, &none).as_deref(), Some("info"));
        assert_eq!(filter_directive(2, &none).as_deref(), Some("debug"));
        assert_eq!(filter_directive(5, &none).as_deref(), Some("trace"));
        let plinth_log = |name: &str| (name == "PLINTH_LOG").then(|| "plinth=trace".to_string());
        assert_eq!(
            filter_directive(1, &plinth_log).as_deref(),
            Some("plinth=trace")
        );
        let rust_log = |name: &str| (name == "RUST_LOG").then(|| "kube=debug".to_string());
        assert_eq!(
            filter_directive(0, &rust_log).as_deref(),
            Some("kube=debug")
        );
    }
}
