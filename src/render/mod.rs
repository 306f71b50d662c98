//! Everything Plinth prints goes through here: plans, apply progress and summaries.
//! Colour as `anstream` decides it (the convention cargo and clap follow): on a terminal that
//! supports it, never with `NO_COLOR` or `--no-color`, always with `CLICOLOR_FORCE`.

mod apply_text;
pub mod diagnostic;
mod diagnostics_json;
mod json;
mod markdown;
mod markdown_fit;
mod ops_text;
mod plan_text;
mod policy_text;
pub mod terraform_json;
pub mod value_diff;

pub use apply_text::{render_apply_summary, TerminalReporter};
pub use diagnostic::render_error;
pub use diagnostics_json::diagnostics_json;
pub use json::{render_plan_json, PlanJson, PLAN_JSON_FORMAT_VERSION};
pub use markdown::{
    comment_marker, render_plan_markdown, Markdown, MarkdownOptions, DEFAULT_MAX_CHARS,
};
pub use ops_text::{render_manifests, render_rollback};
pub use plan_text::{render_plan, show, value_change, write_plan};
pub use policy_text::{policy_refusal, render_policy};
pub use terraform_json::render_terraform_json;

/// `--no-color`: no colour on any stream, whatever the environment says.
pub fn disable_color() {
    anstream::ColorChoice::Never.write_global();
}

/// Whether `stream` should get colour (see [`Style::detect`]).
pub fn wants_color<S: anstream::stream::RawStream>(stream: &S) -> bool {
    anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

/// Whether to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
}

impl Style {
    /// Colour for standard output: a terminal that supports it, `CLICOLOR_FORCE` set, and
    /// neither `NO_COLOR` nor `--no-color` ([`disable_color`]).
    pub fn detect() -> Self {
        Style {
            color: wants_color(&std::io::stdout()),
        }
    }

    /// No colour.
    pub fn plain() -> Self {
        Style { color: false }
    }

    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    /// Green.
    pub fn green(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Green.on_default(), text)
    }

    /// Yellow.
    pub fn yellow(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Yellow.on_default(), text)
    }

    /// Red.
    pub fn red(self, text: &str) -> String {
        self.paint(anstyle::AnsiColor::Red.on_default(), text)
    }

    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }
}
