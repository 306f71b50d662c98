//! The `${...}` syntax inside strings: splitting a string into text and interpolations, and
//! parsing what is inside one (`var.x`, `secret.x`, `env`, `stack`, `count.index`,
//! `type.name[.i].attr.key`). `$${` is a literal `${`.

/// A piece of a string.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Segment {
    /// Literal text (escapes already removed).
    Text(String),
    /// `${inner}`; `start..end` is the byte range of the whole `${...}` in the string.
    Interpolation {
        inner: String,
        start: usize,
        end: usize,
    },
}

/// A syntax error inside a string: byte range in the string and a message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SyntaxError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// Splits a string into text and `${...}` interpolations.
pub(crate) fn split(s: &str) -> Result<Vec<Segment>, SyntaxError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("$${") {
            text.push_str("${");
            i += 3;
        } else if rest.starts_with("${") {
            let Some(close) = closing_brace(rest) else {
                return Err(SyntaxError {
                    start: i,
                    end: s.len(),
                    message: "unclosed `${`".to_string(),
                });
            };
            if !text.is_empty() {
                out.push(Segment::Text(std::mem::take(&mut text)));
            }
            let inner = rest[2..close].trim().to_string();
            out.push(Segment::Interpolation {
                inner,
                start: i,
                end: i + close + 1,
            });
            i += close + 1;
        } else {
            let ch = rest.chars().next().unwrap_or('\0');
            text.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    if !text.is_empty() {
        out.push(Segment::Text(text));
    }
    Ok(out)
}

/// The byte offset of the `}` closing the `${` at the start of `s`; a reference may hold
/// `${var.NAME}` for part of its address (`${aws_rds_instance.${var.database}.endpoint}`).
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if bytes[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Replaces each `${var.NAME}` inside a reference with the variable's value, which must be a
/// name (or `name[N]`): `aws_rds_instance.${var.database}.endpoint` with `database =
/// "restore[0]"` is `aws_rds_instance.restore[0].endpoint`.
pub(crate) fn substitute_names(
    inner: &str,
    value_of: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let close = tail
            .find('}')
            .ok_or_else(|| "unclosed `${` inside a reference".to_string())?;
        let nested = tail[..close].trim();
        let name = nested
            .strip_prefix("var.")
            .filter(|n| is_identifier(n))
            .ok_or_else(|| {
                format!("only `${{var.NAME}}` can be used inside a reference, not `${{{nested}}}`")
            })?;
        let value = value_of(name).ok_or_else(|| format!("unknown variable `{name}`"))?;
        let (base, index) = match value.split_once('[') {
            Some((base, index)) => (base, Some(index)),
            None => (value.as_str(), None),
        };
        let index_ok = index.is_none_or(|i| {
            i.strip_suffix(']')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if !is_identifier(base) || !index_ok {
            return Err(format!(
                "`var.{name}` is `{value}`, which is not a name (or `name[N]`) to put in a reference"
            ));
        }
        out.push_str(&value);
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An index written in a reference: `[2]`, `[count.index]`, `["logs"]` or `[each.key]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum IndexSpec {
    Literal(usize),
    CountIndex,
    /// `["logs"]`: an instance of a block with `for_each`.
    Key(String),
    /// `[each.key]`: the instance of the same key.
    EachKey,
}

/// What an interpolation refers to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Target {
    Var(String),
    Secret(String),
    Env,
    Stack,
    CountIndex,
    /// `file("PATH")`: the text of a file of the stack directory.
    File(String),
    /// `each.key`.
    EachKey,
    /// `each.value` and the keys after it (`each.value.name`).
    EachValue(Vec<String>),
    /// `module.NAME[KEY].OUTPUT.key`: an output of a module instance.
    Module {
        name: String,
        index: Option<IndexSpec>,
        output: String,
        path: Vec<String>,
    },
    Resource {
        type_name: String,
        name: String,
        index: Option<IndexSpec>,
        path: Vec<String>,
    },
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses the inside of `${...}`.
pub(crate) fn parse_target(inner: &str) -> Result<Target, String> {
    let usage = "expected `var.NAME`, `secret.NAME`, `env`, `stack`, `count.index` or \
                 `TYPE.NAME.ATTRIBUTE`";
    if inner.is_empty() {
        return Err(format!("empty interpolation; {usage}"));
    }
    if let Some(argument) = inner
        .strip_prefix("file(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let argument = argument.trim();
        let path = argument
            .strip_prefix('"')
            .and_then(|a| a.strip_suffix('"'))
            .or_else(|| {
                argument
                    .strip_prefix('\'')
                    .and_then(|a| a.strip_suffix('\''))
            });
        return match path {
            Some(path) if !path.is_empty() => Ok(Target::File(path.to_string())),
            _ => Err(
                "write `file(\"PATH\")` with a quoted path relative to the stack directory".into(),
            ),
        };
    }
    match inner {
        "env" => return Ok(Target::Env),
        "stack" => return Ok(Target::Stack),
        "count.index" => return Ok(Target::CountIndex),
        _ => {}
    }
    // An index may hold dots (`[count.index]`, `["a.b"]`): each one gets a stand-in first.
    let (normalized, indexes) = stand_ins(inner)?;
    let mut parts = normalized.split('.');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    match first {
        "var" | "secret" => {
            let [name] = rest.as_slice() else {
                return Err(format!("expected `{first}.NAME`"));
            };
            if !is_identifier(name) {
                return Err(format!("`{name}` is not a valid {first} name"));
            }
            return Ok(if first == "var" {
                Target::Var(name.to_string())
            } else {
                Target::Secret(name.to_string())
            });
        }
        "count" => return Err("the only attribute of `count` is `count.index`".to_string()),
        "each" => {
            return match rest.as_slice() {
                ["key"] => Ok(Target::EachKey),
                ["value", path @ ..] if path.iter().all(|p| is_identifier(p)) => Ok(
                    Target::EachValue(path.iter().map(|p| p.to_string()).collect()),
                ),
                _ => Err("write `each.key`, `each.value` or `each.value.KEY`".to_string()),
            }
        }
        _ => {}
    }
    // `data.TYPE.NAME.ATTRIBUTE`: the data source's schema is named `data.TYPE`.
    let (type_name, rest) = if first == "data" {
        match rest.split_first() {
            Some((source, tail)) if is_identifier(source) && tail.len() >= 2 => {
                (format!("data.{source}"), tail.to_vec())
            }
            _ => {
                return Err(format!(
                "cannot understand `{inner}`; a data source is read as `data.TYPE.NAME.ATTRIBUTE`"
            ))
            }
        }
    } else {
        (first.to_string(), rest)
    };
    if !is_identifier(first) || rest.is_empty() {
        return Err(format!("cannot understand `{inner}`; {usage}"));
    }
    let (name, index) = match rest[0].split_once('[') {
        Some((name, idx)) => {
            let Some(slot) = idx
                .strip_suffix(']')
                .and_then(|i| i.strip_prefix('#'))
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| indexes.get(i))
            else {
                return Err(format!("cannot understand the index in `{inner}`"));
            };
            (name, Some(index_spec(slot)?))
        }
        None => (rest[0], None),
    };
    if !is_identifier(name) {
        return Err(format!("`{name}` is not a valid resource name"));
    }
    let path: Vec<String> = rest[1..].iter().map(|s| s.to_string()).collect();
    if type_name == "module" {
        let Some((output, path)) = path.split_first() else {
            return Err(format!(
                "`{inner}` names a module but no output; write `{inner}.OUTPUT`"
            ));
        };
        if let Some(bad) = path.iter().chain([output]).find(|p| !is_identifier(p)) {
            return Err(format!("`{bad}` is not a valid output name in `{inner}`"));
        }
        return Ok(Target::Module {
            name: name.to_string(),
            index,
            output: output.clone(),
            path: path.to_vec(),
        });
    }
    if path.is_empty() {
        return Err(format!(
            "`{inner}` names a resource but no attribute; write `{inner}.ATTRIBUTE` (e.g. `.id`)"
        ));
    }
    if let Some(bad) = path.iter().find(|p| !is_identifier(p)) {
        return Err(format!(
            "`{bad}` is not a valid attribute name in `{inner}`"
        ));
    }
    Ok(Target::Resource {
        type_name,
        name: name.to_string(),
        index,
        path,
    })
}

/// `inner` with each `[...]` replaced by `[#N]`, and the texts inside the brackets.
fn stand_ins(inner: &str) -> Result<(String, Vec<String>), String> {
    let mut out = String::with_capacity(inner.len());
    let mut indexes = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '[' {
            out.push(c);
            continue;
        }
        let mut index = String::new();
        let mut quoted = false;
        loop {
            let Some(c) = chars.next() else {
                return Err(format!("unclosed `[` in `{inner}`"));
            };
            match c {
                '\\' if quoted => {
                    index.push(c);
                    index.push(chars.next().unwrap_or('\\'));
                }
                '"' => {
                    quoted = !quoted;
                    index.push(c);
                }
                ']' if !quoted => break,
                c => index.push(c),
            }
        }
        out.push_str(&format!("[#{}]", indexes.len()));
        indexes.push(index);
    }
    Ok((out, indexes))
}

/// The text inside `[...]` of a reference.
fn index_spec(text: &str) -> Result<IndexSpec, String> {
    let text = text.trim();
    match text {
        "count.index" => return Ok(IndexSpec::CountIndex),
        "each.key" => return Ok(IndexSpec::EachKey),
        "*" => {
            return Err(
                "`[*]` makes a list of every instance: use it as the whole value (`\"${TYPE.NAME[*].ATTR}\"`), not inside a longer string".to_string(),
            )
        }
        _ => {}
    }
    if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        let mut key = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => key.push(chars.next().unwrap_or('\\')),
                c => key.push(c),
            }
        }
        return Ok(IndexSpec::Key(key));
    }
    text.parse::<usize>().map(IndexSpec::Literal).map_err(|_| {
        format!("index `{text}` must be a whole number, `count.index`, a quoted key such as `[\"logs\"]` or `each.key`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_interpolations() {
        let segments = split("a-${ var.x }-$${literal}").unwrap();
        assert_eq!(
            segments,
            vec![
                Segment::Text("a-".into()),
                Segment::Interpolation {
                    inner: "var.x".into(),
                    start: 2,
                    end: 12
                },
                Segment::Text("-${literal}".into()),
            ]
        );
        assert!(split("oops ${var.x").is_err());
        assert_eq!(split("").unwrap(), vec![]);
    }

    #[test]
    fn references_may_take_part_of_their_address_from_a_variable() {
        let segments = split("${aws_rds_instance.${var.db}.endpoint}:5432").unwrap();
        let Segment::Interpolation { inner, start, end } = &segments[0] else {
            panic!("{segments:?}")
        };
        assert_eq!(inner, "aws_rds_instance.${var.db}.endpoint");
        assert_eq!((*start, *end), (0, 38));
        let vars = |value: &'static str| move |n: &str| (n == "db").then(|| value.to_string());
        assert_eq!(
            substitute_names(inner, vars("restore[0]")).unwrap(),
            "aws_rds_instance.restore[0].endpoint"
        );
        assert_eq!(
            substitute_names(inner, vars("primary")).unwrap(),
            "aws_rds_instance.primary.endpoint"
        );
        assert!(substitute_names(inner, vars("a.b")).is_err());
        assert!(substitute_names(inner, vars("x[y]")).is_err());
        assert!(substitute_names("a.${secret.x}.b", vars("p")).is_err());
        assert!(substitute_names("a.${var.other}.b", vars("p")).is_err());
        assert!(split("${a.${var.b}").is_err());
    }

    #[test]
    fn parses_targets() {
        assert_eq!(
            parse_target("var.db_class").unwrap(),
            Target::Var("db_class".into())
        );
        assert_eq!(
            parse_target("secret.jwt").unwrap(),
            Target::Secret("jwt".into())
        );
        assert_eq!(parse_target("env").unwrap(), Target::Env);
        assert_eq!(parse_target("count.index").unwrap(), Target::CountIndex);
        assert_eq!(
            parse_target("aws_rds_instance.replica[1].endpoint").unwrap(),
            Target::Resource {
                type_name: "aws_rds_instance".into(),
                name: "replica".into(),
                index: Some(IndexSpec::Literal(1)),
                path: vec!["endpoint".into()],
            }
        );
        assert_eq!(
            parse_target("sim_resource.a[count.index].tags.Name").unwrap(),
            Target::Resource {
                type_name: "sim_resource".into(),
                name: "a".into(),
                index: Some(IndexSpec::CountIndex),
                path: vec!["tags".into(), "Name".into()],
            }
        );
    }

    #[test]
    fn parses_data_source_references() {
        assert_eq!(
            parse_target("data.aws_subnets.private.ids").unwrap(),
            Target::Resource {
                type_name: "data.aws_subnets".into(),
                name: "private".into(),
                index: None,
                path: vec!["ids".into()],
            }
        );
    }

    #[test]
    fn rejects_malformed_targets() {
        assert!(parse_target("").is_err());
        assert!(parse_target("var").is_err());
        assert!(parse_target("var.a.b").is_err());
        assert!(parse_target("count.x").is_err());
        assert!(parse_target("aws_x.y")
            .unwrap_err()
            .contains("no attribute"));
        assert!(parse_target("aws_x.y[z].id").is_err());
        assert!(parse_target("data.aws_vpc.main").is_err());
        assert!(parse_target("data.aws_vpc").is_err());
        assert!(parse_target("just words").is_err());
    }
}
