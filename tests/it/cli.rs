//! The command line as Terraform, cargo and kubectl users meet it (issue 14): each test is a
//! trap found by such a user, run through the real binary.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{plinth, Fixture, Run};

/// The binary, with the fixture's secret set.
fn cmd() -> Command {
    let mut command = plinth();
    command.env("PLINTH_TEST_CANARY", "cli-test-token");
    command
}

/// Runs `plinth <args> <stack dir>`.
fn run(fixture: &Fixture, args: &[&str]) -> Run {
    Run::from(
        cmd()
            .args(args)
            .arg(fixture.path())
            .output()
            .expect("run plinth"),
    )
}

/// Runs `plinth <args>` with stdin on a pseudo-terminal (as a person at a shell has it),
/// typing `answer` into it.
fn on_terminal(command: &mut Command, answer: &str) -> Run {
    answer_prompt(spawn_on_terminal(command), answer)
}

/// A child on a pseudo-terminal, killed if the test ends before it is answered.
struct OnTerminal {
    child: Option<Child>,
    terminal: std::fs::File,
}

impl OnTerminal {
    fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_on_terminal(command: &mut Command) -> OnTerminal {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let child = command
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run plinth");
    OnTerminal {
        child: Some(child),
        terminal: std::fs::File::from(pty.master),
    }
}

/// Types `answer` and a newline, and waits for the program to end.
fn answer_prompt(mut on_terminal: OnTerminal, answer: &str) -> Run {
    on_terminal
        .terminal
        .write_all(format!("{answer}\n").as_bytes())
        .expect("type the answer");
    let child = on_terminal.child.take().expect("running");
    Run::from(child.wait_with_output().expect("wait for plinth"))
}

fn in_dir(dir: &Path, args: &[&str]) -> Run {
    Run::from(
        cmd()
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run plinth"),
    )
}

/// Whether a line of `text` starts (after spaces) with `start` and ends with `end`.
fn has_line(text: &str, start: &str, end: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with(start) && l.trim_end().ends_with(end))
}

#[test]
fn a_var_file_beside_the_stack_is_not_read_as_stack_code() {
    // Regression: every `*.toml` was stack code, so the README's own
    // `--var-file staging.vars.toml` beside the stack failed with "unexpected top-level key".
    let fixture = Fixture::new("engine/lifecycle");
    std::fs::write(fixture.path().join("staging.vars.toml"), "size = 3\n").expect("var file");
    run(&fixture, &["validate"]).expect(0);
    let var_file = fixture.path().join("staging.vars.toml");
    let plan = run(
        &fixture,
        &["plan", "--var-file", var_file.to_str().expect("utf-8")],
    )
    .expect(0);
    assert!(has_line(&plan.stdout, "+ size", "= 3"), "{}", plan.stdout);

    // A file given with `--var-file` is a var file whatever its name.
    std::fs::write(fixture.path().join("overrides.toml"), "zone = \"b\"\n").expect("var file");
    let overrides = fixture.path().join("overrides.toml");
    let plan = run(
        &fixture,
        &["plan", "--var-file", overrides.to_str().expect("utf-8")],
    )
    .expect(0);
    assert!(
        has_line(&plan.stdout, "+ zone", "= \"b\""),
        "{}",
        plan.stdout
    );
}

#[test]
fn state_rm_takes_the_stack_positionally_like_every_other_command() {
    // Regression: `plinth state rm ADDR STACK` read STACK as a second address and loaded `.`.
    let fixture = Fixture::new("engine/lifecycle");
    run(&fixture, &["apply", "--auto-approve"]).expect(0);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let stack = fixture.path().to_str().expect("utf-8");
    let removed = in_dir(
        elsewhere.path(),
        &["state", "rm", "sim_resource.app", "plinth_data.note", stack],
    )
    .expect(0);
    assert!(
        removed.stdout.contains("sim_resource.app"),
        "{}",
        removed.stdout
    );
    let state = fixture.state();
    let resources = state["resources"].as_object().expect("resources");
    assert!(!resources.contains_key("sim_resource.app"), "{state:#}");
    assert!(!resources.contains_key("plinth_data.note"), "{state:#}");
    assert!(resources.contains_key("sim_resource.db"), "{state:#}");

    // The stack given twice is refused rather than guessed.
    let twice = in_dir(
        elsewhere.path(),
        &["state", "rm", "sim_resource.db", stack, "--stack", stack],
    )
    .expect(1);
    assert!(
        twice.stderr.contains("the stack is given twice"),
        "{}",
        twice.stderr
    );
}

#[test]
fn a_declined_apply_exits_1_and_destroy_asks_its_own_question() {
    // Regression: "Apply cancelled." exited 0 (Terraform: 1), and destroy asked the generic
    // apply question.
    let fixture = Fixture::new("engine/lifecycle");
    let declined = on_terminal(cmd().arg("apply").arg(fixture.path()), "no").expect(1);
    assert!(
        declined.stdout.contains("Apply cancelled."),
        "{}",
        declined.stdout
    );
    assert!(
        !fixture.path().join(".plinth/sim-cloud").exists()
            || plinth_builtin::list_cloud(&fixture.cloud())
                .expect("cloud")
                .is_empty(),
        "nothing is created"
    );

    let applied = on_terminal(cmd().arg("apply").arg(fixture.path()), "yes").expect(0);
    assert!(
        applied
            .stdout
            .contains("Do you want to perform these actions?"),
        "{}",
        applied.stdout
    );

    let kept = on_terminal(cmd().arg("destroy").arg(fixture.path()), "no").expect(1);
    assert!(
        kept.stdout
            .contains("Do you really want to destroy all resources?"),
        "{}",
        kept.stdout
    );
    assert!(
        kept.stdout.contains("Destroy cancelled."),
        "{}",
        kept.stdout
    );
    assert!(!plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .is_empty());

    // `yes` only: `y` is not an answer.
    on_terminal(cmd().arg("destroy").arg(fixture.path()), "y").expect(1);
    on_terminal(cmd().arg("destroy").arg(fixture.path()), "yes").expect(0);
    assert!(plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .is_empty());
}

#[test]
fn force_unlock_asks_first_and_refuses_without_a_terminal_unless_forced() {
    // Regression: `force-unlock` removed a lock without confirmation (Terraform asks unless
    // `-force`). The lock is a real one: an apply waiting at its prompt holds it.
    let fixture = Fixture::new("engine/lifecycle");
    let holder = spawn_on_terminal(cmd().arg("apply").arg(fixture.path()));
    let start = Instant::now();
    let id = loop {
        let listed = run(&fixture, &["lock", "list"]).expect(0).stdout;
        if listed.contains(&format!("(pid {})", holder.id())) {
            break listed
                .split_whitespace()
                .nth(1)
                .expect("lock id")
                .to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no lock: {listed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let locked = |fixture: &Fixture| {
        run(fixture, &["lock", "list"])
            .expect(0)
            .stdout
            .contains(&id)
    };

    // CI (no terminal): refused without `--force`.
    let refused = Run::from(
        cmd()
            .args(["force-unlock", &id])
            .arg(fixture.path())
            .stdin(Stdio::null())
            .output()
            .expect("run plinth"),
    )
    .expect(1);
    assert!(
        refused
            .stderr
            .contains("refusing to remove the lock without confirmation"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert!(locked(&fixture));

    // On a terminal: asked; anything but `yes` keeps the lock.
    let declined =
        on_terminal(cmd().args(["force-unlock", &id]).arg(fixture.path()), "no").expect(1);
    assert!(
        declined
            .stdout
            .contains("Do you really want to force-unlock"),
        "{}",
        declined.stdout
    );
    assert!(locked(&fixture));

    // The apply is declined; its lock goes with it.
    answer_prompt(holder, "no").expect(1);
    assert!(!locked(&fixture));
}

#[test]
fn colour_changes_nothing_but_the_escape_codes() {
    // Regression: `{colored:>5}` padded the escape codes, so on a terminal every resource
    // header lost its indentation (`-/+ sim_resource.cache {` at column 0).
    use plinth::render::{render_plan, Style};
    let plan = crate::ci::plans::mixed();
    let plain = render_plan(&plan, Style::plain());
    let coloured = render_plan(&plan, Style { color: true });
    assert!(coloured.contains('\u{1b}'), "colour is on");
    assert_eq!(strip_ansi(&coloured), plain);
}

#[test]
fn colour_follows_no_color_clicolor_force_and_the_no_color_flag() {
    let fixture = Fixture::new("engine/lifecycle");
    let plan = |env: &[(&str, &str)], extra: &[&str]| {
        let mut command = cmd();
        command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            command.env(k, v);
        }
        Run::from(
            command
                .arg("plan")
                .args(extra)
                .arg(fixture.path())
                .output()
                .expect("run"),
        )
        .expect(0)
        .stdout
    };
    assert!(!plan(&[], &[]).contains('\u{1b}'), "a pipe gets no colour");
    let forced = plan(&[("CLICOLOR_FORCE", "1")], &[]);
    assert!(forced.contains('\u{1b}'), "CLICOLOR_FORCE forces colour");
    assert_eq!(strip_ansi(&forced), plan(&[], &[]));
    assert!(!plan(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]).contains('\u{1b}'));
    assert!(!plan(&[("CLICOLOR_FORCE", "1")], &["--no-color"]).contains('\u{1b}'));
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn one_duration_grammar_for_flags_and_stack_files() {
    // Regression: `--lock-timeout 1d` failed (no `d` on the command line) and
    // `timeouts = { create = "250ms" }` failed (no `ms` in stack files).
    let fixture = Fixture::new("engine/lifecycle");
    fixture.edit(
        "[sim_resource.db]\n",
        "[sim_resource.db]\ntimeouts = { create = \"250ms\", delete = \"1d\" }\n",
    );
    run(&fixture, &["validate"]).expect(0);
    run(
        &fixture,
        &["apply", "--auto-approve", "--lock-timeout", "1d"],
    )
    .expect(0);
    let refused = run(
        &fixture,
        &["apply", "--auto-approve", "--lock-timeout", "5x"],
    )
    .expect(1);
    assert!(
        refused.stderr.contains("`5x` is not a duration"),
        "{}",
        refused.stderr
    );
}

#[test]
fn validate_without_env_checks_every_environment() {
    // Regression: a stack with environments could not be validated without `--env`.
    let fixture = Fixture::new("engine/lifecycle");
    fixture.edit(
        "environments = [\"test\"]",
        "environments = [\"staging\", \"production\"]",
    );
    let valid = run(&fixture, &["validate"]).expect(0);
    assert!(
        valid.stdout.contains("valid for environment `staging`")
            && valid.stdout.contains("valid for environment `production`"),
        "{}",
        valid.stdout
    );

    // A problem in one environment only is found, and named with its environment.
    fixture.edit("size = { default = 10 }", "size = { staging = 10 }");
    let invalid = run(&fixture, &["validate"]).expect(1);
    assert!(
        invalid.stdout.contains("valid for environment `staging`"),
        "{}",
        invalid.stdout
    );
    assert!(
        invalid.stderr.contains("In environment `production`")
            && invalid.stderr.contains("invalid in 1 of 2 environments"),
        "{}",
        invalid.stderr
    );
    run(&fixture, &["validate", "--env", "staging"]).expect(0);
}

#[test]
fn a_saved_plan_applies_from_another_directory() {
    // Regression: the plan file stored the stack path as given (relative), so `apply FILE`
    // from another directory loaded the wrong place.
    let fixture = Fixture::new("engine/lifecycle");
    let parent = fixture.path().parent().expect("parent");
    let name = fixture
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name");
    // Relative paths, as a CI job gives them: the stack and a var file beside it (outside the
    // stack directory, so this test does not lean on the `*.vars.toml` convention).
    let var_file = format!("{name}.vars.toml");
    let plan_file = parent.join(format!("{name}.plan"));
    std::fs::write(parent.join(&var_file), "size = 4\n").expect("var file");
    let planned = in_dir(
        parent,
        &[
            "plan",
            name,
            "--var-file",
            &var_file,
            "--out",
            &format!("{name}.plan"),
        ],
    );
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let applied = in_dir(
        elsewhere.path(),
        &["apply", plan_file.to_str().expect("utf-8")],
    );
    let _ = std::fs::remove_file(&plan_file);
    let _ = std::fs::remove_file(parent.join(&var_file));
    planned.expect(0);
    applied.expect(0);
    assert_eq!(
        fixture.state()["resources"]["sim_resource.db"]["attributes"]["size"],
        4
    );
}

#[test]
fn terraform_single_dash_long_options_get_a_hint_and_exit_1() {
    // Regression: `-detailed-exitcode` (Terraform's spelling) got a confusing clap error, and
    // exited 2, which `--detailed-exitcode` means "changes present".
    let fixture = Fixture::new("engine/lifecycle");
    let out = run(&fixture, &["plan", "-detailed-exitcode"]).expect(1);
    assert!(
        out.stderr.contains("did you mean `--detailed-exitcode`?"),
        "{}",
        out.stderr
    );
    // `-env staging` was read as `-e nv` with `staging` as the stack.
    let out = run(&fixture, &["plan", "-env", "test"]).expect(1);
    assert!(
        out.stderr.contains("did you mean `--env`?"),
        "{}",
        out.stderr
    );
    // Any other usage error exits 1 too.
    run(&fixture, &["plan", "--no-such-flag"]).expect(1);
}

#[test]
fn a_typo_in_target_or_replace_gets_did_you_mean() {
    let fixture = Fixture::new("engine/lifecycle");
    let out = run(&fixture, &["plan", "--target", "sim_resource.dbb"]).expect(1);
    assert!(
        out.stderr.contains("did you mean `sim_resource.db`"),
        "{}",
        out.stderr
    );
    let out = run(
        &fixture,
        &["apply", "--auto-approve", "--replace", "sim_resource.ap"],
    )
    .expect(1);
    assert!(
        out.stderr.contains("did you mean `sim_resource.app`"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_first_still_creating_line_comes_at_10_seconds() {
    // Regression: the ticker ran every 10 s and printed only resources in flight for 10 s at
    // a tick, so the first line came at about 20 s (the README says 10 s).
    let fixture = Fixture::new("engine/lifecycle");
    fixture.edit(
        "zone = \"${var.zone}\"\n",
        "zone = \"${var.zone}\"\ncreate_ms = 12500\n",
    );
    let out = run(&fixture, &["apply", "--auto-approve"]).expect(0);
    assert!(
        out.stderr
            .contains("sim_resource.db: Still creating... [10s elapsed]"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_throttled_aws_call_is_retried_by_the_sdk_only() {
    // Regression: the engine's 4 attempts wrapped calls the AWS SDK had already retried (up to
    // `max_attempts`), so one throttled call was tried up to 4 × 8 = 32 times.
    use plinth_testkit::moto::{Fault, FaultKind, MotoServer};
    let moto = MotoServer::shared();
    let account = moto.new_account();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("stack.toml"),
        format!(
            "[stack]\nname = \"retries\"\nenvironments = [\"test\"]\n\n\
             [providers.aws]\nregion = \"us-east-1\"\nmax_attempts = 3\nretry_initial_backoff_ms = 1\n\n\
             [aws_s3_bucket.files]\nbucket = \"plinth-retries-{}\"\n",
            account.id
        ),
    )
    .expect("stack");
    moto.inject_fault(
        &account,
        &Fault {
            action: "s3:PUT".into(),
            kind: FaultKind::Throttle,
            count: 100,
        },
    );
    let out = Run::from(
        cmd()
            .args(["apply", "--auto-approve"])
            .arg(dir.path())
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", account.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", account.secret_access_key())
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run plinth"),
    )
    .expect(1);
    assert!(
        out.stderr.contains("SlowDown") || out.stdout.contains("SlowDown"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let calls = moto.call_counts(&account);
    let puts: u64 = calls
        .iter()
        .filter(|(action, _)| action.contains("PUT"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        puts, 3,
        "max_attempts = 3, retried by the SDK only: {calls:?}"
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_real_arguments() {
    let out = Run::from(cmd().args(["completions", "bash"]).output().expect("run")).expect(0);
    assert!(out.stdout.contains("_plinth()"), "{}", out.stdout);
    assert!(out.stdout.contains("--detailed-exitcode"));
    let script = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(script.path(), &out.stdout).expect("write");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(script.path())
        .status()
        .expect("bash");
    assert!(syntax.success(), "the bash script parses");
    let zsh = Run::from(cmd().args(["completions", "zsh"]).output().expect("run")).expect(0);
    assert!(zsh.stdout.starts_with("#compdef plinth"), "{}", zsh.stdout);
    let fish = Run::from(cmd().args(["completions", "fish"]).output().expect("run")).expect(0);
    assert!(
        fish.stdout.contains("complete -c plinth"),
        "{}",
        fish.stdout
    );

    let man = Run::from(cmd().arg("man").output().expect("run")).expect(0);
    assert!(man.stdout.contains(".TH plinth 1"), "{}", man.stdout);
    assert!(man.stdout.contains("force\\-unlock"), "{}", man.stdout);
    let pages = tempfile::tempdir().expect("temp dir");
    Run::from(
        cmd()
            .arg("man")
            .arg("--dir")
            .arg(pages.path())
            .output()
            .expect("run"),
    )
    .expect(0);
    let state_rm = std::fs::read_to_string(pages.path().join("plinth-state-rm.1"))
        .expect("one page per command");
    assert!(state_rm.contains("ADDRESS"), "{state_rm}");
    let plan = std::fs::read_to_string(pages.path().join("plinth-plan.1")).expect("plan page");
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

#[test]
fn validate_format_json_gives_every_problem_with_its_place() {
    let fixture = Fixture::new("engine/lifecycle");
    fixture.edit(
        "environments = [\"test\"]",
        "environments = [\"staging\", \"production\"]",
    );
    fixture.edit("size = { default = 10 }", "size = { staging = 10 }");
    let out = run(&fixture, &["validate", "--format", "json"]).expect(1);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["valid"], false);
    let environments = document["environments"].as_array().expect("environments");
    assert_eq!(environments[0]["name"], "staging");
    assert_eq!(environments[0]["valid"], true);
    assert_eq!(environments[1]["name"], "production");
    assert_eq!(environments[1]["valid"], false);
    let problem = &environments[1]["diagnostics"][0];
    assert_eq!(problem["code"], "plinth::missing_variable", "{problem:#}");
    assert_eq!(problem["severity"], "error");
    let label = &problem["labels"][0];
    assert!(
        label["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("stack.toml")),
        "{problem:#}"
    );
    // `size = { staging = 10 }` is line 6 of the fixture.
    assert_eq!(label["line"], 6, "{problem:#}");
    assert!(label["column"].as_u64().is_some_and(|c| c >= 1));

    fixture.edit("size = { staging = 10 }", "size = { default = 10 }");
    let out = run(&fixture, &["validate", "--format", "json"]).expect(0);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(document["valid"], true);
}

#[test]
fn verbose_logs_show_the_aws_sdk_requests_and_no_secret() {
    use plinth_testkit::moto::MotoServer;
    const SECRET: &str = "log-canary-7f3e1c9a-never-print";
    let moto = MotoServer::shared();
    let account = moto.new_account();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("stack.toml"),
        format!(
            "[stack]\nname = \"logs\"\nenvironments = [\"test\"]\n\n\
             [providers.aws]\nregion = \"us-east-1\"\n\n\
             [secrets]\ntoken = {{ from = \"env:PLINTH_LOG_CANARY\" }}\n\n\
             [aws_s3_bucket.files]\nbucket = \"plinth-logs-{}\"\ntags = {{ token = \"${{secret.token}}\" }}\n",
            account.id
        ),
    )
    .expect("stack");
    // -vv (debug: the SDK's requests with their request ids) for the apply, then -vvv
    // (trace: request and response details) for a plan that reads the bucket and its tags.
    let out = Run::from(
        cmd()
            .args(["-vv", "apply", "--auto-approve"])
            .arg(dir.path())
            .env("PLINTH_LOG_CANARY", SECRET)
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", account.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", account.secret_access_key())
            .env_remove("AWS_PROFILE")
            .env_remove("PLINTH_LOG")
            .env_remove("RUST_LOG")
            .output()
            .expect("run plinth"),
    )
    .expect(0);
    assert!(out.stderr.contains("aws_smithy_runtime"), "{}", out.stderr);
    assert!(
        out.stderr.contains("S3.CreateBucket") && out.stderr.contains("request_id="),
        "{}",
        out.stderr
    );
    let traced = Run::from(
        cmd()
            .args(["-vvv", "plan"])
            .arg(dir.path())
            .env("PLINTH_LOG_CANARY", SECRET)
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", account.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", account.secret_access_key())
            .env_remove("AWS_PROFILE")
            .env_remove("PLINTH_LOG")
            .env_remove("RUST_LOG")
            .output()
            .expect("run plinth"),
    )
    .expect(0);
    assert!(
        traced.stderr.contains("GetBucketTagging"),
        "{}",
        traced.stderr
    );
    for run in [&out, &traced] {
        assert!(!run.stderr.contains(SECRET), "a secret in the logs");
        assert!(!run.stdout.contains(SECRET), "a secret in the output");
        assert!(
            !run.stderr.contains(&account.secret_access_key()),
            "the AWS secret key in the logs"
        );
    }
}
