//! No secret value in any output format, in the plan file, or anywhere in the stack directory
//! (state, journal, simulated cloud aside from the resource itself).

use std::path::{Path, PathBuf};

use super::{run, CANARY};
use crate::support::Fixture;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The simulated cloud holds what the "provider" received, secrets included, as
            // a real cloud would.
            if path.file_name().is_some_and(|n| n == "sim-cloud") {
                continue;
            }
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn no_secret_in_any_format_or_plan_file() {
    let fixture = Fixture::new("engine/lifecycle");
    let stack = fixture.path().to_str().expect("path").to_string();
    let file = fixture.path().join("saved.plan");
    let file = file.to_str().expect("path").to_string();
    let mut outputs = Vec::new();
    for format in ["text", "json", "markdown", "terraform-json"] {
        outputs.push(run(&["plan", "--format", format, &stack]).expect(0));
    }
    outputs.push(run(&["plan", "--out", &file, &stack]).expect(0));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("plan file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "plan file mode {mode:o}");
    for format in ["text", "json", "markdown", "terraform-json"] {
        outputs.push(run(&["show", "--format", format, &file]).expect(0));
    }
    outputs.push(run(&["apply", &file]).expect(0));

    // The secret changes: the plan says so without showing either value.
    let mut changed = crate::support::plinth();
    changed
        .env("PLINTH_TEST_CANARY", format!("{CANARY}-rotated"))
        .args(["plan", "--format", "markdown", "--out", &file, &stack]);
    let changed = crate::support::Run::from(changed.output().expect("run")).expect(0);
    assert!(
        changed
            .stdout
            .contains("payload.token = (sensitive, changed)"),
        "{}",
        changed.stdout
    );
    outputs.push(changed);
    for format in ["text", "json", "markdown", "terraform-json"] {
        outputs.push(run(&["show", "--format", format, &file]).expect(0));
        outputs.push(run(&["drift", "--format", format, &stack]).expect(0));
    }

    for output in &outputs {
        assert!(
            !output.stdout.contains(CANARY),
            "secret in output:\n{}",
            output.stdout
        );
        assert!(
            !output.stderr.contains(CANARY),
            "secret in stderr:\n{}",
            output.stderr
        );
    }
    let listed = files(fixture.path());
    assert!(listed.iter().any(|p| p.ends_with("saved.plan")));
    for path in listed {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "secret in {}",
            path.display()
        );
    }
}

#[test]
fn no_secret_in_a_plan_that_adopts_resources_of_an_interrupted_apply() {
    use std::time::{Duration, Instant};

    let fixture = Fixture::new("ci/slow-secret");
    let stack = fixture.path().to_str().expect("path").to_string();
    // Kill applies until one leaves a create in flight that the next plan adopts.
    let mut adopted = None;
    for _ in 0..5 {
        let mut command = crate::support::plinth();
        command
            .env("PLINTH_TEST_CANARY", CANARY)
            .args(["apply", "--auto-approve", &stack])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = command.spawn().expect("spawn");
        let before = plinth_builtin::list_cloud(&fixture.cloud())
            .map(|c| c.len())
            .unwrap_or(0);
        let start = Instant::now();
        while plinth_builtin::list_cloud(&fixture.cloud())
            .map(|c| c.len())
            .unwrap_or(0)
            < before + 3
            && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let file = fixture.path().join("adopt.plan");
        let file = file.to_str().expect("path").to_string();
        let plan = run(&["plan", "--format", "json", "--out", &file, &stack]).expect(0);
        assert!(
            !plan.stdout.contains(CANARY),
            "secret in plan:\n{}",
            plan.stdout
        );
        let text = std::fs::read_to_string(&file).expect("plan file");
        assert!(!text.contains(CANARY), "secret in the plan file");
        if plan.stdout.contains("was found and adopted") {
            adopted = Some(text);
            break;
        }
    }
    let text = adopted.expect("no interrupted create was adopted in five tries");
    assert!(text.contains("\"refreshed\": true"), "{text}");
    run(&["apply", "--auto-approve", &stack]).expect(0);
    for path in files(fixture.path()) {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "secret in {}",
            path.display()
        );
    }
}
