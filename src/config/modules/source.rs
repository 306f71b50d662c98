//! Where a module call's directory is and what it holds: `source` resolved and checked (a
//! relative directory inside the repository, not already being expanded), each directory read
//! and parsed once with what a module may not declare reported, and the order calls are
//! expanded in (a call after the calls whose outputs it uses).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use super::super::diagnostics::{Diagnostics, Problem};
use super::super::document::{assemble, RawStack};
use super::super::model::Origin;
use super::super::raw::{parse_file, Entry, Node};
use super::{Modules, MAX_DEPTH};

impl Modules<'_> {
    /// The module directory a call names, read and parsed (once per directory).
    pub(super) fn source(
        &self,
        call: &Entry,
        dir: &Path,
        chain: &[PathBuf],
        diags: &mut Diagnostics,
    ) -> Option<(PathBuf, Rc<RawStack>)> {
        let name = &call.key;
        let Some(node) = call.value.as_table().and_then(|t| t.get("source")) else {
            diags.push(
                Problem::new("plinth::bad_module", format!("module `{name}` has no `source`"))
                    .at(call.value.origin, "no `source`")
                    .help("add `source = \"../modules/NAME\"`: the module's directory, relative to this stack's"),
            );
            return None;
        };
        let here = node.value.origin;
        let Some(source) = node.value.as_str() else {
            diags.push(
                Problem::new("plinth::bad_module", "a module `source` must be a string")
                    .at(here, format!("this is a {}", node.value.kind_name()))
                    .help("write `source = \"../modules/NAME\"`"),
            );
            return None;
        };
        let bad = |diags: &mut Diagnostics, message: String, label: &str, help: String| {
            diags.push(
                Problem::new("plinth::bad_module", message)
                    .at(here, label.to_string())
                    .help(help),
            );
            None
        };
        if source.is_empty() || Path::new(source).is_absolute() || source.contains("${") {
            return bad(
                diags,
                format!("module source `{source}` must be a relative path"),
                "not a relative path",
                "write the module's directory relative to this stack's (no `${...}`), e.g. `../modules/app-tier`".to_string(),
            );
        }
        let Ok(module_dir) = dir.join(source).canonicalize() else {
            return bad(
                diags,
                format!("module source `{source}` is not a directory"),
                "no such directory",
                format!(
                    "the path is relative to `{}`",
                    super::super::load::display_path(dir)
                ),
            );
        };
        if !module_dir.is_dir() {
            return bad(
                diags,
                format!("module source `{source}` is not a directory"),
                "not a directory",
                "a module is a directory of `*.toml` files".to_string(),
            );
        }
        if !module_dir.starts_with(&self.boundary) {
            return bad(
                diags,
                format!("module source `{source}` is outside the stack's repository"),
                "outside the repository",
                format!(
                    "modules are read from `{}` and below (a plan of a pull request must not read the runner's files)",
                    self.boundary.display()
                ),
            );
        }
        if chain.contains(&module_dir) {
            return bad(
                diags,
                format!("module `{name}` calls itself (through `{source}`)"),
                "already being expanded",
                "a module cannot use itself, directly or through other modules".to_string(),
            );
        }
        if chain.len() >= MAX_DEPTH {
            return bad(
                diags,
                format!("modules nest more than {MAX_DEPTH} deep"),
                "too deep",
                "flatten the modules".to_string(),
            );
        }
        let cached = self.cache.borrow().get(&module_dir).cloned();
        let raw = match cached {
            Some(raw) => raw,
            None => {
                let raw = self.read(&module_dir, here, diags).map(Rc::new);
                self.cache
                    .borrow_mut()
                    .insert(module_dir.clone(), raw.clone());
                raw
            }
        }?;
        Some((module_dir, raw))
    }

    /// Reads and parses a module directory, reporting what a module may not declare.
    fn read(&self, dir: &Path, here: Origin, diags: &mut Diagnostics) -> Option<RawStack> {
        let mut problems = Vec::new();
        let paths = super::super::load::list_stack_files(dir, &[], &mut problems);
        for problem in problems {
            diags.push(problem.at(here, "this module"));
        }
        let mut tables = Vec::new();
        let mut ok = !paths.is_empty();
        for path in paths {
            let mut problems = Vec::new();
            let Some(text) =
                super::super::load::read_text(&path, self.limits.max_file_bytes, &mut problems)
            else {
                problems
                    .into_iter()
                    .for_each(|p| diags.push(p.at(here, "in this module")));
                ok = false;
                continue;
            };
            let text = Arc::new(text);
            let shown = super::super::load::display_path(&path);
            self.files
                .borrow_mut()
                .push((shown.clone(), Arc::clone(&text)));
            let file = diags.add_source(shown, Arc::clone(&text));
            match parse_file(file, &text, self.limits.max_depth, diags) {
                Some(table) => tables.push(table),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let raw = assemble(tables, self.schemas, diags);
        let not_here: [(&str, Option<Origin>); 8] = [
            ("[stack]", raw.stack.as_ref().map(|e| e.key_origin)),
            ("[backend]", raw.backend.as_ref().map(|e| e.key_origin)),
            ("[providers]", raw.providers.first().map(|e| e.key_origin)),
            ("[secrets]", raw.secrets.first().map(|e| e.key_origin)),
            (
                "[preconditions]",
                raw.preconditions.first().map(|e| e.key_origin),
            ),
            ("[waivers]", raw.waivers.first().map(|e| e.key_origin)),
            ("[[moved]]", raw.moved.first().map(|n| n.origin)),
            ("[[removed]]", raw.removed.first().map(|n| n.origin)),
        ];
        for (section, at) in not_here {
            if let Some(at) = at {
                diags.push(
                    Problem::new(
                        "plinth::not_in_module",
                        format!("a module cannot declare {section}"),
                    )
                    .at(at, "in a module")
                    .help(module_help(section)),
                );
            }
        }
        for data in raw
            .resources
            .iter()
            .filter(|r| r.type_name.starts_with(plinth_provider::DATA_PREFIX))
        {
            diags.push(
                Problem::new(
                    "plinth::not_in_module",
                    format!(
                        "a module cannot declare `[{}.{}]` yet",
                        data.type_name, data.entry.key
                    ),
                )
                .at(data.entry.value.origin, "a data lookup in a module")
                .help("declare the lookup in the stack and pass what it reads as an input"),
            );
        }
        Some(raw)
    }
}

fn module_help(section: &str) -> &'static str {
    match section {
        "[secrets]" => "declare secrets in the stack and pass them as inputs: `password = \"${secret.db_password}\"`",
        "[[moved]]" | "[[removed]]" => "write moves in the stack, with the module address: `from = \"module.api.aws_s3_bucket.old\"`",
        "[providers]" => "modules use the stack's providers",
        _ => "the stack that calls the module declares it",
    }
}

/// The order to expand calls in: a call whose inputs or `depends_on` name `module.OTHER`
/// after OTHER. A cycle between calls is reported (each call in it is then skipped).
pub(super) fn call_order(calls: &[Entry], diags: &mut Diagnostics) -> Vec<usize> {
    let names: Vec<&str> = calls.iter().map(|c| c.key.as_str()).collect();
    let needs: Vec<BTreeSet<usize>> = calls
        .iter()
        .map(|c| {
            let mut used = BTreeSet::new();
            mentioned_modules(&c.value, &mut |name| {
                if let Some(j) = names.iter().position(|n| *n == name) {
                    used.insert(j);
                }
            });
            used
        })
        .collect();
    let mut done = vec![false; calls.len()];
    let mut order = Vec::new();
    loop {
        let next = (0..calls.len()).find(|&i| !done[i] && needs[i].iter().all(|&j| done[j]));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => break,
        }
    }
    if let Some(start) = (0..calls.len()).find(|&i| !done[i]) {
        // Walk the unresolved calls until one repeats: that is a cycle.
        let mut path = vec![start];
        loop {
            let last = *path.last().unwrap_or(&start);
            let Some(&next) = needs[last].iter().find(|&&j| !done[j]) else {
                break;
            };
            if let Some(at) = path.iter().position(|&p| p == next) {
                path.drain(..at);
                break;
            }
            path.push(next);
        }
        let shown: Vec<String> = path
            .iter()
            .chain(path.first())
            .map(|&i| format!("module.{}", names[i]))
            .collect();
        let mut problem = Problem::new(
            "plinth::cycle",
            format!(
                "dependency cycle between module calls: {}",
                shown.join(" -> ")
            ),
        );
        for (n, &i) in path.iter().enumerate() {
            let next = path[(n + 1) % path.len()];
            problem = if n == 0 {
                problem.at(
                    calls[i].value.origin,
                    format!("uses `module.{}`", names[next]),
                )
            } else {
                problem.also(
                    calls[i].value.origin,
                    format!("uses `module.{}`", names[next]),
                )
            };
        }
        diags.push(problem.help(
            "break the cycle: a module's inputs cannot use the outputs of a module that uses its own",
        ));
    }
    order
}

/// Calls `found` with each `NAME` of `module.NAME` written in a call's strings.
fn mentioned_modules(node: &Node, found: &mut dyn FnMut(&str)) {
    match &node.value {
        super::super::raw::NodeValue::String(s) => {
            let mut rest = s.as_str();
            while let Some(at) = rest.find("module.") {
                let tail = &rest[at + "module.".len()..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(tail.len());
                let preceded = rest[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                if !preceded && end > 0 {
                    found(&tail[..end]);
                }
                rest = &tail[end..];
            }
        }
        super::super::raw::NodeValue::Array(items) => {
            items.iter().for_each(|n| mentioned_modules(n, found))
        }
        super::super::raw::NodeValue::Table(t) => t
            .entries
            .iter()
            .for_each(|e| mentioned_modules(&e.value, found)),
        _ => {}
    }
}

/// The directory modules must stay inside: the nearest ancestor of the stack holding `.git`,
/// else the stack directory's parent.
pub(super) fn repository_of(stack_dir: &Path) -> PathBuf {
    let dir = stack_dir
        .canonicalize()
        .unwrap_or_else(|_| stack_dir.to_path_buf());
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .or_else(|| dir.parent())
        .unwrap_or(&dir)
        .to_path_buf()
}
