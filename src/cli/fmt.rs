//! `plinth fmt`: rewrites stack files in the canonical layout (taplo's formatter, the one
//! editors with Even Better TOML use), keeping comments. Like `terraform fmt`: it lists the
//! files it changed; `--check` changes nothing and exits 3 when a file is not formatted;
//! `--diff` prints what would change. A file with a TOML syntax error is never rewritten.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::{EXIT_DRIFT, EXIT_OK};
use crate::config::{Diagnostics, SourceMap};

/// Arguments of `plinth fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Stack directories or files (`-` reads standard input and writes standard output).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Change nothing; exit 3 when a file is not in the canonical layout (0 when all are).
    #[arg(long)]
    check: bool,
    /// Print a unified diff of what would change.
    #[arg(long)]
    diff: bool,
    /// Also format the `*.toml` files of subdirectories (modules, variable files in `vars/`).
    #[arg(long, short = 'r')]
    recursive: bool,
}

/// The canonical layout of one file's text (`None`: not parseable TOML; see [`syntax_errors`]).
pub fn canonical(text: &str) -> String {
    // `=` aligned within a run of entries, as `terraform fmt` aligns them; arrays keep the
    // author's one-line or multi-line choice (expanding one inside an inline table reads
    // worse than a long line); at most one blank line between entries.
    let options = taplo::formatter::Options {
        align_entries: true,
        array_auto_expand: false,
        array_auto_collapse: false,
        allowed_blank_lines: 1,
        ..taplo::formatter::Options::default()
    };
    taplo::formatter::format(text, options)
}

/// Runs `plinth fmt`.
pub fn run(args: FmtArgs) -> miette::Result<i32> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        return stdin(&args);
    }
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, args.recursive, &mut files)?;
    }
    let mut sources = SourceMap::default();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| miette::miette!("cannot read `{}`: {e}", file.display()))?;
        sources
            .files
            .push((file.display().to_string(), Arc::new(text)));
    }
    let sources = Arc::new(sources);
    let diagnostics = syntax_errors(&sources);
    let broken: Vec<usize> = diagnostics
        .problems()
        .iter()
        .filter_map(|p| p.origin().map(|o| o.file))
        .collect();
    let mut unformatted = 0;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (index, (name, text)) in sources.files.iter().enumerate() {
        if broken.contains(&index) {
            continue;
        }
        let formatted = canonical(text);
        if formatted == **text {
            continue;
        }
        unformatted += 1;
        let _ = writeln!(out, "{name}");
        if args.diff {
            let _ = write!(out, "{}", unified_diff(name, text, &formatted));
        }
        if !args.check {
            write_atomically(&files[index], &formatted)?;
        }
    }
    if !diagnostics.is_empty() {
        return Err(miette::Report::new(diagnostics));
    }
    Ok(if args.check && unformatted > 0 {
        EXIT_DRIFT
    } else {
        EXIT_OK
    })
}

fn stdin(args: &FmtArgs) -> miette::Result<i32> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| miette::miette!("cannot read standard input: {e}"))?;
    let mut sources = SourceMap::default();
    sources.files.push(("<stdin>".into(), Arc::new(text)));
    let sources = Arc::new(sources);
    let diagnostics = syntax_errors(&sources);
    if !diagnostics.is_empty() {
        return Err(miette::Report::new(diagnostics));
    }
    let text = &sources.files[0].1;
    let formatted = canonical(text);
    if args.check || args.diff {
        if args.diff {
            print!("{}", unified_diff("<stdin>", text, &formatted));
        }
        return Ok(if args.check && formatted != **text {
            EXIT_DRIFT
        } else {
            EXIT_OK
        });
    }
    print!("{formatted}");
    Ok(EXIT_OK)
}

/// Every TOML syntax error of the files, as the loader reports them (file, line, span).
fn syntax_errors(sources: &Arc<SourceMap>) -> Diagnostics {
    let mut diagnostics = Diagnostics::new("the files to format", Arc::clone(sources));
    let depth = crate::config::Limits::default().max_depth;
    for (index, (_, text)) in sources.files.iter().enumerate() {
        crate::config::parse_file(index, text, depth, &mut diagnostics);
    }
    diagnostics
}

fn collect(path: &Path, recursive: bool, files: &mut Vec<PathBuf>) -> miette::Result<()> {
    if path.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| miette::miette!("cannot read `{}`: {e}", path.display()))?;
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if entry.is_dir() && recursive && !hidden {
            collect(&entry, recursive, files)?;
        } else if entry.is_file() && entry.extension().is_some_and(|e| e == "toml") {
            files.push(entry);
        }
    }
    Ok(())
}

fn unified_diff(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// Replaces the file through a temporary file beside it, so an interrupted `fmt` never
/// leaves half a stack file.
fn write_atomically(path: &Path, text: &str) -> miette::Result<()> {
    let fail = |e: std::io::Error| miette::miette!("cannot write `{}`: {e}", path.display());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".fmt-{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_layout_keeps_comments_and_values() {
        let text = "# top\n[stack]\nname=\"x\"   # keep\nenvironments = [ \"a\",\"b\" ]\n\n\n\n[sim_resource.a]\nname   =   \"a\"\nlifecycle={create_before_destroy=true}\n";
        let formatted = canonical(text);
        assert!(formatted.contains("# top"), "{formatted}");
        assert!(formatted.contains("# keep"), "{formatted}");
        assert!(
            formatted.contains("environments = [\"a\", \"b\"]"),
            "{formatted}"
        );
        assert!(formatted.contains("lifecycle = { create_before_destroy = true }"));
        assert!(
            !formatted.contains("\n\n\n"),
            "one blank line at most: {formatted}"
        );
        let before: toml::Table = toml::from_str(text).unwrap();
        let after: toml::Table = toml::from_str(&formatted).unwrap();
        assert_eq!(before, after, "formatting never changes a value");
        assert_eq!(canonical(&formatted), formatted, "formatting is idempotent");
    }
}
