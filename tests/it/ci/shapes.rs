//! Readable diffs (issue 13): each shape — multi-line string, JSON policy, Kubernetes list,
//! big create, replace, dotted keys, secrets inside — as a reviewer reads it, in the text plan
//! and the Markdown comment; the comment fits its budget with thousands of them.

use plinth::render::{
    render_plan, render_plan_markdown, MarkdownOptions, Style, DEFAULT_MAX_CHARS,
};

use super::plans;

#[test]
fn each_shape_reads_as_a_reviewer_expects_in_text() {
    let text = render_plan(&plans::shapes(), Style { color: false });
    insta::assert_snapshot!("shapes_text", text);
}

#[test]
fn each_shape_reads_as_a_reviewer_expects_in_markdown() {
    let text = render_plan_markdown(&plans::shapes(), &MarkdownOptions::default()).text;
    insta::assert_snapshot!("shapes_markdown", text);
}

#[test]
fn the_shapes_hold_what_a_reviewer_needs_and_no_secret() {
    let text = render_plan(&plans::shapes(), Style { color: false });
    // A line diff, not an escaped blob.
    assert!(
        text.contains("          - set -e\n          + set -eu\n"),
        "{text}"
    );
    assert!(!text.contains("\\n"), "{text}");
    // The policy: only the changed key, the rest folded.
    assert!(
        text.contains("Action = \"s3:GetObject\" -> \"s3:*\""),
        "{text}"
    );
    assert!(text.contains("# (4 unchanged keys hidden)"), "{text}");
    // Containers matched by name: the env var that changed, not the whole array.
    assert!(text.contains("value = \"info\" -> \"debug\""), "{text}");
    assert!(text.contains("# (2 unchanged elements hidden)"), "{text}");
    // The big create is capped, saying how much it left out where it cut.
    assert!(text.contains("                      … 14 more\n"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() < 200), "{text}");
    // Dotted keys quoted; secrets masked.
    assert!(
        text.contains("manifest.data.\"nginx.conf\" = <<-EOT"),
        "{text}"
    );
    assert!(text.contains("env.DATABASE_URL"), "{text}");
    assert!(text.contains("(sensitive, changed)"), "{text}");
}

#[test]
fn five_thousand_changes_of_the_new_shapes_fit_the_budget() {
    let shapes = plans::shapes();
    let mut plan = plans::empty();
    for i in 0..5_000 {
        let mut change = shapes.changes[i % shapes.changes.len()].clone();
        change.address = format!("{}[{i}]", change.address);
        plan.changes.push(change);
    }
    let rendered = render_plan_markdown(&plan, &MarkdownOptions::default());
    let chars = rendered.text.chars().count();
    assert_eq!(chars, rendered.chars);
    assert!(chars <= DEFAULT_MAX_CHARS, "{chars} characters");
    assert!(rendered.resources_omitted > 0);
    assert!(rendered
        .text
        .contains("**Shortened to fit 65,536 characters:**"));
    // The diff blocks that are there are whole: every fence closes.
    assert_eq!(
        rendered.text.matches("<details>").count(),
        rendered.text.matches("</details>").count()
    );
}

#[test]
fn a_long_diff_is_cut_inside_its_resource_before_the_resource_loses_its_details() {
    let plan = plans::shapes();
    let full = render_plan_markdown(&plan, &MarkdownOptions::default());
    assert_eq!(full.details_trimmed, 0);
    let options = MarkdownOptions {
        max_chars: full.chars - 200,
        full_plan: None,
    };
    let fitted = render_plan_markdown(&plan, &options);
    assert!(fitted.chars <= options.max_chars, "{}", fitted.chars);
    assert!(fitted.details_trimmed >= 1, "{}", fitted.text);
    assert_eq!(fitted.details_omitted, 0, "{}", fitted.text);
    assert_eq!(fitted.resources_omitted, 0, "{}", fitted.text);
    assert!(
        fitted
            .text
            .contains("more diff line(s) cut to fit; see the full plan"),
        "{}",
        fitted.text
    );
    assert!(
        fitted.text.contains("resource(s) are cut after 12 lines"),
        "{}",
        fitted.text
    );
}
