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
    for format in ["text", "json", "markdown"] {
        outputs.push(run(&["plan", "--format", format, &stack]).expect(0));
    }
    outputs.push(run(&["plan", "--out", &file, &stack]).expect(0));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("plan file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "plan file mode {mode:o}");
    for format in ["text", "json", "markdown"] {
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
    for format in ["text", "json", "markdown"] {
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
