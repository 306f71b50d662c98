//! Errors as the user reads them, rendered so that printing can never fail.
//!
//! miette's graphical handler draws source snippets with underlines and is the normal
//! rendering. It cannot lay out everything: a label past column 65 535 makes it panic
//! (`Formatting argument out of range`), a span past the end of the source yields no
//! snippet, and control or zero-width characters garble the drawing. [`render_error`] checks
//! every diagnostic (and its related ones) first and uses a plain, line-oriented rendering for
//! what the graphical handler cannot draw; the graphical rendering also runs under
//! `catch_unwind`, falling back to the plain one should it panic anyway.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};

use miette::{Diagnostic, MietteHandlerOpts, ReportHandler, SourceSpan};

/// Longest source line (in bytes) the graphical handler is asked to draw.
pub const MAX_GRAPHICAL_LINE: usize = 2_000;
/// Longest message, label or help line (in bytes) the graphical handler is asked to wrap.
const MAX_GRAPHICAL_TEXT: usize = 4_000;
/// Diagnostics inspected before giving up and rendering plainly.
const MAX_INSPECTED: usize = 10_000;
/// Terminal widths the graphical handler is given (narrower or wider terminals are clamped).
const WIDTHS: (usize, usize) = (20, 250);

thread_local! {
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// True while [`render_error`] runs something that may panic: the panic hook stays quiet.
pub fn panics_are_quiet() -> bool {
    QUIET_PANICS.with(Cell::get)
}

/// Runs `f`, turning a panic into `None` without the panic hook printing anything.
pub fn quietly<R>(f: impl FnOnce() -> R) -> Option<R> {
    let before = QUIET_PANICS.with(|q| q.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(before));
    result.ok()
}

/// Renders an error for the terminal (stderr): graphical when it can be drawn, else plain.
pub fn render_error(diagnostic: &dyn Diagnostic) -> String {
    let width = terminal_width();
    render_error_at(diagnostic, width)
}

/// [`render_error`] at a given terminal width.
pub fn render_error_at(diagnostic: &dyn Diagnostic, width: usize) -> String {
    let width = width.clamp(WIDTHS.0, WIDTHS.1);
    if graphical_can_draw(diagnostic) {
        let handler = MietteHandlerOpts::new()
            .width(width)
            .color(super::wants_color(&std::io::stderr()))
            .build();
        let drawn = quietly(|| {
            let mut out = String::new();
            write!(out, "{}", Graphical(&handler, diagnostic)).map(|()| out)
        });
        if let Some(Ok(out)) = drawn {
            return out;
        }
    }
    render_plain_text(diagnostic)
}

/// A plain, line-oriented rendering: `error[code]: message`, `--> file:line:column`, an
/// excerpt of the line around the span, `help:`, then every related diagnostic. Control and
/// invisible characters are shown escaped; long lines are cut around the span.
pub fn render_plain_text(diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    let mut budget = MAX_INSPECTED;
    plain(diagnostic, 0, &mut out, &mut budget);
    out.truncate(out.trim_end().len());
    out
}

struct Graphical<'a>(&'a miette::MietteHandler, &'a dyn Diagnostic);

impl fmt::Display for Graphical<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(self.1, f)
    }
}

/// The width of the terminal on stderr, or 80.
fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stderr())
        .map(|(w, _)| usize::from(w.0))
        .unwrap_or(80)
}

/// True when every diagnostic of the tree is something the graphical handler lays out.
pub fn graphical_can_draw(diagnostic: &dyn Diagnostic) -> bool {
    let mut budget = MAX_INSPECTED;
    drawable(diagnostic, &mut budget)
}

fn drawable(diagnostic: &dyn Diagnostic, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    if !text_drawable(&diagnostic.to_string()) {
        return false;
    }
    if let Some(help) = diagnostic.help() {
        if !text_drawable(&help.to_string()) {
            return false;
        }
    }
    if let Some(code) = diagnostic.code() {
        if !text_drawable(&code.to_string()) {
            return false;
        }
    }
    if let Some(labels) = diagnostic.labels() {
        let Some(source) = diagnostic.source_code() else {
            return false;
        };
        for label in labels {
            if !label.label().is_none_or(text_drawable) {
                return false;
            }
            // The lines the handler draws: the span's and one either side.
            let Ok(contents) = source.read_span(label.inner(), 1, 1) else {
                return false;
            };
            let end = label.inner().offset().saturating_add(label.inner().len());
            if end > contents.span().offset() + contents.span().len() {
                return false;
            }
            let Ok(lines) = std::str::from_utf8(contents.data()) else {
                return false;
            };
            if !lines.split('\n').all(line_drawable) {
                return false;
            }
        }
    }
    if let Some(related) = diagnostic.related() {
        for inner in related {
            if !drawable(inner, budget) {
                return false;
            }
        }
    }
    if let Some(cause) = diagnostic.diagnostic_source() {
        if !drawable(cause, budget) {
            return false;
        }
    }
    true
}

fn text_drawable(text: &str) -> bool {
    text.split('\n')
        .all(|line| line.len() <= MAX_GRAPHICAL_TEXT && line.chars().all(char_drawable))
}

fn line_drawable(line: &str) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.len() <= MAX_GRAPHICAL_LINE && line.chars().all(char_drawable)
}

/// Printable characters and tabs; not control, zero-width, bidirectional or other format
/// characters.
fn char_drawable(c: char) -> bool {
    c == '\t' || !(c.is_control() || invisible(c))
}

/// Zero-width, bidirectional and other format characters (Unicode category Cf, mostly).
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Characters around the span shown in a plain excerpt.
const EXCERPT: usize = 60;

fn plain(diagnostic: &dyn Diagnostic, depth: usize, out: &mut String, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let indent = "  ".repeat(depth.min(8));
    let severity = match diagnostic.severity() {
        Some(miette::Severity::Advice) => "note",
        Some(miette::Severity::Warning) => "warning",
        _ => "error",
    };
    let code = diagnostic
        .code()
        .map(|c| format!("[{}]", escape(&c.to_string(), 200)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{indent}{severity}{code}: {}",
        escape(&diagnostic.to_string(), 2_000)
    );
    if let (Some(labels), Some(source)) = (diagnostic.labels(), diagnostic.source_code()) {
        for label in labels.take(20) {
            let span = label.inner();
            let text = label.label().map(|l| escape(l, 500)).unwrap_or_default();
            match source.read_span(span, 0, 0) {
                Ok(contents) => {
                    let place = contents
                        .name()
                        .map(|n| format!("{}:", escape(n, 300)))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{indent}  --> {place}{}:{}",
                        contents.line() + 1,
                        contents.column() + 1
                    );
                    let excerpt = match source.read_span(span, 1, 1) {
                        Ok(lines) => excerpt(lines.data(), span, lines.span()),
                        Err(_) => excerpt(contents.data(), span, contents.span()),
                    };
                    let _ = writeln!(out, "{indent}   | {excerpt}");
                    if !text.is_empty() {
                        let _ = writeln!(out, "{indent}   = {text}");
                    }
                }
                Err(_) => {
                    let _ = writeln!(
                        out,
                        "{indent}  --> at byte {} (outside the source){}",
                        span.offset(),
                        if text.is_empty() {
                            String::new()
                        } else {
                            format!(": {text}")
                        }
                    );
                }
            }
        }
    }
    if let Some(help) = diagnostic.help() {
        let _ = writeln!(out, "{indent}  help: {}", escape(&help.to_string(), 2_000));
    }
    if let Some(cause) = diagnostic.diagnostic_source() {
        plain(cause, depth + 1, out, budget);
    }
    if let Some(related) = diagnostic.related() {
        for inner in related {
            if *budget == 0 {
                let _ = writeln!(out, "{indent}  (more problems not shown)");
                break;
            }
            plain(inner, depth + 1, out, budget);
        }
    }
}

/// The text of the span's first line, cut to [`EXCERPT`] characters either side of the span
/// start and escaped.
fn excerpt(data: &[u8], span: &SourceSpan, data_span: &SourceSpan) -> String {
    let text = String::from_utf8_lossy(data);
    let start = span
        .offset()
        .saturating_sub(data_span.offset())
        .min(text.len());
    let line_end = text[start..]
        .find('\n')
        .map(|i| start + i)
        .unwrap_or(text.len());
    let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let before: Vec<char> = text[line_start..floor_char(&text, start)].chars().collect();
    let after: Vec<char> = text[floor_char(&text, start)..line_end].chars().collect();
    let cut_before = before.len() > EXCERPT;
    let cut_after = after.len() > EXCERPT;
    let before: String = before[before.len().saturating_sub(EXCERPT)..]
        .iter()
        .collect();
    let after: String = after[..after.len().min(EXCERPT)].iter().collect();
    format!(
        "{}{}{}",
        if cut_before { "…" } else { "" },
        escape(&format!("{before}{after}"), 4 * EXCERPT),
        if cut_after { "…" } else { "" }
    )
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The text with control and invisible characters escaped (`\u{200b}`), cut to `max` chars.
pub fn escape(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i >= max {
            let rest = text.chars().count() - max;
            let _ = write!(out, "… ({rest} more characters)");
            break;
        }
        if c == '\n' || c == '\t' {
            out.push(c);
        } else if c.is_control() || invisible(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::{LabeledSpan, NamedSource};

    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Fake {
        message: String,
        text: NamedSource<String>,
        span: SourceSpan,
    }

    impl Diagnostic for Fake {
        fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
            Some(Box::new("plinth::fake"))
        }
        fn source_code(&self) -> Option<&dyn miette::SourceCode> {
            Some(&self.text)
        }
        fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
            Some(Box::new(std::iter::once(
                LabeledSpan::new_primary_with_span(Some("here".into()), self.span),
            )))
        }
        fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
            Some(Box::new("do something"))
        }
    }

    fn fake(text: String, span: std::ops::Range<usize>) -> Fake {
        Fake {
            message: "bad thing".into(),
            text: NamedSource::new("stack.toml", text),
            span: span.into(),
        }
    }

    #[test]
    fn ordinary_diagnostics_are_drawn_graphically() {
        let diag = fake("[a]\nkey = 1\n".into(), 4..7);
        assert!(graphical_can_draw(&diag));
        let out = render_error_at(&diag, 80);
        assert!(
            out.contains("bad thing") && out.contains("key = 1"),
            "{out}"
        );
    }

    /// Regression (issue 16): a label past column 65 535 made miette's graphical handler
    /// panic with `Formatting argument out of range`.
    #[test]
    fn a_label_far_along_a_long_line_is_rendered_plainly() {
        let line = format!("key = \"{}x\"\n", "a".repeat(70_000));
        let diag = fake(line.clone(), 70_006..70_008);
        assert!(!graphical_can_draw(&diag));
        let out = render_error_at(&diag, 100_000);
        assert!(out.contains("error[plinth::fake]: bad thing"), "{out}");
        assert!(out.contains("--> stack.toml:1:70007"), "{out}");
        assert!(out.contains("help: do something"), "{out}");
        assert!(out.len() < 1_000, "{} bytes", out.len());
    }

    #[test]
    fn spans_past_the_end_and_invisible_characters_are_rendered_plainly() {
        let past = fake("a = 1\n".into(), 50..60);
        assert!(!graphical_can_draw(&past));
        let out = render_error_at(&past, 80);
        assert!(out.contains("outside the source"), "{out}");

        let hidden = fake("a = \"x\u{200b}\u{1b}[2J\"\n".into(), 4..8);
        assert!(!graphical_can_draw(&hidden));
        let out = render_error_at(&hidden, 80);
        assert!(
            out.contains("\\u{200b}") && out.contains("\\u{1b}"),
            "{out}"
        );
        assert!(!out.contains('\u{1b}'), "{out}");
    }

    #[test]
    fn the_graphical_handler_does_not_panic_on_what_it_is_given() {
        // Every width and every label position of a line at the graphical limit.
        let line = "x".repeat(MAX_GRAPHICAL_LINE);
        for width in [0, 1, 20, 80, 250, usize::MAX] {
            for start in [0, 1, MAX_GRAPHICAL_LINE / 2, MAX_GRAPHICAL_LINE - 1] {
                let diag = fake(line.clone(), start..MAX_GRAPHICAL_LINE);
                let out = render_error_at(&diag, width);
                assert!(out.contains("bad thing"), "{out}");
                // Drawn by the graphical handler, not the plain fallback.
                assert!(!out.contains("error[plinth::fake]"), "{out}");
            }
        }
    }
}
