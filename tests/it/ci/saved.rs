//! Saved plans: `apply FILE` executes exactly that plan or refuses — already applied, state
//! moved, interrupted apply at the same serial, other configuration or variables, other
//! stack, other state.

use std::time::{Duration, Instant};

use super::run;
use crate::support::{plinth, Fixture, Run};

struct Saved {
    fixture: Fixture,
    stack: String,
}

impl Saved {
    fn new(case: &str) -> Saved {
        let fixture = Fixture::new(case);
        let stack = fixture.path().to_str().expect("path").to_string();
        Saved { fixture, stack }
    }

    fn file(&self, name: &str) -> String {
        self.fixture
            .path()
            .join(name)
            .to_str()
            .expect("path")
            .to_string()
    }

    fn plan_out(&self, name: &str, extra: &[&str]) -> String {
        let file = self.file(name);
        let mut args = vec!["plan", "--out", &file];
        args.extend_from_slice(extra);
        args.push(&self.stack);
        run(&args).expect(0);
        file
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(extra);
        args.push(&self.stack);
        run(&args)
    }

    fn serial(&self) -> u64 {
        self.fixture.state()["serial"].as_u64().expect("serial")
    }
}

/// Asserts exit code 1 and an error containing `needle` (miette wraps lines: compare the
/// words).
fn refused(run: Run, needle: &str) {
    let run = run.expect(1);
    let words = |text: &str| {
        text.split_whitespace()
            .filter(|w| *w != "│" && *w != "×")
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        words(&run.stderr).contains(&words(needle)),
        "expected {needle:?} in\n{}",
        run.stderr
    );
}

#[test]
fn a_saved_plan_applies_once() {
    let s = Saved::new("engine/lifecycle");
    s.apply(&[]).expect(0);
    s.fixture
        .edit("size = { default = 10 }", "size = { default = 20 }");
    let file = s.plan_out("update.plan", &[]);
    let applied = run(&["apply", &file]).expect(0);
    assert!(
        applied.stdout.contains("0 added, 1 changed, 0 destroyed"),
        "{}",
        applied.stdout
    );
    assert_eq!(s.serial(), 2);
    refused(
        run(&["apply", &file]),
        "stale plan: it was made against state serial 1, the state is now at serial 2",
    );
    assert_eq!(s.serial(), 2);
}

#[test]
fn two_plans_made_against_an_empty_state_apply_only_once_between_them() {
    let s = Saved::new("engine/lifecycle");
    let first = s.plan_out("first.plan", &[]);
    let second = s.plan_out("second.plan", &[]);
    run(&["apply", &first]).expect(0);
    refused(
        run(&["apply", &second]),
        "stale plan: state now exists (serial 1)",
    );
    refused(
        run(&["apply", &first]),
        "stale plan: state now exists (serial 1)",
    );
    let cloud = plinth_builtin::list_cloud(&s.fixture.cloud()).expect("cloud");
    assert_eq!(cloud.len(), 2, "created once: {cloud:?}");
}

#[test]
fn a_saved_plan_is_refused_after_another_apply_moved_the_state() {
    let s = Saved::new("engine/lifecycle");
    s.apply(&[]).expect(0);
    s.fixture
        .edit("size = { default = 10 }", "size = { default = 20 }");
    let file = s.plan_out("update.plan", &[]);
    // Someone else applies a different change in between.
    s.apply(&["--var", "size=30"]).expect(0);
    refused(
        run(&["apply", &file]),
        "stale plan: it was made against state serial 1, the state is now at serial 2",
    );
    let state = s.fixture.state();
    assert_eq!(
        state["resources"]["sim_resource.db"]["attributes"]["size"], 30,
        "the refused plan changed nothing"
    );
    assert_eq!(state["serial"], 2);
}

#[test]
fn a_saved_plan_is_refused_when_the_configuration_or_variables_changed() {
    let s = Saved::new("engine/lifecycle");
    s.apply(&[]).expect(0);
    let file = s.plan_out("vars.plan", &["--var", "size=40"]);
    // The variables are part of the plan file: applying needs no --var.
    let mut with_env = plinth();
    with_env
        .env("PLINTH_TEST_CANARY", super::CANARY)
        .env("PLINTH_VAR_zone", "c")
        .args(["apply", &file]);
    refused(
        Run::from(with_env.output().expect("run")),
        "the configuration differs from the one this plan was made from",
    );
    s.fixture.edit("team = \"core\"", "team = \"platform\"");
    refused(
        run(&["apply", &file]),
        "the configuration differs from the one this plan was made from",
    );
    s.fixture.edit("team = \"platform\"", "team = \"core\"");
    // Arguments that would change what the saved plan does are refused, not ignored.
    refused(
        run(&["apply", "--var", "size=50", &file]),
        "--var and --var-file cannot be given with a plan file",
    );
    refused(
        run(&["apply", "--target", "sim_resource.db", &file]),
        "--target and --replace cannot be given with a plan file",
    );
    refused(
        run(&["apply", "--env", "production", &file]),
        "this plan is for environment `test`, not `production`",
    );
    run(&["apply", "--env", "test", &file]).expect(0);
    assert_eq!(
        s.fixture.state()["resources"]["sim_resource.db"]["attributes"]["size"],
        40
    );
}

#[test]
fn a_saved_plan_is_refused_for_another_stack_or_another_state() {
    let s = Saved::new("engine/lifecycle");
    s.apply(&[]).expect(0);
    s.fixture
        .edit("size = { default = 10 }", "size = { default = 20 }");
    let file = s.plan_out("update.plan", &[]);

    // Another state of the same stack (another lineage), e.g. a re-created state directory.
    let other = Saved::new("engine/lifecycle");
    other.apply(&[]).expect(0);
    let other_state = other.fixture.path().join(".plinth");
    refused(
        run(&[
            "apply",
            "--state-dir",
            other_state.to_str().expect("path"),
            &file,
        ]),
        "state lineage mismatch",
    );

    // The plan file pointed at another stack.
    let slow = Fixture::new("engine/slow");
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("plan file")).expect("json");
    document["stack_dir"] = serde_json::Value::String(slow.path().to_str().expect("p").into());
    let moved = s.file("moved.plan");
    std::fs::write(&moved, serde_json::to_vec(&document).expect("json")).expect("write");
    refused(
        run(&["apply", &moved]),
        "this plan is for stack `lifecycle` environment `test`, not `slow` environment `test`",
    );
    assert!(
        plinth_builtin::list_cloud(&slow.path().join(".plinth/sim-cloud"))
            .map(|c| c.is_empty())
            .unwrap_or(true)
    );

    // The original still applies to its own state.
    run(&["apply", &file]).expect(0);
}

#[test]
fn a_saved_plan_is_refused_after_an_interrupted_apply_at_the_same_serial() {
    let s = Saved::new("engine/slow");
    s.apply(&["--target", "sim_resource.base"]).expect(0);
    assert_eq!(s.serial(), 1);
    let file = s.plan_out("rest.plan", &[]);

    // Another apply starts and is killed mid-way: its journal is in the state, the serial
    // has not moved.
    let mut command = plinth();
    command
        .args(["apply", "--auto-approve", &s.stack])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("spawn");
    let start = Instant::now();
    loop {
        let made = plinth_builtin::list_cloud(&s.fixture.cloud())
            .map(|c| c.len())
            .unwrap_or(0);
        if made >= 14 || start.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let made = plinth_builtin::list_cloud(&s.fixture.cloud())
        .expect("cloud")
        .len();
    assert!(
        (11..40).contains(&made),
        "killed too late or too early: {made}"
    );
    assert_eq!(
        s.serial(),
        1,
        "the serial only moves when an apply completes"
    );

    refused(
        run(&["apply", &file]),
        "stale plan: the state changed since the plan was made, at the same serial",
    );
    assert_eq!(
        plinth_builtin::list_cloud(&s.fixture.cloud())
            .expect("cloud")
            .len(),
        made,
        "the refused plan created nothing"
    );
    // A fresh plan picks up where the interrupted apply stopped.
    s.apply(&[]).expect(0);
    assert_eq!(
        plinth_builtin::list_cloud(&s.fixture.cloud())
            .expect("cloud")
            .len(),
        40
    );
}

#[test]
fn a_saved_plan_is_refused_when_what_it_changes_changed_in_the_cloud_since() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    run(&["apply", "--auto-approve", &stack]).expect(0);
    fixture.edit("size = { default = 10 }", "size = { default = 20 }");
    let file = fixture.path().join("reviewed.plan");
    let file = file.to_str().expect("path").to_string();
    run(&["plan", "--out", &file, &stack]).expect(0);
    // Someone changes the database in the cloud after the review.
    plinth_builtin::tamper(
        &fixture.cloud(),
        "db-test",
        "tags",
        plinth_provider::Value::from_json(&serde_json::json!({"team": "intruder"})),
    )
    .expect("tamper");
    let refused = run(&["apply", &file]).expect(1);
    assert!(
        refused
            .stderr
            .contains("refusing the saved plan: 1 attribute changed outside of Plinth"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("sim_resource.db.tags"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--accept-drift"),
        "{}",
        refused.stderr
    );
    // Accepting the drift applies the reviewed plan.
    run(&["apply", "--accept-drift", &file]).expect(0);
}
