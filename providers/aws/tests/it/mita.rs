//! The README's MITA stack example applied for real against moto: every resource created in
//! dependency order (references resolved by a tiny stand-in for the engine), refreshed in
//! batches with no drift, then destroyed in reverse order.

use std::collections::BTreeMap;

use plinth_provider::{Object, ReadItem, Value};

use crate::support::*;

/// Types in dependency order (the engine's graph does this for real).
const ORDER: [&str; 10] = [
    "aws_rds_subnet_group",
    "aws_rds_parameter_group",
    "aws_rds_instance",
    "aws_elasticache_subnet_group",
    "aws_elasticache_replication_group",
    "aws_lb",
    "aws_lb_target_group",
    "aws_lb_listener",
    "aws_lb_listener_rule",
    "aws_s3_bucket",
];

fn from_toml(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::string(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Array(items) => Value::List(items.iter().map(from_toml).collect()),
        toml::Value::Table(t) => {
            Value::Map(t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect())
        }
        toml::Value::Datetime(d) => Value::string(d.to_string()),
    }
}

struct Scope<'a> {
    variables: &'a BTreeMap<String, Value>,
    created: &'a BTreeMap<String, Object>,
    index: Option<i64>,
}

impl Scope<'_> {
    fn lookup(&self, expr: &str) -> Value {
        if expr == "count.index" {
            return Value::Int(self.index.expect("count.index outside count"));
        }
        if let Some(v) = self.variables.get(expr) {
            return v.clone();
        }
        let (address, attribute) = expr.rsplit_once('.').expect("reference");
        self.created
            .get(address)
            .and_then(|o| o.get(attribute))
            .cloned()
            .unwrap_or_else(|| panic!("unresolved `{expr}`"))
    }

    fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::String(s)
                if s.starts_with("${") && s.ends_with('}') && s.matches("${").count() == 1 =>
            {
                self.lookup(&s[2..s.len() - 1])
            }
            Value::String(s) => {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}').expect("closing brace") + start;
                    let v = self.lookup(&rest[start + 2..end]);
                    out.push_str(
                        &v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    );
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Value::String(out)
            }
            Value::List(items) => Value::List(items.iter().map(|v| self.resolve(v)).collect()),
            Value::Map(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[tokio::test]
async fn readme_mita_stack_applies_refreshes_and_destroys() {
    let env = Env::new().await;
    let network = env.network();
    let certificate = moto().import_certificate(&env.account, REGION, "mita.finance");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = &readme[readme.find("# stacks/mita/data.toml").unwrap()..];
    let doc: toml::Table = block[..block.find("```").unwrap()].parse().unwrap();

    let mut variables = BTreeMap::new();
    variables.insert("env".to_string(), s(&format!("p{}", env.account.id)));
    variables.insert("var.db_class".to_string(), s("db.r6g.large"));
    variables.insert("var.replica_count".to_string(), Value::Int(2));
    variables.insert("var.vpc_id".to_string(), s(&network.vpc_id));
    variables.insert(
        "var.private_subnet_ids".to_string(),
        strings(&network.subnet_ids),
    );
    variables.insert(
        "var.public_subnet_ids".to_string(),
        strings(&network.subnet_ids),
    );
    variables.insert(
        "var.security_group_ids".to_string(),
        list(&[&network.security_group_id]),
    );
    variables.insert("var.certificate_arn".to_string(), s(&certificate));
    variables.insert(
        "secret.db_password".to_string(),
        s("a-generated-db-password-32-chars!").sensitive(),
    );
    variables.insert(
        "secret.redis_auth_token".to_string(),
        s("a-generated-redis-token-32-chars").sensitive(),
    );

    let rec = Recorder::default();
    let cx = ctx(&rec);
    let mut created: BTreeMap<String, Object> = BTreeMap::new();
    // (type, address, id, desired)
    let mut applied: Vec<(String, String, String, Object)> = Vec::new();
    for type_name in ORDER {
        let resource = env.resource(type_name);
        let Some(table) = doc.get(type_name).and_then(|t| t.as_table()) else {
            continue;
        };
        for (name, body) in table {
            let body = from_toml(body);
            let body = body.as_map().unwrap();
            let count = {
                let scope = Scope {
                    variables: &variables,
                    created: &created,
                    index: None,
                };
                body.get("count")
                    .map(|c| scope.resolve(c).as_i64().unwrap())
            };
            for index in 0..count.unwrap_or(1) {
                let scope = Scope {
                    variables: &variables,
                    created: &created,
                    index: count.map(|_| index),
                };
                let desired: Object = body
                    .iter()
                    .filter(|(k, _)| !["count", "lifecycle", "depends_on"].contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), scope.resolve(v)))
                    .collect();
                let address = match count {
                    Some(_) => format!("{type_name}.{name}[{index}]"),
                    None => format!("{type_name}.{name}"),
                };
                let made = resource
                    .create(&cx, &desired)
                    .await
                    .unwrap_or_else(|e| panic!("{address}: {e}"));
                assert_inputs(&desired, &made.attributes);
                created.insert(format!("{type_name}.{name}"), made.attributes.clone());
                created.insert(address.clone(), made.attributes);
                applied.push((type_name.to_string(), address, made.id, desired));
            }
        }
    }
    assert_eq!(
        applied.len(),
        14,
        "{:?}",
        applied.iter().map(|a| &a.1).collect::<Vec<_>>()
    );

    // Refresh every type in one batch: nothing drifted.
    for type_name in ORDER {
        let mine: Vec<&(String, String, String, Object)> =
            applied.iter().filter(|a| a.0 == type_name).collect();
        let items: Vec<ReadItem<'_>> = mine
            .iter()
            .map(|a| ReadItem {
                id: &a.2,
                prior: &created[&a.1],
            })
            .collect();
        let live = env
            .resource(type_name)
            .read_many(&cx, &items)
            .await
            .unwrap();
        for (a, got) in mine.iter().zip(live) {
            let got = got.unwrap_or_else(|| panic!("{} is gone", a.1));
            assert_inputs(&a.3, &got);
        }
    }

    // Destroy in reverse order (deletion protection lifted first, as a user would).
    for (type_name, address, id, desired) in applied.iter().rev() {
        let resource = env.resource(type_name);
        let mut prior = created[address].clone();
        if prior.get("deletion_protection") == Some(&Value::Bool(true)) {
            let (off, changed) = with(desired, vec![("deletion_protection", Value::Bool(false))]);
            prior = resource
                .update(&cx, id, &prior, &off, &changed)
                .await
                .unwrap();
        }
        resource
            .delete(&cx, id, &prior)
            .await
            .unwrap_or_else(|e| panic!("deleting {address}: {e}"));
        assert!(
            resource.read(&cx, id, &prior).await.unwrap().is_none(),
            "{address} still there"
        );
    }
}
