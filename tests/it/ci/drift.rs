//! Drift for a scheduled job: `plinth drift` and `plan --refresh-only` in text, JSON and
//! Markdown, and the documented exit codes (0 none, 2 changes, 3 drift only, 1 error).

use super::run;
use crate::support::Fixture;

#[test]
fn exit_codes_are_the_documented_ones() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    // 2: changes.
    run(&["plan", "--detailed-exitcode", &stack]).expect(2);
    // Without --detailed-exitcode a plan with changes is a success.
    run(&["plan", &stack]).expect(0);
    run(&["apply", "--auto-approve", &stack]).expect(0);
    // 0: nothing to do, nothing drifted.
    run(&["plan", "--detailed-exitcode", &stack]).expect(0);
    run(&["drift", &stack]).expect(0);
    // 3: only drift.
    plinth_builtin::tamper(
        &fixture.cloud(),
        "db-test",
        "tags",
        plinth_provider::Value::from_json(&serde_json::json!({"team": "intruder"})),
    )
    .expect("tamper");
    run(&["plan", "--refresh-only", "--detailed-exitcode", &stack]).expect(3);
    run(&["drift", &stack]).expect(3);
    // 1: an error.
    let missing = fixture.path().join("no-such-stack");
    let error = run(&[
        "plan",
        "--detailed-exitcode",
        missing.to_str().expect("path"),
    ])
    .expect(1);
    assert!(!error.stderr.is_empty());
}

#[test]
fn drift_renders_in_every_format() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    run(&["apply", "--auto-approve", &stack]).expect(0);
    let clean = run(&["drift", "--format", "markdown", &stack]).expect(0);
    assert!(
        clean
            .stdout
            .contains("**No drift.** Nothing changed outside of Plinth."),
        "{}",
        clean.stdout
    );

    plinth_builtin::tamper(
        &fixture.cloud(),
        "db-test",
        "tags",
        plinth_provider::Value::from_json(&serde_json::json!({"team": "intruder"})),
    )
    .expect("tamper");
    let text = run(&["drift", &stack]).expect(3);
    assert!(
        text.stdout.contains("tags.team = \"core\" -> \"intruder\""),
        "{}",
        text.stdout
    );

    let json = run(&["drift", "--format", "json", &stack]).expect(3);
    let document = super::json::assert_valid(&json.stdout);
    assert_eq!(document["mode"], "refresh-only");
    assert_eq!(document["summary"]["drifted"], 1);
    assert_eq!(document["summary"]["has_changes"], false);
    assert_eq!(document["drift"][0]["address"], "sim_resource.db");

    let markdown = run(&["drift", "--format", "markdown", &stack]).expect(3);
    let alias = run(&["plan", "--refresh-only", "--format", "markdown", &stack]).expect(0);
    assert_eq!(markdown.stdout, alias.stdout);
    insta::with_settings!({filters => super::filters()}, {
        insta::assert_snapshot!("drift_real_markdown", markdown.stdout);
    });
}
