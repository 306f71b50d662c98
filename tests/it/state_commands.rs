//! `plinth state list | show | mv | rm | pull | push`, `import`, `bootstrap`, `lock list` and
//! `force-unlock`, with the real binary on remote backends.

use std::time::{Duration, Instant};

use crate::backends::{edit_all, environment, flat, Backend, CANARY};
use crate::support::{plinth, Fixture, Run};
use crate::team_locks::run;

#[test]
fn state_commands_import_and_push_on_postgres() {
    let backend = Backend::postgres("commands");
    let fixture = Fixture::new("engine/team");
    edit_all(&fixture, "create_ms = 400", "create_ms = 10");
    backend.configure(&fixture, false);
    run(&fixture, &["apply", "--auto-approve"]).expect(0);
    // Regression: the first refresh after a create recorded secrets inside a table
    // (`payload.token`) in plaintext, and reported a no-op apply as "Apply complete!".
    let second = run(&fixture, &["apply", "--auto-approve"]).expect(0);
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);

    // list and show
    let listed = run(&fixture, &["state", "list"]).expect(0).stdout;
    let addresses: Vec<&str> = listed
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(
        addresses,
        [
            "sim_resource.app",
            "sim_resource.base[0]",
            "sim_resource.base[1]",
            "sim_resource.base[2]",
            "sim_resource.base[3]",
            "sim_resource.worker"
        ],
        "{listed}"
    );
    let worker_id = listed
        .lines()
        .find(|l| l.starts_with("sim_resource.worker\t"))
        .and_then(|l| l.split('\t').nth(1))
        .expect("worker id")
        .to_string();
    let shown = run(&fixture, &["state", "show", "sim_resource.app"])
        .expect(0)
        .stdout;
    assert!(shown.contains("name = \"app-test\""), "{shown}");
    assert!(!shown.contains(CANARY), "secrets are digests: {shown}");
    let missing = run(&fixture, &["state", "show", "sim_resource.nope"]).expect(1);
    assert!(
        flat(&missing.stderr).contains("no resource `sim_resource.nope`"),
        "{}",
        missing.stderr
    );

    // pull: the JSON document, kept for the push below.
    let pulled = run(&fixture, &["state", "pull"]).expect(0).stdout;
    let document: serde_json::Value = serde_json::from_str(&pulled).expect("state json");
    let serial = document["serial"].as_u64().expect("serial");
    assert!(!pulled.contains(CANARY));
    let saved = fixture.path().join("saved.json");
    std::fs::write(&saved, &pulled).expect("write pulled state");

    // mv away and back: the plan follows the address.
    let moved = run(
        &fixture,
        &["state", "mv", "sim_resource.worker", "sim_resource.helper"],
    )
    .expect(0);
    assert!(moved
        .stdout
        .contains("Moved `sim_resource.worker` to `sim_resource.helper`"));
    let listed = run(&fixture, &["state", "list"]).expect(0).stdout;
    assert!(listed.contains("sim_resource.helper\t") && !listed.contains("sim_resource.worker\t"));
    let taken = run(
        &fixture,
        &["state", "mv", "sim_resource.helper", "sim_resource.app"],
    )
    .expect(1);
    assert!(
        flat(&taken.stderr).contains("already in the state"),
        "{}",
        taken.stderr
    );
    run(
        &fixture,
        &["state", "mv", "sim_resource.helper", "sim_resource.worker"],
    )
    .expect(0);
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);

    // rm: forgotten, still in the cloud; the plan wants to create it again.
    let stack = fixture.path().to_str().expect("utf-8 path");
    let removed = Run::from(
        plinth()
            .args(["state", "rm", "sim_resource.worker", "--stack", stack])
            .envs(environment())
            .output()
            .expect("run"),
    )
    .expect(0);
    assert!(
        removed.stdout.contains("it still exists in the cloud"),
        "{}",
        removed.stdout
    );
    let names: Vec<String> = plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .into_iter()
        .map(|(_, name, _)| name)
        .collect();
    assert!(names.contains(&"worker-test".to_string()));
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(2);

    // import: back under management by id; the plan shows no difference.
    let unknown = run(&fixture, &["import", "sim_resource.wrker", &worker_id]).expect(1);
    assert!(
        flat(&unknown.stderr).contains("is not a resource of stack `team`"),
        "{}",
        unknown.stderr
    );
    assert!(
        flat(&unknown.stderr).contains("sim_resource.worker"),
        "suggests the closest: {}",
        unknown.stderr
    );
    let nothing = run(&fixture, &["import", "sim_resource.worker", "sim-nothing"]).expect(1);
    assert!(
        flat(&nothing.stderr).contains("no `sim_resource` with id `sim-nothing`"),
        "{}",
        nothing.stderr
    );
    let imported = run(&fixture, &["import", "sim_resource.worker", &worker_id]).expect(0);
    assert!(
        imported.stdout.contains("Imported `sim_resource.worker`"),
        "{}",
        imported.stdout
    );
    assert!(
        imported.stdout.contains("No changes."),
        "{}",
        imported.stdout
    );
    let again = run(&fixture, &["import", "sim_resource.worker", &worker_id]).expect(1);
    assert!(
        flat(&again.stderr).contains("already in the state"),
        "{}",
        again.stderr
    );
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);

    // push: an older serial needs --force; another lineage is refused.
    let stale = run(&fixture, &["state", "push", saved.to_str().expect("path")]).expect(1);
    assert!(
        flat(&stale.stderr).contains("not newer than the stored serial"),
        "{}",
        stale.stderr
    );
    let forced = run(
        &fixture,
        &["state", "push", saved.to_str().expect("path"), "--force"],
    )
    .expect(0);
    assert!(
        forced.stdout.contains("Pushed 6 resources"),
        "{}",
        forced.stdout
    );
    let after: serde_json::Value =
        serde_json::from_str(&run(&fixture, &["state", "pull"]).expect(0).stdout).expect("json");
    assert!(after["serial"].as_u64().expect("serial") > serial + 3);
    let mut other = document.clone();
    other["lineage"] = serde_json::Value::from("another-lineage");
    other["serial"] = serde_json::Value::from(1000);
    let foreign = fixture.path().join("foreign.json");
    std::fs::write(&foreign, other.to_string()).expect("write");
    let refused = run(
        &fixture,
        &["state", "push", foreign.to_str().expect("path"), "--force"],
    )
    .expect(1);
    assert!(
        flat(&refused.stderr).contains("different state"),
        "{}",
        refused.stderr
    );
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);

    // While an apply runs, `lock list` names it and the state commands wait their turn.
    fixture.edit("name = \"worker-${env}\"", "name = \"worker2-${env}\"");
    edit_all(&fixture, "create_ms = 10", "create_ms = 2000");
    let child = plinth()
        .args(["apply", "--auto-approve"])
        .arg(fixture.path())
        .envs(environment())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
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
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(listed.contains("for `apply`"), "{listed}");
    let busy = run(&fixture, &["state", "list"]).expect(1);
    assert!(
        flat(&busy.stderr).contains("is locked")
            && flat(&busy.stderr).contains(&format!("(pid {holder})")),
        "{}",
        busy.stderr
    );
    let finished = Run::from(child.wait_with_output().expect("wait")).expect(0);
    assert!(
        finished.stdout.contains("Apply complete!"),
        "{}",
        finished.stdout
    );
    assert!(run(&fixture, &["lock", "list"])
        .expect(0)
        .stdout
        .contains("No locks"));
}

#[test]
fn bootstrap_twice_on_s3_migrates_local_state_then_force_unlock() {
    // A bucket that does not exist yet: bootstrap makes it.
    let backend = Backend::s3("bootstrap-home", false);
    let fixture = Fixture::new("engine/team");
    edit_all(&fixture, "create_ms = 400", "create_ms = 10");
    // First a local state with part of the stack, as a team starting out would have.
    run(
        &fixture,
        &[
            "apply",
            "--auto-approve",
            "--target",
            "sim_resource.base[0]",
        ],
    )
    .expect(0);
    assert!(fixture.path().join(".plinth/test.state.json").exists());
    backend.configure(&fixture, false);

    let before = run(&fixture, &["plan"]).expect(1);
    assert!(
        flat(&before.stderr).contains("plinth bootstrap"),
        "a missing bucket names bootstrap: {}",
        before.stderr
    );

    let first = run(&fixture, &["bootstrap", "--auto-approve"]).expect(0);
    assert!(
        first.stdout.contains("State home ready"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("Migrated the local state"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("1 resources"), "{}", first.stdout);
    assert!(first.stdout.contains("Apply complete!"), "{}", first.stdout);
    let second = run(&fixture, &["bootstrap", "--auto-approve"]).expect(0);
    assert!(
        second.stdout.contains("was migrated before"),
        "{}",
        second.stdout
    );
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);
    let names = plinth_builtin::list_cloud(&fixture.cloud()).expect("cloud");
    assert_eq!(names.len(), 6, "base[0] was not created twice: {names:?}");

    // The bucket is versioned, encrypted and not public.
    let client = backend.s3_client();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let versioning = runtime
        .block_on(
            client
                .get_bucket_versioning()
                .bucket("bootstrap-home")
                .send(),
        )
        .expect("versioning");
    assert_eq!(
        versioning.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    let public = runtime
        .block_on(
            client
                .get_public_access_block()
                .bucket("bootstrap-home")
                .send(),
        )
        .expect("public access block");
    let block = public
        .public_access_block_configuration()
        .expect("configuration");
    assert_eq!(block.block_public_acls(), Some(true));

    // lock list and force-unlock: a killed apply leaves its lock (120 s lease).
    let at_rest = run(&fixture, &["lock", "list"]).expect(0).stdout;
    assert!(at_rest.contains("No locks"), "{at_rest}");
    fixture.edit("name = \"worker-${env}\"", "name = \"worker2-${env}\"");
    edit_all(&fixture, "create_ms = 10", "create_ms = 5000");
    let mut child = plinth()
        .args(["apply", "--auto-approve"])
        .arg(fixture.path())
        .envs(environment())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let victim = child.id();
    let start = Instant::now();
    let listed = loop {
        let listed = run(&fixture, &["lock", "list"]).expect(0).stdout;
        if listed.contains(&format!("(pid {victim})")) {
            break listed;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no lock: {listed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(listed.contains("for `apply`"), "{listed}");
    let id = listed
        .split_whitespace()
        .nth(1)
        .expect("lock id")
        .to_string();
    let locked = run(&fixture, &["apply", "--auto-approve"]).expect(1);
    assert!(
        flat(&locked.stderr).contains(&format!("plinth force-unlock {id}")),
        "{}",
        locked.stderr
    );
    let unlocked = run(&fixture, &["force-unlock", "--force", &id]).expect(0);
    assert!(
        flat(&unlocked.stderr).contains(&format!("Removed lock {id}")),
        "{}",
        unlocked.stderr
    );
    assert!(run(&fixture, &["lock", "list"])
        .expect(0)
        .stdout
        .contains("No locks"));
    edit_all(&fixture, "create_ms = 5000", "create_ms = 10");
    let resumed = run(&fixture, &["apply", "--auto-approve"]).expect(0);
    assert!(
        !flat(&resumed.stderr).contains("took over"),
        "{}",
        resumed.stderr
    );
    run(&fixture, &["plan", "--detailed-exitcode"]).expect(0);
}
