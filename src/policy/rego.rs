//! Loading and evaluating the Rego files of `policies/` with regorus.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use miette::{Diagnostic, NamedSource, SourceSpan};
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};

use super::{RawFinding, Severity};

/// The longest a policy evaluation may run.
const EVALUATION_LIMIT: Duration = Duration::from_secs(30);

/// A policy file that does not parse, or a rule that fails while evaluating.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("policy {file}: {message}")]
#[diagnostic(code(plinth::policy))]
pub struct PolicyError {
    file: String,
    message: String,
    #[source_code]
    source_code: Option<NamedSource<String>>,
    #[label("{label}")]
    span: Option<SourceSpan>,
    label: String,
    #[help]
    help: Option<String>,
}

/// The parsed policies of one directory.
pub struct PolicySet {
    engine: Engine,
    packages: Vec<String>,
    /// The packages with a `deny*`, `violation*` or `warn*` rule, from the last evaluation
    /// (helper packages have none).
    policies: Vec<String>,
}

impl PolicySet {
    /// Reads every `*.rego` file under `dir` (recursively, in name order; OPA test files
    /// `*_test.rego` are left out). Rego v1 syntax is the default; a file that only parses
    /// as v0 (`deny[msg] { ... }`, most published conftest policies) is read as v0.
    pub fn load(dir: &Path) -> miette::Result<PolicySet> {
        let mut files = Vec::new();
        collect(dir, &mut files)
            .map_err(|e| miette::miette!("reading the policies in {}: {e}", dir.display()))?;
        files.sort();
        let mut engine = Engine::new();
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: EVALUATION_LIMIT,
            check_interval: NonZeroU32::MIN,
        });
        for path in &files {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| miette::miette!("reading policy {shown}: {e}"))?;
            add(&mut engine, &shown, &text)?;
        }
        let mut packages: Vec<String> = engine
            .get_packages()
            .map_err(|e| miette::miette!("policies in {}: {e}", dir.display()))?
            .into_iter()
            .map(|p| p.strip_prefix("data.").unwrap_or(&p).to_string())
            .collect();
        packages.sort();
        packages.dedup();
        Ok(PolicySet {
            engine,
            packages,
            policies: Vec::new(),
        })
    }

    /// The policies of the last evaluation: the packages that have a `deny*`, `violation*`
    /// or `warn*` rule, sorted.
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// Every result of every `deny*`, `violation*` and `warn*` rule of every package, with
    /// the plan document as `input` and `data.plinth.{stack,environment,partial}`.
    pub fn evaluate(
        &mut self,
        input: &serde_json::Value,
        context: &super::Context<'_>,
    ) -> miette::Result<Vec<RawFinding>> {
        let input = Value::from_json_str(&input.to_string())
            .map_err(|e| miette::miette!("the plan as policy input: {e}"))?;
        self.engine.set_input(input);
        self.engine.clear_data();
        let data = serde_json::json!({"plinth": {
            "stack": context.stack,
            "environment": context.environment,
            "partial": context.partial,
        }});
        self.engine
            .add_data(
                Value::from_json_str(&data.to_string())
                    .map_err(|e| miette::miette!("policy data: {e}"))?,
            )
            .map_err(|e| miette::miette!("policy data: {e}"))?;
        let mut out = Vec::new();
        self.policies.clear();
        for package in self.packages.clone() {
            let results = self
                .engine
                .eval_query(format!("data.{package}"), false)
                .map_err(|e| evaluation_error(&package, &e.to_string()))?;
            let Some(document) = results
                .result
                .into_iter()
                .next()
                .and_then(|r| r.expressions.into_iter().next())
                .map(|e| e.value)
            else {
                continue;
            };
            let document = serde_json::to_value(&document).unwrap_or_default();
            let Some(rules) = document.as_object() else {
                continue;
            };
            if rules.keys().any(|rule| Severity::of_rule(rule).is_some()) {
                self.policies.push(package.clone());
            }
            for (rule, value) in rules {
                let Some(severity) = Severity::of_rule(rule) else {
                    continue;
                };
                for item in results_of(value) {
                    out.push(RawFinding {
                        policy: package.clone(),
                        rule: rule.clone(),
                        severity,
                        value: item,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The results a rule's value holds: the members of a set (or array), or the rule itself
/// when it is a message or `true`.
fn results_of(value: &serde_json::Value) -> Vec<serde_json::Value> {
    match value {
        serde_json::Value::Array(items) => items.clone(),
        serde_json::Value::Bool(true) => vec![serde_json::Value::String(
            "the rule is true (it gives no message)".to_string(),
        )],
        serde_json::Value::String(s) if s == "<undefined>" => Vec::new(),
        serde_json::Value::String(_) | serde_json::Value::Object(_) => vec![value.clone()],
        _ => Vec::new(),
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".rego") && !name.ends_with("_test.rego") {
                files.push(path);
            }
        }
    }
    Ok(())
}

/// Parses one file: v1 first, then v0. When both fail, the error of the syntax the file
/// appears to use (v1 when it writes `if`, `contains` or `import rego.v1`) is reported.
fn add(engine: &mut Engine, shown: &str, text: &str) -> miette::Result<()> {
    engine.set_rego_v0(false);
    let v1 = match engine.add_policy(shown.to_string(), text.to_string()) {
        Ok(_) => return Ok(()),
        Err(e) => e.to_string(),
    };
    engine.set_rego_v0(true);
    let v0 = engine.add_policy(shown.to_string(), text.to_string());
    engine.set_rego_v0(false);
    let v0 = match v0 {
        Ok(_) => return Ok(()),
        Err(e) => e.to_string(),
    };
    let looks_v1 = text.contains("rego.v1")
        || text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == "if" || w == "contains");
    Err(syntax_error(shown, text, if looks_v1 { &v1 } else { &v0 }).into())
}

/// regorus's message (`\n--> FILE:LINE:COL\n ... \nerror: WHAT`) as a diagnostic with a span.
fn syntax_error(shown: &str, text: &str, message: &str) -> PolicyError {
    let (line, col) = location(message).unwrap_or((0, 0));
    let what = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .map(|w| w.trim().to_string())
        .unwrap_or_else(|| message.trim().to_string());
    let span = offset(text, line, col).map(|at| {
        let len = text[at..]
            .chars()
            .next()
            .map_or(0, |c| if c == '\n' { 0 } else { c.len_utf8() });
        SourceSpan::from((at, len))
    });
    PolicyError {
        file: if line > 0 {
            format!("{shown}:{line}:{col}")
        } else {
            shown.to_string()
        },
        message: what,
        source_code: Some(NamedSource::new(shown, text.to_string())),
        span,
        label: "here".to_string(),
        help: Some(
            "policies are Rego (OPA's language, v1 syntax or v0); the file is checked by \
             `plinth validate` too"
                .to_string(),
        ),
    }
}

fn evaluation_error(package: &str, message: &str) -> miette::Report {
    let what = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .unwrap_or(message)
        .trim()
        .to_string();
    let file = location_text(message).unwrap_or_else(|| format!("package {package}"));
    PolicyError {
        file,
        message: format!("evaluation failed: {what}"),
        source_code: None,
        span: None,
        label: String::new(),
        help: Some(format!(
            "the policy `{package}` fails on this plan; fix or remove it"
        )),
    }
    .into()
}

/// `FILE:LINE:COL` after regorus's `--> `.
fn location_text(message: &str) -> Option<String> {
    message
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .map(|l| l.trim().to_string())
}

/// `(line, column)`, 1-based, of regorus's `--> FILE:LINE:COL`.
fn location(message: &str) -> Option<(usize, usize)> {
    let text = location_text(message)?;
    let mut parts = text.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((line, col))
}

/// The byte offset of a 1-based line and column (columns count characters), clamped to the
/// text so the span is always valid.
fn offset(text: &str, line: usize, col: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut at = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let within = l
                .char_indices()
                .nth(col.saturating_sub(1))
                .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
            return Some(at + within);
        }
        at += l.len();
    }
    Some(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(environment: &str) -> crate::policy::Context<'_> {
        crate::policy::Context {
            stack: "s",
            environment,
            partial: false,
        }
    }

    fn set(files: &[(&str, &str)]) -> miette::Result<PolicySet> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        PolicySet::load(dir.path())
    }

    #[test]
    fn v1_and_v0_policies_both_evaluate() {
        let mut policies = set(&[
            (
                "modern.rego",
                "package a\nimport rego.v1\ndeny contains msg if {\n  input.x == 1\n  msg := \"x is one\"\n}\n",
            ),
            (
                "conftest.rego",
                "package main\ndeny[msg] {\n  input.x == 1\n  msg := \"old style\"\n}\nwarn[msg] { msg := \"always\" }\n",
            ),
        ])
        .unwrap();
        let found = policies
            .evaluate(&serde_json::json!({"x": 1}), &context("e"))
            .unwrap();
        let mut seen: Vec<(String, String, String)> = found
            .iter()
            .map(|f| (f.policy.clone(), f.rule.clone(), f.value.to_string()))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("a".into(), "deny".into(), "\"x is one\"".into()),
                ("main".into(), "deny".into(), "\"old style\"".into()),
                ("main".into(), "warn".into(), "\"always\"".into()),
            ]
        );
        let found = policies
            .evaluate(&serde_json::json!({"x": 2}), &context("e"))
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(policies.policies(), ["a", "main"]);
    }

    #[test]
    fn the_environment_is_data_plinth_environment() {
        let mut policies = set(&[(
            "env.rego",
            "package p\ndeny contains \"prod\" if data.plinth.environment == \"production\"\n",
        )])
        .unwrap();
        let input = serde_json::json!({});
        assert_eq!(
            policies
                .evaluate(&input, &context("production"))
                .unwrap()
                .len(),
            1
        );
        assert!(policies
            .evaluate(&input, &context("staging"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let err = set(&[(
            "broken.rego",
            "package p\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n",
        )])
        .err()
        .expect("a syntax error");
        let text = format!("{err:?}");
        let shown = err.to_string();
        assert!(shown.contains("broken.rego:"), "{shown}");
        let diagnostic: &dyn Diagnostic = err.as_ref();
        let label = diagnostic.labels().and_then(|mut l| l.next());
        assert!(label.is_some(), "a span: {text}");
    }

    #[test]
    fn offsets_are_clamped_to_the_text() {
        assert_eq!(offset("ab\ncd\n", 2, 2), Some(4));
        assert_eq!(offset("ab\ncd\n", 2, 99), Some(5));
        assert_eq!(offset("ab\ncd\n", 9, 1), Some(6));
        assert_eq!(offset("ab", 0, 1), None);
        assert_eq!(
            location("\n--> p/x.rego:12:3\n  |\nerror: oops"),
            Some((12, 3))
        );
    }
}
