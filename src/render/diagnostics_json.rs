//! Diagnostics as JSON (`plinth validate --format json`), for editors and CI: each problem with
//! its code, severity, message, help, and the file, 1-based line and column, byte offset and
//! length of every labelled span. Built from the [`miette::Diagnostic`] the loader returns, so
//! it holds exactly what the terminal rendering shows.

use miette::{Diagnostic, Severity};
use serde_json::{json, Value as Json};

/// The problems of `diagnostic`: a list of problems (the loader's "invalid stack" wrapper)
/// becomes its entries; anything else is one entry.
pub fn diagnostics_json(diagnostic: &dyn Diagnostic) -> Vec<Json> {
    let has_labels = diagnostic.labels().is_some_and(|mut l| l.next().is_some());
    match diagnostic.related() {
        Some(related) if !has_labels => related.map(entry).collect(),
        _ => vec![entry(diagnostic)],
    }
}

fn entry(diagnostic: &dyn Diagnostic) -> Json {
    let severity = match diagnostic.severity().unwrap_or(Severity::Error) {
        Severity::Advice => "advice",
        Severity::Warning => "warning",
        Severity::Error => "error",
    };
    let labels: Vec<Json> = diagnostic
        .labels()
        .into_iter()
        .flatten()
        .map(|label| {
            let mut out = json!({
                "label": label.label(),
                "offset": label.offset(),
                "length": label.len(),
            });
            if let Some(contents) = diagnostic
                .source_code()
                .and_then(|source| source.read_span(label.inner(), 0, 0).ok())
            {
                out["file"] = json!(contents.name());
                out["line"] = json!(contents.line() + 1);
                out["column"] = json!(contents.column() + 1);
            }
            out
        })
        .collect();
    let notes: Vec<Json> = diagnostic
        .related()
        .into_iter()
        .flatten()
        .map(entry)
        .collect();
    json!({
        "severity": severity,
        "code": diagnostic.code().map(|c| c.to_string()),
        "message": diagnostic.to_string(),
        "help": diagnostic.help().map(|h| h.to_string()),
        "labels": labels,
        "notes": notes,
    })
}
