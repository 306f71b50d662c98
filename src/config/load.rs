//! The loader's entry point: read the `*.toml` files of a stack directory (and `--var-file`s),
//! parse them into the spanned mirror, lower every section, and return the typed [`Stack`]
//! or every problem found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plinth_provider::Schema;
use sha2::{Digest, Sha256};

use super::diagnostics::{Diagnostics, Problem};
use super::document::assemble;
use super::expr::Scope;
use super::limits::{show_size, Budget, Limit};
use super::model::{LoadOptions, SourceMap, Stack};
use super::raw::{parse_file, Table};
use super::variables::{self, VariableInputs};
use super::{resources, secrets, sections};

/// Loads the stack in `dir` for the environment chosen by `options`, checking every resource
/// against `schemas` (resource type → schema). Environment variables `PLINTH_VAR_<NAME>` are
/// read from the process environment.
///
/// This is what `plinth validate` runs; on failure the [`Diagnostics`] hold every problem.
pub fn load(
    dir: &Path,
    options: &LoadOptions,
    schemas: &BTreeMap<String, Schema>,
) -> Result<Stack, Diagnostics> {
    load_with_env(dir, options, schemas, &|name| std::env::var(name).ok())
}

/// [`load`] with the environment variables read through `getenv` (for tests and embedding).
pub fn load_with_env(
    dir: &Path,
    options: &LoadOptions,
    schemas: &BTreeMap<String, Schema>,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Result<Stack, Diagnostics> {
    let mut early: Vec<Problem> = Vec::new();
    let stack_files = list_stack_files(dir, &options.var_files, &mut early);
    let mut files = Vec::new();
    let mut hasher = Sha256::new();
    for path in &stack_files {
        if let Some(text) = read_text(path, options.limits.max_file_bytes, &mut early) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hasher.update(name.as_bytes());
            hasher.update([0u8]);
            hasher.update(text.as_bytes());
            hasher.update([0u8]);
            files.push((display_path(path), Arc::new(text)));
        }
    }
    let stack_file_count = files.len();
    let mut var_file_slots = Vec::new();
    for path in &options.var_files {
        match read_text(path, options.limits.max_file_bytes, &mut early) {
            Some(text) => {
                var_file_slots.push(Some(files.len()));
                files.push((display_path(path), Arc::new(text)));
            }
            None => var_file_slots.push(None),
        }
    }
    let config_hash = format!("sha256:{}", hex::encode(hasher.finalize()));
    let sources = Arc::new(SourceMap { files });
    let mut diags = Diagnostics::new(display_path(dir), Arc::clone(&sources));
    early.into_iter().for_each(|p| diags.push(p));

    let mut tables: Vec<Table> = Vec::new();
    let mut syntax_ok = true;
    for (file, (_, text)) in sources.files.iter().enumerate().take(stack_file_count) {
        match parse_file(file, text, options.limits.max_depth, &mut diags) {
            Some(table) => tables.push(table),
            None => syntax_ok = false,
        }
    }
    let var_files: Vec<Option<Table>> = var_file_slots
        .iter()
        .map(|slot| {
            let file = (*slot)?;
            let table = parse_file(
                file,
                &sources.files[file].1,
                options.limits.max_depth,
                &mut diags,
            );
            syntax_ok &= table.is_some();
            table
        })
        .collect();
    if !syntax_ok || stack_file_count == 0 {
        return Err(diags);
    }

    let raw = assemble(tables, schemas, &mut diags);
    let header = sections::stack_header(raw.stack.as_ref(), dir, &mut diags);
    let problems_before = diags.len();
    let environment = sections::select_environment(options, &header, &mut diags);
    if diags.len() > problems_before {
        // Without a valid environment every variable would be reported missing: stop here.
        return Err(diags);
    }
    let secrets = secrets::secrets(&raw.secrets, dir, &mut diags);
    let budget = Budget::for_limits(&options.limits);
    let inputs = VariableInputs {
        options,
        var_files: &var_files,
        getenv,
        budget: &budget,
        missing_is_unknown: options.as_module,
    };
    let variables = variables::resolve(
        &raw.variables,
        &environment,
        &header.environments,
        &header.name,
        &inputs,
        &mut diags,
    );

    let secret_names: BTreeSet<String> = raw.secrets.iter().map(|e| e.key.clone()).collect();
    let reader = super::files::FileReader::new(dir, options.limits.max_file_bytes);
    let root = super::model::ModulePath::root();
    let base = Scope {
        stack: &header.name,
        environment: &environment,
        variables: &variables,
        secrets: None,
        resources: None,
        counted: false,
        place: "here",
        budget: &budget,
        files: None,
        keyed: false,
        module: &root,
        inputs: None,
        modules: None,
        inherited_depends_on: &[],
    };
    let backend = sections::backend(
        raw.backend.as_ref(),
        &Scope {
            place: "in `[backend]`",
            ..base
        },
        &mut diags,
    );
    let providers = sections::providers(
        &raw.providers,
        &Scope {
            place: "in `[providers]`",
            ..base
        },
        &mut diags,
    );
    let preconditions = sections::preconditions(
        &raw.preconditions,
        &Scope {
            place: "in `[preconditions]`",
            ..base
        },
        &mut diags,
    );
    let waivers = sections::waivers(
        &raw.waivers,
        &Scope {
            place: "in `[waivers]`",
            ..base
        },
        &mut diags,
    );
    let resource_scope = Scope {
        secrets: Some(&secret_names),
        files: Some(&reader),
        ..base
    };
    let index = resources::index(&raw.resources, schemas, &resource_scope, &mut diags);
    if !resources::within_resource_limit(
        &raw.resources,
        &index,
        options.limits.max_resources,
        &mut diags,
    ) {
        return Err(diags);
    }
    let modules = super::modules::Modules::new(schemas, &options.limits, dir, &header.environments);
    // The stack's own directory is the first of the chain: a module cannot call the stack.
    let root_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let body = modules.lower_body(
        &raw,
        &index,
        dir,
        &resource_scope,
        std::slice::from_ref(&root_dir),
        &mut diags,
    );
    let (data, resources) = resources::split_data(body.resources, &mut diags);
    if resources.len() > options.limits.max_resources {
        diags.push(
            Problem::new(
                "plinth::too_many_resources",
                format!(
                    "the stack and its modules have {} resource instances, more than the limit of {}",
                    resources.len(),
                    options.limits.max_resources
                ),
            )
            .help(Limit::Resources.how_to_raise(resources.len())),
        );
        return Err(diags);
    }
    // Only `[[moved]]` and `[[removed]]` look at the declared addresses: a stack without them
    // does not format and hash every address (10k-resource no-op plan: ~10 M instructions).
    let any_moves = !raw.moved.is_empty() || !raw.removed.is_empty();
    let declared = if any_moves { resources.as_slice() } else { &[] };
    let instances: foldhash::HashSet<String> =
        declared.iter().map(|r| r.address.to_string()).collect();
    let counted_blocks: foldhash::HashSet<String> = declared
        .iter()
        .filter(|r| r.address.key.is_some())
        .map(|r| r.address.block())
        .collect();
    let declared_modules = super::moves::declared_modules(declared.iter().map(|r| &r.address));
    let (moved, removed) = super::moves::moves(
        &raw.moved,
        &raw.removed,
        &super::moves::Declared {
            instances: &instances,
            counted_blocks: &counted_blocks,
            modules: &declared_modules,
        },
        &Scope {
            place: "in `[[moved]]` and `[[removed]]`",
            ..base
        },
        &mut diags,
    );
    let outputs = body.outputs;
    for output in outputs.values() {
        for reference in output.value.references() {
            if reference
                .target
                .type_name
                .starts_with(plinth_provider::DATA_PREFIX)
            {
                diags.push(
                    Problem::new(
                        "plinth::data_in_output",
                        format!("an output refers to `{}`", reference.target),
                    )
                    .at(reference.origin, "not supported yet")
                    .help("outputs are evaluated from state, which does not record data sources: output the resource attribute that uses it"),
                );
            }
        }
    }

    if !diags.is_empty() {
        return Err(diags);
    }
    // A saved plan is refused when a file the stack reads changed, as when a stack file did.
    let config_hash = reader.extend_hash(modules_hash(config_hash, &modules));
    Ok(Stack {
        name: header.name,
        dir: dir.to_path_buf(),
        environments: header.environments,
        environment,
        backend,
        providers,
        variables,
        secrets,
        resources,
        data,
        outputs,
        preconditions,
        waivers,
        moved,
        removed,
        sources: Arc::clone(diags.sources()),
        config_hash,
    })
}

/// The configuration digest with every module file folded in (unchanged without modules).
fn modules_hash(config_hash: String, modules: &super::modules::Modules<'_>) -> String {
    let files = modules.files.borrow();
    super::files::fold_into_hash(
        config_hash,
        files
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_bytes())),
    )
}

/// The environments the stack in `dir` declares (`[stack] environments`), read without
/// loading the stack; empty when the files cannot be read or parsed (loading then reports
/// why). `plinth validate` without `--env` checks each of them.
pub fn declared_environments(dir: &Path) -> Vec<String> {
    let mut ignored = Vec::new();
    for path in list_stack_files(dir, &[], &mut ignored) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // Only the `[stack]` table is parsed: a generated stack of 100 000 resources is one
        // 14 MB file, and parsing it whole here doubled the time of `validate`.
        let Some(section) = stack_section(&text) else {
            continue;
        };
        let Ok(table) = toml::from_str::<toml::Table>(section) else {
            continue;
        };
        let environments = table
            .get("stack")
            .and_then(|stack| stack.get("environments"))
            .and_then(|list| list.as_array());
        if let Some(list) = environments {
            return list
                .iter()
                .filter_map(|name| name.as_str().map(str::to_string))
                .collect();
        }
    }
    Vec::new()
}

/// True when no file of `dir` has a `[stack]` table: the directory is a module (or a stack
/// that names itself after its directory; `validate` then checks it as a module, whose
/// inputs without a default are unknown rather than missing).
pub fn is_module_directory(dir: &Path) -> bool {
    let mut ignored = Vec::new();
    let files = list_stack_files(dir, &[], &mut ignored);
    !files.is_empty()
        && files.iter().all(|path| {
            std::fs::read_to_string(path).is_ok_and(|text| stack_section(&text).is_none())
        })
}

/// The text of the `[stack]` table: from its header to the next table header.
fn stack_section(text: &str) -> Option<&str> {
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let header = line.trim_start().starts_with('[');
        match start {
            None if line.trim() == "[stack]" => start = Some(offset),
            Some(begin) if header => return Some(&text[begin..offset]),
            _ => {}
        }
        offset += line.len();
    }
    start.map(|begin| &text[begin..])
}

/// Files ending in this are variable files (`--var-file staging.vars.toml`), never stack code,
/// so they can live beside the stack (as `*.tfvars` files live beside Terraform code).
pub const VAR_FILE_SUFFIX: &str = ".vars.toml";

/// Whether the loader reads `path` as stack code: a `*.toml` file that is neither a variable
/// file by name (`*.vars.toml`) nor one of the `--var-file`s of this run.
fn is_stack_file(path: &Path, var_files: &[PathBuf]) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if !name.ends_with(".toml") || name.ends_with(VAR_FILE_SUFFIX) {
        return false;
    }
    let canonical = std::fs::canonicalize(path).ok();
    !var_files.iter().any(|v| {
        std::fs::canonicalize(v)
            .ok()
            .is_some_and(|v| Some(v) == canonical)
    })
}

/// The stack's `*.toml` files of the directory, sorted by name (variable files left out, see
/// [`is_stack_file`]; subdirectories such as `vars/` are never read).
pub(crate) fn list_stack_files(
    dir: &Path,
    var_files: &[PathBuf],
    problems: &mut Vec<Problem>,
) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(
                Problem::new(
                    "plinth::unreadable",
                    format!(
                        "cannot read the stack directory `{}`: {e}",
                        display_path(dir)
                    ),
                )
                .help("pass the directory that holds the stack's `*.toml` files"),
            );
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_stack_file(p, var_files))
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() && problems.is_empty() {
        problems.push(
            Problem::new("plinth::empty_stack", format!("no `*.toml` files in `{}`", display_path(dir)))
                .help("a stack is a directory of TOML files; start with a `stack.toml` holding `[stack] name = \"...\"`"),
        );
    }
    files
}

/// Reads a file of at most `max_bytes` (read through a bounded reader, so a special file such
/// as `/dev/zero` passed as a `--var-file` cannot exhaust memory either).
pub(crate) fn read_text(
    path: &Path,
    max_bytes: u64,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|file| {
        let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
        if declared > max_bytes {
            return Ok(declared);
        }
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map(|n| n as u64)
    });
    match read {
        Ok(size) if size > max_bytes => {
            problems.push(
                Problem::new(
                    "plinth::file_too_large",
                    format!(
                        "`{}` is larger than the limit of {} for one file",
                        display_path(path),
                        show_size(max_bytes)
                    ),
                )
                .help(format!(
                    "split the stack into smaller files; {}",
                    Limit::FileSize.how_to_raise(format!("{}MiB", size / (1024 * 1024) + 1))
                )),
            );
            None
        }
        Ok(_) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                problems.push(
                    Problem::new(
                        "plinth::unreadable",
                        format!("`{}` is not UTF-8 text", display_path(path)),
                    )
                    .help("save the file as UTF-8"),
                );
                None
            }
        },
        Err(e) => {
            problems.push(Problem::new(
                "plinth::unreadable",
                format!("cannot read `{}`: {e}", display_path(path)),
            ));
            None
        }
    }
}

/// A path as shown to the user: relative to the current directory when it is below it.
pub(crate) fn display_path(path: &Path) -> String {
    if path.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(relative) = path.strip_prefix(&cwd) {
                return relative.display().to_string();
            }
        }
    }
    path.display().to_string()
}
