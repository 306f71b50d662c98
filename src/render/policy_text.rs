//! The policy gate's results in the text plan, the refusal line, and the Markdown section.

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::policy::{Finding, PolicyReport, Severity};

use super::Style;

/// `Policy checks (...)`, after the plan: every finding with its policy, resource and
/// attribute, waived ones with their waiver, and the waivers that waived nothing.
pub fn render_policy(report: &PolicyReport, style: Style, out: &mut String) {
    let (denied, warned, waived) = report.counts();
    let outcome = if report.findings.is_empty() {
        "passed.".to_string()
    } else {
        format!(
            "{denied} denied, {warned} {}, {waived} waived",
            plural(warned, "warning", "warnings")
        )
    };
    let _ = writeln!(
        out,
        "\n{} {} {} in {}{}{outcome}",
        style.bold("Policy checks:"),
        report.policies.len(),
        plural(report.policies.len(), "policy", "policies"),
        report.dir,
        if report.findings.is_empty() {
            " "
        } else {
            ": "
        },
    );
    for finding in &report.findings {
        let (mark, word) = label(finding);
        let mark = match (finding.severity, &finding.waiver) {
            (_, Some(_)) => mark.to_string(),
            (Severity::Deny, None) => style.red(mark),
            (Severity::Warn, None) => style.yellow(mark),
        };
        let attribute = finding
            .attribute
            .as_deref()
            .map(|a| format!("  {a}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {mark} {word:<6}  {}  {}{attribute}",
            style.bold(&finding.policy),
            finding.address.as_deref().unwrap_or("(no resource named)"),
        );
        let _ = writeln!(out, "            {}", finding.message);
        if let Some(w) = &finding.waiver {
            let _ = writeln!(
                out,
                "            waived by `{}` until {}: {}",
                w.name, w.expires, w.reason
            );
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "{} {note}", style.yellow("Warning:"));
    }
}

fn label(finding: &Finding) -> (&'static str, &'static str) {
    match (finding.severity, &finding.waiver) {
        (_, Some(_)) => ("~", "waived"),
        (Severity::Deny, None) => ("✗", "deny"),
        (Severity::Warn, None) => ("!", "warn"),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The one-line refusal printed (stderr) when the gate denies a plan: what was denied,
/// that nothing changed, and the two ways on.
pub fn policy_refusal(plan: &Plan, operation: &str) -> String {
    let Some(report) = &plan.policy else {
        return String::new();
    };
    let denied: Vec<String> = report
        .denials()
        .map(|f| match &f.address {
            Some(a) => format!("{} on {a}", f.policy),
            None => f.policy.clone(),
        })
        .collect();
    let shown = denied
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = denied.len().saturating_sub(5);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let what = if operation == "plan" {
        "the plan cannot be applied".to_string()
    } else {
        format!("{operation} refused, nothing was changed")
    };
    format!(
        "Error: {} policy {} ({shown}{more}): {what}. Fix the configuration, or accept a \
         violation with a `[waivers.NAME]` table (policy, address, reason, expires).",
        denied.len(),
        plural(denied.len(), "violation", "violations"),
    )
}

/// The lines of the policy section of the PR comment (one per finding, Markdown with `code`
/// spans, not yet escaped).
pub fn markdown_lines(report: &PolicyReport) -> Vec<String> {
    let mut lines = Vec::new();
    for f in &report.findings {
        let (mark, word) = match (f.severity, &f.waiver) {
            (_, Some(_)) => ("🟡", "waived"),
            (Severity::Deny, None) => ("❌", "deny"),
            (Severity::Warn, None) => ("⚠️", "warn"),
        };
        let mut line = format!(
            "{mark} **{word}** `{}` on `{}`{}: {}",
            f.policy,
            f.address.as_deref().unwrap_or("(no resource named)"),
            f.attribute
                .as_deref()
                .map(|a| format!(" (`{a}`)"))
                .unwrap_or_default(),
            f.message
        );
        if let Some(w) = &f.waiver {
            let _ = write!(
                line,
                " — waived by `{}` until {}: {}",
                w.name, w.expires, w.reason
            );
        }
        lines.push(line);
    }
    for note in &report.notes {
        lines.push(format!("⚠️ {note}"));
    }
    lines
}

/// The Markdown heading of the policy section.
pub fn markdown_heading(report: &PolicyReport) -> String {
    let (denied, warned, waived) = report.counts();
    if report.findings.is_empty() {
        format!(
            "#### ✅ Policy checks passed ({} {})\n\n",
            report.policies.len(),
            plural(report.policies.len(), "policy", "policies")
        )
    } else if denied > 0 {
        format!("#### ❌ Policy checks: {denied} denied, {warned} warnings, {waived} waived\n\n")
    } else {
        format!("#### Policy checks: {warned} warnings, {waived} waived\n\n")
    }
}
