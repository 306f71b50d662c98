//! Load diagnostics: every problem found in one run of the loader, each pointing at the exact
//! span of a stack file with a code and a hint (Terraform's `tfdiags`, rendered by miette).
//!
//! A [`Problem`] is one error; [`Diagnostics`] is the whole list and is what
//! [`load`](super::load) returns on failure. Both implement [`miette::Diagnostic`]: the list
//! renders as a summary line followed by every problem with its source snippet.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
    ThemeCharacters, ThemeStyles,
};

use super::model::{Origin, SourceMap};

/// One problem in a stack: a code such as `plinth::unknown_attribute`, a message, where it is
/// and what to do about it.
#[derive(Debug, Clone)]
pub struct Problem {
    code: &'static str,
    message: String,
    origin: Option<Origin>,
    label: String,
    secondary: Vec<(Origin, String)>,
    help: Option<String>,
    source: Option<NamedSource<Arc<String>>>,
    notes: Vec<Problem>,
    note: bool,
}

impl Problem {
    /// A problem with a code (`plinth::...`) and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            origin: None,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            source: None,
            notes: Vec::new(),
            note: false,
        }
    }

    /// Points the problem at a span, with a label under it.
    pub fn at(mut self, origin: Origin, label: impl Into<String>) -> Self {
        self.origin = Some(origin);
        self.label = label.into();
        self
    }

    /// Adds a second labelled span (e.g. "first defined here"), possibly in another file.
    pub fn also(mut self, origin: Origin, label: impl Into<String>) -> Self {
        self.secondary.push((origin, label.into()));
        self
    }

    /// Adds a `help:` line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The code, e.g. `plinth::unknown_attribute`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the problem is, when it is in a file.
    pub fn origin(&self) -> Option<Origin> {
        self.origin
    }

    /// The help text.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Attaches the source text: secondary labels in other files become notes.
    fn attach(mut self, sources: &SourceMap) -> Self {
        let Some(origin) = self.origin else {
            return self;
        };
        if origin.file >= sources.files.len() {
            return self;
        }
        self.source = Some(sources.named_source(origin.file));
        let (same, other): (Vec<_>, Vec<_>) = std::mem::take(&mut self.secondary)
            .into_iter()
            .partition(|(o, _)| o.file == origin.file);
        self.secondary = same;
        for (note_origin, label) in other {
            let mut note = Problem::new(self.code, format!("{}: {label}", self.message))
                .at(note_origin, label)
                .attach(sources);
            note.note = true;
            self.notes.push(note);
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.note {
            miette::Severity::Advice
        } else {
            miette::Severity::Error
        })
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let origin = self.origin?;
        self.source.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(Some(self.label.clone()), origin.span);
        let rest = self
            .secondary
            .iter()
            .map(|(o, label)| LabeledSpan::new_with_span(Some(label.clone()), o.span));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.notes.is_empty() {
            return None;
        }
        Some(Box::new(self.notes.iter().map(|n| n as &dyn Diagnostic)))
    }
}

/// Every problem found while loading a stack. Implements [`miette::Diagnostic`]; each
/// problem is a related diagnostic with its own file and span.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    subject: String,
    sources: Arc<SourceMap>,
    problems: Vec<Problem>,
    /// Problems found after the first [`MAX_PROBLEMS`], counted but not kept.
    omitted: usize,
}

/// The most problems kept and shown: a mutated file can have tens of thousands of syntax
/// errors, and comparing each new one with all the others was quadratic.
pub const MAX_PROBLEMS: usize = 100;

impl Diagnostics {
    /// An empty list for the stack at `subject` (a directory shown in the summary line).
    pub fn new(subject: impl Into<String>, sources: Arc<SourceMap>) -> Self {
        Diagnostics {
            subject: subject.into(),
            sources,
            problems: Vec::new(),
            omitted: 0,
        }
    }

    /// Records a problem (an identical problem already recorded is not repeated).
    pub fn push(&mut self, problem: Problem) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.omitted += 1;
            return;
        }
        let problem = problem.attach(&self.sources);
        let duplicate = self.problems.iter().any(|p| {
            p.code == problem.code && p.message == problem.message && p.origin == problem.origin
        });
        if !duplicate {
            self.problems.push(problem);
        }
    }

    /// Counts `n` problems that are not kept (past [`MAX_PROBLEMS`]).
    pub(crate) fn omit(&mut self, n: usize) {
        self.omitted += n;
    }

    /// The problems, in the order they were found.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The number of problems found (those past [`MAX_PROBLEMS`] included).
    pub fn len(&self) -> usize {
        self.problems.len() + self.omitted
    }

    /// Adds a file (a module's) to the sources problems may point into; its index.
    pub(crate) fn add_source(&mut self, name: String, text: Arc<String>) -> usize {
        let sources = Arc::make_mut(&mut self.sources);
        sources.files.push((name, text));
        sources.files.len() - 1
    }

    /// The sources the problems point into.
    pub fn sources(&self) -> &Arc<SourceMap> {
        &self.sources
    }

    /// Renders every problem as plain text (ASCII art, no colour) at a fixed width: for
    /// `NO_COLOR` terminals, logs and snapshot tests.
    pub fn render_plain(&self, width: usize) -> String {
        use crate::render::diagnostic::{graphical_can_draw, quietly, render_plain_text};
        if !graphical_can_draw(self) {
            return render_plain_text(self);
        }
        let theme = GraphicalTheme {
            characters: ThemeCharacters::ascii(),
            styles: ThemeStyles::none(),
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        let drawn = quietly(|| {
            let mut out = String::new();
            handler.render_report(&mut out, self).map(|()| out)
        });
        match drawn {
            Some(Ok(out)) => out,
            _ => render_plain_text(self),
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        write!(
            f,
            "could not load the stack in `{}`: {n} {noun}",
            self.subject
        )?;
        if self.omitted > 0 {
            write!(f, " (the first {} shown)", self.problems.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("plinth::invalid_stack"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// Names from `candidates` ordered by similarity to `name` (edit distance, then common
/// prefix), most similar first.
pub(crate) fn ranked<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    // Edit distances are quadratic in the lengths: names longer than this are not typos.
    const LONGEST: usize = 256;
    let mut scored: Vec<(usize, f64, &str)> = candidates
        .into_iter()
        .map(|c| {
            if name.len() > LONGEST || c.len() > LONGEST {
                return (usize::MAX, 0.0, c);
            }
            (
                strsim::osa_distance(name, c),
                strsim::jaro_winkler(name, c),
                c,
            )
        })
        .collect();
    scored.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.1.total_cmp(&a.1))
            .then_with(|| a.2.cmp(b.2))
    });
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().map(|(_, _, c)| c.to_string()).collect()
}

/// The few names from `candidates` close enough to `name` to be a likely typo: at most one
/// edit per three characters (three at most), or the same name in another case.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    ranked(name, candidates)
        .into_iter()
        .filter(|c| c.len() <= 256 && name.len() <= 256)
        .filter(|c| strsim::osa_distance(name, c) <= limit || c.eq_ignore_ascii_case(name))
        .take(3)
        .collect()
}

/// `` `a`, `b` or `c` ``.
pub(crate) fn one_of(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// A `help:` that suggests the nearest names, or lists the valid ones.
pub(crate) fn suggestion<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let near = nearest(name, candidates.iter().copied());
    if !near.is_empty() {
        return format!("did you mean {}?", one_of(&near));
    }
    if candidates.is_empty() {
        return format!("there are no {what}");
    }
    let mut all = ranked(name, candidates.iter().copied());
    let more = all.len().saturating_sub(8);
    all.truncate(8);
    let list = all
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        format!("{what}: {list} (and {more} more)")
    } else {
        format!("{what}: {list}")
    }
}

/// A `help:` that suggests the nearest names and lists the valid ones, nearest first.
pub(crate) fn listing<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if candidates.is_empty() {
        return format!("there are no {what}");
    }
    let near = nearest(name, candidates.iter().copied());
    let mut ranked_list = ranked(name, candidates.iter().copied());
    let more = ranked_list.len().saturating_sub(8);
    ranked_list.truncate(8);
    let list = ranked_list
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let list = if more > 0 {
        format!("{list} (and {more} more)")
    } else {
        list
    };
    if near.is_empty() {
        format!("{what}: {list}")
    } else {
        format!("did you mean {}? ({what}: {list})", one_of(&near))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::SourceSpan;

    fn sources() -> Arc<SourceMap> {
        Arc::new(SourceMap {
            files: vec![
                ("a.toml".into(), Arc::new("[x]\nkey = 1\n".to_string())),
                ("b.toml".into(), Arc::new("[x]\n".to_string())),
            ],
        })
    }

    #[test]
    fn nearest_names_come_first() {
        let near = nearest("instance_clas", ["engine", "instance_class", "identifier"]);
        assert_eq!(near, vec!["instance_class".to_string()]);
        assert!(nearest("zzz", ["engine", "identifier"]).is_empty());
        assert_eq!(ranked("ab", ["xy", "abc"])[0], "abc");
    }

    #[test]
    fn listing_puts_the_nearest_first() {
        let help = listing("sim.dbx", ["sim.web", "sim.db"], "resources");
        assert_eq!(
            help,
            "did you mean `sim.db`? (resources: `sim.db`, `sim.web`)"
        );
        assert_eq!(listing("x", [], "resources"), "there are no resources");
    }

    #[test]
    fn suggestion_lists_candidates_when_none_is_near() {
        let help = suggestion("qqq", ["alpha", "beta"], "valid names");
        assert!(help.starts_with("valid names: "), "{help}");
        assert_eq!(
            suggestion("alpah", ["alpha", "beta"], "x"),
            "did you mean `alpha`?"
        );
    }

    #[test]
    fn identical_problems_are_recorded_once_and_other_files_become_notes() {
        let mut diags = Diagnostics::new("stack", sources());
        let first = Origin {
            file: 0,
            span: SourceSpan::from(0..3),
        };
        let second = Origin {
            file: 1,
            span: SourceSpan::from(0..3),
        };
        let problem = Problem::new("plinth::duplicate", "defined twice")
            .at(second, "again")
            .also(first, "first here");
        diags.push(problem.clone());
        diags.push(problem);
        assert_eq!(diags.len(), 1);
        let rendered = diags.render_plain(80);
        assert!(rendered.contains("a.toml"), "{rendered}");
        assert!(rendered.contains("b.toml"), "{rendered}");
        assert!(rendered.contains("1 problem"), "{rendered}");
    }
}
