//! Instantiation: a lowered expression becomes the [`Expr`] of one instance, with its
//! `count.index`, `each.key` and `each.value` filled in and its references made final; and the
//! way back for module inputs and outputs (an [`Expr`] spliced into another body as a lowered
//! one), and what an expression is known to be at load (for type checks).

use std::collections::BTreeMap;

use plinth_provider::Value;

use super::diagnostics::{Diagnostics, Problem};
use super::expr::{to_text, Lowered, Piece};
use super::model::{Expr, Part};
use super::references::{reference, Instance};

/// Produces the expression of one instance (its `count.index` or `each.key` and `each.value`).
pub(crate) fn instantiate(lowered: &Lowered, instance: &Instance, diags: &mut Diagnostics) -> Expr {
    match lowered {
        Lowered::Value(v) => Expr::Literal(v.clone()),
        Lowered::Single(Piece::Text(t)) => Expr::Literal(Value::String(t.clone())),
        Lowered::Single(Piece::CountIndex) => {
            Expr::Literal(Value::Int(instance.count_index().unwrap_or(0) as i64))
        }
        Lowered::Single(Piece::EachKey) => Expr::Literal(Value::String(
            instance.each_key().unwrap_or_default().to_string(),
        )),
        Lowered::Single(Piece::EachValue(path)) => Expr::Literal(each_value(instance, path)),
        Lowered::Single(Piece::Ref(r)) => reference(r, instance, diags)
            .map(Expr::Ref)
            .unwrap_or(Expr::Literal(Value::Unknown)),
        Lowered::Single(Piece::Resolved(r)) => Expr::Ref(r.clone()),
        Lowered::Single(Piece::Secret(s)) => Expr::Secret(s.clone()),
        Lowered::Template(pieces) => {
            let mut parts: Vec<Part> = Vec::new();
            for piece in pieces {
                let part = match piece {
                    Piece::Text(t) => Part::Text(t.clone()),
                    Piece::CountIndex => {
                        Part::Text(instance.count_index().unwrap_or(0).to_string())
                    }
                    Piece::EachKey => {
                        Part::Text(instance.each_key().unwrap_or_default().to_string())
                    }
                    Piece::EachValue(path) => match to_text(&each_value(instance, path)) {
                        Some(text) => Part::Text(text),
                        None => return Expr::Literal(Value::Unknown),
                    },
                    Piece::Secret(s) => Part::Secret(s.clone()),
                    Piece::Resolved(r) => Part::Ref(r.clone()),
                    Piece::Ref(r) => match reference(r, instance, diags) {
                        Some(r) => Part::Ref(r),
                        None => return Expr::Literal(Value::Unknown),
                    },
                };
                match (parts.last_mut(), part) {
                    (Some(Part::Text(prev)), Part::Text(next)) => prev.push_str(&next),
                    (_, part) => parts.push(part),
                }
            }
            match parts.as_slice() {
                [] => Expr::Literal(Value::String(String::new())),
                [Part::Text(t)] => Expr::Literal(Value::String(t.clone())),
                _ => Expr::Template(parts),
            }
        }
        Lowered::List(items) => {
            let items: Vec<Expr> = items
                .iter()
                .map(|l| instantiate(l, instance, diags))
                .collect();
            if items.iter().all(|e| matches!(e, Expr::Literal(_))) {
                Expr::Literal(Value::List(items.into_iter().map(literal).collect()))
            } else {
                Expr::List(items)
            }
        }
        Lowered::ByInstance {
            call,
            choices,
            origin,
        } => match instance.key.as_ref().and_then(|key| choices.get(key)) {
            Some(chosen) => instantiate(chosen, instance, diags),
            None => {
                let key = instance
                    .key
                    .as_ref()
                    .map(|k| k.to_string())
                    .unwrap_or_default();
                diags.push(
                    Problem::new(
                        "plinth::index_out_of_range",
                        format!("`{call}` has no instance `{key}`"),
                    )
                    .at(*origin, format!("this block's instance is `{key}`"))
                    .help("give the block and the module call the same `count` or `for_each`"),
                );
                Expr::Literal(Value::Unknown)
            }
        },
        Lowered::Map(map) => {
            let map: BTreeMap<String, Expr> = map
                .iter()
                .map(|(k, l)| (k.clone(), instantiate(l, instance, diags)))
                .collect();
            if map.values().all(|e| matches!(e, Expr::Literal(_))) {
                Expr::Literal(Value::Map(
                    map.into_iter().map(|(k, e)| (k, literal(e))).collect(),
                ))
            } else {
                Expr::Map(map)
            }
        }
    }
}

/// `each.value` of an instance, down `path` (null when a key is missing: checked at lowering).
fn each_value(instance: &Instance, path: &[String]) -> Value {
    let mut value = instance.value.clone().unwrap_or(Value::Null);
    for key in path {
        value = match value {
            Value::Map(mut map) => map.remove(key).unwrap_or(Value::Null),
            _ => Value::Null,
        };
    }
    value
}

/// An expression as a lowered one (module inputs and outputs are final expressions).
pub(crate) fn from_expr(expr: &Expr) -> Lowered {
    match expr {
        Expr::Literal(v) => Lowered::Value(v.clone()),
        Expr::Ref(r) => Lowered::Single(Piece::Resolved(r.clone())),
        Expr::Secret(s) => Lowered::Single(Piece::Secret(s.clone())),
        Expr::Template(parts) => Lowered::Template(
            parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => Piece::Text(t.clone()),
                    Part::Ref(r) => Piece::Resolved(r.clone()),
                    Part::Secret(s) => Piece::Secret(s.clone()),
                })
                .collect(),
        ),
        Expr::List(items) => Lowered::List(items.iter().map(from_expr).collect()),
        Expr::Map(map) => {
            Lowered::Map(map.iter().map(|(k, e)| (k.clone(), from_expr(e))).collect())
        }
    }
}

fn literal(expr: Expr) -> Value {
    match expr {
        Expr::Literal(v) => v,
        _ => Value::Unknown,
    }
}

/// The value an expression is known to have at load time, for type checks: references and
/// secrets are unknown.
pub(crate) fn check_view(expr: &Expr) -> Value {
    match expr {
        Expr::Literal(v) => v.clone(),
        Expr::Template(_) | Expr::Ref(_) | Expr::Secret(_) => Value::Unknown,
        Expr::List(items) => Value::List(items.iter().map(check_view).collect()),
        Expr::Map(map) => Value::Map(
            map.iter()
                .map(|(k, e)| (k.clone(), check_view(e)))
                .collect(),
        ),
    }
}
