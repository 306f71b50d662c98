//! `[[moved]]` and `[[removed]]`: renaming an address without destroying what it describes,
//! and forgetting an object without destroying it. Checked against the stack's blocks when
//! it is loaded: a move goes from an address no longer declared to one that is, between
//! blocks of the same type (a block to a block, an instance to an instance).

use std::collections::BTreeMap;

use foldhash::{HashSet, HashSetExt};

use plinth_provider::Value;

use super::diagnostics::{Diagnostics, Problem};
use super::expr::Scope;
use super::model::{Address, InstanceKey, ModulePath, Moved, Origin, Removed};
use super::raw::{Node, NodeValue};
use super::sections::{known, unknown_key, wrong_type};

/// An address written in a `[[moved]]` or `[[removed]]` table: a resource block or instance
/// (possibly inside a module), or a module call or instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Resource(Address),
    Module(ModulePath),
}

impl Written {
    /// The instance key written last (`[0]`, `["eu"]`), if any.
    fn key(&self) -> Option<&InstanceKey> {
        match self {
            Written::Resource(a) => a.key.as_ref(),
            Written::Module(p) => p.0.last().and_then(|s| s.key.as_ref()),
        }
    }
}

/// Parses `TYPE.NAME`, `TYPE.NAME[N]`, `TYPE.NAME["k"]`, `module.A...TYPE.NAME`, `module.A`,
/// `module.A["k"]`.
pub(crate) fn parse_address(text: &str) -> Option<Written> {
    if let Some(address) = Address::parse(text) {
        return (!address.type_name.starts_with("data")).then_some(Written::Resource(address));
    }
    ModulePath::parse(text).map(Written::Module)
}

/// The declared addresses: every instance (`T.N`, `T.N[i]`), every block of a counted
/// resource (`T.N`), and every module call and instance (`module.A`, `module.A["k"]`).
pub(crate) struct Declared<'a> {
    pub instances: &'a HashSet<String>,
    pub counted_blocks: &'a HashSet<String>,
    pub modules: &'a HashSet<String>,
}

impl Declared<'_> {
    fn has(&self, w: &Written) -> bool {
        match w {
            Written::Resource(a) if a.key.is_some() => self.instances.contains(&a.to_string()),
            Written::Resource(a) => {
                self.instances.contains(&a.block()) || self.counted_blocks.contains(&a.block())
            }
            Written::Module(p) => self.modules.contains(&p.to_string()),
        }
    }

    fn any_of_block(&self, w: &Written) -> bool {
        match w {
            Written::Resource(a) => {
                self.instances.contains(&a.block()) || self.counted_blocks.contains(&a.block())
            }
            Written::Module(p) => {
                let mut call = p.clone();
                if let Some(last) = call.0.last_mut() {
                    last.key = None;
                }
                self.modules.contains(&call.to_string())
            }
        }
    }
}

/// Every module call and instance the resources are declared in: `module.a`, `module.a["x"]`,
/// `module.a["x"].module.b`, ...
pub(crate) fn declared_modules<'a>(
    addresses: impl Iterator<Item = &'a Address>,
) -> HashSet<String> {
    let mut out = HashSet::new();
    for address in addresses {
        let mut path = ModulePath::root();
        for step in &address.module.0 {
            out.insert(path.child(&step.name, None).to_string());
            path = path.child(&step.name, step.key.clone());
            out.insert(path.to_string());
        }
    }
    out
}

fn problem(code: &'static str, message: String, at: Origin, label: &str, help: &str) -> Problem {
    Problem::new(code, message).at(at, label).help(help)
}

/// Reads the fields of one table; `(key → (value, node origin))`.
fn fields(
    node: &Node,
    what: &str,
    valid: &[&str],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Option<BTreeMap<String, (Value, Origin)>> {
    let NodeValue::Table(table) = &node.value else {
        wrong_type(node, &format!("a `[[{what}]]` entry"), "a table", diags);
        return None;
    };
    let mut out = BTreeMap::new();
    for item in &table.entries {
        if !valid.contains(&item.key.as_str()) {
            unknown_key(item, &format!("`[[{what}]]`"), valid, diags);
            continue;
        }
        out.insert(
            item.key.clone(),
            (known(&item.value, scope, diags), item.value.origin),
        );
    }
    Some(out)
}

fn address_field(
    fields: &BTreeMap<String, (Value, Origin)>,
    key: &str,
    what: &str,
    at: Origin,
    diags: &mut Diagnostics,
) -> Option<(Written, String, Origin)> {
    let code = if what == "moved" {
        "plinth::bad_moved"
    } else {
        "plinth::bad_removed"
    };
    match fields.get(key) {
        None => {
            diags.push(problem(
                code,
                format!("`[[{what}]]` lacks `{key}`"),
                at,
                "here",
                "write `from = \"TYPE.NAME\"`",
            ));
            None
        }
        Some((Value::String(text), origin)) => match parse_address(text) {
            Some(w) => Some((w, text.clone(), *origin)),
            None => {
                diags.push(problem(
                    code,
                    format!("`{text}` is not a resource address"),
                    *origin,
                    "expected `TYPE.NAME`, `TYPE.NAME[N]`, `TYPE.NAME[\"KEY\"]` or `module.NAME`",
                    "data sources cannot be moved; a resource in a module is `module.NAME.TYPE.NAME`",
                ));
                None
            }
        },
        Some((Value::Unknown, _)) => None,
        Some((other, origin)) => {
            diags.push(problem(
                code,
                format!("`{key}` must be a resource address"),
                *origin,
                &format!("this is a {}", other.kind_name()),
                "write `TYPE.NAME` or `TYPE.NAME[N]` as a string",
            ));
            None
        }
    }
}

/// Lowers and checks the `[[moved]]` and `[[removed]]` tables.
pub(crate) fn moves(
    moved: &[Node],
    removed: &[Node],
    declared: &Declared<'_>,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> (Vec<Moved>, Vec<Removed>) {
    let mut out_moved: Vec<Moved> = Vec::new();
    let mut sources: BTreeMap<String, Origin> = BTreeMap::new();
    for node in moved {
        let Some(fields) = fields(node, "moved", &["from", "to"], scope, diags) else {
            continue;
        };
        let from = address_field(&fields, "from", "moved", node.origin, diags);
        let to = address_field(&fields, "to", "moved", node.origin, diags);
        let (Some((from, from_text, from_at)), Some((to, to_text, to_at))) = (from, to) else {
            continue;
        };
        let code = "plinth::bad_moved";
        let kinds_differ = match (&from, &to) {
            (Written::Resource(a), Written::Resource(b)) => a.type_name != b.type_name,
            (Written::Module(_), Written::Module(_)) => false,
            _ => {
                diags.push(problem(
                    code,
                    format!("cannot move `{from_text}` to `{to_text}`"),
                    to_at,
                    "a module and a resource",
                    "move a module to a module (`module.a` to `module.b`), or a resource to a resource (`T.A` to `module.b.T.A`)",
                ));
                continue;
            }
        };
        if kinds_differ {
            diags.push(problem(
                code,
                format!("cannot move `{from_text}` to `{to_text}`: a move keeps the type"),
                to_at,
                "another type",
                "a different type is a different object: delete the old block and import the object into the new one",
            ));
            continue;
        }
        if from.key().is_some() != to.key().is_some() {
            diags.push(problem(
                code,
                format!("cannot move `{from_text}` to `{to_text}`"),
                to_at,
                "a block and an instance",
                "move a block to a block (`T.A` to `T.B`, every instance), or an instance to an instance (`T.A[0]` to `T.B[2]`)",
            ));
            continue;
        }
        if declared.has(&from) || (from.key().is_none() && declared.any_of_block(&from)) {
            diags.push(problem(
                code,
                format!("`{from_text}` is still declared in the stack"),
                from_at,
                "still declared",
                "a move renames an address the stack no longer has; delete or rename the old block",
            ));
            continue;
        }
        if !declared.has(&to) {
            diags.push(problem(
                code,
                format!("`{to_text}` is not declared in the stack"),
                to_at,
                "nothing declared here",
                "the new address must be a block (or an instance of a counted block) of the stack",
            ));
            continue;
        }
        if let Some(first) = sources.get(&from_text) {
            diags.push(
                Problem::new(code, format!("`{from_text}` is moved twice"))
                    .at(from_at, "moved again here")
                    .at(*first, "first moved here"),
            );
            continue;
        }
        sources.insert(from_text.clone(), from_at);
        out_moved.push(Moved {
            from: from_text,
            to: to_text,
            origin: node.origin,
        });
    }
    let mut out_removed = Vec::new();
    for node in removed {
        let Some(fields) = fields(node, "removed", &["from", "destroy"], scope, diags) else {
            continue;
        };
        let Some((from, from_text, from_at)) =
            address_field(&fields, "from", "removed", node.origin, diags)
        else {
            continue;
        };
        let destroy = match fields.get("destroy") {
            None => true,
            Some((Value::Bool(b), _)) => *b,
            Some((Value::Unknown, _)) => continue,
            Some((other, origin)) => {
                diags.push(problem(
                    "plinth::bad_removed",
                    "`destroy` must be true or false".to_string(),
                    *origin,
                    &format!("this is a {}", other.kind_name()),
                    "`destroy = false` forgets the object and leaves it in the cloud",
                ));
                continue;
            }
        };
        if declared.has(&from) || (from.key().is_none() && declared.any_of_block(&from)) {
            diags.push(problem(
                "plinth::bad_removed",
                format!("`{from_text}` is still declared in the stack"),
                from_at,
                "still declared",
                "delete its block: `[[removed]]` is for what the stack no longer declares",
            ));
            continue;
        }
        // `destroy = true` (Terraform's default) is what deleting the block does anyway.
        if !destroy {
            out_removed.push(Removed {
                from: from_text,
                origin: node.origin,
            });
        }
    }
    (out_moved, out_removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_blocks_instances_or_modules() {
        assert_eq!(
            parse_address("aws_s3_bucket.logs"),
            Some(Written::Resource(Address::new("aws_s3_bucket", "logs")))
        );
        assert_eq!(
            parse_address("sim_resource.a[2]").unwrap().key(),
            Some(&InstanceKey::Index(2))
        );
        assert_eq!(
            parse_address(r#"sim_resource.a["x"]"#).unwrap().key(),
            Some(&InstanceKey::Key("x".into()))
        );
        assert!(matches!(
            parse_address("module.api.aws_s3_bucket.b"),
            Some(Written::Resource(a)) if a.module.to_string() == "module.api"
        ));
        assert!(matches!(
            parse_address(r#"module.api["eu"]"#),
            Some(Written::Module(p)) if p.0.len() == 1
        ));
        for bad in [
            "aws_s3_bucket",
            "a.b[x]",
            "a.b[1",
            "a.b.c",
            "data.aws_vpc.main",
            "",
        ] {
            assert_eq!(parse_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn declared_modules_lists_calls_and_instances() {
        let a = Address::parse(r#"module.a["x"].module.b.t.n"#).unwrap();
        let mut got: Vec<String> = declared_modules([&a].into_iter()).into_iter().collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                "module.a".to_string(),
                r#"module.a["x"]"#.to_string(),
                r#"module.a["x"].module.b"#.to_string(),
            ]
        );
    }
}
