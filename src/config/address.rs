//! Resource and module addresses: `aws_s3_bucket.logs`, `aws_rds_instance.replica[1]`,
//! `aws_s3_bucket.b["logs"]`, `module.api.aws_rds_instance.primary`,
//! `module.api["eu"].module.cache.aws_elasticache_cluster.main`.
//!
//! The grammar is Terraform's: a module path (`module.NAME` steps, each with an optional
//! instance key), then `TYPE.NAME` with an optional instance key. Keys are whole numbers
//! (from `count`) or double-quoted strings (from `for_each`, `\"` and `\\` escaped). Every
//! value prints back to the text it was parsed from, so plan, state, JSON, `--target` and
//! `state mv` all speak the same strings.

use std::fmt;

/// The key of one instance: `[2]` (from `count`) or `["logs"]` (from `for_each`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    /// `count.index`.
    Index(usize),
    /// `each.key`.
    Key(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Index(i) => write!(f, "[{i}]"),
            InstanceKey::Key(k) => {
                f.write_str("[\"")?;
                for c in k.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"]")
            }
        }
    }
}

/// One `module.NAME` or `module.NAME[KEY]` step of a module path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleStep {
    /// The name of the `[module.NAME]` block.
    pub name: String,
    /// The instance, when the module block has `count` or `for_each`.
    pub key: Option<InstanceKey>,
}

impl fmt::Display for ModuleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module.{}", self.name)?;
        match &self.key {
            Some(key) => write!(f, "{key}"),
            None => Ok(()),
        }
    }
}

/// Where a module instance sits: empty for the root stack.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModulePath(pub Vec<ModuleStep>);

impl ModulePath {
    /// The root stack.
    pub fn root() -> Self {
        ModulePath(Vec::new())
    }

    /// True for the root stack.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// This path extended by one step.
    pub fn child(&self, name: &str, key: Option<InstanceKey>) -> Self {
        let mut steps = self.0.clone();
        steps.push(ModuleStep {
            name: name.to_string(),
            key,
        });
        ModulePath(steps)
    }

    /// Parses `module.a`, `module.a["x"].module.b[0]` (not the empty root).
    pub fn parse(text: &str) -> Option<Self> {
        let steps = steps(text)?;
        let (path, rest) = module_prefix(&steps)?;
        (!path.is_root() && rest.is_empty()).then_some(path)
    }

    /// True when `self` is `other` or inside it (`module.a.module.b` is within `module.a`).
    pub fn is_within(&self, other: &ModulePath) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

/// `[module path.]TYPE.NAME[KEY]`: one resource instance, or (without a key) a whole block.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// The module instance the resource is declared in (empty: the root stack).
    pub module: ModulePath,
    /// Resource type.
    pub type_name: String,
    /// Resource name.
    pub name: String,
    /// Instance key when declared with `count` or `for_each`.
    pub key: Option<InstanceKey>,
}

impl Address {
    /// `type.name` in the root stack, without a key.
    pub fn new(type_name: &str, name: &str) -> Self {
        Address {
            module: ModulePath::root(),
            type_name: type_name.to_string(),
            name: name.to_string(),
            key: None,
        }
    }

    /// The same address with an instance key.
    pub fn with_key(mut self, key: Option<InstanceKey>) -> Self {
        self.key = key;
        self
    }

    /// The same address inside a module instance.
    pub fn in_module(mut self, module: ModulePath) -> Self {
        self.module = module;
        self
    }

    /// Parses `type.name`, `type.name[3]`, `type.name["k"]`, with any `module.x[...]` prefix.
    pub fn parse(text: &str) -> Option<Self> {
        let steps = steps(text)?;
        let (module, rest) = module_prefix(&steps)?;
        match rest {
            [(type_name, None), (name, key)] if type_name != "module" => Some(Address {
                module,
                type_name: type_name.clone(),
                name: name.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// The count index, when the key is one.
    pub fn index(&self) -> Option<usize> {
        match self.key {
            Some(InstanceKey::Index(i)) => Some(i),
            _ => None,
        }
    }

    /// The block this address belongs to (module path and `type.name`, without the key).
    pub fn block(&self) -> String {
        if self.module.is_root() {
            format!("{}.{}", self.type_name, self.name)
        } else {
            format!("{}.{}.{}", self.module, self.type_name, self.name)
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        write!(f, "{}.{}", self.type_name, self.name)?;
        match &self.key {
            Some(key) => write!(f, "{key}"),
            None => Ok(()),
        }
    }
}

/// True when `address` (a printed [`Address`]) is selected by `pattern`, as `--target` and
/// `[[removed]]` read it: the exact instance, every instance of a block (`type.name` selects
/// `type.name[0]`), or everything inside a module (`module.api` selects
/// `module.api.aws_s3_bucket.b` and `module.api["eu"]...` when the module has instances).
pub fn selects(pattern: &str, address: &str) -> bool {
    let Some(rest) = address.strip_prefix(pattern) else {
        return false;
    };
    rest.is_empty() || rest.starts_with('[') || rest.starts_with('.')
}

type Step = (String, Option<InstanceKey>);

/// Splits off the leading `module.NAME[KEY]` pairs.
fn module_prefix(steps: &[Step]) -> Option<(ModulePath, &[Step])> {
    let mut module = Vec::new();
    let mut rest = steps;
    while let [(word, None), (name, key), tail @ ..] = rest {
        if word != "module" {
            break;
        }
        module.push(ModuleStep {
            name: name.clone(),
            key: key.clone(),
        });
        rest = tail;
    }
    if matches!(rest, [(word, _)] if word == "module") {
        return None;
    }
    Some((ModulePath(module), rest))
}

/// `a.b[0].c["x"]` → `[(a, None), (b, 0), (c, "x")]`; None when malformed.
fn steps(text: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                word.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if word.is_empty() {
            return None;
        }
        let key = if chars.peek() == Some(&'[') {
            chars.next();
            let key = if chars.peek() == Some(&'"') {
                chars.next();
                let mut key = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => key.push(chars.next()?),
                        c => key.push(c),
                    }
                }
                InstanceKey::Key(key)
            } else {
                let mut digits = String::new();
                while let Some(c) = chars.next_if(char::is_ascii_digit) {
                    digits.push(c);
                }
                InstanceKey::Index(digits.parse().ok()?)
            };
            if chars.next()? != ']' {
                return None;
            }
            Some(key)
        } else {
            None
        };
        out.push((word, key));
        match chars.next() {
            None => return Some(out),
            Some('.') => continue,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for text in [
            "aws_rds_instance.primary",
            "aws_rds_instance.replica[1]",
            r#"aws_s3_bucket.b["logs"]"#,
            r#"aws_s3_bucket.b["a \"quoted\" key"]"#,
            r#"aws_s3_bucket.b["back\\slash.and.dots[0]"]"#,
            "module.api.aws_rds_instance.primary",
            r#"module.api["eu"].aws_rds_instance.primary"#,
            r#"module.api[2].module.cache["x"].aws_elasticache_cluster.main[0]"#,
        ] {
            let address = Address::parse(text).unwrap_or_else(|| panic!("{text} parses"));
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn address_parts() {
        let a = Address::parse(r#"module.api["eu"].aws_s3_bucket.b["logs"]"#).unwrap();
        assert_eq!(a.type_name, "aws_s3_bucket");
        assert_eq!(a.name, "b");
        assert_eq!(a.key, Some(InstanceKey::Key("logs".into())));
        assert_eq!(
            a.module,
            ModulePath::root().child("api", Some(InstanceKey::Key("eu".into())))
        );
        assert_eq!(a.block(), r#"module.api["eu"].aws_s3_bucket.b"#);
        assert_eq!(a.index(), None);
        let r = Address::parse("aws_rds_instance.replica[1]").unwrap();
        assert_eq!(r.index(), Some(1));
        assert_eq!(r.block(), "aws_rds_instance.replica");
        let built = Address::new("t", "n")
            .with_key(Some(InstanceKey::Index(3)))
            .in_module(ModulePath::root().child("m", None));
        assert_eq!(built.to_string(), "module.m.t.n[3]");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for text in [
            "",
            "nodot",
            "a.b[x]",
            "a.b[-1]",
            "a.b[",
            "a.b[\"open",
            "a.b.c",
            "a[0].b",
            "module.api",
            "module.api.module",
            "module.x.y",
            "a..b",
            "a.b ",
            "a.b[0]x",
        ] {
            assert!(Address::parse(text).is_none(), "{text:?} must not parse");
        }
    }

    #[test]
    fn module_paths() {
        let p = ModulePath::parse(r#"module.api["eu"].module.cache"#).unwrap();
        assert_eq!(p.to_string(), r#"module.api["eu"].module.cache"#);
        assert_eq!(p.0.len(), 2);
        assert!(p.is_within(&ModulePath::parse(r#"module.api["eu"]"#).unwrap()));
        assert!(!p.is_within(&ModulePath::parse("module.api").unwrap()));
        assert!(ModulePath::parse("module.api.aws_s3_bucket.b").is_none());
        assert!(ModulePath::parse("aws_s3_bucket.b").is_none());
        assert!(ModulePath::parse("module").is_none());
    }

    #[test]
    fn selection_by_target() {
        assert!(selects("aws_s3_bucket.b", "aws_s3_bucket.b"));
        assert!(selects("aws_s3_bucket.b", r#"aws_s3_bucket.b["logs"]"#));
        assert!(selects("aws_s3_bucket.b", "aws_s3_bucket.b[0]"));
        assert!(!selects("aws_s3_bucket.b", "aws_s3_bucket.bc"));
        assert!(selects("module.api", "module.api.aws_s3_bucket.b"));
        assert!(selects("module.api", r#"module.api["eu"].aws_s3_bucket.b"#));
        assert!(!selects("module.api", "module.apix.aws_s3_bucket.b"));
        assert!(!selects(
            r#"module.api["eu"]"#,
            r#"module.api["us"].aws_s3_bucket.b"#
        ));
    }
}
