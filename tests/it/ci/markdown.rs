//! The pull-request comment: snapshots of representative plans, risky changes first, drift in
//! its own section, one `<details>` block per resource.

use plinth::render::{render_plan_markdown, MarkdownOptions};

use super::plans;
use crate::support::Fixture;

fn markdown(plan: &plinth::plan::Plan) -> String {
    render_plan_markdown(plan, &MarkdownOptions::default()).text
}

#[test]
fn hand_made_plans_render_as_snapshots() {
    for (name, plan) in [
        ("markdown_create_only", plans::create_only()),
        ("markdown_mixed_replacement", plans::mixed()),
        ("markdown_drift_only", plans::drift_only()),
        ("markdown_sensitive", plans::sensitive()),
    ] {
        insta::assert_snapshot!(name, markdown(&plan));
    }
}

#[test]
fn risky_changes_come_first_and_drift_has_its_own_section() {
    let text = markdown(&plans::mixed());
    assert!(
        text.starts_with("<!-- plinth-plan: mita/staging -->\n"),
        "{text}"
    );
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from\n{text}"))
    };
    assert!(text.contains("**Plan: 2 to add, 1 to change, 2 to destroy (1 replaced).**"));
    assert!(text.contains("⚠️ 1 with data loss, 1 with downtime."));
    // Data loss before downtime before the ordinary changes before drift.
    assert!(position("<b>aws_rds_instance.primary</b>") < position("<b>aws_lb.public</b>"));
    assert!(position("<b>aws_lb.public</b>") < position("#### Other changes (2)"));
    assert!(position("#### Other changes (2)") < position("#### 🔀 Drift"));
    assert!(text.contains(
        "<b>aws_rds_instance.primary</b> must be replaced — <code>engine_version</code> forces replacement · <b>⚠️ data loss</b>"
    ));
    assert!(text.contains("! engine_version = \"14.9\" -> \"15.5\"   # forces replacement"));
    assert!(text.contains("! master_password = (sensitive, changed)"));
    // Every resource with attributes gets a collapsible block; no-ops are not listed.
    assert_eq!(text.matches("<details>").count(), 5, "{text}");
    assert_eq!(text.matches("</details>").count(), 5, "{text}");
    assert!(!text.contains("aws_s3_bucket.backups"));
    assert!(!text.contains("Shortened"));
}

#[test]
fn values_cannot_break_out_of_the_markup() {
    let mut plan = plans::create_only();
    plan.changes[0].diffs[0].after = plans::known(serde_json::json!(
        "```\n</details><script>alert(1)</script>"
    ));
    plan.changes[0].reason = Some("<b>not bold</b> `code`".to_string());
    let text = markdown(&plan);
    // The value stays inside its code block (where HTML is not interpreted), as a multi-line
    // block now that it holds a newline.
    assert!(
        text.contains(
            "````diff\n+ bucket = <<-EOT\n+     ```\n+     </details><script>alert(1)</script>\n  EOT\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("&lt;b&gt;not bold&lt;/b&gt; <code>code</code>"),
        "{text}"
    );
    // The value holds a triple backtick, so the fence is longer.
    assert!(text.contains("````diff\n"), "{text}");
    assert_eq!(text.matches("\n</details>\n").count(), 2, "{text}");
}

#[test]
fn the_binary_renders_real_plans_as_markdown() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    let create = super::run(&[
        "plan",
        "--format",
        "markdown",
        "--detailed-exitcode",
        &stack,
    ])
    .expect(2);
    insta::with_settings!({filters => super::filters()}, {
        insta::assert_snapshot!("markdown_real_create", create.stdout);
    });
    super::run(&["apply", "--auto-approve", &stack]).expect(0);
    fixture.edit("zone = { default = \"a\" }", "zone = { default = \"b\" }");
    let replace = super::run(&["plan", "--format", "markdown", &stack]).expect(0);
    assert!(
        replace.stdout.contains(
            "<code>-/+</code> <b>sim_resource.db</b> must be replaced — <code>zone</code> forces replacement"
        ),
        "{}",
        replace.stdout
    );
    assert!(
        replace
            .stdout
            .contains("! zone = \"a\" -> \"b\"   # forces replacement"),
        "{}",
        replace.stdout
    );
}
