//! Everything Plinth prints goes through here: plans, apply progress and summaries.
//! Colour only on a terminal and never with `NO_COLOR`.

mod apply_text;
pub mod diagnostic;
mod diagnostics_json;
mod json;
mod markdown;
mod markdown_fit;
mod ops_text;
mod plan_text;
pub mod terraform_json;
pub mod value_diff;

use std::io::IsTerminal;

pub use apply_text::{render_apply_summary, TerminalReporter};
pub use diagnostic::render_error;
pub use diagnostics_json::diagnostics_json;
pub use json::{render_plan_json, PlanJson, PLAN_JSON_FORMAT_VERSION};
pub use markdown::{
    comment_marker, render_plan_markdown, Markdown, MarkdownOptions, DEFAULT_MAX_CHARS,
};
pub use ops_text::{render_manifests, render_rollback};
pub use plan_text::{render_plan, show, value_change};
pub use terraform_json::render_terraform_json;

/// Whether to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    /// No colour.
    pub fn plain() -> Self {
        Style { color: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Green.
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Yellow.
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Red.
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}
