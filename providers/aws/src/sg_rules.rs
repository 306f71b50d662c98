//! Security group rules as the stack writes them ⇄ as EC2 stores them, and what to change to
//! go from one to the other. Pure: no I/O, unit-tested below.
//!
//! A stack writes a rule as a table `{ protocol, from_port, to_port, cidr_blocks,
//! security_groups, description }`; EC2 keys a rule by protocol, port range and *one* source
//! (a CIDR range or a group id), and keeps the description beside it. Both sides are taken
//! apart into those [`Atom`]s, so a rule written with three CIDR ranges is three EC2 rules,
//! a description change is an in-place description update (never a revoke: no moment without
//! access), and drift shows per rule and per source.

use std::collections::{BTreeMap, BTreeSet};

use plinth_provider::{Object, ProviderError, Value};

/// Where traffic of a rule comes from (ingress) or goes to (egress).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// An IPv4 CIDR range.
    Cidr(String),
    /// Another security group, by id.
    Group(String),
}

/// The identity of one EC2 rule: protocol, port range, one source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    /// First port (0 for all protocols).
    pub from_port: i32,
    /// Last port (0 for all protocols).
    pub to_port: i32,
    /// The peer.
    pub source: Source,
}

/// Atoms with their descriptions (`None`: no description).
pub type Atoms = BTreeMap<Atom, Option<String>>;

/// The changes that take a group's rules of one direction from `live` to `desired`, in the
/// order they are made: first authorize, then describe, then revoke, so a rule that moves
/// (a new port, a new source) never leaves a moment without access.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleChanges {
    /// Rules to add.
    pub authorize: Vec<(Atom, Option<String>)>,
    /// Rules whose description changes.
    pub describe: Vec<(Atom, Option<String>)>,
    /// Rules to remove.
    pub revoke: Vec<(Atom, Option<String>)>,
}

impl RuleChanges {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.authorize.is_empty() && self.describe.is_empty() && self.revoke.is_empty()
    }
}

/// The protocol as EC2 reports it: names for the common numbers, `-1` for all.
pub fn normal_protocol(protocol: &str) -> String {
    match protocol.trim().to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        other => other.into(),
    }
}

fn int_of(rule: &Object, key: &str, at: &str) -> Result<i32, ProviderError> {
    let value = rule.get(key).unwrap_or(&Value::Null);
    let parsed = match value {
        Value::Int(i) => i32::try_from(*i).ok(),
        Value::String(s) => s.trim().parse::<i32>().ok(),
        Value::Null => Some(0),
        _ => None,
    };
    parsed.ok_or_else(|| ProviderError::config(format!("{at}.{key}: expected a port number")))
}

fn strings_of(rule: &Object, key: &str, at: &str) -> Result<Vec<String>, ProviderError> {
    match rule.get(key).unwrap_or(&Value::Null) {
        Value::Null => Ok(Vec::new()),
        Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(ProviderError::config(format!(
                    "{at}.{key}: expected a list of strings"
                ))),
            })
            .collect(),
        _ => Err(ProviderError::config(format!(
            "{at}.{key}: expected a list of strings"
        ))),
    }
}

/// The atoms one rule table stands for. A rule with no source at all is an error (EC2
/// would accept nothing from it and the plan would never converge).
pub fn rule_atoms(rule: &Object, at: &str) -> Result<Vec<(Atom, Option<String>)>, ProviderError> {
    let protocol = normal_protocol(
        &crate::attrs::string(rule, "protocol").unwrap_or_else(|| "tcp".to_string()),
    );
    let (from_port, to_port) = if protocol == "-1" {
        (0, 0)
    } else {
        (int_of(rule, "from_port", at)?, int_of(rule, "to_port", at)?)
    };
    let description = crate::attrs::string(rule, "description").filter(|d| !d.is_empty());
    let mut out = Vec::new();
    let sources = strings_of(rule, "cidr_blocks", at)?
        .into_iter()
        .map(Source::Cidr)
        .chain(
            strings_of(rule, "security_groups", at)?
                .into_iter()
                .map(Source::Group),
        );
    for source in sources {
        out.push((
            Atom {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source,
            },
            description.clone(),
        ));
    }
    if out.is_empty() {
        return Err(ProviderError::config(format!(
            "{at}: a rule needs `cidr_blocks` or `security_groups`"
        )));
    }
    Ok(out)
}

/// The rule tables of an attribute (`ingress` or `egress`), `Null` meaning none.
pub fn rule_tables<'a>(
    value: Option<&'a Value>,
    key: &str,
) -> Result<Vec<&'a Object>, ProviderError> {
    match value.unwrap_or(&Value::Null) {
        Value::Null => Ok(Vec::new()),
        Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Map(m) => Ok(m),
                _ => Err(ProviderError::config(format!(
                    "{key}[{i}]: expected a table"
                ))),
            })
            .collect(),
        _ => Err(ProviderError::config(format!(
            "{key}: expected a list of tables"
        ))),
    }
}

/// Every atom of an attribute's rules (a source written twice counts once, the last
/// description wins).
pub fn desired_atoms(value: Option<&Value>, key: &str) -> Result<Atoms, ProviderError> {
    let mut out = Atoms::new();
    for (i, rule) in rule_tables(value, key)?.into_iter().enumerate() {
        for (atom, description) in rule_atoms(rule, &format!("{key}[{i}]"))? {
            out.insert(atom, description);
        }
    }
    Ok(out)
}

/// What to authorize, re-describe and revoke to take `live` to `desired`.
pub fn changes(desired: &Atoms, live: &Atoms) -> RuleChanges {
    let mut out = RuleChanges::default();
    for (atom, description) in desired {
        match live.get(atom) {
            None => out.authorize.push((atom.clone(), description.clone())),
            Some(have) if have != description => {
                out.describe.push((atom.clone(), description.clone()))
            }
            Some(_) => {}
        }
    }
    for (atom, description) in live {
        if !desired.contains_key(atom) {
            out.revoke.push((atom.clone(), description.clone()));
        }
    }
    out
}

/// How EC2 groups rules for display: protocol, ports, description.
type GroupKey<'a> = (&'a str, i32, i32, Option<&'a str>);

/// The live rules as the attribute value, shaped like `prior` where they agree: a prior rule
/// whose every source is live (with the same description) comes back exactly as written, in
/// its place; one with some sources gone comes back with only the live ones; live rules no
/// prior rule accounts for (added outside Plinth) follow, grouped by protocol, ports and
/// description, sorted. `Null` when there are none and `prior` had none.
pub fn live_value(live: &Atoms, prior: Option<&Value>) -> Value {
    let mut unclaimed: BTreeSet<&Atom> = live.keys().collect();
    let mut out = Vec::new();
    if let Ok(tables) = rule_tables(prior, "") {
        for (i, rule) in tables.into_iter().enumerate() {
            let Ok(atoms) = rule_atoms(rule, &format!("[{i}]")) else {
                continue;
            };
            let present: Vec<&(Atom, Option<String>)> = atoms
                .iter()
                .filter(|(a, d)| live.get(a) == Some(d))
                .collect();
            for (atom, _) in &present {
                unclaimed.remove(atom);
            }
            if present.len() == atoms.len() {
                out.push(Value::Map(rule.clone()));
            } else if !present.is_empty() {
                let mut kept = rule.clone();
                let keep = |key: &str, wanted: &dyn Fn(&Source) -> Option<String>| {
                    let list: Vec<Value> = present
                        .iter()
                        .filter_map(|(a, _)| wanted(&a.source))
                        .map(Value::String)
                        .collect();
                    (key.to_string(), list)
                };
                for (key, list) in [
                    keep("cidr_blocks", &|s| match s {
                        Source::Cidr(c) => Some(c.clone()),
                        Source::Group(_) => None,
                    }),
                    keep("security_groups", &|s| match s {
                        Source::Group(g) => Some(g.clone()),
                        Source::Cidr(_) => None,
                    }),
                ] {
                    if kept.contains_key(&key) || !list.is_empty() {
                        kept.insert(key, Value::List(list));
                    }
                }
                out.push(Value::Map(kept));
            }
        }
    }
    // What no prior rule claims, grouped as EC2 groups it.
    let mut groups: BTreeMap<GroupKey<'_>, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for atom in unclaimed {
        let description = live[atom].as_deref();
        let entry = groups
            .entry((&atom.protocol, atom.from_port, atom.to_port, description))
            .or_default();
        match &atom.source {
            Source::Cidr(c) => entry.0.push(c.clone()),
            Source::Group(g) => entry.1.push(g.clone()),
        }
    }
    for ((protocol, from, to, description), (cidrs, groups)) in groups {
        let mut rule = Object::new();
        rule.insert("protocol".into(), Value::string(protocol));
        rule.insert("from_port".into(), Value::Int(from.into()));
        rule.insert("to_port".into(), Value::Int(to.into()));
        if !cidrs.is_empty() {
            rule.insert(
                "cidr_blocks".into(),
                Value::List(cidrs.into_iter().map(Value::String).collect()),
            );
        }
        if !groups.is_empty() {
            rule.insert(
                "security_groups".into(),
                Value::List(groups.into_iter().map(Value::String).collect()),
            );
        }
        if let Some(d) = description {
            rule.insert("description".into(), Value::string(d));
        }
        out.push(Value::Map(rule));
    }
    if out.is_empty() && prior.is_none_or(Value::is_null) {
        Value::Null
    } else {
        Value::List(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::string(*s)).collect())
    }

    fn atom(protocol: &str, from: i32, to: i32, source: Source) -> Atom {
        Atom {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            source,
        }
    }

    fn postgres_from_app() -> Value {
        Value::List(vec![rule(vec![
            ("protocol", Value::string("tcp")),
            ("from_port", Value::Int(5432)),
            ("to_port", Value::string("5432")),
            ("security_groups", strs(&["sg-app"])),
            ("cidr_blocks", strs(&["10.0.0.0/16", "10.1.0.0/16"])),
            ("description", Value::string("PostgreSQL from the app")),
        ])])
    }

    #[test]
    fn a_rule_with_three_sources_is_three_atoms_and_all_means_every_port() {
        let atoms = desired_atoms(Some(&postgres_from_app()), "ingress").unwrap();
        assert_eq!(atoms.len(), 3);
        assert!(atoms.contains_key(&atom("tcp", 5432, 5432, Source::Group("sg-app".into()))));
        let all = Value::List(vec![rule(vec![
            ("protocol", Value::string("all")),
            ("from_port", Value::Int(22)),
            ("to_port", Value::Int(80)),
            ("cidr_blocks", strs(&["0.0.0.0/0"])),
        ])]);
        let atoms = desired_atoms(Some(&all), "egress").unwrap();
        assert_eq!(
            atoms.keys().next().unwrap(),
            &atom("-1", 0, 0, Source::Cidr("0.0.0.0/0".into()))
        );
    }

    #[test]
    fn a_rule_without_a_source_or_with_a_bad_port_is_refused() {
        let none = Value::List(vec![rule(vec![
            ("from_port", Value::Int(1)),
            ("to_port", Value::Int(1)),
        ])]);
        let err = desired_atoms(Some(&none), "ingress").unwrap_err();
        assert!(err.message.contains("ingress[0]"), "{}", err.message);
        let bad = Value::List(vec![rule(vec![
            ("from_port", Value::string("http")),
            ("to_port", Value::Int(1)),
            ("cidr_blocks", strs(&["0.0.0.0/0"])),
        ])]);
        let err = desired_atoms(Some(&bad), "ingress").unwrap_err();
        assert!(
            err.message.contains("ingress[0].from_port"),
            "{}",
            err.message
        );
    }

    #[test]
    fn changes_authorize_before_revoke_and_describe_in_place() {
        let desired = desired_atoms(Some(&postgres_from_app()), "ingress").unwrap();
        let mut live = Atoms::new();
        live.insert(
            atom("tcp", 5432, 5432, Source::Group("sg-app".into())),
            Some("old words".into()),
        );
        live.insert(atom("tcp", 22, 22, Source::Cidr("0.0.0.0/0".into())), None);
        let c = changes(&desired, &live);
        assert_eq!(c.authorize.len(), 2);
        assert_eq!(
            c.describe,
            vec![(
                atom("tcp", 5432, 5432, Source::Group("sg-app".into())),
                Some("PostgreSQL from the app".into())
            )]
        );
        assert_eq!(c.revoke.len(), 1);
        assert_eq!(c.revoke[0].0.from_port, 22);
        assert!(changes(&desired, &desired).is_empty());
    }

    #[test]
    fn live_rules_keep_the_written_shape_and_show_drift_per_source() {
        let prior = postgres_from_app();
        let mut live = desired_atoms(Some(&prior), "ingress").unwrap();
        // Same rules: the written value comes back verbatim (no diff on "5432" vs 5432).
        assert_eq!(live_value(&live, Some(&prior)), prior);
        // One CIDR revoked and an SSH rule added outside Plinth.
        live.remove(&atom("tcp", 5432, 5432, Source::Cidr("10.1.0.0/16".into())));
        live.insert(
            atom("tcp", 22, 22, Source::Cidr("0.0.0.0/0".into())),
            Some("debug".into()),
        );
        let Value::List(rules) = live_value(&live, Some(&prior)) else {
            panic!("a list")
        };
        assert_eq!(rules.len(), 2);
        let Value::Map(first) = &rules[0] else {
            panic!("a table")
        };
        assert_eq!(first["cidr_blocks"], strs(&["10.0.0.0/16"]));
        assert_eq!(first["security_groups"], strs(&["sg-app"]));
        assert_eq!(
            rules[1],
            rule(vec![
                ("protocol", Value::string("tcp")),
                ("from_port", Value::Int(22)),
                ("to_port", Value::Int(22)),
                ("cidr_blocks", strs(&["0.0.0.0/0"])),
                ("description", Value::string("debug")),
            ])
        );
        // Nothing live and nothing written: null, so an unset attribute shows no drift.
        assert_eq!(live_value(&Atoms::new(), None), Value::Null);
        assert_eq!(
            live_value(&Atoms::new(), Some(&Value::List(vec![]))),
            Value::List(vec![])
        );
    }

    #[test]
    fn a_changed_description_is_not_the_written_rule() {
        let prior = postgres_from_app();
        let live: Atoms = desired_atoms(Some(&prior), "ingress")
            .unwrap()
            .into_keys()
            .map(|a| (a, Some("typed in the console".to_string())))
            .collect();
        let Value::List(rules) = live_value(&live, Some(&prior)) else {
            panic!("a list")
        };
        assert_eq!(rules.len(), 1);
        let Value::Map(r) = &rules[0] else { panic!() };
        assert_eq!(r["description"], Value::string("typed in the console"));
    }
}
