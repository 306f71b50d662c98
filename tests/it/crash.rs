//! Failures: a failing resource mid-apply, and an apply killed with SIGKILL then resumed.

use std::time::{Duration, Instant};

use crate::support::{plinth, Fixture, Run};

#[test]
fn a_failure_skips_dependents_and_lets_independent_branches_finish() {
    let fixture = Fixture::new("engine/partial-failure");
    let run = fixture.run(&["apply", "--auto-approve"]).expect(1);
    let out = &run.stdout;
    assert!(out.contains("Apply failed: 2 succeeded"), "{out}");
    assert!(out.contains("1 failed, 1 not attempted"), "{out}");
    assert!(out.contains("failed: sim_resource.broken"), "{out}");
    // The error names the provider, where the resource is declared, and the API's code.
    assert!(
        out.contains("failed: sim_resource.broken: [sim, declared at "),
        "{out}"
    );
    assert!(out.contains("stack.toml:14:1] InjectedFailure: "), "{out}");
    assert!(
        out.contains(
            "skipped: sim_resource.after_broken: not attempted: `sim_resource.broken` failed"
        ),
        "{out}"
    );
    let names: Vec<String> = plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .into_iter()
        .map(|(_, n, _)| n)
        .collect();
    assert!(
        names.contains(&"left".to_string()) && names.contains(&"after-left".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"after-broken".to_string()));

    // `fail_create = 1` fails only the first create: the next apply converges.
    let second = fixture.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        second.stdout.contains("Apply complete!"),
        "{}",
        second.stdout
    );
    fixture.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_killed_apply_resumes_without_orphans_or_duplicates() {
    let fixture = Fixture::new("engine/slow");
    let mut command = plinth();
    command
        .args(["apply", "--auto-approve"])
        .arg(fixture.path());
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("spawn");
    // Kill it once part of the cloud exists.
    let start = Instant::now();
    loop {
        let made = plinth_builtin::list_cloud(&fixture.cloud())
            .map(|c| c.len())
            .unwrap_or(0);
        if made >= 6 || start.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let before = plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .len();
    assert!(
        before > 0 && before < 40,
        "killed too late or too early: {before} resources"
    );

    // The lock of the dead process is taken over (same host, dead pid).
    let resumed = fixture.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        resumed.stdout.contains("Apply complete!"),
        "{}\n{}",
        resumed.stdout,
        resumed.stderr
    );

    let cloud = plinth_builtin::list_cloud(&fixture.cloud()).expect("cloud");
    let mut names: Vec<&String> = cloud.iter().map(|(_, name, _)| name).collect();
    names.sort();
    let count = names.len();
    names.dedup();
    assert_eq!(count, 40, "orphans or missing resources");
    assert_eq!(names.len(), 40, "duplicates in the cloud");
    let state = fixture.state();
    let resources = state["resources"].as_object().expect("resources");
    assert_eq!(resources.len(), 40);
    let ids: std::collections::BTreeSet<&str> =
        cloud.iter().map(|(id, _, _)| id.as_str()).collect();
    for record in resources.values() {
        assert!(
            ids.contains(record["id"].as_str().unwrap_or_default()),
            "state points at a missing resource: {record}"
        );
    }
    let plan: Run = fixture.run(&["plan", "--detailed-exitcode"]);
    plan.expect(0);
}
