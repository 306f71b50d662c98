//! `plinth fmt` through the binary: rewrites in the canonical layout keeping comments,
//! `--check` changes nothing and exits 3, a syntax error is reported with its line and the file
//! is left alone, and formatting never changes what a stack means.

use std::path::Path;

use crate::support::{plinth, repo_path, Run};

const MESSY: &str = "# The stack.\n[stack]\nname=\"fmt\"   # its name\nenvironments = [ \"test\" ]\n\n\n\n[sim_resource.a]\nname = \"a\"\nsize   =   1\nlifecycle={create_before_destroy=true}\n";

fn fmt(args: &[&str], dir: &Path) -> Run {
    Run::from(
        plinth()
            .arg("fmt")
            .args(args)
            .arg(dir)
            .output()
            .expect("run plinth"),
    )
}

#[test]
fn fmt_rewrites_in_the_canonical_layout_and_keeps_comments() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("stack.toml");
    std::fs::write(&file, MESSY).expect("write");

    let checked = fmt(&["--check"], dir.path()).expect(3);
    assert!(checked.stdout.contains("stack.toml"), "{}", checked.stdout);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        MESSY,
        "--check changes nothing"
    );

    let diff = fmt(&["--check", "--diff"], dir.path()).expect(3);
    assert!(diff.stdout.contains("-size   =   1"), "{}", diff.stdout);
    assert!(diff.stdout.contains("+size"), "{}", diff.stdout);

    let done = fmt(&[], dir.path()).expect(0);
    assert!(
        done.stdout.contains("stack.toml"),
        "lists what it changed: {}",
        done.stdout
    );
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert!(formatted.contains("# The stack.") && formatted.contains("# its name"));
    assert!(
        formatted.contains("lifecycle = { create_before_destroy = true }"),
        "{formatted}"
    );
    assert!(!formatted.contains("\n\n\n"), "{formatted}");
    let before: toml::Table = toml::from_str(MESSY).unwrap();
    let after: toml::Table = toml::from_str(&formatted).unwrap();
    assert_eq!(before, after);

    let again = fmt(&["--check"], dir.path()).expect(0);
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    Run::from(
        plinth()
            .args(["validate"])
            .arg(dir.path())
            .output()
            .expect("validate"),
    )
    .expect(0);
}

#[test]
fn fmt_reports_a_syntax_error_with_its_line_and_leaves_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let broken = "[stack]\nname = \"x\"\nenvironments = [\"a\"\n";
    std::fs::write(dir.path().join("stack.toml"), broken).expect("write");
    std::fs::write(dir.path().join("other.toml"), "a   =  1\n").expect("write");
    let failed = fmt(&[], dir.path()).expect(1);
    assert!(
        failed.stderr.contains("plinth::syntax"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("stack.toml:"), "{}", failed.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stack.toml")).unwrap(),
        broken
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("other.toml")).unwrap(),
        "a = 1\n",
        "the files without errors are formatted"
    );
}

#[test]
fn fmt_never_changes_what_a_shipped_stack_means() {
    // Every stack and fixture of the repository, formatted into a temp copy: the TOML values
    // are the same, and formatting twice changes nothing more.
    let mut checked = 0;
    for root in ["stacks", "tests/fixtures"] {
        for entry in walk(&repo_path(root)) {
            let text = std::fs::read_to_string(&entry).expect("read");
            let Ok(before) = toml::from_str::<toml::Table>(&text) else {
                continue; // fixtures of syntax errors
            };
            let dir = tempfile::tempdir().expect("dir");
            let copy = dir.path().join("stack.toml");
            std::fs::write(&copy, &text).expect("write");
            fmt(&[], dir.path()).expect(0);
            let formatted = std::fs::read_to_string(&copy).expect("read");
            let after: toml::Table = toml::from_str(&formatted)
                .unwrap_or_else(|e| panic!("{}: {e}\n{formatted}", entry.display()));
            assert_eq!(before, after, "{}", entry.display());
            fmt(&["--check"], dir.path()).expect(0);
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked} files");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_shipped_stack_is_in_the_canonical_layout() {
    Run::from(
        plinth()
            .args(["fmt", "--check", "--recursive"])
            .arg(repo_path("stacks"))
            .output()
            .expect("run plinth"),
    )
    .expect(0);
}
