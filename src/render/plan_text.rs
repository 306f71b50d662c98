//! The plan for people: Terraform's symbols (`+`, `~`, `-/+`, `+/-`, `-`), attribute diffs,
//! drift in its own section, masked secrets, and a summary line.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::{value_diff, Style};
use crate::plan::{Action, AttributeDiff, DiffValue, Plan, ReplaceOrder, ResourceChange, Risk};

/// Renders a plan as text.
pub fn render_plan(plan: &Plan, style: Style) -> String {
    render_chunked(plan, style, None)
}

/// Writes the text plan to `sink` as it is rendered, a chunk at a time: a plan of 100,000
/// creates is tens of megabytes of text, which need not be held whole before it is printed.
pub fn write_plan(plan: &Plan, style: Style, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut failed = None;
    let mut spill = |chunk: &mut String| {
        if failed.is_none() {
            failed = sink.write_all(chunk.as_bytes()).err();
        }
        chunk.clear();
    };
    let rest = render_chunked(plan, style, Some(&mut spill));
    if let Some(error) = failed {
        return Err(error);
    }
    sink.write_all(rest.as_bytes())?;
    sink.flush()
}

/// Text gathered before [`write_plan`] hands it on.
const CHUNK: usize = 64 * 1024;

/// The text plan; with `spill`, the text so far is handed to it (and cleared) between
/// resources whenever it has grown past [`CHUNK`], and what is left is returned.
fn render_chunked(
    plan: &Plan,
    style: Style,
    mut spill: Option<&mut dyn FnMut(&mut String)>,
) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold("Objects have changed outside of Plinth:")
        );
        let _ = writeln!(out);
        for drift in &plan.drift {
            if drift.deleted {
                let _ = writeln!(
                    out,
                    "  {} {} has been deleted",
                    style.red("-"),
                    style.bold(&drift.address)
                );
            } else {
                let _ = writeln!(
                    out,
                    "  {} {} has changed",
                    style.yellow("~"),
                    style.bold(&drift.address)
                );
                for diff in &drift.diffs {
                    drift_lines(diff, style, &mut out);
                }
            }
        }
        let _ = writeln!(out);
    }

    let changes: Vec<&ResourceChange> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp || c.blocked.is_some())
        .collect();
    let forgets: Vec<&ResourceChange> = plan.forgets().collect();
    if plan.refresh_only {
        if plan.drift.is_empty() {
            let _ = writeln!(out, "No changes. Nothing changed outside of Plinth.");
        } else {
            let _ = writeln!(
                out,
                "Drift: {} resource(s) changed outside of Plinth. Applying a refresh-only plan records these values in state.",
                plan.drift.len()
            );
        }
        render_warnings(plan, style, &mut out);
        return out;
    }
    if !forgets.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold("Objects already gone; their records will be removed from state:")
        );
        for change in &forgets {
            let _ = writeln!(out, "  {} {}", style.red("-"), display_address(change));
        }
        let _ = writeln!(out);
    }
    if !plan.moved.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold("State only (nothing in the cloud changes for these):")
        );
        for line in moved_lines(plan) {
            let _ = writeln!(out, "  # {line}");
        }
        let _ = writeln!(out);
    }
    if changes.is_empty() && plan.outputs.is_empty() && plan.moved.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The infrastructure of {} ({}) matches the configuration.",
            plan.stack, plan.environment
        );
        if !forgets.is_empty() {
            let _ = writeln!(
                out,
                "Apply removes the {} record(s) of objects already gone.",
                forgets.len()
            );
        }
        render_warnings(plan, style, &mut out);
        return out;
    }
    let _ = writeln!(
        out,
        "Plinth will perform the following actions on {} ({}):",
        style.bold(&plan.stack),
        plan.environment
    );
    let _ = writeln!(out);
    for change in changes {
        render_change(change, style, &mut out);
        if out.len() >= CHUNK {
            if let Some(spill) = spill.as_mut() {
                spill(&mut out);
            }
        }
    }
    if !plan.outputs.is_empty() {
        let _ = writeln!(out, "Changes to outputs:");
        for output in &plan.outputs {
            let symbol = match (&output.before, &output.after) {
                (DiffValue::Absent, _) => style.green("+"),
                (_, DiffValue::Absent) => style.red("-"),
                _ => style.yellow("~"),
            };
            let _ = writeln!(
                out,
                "  {symbol} {} = {}",
                output.name,
                value_change(&output.before, &output.after)
            );
        }
        let _ = writeln!(out);
    }
    let summary = plan.summary();
    let _ = write!(
        out,
        "{} {} to add, {} to change, {} to destroy",
        style.bold("Plan:"),
        summary.add,
        summary.change,
        summary.destroy
    );
    if summary.replace > 0 {
        let _ = write!(out, " ({} replaced)", summary.replace);
    }
    let (to_move, to_forget) = move_counts(plan);
    if to_move > 0 {
        let _ = write!(out, ", {to_move} to move");
    }
    if to_forget > 0 {
        let _ = write!(out, ", {to_forget} to forget");
    }
    let _ = writeln!(out, ".");
    if summary.blocked > 0 {
        let _ = writeln!(
            out,
            "{} {} change(s) are blocked and will not be applied (see BLOCKED above).",
            style.red("Error:"),
            summary.blocked
        );
    }
    render_warnings(plan, style, &mut out);
    out
}

/// One line per `[[moved]]` / `[[removed]]` effect, as Terraform words them.
pub(crate) fn moved_lines(plan: &Plan) -> Vec<String> {
    plan.moved
        .iter()
        .map(|m| match &m.to {
            Some(to) => format!("{} has moved to {to}", m.from),
            None => format!(
                "{} will no longer be managed by Plinth (forgotten: it stays in the cloud)",
                m.from
            ),
        })
        .collect()
}

/// How many addresses the plan moves and forgets.
pub(crate) fn move_counts(plan: &Plan) -> (usize, usize) {
    let moves = plan.moved.iter().filter(|m| m.to.is_some()).count();
    (moves, plan.moved.len() - moves)
}

fn render_warnings(plan: &Plan, style: Style, out: &mut String) {
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {warning}", style.yellow("Warning:"));
    }
    if let Some(report) = &plan.policy {
        super::render_policy(report, style, out);
    }
}

fn render_change(change: &ResourceChange, style: Style, out: &mut String) {
    // Pad the plain symbol, then colour it: padding a coloured string would count the
    // escape codes as characters and lose the indentation on a terminal.
    let symbol = padded(change.action.symbol(), 5, true);
    let colored = match change.action {
        Action::Create => style.green(&symbol),
        Action::Update => style.yellow(&symbol),
        Action::Replace { .. } | Action::Delete => style.red(&symbol),
        Action::NoOp => symbol.into_owned(),
    };
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
        Action::NoOp if change.blocked.is_some() => "cannot be planned",
        Action::NoOp => "is unchanged",
    };
    let address = display_address(change);
    // Pushed rather than formatted: a plan of 100,000 creates spends its rendering here.
    out.push_str("  # ");
    out.push_str(&style.bold(&address));
    out.push(' ');
    out.push_str(headline);
    if let Some(reason) = &change.reason {
        let _ = write!(out, " ({reason})");
    }
    out.push('\n');
    if let Some(from) = &change.moved_from {
        let _ = writeln!(out, "  # (moved from {from})");
    }
    if let Some(risk) = change.risk {
        let text = match (risk, change.action) {
            (Risk::DataLoss, _) => "risk: DATA LOSS — this destroys a resource that holds data",
            (Risk::Downtime, Action::Update) => {
                "risk: DOWNTIME — the cloud makes this change with a restart or a failover"
            }
            (Risk::Downtime, _) => "risk: DOWNTIME — this takes down something serving traffic",
        };
        let _ = writeln!(out, "  # {}", style.red(text));
    }
    if let Some(blocked) = &change.blocked {
        let _ = writeln!(out, "  # {} {blocked}", style.red("BLOCKED:"));
    }
    out.push_str(&colored);
    out.push(' ');
    out.push_str(&address);
    out.push_str(" {\n");
    let width = change.diffs.iter().map(|d| d.path.len()).max().unwrap_or(0);
    let signs = [style.green("+"), style.red("-"), style.yellow("~")];
    for diff in &change.diffs {
        let symbol = match (&diff.before, &diff.after) {
            (DiffValue::Absent, _) => &signs[0],
            (_, DiffValue::Absent) => &signs[1],
            _ => &signs[2],
        };
        let forces = diff.forces_replacement && change.action.is_replace();
        out.push_str("      ");
        out.push_str(symbol);
        out.push(' ');
        if let Some(block) = value_diff::block(&diff.before, &diff.after) {
            out.push_str(&diff.path);
            out.push_str(" = ");
            out.push_str(&block.head);
            if forces {
                out.push_str(&style.red(" # forces replacement"));
            }
            out.push('\n');
            write_block_body(&block, 8, style, out);
            continue;
        }
        out.push_str(&padded(&diff.path, width, false));
        out.push_str(" = ");
        write_value_change(out, &diff.before, &diff.after);
        if forces {
            out.push_str(&style.red(" # forces replacement"));
        }
        out.push('\n');
    }
    out.push_str("    }\n\n");
}

/// `text` padded with spaces to `width` characters, on the left (`right`-aligned) or on the
/// right, as `{:>width$}` / `{:<width$}` would.
fn padded(text: &str, width: usize, right: bool) -> std::borrow::Cow<'_, str> {
    let pad = width.saturating_sub(text.chars().count());
    if pad == 0 {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + pad);
    if right {
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(text);
    } else {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', pad));
    }
    out.into()
}

/// The lines of a multi-line value diff below its attribute's line, `indent` columns in for
/// the attribute's sign, each level four more, then its closing line.
fn write_block_body(block: &value_diff::Block, indent: usize, style: Style, out: &mut String) {
    for line in &block.body {
        let pad = " ".repeat(indent + 4 * line.depth - 2);
        let sign = line.sign.symbol().to_string();
        let sign = match line.sign {
            value_diff::Sign::Add => style.green(&sign),
            value_diff::Sign::Remove => style.red(&sign),
            value_diff::Sign::Change => style.yellow(&sign),
            value_diff::Sign::Same => sign,
        };
        let _ = writeln!(out, "{pad}{sign} {}", line.text);
    }
    let _ = writeln!(out, "{}{}", " ".repeat(indent), block.tail);
}

/// `aws_lb.web`, or for a deposed object `aws_lb.web (deposed object 1a2b3c4d)`.
pub fn display_address(change: &ResourceChange) -> String {
    match &change.deposed {
        Some(key) => format!("{} (deposed object {key})", change.address),
        None => change.address.clone(),
    }
}

fn drift_lines(diff: &AttributeDiff, style: Style, out: &mut String) {
    if let Some(block) = value_diff::block(&diff.before, &diff.after) {
        let _ = writeln!(
            out,
            "      {} {} = {}",
            style.yellow("~"),
            diff.path,
            block.head
        );
        write_block_body(&block, 8, style, out);
    } else {
        let _ = writeln!(out, "      {}", diff_line(diff, style));
    }
}

fn diff_line(diff: &AttributeDiff, style: Style) -> String {
    format!(
        "{} {} = {}",
        style.yellow("~"),
        diff.path,
        value_change(&diff.before, &diff.after)
    )
}

/// `old -> new`, `new` for additions, `old -> null` for removals.
///
/// A string of a created or destroyed attribute is shown up to [`SHOWN_CHARS`] characters
/// (`--format json` has it whole): a counted block with a long value would otherwise print it
/// once per instance (a fuzzed 5 KB name made a 134 MB plan of 5,000 creates). A changed
/// string is always shown whole, so no change is hidden.
pub fn value_change(before: &DiffValue, after: &DiffValue) -> String {
    let mut out = String::new();
    write_value_change(&mut out, before, after);
    out
}

/// [`value_change`] into `out`.
fn write_value_change(out: &mut String, before: &DiffValue, after: &DiffValue) {
    match (before, after) {
        (DiffValue::Absent, after) => write_capped(out, after),
        (DiffValue::Sensitive, DiffValue::Sensitive) => out.push_str("(sensitive, changed)"),
        (before, DiffValue::Absent) => {
            write_capped(out, before);
            out.push_str(" -> null");
        }
        (before, after) => {
            write_show(out, before);
            out.push_str(" -> ");
            write_show(out, after);
        }
    }
}

/// The most characters of a created or destroyed string a text plan shows.
pub const SHOWN_CHARS: usize = 1000;

/// [`show`], with a long string cut after [`SHOWN_CHARS`] characters of its quoted form.
fn write_capped(out: &mut String, value: &DiffValue) {
    let DiffValue::Known(Json::String(text)) = value else {
        return write_show(out, value);
    };
    let mut shown = 0;
    let mut end = text.len();
    for (at, c) in text.char_indices() {
        shown += c.escape_debug().count();
        if shown > SHOWN_CHARS {
            end = at;
            break;
        }
    }
    if end == text.len() {
        let _ = write!(out, "{text:?}");
        return;
    }
    let rest = text[end..].chars().count();
    let _ = write!(
        out,
        "{:?}… ({rest} more characters; `--format json` shows the whole value)",
        &text[..end]
    );
}

/// One side of a diff for people.
pub fn show(value: &DiffValue) -> String {
    let mut out = String::new();
    write_show(&mut out, value);
    out
}

/// [`show`] into `out`.
fn write_show(out: &mut String, value: &DiffValue) {
    match value {
        DiffValue::Absent => out.push_str("null"),
        DiffValue::Unknown => out.push_str("(known after apply)"),
        DiffValue::Sensitive => out.push_str("(sensitive)"),
        // Writing into a `String` cannot fail.
        DiffValue::Known(json) => {
            let _ = value_diff::write_one_line(out, json, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_plan_is_the_rendered_plan() {
        use crate::plan::ResourceChange;
        // Enough creates to be written in several chunks.
        let changes = (0..2000)
            .map(|i| ResourceChange {
                diffs: vec![
                    AttributeDiff {
                        path: "name".into(),
                        before: DiffValue::Absent,
                        after: DiffValue::Known(Json::String(format!("app-{i}"))),
                        forces_replacement: false,
                    },
                    AttributeDiff {
                        path: "arn".into(),
                        before: DiffValue::Absent,
                        after: DiffValue::Unknown,
                        forces_replacement: false,
                    },
                ],
                ..ResourceChange::new(
                    &format!("sim_resource.a{i}"),
                    "sim_resource",
                    "sim",
                    Action::Create,
                )
            })
            .collect();
        let plan = Plan {
            changes,
            ..Plan::new("s", "dev")
        };
        for style in [Style { color: false }, Style { color: true }] {
            let rendered = render_plan(&plan, style);
            assert!(rendered.len() > 3 * CHUNK, "{}", rendered.len());
            let mut written = Vec::new();
            write_plan(&plan, style, &mut written).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), rendered);
        }
    }

    #[test]
    fn a_long_created_string_is_cut_and_a_changed_one_is_shown_whole() {
        let long = DiffValue::Known(Json::String("\u{200b}".repeat(2000)));
        let short = DiffValue::Known(Json::String("worker-1".into()));
        assert_eq!(value_change(&DiffValue::Absent, &short), "\"worker-1\"");
        let created = value_change(&DiffValue::Absent, &long);
        assert!(created.chars().count() < SHOWN_CHARS + 100, "{created}");
        assert!(
            created.ends_with("… (1875 more characters; `--format json` shows the whole value)"),
            "{created}"
        );
        let destroyed = value_change(&long, &DiffValue::Absent);
        assert!(destroyed.ends_with(" -> null") && destroyed.len() < 1200);
        let changed = value_change(&long, &short);
        assert!(changed.chars().count() > 16_000, "a change is never cut");
        let exactly = DiffValue::Known(Json::String("a".repeat(SHOWN_CHARS - 2)));
        assert!(!value_change(&DiffValue::Absent, &exactly).contains('…'));
    }
}
