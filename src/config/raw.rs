//! Stage one: the TOML mirror. Each file is parsed with `toml`'s spanned parser into a small
//! owned tree ([`Node`]) where every key and value knows its file and byte span; entries keep
//! their file order. Lowering (`lower`) turns this tree into the typed [`Stack`](super::Stack).

use std::ops::Range;

use miette::SourceSpan;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostics::{Diagnostics, Problem};
use super::limits::{nesting_over, Limit};
use super::model::Origin;

/// A TOML value with the place it was written.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The value.
    pub value: NodeValue,
    /// Its span (for a `[header]` table: the header).
    pub origin: Origin,
    /// For a string written without escapes: the absolute offset of its first character, so
    /// spans inside the string (interpolations) can be precise.
    pub content_offset: Option<usize>,
}

/// The kinds of TOML values.
#[derive(Clone, Debug)]
pub(crate) enum NodeValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// Dates and times are kept as written.
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
}

/// A table's entries in file order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    pub entries: Vec<Entry>,
}

/// `key = value` (or a `[header]` table under its key).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_origin: Origin,
    pub value: Node,
}

impl Table {
    /// The entry for `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

impl Node {
    /// The table inside, if this is a table.
    pub fn as_table(&self) -> Option<&Table> {
        match &self.value {
            NodeValue::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            NodeValue::String(_) => "string",
            NodeValue::Integer(_) => "integer",
            NodeValue::Float(_) => "float",
            NodeValue::Boolean(_) => "bool",
            NodeValue::Datetime(_) => "date-time",
            NodeValue::Array(_) => "list",
            NodeValue::Table(_) => "table",
        }
    }

    /// The node at a type-check path such as `[1].port` or `.tags.Name` (as far as it goes).
    pub fn find(&self, path: &str) -> &Node {
        let mut node = self;
        let mut rest = path;
        while !rest.is_empty() {
            let next = if let Some(after) = rest.strip_prefix('[') {
                let Some((index, tail)) = after.split_once(']') else {
                    break;
                };
                rest = tail;
                match (&node.value, index.parse::<usize>()) {
                    (NodeValue::Array(items), Ok(i)) => items.get(i),
                    _ => None,
                }
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let (key, tail) = after.split_at(end);
                rest = tail;
                node.as_table().and_then(|t| t.get(key)).map(|e| &e.value)
            } else {
                break;
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }
}

/// An origin in `file` for a byte range.
pub(crate) fn origin(file: usize, range: Range<usize>) -> Origin {
    Origin {
        file,
        span: SourceSpan::from(range.start..range.end.max(range.start)),
    }
}

/// Parses one file into its root table, reporting syntax errors. Returns `None` when the
/// file has a syntax error or is nested deeper than `max_depth` (checked first, so neither the
/// parser nor the lowering recurses deeper than that).
pub(crate) fn parse_file(
    file: usize,
    text: &str,
    max_depth: usize,
    diags: &mut Diagnostics,
) -> Option<Table> {
    if let Some(at) = nesting_over(text, max_depth) {
        diags.push(
            Problem::new(
                "plinth::too_deep",
                format!("values are nested more than {max_depth} levels deep"),
            )
            .at(
                origin(file, at..at + 1),
                format!("level {} starts here", max_depth + 1),
            )
            .help(format!(
                "flatten the arrays, tables or dotted keys; {}",
                Limit::Depth.how_to_raise(max_depth * 2)
            )),
        );
        return None;
    }
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // A mutated file can have hundreds of thousands: build only the ones that are kept.
        let kept = super::diagnostics::MAX_PROBLEMS.saturating_sub(diags.problems().len());
        diags.omit(errors.len().saturating_sub(kept));
        for error in errors.into_iter().take(kept) {
            let range = error.span().unwrap_or(0..0);
            let message = error.message().trim().to_string();
            let message = if message.is_empty() {
                "invalid TOML".to_string()
            } else {
                message
            };
            diags.push(
                Problem::new("plinth::syntax", format!("TOML syntax error: {message}"))
                    .at(origin(file, range), message)
                    .help("fix the TOML syntax (see https://toml.io)"),
            );
        }
        return None;
    }
    let mut ctx = Converter { file, text, diags };
    Some(ctx.table(root.get_ref()))
}

/// Parses a command-line or environment value as a TOML value (`3`, `true`, `["a", "b"]`);
/// `None` when it is not one (the caller then takes the text as a string).
pub(crate) fn parse_value_text(text: &str, max_depth: usize) -> Option<Node> {
    if text.contains('\n') {
        return None;
    }
    let document = format!("v = {text}");
    let mut scratch = Diagnostics::new("", std::sync::Arc::new(super::model::SourceMap::default()));
    let table = parse_file(usize::MAX, &document, max_depth, &mut scratch)?;
    if !scratch.is_empty() || table.entries.len() != 1 {
        return None;
    }
    table.entries.into_iter().next().map(|e| e.value)
}

struct Converter<'a> {
    file: usize,
    text: &'a str,
    diags: &'a mut Diagnostics,
}

impl Converter<'_> {
    fn table(&mut self, table: &DeTable<'_>) -> Table {
        let mut entries: Vec<Entry> = Vec::with_capacity(table.len());
        for (key, value) in table.iter() {
            let key_origin = origin(self.file, key.span());
            if let Some(node) = self.node(value) {
                entries.push(Entry {
                    key: key.get_ref().to_string(),
                    key_origin,
                    value: node,
                });
            }
        }
        entries.sort_by_key(|e| e.key_origin.span.offset());
        Table { entries }
    }

    fn node(&mut self, value: &Spanned<DeValue<'_>>) -> Option<Node> {
        let span = value.span();
        let at = origin(self.file, span.clone());
        let mut content_offset = None;
        let value = match value.get_ref() {
            DeValue::String(s) => {
                content_offset = self.plain_string_offset(span, s);
                NodeValue::String(s.to_string())
            }
            DeValue::Integer(i) => {
                match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) => NodeValue::Integer(n),
                    Err(_) => {
                        self.diags.push(
                        Problem::new("plinth::integer_range", "integer out of range")
                            .at(at, "does not fit in a 64-bit signed integer")
                            .help("use a number between -9223372036854775808 and 9223372036854775807"),
                    );
                        return None;
                    }
                }
            }
            DeValue::Float(f) => {
                let text = f.as_str().replace('_', "");
                NodeValue::Float(text.parse::<f64>().unwrap_or(f64::NAN))
            }
            DeValue::Boolean(b) => NodeValue::Boolean(*b),
            DeValue::Datetime(d) => NodeValue::Datetime(d.to_string()),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    if let Some(node) = self.node(item) {
                        out.push(node);
                    }
                }
                NodeValue::Array(out)
            }
            DeValue::Table(t) => NodeValue::Table(self.table(t)),
        };
        Some(Node {
            value,
            origin: at,
            content_offset,
        })
    }

    /// The offset of a string's first character when its source is the quoted text verbatim.
    fn plain_string_offset(&self, span: Range<usize>, content: &str) -> Option<usize> {
        let raw = self.text.get(span.clone())?;
        for quote in ["\"\"\"", "'''", "\"", "'"] {
            if raw.len() >= 2 * quote.len() && raw.starts_with(quote) && raw.ends_with(quote) {
                let inner = &raw[quote.len()..raw.len() - quote.len()];
                return (inner == content).then_some(span.start + quote.len());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::SourceMap;
    use std::sync::Arc;

    fn parse(text: &str) -> (Option<Table>, Diagnostics) {
        let sources = Arc::new(SourceMap {
            files: vec![("t.toml".into(), Arc::new(text.to_string()))],
        });
        let mut diags = Diagnostics::new("t", sources);
        (parse_file(0, text, 64, &mut diags), diags)
    }

    #[test]
    fn entries_keep_file_order_and_spans() {
        let text = "[zeta]\nb = 1\na = \"x${y}\"\n[alpha]\n";
        let (table, diags) = parse(text);
        assert!(diags.is_empty());
        let table = table.unwrap();
        let keys: Vec<&str> = table.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["zeta", "alpha"]);
        let zeta = table.get("zeta").unwrap().value.as_table().unwrap();
        assert_eq!(zeta.entries[0].key, "b");
        let a = &zeta.get("a").unwrap().value;
        let offset = a.content_offset.unwrap();
        assert_eq!(&text[offset..offset + 5], "x${y}");
    }

    #[test]
    fn escaped_strings_have_no_content_offset() {
        let (table, _) = parse("a = \"x\\ty\"\n");
        assert!(table
            .unwrap()
            .get("a")
            .unwrap()
            .value
            .content_offset
            .is_none());
    }

    #[test]
    fn syntax_errors_are_reported_with_a_span() {
        let (table, diags) = parse("a = \n[b\n");
        assert!(table.is_none());
        assert!(!diags.is_empty());
        assert!(diags.problems()[0].origin().is_some());
    }

    #[test]
    fn command_line_values_parse_as_toml_when_they_can() {
        assert!(matches!(
            parse_value_text("3", 64).unwrap().value,
            NodeValue::Integer(3)
        ));
        assert!(matches!(
            parse_value_text("[1, 2]", 64).unwrap().value,
            NodeValue::Array(_)
        ));
        assert!(parse_value_text("db.t4g.medium", 64).is_none());
        assert!(parse_value_text("1\nx = 2", 64).is_none());
    }

    #[test]
    fn find_descends_type_check_paths() {
        let (table, _) = parse("v = [{ port = 1 }, { port = \"x\" }]\n");
        let table = table.unwrap();
        let v = &table.get("v").unwrap().value;
        assert_eq!(v.find("[1].port").kind_name(), "string");
        assert_eq!(v.find("[7]").kind_name(), "list");
    }
}
