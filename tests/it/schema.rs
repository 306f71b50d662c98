//! `plinth schema` (issue 14): the committed `docs/stack.schema.json` is what the binary
//! generates, an independent JSON Schema validator (check-jsonschema, from PyPI) accepts every
//! shipped stack against it and rejects a stack with a typo, and the MITA stack files name the
//! schema for editors.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{plinth, repo_path, Run};

fn check_jsonschema() -> PathBuf {
    let python = plinth_testkit::venv_python();
    python.with_file_name("check-jsonschema")
}

fn validate(files: &[PathBuf]) -> Run {
    Run::from(
        Command::new(check_jsonschema())
            .arg("--schemafile")
            .arg(repo_path("docs/stack.schema.json"))
            .args(files)
            .output()
            .expect("run check-jsonschema"),
    )
}

fn stack_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() && !name.starts_with('.') {
            stack_files(&path, out);
        } else if name.ends_with(".toml") && !name.ends_with(".vars.toml") {
            out.push(path);
        }
    }
}

#[test]
fn the_committed_schema_is_what_plinth_schema_generates() {
    let generated = Run::from(plinth().arg("schema").output().expect("run")).expect(0);
    let committed =
        std::fs::read_to_string(repo_path("docs/stack.schema.json")).expect("committed schema");
    assert!(
        generated.stdout == committed,
        "docs/stack.schema.json is stale: run `cargo run -- schema -o docs/stack.schema.json`"
    );
}

#[test]
fn every_shipped_stack_validates_against_the_schema_and_a_typo_does_not() {
    let mut files = Vec::new();
    stack_files(&repo_path("stacks"), &mut files);
    for area in ["engine", "ci"] {
        stack_files(&repo_path("tests/fixtures").join(area), &mut files);
    }
    assert!(files.len() > 10, "{files:?}");
    let checked = validate(&files);
    assert_eq!(checked.code, 0, "{}\n{}", checked.stdout, checked.stderr);

    let dir = tempfile::tempdir().expect("dir");
    let typo = dir.path().join("stack.toml");
    std::fs::write(
        &typo,
        "[stack]\nname = \"x\"\nenvironments = [\"a\"]\n\n[aws_rds_instance.db]\nidentifer = \"x\"\nallocated_storage = \"${var.size}\"\nstorage_encrypted = \"yes\"\n",
    )
    .expect("write");
    let refused = validate(&[typo]);
    assert_ne!(refused.code, 0);
    let text = format!("{}{}", refused.stdout, refused.stderr);
    assert!(text.contains("'identifer' was unexpected"), "{text}");
    assert!(text.contains("storage_encrypted"), "{text}");
    assert!(
        !text.contains("allocated_storage"),
        "an interpolation is accepted for a number: {text}"
    );
}

#[test]
fn the_mita_stack_files_name_the_schema_for_editors() {
    let mut files = Vec::new();
    stack_files(&repo_path("stacks/mita"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let first = text.lines().next().unwrap_or("");
        assert_eq!(
            first,
            "#:schema ../../docs/stack.schema.json",
            "{}: taplo reads the schema from a `#:schema` comment on the first line",
            file.display()
        );
    }
}

#[test]
fn a_reader_that_goes_away_ends_plinth_quietly() {
    // `plinth schema | head -c 10`: the reader is gone before the write, which meets a closed
    // pipe. The same for the generated completion script (clap_complete panicked on it) and
    // the man page.
    for args in [&["schema"][..], &["completions", "bash"], &["man"]] {
        let mut child = plinth()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_deploy_workflows_install_a_pinned_release_instead_of_compiling() {
    for workflow in ["plinth-pr.yml", "plinth-deploy.yml"] {
        let text = std::fs::read_to_string(repo_path(".github/workflows").join(workflow))
            .expect("workflow");
        assert!(!text.contains("cargo build"), "{workflow} compiles Plinth");
        assert!(
            !text.contains("rust-toolchain"),
            "{workflow} installs a toolchain"
        );
        assert!(
            text.contains("uses: ./.github/actions/install-plinth"),
            "{workflow} does not install the pinned release"
        );
    }
    let action = std::fs::read_to_string(repo_path(".github/actions/install-plinth/action.yml"))
        .expect("action");
    assert!(
        action.contains("sha256sum --check"),
        "the archive is verified"
    );
}
