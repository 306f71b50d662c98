//! Team-state guarantees with the real binary on remote backends (S3 on moto, PostgreSQL):
//! eight applies started together (one wins, the others fail at once naming the holder, or
//! wait and then find nothing to do), a killed apply whose lease expires and is taken over,
//! and encryption at rest.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::backends::{edit_all, environment, flat, Backend, CANARY};
use crate::support::{plinth, Fixture, Run};

const PROCESSES: usize = 8;

/// `plinth <args> <stack>` with the emulator environment and `extra` variables.
fn command(fixture: &Fixture, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let mut command = plinth();
    command
        .args(args)
        .arg(fixture.path())
        .envs(environment())
        .envs(extra.iter().copied());
    command
}

/// Runs one command to completion.
pub fn run(fixture: &Fixture, args: &[&str]) -> Run {
    Run::from(command(fixture, args, &[]).output().expect("run plinth"))
}

fn spawn(fixture: &Fixture, args: &[&str], extra: &[(&str, &str)]) -> Child {
    command(fixture, args, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plinth")
}

/// Names in the simulated cloud, asserting none is there twice.
fn cloud_names(fixture: &Fixture) -> BTreeSet<String> {
    let cloud = plinth_builtin::list_cloud(&fixture.cloud()).expect("cloud");
    let names: BTreeSet<String> = cloud.iter().map(|(_, name, _)| name.clone()).collect();
    assert_eq!(
        names.len(),
        cloud.len(),
        "a resource was created twice: {cloud:?}"
    );
    names
}

/// Starts eight applies at once; their pids and results.
fn race(fixture: &Fixture, extra_args: &[&str]) -> (Vec<(u32, Run)>, Duration) {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra_args);
    let start = Instant::now();
    let children: Vec<Child> = (0..PROCESSES).map(|_| spawn(fixture, &args, &[])).collect();
    let runs = children
        .into_iter()
        .map(|child| {
            let pid = child.id();
            (pid, Run::from(child.wait_with_output().expect("wait")))
        })
        .collect();
    (runs, start.elapsed())
}

fn eight_applies_one_wins_the_others_fail_naming_it(backend: Backend) {
    let fixture = Fixture::new("engine/team");
    backend.configure(&fixture, false);
    let (runs, elapsed) = race(&fixture, &[]);
    let winners: Vec<&(u32, Run)> = runs.iter().filter(|(_, r)| r.code == 0).collect();
    let all: String = runs
        .iter()
        .map(|(pid, r)| format!("--- pid {pid} exit {}\n{}\n{}", r.code, r.stdout, r.stderr))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one apply wins\n{all}");
    let (winner, won) = winners[0];
    assert!(won.stdout.contains("Apply complete!"), "{all}");
    for (pid, run) in runs.iter().filter(|(pid, _)| pid != winner) {
        assert_eq!(run.code, 1, "pid {pid}\n{all}");
        assert!(flat(&run.stderr).contains("is locked"), "pid {pid}\n{all}");
        assert!(
            flat(&run.stderr).contains(&format!("(pid {winner})"))
                && flat(&run.stderr).contains("`apply`"),
            "the loser names the holder\n{all}"
        );
    }
    assert_eq!(cloud_names(&fixture).len(), 6);
    eprintln!(
        "{}: 1 of {PROCESSES} applied, {} failed at once naming pid {winner}; all done in {elapsed:?}",
        backend_name(&backend),
        PROCESSES - 1
    );
}

fn eight_applies_that_wait_find_nothing_left_to_do(backend: Backend) {
    let fixture = Fixture::new("engine/team");
    backend.configure(&fixture, false);
    let (runs, elapsed) = race(&fixture, &["--lock-timeout", "60s"]);
    // Failed runs first: CI logs keep only the start of a long message.
    let mut sorted: Vec<&(u32, Run)> = runs.iter().collect();
    sorted.sort_by_key(|(_, r)| r.code == 0);
    let all: String = sorted
        .iter()
        .map(|(pid, r)| format!("--- pid {pid} exit {}\n{}\n{}", r.code, r.stderr, r.stdout))
        .collect();
    assert!(runs.iter().all(|(_, r)| r.code == 0), "{all}");
    let applied = runs
        .iter()
        .filter(|(_, r)| r.stdout.contains("Apply complete!"))
        .count();
    let unchanged = runs
        .iter()
        .filter(|(_, r)| r.stdout.contains("No changes."))
        .count();
    assert_eq!((applied, unchanged), (1, PROCESSES - 1), "{all}");
    assert_eq!(cloud_names(&fixture).len(), 6, "nothing created twice");
    let told = runs
        .iter()
        .filter(|(_, r)| flat(&r.stderr).contains("Waiting up to 60s for the state lock: lock"))
        .count();
    assert!(told >= 1, "a waiting apply says whom it waits for\n{all}");
    eprintln!(
        "{}: with --lock-timeout 60s, 1 of {PROCESSES} applied and {} waited ({told} said so) then found no changes, \
         in {elapsed:?}",
        backend_name(&backend),
        PROCESSES - 1
    );
}

fn backend_name(backend: &Backend) -> &'static str {
    match backend {
        Backend::S3 { .. } => "S3",
        Backend::Postgres { .. } => "PostgreSQL",
    }
}

#[test]
fn s3_eight_applies_one_wins() {
    eight_applies_one_wins_the_others_fail_naming_it(Backend::s3("race-fail", true));
}

#[test]
fn postgres_eight_applies_one_wins() {
    eight_applies_one_wins_the_others_fail_naming_it(Backend::postgres("race_fail"));
}

#[test]
fn s3_eight_applies_wait_and_see_no_changes() {
    eight_applies_that_wait_find_nothing_left_to_do(Backend::s3("race-wait", true));
}

#[test]
fn postgres_eight_applies_wait_and_see_no_changes() {
    eight_applies_that_wait_find_nothing_left_to_do(Backend::postgres("race_wait"));
}

#[test]
fn a_killed_apply_leaves_a_lease_that_expires_and_is_taken_over() {
    let backend = Backend::s3("lease", true);
    let fixture = Fixture::new("engine/team");
    edit_all(&fixture, "create_ms = 400", "create_ms = 3000");
    backend.configure(&fixture, false);
    let lease = [("PLINTH_LOCK_LEASE_SECONDS", "2")];
    let mut child = spawn(&fixture, &["apply", "--auto-approve"], &lease);
    let victim = child.id();
    // Kill it while it holds the lock, once its first creates are under way.
    let start = Instant::now();
    loop {
        let listed = run(&fixture, &["lock", "list"]);
        if listed.stdout.contains(&format!("(pid {victim})")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the apply never took the lock: {}{}",
            listed.stdout,
            listed.stderr
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let killed_at = Instant::now();

    // Right away the lock is still held: the lease runs out 2 s after the last renewal, over
    // 1.3 s after the kill. An apply now fails naming the killed holder (on a machine so slow
    // that the lease ran out meanwhile, it takes over instead: checked below).
    let early = Run::from(
        command(&fixture, &["apply", "--auto-approve"], &lease)
            .output()
            .expect("run"),
    );
    let (expired_after, resumed) = if early.code == 0 {
        (None, early)
    } else {
        assert_eq!(early.code, 1, "{}\n{}", early.stdout, early.stderr);
        assert!(
            flat(&early.stderr).contains("is locked")
                && flat(&early.stderr).contains(&format!("(pid {victim})")),
            "{}",
            early.stderr
        );
        // `lock list` shows the lease running out; then the next apply takes over at once,
        // warns naming the killed holder, and converges.
        let expired_after = loop {
            let listed = run(&fixture, &["lock", "list"]).expect(0).stdout;
            if listed.contains("lease expired") {
                assert!(listed.contains(&format!("(pid {victim})")), "{listed}");
                break killed_at.elapsed();
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(15),
                "the lease never expired: {listed}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let resumed = Run::from(
            command(&fixture, &["apply", "--auto-approve"], &lease)
                .output()
                .expect("run"),
        );
        (Some(expired_after), resumed)
    };
    let takeover = killed_at.elapsed();
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert!(
        flat(&resumed.stderr).contains("took over the state lock from")
            && flat(&resumed.stderr).contains(&format!("(pid {victim})")),
        "{}",
        resumed.stderr
    );
    assert_eq!(cloud_names(&fixture).len(), 6, "no orphans, no duplicates");
    let state = run(&fixture, &["state", "list"]).expect(0);
    assert_eq!(state.stdout.lines().count(), 6, "{}", state.stdout);
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);
    eprintln!(
        "lease 2 s: killed pid {victim}; `lock list` showed the lease expired {expired_after:?} after the kill; \
         the next apply took over and finished {takeover:?} after the kill"
    );
}

fn stored_bytes_hold_no_plaintext(backend: Backend) {
    let fixture = Fixture::new("engine/team");
    edit_all(&fixture, "create_ms = 400", "create_ms = 10");
    backend.configure(&fixture, true);
    run(&fixture, &["apply", "--auto-approve"]).expect(0);
    let pulled = run(&fixture, &["state", "pull"]).expect(0);
    let document: serde_json::Value = serde_json::from_str(&pulled.stdout).expect("state json");
    let password = document["secrets"]["password"]
        .as_str()
        .expect("the generated password is in the state")
        .to_string();
    assert!(
        !pulled.stdout.contains(CANARY),
        "the secret from the environment is stored as a digest"
    );
    let raw = backend.raw_bytes();
    assert!(raw.len() > 100, "something was stored");
    let text = String::from_utf8_lossy(&raw);
    for plaintext in [
        CANARY,
        password.as_str(),
        "app-test",
        "base-0",
        "arn:sim",
        "sim_resource",
    ] {
        assert!(
            !text.contains(plaintext),
            "`{plaintext}` is stored in plaintext"
        );
    }
    // And the state still reads back (plan with the passphrase: no changes).
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn s3_encrypted_state_holds_no_plaintext() {
    stored_bytes_hold_no_plaintext(Backend::s3("encrypted", true));
}

#[test]
fn postgres_encrypted_state_holds_no_plaintext() {
    stored_bytes_hold_no_plaintext(Backend::postgres("encrypted"));
}

#[test]
fn an_apply_whose_lock_is_removed_starts_nothing_more_and_fails() {
    let backend = Backend::s3("lost-lock", true);
    let fixture = Fixture::new("engine/team");
    edit_all(&fixture, "create_ms = 400", "create_ms = 2500");
    backend.configure(&fixture, false);
    let lease = [("PLINTH_LOCK_LEASE_SECONDS", "3")];
    let child = spawn(&fixture, &["apply", "--auto-approve"], &lease);
    let holder = child.id();
    let start = Instant::now();
    let listed = loop {
        let listed = run(&fixture, &["lock", "list"]).expect(0).stdout;
        if listed.contains(&format!("(pid {holder})")) {
            break listed;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no lock: {listed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let id = listed
        .split_whitespace()
        .nth(1)
        .expect("lock id")
        .to_string();
    run(&fixture, &["force-unlock", "--force", &id]).expect(0);
    let stopped = Run::from(child.wait_with_output().expect("wait"));
    assert_eq!(stopped.code, 1, "{}\n{}", stopped.stdout, stopped.stderr);
    let message = flat(&stopped.stderr);
    assert!(
        message.contains("apply stopped") && message.contains("was removed"),
        "{}",
        stopped.stderr
    );
    assert!(message.contains("were not attempted"), "{}", stopped.stderr);
    let made = cloud_names(&fixture);
    assert!(
        !made.contains("app-test") && !made.contains("worker-test"),
        "the second layer was not started: {made:?}"
    );
    // The next apply finishes the job.
    edit_all(&fixture, "create_ms = 2500", "create_ms = 10");
    run(&fixture, &["apply", "--auto-approve"]).expect(0);
    assert_eq!(cloud_names(&fixture).len(), 6);
}
