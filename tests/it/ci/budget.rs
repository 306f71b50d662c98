//! The comment always fits its budget, shortens deterministically (details first, then
//! lines), and says exactly what it left out and where the full plan is.

use plinth::render::{render_plan_markdown, MarkdownOptions, DEFAULT_MAX_CHARS};

use super::plans;
use crate::support::Fixture;

fn options(max_chars: usize) -> MarkdownOptions {
    MarkdownOptions {
        max_chars,
        full_plan: None,
    }
}

#[test]
fn five_thousand_changes_fit_the_default_budget_and_name_the_cut() {
    let plan = plans::large(5_000);
    let rendered = render_plan_markdown(&plan, &MarkdownOptions::default());
    let chars = rendered.text.chars().count();
    eprintln!(
        "5,000 changes: {chars} characters ({} bytes), details left out for {}, {} resources not listed",
        rendered.text.len(),
        rendered.details_omitted,
        rendered.resources_omitted
    );
    assert_eq!(chars, rendered.chars);
    assert!(chars <= DEFAULT_MAX_CHARS, "{chars} characters");
    // Close to the budget: it used the room it had.
    assert!(chars > DEFAULT_MAX_CHARS - 200, "{chars} characters");
    assert!(rendered.resources_omitted > 0);
    let text = &rendered.text;
    assert!(text.contains("**Plan: 5000 to add, 0 to change, 50 to destroy (50 replaced).**"));
    let note = format!(
        "**Shortened to fit 65,536 characters:** the attribute details of {} resource(s) are left out (one line each instead); {} resource(s) are not listed ({} change(s), 0 drifted). The full plan is in the workflow artifact `plan.json`.",
        rendered.details_omitted, rendered.resources_omitted, rendered.resources_omitted
    );
    assert!(text.contains(&note), "{}", &text[text.len() - 600..]);
    assert!(
        text.contains(&format!(
            "- … and {} more changes not listed",
            rendered.resources_omitted
        )),
        "{}",
        &text[text.len() - 1500..]
    );
    // All 50 risky replacements are still listed, ahead of the rest.
    assert_eq!(text.matches("<b>⚠️ data loss</b>").count(), 50);
    assert!(text.find("aws_rds_instance.db[4900]") < text.find("sim_resource.worker[1]"));
    // Deterministic.
    assert_eq!(
        render_plan_markdown(&plan, &MarkdownOptions::default()),
        rendered
    );
}

#[test]
fn the_binary_fits_a_real_five_thousand_resource_plan() {
    let fixture = Fixture::new("ci/many");
    let stack = fixture.path().to_str().expect("path").to_string();
    let run = super::run(&[
        "plan",
        "--format",
        "markdown",
        "--detailed-exitcode",
        &stack,
    ])
    .expect(2);
    let chars = run.stdout.chars().count();
    eprintln!(
        "binary, 5,000 creates: {chars} characters ({} bytes)",
        run.stdout.len()
    );
    assert!(chars <= DEFAULT_MAX_CHARS, "{chars}");
    assert!(run
        .stdout
        .contains("**Plan: 5000 to add, 0 to change, 0 to destroy.**"));
    assert!(run.stdout.contains("more changes not listed"));
    assert!(run
        .stdout
        .contains("The full plan is in the workflow artifact `plan.json`."));
    // The JSON has them all.
    let json = super::run(&["plan", "--format", "json", &stack]).expect(0);
    let document = super::json::assert_valid(&json.stdout);
    assert_eq!(
        document["resource_changes"].as_array().map(Vec::len),
        Some(5000)
    );
}

#[test]
fn details_go_first_then_lines_and_risky_changes_last() {
    let plan = plans::large(40);
    let full = render_plan_markdown(&plan, &options(1_000_000));
    assert_eq!(full.details_omitted, 0);
    assert_eq!(full.resources_omitted, 0);
    assert_eq!(full.text.matches("<details>").count(), 40);

    // A little less room: the ordinary changes lose their details from the end; the risky
    // ones keep theirs.
    let some = render_plan_markdown(&plan, &options(full.chars - 500));
    assert!(some.chars <= full.chars - 500);
    assert!(some.details_omitted > 0 && some.resources_omitted == 0);
    assert!(some
        .text
        .contains("<details><summary><code>-/+</code> <b>aws_rds_instance.db[0]</b>"));
    assert!(some
        .text
        .contains("- <code>+</code> <b>sim_resource.worker[39]</b> will be created\n"));
    assert!(some
        .text
        .contains("<details><summary><code>+</code> <b>sim_resource.worker[1]</b>"));

    // Much less: no details at all, then lines dropped, still naming the risky ones.
    let tight = render_plan_markdown(&plan, &options(2_500));
    assert!(tight.chars <= 2_500, "{}", tight.chars);
    assert_eq!(tight.details_omitted + tight.resources_omitted, 40);
    assert!(
        tight.text.contains("<b>aws_rds_instance.db[0]</b>"),
        "{}",
        tight.text
    );
    assert!(!tight.text.contains("<details>"));
    insta::assert_snapshot!("budget_tight_2500", tight.text);
}

#[test]
fn characters_are_counted_not_bytes() {
    let mut plan = plans::large(300);
    for change in &mut plan.changes {
        change.diffs[0].after = plans::known(serde_json::json!("数据库-データベース-🚀".repeat(4)));
    }
    let rendered = render_plan_markdown(&plan, &options(20_000));
    assert!(rendered.text.chars().count() <= 20_000);
    // Measured in bytes it would be over: bytes are not what the limit counts.
    assert!(rendered.text.len() > 20_000, "{}", rendered.text.len());
}

#[test]
fn a_budget_smaller_than_the_headings_still_fits() {
    let plan = plans::large(5_000);
    for max in [1_000, 1_500, 4_000] {
        let rendered = render_plan_markdown(&plan, &options(max));
        assert!(rendered.chars <= max, "{} > {max}", rendered.chars);
        assert_eq!(rendered.text.chars().count(), rendered.chars);
    }
}

#[test]
fn the_binary_honours_max_chars_and_the_full_plan_pointer() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    let run = super::run(&[
        "plan",
        "--format",
        "markdown",
        "--max-chars",
        "1000",
        "--full-plan-url",
        "https://github.com/acme/infra/actions/runs/42",
        &stack,
    ])
    .expect(0);
    assert!(run.stdout.chars().count() <= 1000, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("The full plan is at https://github.com/acme/infra/actions/runs/42."),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("**Shortened to fit 1,000 characters:**"));
    insta::with_settings!({filters => super::filters()}, {
        insta::assert_snapshot!("budget_binary_1000", run.stdout);
    });
    // Below the floor: refused by the argument parser, with exit code 1 (a usage error must
    // not exit 2, which means "changes present" to `--detailed-exitcode` readers).
    let refused =
        super::run(&["plan", "--format", "markdown", "--max-chars", "10", &stack]).expect(1);
    assert!(refused.stderr.contains("--max-chars"), "{}", refused.stderr);
    // The help names the other hosts' limits.
    let help = super::run(&["plan", "--help"]).expect(0);
    for host in ["GitHub 65,536", "GitLab", "Bitbucket", "Azure DevOps"] {
        assert!(help.stdout.contains(host), "{host} missing from help");
    }
}
