//! Readable diffs of one attribute's value: multi-line strings as a unified line diff
//! (`similar`), strings holding JSON and nested tables and lists diffed structurally with the
//! unchanged parts folded, Kubernetes lists matched by their merge key (`name`), other lists
//! by position, and big creates and destroys as indented blocks capped with `… N more`.
//!
//! Works on [`DiffValue`]s only: a value holding a secret is [`DiffValue::Sensitive`] as a
//! whole before it gets here, so nothing in this module can show one. Pure functions: the
//! text and Markdown renderers lay the lines out.

use std::fmt;

use serde_json::Value as Json;
use similar::{ChangeTag, TextDiff};

use crate::plan::DiffValue;

/// Lines of a created or destroyed block shown before `… N more`.
pub const BLOCK_CAP: usize = 30;
/// Unchanged lines of a line diff shown around each change.
const CONTEXT: usize = 3;
/// A one-line value of at most this many characters stays on one line.
const INLINE_MAX: usize = 80;

/// What a line says about its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// Added.
    Add,
    /// Removed.
    Remove,
    /// Changed (its children say how).
    Change,
    /// Context or a bracket.
    Same,
}

impl Sign {
    /// The text plan's symbol.
    pub fn symbol(self) -> char {
        match self {
            Sign::Add => '+',
            Sign::Remove => '-',
            Sign::Change => '~',
            Sign::Same => ' ',
        }
    }
}

/// One line of a value diff, `depth` levels below the attribute's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Its sign.
    pub sign: Sign,
    /// Nesting below the attribute's line (1 is the first level inside).
    pub depth: usize,
    /// The text after the sign.
    pub text: String,
}

/// A value diff spread over several lines: `head` follows `path = ` on the attribute's
/// line, then `body`, then `tail` closes it at the attribute's indentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// After `path = `: `jsonencode(`, `<<-EOT`, `[`, `{`.
    pub head: String,
    /// Lines inside.
    pub body: Vec<Line>,
    /// The closing line: `)`, `EOT`, `]`, `}`.
    pub tail: String,
}

/// The multi-line form of a change, or `None` when one line reads best (scalars, short
/// values, secrets, unknowns).
pub fn block(before: &DiffValue, after: &DiffValue) -> Option<Block> {
    match (before, after) {
        (DiffValue::Known(a), DiffValue::Known(b)) => changed(a, b),
        (DiffValue::Absent, DiffValue::Known(b)) => whole(b, Sign::Add),
        (DiffValue::Known(a), DiffValue::Absent) => whole(a, Sign::Remove),
        _ => None,
    }
}

fn changed(a: &Json, b: &Json) -> Option<Block> {
    match (a, b) {
        (Json::String(x), Json::String(y)) => {
            if let (Some(jx), Some(jy)) = (json_document(x), json_document(y)) {
                let mut body = Vec::new();
                node(None, Some(&jx), Some(&jy), 1, &mut body);
                return Some(Block {
                    head: "jsonencode(".into(),
                    body,
                    tail: ")".into(),
                });
            }
            if x.contains('\n') || y.contains('\n') {
                return Some(Block {
                    head: "<<-EOT".into(),
                    body: line_diff(x, y, 1),
                    tail: "EOT".into(),
                });
            }
            None
        }
        (Json::Object(_), Json::Object(_)) | (Json::Array(_), Json::Array(_)) => {
            let mut body = Vec::new();
            let (open, close) = brackets(a);
            children(a, b, 1, &mut body);
            Some(Block {
                head: open.into(),
                body,
                tail: close.into(),
            })
        }
        _ => None,
    }
}

/// A created (`Add`) or destroyed (`Remove`) value.
fn whole(value: &Json, sign: Sign) -> Option<Block> {
    match value {
        Json::String(s) => {
            if let Some(doc) = json_document(s).filter(|d| inline_longer_than(d, INLINE_MAX)) {
                let mut body = Vec::new();
                let mut budget = BLOCK_CAP;
                single(None, &doc, sign, 1, &mut body, &mut budget);
                return Some(Block {
                    head: "jsonencode(".into(),
                    body,
                    tail: ")".into(),
                });
            }
            if s.contains('\n') {
                let lines: Vec<&str> = s.lines().collect();
                let mut body: Vec<Line> = lines
                    .iter()
                    .take(BLOCK_CAP)
                    .map(|l| Line {
                        sign,
                        depth: 1,
                        text: (*l).to_string(),
                    })
                    .collect();
                more(lines.len().saturating_sub(BLOCK_CAP), 1, &mut body);
                return Some(Block {
                    head: "<<-EOT".into(),
                    body,
                    tail: "EOT".into(),
                });
            }
            None
        }
        Json::Object(_) | Json::Array(_) if inline_longer_than(value, INLINE_MAX) => {
            let (open, close) = brackets(value);
            let mut body = Vec::new();
            let mut budget = BLOCK_CAP;
            entries(value, sign, 1, &mut body, &mut budget);
            Some(Block {
                head: open.into(),
                body,
                tail: close.into(),
            })
        }
        _ => None,
    }
}

/// A string that holds a JSON object or array.
fn json_document(s: &str) -> Option<Json> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(s).ok()
}

fn brackets(value: &Json) -> (&'static str, &'static str) {
    if value.is_array() {
        ("[", "]")
    } else {
        ("{", "}")
    }
}

fn more(hidden: usize, depth: usize, out: &mut Vec<Line>) {
    if hidden > 0 {
        out.push(Line {
            sign: Sign::Same,
            depth,
            text: format!("… {hidden} more"),
        });
    }
}

fn folded(count: usize, noun: &str, depth: usize, out: &mut Vec<Line>) {
    if count > 0 {
        let plural = if count == 1 { "" } else { "s" };
        out.push(Line {
            sign: Sign::Same,
            depth,
            text: format!("# ({count} unchanged {noun}{plural} hidden)"),
        });
    }
}

/// A unified line diff: changed lines with [`CONTEXT`] lines around them, the rest folded.
fn line_diff(a: &str, b: &str, depth: usize) -> Vec<Line> {
    let diff = TextDiff::from_lines(a, b);
    let mut out = Vec::new();
    let mut shown_until = 0usize;
    let groups = diff.grouped_ops(CONTEXT);
    for group in &groups {
        let first_old = group.first().map(|op| op.old_range().start).unwrap_or(0);
        let skipped = first_old.saturating_sub(shown_until);
        folded(skipped, "line", depth, &mut out);
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => Sign::Same,
                    ChangeTag::Delete => Sign::Remove,
                    ChangeTag::Insert => Sign::Add,
                };
                out.push(Line {
                    sign,
                    depth,
                    text: change.value().trim_end_matches(['\n', '\r']).to_string(),
                });
            }
        }
        shown_until = group.last().map(|op| op.old_range().end).unwrap_or(0);
    }
    let old_lines = a.lines().count();
    folded(
        old_lines.saturating_sub(shown_until),
        "line",
        depth,
        &mut out,
    );
    out
}

/// A key as written in a path or a block: bare when it is an identifier, quoted otherwise
/// (`"nginx.conf"`).
pub fn key_text(key: &str) -> String {
    let mut out = String::new();
    let _ = write_key(&mut out, key);
    out
}

/// [`key_text`] into `out`.
pub fn write_key(out: &mut impl fmt::Write, key: &str) -> fmt::Result {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if bare {
        out.write_str(key)
    } else {
        match serde_json::to_string(key) {
            Ok(quoted) => out.write_str(&quoted),
            Err(_) => write!(out, "{key:?}"),
        }
    }
}

/// The segments of a path written with [`key_text`]: `manifest.data."nginx.conf"` is
/// `["manifest", "data", "nginx.conf"]`.
pub fn path_segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if rest.starts_with('"') {
            // A quoted key is a JSON string: find its end, honouring escapes.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in rest.char_indices().skip(1) {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let Some(end) = end else {
                out.push(rest.to_string());
                break;
            };
            let quoted = &rest[..=end];
            out.push(serde_json::from_str(quoted).unwrap_or_else(|_| quoted.to_string()));
            rest = rest[end + 1..]
                .strip_prefix('.')
                .unwrap_or(&rest[end + 1..]);
        } else if rest.starts_with('[') {
            // A list selector, `[0]` or `[name="app"]`, kept whole as one segment.
            let mut end = rest.len() - 1;
            let mut quoted = false;
            let mut escaped = false;
            for (i, c) in rest.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if quoted => escaped = true,
                    '"' => quoted = !quoted,
                    ']' if !quoted => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            out.push(rest[..=end].to_string());
            rest = rest[end + 1..]
                .strip_prefix('.')
                .unwrap_or(&rest[end + 1..]);
        } else {
            let stop = rest.find(['.', '[']).unwrap_or(rest.len());
            out.push(rest[..stop].to_string());
            rest = rest[stop..].strip_prefix('.').unwrap_or(&rest[stop..]);
        }
    }
    out
}

fn label(key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{} = ", key_text(k)),
        None => String::new(),
    }
}

/// One value on one line.
fn inline(value: &Json) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = write_inline(&mut out, value);
    out
}

/// [`inline`] into `out`.
fn write_inline(out: &mut impl fmt::Write, value: &Json) -> fmt::Result {
    write_one_line(out, value, true)
}

/// A value on one line: `"text"`, `[a, b]`, `{ key = value }`, keys written with
/// [`write_key`] when `quote_keys`, as they are otherwise (the text plan's one-line values).
pub(crate) fn write_one_line(
    out: &mut impl fmt::Write,
    value: &Json,
    quote_keys: bool,
) -> fmt::Result {
    match value {
        Json::String(s) => write!(out, "{s:?}"),
        Json::Array(items) => {
            out.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_one_line(out, item, quote_keys)?;
            }
            out.write_char(']')
        }
        Json::Object(map) => {
            out.write_str("{ ")?;
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                if quote_keys {
                    write_key(out, k)?;
                } else {
                    out.write_str(k)?;
                }
                out.write_str(" = ")?;
                write_one_line(out, v, quote_keys)?;
            }
            out.write_str(" }")
        }
        other => write!(out, "{other}"),
    }
}

/// Whether [`inline`] of `value` is longer than `max` bytes, without writing more than that.
fn inline_longer_than(value: &Json, max: usize) -> bool {
    /// Counts bytes and gives up once past the limit.
    struct Bounded {
        written: usize,
        max: usize,
    }
    impl fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.written += s.len();
            if self.written > self.max {
                Err(fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut bounded = Bounded { written: 0, max };
    write_inline(&mut bounded, value).is_err()
}

/// The merge key Kubernetes uses for lists of containers, env, ports, volumes, volume
/// mounts: `name`, when every element on both sides has a distinct string `name`.
fn merge_key<'a>(a: &'a [Json], b: &'a [Json]) -> Option<&'static str> {
    let names = |items: &'a [Json]| -> Option<Vec<&'a str>> {
        items
            .iter()
            .map(|i| i.get("name").and_then(Json::as_str))
            .collect()
    };
    let (x, y) = (names(a)?, names(b)?);
    let distinct = |v: &Vec<&str>| {
        let mut s = v.clone();
        s.sort_unstable();
        s.dedup();
        s.len() == v.len()
    };
    if (a.is_empty() && b.is_empty()) || !distinct(&x) || !distinct(&y) {
        return None;
    }
    Some("name")
}

/// The children of two objects or two arrays, changed ones expanded, the rest folded.
fn children(a: &Json, b: &Json, depth: usize, out: &mut Vec<Line>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let mut unchanged = 0;
            let mut keys: Vec<&String> = x.keys().collect();
            keys.extend(y.keys().filter(|k| !x.contains_key(*k)));
            for key in keys {
                let (l, r) = (x.get(key), y.get(key));
                if l == r {
                    unchanged += 1;
                } else {
                    node(Some(key), l, r, depth, out);
                }
            }
            folded(unchanged, "key", depth, out);
        }
        (Json::Array(x), Json::Array(y)) => {
            let mut unchanged = 0;
            if let Some(key) = merge_key(x, y) {
                let name = |i: &Json| i.get(key).and_then(Json::as_str).map(str::to_string);
                for item in x {
                    let n = name(item);
                    let other = y.iter().find(|j| name(j) == n);
                    if other == Some(item) {
                        unchanged += 1;
                    } else {
                        node(None, Some(item), other, depth, out);
                    }
                }
                for item in y {
                    let n = name(item);
                    if !x.iter().any(|i| name(i) == n) {
                        node(None, None, Some(item), depth, out);
                    }
                }
            } else {
                for i in 0..x.len().max(y.len()) {
                    let (l, r) = (x.get(i), y.get(i));
                    if l == r {
                        unchanged += 1;
                    } else {
                        node(None, l, r, depth, out);
                    }
                }
            }
            folded(unchanged, "element", depth, out);
        }
        _ => {}
    }
}

/// One key (or list element) that differs; `None` on a side means absent.
fn node(key: Option<&str>, a: Option<&Json>, b: Option<&Json>, depth: usize, out: &mut Vec<Line>) {
    let lead = label(key);
    match (a, b) {
        (Some(x), Some(y)) if same_shape(x, y) => {
            let (open, close) = brackets(x);
            let mut text = format!("{lead}{open}");
            if key.is_none() {
                if let Some(name) = x.get("name").and_then(Json::as_str) {
                    text.push_str(&format!(" # name = {name:?}"));
                }
            }
            out.push(Line {
                sign: Sign::Change,
                depth,
                text,
            });
            children(x, y, depth + 1, out);
            out.push(Line {
                sign: Sign::Same,
                depth,
                text: close.into(),
            });
        }
        (Some(Json::String(x)), Some(Json::String(y))) if x.contains('\n') || y.contains('\n') => {
            out.push(Line {
                sign: Sign::Change,
                depth,
                text: format!("{lead}<<-EOT"),
            });
            out.extend(line_diff(x, y, depth + 1));
            out.push(Line {
                sign: Sign::Same,
                depth,
                text: "EOT".into(),
            });
        }
        (Some(x), Some(y)) => out.push(Line {
            sign: Sign::Change,
            depth,
            text: format!("{lead}{} -> {}", inline(x), inline(y)),
        }),
        (None, Some(y)) => added_or_removed(key, y, Sign::Add, depth, out),
        (Some(x), None) => added_or_removed(key, x, Sign::Remove, depth, out),
        (None, None) => {}
    }
}

fn same_shape(x: &Json, y: &Json) -> bool {
    matches!(
        (x, y),
        (Json::Object(_), Json::Object(_)) | (Json::Array(_), Json::Array(_))
    )
}

fn added_or_removed(
    key: Option<&str>,
    value: &Json,
    sign: Sign,
    depth: usize,
    out: &mut Vec<Line>,
) {
    let mut budget = BLOCK_CAP;
    single(key, value, sign, depth, out, &mut budget);
}

/// A whole value with one sign, short values on one line, using up to `budget` lines; the
/// caller has checked that the budget is not spent.
fn single(
    key: Option<&str>,
    value: &Json,
    sign: Sign,
    depth: usize,
    out: &mut Vec<Line>,
    budget: &mut usize,
) {
    let lead = label(key);
    let one = inline(value);
    let nested = matches!(value, Json::Object(m) if !m.is_empty())
        || matches!(value, Json::Array(v) if !v.is_empty());
    if !nested || one.len() + lead.len() <= INLINE_MAX {
        *budget -= 1;
        let suffix = if sign == Sign::Remove { " -> null" } else { "" };
        out.push(Line {
            sign,
            depth,
            text: format!("{lead}{one}{suffix}"),
        });
        return;
    }
    let (open, close) = brackets(value);
    *budget -= 1;
    out.push(Line {
        sign,
        depth,
        text: format!("{lead}{open}"),
    });
    entries(value, sign, depth + 1, out, budget);
    out.push(Line {
        sign: Sign::Same,
        depth,
        text: close.into(),
    });
}

/// The keys or elements of a table or list, each level saying how many of its own it left
/// out (`… N more`) once the budget is spent.
fn entries(value: &Json, sign: Sign, depth: usize, out: &mut Vec<Line>, budget: &mut usize) {
    let items: Vec<(Option<&str>, &Json)> = match value {
        Json::Object(map) => map.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
        Json::Array(items) => items.iter().map(|v| (None, v)).collect(),
        _ => Vec::new(),
    };
    let mut hidden = 0;
    for (key, v) in items {
        if *budget == 0 {
            hidden += 1;
        } else {
            single(key, v, sign, depth, out, budget);
        }
    }
    more(hidden, depth, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn known(v: Json) -> DiffValue {
        DiffValue::Known(v)
    }

    #[test]
    fn short_scalars_and_secrets_stay_on_one_line() {
        assert!(block(&known(json!(1)), &known(json!(2))).is_none());
        assert!(block(&known(json!("a")), &known(json!("b"))).is_none());
        assert!(block(&DiffValue::Sensitive, &DiffValue::Sensitive).is_none());
        assert!(block(&DiffValue::Absent, &DiffValue::Unknown).is_none());
    }

    #[test]
    fn multi_line_strings_diff_by_line_with_context() {
        let a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let b = "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n";
        let block = block(&known(json!(a)), &known(json!(b))).unwrap();
        assert_eq!(block.head, "<<-EOT");
        let signs: Vec<char> = block.body.iter().map(|l| l.sign.symbol()).collect();
        assert_eq!(
            signs,
            vec![' ', ' ', ' ', ' ', '-', '+', ' ', ' ', ' ', ' ']
        );
        assert_eq!(block.body[0].text, "# (2 unchanged lines hidden)");
        assert_eq!(block.body[9].text, "# (1 unchanged line hidden)");
    }

    #[test]
    fn json_strings_fold_unchanged_keys_and_bad_json_falls_back() {
        let a = r#"{"a":1,"b":2,"c":3}"#;
        let b = r#"{"a":1,"b":5,"c":3}"#;
        let block = block(&known(json!(a)), &known(json!(b))).unwrap();
        assert_eq!(block.head, "jsonencode(");
        let texts: Vec<(char, usize, &str)> = block
            .body
            .iter()
            .map(|l| (l.sign.symbol(), l.depth, l.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            vec![
                ('~', 1, "{"),
                ('~', 2, "b = 2 -> 5"),
                (' ', 2, "# (2 unchanged keys hidden)"),
                (' ', 1, "}"),
            ]
        );
        let bad = super::block(&known(json!("{oops\n")), &known(json!("{oops\nmore\n"))).unwrap();
        assert_eq!(bad.head, "<<-EOT");
    }

    #[test]
    fn kubernetes_lists_match_by_name_not_position() {
        let a = json!([{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]);
        let b = json!([{"name": "b", "value": "3"}, {"name": "a", "value": "1"}]);
        let block = block(&known(a), &known(b)).unwrap();
        assert_eq!(block.body[0].text, "{ # name = \"b\"");
        assert_eq!(block.body[1].text, "value = \"2\" -> \"3\"");
        assert!(block
            .body
            .iter()
            .any(|l| l.text == "# (1 unchanged element hidden)"));
    }

    #[test]
    fn big_creates_are_capped() {
        let map: serde_json::Map<String, Json> =
            (0..100).map(|i| (format!("key{i:03}"), json!(i))).collect();
        let block = block(&DiffValue::Absent, &known(Json::Object(map))).unwrap();
        assert_eq!(block.body.len(), BLOCK_CAP + 1, "{block:?}");
        assert_eq!(block.body.last().unwrap().text, "… 70 more");
    }

    #[test]
    fn the_bounded_length_check_agrees_with_the_inline_text() {
        let values = [
            json!("a"),
            json!({ "index": 0, "layer": 1, "seed": "a", "upstream": [] }),
            json!({ "nginx.conf": "x".repeat(60), "n": [1, 2, 3] }),
            json!(["a".repeat(39), "b".repeat(39)]),
            json!(["a".repeat(38), "b".repeat(38)]),
            json!({}),
            json!([]),
            json!(null),
            json!(1.5),
        ];
        for value in values {
            let text = inline(&value);
            for max in [
                0,
                1,
                10,
                text.len().saturating_sub(1),
                text.len(),
                text.len() + 1,
                80,
            ] {
                assert_eq!(
                    inline_longer_than(&value, max),
                    text.len() > max,
                    "{value} at {max}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn keys_are_quoted_when_needed() {
        assert_eq!(key_text("nginx.conf"), "\"nginx.conf\"");
        assert_eq!(key_text("replicas"), "replicas");
        assert_eq!(
            key_text("app.kubernetes.io/name"),
            "\"app.kubernetes.io/name\""
        );
        assert_eq!(key_text("0abc"), "\"0abc\"");
        assert_eq!(
            path_segments(r#"manifest.data."nginx.conf".x"#),
            vec!["manifest", "data", "nginx.conf", "x"]
        );
        assert_eq!(path_segments(r#"tags."a\"b""#), vec!["tags", "a\"b"]);
        assert_eq!(path_segments("tags.Name"), vec!["tags", "Name"]);
        assert_eq!(
            path_segments(r#"env[name="a.b"].value"#),
            vec!["env", r#"[name="a.b"]"#, "value"]
        );
        assert_eq!(path_segments("ports[0]"), vec!["ports", "[0]"]);
    }
}
