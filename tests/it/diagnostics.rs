//! Snapshots of the rendered diagnostics for malformed stacks in
//! `tests/fixtures/diagnostics/<case>/` (loaded for the `production` environment).

use std::collections::BTreeMap;
use std::path::Path;

use plinth::config::{load_with_env, Diagnostics, LoadOptions};
use plinth_provider::{Attribute, Schema, ValueType};

/// Small schemas shaped like the built-in `plinth_data` and the simulated `sim_resource`.
fn schemas() -> BTreeMap<String, Schema> {
    let data = Schema::new("plinth_data")
        .attribute(Attribute::optional("input", ValueType::Any))
        .attribute(Attribute::computed("output", ValueType::Any))
        .attribute(Attribute::optional("triggers_replace", ValueType::Any).force_new());
    let sim = Schema::new("sim_resource")
        .attribute(Attribute::required("name", ValueType::String).force_new())
        .attribute(Attribute::optional("size", ValueType::Int))
        .attribute(Attribute::optional("tags", ValueType::string_map()))
        .attribute(Attribute::computed("id", ValueType::String))
        .attribute(Attribute::computed("arn", ValueType::String));
    [data, sim]
        .into_iter()
        .map(|s| (s.type_name.clone(), s))
        .collect()
}

fn load_fixture(case: &str) -> Diagnostics {
    let dir = Path::new("tests/fixtures/diagnostics").join(case);
    let options = LoadOptions {
        environment: Some("production".into()),
        ..LoadOptions::default()
    };
    match load_with_env(&dir, &options, &schemas(), &|_| None) {
        Ok(stack) => panic!("fixture `{case}` loaded without errors: {:?}", stack.name),
        Err(diags) => diags,
    }
}

fn check(case: &str, expected_codes: &[&str]) {
    let diags = load_fixture(case);
    let codes: Vec<&str> = diags.problems().iter().map(|p| p.code()).collect();
    assert_eq!(
        codes,
        expected_codes,
        "{case}:\n{}",
        diags.render_plain(100)
    );
    insta::assert_snapshot!(case, diags.render_plain(100));
}

#[test]
fn syntax_error() {
    check("syntax_error", &["plinth::syntax"]);
}

#[test]
fn unknown_type() {
    check("unknown_type", &["plinth::unknown_type"]);
}

#[test]
fn unknown_attribute() {
    check("unknown_attribute", &["plinth::unknown_attribute"]);
}

#[test]
fn wrong_type() {
    check("wrong_type", &["plinth::wrong_type", "plinth::wrong_type"]);
}

#[test]
fn unknown_reference() {
    check(
        "unknown_reference",
        &["plinth::unknown_reference", "plinth::unknown_reference"],
    );
}

#[test]
fn bad_count() {
    check("bad_count", &["plinth::bad_count", "plinth::bad_count"]);
}

#[test]
fn missing_variable_for_an_environment() {
    check("missing_variable", &["plinth::missing_variable"]);
}

#[test]
fn counted_resource_without_index() {
    check("counted_without_index", &["plinth::missing_index"]);
}

#[test]
fn unknown_secret() {
    check("unknown_secret", &["plinth::unknown_secret"]);
}

#[test]
fn duplicate_definition_across_files() {
    check("duplicate_definition", &["plinth::duplicate_definition"]);
}

#[test]
fn several_errors_at_once() {
    check(
        "several_errors",
        &[
            "plinth::unknown_variable",
            "plinth::unknown_attribute",
            "plinth::computed_attribute",
            "plinth::unknown_reference",
            "plinth::missing_attribute",
            "plinth::wrong_type",
            "plinth::unknown_attribute",
            "plinth::bad_timeout",
        ],
    );
}

/// Cycles are found by the graph, after loading: the minimal cycle is printed as a path and
/// each hop points at the reference that makes it.
#[test]
fn cycle() {
    let dir = Path::new("tests/fixtures/diagnostics/cycle");
    let options = LoadOptions {
        environment: Some("production".into()),
        ..LoadOptions::default()
    };
    let stack =
        load_with_env(dir, &options, &schemas(), &|_| None).expect("the cycle fixture loads");
    let error = match plinth::graph::DependencyGraph::build(&stack) {
        Ok(_) => panic!("a cycle was not detected"),
        Err(error) => error,
    };
    assert_eq!(
        error.path(),
        "sim_resource.a → sim_resource.c → sim_resource.b → sim_resource.a"
    );
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut rendered, error.as_ref())
        .expect("render");
    insta::assert_snapshot!("cycle", rendered);
}
