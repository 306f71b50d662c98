//! Apply progress (which resources are in flight and for how long) and the final summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Style;
use crate::apply::{ApplyReport, Outcome, Reporter};
use crate::plan::Action;

/// Prints progress lines to stderr like Terraform: `x: Creating...`, `x: Still creating...
/// [10s elapsed]`, `x: Creation complete after 2s [id=...]`.
pub struct TerminalReporter {
    style: Style,
    /// Address → (verb, started, "still" lines printed so far).
    in_flight: Mutex<BTreeMap<String, (String, Instant, u32)>>,
    scrub: Vec<String>,
}

impl TerminalReporter {
    /// A reporter that scrubs the secrets of `stack` known from the environment and files.
    pub fn for_stack(style: Style, stack: &crate::config::Stack) -> Self {
        let scrub = crate::secrets::Secrets::resolve(stack, &Default::default())
            .known_plaintexts()
            .into_iter()
            .map(str::to_string)
            .collect();
        Self::new(style, scrub)
    }

    /// A reporter; `scrub` lists secret plaintexts that must never be printed.
    pub fn new(style: Style, scrub: Vec<String>) -> Self {
        TerminalReporter {
            style,
            in_flight: Mutex::new(BTreeMap::new()),
            scrub,
        }
    }

    fn print(&self, line: &str) {
        let mut text = line.to_string();
        for secret in &self.scrub {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "(sensitive)");
            }
        }
        let stderr = std::io::stderr();
        let mut handle = stderr.lock();
        let _ = writeln!(handle, "{text}");
    }

    /// How often [`TerminalReporter::tick`] should be called: often enough that each "still"
    /// line comes within a second of its [`TerminalReporter::STILL_EVERY`] mark.
    pub const TICK: Duration = Duration::from_secs(1);

    /// A "still ..." line for a resource every this long after it started (10 s, 20 s, ...).
    pub const STILL_EVERY: Duration = Duration::from_secs(10);

    /// Prints the "still ..." lines that are due (see [`TerminalReporter::still_lines`]).
    pub fn tick(&self) {
        for line in self.still_lines(Instant::now()) {
            self.print(&line);
        }
    }

    /// The "still ..." lines due at `now`: one per resource in flight that passed another
    /// multiple of [`TerminalReporter::STILL_EVERY`] since its start, so the first comes at
    /// 10 s, whenever the resource started relative to the ticker.
    pub fn still_lines(&self, now: Instant) -> Vec<String> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines = Vec::new();
        for (address, (verb, since, printed)) in in_flight.iter_mut() {
            let marks =
                now.saturating_duration_since(*since).as_secs() / Self::STILL_EVERY.as_secs();
            let marks = u32::try_from(marks).unwrap_or(u32::MAX);
            if marks > *printed {
                *printed = marks;
                lines.push(format!(
                    "{address}: Still {}... [{} elapsed]",
                    verb.to_lowercase(),
                    format_duration(Self::STILL_EVERY * marks)
                ));
            }
        }
        lines
    }
}

impl Reporter for TerminalReporter {
    fn started(&self, address: &str, verb: &str) {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(address.to_string(), (verb.to_string(), Instant::now(), 0));
        self.print(&format!("{}: {verb}...", self.style.bold(address)));
    }

    fn progress(&self, address: &str, message: &str) {
        self.print(&format!("{address}: {message}"));
    }

    fn finished(
        &self,
        address: &str,
        verb: &str,
        elapsed: Duration,
        id: Option<&str>,
        error: Option<&str>,
    ) {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(address);
        match error {
            None => {
                let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
                self.print(&format!(
                    "{}: {verb} complete after {}{id}",
                    self.style.bold(address),
                    format_duration(elapsed)
                ));
            }
            Some(error) => self.print(&format!(
                "{}: {verb} {} after {}: {error}",
                self.style.bold(address),
                self.style.red("FAILED"),
                format_duration(elapsed)
            )),
        }
    }
}

/// `1m5s`, `12s`, `350ms`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else if secs >= 1 {
        format!("{secs}s")
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// The closing lines of an apply.
pub fn render_apply_summary(report: &ApplyReport, destroy: bool, style: Style) -> String {
    let mut added = 0;
    let mut changed = 0;
    let mut destroyed = 0;
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    let mut partial = Vec::new();
    for (address, outcome) in &report.outcomes {
        match outcome {
            Outcome::Succeeded(Action::Create) => added += 1,
            Outcome::Succeeded(Action::Update) => changed += 1,
            Outcome::Succeeded(Action::Replace { .. }) => {
                added += 1;
                destroyed += 1;
            }
            Outcome::Succeeded(Action::Delete) => destroyed += 1,
            Outcome::Succeeded(Action::NoOp) => {}
            Outcome::Partial { done, rest } => {
                match done {
                    Action::Create => added += 1,
                    _ => destroyed += 1,
                }
                partial.push((address, *done, rest));
            }
            Outcome::Failed(message) => failed.push((address, message)),
            Outcome::Skipped(reason) => skipped.push((address, reason)),
        }
    }
    let mut out = String::new();
    let succeeded = report.outcomes.len() - failed.len() - skipped.len() - partial.len();
    if failed.is_empty() && skipped.is_empty() && partial.is_empty() {
        let what = if destroy { "Destroy" } else { "Apply" };
        out.push_str(&format!(
            "{} Resources: {added} added, {changed} changed, {destroyed} destroyed. ({})\n",
            style.green(&format!("{what} complete!")),
            format_duration(report.elapsed)
        ));
        return out;
    }
    out.push_str(&format!(
        "{} {succeeded} succeeded, {}{} failed, {} not attempted ({added} added, {changed} changed, {destroyed} destroyed).\n",
        style.red("Apply failed:"),
        if partial.is_empty() {
            String::new()
        } else {
            format!("{} half replaced, ", partial.len())
        },
        failed.len(),
        skipped.len()
    ));
    for (address, done, rest) in partial {
        let half = match done {
            Action::Create => "replacement created, old object not destroyed (kept as deposed)",
            _ => "old object destroyed, replacement not created",
        };
        out.push_str(&format!(
            "  {} {address}: {half}: {rest}\n",
            style.red("half replaced:")
        ));
    }
    for (address, message) in failed {
        out.push_str(&format!(
            "  {} {address}: {message}\n",
            style.red("failed:")
        ));
    }
    for (address, reason) in skipped {
        out.push_str(&format!(
            "  {} {address}: {reason}\n",
            style.yellow("skipped:")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_still_line_comes_at_ten_seconds_then_every_ten() {
        let reporter = TerminalReporter::new(Style::plain(), Vec::new());
        reporter.started("sim_resource.db", "Creating");
        let started = reporter.in_flight.lock().unwrap()["sim_resource.db"].1;
        let at = |secs: f64| reporter.still_lines(started + Duration::from_secs_f64(secs));
        assert!(at(9.9).is_empty());
        assert_eq!(
            at(10.2),
            vec!["sim_resource.db: Still creating... [10s elapsed]".to_string()]
        );
        assert!(at(11.0).is_empty(), "one line per 10 s");
        assert_eq!(
            at(20.5),
            vec!["sim_resource.db: Still creating... [20s elapsed]".to_string()]
        );
    }
}
