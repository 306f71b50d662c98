//! create → no-op → update → replace → delete through the real binary and sim_resource.

use crate::support::Fixture;

const CANARY: &str = "canary-5ec7e7-do-not-print";

fn run(fixture: &Fixture, args: &[&str]) -> crate::support::Run {
    let mut command = crate::support::plinth();
    command
        .env("PLINTH_TEST_CANARY", CANARY)
        .args(args)
        .arg(fixture.path());
    crate::support::Run::from(command.output().expect("run plinth"))
}

fn assert_no_canary(fixture: &Fixture, texts: &[&str]) {
    for text in texts {
        assert!(!text.contains(CANARY), "secret leaked into output:\n{text}");
    }
    for entry in walk(fixture.path()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "secret leaked into {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn create_noop_update_replace_delete() {
    let fixture = Fixture::new("engine/lifecycle");

    // Plan from empty state: everything is created; detailed exit code 2.
    let plan = run(&fixture, &["plan", "--detailed-exitcode"]).expect(2);
    insta::assert_snapshot!("lifecycle_create_plan", plan.stdout);

    let apply = run(&fixture, &["apply", "--auto-approve"]).expect(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );
    let state = fixture.state();
    assert_eq!(state["serial"], 1);
    assert_eq!(state["resources"].as_object().map(|r| r.len()), Some(3));

    // Immediately after: no changes.
    let noop = run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);
    assert!(noop.stdout.contains("No changes."), "{}", noop.stdout);

    // In-place update.
    fixture.edit("size = { default = 10 }", "size = { default = 20 }");
    let update = run(&fixture, &["plan", "--detailed-exitcode"]).expect(2);
    insta::assert_snapshot!("lifecycle_update_plan", update.stdout);
    run(&fixture, &["apply", "--auto-approve"]).expect(0);

    // A force-new attribute: replacement naming the attribute.
    fixture.edit("zone = { default = \"a\" }", "zone = { default = \"b\" }");
    let replace = run(&fixture, &["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        replace
            .stdout
            .contains("sim_resource.db must be replaced (`zone` forces replacement)"),
        "{}",
        replace.stdout
    );
    assert!(
        replace.stdout.contains("# forces replacement"),
        "{}",
        replace.stdout
    );
    let applied = run(&fixture, &["apply", "--auto-approve"]).expect(0);
    assert!(
        applied.stdout.contains("1 added, 1 changed, 1 destroyed"),
        "{}",
        applied.stdout
    );
    let cloud = plinth_builtin::list_cloud(&fixture.cloud()).expect("cloud");
    assert_eq!(cloud.len(), 2, "old db must be gone: {cloud:?}");

    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);

    // Destroy leaves nothing behind.
    let destroy = run(&fixture, &["destroy", "--auto-approve"]).expect(0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 0 added, 0 changed, 3 destroyed."),
        "{}",
        destroy.stdout
    );
    assert!(plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .is_empty());

    assert_no_canary(
        &fixture,
        &[
            &plan.stdout,
            &apply.stdout,
            &apply.stderr,
            &update.stdout,
            &destroy.stdout,
        ],
    );
}

#[test]
fn drift_is_reported_separately_and_exits_3_when_alone() {
    let fixture = Fixture::new("engine/lifecycle");
    run(&fixture, &["apply", "--auto-approve"]).expect(0);
    plinth_builtin::tamper(
        &fixture.cloud(),
        "db-test",
        "tags",
        plinth_provider::Value::from_json(&serde_json::json!({"team": "intruder"})),
    )
    .expect("tamper");
    let plan = run(&fixture, &["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("Objects have changed outside of Plinth"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("tags.team = \"core\" -> \"intruder\""),
        "{}",
        plan.stdout
    );
    let refresh_only = run(&fixture, &["plan", "--refresh-only", "--detailed-exitcode"]).expect(3);
    assert!(
        refresh_only.stdout.contains("changed outside of Plinth"),
        "{}",
        refresh_only.stdout
    );
}

#[test]
fn a_missing_secret_does_not_stop_plan_but_stops_apply() {
    let fixture = Fixture::new("engine/lifecycle");
    let mut command = crate::support::plinth();
    command
        .env_remove("PLINTH_TEST_CANARY")
        .args(["plan", "--detailed-exitcode"])
        .arg(fixture.path());
    let plan = crate::support::Run::from(command.output().expect("run")).expect(2);
    assert!(
        plan.stdout.contains("secret `token` is unresolved"),
        "{}",
        plan.stdout
    );
    let mut command = crate::support::plinth();
    command
        .env_remove("PLINTH_TEST_CANARY")
        .args(["apply", "--auto-approve"])
        .arg(fixture.path());
    let apply = crate::support::Run::from(command.output().expect("run")).expect(1);
    assert!(
        apply
            .stderr
            .contains("cannot apply: 1 secret(s) unresolved"),
        "{}",
        apply.stderr
    );
    assert!(plinth_builtin::list_cloud(&fixture.cloud())
        .map(|c| c.is_empty())
        .unwrap_or(true));
}

#[test]
fn saved_plans_apply_once_and_only_to_their_state() {
    let fixture = Fixture::new("engine/lifecycle");
    let plan_file = fixture.path().join("first.plan");
    run(
        &fixture,
        &["plan", "--out", plan_file.to_str().expect("path")],
    )
    .expect(0);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&plan_file)
            .expect("plan file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&plan_file).expect("plan file");
    assert!(!text.contains(CANARY));

    let mut apply = crate::support::plinth();
    apply
        .env("PLINTH_TEST_CANARY", CANARY)
        .args(["apply"])
        .arg(&plan_file);
    crate::support::Run::from(apply.output().expect("run")).expect(0);

    // Again: the plan was made on an empty state, which no longer exists.
    let mut again = crate::support::plinth();
    again
        .env("PLINTH_TEST_CANARY", CANARY)
        .args(["apply"])
        .arg(&plan_file);
    let again = crate::support::Run::from(again.output().expect("run")).expect(1);
    assert!(again.stderr.contains("stale plan"), "{}", again.stderr);
}

#[test]
fn a_second_apply_fails_at_once_naming_the_lock_holder() {
    let fixture = Fixture::new("engine/slow");
    let mut first = crate::support::plinth();
    first.args(["apply", "--auto-approve"]).arg(fixture.path());
    first
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = first.spawn().expect("spawn");
    let lock = fixture.path().join(".plinth/test.lock");
    let start = std::time::Instant::now();
    while !lock.exists() && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = fixture.run(&["apply", "--auto-approve"]).expect(1);
    assert!(second.stderr.contains("is locked"), "{}", second.stderr);
    assert!(second.stderr.contains("for `apply`"), "{}", second.stderr);
    assert!(second.stderr.contains("force-unlock"), "{}", second.stderr);
    assert!(child.wait().expect("wait").success());
}

/// Regression: `plinth_data.output` echoes its input; when the input held a secret, the output
/// was written to state in plaintext.
#[test]
fn computed_attributes_echoing_a_secret_are_stored_as_digests() {
    let fixture = Fixture::new("engine/secret-echo");
    let apply = run(&fixture, &["apply", "--auto-approve"]).expect(0);
    // State, journal and backup alike.
    let state = crate::support::all_text_under(&fixture.path().join(".plinth"));
    assert!(
        !state.contains(CANARY),
        "the canary is in the state:\n{state}"
    );
    let echo = &fixture.state()["resources"]["plinth_data.echo"]["attributes"];
    assert!(echo["output"]["$sensitive"].is_string(), "{echo}");
    // The generated password is kept (once, in `secrets`) and nowhere else in plaintext.
    let document = fixture.state();
    let password = document["secrets"]["password"]
        .as_str()
        .expect("generated password");
    let mut without_secrets = document.clone();
    without_secrets["secrets"] = serde_json::Value::Null;
    assert!(
        !without_secrets.to_string().contains(password),
        "the generated password leaked outside `secrets`:\n{without_secrets}"
    );
    let output = run(&fixture, &["output", "--json"]).expect(0);
    assert!(
        !output.stdout.contains(password) && output.stdout.contains("(sensitive)"),
        "{}",
        output.stdout
    );
    assert_no_canary(&fixture, &[&apply.stdout, &apply.stderr]);
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);
}
