//! Mutation fuzzing of hostile input (issue 16), in-process and with the stable toolchain.
//!
//! Stacks: the seed corpus is every stack directory under `stacks/` and `tests/fixtures/`.
//! Each execution mutates one seed (bit flips, deletions, duplicated and spliced ranges, huge
//! numbers, `count`s, long lines, deep nesting, invisible characters, repeated blocks, long
//! `--env` and `--var` values) and runs load → graph → offline plan (no state, no refresh,
//! built-in providers only) → rendering of every diagnostic and plan, checking that nothing
//! panics. State: a real state directory (document, journal, lock) is mutated and read back
//! through `LocalStore`: a corrupted or hostile file must give an error, never a panic.
//!
//! The short run in the suite is deterministic (fixed seed, a fixed number of executions,
//! capped in time). A long run:
//!
//! ```text
//! PLINTH_FUZZ_SECONDS=600 [PLINTH_FUZZ_SEED=7] cargo nextest run -p plinth --release fuzz_
//! ```
//!
//! Every input that panicked is written to `target/fuzz-findings/<n>/` (copy it to
//! `tests/fixtures/fuzz-regressions/<name>/` to keep it; `case.json` holds the `--env` and
//! `--var` values). An input that aborts the process (an allocation failure, a stack
//! overflow) stays in `target/fuzz-current/`, which is printed at the start.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plinth::config::{load_with_env, LoadOptions};
use plinth::graph::DependencyGraph;
use plinth::plan::{PlanOptions, Planner};
use plinth::registry::Registry;
use plinth::render::diagnostic::render_error_at;
use plinth::secrets::Secrets;
use plinth_state::StateStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{plinth, repo_path};

/// One stack input: its files, the `--env` and the `--var`s.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Case {
    #[serde(skip)]
    files: Vec<(String, String)>,
    environment: Option<String>,
    vars: Vec<(String, String)>,
}

/// What a run found.
#[derive(Default)]
struct Findings {
    executions: u64,
    loaded: u64,
    planned: u64,
    panics: Vec<String>,
    slowest: Duration,
}

/// `(executions, seconds)` of this run: the suite's short run, or `PLINTH_FUZZ_SECONDS`.
fn budget(short_executions: u64, short_seconds: u64) -> (u64, Duration) {
    match std::env::var("PLINTH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seconds) => (u64::MAX, Duration::from_secs(seconds)),
        None => (short_executions, Duration::from_secs(short_seconds)),
    }
}

fn rng() -> StdRng {
    let seed = std::env::var("PLINTH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    StdRng::seed_from_u64(seed)
}

fn target_dir(name: &str) -> PathBuf {
    let dir = repo_path("target").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("target dir");
    dir
}

/// Every stack directory of the corpus: directories holding `*.toml` files.
fn seeds() -> Vec<Case> {
    let mut dirs = Vec::new();
    for root in ["stacks", "tests/fixtures"] {
        collect_stack_dirs(&repo_path(root), &mut dirs);
    }
    dirs.sort();
    let mut cases: Vec<Case> = dirs.iter().filter_map(|d| read_case(d)).collect();
    assert!(cases.len() >= 10, "too few seeds: {}", cases.len());
    for case in &mut cases {
        case.environment = first_environment(case);
    }
    cases
}

fn collect_stack_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut has_toml = false;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_stack_dirs(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            has_toml = true;
        }
    }
    if has_toml {
        out.push(dir.to_path_buf());
    }
}

/// The stack files of a directory and its `case.json` (regression fixtures).
fn read_case(dir: &Path) -> Option<Case> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((name, std::fs::read_to_string(&path).ok()?));
        }
    }
    files.sort();
    let mut case: Case = std::fs::read(dir.join("case.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Case {
            files: Vec::new(),
            environment: None,
            vars: Vec::new(),
        });
    case.files = files;
    Some(case)
}

/// The first name of `environments = [...]`, so most executions get past the environment.
fn first_environment(case: &Case) -> Option<String> {
    case.files.iter().find_map(|(_, text)| {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("environments"))?;
        let start = line.find('"')? + 1;
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_string())
    })
}

const NUMBERS: [&str; 12] = [
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "-1",
    "0",
    "100000",
    "10001",
    "1e308",
    "nan",
    "0x7fffffff",
];

const TOKENS: [&str; 24] = [
    "${",
    "${var.",
    "${count.index}",
    "${env}",
    "${secret.",
    "}",
    "\"",
    "'''",
    "\"\"\"",
    "[[",
    "]]",
    "\n[",
    " = ",
    ".",
    "\\u0000",
    "\u{202e}",
    "\u{200b}",
    "\u{1b}[2J",
    "\r",
    "\t",
    "\u{0}",
    "é",
    "💥",
    "$${",
];

fn random_text(rng: &mut StdRng) -> String {
    let unit = match rng.random_range(0..6) {
        0 => "a",
        1 => "é",
        2 => "\u{200b}",
        3 => "\t",
        4 => "${var.x}",
        _ => "字",
    };
    let length = match rng.random_range(0..4) {
        0 => rng.random_range(1..100),
        1 => rng.random_range(1_000..5_000),
        2 => rng.random_range(60_000..80_000),
        _ => rng.random_range(100_000..300_000),
    };
    unit.repeat(length / unit.len().max(1))
}

fn nested(rng: &mut StdRng) -> String {
    let depth = match rng.random_range(0..3) {
        0 => rng.random_range(2..80),
        1 => rng.random_range(200..300),
        _ => rng.random_range(1_000..100_000),
    };
    match rng.random_range(0..3) {
        0 => format!("v = {}1{}\n", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("v = {}1{}\n", "{ a = ".repeat(depth), " }".repeat(depth)),
        _ => format!("{} = 1\n", vec!["a"; depth].join(".")),
    }
}

fn floor(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Applies one mutation to `text` (`other` is a second seed file, for splices).
fn mutate(text: &mut String, other: &str, rng: &mut StdRng) {
    let at = floor(text, rng.random_range(0..=text.len()));
    // Small edits most of the time (so most inputs get past the parser); the large ones
    // (long lines, deep nesting, truncation) one time in seven.
    let kind = if rng.random_bool(1.0 / 7.0) {
        [6, 7, 11][rng.random_range(0..3)]
    } else {
        [0, 1, 2, 3, 4, 5, 8, 9, 10, 12][rng.random_range(0..10)]
    };
    match kind {
        0 => {
            // A bit flip, kept valid UTF-8 (invalid files are a separate, simple case).
            let mut bytes = std::mem::take(text).into_bytes();
            if !bytes.is_empty() {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            *text = String::from_utf8_lossy(&bytes).into_owned();
        }
        1 => {
            let end = floor(text, at + rng.random_range(1..64));
            text.replace_range(at..end, "");
        }
        2 => {
            let end = floor(text, at + rng.random_range(1..400));
            let piece = text[at..end].to_string();
            let to = floor(text, rng.random_range(0..=text.len()));
            text.insert_str(to, &piece);
        }
        3 => {
            let from = floor(other, rng.random_range(0..=other.len()));
            let end = floor(other, from + rng.random_range(1..600));
            text.insert_str(at, &other[from..end]);
        }
        4 => {
            // A number replaced by a huge or odd one.
            let digits: Vec<usize> = text
                .match_indices(|c: char| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            let number = NUMBERS[rng.random_range(0..NUMBERS.len())];
            if digits.is_empty() {
                text.insert_str(at, number);
            } else {
                let start = digits[rng.random_range(0..digits.len())];
                let end = text[start..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(text.len(), |i| start + i);
                text.replace_range(start..end, number);
            }
        }
        5 => {
            // `count = <odd number>` in a resource block.
            let number = NUMBERS[rng.random_range(0..NUMBERS.len())];
            let headers: Vec<usize> = text.match_indices("]\n").map(|(i, _)| i + 2).collect();
            let line = if rng.random_bool(0.5) {
                format!("count = {number}\n")
            } else {
                format!("count = \"{number}\"\n")
            };
            match headers.get(rng.random_range(0..headers.len().max(1))) {
                Some(&i) => text.insert_str(i, &line),
                None => text.insert_str(at, &line),
            }
        }
        6 => {
            let line = random_text(rng);
            if rng.random_bool(0.5) {
                text.insert_str(at, &line);
            } else {
                text.insert_str(at, &format!("\nlong = \"{line}\"\n"));
            }
        }
        7 => text.insert_str(at, &format!("\n{}", nested(rng))),
        8 => {
            for _ in 0..rng.random_range(1..4) {
                let at = floor(text, rng.random_range(0..=text.len()));
                text.insert_str(at, TOKENS[rng.random_range(0..TOKENS.len())]);
            }
        }
        9 => {
            // A block repeated, renamed or not.
            let starts: Vec<usize> = text.match_indices("\n[").map(|(i, _)| i + 1).collect();
            if let Some(&start) = starts.get(rng.random_range(0..starts.len().max(1))) {
                let end = text[start + 1..]
                    .find("\n[")
                    .map_or(text.len(), |i| start + 1 + i + 1);
                let block = text[start..end].to_string();
                let times = rng.random_range(2..60);
                let mut copies = String::new();
                for n in 0..times {
                    copies.push_str(&block.replacen(']', &format!("_{n}]"), 1));
                }
                text.insert_str(end, &copies);
            }
        }
        10 => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() > 2 {
                let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                let a = rng.random_range(0..lines.len());
                let b = rng.random_range(0..lines.len());
                lines.swap(a, b);
                *text = lines.join("\n");
            }
        }
        11 => text.truncate(at),
        _ => {
            // A reference to something far away or odd.
            let reference = match rng.random_range(0..4) {
                0 => "\"${plinth_data.greeting.output}\"",
                1 => "\"${sim_resource.a[99999999999].id}\"",
                2 => "[\"${var.x}\", \"${count.index}\"]",
                _ => "\"${self.x.y.z}\"",
            };
            text.insert_str(at, &format!("\nref = {reference}\n"));
        }
    }
}

fn mutated(seeds: &[Case], rng: &mut StdRng) -> Case {
    let mut case = seeds[rng.random_range(0..seeds.len())].clone();
    let other = &seeds[rng.random_range(0..seeds.len())];
    let other_text = other.files[rng.random_range(0..other.files.len())]
        .1
        .clone();
    let edits = match rng.random_range(0..20) {
        0..=11 => 1,
        12..=16 => 2,
        _ => rng.random_range(3..6),
    };
    for _ in 0..edits {
        let file = rng.random_range(0..case.files.len());
        mutate(&mut case.files[file].1, &other_text, rng);
    }
    match rng.random_range(0..10) {
        0 => case.environment = Some(random_text(rng)),
        1 => case.environment = None,
        2 => {
            let value = if rng.random_bool(0.5) {
                random_text(rng)
            } else {
                nested(rng)
                    .trim_start_matches("v = ")
                    .trim_end()
                    .to_string()
            };
            case.vars.push(("replicas".into(), value));
        }
        _ => {}
    }
    case
}

/// Loads, graphs, plans and renders a case in `dir`; the panic message if anything panics.
fn execute(
    case: &Case,
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    findings: &mut Findings,
) -> Option<String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("case dir");
    for (name, text) in &case.files {
        std::fs::write(dir.join(name), text).expect("write case");
    }
    let _ = std::fs::write(
        dir.join("case.json"),
        serde_json::to_vec(case).unwrap_or_default(),
    );
    let outcome = catch_unwind(AssertUnwindSafe(|| run_pipeline(case, dir, runtime)));
    match outcome {
        Ok((loaded, planned)) => {
            findings.loaded += u64::from(loaded);
            findings.planned += u64::from(planned);
            None
        }
        Err(payload) => Some(
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into()),
        ),
    }
}

thread_local! {
    /// Every provider (for the schemas), and the built-in ones that plan offline.
    static REGISTRIES: (Registry, Registry) = (
        Registry::default_registry(),
        Registry::new(vec![
            std::sync::Arc::new(plinth_builtin::BuiltinFactory),
            std::sync::Arc::new(plinth_builtin::SimFactory),
        ]),
    );
}

/// `(loaded, planned)`.
fn run_pipeline(case: &Case, dir: &Path, runtime: &tokio::runtime::Runtime) -> (bool, bool) {
    REGISTRIES.with(|(all, builtin)| run_with(case, dir, runtime, all, builtin))
}

fn run_with(
    case: &Case,
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    all: &Registry,
    builtin: &Registry,
) -> (bool, bool) {
    // Far fewer resources than the default limit: a stack of 200 000 valid resources is the
    // benchmark's business (a debug-build plan of it takes minutes), not the fuzzer's.
    let options = LoadOptions {
        environment: case.environment.clone(),
        vars: case.vars.clone(),
        limits: plinth::config::Limits {
            max_resources: 20_000,
            ..plinth::config::Limits::default()
        },
        ..LoadOptions::default()
    };
    let stack = match load_with_env(dir, &options, all.schemas(), &|_| None) {
        Ok(stack) => stack,
        Err(diags) => {
            for width in [80, 100_000] {
                std::hint::black_box(render_error_at(&diags, width));
            }
            std::hint::black_box(diags.render_plain(100));
            return (false, false);
        }
    };
    let graph = match DependencyGraph::build(&stack) {
        Ok(graph) => graph,
        Err(error) => {
            std::hint::black_box(render_error_at(&*error, 80));
            return (true, false);
        }
    };
    if !stack
        .resources
        .iter()
        .all(|r| builtin.schema(&r.address.type_name).is_some())
    {
        return (true, false);
    }
    let secrets = Secrets::resolve(&stack, &BTreeMap::new());
    let work_dir = dir.join(".plinth");
    let planner = Planner {
        stack: &stack,
        registry: builtin,
        graph: &graph,
        secrets: &secrets,
        work_dir: &work_dir,
    };
    let options = PlanOptions {
        skip_refresh: true,
        ..PlanOptions::default()
    };
    match runtime.block_on(planner.plan(None, &options)) {
        Ok(plan) => {
            std::hint::black_box(plinth::render::render_plan(
                &plan,
                plinth::render::Style::plain(),
            ));
            std::hint::black_box(plinth::render::render_plan_json(&plan));
            std::hint::black_box(plinth::render::render_plan_markdown(
                &plan,
                &plinth::render::MarkdownOptions::default(),
            ));
        }
        Err(error) => {
            std::hint::black_box(error.to_string());
        }
    }
    (true, true)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn save_finding(findings_dir: &Path, n: usize, case: &Case) -> PathBuf {
    let dir = findings_dir.join(n.to_string());
    std::fs::create_dir_all(&dir).expect("finding dir");
    for (name, text) in &case.files {
        std::fs::write(dir.join(name), text).expect("write finding");
    }
    std::fs::write(
        dir.join("case.json"),
        serde_json::to_vec_pretty(case).unwrap_or_default(),
    )
    .expect("write case");
    dir
}

fn report(what: &str, findings: &Findings, elapsed: Duration) {
    eprintln!(
        "fuzz {what}: {} executions in {:.1}s ({:.0}/s), {} loaded, {} planned, slowest {:.2}s, {} panics",
        findings.executions,
        elapsed.as_secs_f64(),
        findings.executions as f64 / elapsed.as_secs_f64().max(1e-9),
        findings.loaded,
        findings.planned,
        findings.slowest.as_secs_f64(),
        findings.panics.len()
    );
}

#[test]
fn fuzz_stacks_load_plan_and_render_without_panicking() {
    let seeds = seeds();
    let (executions, seconds) = budget(400, 25);
    let mut rng = rng();
    let current = target_dir("fuzz-current");
    let findings_dir = repo_path("target").join("fuzz-findings");
    eprintln!(
        "fuzz stacks: {} seeds; an input that aborts the process stays in {}",
        seeds.len(),
        current.display()
    );
    let runtime = runtime();
    let mut findings = Findings::default();
    // An input over 10 s is a finding in an optimised build (the long runs); an unoptimised
    // one parses a multi-megabyte mutant several times slower, on a machine busy with the
    // rest of the suite, so the suite's short run only catches real hangs.
    let slow = Duration::from_secs(if cfg!(debug_assertions) { 90 } else { 10 });
    let start = Instant::now();
    while findings.executions < executions && start.elapsed() < seconds {
        let case = mutated(&seeds, &mut rng);
        let began = Instant::now();
        let panic = execute(&case, &current.join("stack"), &runtime, &mut findings);
        findings.slowest = findings.slowest.max(began.elapsed());
        findings.executions += 1;
        if let Some(message) = panic {
            let saved = save_finding(&findings_dir, findings.panics.len(), &case);
            findings
                .panics
                .push(format!("{message} (input in {})", saved.display()));
        }
        if began.elapsed() > slow {
            let saved = save_finding(&findings_dir, 1000 + findings.panics.len(), &case);
            findings.panics.push(format!(
                "took {:?} (input in {})",
                began.elapsed(),
                saved.display()
            ));
        }
    }
    report("stacks", &findings, start.elapsed());
    assert!(
        findings.loaded > 0,
        "no mutated stack loaded: the mutations are too destructive"
    );
    assert!(findings.panics.is_empty(), "{}", findings.panics.join("\n"));
}

/// Every input a fuzzer ever crashed Plinth with, replayed through the same pipeline.
#[test]
fn fuzz_regressions_do_not_panic() {
    let mut dirs = Vec::new();
    collect_stack_dirs(&repo_path("tests/fixtures/fuzz-regressions"), &mut dirs);
    assert!(dirs.len() >= 2, "{dirs:?}");
    let runtime = runtime();
    let work = tempfile::tempdir().expect("temp dir");
    let mut findings = Findings::default();
    for dir in dirs {
        let case = read_case(&dir).expect("regression case");
        let began = Instant::now();
        if let Some(message) = execute(&case, &work.path().join("stack"), &runtime, &mut findings) {
            panic!("{}: {message}", dir.display());
        }
        // Generous for a debug build on a busy machine; the slow finding took minutes.
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{} took {:?}",
            dir.display(),
            began.elapsed()
        );
    }
}

/// A real state directory (document, journal, lock) for `plinth apply` of the hello stack.
fn state_seed(work: &Path) -> Vec<(String, Vec<u8>)> {
    let stack = work.join("stack");
    std::fs::create_dir_all(&stack).expect("stack dir");
    std::fs::copy(
        repo_path("stacks/examples/hello/stack.toml"),
        stack.join("stack.toml"),
    )
    .expect("copy");
    for greeting in ["hello", "bonjour"] {
        let output = plinth()
            .args(["apply", "--auto-approve", "--var"])
            .arg(format!("greeting={greeting}"))
            .arg(&stack)
            .output()
            .expect("run plinth");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let state = stack.join(".plinth");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&state)
        .expect("state dir")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    // A lock as another process leaves it.
    files.push((
        "dev.lock".into(),
        br#"{"id":"7f3c","owner":"ci@runner","pid":1,"operation":"apply","created":1700000000,"expires":99999999999,"lease_seconds":120}"#.to_vec(),
    ));
    files.sort();
    files
}

fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    let at = rng.random_range(0..=bytes.len());
    match rng.random_range(0..8) {
        0 if !bytes.is_empty() => {
            let i = rng.random_range(0..bytes.len());
            bytes[i] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            let end = (at + rng.random_range(1..64)).min(bytes.len());
            bytes.drain(at..end);
        }
        2 => {
            let end = (at + rng.random_range(1..200)).min(bytes.len());
            let piece = bytes[at..end].to_vec();
            let to = rng.random_range(0..=bytes.len());
            bytes.splice(to..to, piece);
        }
        3 => {
            let number = NUMBERS[rng.random_range(0..NUMBERS.len())].as_bytes();
            let digits: Vec<usize> = (0..bytes.len())
                .filter(|&i| bytes[i].is_ascii_digit())
                .collect();
            if let Some(&start) = digits.get(rng.random_range(0..digits.len().max(1))) {
                let end = (start..bytes.len())
                    .find(|&i| !bytes[i].is_ascii_digit())
                    .unwrap_or(bytes.len());
                bytes.splice(start..end, number.iter().copied());
            }
        }
        4 => {
            let depth = rng.random_range(100..50_000);
            let mut deep = vec![b'['; depth];
            deep.extend(vec![b']'; depth]);
            bytes.splice(at..at, deep);
        }
        5 => {
            let long = random_text(rng).into_bytes();
            bytes.splice(at..at, long);
        }
        6 => bytes.truncate(at),
        _ => {
            let token: &[u8] = match rng.random_range(0..6) {
                0 => b"\n",
                1 => b"\"",
                2 => b"{\"format_version\": 99999999999}",
                3 => b"\xff\xfe",
                4 => b"null",
                _ => b"{\"kind\":\"put\"}\n",
            };
            bytes.splice(at..at, token.iter().copied());
        }
    }
}

#[test]
fn fuzz_state_reader_gives_errors_not_panics() {
    let work = tempfile::tempdir().expect("temp dir");
    let seed = state_seed(work.path());
    assert!(
        seed.iter().any(|(n, _)| n.ends_with(".state.json")),
        "{:?}",
        seed.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    let (executions, seconds) = budget(600, 10);
    let mut rng = rng();
    let runtime = runtime();
    let current = target_dir("fuzz-current-state");
    let mut findings = Findings::default();
    let start = Instant::now();
    while findings.executions < executions && start.elapsed() < seconds {
        let mut files = seed.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..files.len());
            mutate_bytes(&mut files[i].1, &mut rng);
        }
        let _ = std::fs::remove_dir_all(&current);
        std::fs::create_dir_all(&current).expect("state dir");
        for (name, bytes) in &files {
            std::fs::write(current.join(name), bytes).expect("write state");
        }
        let began = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async {
                let store = plinth_state::LocalStore::new(&current, "dev");
                let loaded = store.load().await;
                let locks = store.locks().await;
                (
                    loaded.is_ok(),
                    locks.map(|l| l.len()).map_err(|e| e.to_string()),
                )
            })
        }));
        for (name, bytes) in &files {
            if name.ends_with(".state.json") {
                let parsed = catch_unwind(|| {
                    plinth_state::parse_document(bytes, Path::new(name)).map(|_| ())
                });
                if parsed.is_err() {
                    findings
                        .panics
                        .push(format!("parse_document panicked on {name}"));
                }
            }
        }
        findings.executions += 1;
        findings.slowest = findings.slowest.max(began.elapsed());
        match outcome {
            Ok((loaded, _)) => findings.loaded += u64::from(loaded),
            Err(_) => {
                let saved = repo_path("target/fuzz-findings")
                    .join(format!("state-{}", findings.panics.len()));
                let _ = std::fs::create_dir_all(&saved);
                for (name, bytes) in &files {
                    let _ = std::fs::write(saved.join(name), bytes);
                }
                findings.panics.push(format!(
                    "reading the state panicked (input in {})",
                    saved.display()
                ));
            }
        }
    }
    report("state", &findings, start.elapsed());
    assert!(findings.loaded > 0, "no mutated state loaded");
    assert!(findings.panics.is_empty(), "{}", findings.panics.join("\n"));
}
