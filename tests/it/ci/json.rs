//! The public plan JSON: snapshots, and every document validated against
//! `docs/plan.schema.json`.

use plinth::render::render_plan_json;
use serde_json::Value;

use super::plans;
use crate::support::Fixture;

fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/plan.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(path).expect("schema file")).expect("schema json");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// Asserts `text` is plan JSON that the schema accepts; returns it parsed.
pub fn assert_valid(text: &str) -> Value {
    let document: Value = serde_json::from_str(text).expect("plan JSON parses");
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:#?}\n{text}");
    document
}

#[test]
fn hand_made_plans_match_the_schema_and_snapshots() {
    for (name, plan) in [
        ("json_create_only", plans::create_only()),
        ("json_mixed_replacement", plans::mixed()),
        ("json_drift_only", plans::drift_only()),
        ("json_sensitive", plans::sensitive()),
    ] {
        let text = render_plan_json(&plan);
        assert_valid(&text);
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn the_mixed_plan_carries_risk_forcing_attribute_and_counts() {
    let document = assert_valid(&render_plan_json(&plans::mixed()));
    assert_eq!(document["format_version"], 2);
    let summary = &document["summary"];
    assert_eq!(summary["add"], 2);
    assert_eq!(summary["change"], 1);
    assert_eq!(summary["destroy"], 2);
    assert_eq!(summary["replace"], 1);
    assert_eq!(summary["no_op"], 1);
    assert_eq!(summary["data_loss"], 1);
    assert_eq!(summary["downtime"], 1);
    assert_eq!(summary["drifted"], 1);
    let db = document["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "aws_rds_instance.primary")
        .expect("db change");
    assert_eq!(db["action"], "replace");
    assert_eq!(db["risk"], "data-loss");
    assert_eq!(db["forced_by"], serde_json::json!(["engine_version"]));
    assert_eq!(db["attribute_diffs"][0]["forces_replacement"], true);
    assert_eq!(
        db["attribute_diffs"][1]["after"],
        serde_json::json!({"kind": "sensitive"})
    );
    assert_eq!(
        db["attribute_diffs"][2]["after"],
        serde_json::json!({"kind": "unknown"})
    );
}

#[test]
fn the_schema_rejects_the_engine_serialisation_and_wrong_values() {
    // The engine's own Plan (with `prior` records, omitted keys) is not the public format.
    let raw = serde_json::to_value(plans::mixed()).expect("raw plan");
    assert!(!schema().is_valid(&raw));
    let mut document: Value =
        serde_json::from_str(&render_plan_json(&plans::mixed())).expect("json");
    document["resource_changes"][1]["risk"] = Value::String("catastrophe".into());
    assert!(!schema().is_valid(&document));
    let mut document: Value =
        serde_json::from_str(&render_plan_json(&plans::mixed())).expect("json");
    document["resource_changes"][1]["attribute_diffs"][1]["after"] =
        serde_json::json!({"kind": "sensitive", "value": "leak"});
    assert!(!schema().is_valid(&document));
}

#[test]
fn real_plans_from_the_binary_match_the_schema() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    let create = super::run(&["plan", "--format", "json", "--detailed-exitcode", &stack]).expect(2);
    let document = assert_valid(&create.stdout);
    assert_eq!(document["mode"], "apply");
    assert_eq!(document["summary"]["add"], 3);
    assert_eq!(document["state"]["serial"], Value::Null);

    super::run(&["apply", "--auto-approve", &stack]).expect(0);
    fixture.edit("zone = { default = \"a\" }", "zone = { default = \"b\" }");
    let plan_file = fixture.path().join("replace.plan");
    let plan_file = plan_file.to_str().expect("path");
    let replace = super::run(&["plan", "--format", "json", "--out", plan_file, &stack]).expect(0);
    let document = assert_valid(&replace.stdout);
    let db = document["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "sim_resource.db")
        .expect("db");
    assert_eq!(db["action"], "replace");
    assert_eq!(db["forced_by"], serde_json::json!(["zone"]));
    assert_eq!(document["state"]["serial"], 1);
    insta::with_settings!({filters => super::filters()}, {
        insta::assert_snapshot!("json_real_replacement", replace.stdout);
    });

    // `show FILE --format json` prints the same document from the saved plan.
    let shown = super::run(&["show", "--format", "json", plan_file]).expect(0);
    assert_eq!(shown.stdout, replace.stdout);
}
