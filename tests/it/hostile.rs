//! Issue 16: hostile input gives diagnostics through the real binary, never a crash
//! (exit 134 from an allocation failure, 101 from a panic).

use crate::support::{plinth, Fixture, Run};

fn validate(fixture: &Fixture, extra: &[&str]) -> Run {
    let mut args = vec!["validate"];
    args.extend_from_slice(extra);
    fixture.run(&args)
}

fn assert_no_crash(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("memory allocation"),
        "{}",
        run.stderr
    );
}

/// Regression: `count = 2147483648` allocated 34 GB in `lower_block` and aborted (134).
#[test]
fn a_huge_count_is_a_diagnostic_not_an_abort() {
    let fixture = Fixture::new("fuzz-regressions/count-2147483648");
    let run = validate(&fixture, &[]).expect(1);
    assert_no_crash(&run);
    assert!(
        run.stderr.contains("plinth::count_too_large"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`count = 2147483648` is more than the limit of 10000"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("stack.toml:12:9"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--max-count 2147483648")
            && run.stderr.contains("PLINTH_MAX_COUNT=2147483648"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_count_limit_can_be_raised_by_flag_or_environment() {
    let fixture = Fixture::new("fuzz-regressions/count-2147483648");
    fixture.edit("count = 2147483648", "count = 10001");
    fixture.edit(
        "plinth_data.greeting.output",
        "plinth_data.greeting[0].output",
    );
    validate(&fixture, &[]).expect(1);
    validate(&fixture, &["--max-count", "20000"]).expect(0);
    let mut command = plinth();
    command
        .args(["validate"])
        .arg(fixture.path())
        .env("PLINTH_MAX_COUNT", "10001");
    Run::from(command.output().expect("run plinth")).expect(0);
}

#[test]
fn the_resource_limit_names_the_block_and_the_flag() {
    let fixture = Fixture::new("fuzz-regressions/count-2147483648");
    fixture.edit("count = 2147483648", "count = 3");
    fixture.edit(
        "plinth_data.greeting.output",
        "plinth_data.greeting[0].output",
    );
    let run = validate(&fixture, &["--max-resources", "3"]).expect(1);
    assert!(
        run.stderr.contains("plinth::too_many_resources"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the stack has 4 resource instances, more than the limit of 3"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--max-resources 4"), "{}", run.stderr);
    validate(&fixture, &["--max-resources", "4"]).expect(0);
}

/// Regression (found by scripts/fuzz-binary.py): 40 blocks of `count = 5000` are a valid stack
/// of 200 000 resources, which the old default limit (250 000) let through to a plan of 2 GB
/// and 10 s. The default is the benchmark's 100 000.
#[test]
fn two_hundred_thousand_resources_need_a_deliberate_limit() {
    let fixture = Fixture::new("fuzz-regressions/two-hundred-thousand-resources");
    let run = validate(&fixture, &[]).expect(1);
    assert!(
        run.stderr.contains("more than the limit of 100000"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--max-resources"), "{}", run.stderr);
}

/// Regression: a label past column 65 535 made miette's graphical handler panic
/// (`Formatting argument out of range`, exit 101); with a long `--env` value too.
#[test]
fn a_diagnostic_on_a_very_long_line_is_printed() {
    let fixture = Fixture::new("fuzz-regressions/label-past-column-65535");
    let run = validate(&fixture, &[]).expect(1);
    assert_no_crash(&run);
    assert!(
        run.stderr
            .contains("error[plinth::unknown_variable]: unknown variable `nope`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("/stack.toml:12:70010"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.len() < 5_000, "{} bytes", run.stderr.len());

    let env = "e".repeat(70_000);
    let run = validate(&fixture, &["--env", &env]).expect(1);
    assert_no_crash(&run);
    assert!(
        run.stderr.contains("plinth::unknown_environment"),
        "{}",
        run.stderr
    );
}

/// Regression (found by scripts/fuzz-binary.py against the release binary): `validate` without
/// `--env` printed each environment's report through miette's own handler, which panicked
/// (`Formatting argument out of range`) on a long line; it now uses the same panic-proof
/// renderer as every other command.
#[test]
fn validate_of_every_environment_prints_a_diagnostic_it_cannot_draw() {
    let fixture = Fixture::new("fuzz-regressions/validate-text-long-line-related");
    let run = validate(&fixture, &[]).expect(1);
    assert_no_crash(&run);
    assert!(!run.stderr.contains("internal error"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("In environment `staging`, `production`:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error[plinth::syntax]"),
        "{}",
        run.stderr
    );
}

#[test]
fn deep_nesting_and_oversized_files_are_diagnostics() {
    let fixture = Fixture::new("fuzz-regressions/count-2147483648");
    let depth = 100_000;
    fixture.edit(
        "count = 2147483648",
        &format!("tags = {}1{}", "[".repeat(depth), "]".repeat(depth)),
    );
    let run = validate(&fixture, &[]).expect(1);
    assert_no_crash(&run);
    assert!(run.stderr.contains("plinth::too_deep"), "{}", run.stderr);
    assert!(
        run.stderr.contains("nested more than 64 levels deep"),
        "{}",
        run.stderr
    );

    let run = validate(&fixture, &["--max-file-size", "1KiB"]).expect(1);
    assert!(
        run.stderr.contains("plinth::file_too_large"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--max-file-size"), "{}", run.stderr);
}

#[test]
fn a_string_built_from_a_long_variable_many_times_is_refused() {
    let fixture = Fixture::new("fuzz-regressions/count-2147483648");
    fixture.edit("count = 2147483648\n", "");
    fixture.edit(
        "\"${var.greeting} from ${env}\"",
        &format!("\"{}\"", "${var.greeting}".repeat(20_000)),
    );
    let long = "x".repeat(100_000);
    let run = validate(&fixture, &["--var", &format!("greeting={long}")]).expect(1);
    assert_no_crash(&run);
    assert!(
        run.stderr.contains("plinth::expansion_too_large"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("PLINTH_MAX_EXPANSION"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_panic_is_a_short_internal_error_with_exit_code_1() {
    let fixture = Fixture::new("fuzz-regressions/count-2147483648");
    let mut command = plinth();
    command
        .args(["validate"])
        .arg(fixture.path())
        .env("PLINTH_PANIC_FOR_TESTS", "1")
        .env_remove("RUST_BACKTRACE");
    let run = Run::from(command.output().expect("run plinth")).expect(1);
    assert!(
        run.stderr.starts_with(
            "error: internal error: PLINTH_PANIC_FOR_TESTS is set (while running `plinth validate`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("this is a bug in Plinth"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("stack backtrace"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked at"), "{}", run.stderr);
}

/// Regression (the project's fuzzer): 5,000 counted copies of a 66 KiB name are 330 MiB of
/// values by length, within the old budget, and the plan peaked at 2.2 GB in 15 s. Charged
/// as the plan holds them, they are refused before anything is built; fewer copies plan.
#[test]
fn many_counted_copies_of_a_long_value_are_refused_as_the_plan_would_hold_them() {
    let fixture = Fixture::new("fuzz-regressions/a-66k-name-in-5000-counted-creates");
    let run = fixture.run(&["plan", "--env", "test"]).expect(1);
    assert_no_crash(&run);
    // The message as one line (the report wraps it and draws a margin).
    let text = run
        .stderr
        .split_whitespace()
        .filter(|word| *word != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("plinth::expansion_too_large")
            && text.contains("would hold about 1.3 GiB in the plan (5000 instances of 68.5 KiB, each held 4 times)")
            && text.contains("PLINTH_MAX_EXPANSION=1339MiB"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("stack.toml:6:1"), "{}", run.stderr);
    fixture.edit("count = 5000", "count = 50");
    let run = fixture.run(&["plan", "--env", "test"]).expect(0);
    assert!(run.stdout.contains("50 to add"), "{}", run.stdout);
}
