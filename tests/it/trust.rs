//! Engine trust, through the real binary and the simulated cloud: what the cloud holds and
//! what the state says after kills and failures at every kind of operation, and the next
//! apply converging without orphans. One regression test per item of the engine-trust
//! issue, and a randomized crash test (fixed seed; `PLINTH_CRASH_ROUNDS` runs more).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::support::{plinth, Fixture, Run};

/// Diagnostic text with miette's frame characters and line breaks removed.
fn flat(text: &str) -> String {
    crate::backends::flat(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `(id, name)` of every object in the simulated cloud.
fn cloud(fixture: &Fixture) -> BTreeMap<String, String> {
    plinth_builtin::list_cloud(&fixture.cloud())
        .unwrap_or_default()
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect()
}

/// Ids the state knows: current ones by address, and deposed ones.
fn state_ids(fixture: &Fixture) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let dir = fixture.path().join(".plinth");
    if !dir.join("test.state.json").exists() {
        return Default::default();
    }
    let state = crate::support::load_state(&dir, "test");
    let current = state["resources"]
        .as_object()
        .map(|resources| {
            resources
                .iter()
                .filter_map(|(address, r)| Some((address.clone(), r["id"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let deposed = state["deposed"]
        .as_object()
        .map(|d| {
            d.values()
                .filter_map(|o| o["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (current, deposed)
}

fn vars(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={v}")])
        .collect()
}

fn run(fixture: &Fixture, args: &[&str], vars: &[String]) -> Run {
    let mut command = plinth();
    command.args(args).args(vars).arg(fixture.path());
    Run::from(command.output().expect("run plinth"))
}

/// Starts `plinth <args>` and kills it with SIGKILL after `after`.
fn kill_after(fixture: &Fixture, args: &[&str], vars: &[String], after: Duration) {
    let mut command = plinth();
    command
        .args(args)
        .args(vars)
        .arg(fixture.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("spawn");
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().expect("wait").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What is wrong after a converging run, if anything.
#[derive(Debug, Default)]
struct Findings {
    orphans: Vec<String>,
    missing: Vec<String>,
    plan_exit: i32,
}

impl Findings {
    fn clean(&self) -> bool {
        self.orphans.is_empty() && self.missing.is_empty() && self.plan_exit == 0
    }
}

/// Every cloud object is in state (current or deposed), every recorded current id exists,
/// and a plan with the same variables finds nothing to do.
fn check(fixture: &Fixture, vars: &[String], destroyed: bool) -> Findings {
    let cloud = cloud(fixture);
    let (current, deposed) = state_ids(fixture);
    let known: BTreeSet<&String> = current.values().chain(deposed.iter()).collect();
    let mut findings = Findings {
        orphans: cloud
            .iter()
            .filter(|(id, _)| !known.contains(id))
            .map(|(id, name)| format!("{name} ({id})"))
            .collect(),
        missing: current
            .iter()
            .filter(|(_, id)| !cloud.contains_key(*id))
            .map(|(address, id)| format!("{address} ({id})"))
            .collect(),
        ..Findings::default()
    };
    if destroyed {
        if !cloud.is_empty() || !current.is_empty() || !deposed.is_empty() {
            findings.plan_exit = -1;
        }
        findings.plan_exit = findings.plan_exit.min(0)
            + run(fixture, &["plan", "--destroy", "--detailed-exitcode"], vars).code;
    } else {
        findings.plan_exit = run(fixture, &["plan", "--detailed-exitcode"], vars).code;
    }
    findings
}

fn applied(fixture: &Fixture, vars: &[String]) {
    run(fixture, &["apply", "--auto-approve"], vars).expect(0);
}

fn trust_vars(gen: u32, ms: u32) -> Vec<String> {
    vars(&[("gen", gen.to_string()), ("ms", ms.to_string())])
}

#[test]
fn item1_a_kill_during_the_successor_create_converges_without_orphans() {
    let fixture = Fixture::new("engine/trust");
    applied(&fixture, &trust_vars(1, 20));
    // Killed while lb-2 is being created (the sim makes it at once, then settles for 3 s).
    kill_after(
        &fixture,
        &["apply", "--auto-approve"],
        &trust_vars(2, 3000),
        Duration::from_millis(1200),
    );
    let names: BTreeSet<String> = cloud(&fixture).into_values().collect();
    assert!(
        names.contains("lb-1") && names.contains("lb-2"),
        "{names:?}"
    );
    let (_, deposed) = state_ids(&fixture);
    assert_eq!(deposed.len(), 1, "the old lb is tracked as deposed");
    let plan = run(&fixture, &["plan"], &trust_vars(2, 20)).expect(0);
    assert!(
        plan.stdout.contains("# sim_resource.lb (deposed object "),
        "{}",
        plan.stdout
    );
    applied(&fixture, &trust_vars(2, 20));
    let findings = check(&fixture, &trust_vars(2, 20), false);
    assert!(findings.clean(), "{findings:?}");
    let names: BTreeSet<String> = cloud(&fixture).into_values().collect();
    assert!(
        names.contains("lb-2") && !names.contains("lb-1"),
        "{names:?}"
    );
}

#[test]
fn item1_a_kill_after_the_successor_exists_destroys_the_deposed_object_next_time() {
    let fixture = Fixture::new("engine/trust");
    applied(&fixture, &trust_vars(1, 20));
    // lb-2 is created in 400 ms; app's update (and db's replacement) take 3 s more.
    let slow = vars(&[("gen", "2".into()), ("ms", "3000".into())]);
    kill_after(
        &fixture,
        &["apply", "--auto-approve"],
        &slow,
        Duration::from_millis(4500),
    );
    let (current, deposed) = state_ids(&fixture);
    let cloud_now = cloud(&fixture);
    assert!(
        deposed.iter().all(|id| cloud_now.contains_key(id)),
        "{deposed:?} {cloud_now:?}"
    );
    assert!(current.contains_key("sim_resource.lb"), "{current:?}");
    let next = run(
        &fixture,
        &["plan", "--detailed-exitcode"],
        &trust_vars(2, 20),
    );
    assert_eq!(next.code, 2, "not `No changes`: {}", next.stdout);
    applied(&fixture, &trust_vars(2, 20));
    let findings = check(&fixture, &trust_vars(2, 20), false);
    assert!(findings.clean(), "{findings:?}");
    assert!(!cloud(&fixture).values().any(|n| n == "lb-1"));
}

#[test]
fn item2_a_failed_successor_create_keeps_the_old_object_current() {
    let fixture = Fixture::new("engine/trust");
    applied(&fixture, &trust_vars(1, 20));
    let (before, _) = state_ids(&fixture);
    let failing = vars(&[
        ("gen", "2".into()),
        ("ms", "20".into()),
        ("fail_lb", "1".into()),
    ]);
    let failed = run(&fixture, &["apply", "--auto-approve"], &failing).expect(1);
    assert!(
        failed.stdout.contains("failed: sim_resource.lb"),
        "{}",
        failed.stdout
    );
    let (after, deposed) = state_ids(&fixture);
    assert_eq!(
        after.get("sim_resource.lb"),
        before.get("sim_resource.lb"),
        "the old lb is current again"
    );
    assert!(deposed.is_empty(), "{deposed:?}");
    let findings = check(&fixture, &failing, false);
    assert!(findings.orphans.is_empty(), "{findings:?}");
    // The next apply (the injected failure was the first create call only) converges.
    applied(&fixture, &failing);
    let findings = check(&fixture, &failing, false);
    assert!(findings.clean(), "{findings:?}");
    assert!(!cloud(&fixture).values().any(|n| n == "lb-1"));
}

#[test]
fn item3_a_state_of_another_stack_is_refused() {
    let a = Fixture::new("engine/trust");
    let b = Fixture::new("engine/trust");
    b.edit("name = \"trust\"", "name = \"other\"");
    applied(&a, &trust_vars(1, 20));
    applied(&b, &trust_vars(1, 20));
    let before = cloud(&a);
    for file in ["test.state.json", "test.journal"] {
        let from = b.path().join(".plinth").join(file);
        let to = a.path().join(".plinth").join(file);
        let _ = std::fs::remove_file(&to);
        if from.exists() {
            std::fs::copy(&from, &to).expect("copy");
        }
    }
    let refused = run(&a, &["apply", "--auto-approve"], &trust_vars(1, 20)).expect(1);
    let text = flat(&refused.stderr);
    assert!(
        text.contains("belongs to stack `other` environment `test`, not to stack `trust`"),
        "{text}"
    );
    assert_eq!(cloud(&a), before, "nothing was touched");
    run(&a, &["plan"], &trust_vars(1, 20)).expect(1);
}

#[test]
fn item4_a_deleted_state_file_is_refused_and_restored_from_a_backup() {
    let fixture = Fixture::new("engine/trust");
    applied(&fixture, &trust_vars(1, 20));
    applied(
        &fixture,
        &vars(&[("ms", "20".into()), ("size", "2".into())]),
    );
    let state = fixture.path().join(".plinth/test.state.json");
    std::fs::remove_file(&state).expect("rm state");
    let _ = std::fs::remove_file(fixture.path().join(".plinth/test.journal"));
    let refused = run(
        &fixture,
        &["apply", "--auto-approve"],
        &vars(&[("ms", "20".into()), ("size", "2".into())]),
    )
    .expect(1);
    let text = flat(&refused.stderr);
    assert!(text.contains("no state document at"), "{text}");
    assert!(text.contains("plinth state restore"), "{text}");
    let listed = fixture.run(&["state", "restore", "--list"]).expect(0);
    assert!(listed.stdout.contains("serial"), "{}", listed.stdout);
    let restored = fixture.run(&["state", "restore"]).expect(0);
    assert!(
        restored.stdout.contains("Restored the backup"),
        "{}",
        restored.stdout
    );
    let findings = check(
        &fixture,
        &vars(&[("ms", "20".into()), ("size", "2".into())]),
        false,
    );
    assert!(findings.clean(), "{findings:?}");
}

#[test]
fn item5_destroy_removes_the_records_of_objects_already_gone() {
    let fixture = Fixture::new("engine/trust");
    applied(&fixture, &trust_vars(1, 20));
    for name in cloud(&fixture).into_values() {
        plinth_builtin::delete_behind_back(&fixture.cloud(), &name).expect("delete");
    }
    let destroy = run(&fixture, &["destroy", "--auto-approve"], &trust_vars(1, 20)).expect(0);
    assert!(
        destroy.stdout.contains("records will be removed"),
        "{}",
        destroy.stdout
    );
    let (current, deposed) = state_ids(&fixture);
    assert!(current.is_empty() && deposed.is_empty(), "{current:?}");
    run(
        &fixture,
        &["plan", "--destroy", "--detailed-exitcode"],
        &trust_vars(1, 20),
    )
    .expect(0);
    let output = fixture.run(&["output"]);
    assert!(!output.stdout.contains("arn:"), "{}", output.stdout);
}

#[test]
fn item7_a_secret_in_a_name_is_masked_in_derived_values_and_errors() {
    let fixture = Fixture::new("engine/secret-name");
    let secret = "hunter2-canary";
    let with_secret = |args: &[&str]| {
        let mut command = plinth();
        command
            .args(args)
            .arg(fixture.path())
            .env("PLINTH_TEST_SUFFIX", secret);
        Run::from(command.output().expect("run"))
    };
    for format in ["text", "json", "markdown"] {
        let plan = with_secret(&["plan", "--format", format]);
        assert!(!plan.stdout.contains(secret), "{format}: {}", plan.stdout);
        assert!(!plan.stderr.contains(secret), "{format}: {}", plan.stderr);
    }
    let planfile = fixture.path().join("saved.plan");
    with_secret(&["plan", "--out", planfile.to_str().expect("path")]).expect(0);
    let bytes = std::fs::read(&planfile).expect("plan file");
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));
    let failed = with_secret(&["apply", "--auto-approve", "--var", "fail=1"]).expect(1);
    assert!(
        failed.stdout.contains("failed: sim_resource.named"),
        "{}",
        failed.stdout
    );
    assert!(!failed.stdout.contains(secret), "{}", failed.stdout);
    assert!(!failed.stderr.contains(secret), "{}", failed.stderr);
}

#[test]
fn item8_a_half_done_replacement_is_not_counted_as_added() {
    let fixture = Fixture::new("engine/trust");
    applied(&fixture, &trust_vars(1, 20));
    // db is replaced delete-then-create; its create fails.
    let failing = vars(&[
        ("gen", "2".into()),
        ("ms", "20".into()),
        ("fail_db", "1".into()),
    ]);
    let failed = run(&fixture, &["apply", "--auto-approve"], &failing).expect(1);
    let out = &failed.stdout;
    assert!(
        out.contains("half replaced: sim_resource.db: old object destroyed"),
        "{out}"
    );
    // lb's create-before-destroy replacement ran fully (1 added, 1 destroyed); db's old
    // object was destroyed (1 destroyed) and nothing was added for it.
    assert!(out.contains("(1 added,"), "{out}");
    applied(&fixture, &failing);
    let findings = check(&fixture, &failing, false);
    assert!(findings.clean(), "{findings:?}");
}

/// One randomized round: what it asked for and how it ended.
#[derive(Debug)]
struct Round {
    vars: Vec<String>,
    destroy: bool,
    kills: usize,
    /// Deposed objects the state recorded after the kills (before the run to completion).
    deposed_after_kill: usize,
    findings: Findings,
    converged: bool,
}

/// `PLINTH_CRASH_ROUNDS` and `PLINTH_CRASH_SEED`, else the defaults.
fn crash_settings(rounds: usize, seed: u64) -> (usize, u64) {
    let read = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    (
        read("PLINTH_CRASH_ROUNDS").map_or(rounds, |r| r as usize),
        read("PLINTH_CRASH_SEED").unwrap_or(seed),
    )
}

/// One crash round: `command` (apply or destroy) killed once or twice at a random moment,
/// then run to completion and checked.
fn crash_round(
    fixture: &Fixture,
    rng: &mut rand::rngs::StdRng,
    round_vars: Vec<String>,
    ms: u32,
    destroy: bool,
) -> Round {
    let command: &[&str] = if destroy {
        &["destroy", "--auto-approve"]
    } else {
        &["apply", "--auto-approve"]
    };
    let kills = if rng.random_bool(0.25) { 2 } else { 1 };
    for _ in 0..kills {
        let after = Duration::from_millis(rng.random_range(30..(ms as u64 * 4 + 150)));
        kill_after(fixture, command, &round_vars, after);
    }
    let deposed_after_kill = state_ids(fixture).1.len();
    let finished = run(fixture, command, &round_vars);
    let findings = check(fixture, &round_vars, destroy);
    Round {
        vars: round_vars,
        destroy,
        kills,
        deposed_after_kill,
        converged: finished.code == 0,
        findings,
    }
}

/// Prints the figures of a series of rounds (`what` describes it) and fails on any bad one.
fn assert_rounds_clean(results: &[Round], what: &str) {
    let orphans: usize = results.iter().map(|r| r.findings.orphans.len()).sum();
    eprintln!(
        "{} {what}, {} destroys, {} double kills: {} not converging, {orphans} orphans",
        results.len(),
        results.iter().filter(|r| r.destroy).count(),
        results.iter().filter(|r| r.kills == 2).count(),
        results.iter().filter(|r| !r.converged).count(),
    );
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.converged || !r.findings.clean())
        .map(|r| {
            format!(
                "{} {} (killed {}x): converged {}, {:?}",
                if r.destroy { "destroy" } else { "apply" },
                r.vars.join(" "),
                r.kills,
                r.converged,
                r.findings
            )
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Rounds over the trust stack: random generations (create-before-destroy and
/// delete-then-create replacements), sizes (updates), worker counts (creates and deletes of
/// a shrinking count) and destroys, each killed with SIGKILL at a random moment (sometimes
/// twice), then applied to completion and checked.
#[test]
fn randomized_kills_at_every_kind_of_operation_leave_no_orphans() {
    let (rounds, seed) = crash_settings(14, 20261202);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut fixture = Fixture::new("engine/trust");
    let mut results = Vec::new();
    for round in 0..rounds {
        if round % 10 == 9 {
            // A fresh stack now and then keeps creates in the mix.
            fixture = Fixture::new("engine/trust");
        }
        let ms: u32 = rng.random_range(40..200);
        let round_vars = vars(&[
            ("gen", rng.random_range(1..4u32).to_string()),
            ("size", rng.random_range(1..4u32).to_string()),
            ("workers", rng.random_range(0..5u32).to_string()),
            ("ms", ms.to_string()),
        ]);
        let destroy = rng.random_bool(0.15);
        results.push(crash_round(&fixture, &mut rng, round_vars, ms, destroy));
    }
    let deposed_seen: usize = results.iter().map(|r| r.deposed_after_kill).sum();
    assert_rounds_clean(
        &results,
        &format!("crash rounds (seed {seed}, {deposed_seen} deposed objects seen after a kill)"),
    );
}

/// The stack text of `engine/trust-modules` with the module call named `name` (`part` or
/// `piece`) and a `[[moved]]` from the other name.
fn module_call_named(original: &str, name: &str) -> String {
    let other = if name == "part" { "piece" } else { "part" };
    original
        .replace("[module.part]", &format!("[module.{name}]"))
        .replace("${module.part[", &format!("${{module.{name}["))
        .replace(
            "from = \"module.piece\"\nto = \"module.part\"",
            &format!("from = \"module.{other}\"\nto = \"module.{name}\""),
        )
}

/// Rounds over a stack of module instances: instances added and removed (`keys`), their
/// create-before-destroy `lb`s replaced (`gen`), updates (`size`), destroys, and the call
/// renamed through `[[moved]]`, each killed at a random moment (sometimes twice), then run to
/// completion and checked as the flat rounds are.
#[test]
fn randomized_kills_with_modules_and_moves_leave_no_orphans() {
    let (rounds, seed) = crash_settings(10, 20261204);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let fixture = Fixture::new("engine/trust-modules");
    let original = std::fs::read_to_string(fixture.path().join("stack.toml")).unwrap();
    let key_sets = ["[\"a\"]", "[\"a\", \"b\"]", "[\"a\", \"b\", \"c\"]"];
    let mut results = Vec::new();
    let mut renames = 0;
    for _ in 0..rounds {
        let ms: u32 = rng.random_range(40..200);
        let round_vars = vars(&[
            ("gen", rng.random_range(1..4u32).to_string()),
            ("size", rng.random_range(1..4u32).to_string()),
            (
                "keys",
                key_sets[rng.random_range(0..key_sets.len())].to_string(),
            ),
            ("ms", ms.to_string()),
        ]);
        if rng.random_bool(0.35) {
            renames += 1;
            let name = if rng.random_bool(0.5) {
                "part"
            } else {
                "piece"
            };
            std::fs::write(
                fixture.path().join("stack.toml"),
                module_call_named(&original, name),
            )
            .unwrap();
        }
        let destroy = rng.random_bool(0.15);
        results.push(crash_round(&fixture, &mut rng, round_vars, ms, destroy));
    }
    assert_rounds_clean(
        &results,
        &format!("module crash rounds (seed {seed}, {renames} renames)"),
    );
}
