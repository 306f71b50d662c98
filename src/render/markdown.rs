//! The plan as a pull-request comment (`plinth plan --format markdown`), rendered from the
//! structured [`Plan`] (never by parsing text): a hidden marker for sticky comments, a summary
//! line with counts, risky and blocked changes first, the other changes, drift in its own
//! section, each resource's attribute diff in a collapsible `<details>` block.
//!
//! The comment always fits a character budget (GitHub: 65,536 characters). When it does not
//! fit, [`super::markdown_fit`] shortens it deterministically (details first, then list
//! lines) and the comment says exactly what was left out and where the full plan is.
//! Secrets never appear: diffs only ever hold [`DiffValue::Sensitive`] for them.

use std::fmt::Write as _;

use super::markdown_fit::{fit, Item, ItemKind, Section};
use super::plan_text::value_change;
use super::value_diff;
use crate::plan::{
    Action, AttributeDiff, DiffValue, Drift, Plan, ReplaceOrder, ResourceChange, Risk,
};

/// GitHub's limit for an issue or pull-request comment, in characters.
pub const DEFAULT_MAX_CHARS: usize = 65_536;

/// The longest single attribute line shown in a details block, in characters.
const MAX_LINE_CHARS: usize = 1_000;

/// How to render the comment.
#[derive(Clone, Debug)]
pub struct MarkdownOptions {
    /// The budget in characters (Unicode scalar values, as GitHub counts).
    pub max_chars: usize,
    /// Where the full plan is, named when the comment is shortened (a URL or words); `None`
    /// says "the workflow artifact `plan.json`".
    pub full_plan: Option<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            max_chars: DEFAULT_MAX_CHARS,
            full_plan: None,
        }
    }
}

/// A rendered comment and what was left out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Markdown {
    /// The comment.
    pub text: String,
    /// Its length in characters (≤ the budget).
    pub chars: usize,
    /// Resources whose attribute details were left out.
    pub details_omitted: usize,
    /// Resources whose attribute diff was cut short (still listed with details).
    pub details_trimmed: usize,
    /// Resources (changes and drift) not listed at all.
    pub resources_omitted: usize,
}

/// The hidden first line that identifies the sticky comment of one stack and environment.
pub fn comment_marker(plan: &Plan) -> String {
    format!(
        "<!-- plinth-plan: {}/{} -->",
        plan.stack.replace("--", "-"),
        plan.environment.replace("--", "-")
    )
}

/// Renders `plan` as Markdown within `options.max_chars` characters.
pub fn render_plan_markdown(plan: &Plan, options: &MarkdownOptions) -> Markdown {
    let header = header(plan);
    let mut sections = Vec::new();
    if let Some(report) = &plan.policy {
        // First and kept longest: a denial decides whether the change may be applied.
        sections.push(Section {
            heading: super::policy_text::markdown_heading(report),
            noun: "policy findings",
            rank: 0,
            items: super::policy_text::markdown_lines(report)
                .iter()
                .map(|l| {
                    Item::line_only(
                        ItemKind::Policy,
                        format!("- {}\n", code_spans(&cap(l, 500))),
                    )
                })
                .collect(),
        });
    }

    let mut risky: Vec<&ResourceChange> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp && (c.risk.is_some() || c.blocked.is_some()))
        .collect();
    risky.sort_by_key(|c| match (&c.blocked, c.risk) {
        (Some(_), _) => 0,
        (None, Some(Risk::DataLoss)) => 1,
        _ => 2,
    });
    if !risky.is_empty() && !plan.refresh_only {
        sections.push(Section {
            heading: format!("#### ⚠️ Risky changes ({})\n\n", risky.len()),
            noun: "risky changes",
            rank: 0,
            items: risky.iter().map(|c| change_item(c)).collect(),
        });
    }
    let ordinary: Vec<Item> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp && c.risk.is_none() && c.blocked.is_none())
        .map(change_item)
        .collect();
    if !ordinary.is_empty() && !plan.refresh_only {
        sections.push(Section {
            heading: format!(
                "#### {} ({})\n\n",
                if risky.is_empty() {
                    "Changes"
                } else {
                    "Other changes"
                },
                ordinary.len()
            ),
            noun: "changes",
            rank: 2,
            items: ordinary,
        });
    }
    if !plan.moved.is_empty() && !plan.refresh_only {
        sections.push(Section {
            heading: format!(
                "#### Moved or forgotten, state only ({})\n\n",
                plan.moved.len()
            ),
            noun: "moves",
            rank: 2,
            items: super::plan_text::moved_lines(plan)
                .iter()
                .map(|l| Item::line_only(ItemKind::Warning, format!("- {}\n", escape(l))))
                .collect(),
        });
    }
    if !plan.drift.is_empty() {
        sections.push(Section {
            heading: format!(
                "#### 🔀 Drift: changed outside Plinth ({})\n\n",
                plan.drift.len()
            ),
            noun: "drifted resources",
            rank: 1,
            items: plan.drift.iter().map(drift_item).collect(),
        });
    }
    if !plan.outputs.is_empty() && !plan.refresh_only {
        sections.push(Section {
            heading: format!("#### Outputs ({})\n\n", plan.outputs.len()),
            noun: "outputs",
            rank: 3,
            items: plan
                .outputs
                .iter()
                .map(|o| {
                    let line = format!(
                        "- <code>{}</code> <b>{}</b> = <code>{}</code>\n",
                        diff_symbol(&o.before, &o.after),
                        escape(&o.name),
                        escape(&cap(&value_change(&o.before, &o.after), 200))
                    );
                    Item::line_only(ItemKind::Output, line)
                })
                .collect(),
        });
    }
    if !plan.warnings.is_empty() {
        sections.push(Section {
            heading: "#### Warnings\n\n".to_string(),
            noun: "warnings",
            rank: 4,
            items: plan
                .warnings
                .iter()
                .map(|w| {
                    Item::line_only(
                        ItemKind::Warning,
                        format!("- {}\n", code_spans(&cap(w, 500))),
                    )
                })
                .collect(),
        });
    }
    let pointer = match &options.full_plan {
        Some(place) if place.starts_with("http://") || place.starts_with("https://") => {
            format!("The full plan is at {place}.")
        }
        Some(place) => format!("The full plan is {place}."),
        None => "The full plan is in the workflow artifact `plan.json`.".to_string(),
    };
    fit(&header, sections, options.max_chars, &pointer)
}

fn header(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", comment_marker(plan));
    let title = if plan.refresh_only {
        "Plinth drift check"
    } else if plan.destroy {
        "Plinth destroy plan"
    } else {
        "Plinth plan"
    };
    let _ = writeln!(
        out,
        "### {title}: <code>{}</code> ({})\n",
        escape(&plan.stack),
        escape(&plan.environment)
    );
    let summary = plan.summary();
    if plan.refresh_only {
        if plan.drift.is_empty() {
            let _ = writeln!(out, "**No drift.** Nothing changed outside of Plinth.");
        } else {
            let _ = writeln!(
                out,
                "**Drift: {} resource(s) changed outside of Plinth.**",
                plan.drift.len()
            );
        }
    } else if !plan.has_changes() {
        let _ = write!(
            out,
            "**No changes.** The infrastructure matches the configuration."
        );
        if !plan.drift.is_empty() {
            let _ = write!(
                out,
                " 🔀 {} resource(s) changed outside of Plinth.",
                plan.drift.len()
            );
        }
        let _ = writeln!(out);
    } else {
        let _ = write!(
            out,
            "**Plan: {} to add, {} to change, {} to destroy",
            summary.add, summary.change, summary.destroy
        );
        if summary.replace > 0 {
            let _ = write!(out, " ({} replaced)", summary.replace);
        }
        let (to_move, to_forget) = super::plan_text::move_counts(plan);
        if to_move > 0 {
            let _ = write!(out, ", {to_move} to move");
        }
        if to_forget > 0 {
            let _ = write!(out, ", {to_forget} to forget");
        }
        let _ = write!(out, ".**");
        let count = |risk: Risk| {
            plan.changes
                .iter()
                .filter(|c| c.action != Action::NoOp && c.risk == Some(risk))
                .count()
        };
        let (data_loss, downtime) = (count(Risk::DataLoss), count(Risk::Downtime));
        if data_loss + downtime > 0 {
            let _ = write!(
                out,
                " ⚠️ {data_loss} with data loss, {downtime} with downtime."
            );
        }
        if summary.blocked > 0 {
            let _ = write!(
                out,
                " ⛔ {} blocked by <code>prevent_destroy</code>: this plan cannot be applied in full.",
                summary.blocked
            );
        }
        if !plan.drift.is_empty() {
            let _ = write!(
                out,
                " 🔀 {} resource(s) changed outside of Plinth.",
                plan.drift.len()
            );
        }
        let _ = writeln!(out);
    }
    out.push('\n');
    out
}

fn change_item(change: &ResourceChange) -> Item {
    let headline = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace {
            order: ReplaceOrder::CreateThenDelete,
        } => "must be replaced (create before destroy)",
        Action::Replace {
            order: ReplaceOrder::DeleteThenCreate,
        } => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is unchanged",
    };
    let mut summary = format!(
        "<code>{}</code> <b>{}</b> {headline}",
        change.action.symbol(),
        escape(&change.address)
    );
    if let Some(reason) = &change.reason {
        let _ = write!(summary, " — {}", code_spans(&cap(reason, 300)));
    }
    match change.risk {
        Some(Risk::DataLoss) => summary.push_str(" · <b>⚠️ data loss</b>"),
        Some(Risk::Downtime) => summary.push_str(" · <b>⚠️ downtime</b>"),
        None => {}
    }
    if let Some(blocked) = &change.blocked {
        let _ = write!(
            summary,
            " · <b>⛔ blocked:</b> {}",
            code_spans(&cap(blocked, 300))
        );
    }
    let lines: Vec<String> = change
        .diffs
        .iter()
        .flat_map(|d| diff_lines(d, change.action.is_replace()))
        .collect();
    Item::new(ItemKind::Change, summary, &lines)
}

fn drift_item(drift: &Drift) -> Item {
    if drift.deleted {
        let summary = format!(
            "<code>-</code> <b>{}</b> was deleted outside of Plinth",
            escape(&drift.address)
        );
        return Item::new(ItemKind::Drift, summary, &[]);
    }
    let summary = format!(
        "<code>~</code> <b>{}</b> changed outside of Plinth ({} attribute(s))",
        escape(&drift.address),
        drift.diffs.len()
    );
    let lines: Vec<String> = drift
        .diffs
        .iter()
        .flat_map(|d| diff_lines(d, false))
        .collect();
    Item::new(ItemKind::Drift, summary, &lines)
}

/// One attribute as lines of a ```` ```diff ```` block: one line, or for a multi-line value
/// its line diff or structural diff, signs in the first column as `diff` highlighting wants.
fn diff_lines(diff: &AttributeDiff, replacing: bool) -> Vec<String> {
    let Some(block) = value_diff::block(&diff.before, &diff.after) else {
        return vec![diff_line(diff, replacing)];
    };
    let mut first = format!(
        "{} {} = {}",
        diff_symbol(&diff.before, &diff.after),
        diff.path,
        block.head
    );
    if diff.forces_replacement && replacing {
        first.push_str("   # forces replacement");
    }
    let mut lines = vec![first];
    for line in &block.body {
        let sign = match line.sign {
            value_diff::Sign::Add => '+',
            value_diff::Sign::Remove => '-',
            value_diff::Sign::Change => '!',
            value_diff::Sign::Same => ' ',
        };
        let text = format!("{sign} {}{}", "    ".repeat(line.depth), line.text);
        lines.push(cap(&text, MAX_LINE_CHARS));
    }
    lines.push(format!("  {}", block.tail));
    lines
}

/// One attribute as a line of a ```` ```diff ```` block: `+` added, `-` removed, `!` changed.
fn diff_line(diff: &AttributeDiff, replacing: bool) -> String {
    let mut line = format!(
        "{} {} = {}",
        diff_symbol(&diff.before, &diff.after),
        diff.path,
        value_change(&diff.before, &diff.after)
    );
    line = cap(&line, MAX_LINE_CHARS);
    if diff.forces_replacement && replacing {
        line.push_str("   # forces replacement");
    }
    line
}

fn diff_symbol(before: &DiffValue, after: &DiffValue) -> &'static str {
    match (before, after) {
        (DiffValue::Absent, _) => "+",
        (_, DiffValue::Absent) => "-",
        _ => "!",
    }
}

/// Cuts `text` to `max` characters, saying how much was cut.
fn cap(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} more characters)", count - max)
}

/// Escapes text for HTML (inside `<summary>`, `<code>` and list items).
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '`' => out.push_str("&#96;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text and turns `` `name` `` spans into `<code>name</code>`.
fn code_spans(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() & 1 == 0 {
        // Unbalanced backticks: show them as they are.
        return escape(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_escape_and_balance() {
        assert_eq!(
            code_spans("`zone` forces <replacement>"),
            "<code>zone</code> forces &lt;replacement&gt;"
        );
        assert_eq!(code_spans("one ` tick"), "one &#96; tick");
    }

    #[test]
    fn long_values_are_capped_by_characters() {
        let text = "é".repeat(10);
        assert_eq!(cap(&text, 4), "éééé… (6 more characters)");
        assert_eq!(cap("short", 10), "short");
    }

    #[test]
    fn the_marker_cannot_close_the_html_comment() {
        let mut plan = crate::plan::Plan::new("a--b", "prod");
        assert_eq!(comment_marker(&plan), "<!-- plinth-plan: a-b/prod -->");
        plan.stack = "mita".into();
        let text = render_plan_markdown(&plan, &MarkdownOptions::default()).text;
        assert!(text.contains("**No changes.** The infrastructure matches the configuration."));
    }
}
