//! Loader tests of `for_each` and modules: expansion, addresses, references across a module
//! boundary, and every module problem reported with file and span in one run.

use std::collections::BTreeMap;
use std::path::Path;

use plinth_provider::Value;

use super::tests::schemas;
use super::*;

/// Writes `files` (`path relative to a fresh directory`, text) and loads `stack/`.
fn load_tree(files: &[(&str, &str)], options: &LoadOptions) -> Result<Stack, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    load_with_env(&dir.path().join("stack"), options, &schemas(), &|_| None)
}

fn addresses(stack: &Stack) -> Vec<String> {
    stack
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect()
}

fn resource<'a>(stack: &'a Stack, address: &str) -> &'a ResourceConfig {
    stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("{address} in {:?}", addresses(stack)))
}

fn problems(result: Result<Stack, Diagnostics>) -> Vec<(&'static str, String)> {
    match result {
        Ok(stack) => panic!("expected errors, loaded {:?}", addresses(&stack)),
        Err(diags) => diags
            .problems()
            .iter()
            .map(|p| {
                let at = p
                    .origin()
                    .map(|o| diags.sources().locate(o))
                    .unwrap_or_else(|| "nowhere".into());
                (p.code(), at)
            })
            .collect(),
    }
}

#[test]
fn for_each_names_instances_by_key_with_each_key_and_each_value() {
    let text = r#"
[variables]
buckets = { default = { logs = 30, assets = 90 } }

[sim_resource.bucket]
for_each = "${var.buckets}"
name     = "shop-${each.key}"
size     = "${each.value}"

[sim_resource.policy]
for_each = "${var.buckets}"
name     = "policy-${each.key}"
tags     = { bucket = "${sim_resource.bucket[each.key].arn}" }

[sim_resource.team]
for_each = ["b", "a", "b"]
name     = "team-${each.value}"

[plinth_data.all]
input = { arns = "${sim_resource.bucket[*].arn}", logs = '${sim_resource.bucket["logs"].id}' }
"#;
    let stack = load_tree(&[("stack/a.toml", text)], &LoadOptions::default()).unwrap();
    assert_eq!(
        addresses(&stack),
        [
            r#"sim_resource.bucket["assets"]"#,
            r#"sim_resource.bucket["logs"]"#,
            r#"sim_resource.policy["assets"]"#,
            r#"sim_resource.policy["logs"]"#,
            r#"sim_resource.team["a"]"#,
            r#"sim_resource.team["b"]"#,
            "plinth_data.all",
        ]
    );
    let logs = resource(&stack, r#"sim_resource.bucket["logs"]"#);
    assert_eq!(
        logs.attributes["name"],
        Expr::Literal(Value::String("shop-logs".into()))
    );
    assert_eq!(logs.attributes["size"], Expr::Literal(Value::Int(30)));
    let policy = resource(&stack, r#"sim_resource.policy["assets"]"#);
    let targets: Vec<String> = policy.attributes["tags"]
        .references()
        .iter()
        .map(|r| r.target.to_string())
        .collect();
    assert_eq!(targets, [r#"sim_resource.bucket["assets"]"#]);
    let all: Vec<String> = resource(&stack, "plinth_data.all").attributes["input"]
        .references()
        .iter()
        .map(|r| r.target.to_string())
        .collect();
    assert_eq!(
        all,
        [
            r#"sim_resource.bucket["assets"]"#,
            r#"sim_resource.bucket["logs"]"#,
            r#"sim_resource.bucket["logs"]"#,
        ]
    );
}

#[test]
fn for_each_problems_are_diagnostics() {
    let cases = [
        // A key known only after apply is refused, naming where it came from.
        (
            "[sim_resource.a]\nname = \"a\"\n[sim_resource.b]\nfor_each = \"${sim_resource.a.id}\"\nname = \"b\"\n",
            "plinth::reference_not_allowed",
        ),
        ("[sim_resource.b]\nfor_each = 3\nname = \"b\"\n", "plinth::bad_for_each"),
        ("[sim_resource.b]\nfor_each = [1]\nname = \"b\"\n", "plinth::bad_for_each"),
        (
            "[sim_resource.b]\nfor_each = [\"x\"]\ncount = 2\nname = \"b\"\n",
            "plinth::count_and_for_each",
        ),
        ("[sim_resource.b]\nname = \"${each.key}\"\n", "plinth::each_outside_for_each"),
        (
            "[sim_resource.b]\nfor_each = [\"x\"]\nname = \"b\"\n[sim_resource.c]\nname = \"${sim_resource.b.id}\"\n",
            "plinth::missing_index",
        ),
        (
            "[sim_resource.b]\nfor_each = [\"x\"]\nname = \"b\"\n[sim_resource.c]\nname = '${sim_resource.b[\"y\"].id}'\n",
            "plinth::index_out_of_range",
        ),
        (
            "[sim_resource.b]\ncount = 1\nname = \"b\"\n[sim_resource.c]\nname = '${sim_resource.b[\"y\"].id}'\n",
            "plinth::wrong_index",
        ),
    ];
    for (text, code) in cases {
        let found = problems(load_tree(
            &[("stack/a.toml", text)],
            &LoadOptions::default(),
        ));
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert_eq!(found[0].0, code, "{text}");
        assert!(
            found[0].1.starts_with("stack/a.toml:") || found[0].1.contains("a.toml:"),
            "{found:?}"
        );
    }
}

const MODULE: &str = r#"
[variables]
name   = { type = "string" }
size   = { type = "number", default = 1 }
source = { type = "string", default = "" }
secret = { type = "string", default = "" }

[sim_resource.db]
name     = "${var.name}-db"
size     = "${var.size}"
tags     = { source = "${var.source}" }
password = "${var.secret}"

[sim_resource.cache]
count = "${var.size}"
name  = "${var.name}-cache-${count.index}"
tags  = { db = "${sim_resource.db.arn}" }

[outputs]
db_arn = "${sim_resource.db.arn}"
label  = "${var.name}"
"#;

#[test]
fn a_module_used_twice_with_for_each_expands_under_its_addresses() {
    let stack_text = r#"
[variables]
services = { default = { api = 2, web = 1 } }

[secrets]
db_password = { generate = { length = 16 } }

[sim_resource.network]
name = "net"

[module.svc]
source   = "../modules/svc"
for_each = "${var.services}"
name     = "shop-${each.key}"
size     = "${each.value}"
source_  = 1
"#;
    // `source_` is not an input: reported; the fixed text below is the valid stack.
    let found = problems(load_tree(
        &[
            ("stack/a.toml", stack_text),
            ("modules/svc/main.toml", MODULE),
        ],
        &LoadOptions::default(),
    ));
    assert_eq!(
        found.iter().map(|f| f.0).collect::<Vec<_>>(),
        ["plinth::unknown_input"]
    );
    let stack_text = stack_text.replace("source_  = 1", "source = \"${sim_resource.network.arn}\"")
        .replace("source   = \"../modules/svc\"\n", "source   = \"../modules/svc\"\nsecret = \"${secret.db_password}\"\n")
        .replace("source = \"${sim_resource.network.arn}\"", "")
        + "\n[sim_resource.edge]\nname = '${module.svc[\"api\"].label}-edge'\ntags = { db = '${module.svc[\"web\"].db_arn}' }\ndepends_on = [\"module.svc\"]\n";
    let stack = load_tree(
        &[
            ("stack/a.toml", &stack_text),
            ("modules/svc/main.toml", MODULE),
        ],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render_plain(100)));
    assert_eq!(
        addresses(&stack),
        [
            r#"module.svc["api"].sim_resource.db"#,
            r#"module.svc["api"].sim_resource.cache[0]"#,
            r#"module.svc["api"].sim_resource.cache[1]"#,
            r#"module.svc["web"].sim_resource.db"#,
            r#"module.svc["web"].sim_resource.cache[0]"#,
            "sim_resource.network",
            "sim_resource.edge",
        ]
    );
    let cache = resource(&stack, r#"module.svc["api"].sim_resource.cache[1]"#);
    assert_eq!(
        cache.attributes["name"],
        Expr::Literal(Value::String("shop-api-cache-1".into()))
    );
    // A reference inside the module names the module's own instance.
    assert_eq!(
        cache.attributes["tags"].references()[0].target.to_string(),
        r#"module.svc["api"].sim_resource.db"#
    );
    // The secret passed as an input stays a secret.
    let db = resource(&stack, r#"module.svc["web"].sim_resource.db"#);
    assert_eq!(db.attributes["password"].secrets()[0].name, "db_password");
    // Outputs are the module's expressions; `depends_on = ["module.svc"]` is every resource.
    let edge = resource(&stack, "sim_resource.edge");
    assert_eq!(
        edge.attributes["name"],
        Expr::Literal(Value::String("shop-api-edge".into()))
    );
    assert_eq!(
        edge.attributes["tags"].references()[0].target.to_string(),
        r#"module.svc["web"].sim_resource.db"#
    );
    assert_eq!(edge.depends_on.len(), 5);
    let graph = crate::graph::DependencyGraph::build(&stack).unwrap();
    assert!(graph
        .dependencies("sim_resource.edge")
        .contains(&r#"module.svc["web"].sim_resource.cache[0]"#.to_string()));
    // DOT ids with keys are escaped (`plinth graph | dot` must parse).
    let dot = graph.to_dot();
    assert!(
        dot.contains(r#"  "module.svc[\"api\"].sim_resource.db";"#),
        "{dot}"
    );
}

#[test]
fn module_inputs_outputs_nest_and_carry_references_both_ways() {
    let inner = "[variables]\nparent = {}\n[sim_resource.leaf]\nname = \"leaf\"\ntags = { p = \"${var.parent}\" }\n[outputs]\nleaf = \"${sim_resource.leaf.id}\"\n";
    let outer = "[variables]\nroot_id = {}\n[sim_resource.mid]\nname = \"mid\"\ntags = { r = \"${var.root_id}\" }\n[module.inner]\nsource = \"../inner\"\nparent = \"${sim_resource.mid.arn}\"\n[outputs]\nleaf = \"${module.inner.leaf}\"\n";
    let root = "[sim_resource.top]\nname = \"top\"\n[module.outer]\nsource = \"../modules/outer\"\nroot_id = \"${sim_resource.top.id}\"\n[sim_resource.after]\nname = \"${module.outer.leaf}\"\n[module.outer2]\nsource = \"../modules/outer\"\ndepends_on = [\"module.outer\"]\nroot_id = \"${module.outer.leaf}\"\n";
    let stack = load_tree(
        &[
            ("stack/a.toml", root),
            ("modules/outer/main.toml", outer),
            ("modules/inner/main.toml", inner),
        ],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render_plain(100)));
    let refs = |address: &str, attribute: &str| -> Vec<String> {
        resource(&stack, address).attributes[attribute]
            .references()
            .iter()
            .map(|r| r.to_string())
            .collect()
    };
    assert_eq!(
        refs("module.outer.sim_resource.mid", "tags"),
        ["sim_resource.top.id"]
    );
    assert_eq!(
        refs("module.outer.module.inner.sim_resource.leaf", "tags"),
        ["module.outer.sim_resource.mid.arn"]
    );
    assert_eq!(
        refs("sim_resource.after", "name"),
        ["module.outer.module.inner.sim_resource.leaf.id"]
    );
    assert_eq!(
        refs("module.outer2.sim_resource.mid", "tags"),
        ["module.outer.module.inner.sim_resource.leaf.id"]
    );
    // The module's depends_on reaches every resource inside it, nested ones too.
    let leaf2 = resource(&stack, "module.outer2.module.inner.sim_resource.leaf");
    assert!(leaf2
        .depends_on
        .iter()
        .any(|(a, _)| a.to_string() == "module.outer.module.inner.sim_resource.leaf"));
}

#[test]
fn every_module_problem_is_reported_in_one_run_with_file_and_line() {
    let root = r#"
[sim_resource.a]
name = "${module.good.nope}"

[module.missing]
source = "../modules/not-there"

[module.good]
source  = "../modules/svc"
name    = "x"
size    = "large"
colour  = "red"

[module.needs]
source = "../modules/svc"

[module.left]
source = "../modules/svc"
name   = "${module.right.label}"

[module.right]
source = "../modules/svc"
name   = "${module.left.label}"

[sim_resource.b]
name = "${module.ghost.label}"

[module.bad]
source = "../modules/bad"
"#;
    let bad = "[secrets]\nx = { from = \"env:X\" }\n[sim_resource.s]\nname = \"${secret.db}\"\n";
    let found = problems(load_tree(
        &[
            ("stack/main.toml", root),
            ("modules/svc/main.toml", MODULE),
            ("modules/bad/main.toml", bad),
        ],
        &LoadOptions::default(),
    ));
    let codes: Vec<&str> = found.iter().map(|f| f.0).collect();
    assert!(
        !codes.contains(&"plinth::bad_count"),
        "no follow-up of the wrong type: {found:?}"
    );
    for code in [
        "plinth::bad_module",       // missing source directory
        "plinth::wrong_type",       // size = "large" for a number
        "plinth::unknown_input",    // colour
        "plinth::missing_variable", // module.needs has no name
        "plinth::cycle",            // left <-> right
        "plinth::unknown_output",   // module.good.nope
        "plinth::unknown_module",   // module.ghost
        "plinth::not_in_module",    // [secrets] in a module
        "plinth::unknown_secret",   // a module reading the stack's secret
    ] {
        assert!(codes.contains(&code), "{code} missing from {found:?}");
    }
    for (code, at) in &found {
        assert!(
            at.contains("stack/main.toml:") || at.contains("modules/"),
            "{code} at {at}"
        );
    }
    let at = |code: &str| found.iter().find(|f| f.0 == code).unwrap().1.clone();
    assert!(
        at("plinth::bad_module").ends_with(":6:10"),
        "{}",
        at("plinth::bad_module")
    );
    assert!(
        at("plinth::not_in_module").contains("modules/bad/main.toml:2:"),
        "{found:?}"
    );
    assert!(at("plinth::unknown_input").contains("main.toml:12:"));
}

#[test]
fn a_cycle_through_a_module_is_the_graphs_minimal_cycle() {
    let module = "[variables]\ninput = {}\n[sim_resource.inner]\nname = \"${var.input}\"\n[outputs]\nout = \"${sim_resource.inner.id}\"\n";
    let root = "[sim_resource.outer]\nname = \"${module.m.out}\"\n[module.m]\nsource = \"../modules/m\"\ninput = \"${sim_resource.outer.id}\"\n";
    let stack = load_tree(
        &[("stack/a.toml", root), ("modules/m/main.toml", module)],
        &LoadOptions::default(),
    )
    .unwrap();
    let Err(error) = crate::graph::DependencyGraph::build(&stack) else {
        panic!("a cycle through the module")
    };
    let text = format!("{error}");
    assert!(text.contains("module.m.sim_resource.inner"), "{text}");
    assert!(text.contains("sim_resource.outer"), "{text}");
}

#[test]
fn a_module_directory_validates_on_its_own_with_unknown_inputs() {
    let options = LoadOptions {
        as_module: true,
        ..LoadOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.toml"), MODULE).unwrap();
    assert!(is_module_directory(dir.path()));
    let stack = load_with_env(dir.path(), &options, &schemas(), &|_| None)
        .unwrap_or_else(|d| panic!("{}", d.render_plain(100)));
    assert_eq!(stack.resources.len(), 2);
    // Without `as_module`, the input without a default is missing, as for a stack.
    let plain = load_with_env(dir.path(), &LoadOptions::default(), &schemas(), &|_| None);
    assert_eq!(
        plain.unwrap_err().problems()[0].code(),
        "plinth::missing_variable"
    );
    std::fs::write(dir.path().join("stack.toml"), "[stack]\nname = \"x\"\n").unwrap();
    assert!(!is_module_directory(dir.path()));
}

#[test]
fn moved_accepts_module_and_keyed_addresses() {
    let module = "[sim_resource.db]\nname = \"db\"\n";
    let root = r#"
[module.next]
source = "../modules/m"

[sim_resource.b]
for_each = ["logs"]
name = "b"

[[moved]]
from = "sim_resource.db"
to   = "module.next.sim_resource.db"

[[moved]]
from = "module.old"
to   = "module.next"

[[moved]]
from = "sim_resource.b[0]"
to   = 'sim_resource.b["logs"]'
"#;
    let stack = load_tree(
        &[("stack/a.toml", root), ("modules/m/main.toml", module)],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render_plain(100)));
    let moves: Vec<(String, String)> = stack
        .moved
        .iter()
        .map(|m| (m.from.clone(), m.to.clone()))
        .collect();
    assert_eq!(moves.len(), 3, "{moves:?}");
    let bad = root.replace("to   = \"module.next\"", "to   = \"module.nowhere\"");
    let found = problems(load_tree(
        &[("stack/a.toml", &bad), ("modules/m/main.toml", module)],
        &LoadOptions::default(),
    ));
    assert_eq!(found[0].0, "plinth::bad_moved");
    let mixed = root.replace("to   = \"module.next\"", "to   = \"sim_resource.z\"");
    assert_eq!(
        problems(load_tree(
            &[("stack/a.toml", &mixed), ("modules/m/main.toml", module)],
            &LoadOptions::default(),
        ))[0]
            .0,
        "plinth::bad_moved"
    );
}

#[test]
fn a_module_outside_the_repository_or_calling_itself_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("stack")).unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::create_dir_all(repo.join("loop")).unwrap();
    std::fs::write(
        dir.path().join("outside/m.toml"),
        "[sim_resource.x]\nname = \"x\"\n",
    )
    .unwrap();
    std::fs::write(repo.join("loop/m.toml"), "[module.again]\nsource = \".\"\n").unwrap();
    std::fs::write(
        repo.join("stack/a.toml"),
        "[module.out]\nsource = \"../../outside\"\n[module.loop]\nsource = \"../loop\"\n[module.abs]\nsource = \"/etc\"\n",
    )
    .unwrap();
    let found = problems(load_with_env(
        &repo.join("stack"),
        &LoadOptions::default(),
        &schemas(),
        &|_| None,
    ));
    let messages: BTreeMap<usize, &str> = found.iter().map(|f| f.0).enumerate().collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(messages.values().all(|c| *c == "plinth::bad_module"));
    let _ = Path::new("");
}

#[test]
fn module_instances_count_against_the_resource_limit() {
    let module = "[sim_resource.x]\ncount = 5\nname = \"x-${count.index}\"\n";
    let root = "[module.many]\nsource = \"../modules/m\"\ncount = 10\n";
    let mut options = LoadOptions::default();
    options.limits.max_resources = 20;
    let found = problems(load_tree(
        &[("stack/a.toml", root), ("modules/m/main.toml", module)],
        &options,
    ));
    assert_eq!(
        found.iter().map(|f| f.0).collect::<Vec<_>>(),
        ["plinth::too_many_resources"]
    );
    // A module pointing at the stack itself is refused, not expanded.
    let found = problems(load_tree(
        &[("stack/a.toml", "[module.me]\nsource = \".\"\n")],
        &LoadOptions::default(),
    ));
    assert_eq!(found[0].0, "plinth::bad_module", "{found:?}");
}

#[test]
fn a_module_file_is_part_of_the_configuration_digest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("stack")).unwrap();
    std::fs::create_dir_all(dir.path().join("modules/m")).unwrap();
    std::fs::write(
        dir.path().join("stack/a.toml"),
        "[module.m]\nsource = \"../modules/m\"\n",
    )
    .unwrap();
    let module = dir.path().join("modules/m/main.toml");
    std::fs::write(&module, "[sim_resource.x]\nname = \"x\"\n").unwrap();
    let load = || {
        load_with_env(
            &dir.path().join("stack"),
            &LoadOptions::default(),
            &schemas(),
            &|_| None,
        )
        .unwrap()
        .config_hash
    };
    let before = load();
    assert_eq!(load(), before);
    std::fs::write(&module, "[sim_resource.x]\nname = \"y\"\n").unwrap();
    assert_ne!(
        load(),
        before,
        "a saved plan must be refused when a module changed"
    );
}

#[test]
fn a_block_with_the_calls_for_each_reads_the_module_instance_of_its_own_key() {
    let module = "[variables]\nname = {}\n[sim_resource.db]\nname = \"${var.name}\"\n[outputs]\narn = \"${sim_resource.db.arn}\"\n";
    let root = r#"
[variables]
regions = { default = ["eu", "us"] }

[module.db]
source   = "../modules/m"
for_each = "${var.regions}"
name     = "db-${each.key}"

[sim_resource.replica]
for_each = "${var.regions}"
name     = "replica-${each.key}"
tags     = { source = "${module.db[each.key].arn}" }
"#;
    let stack = load_tree(
        &[("stack/a.toml", root), ("modules/m/main.toml", module)],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render_plain(100)));
    let target = |address: &str| {
        resource(&stack, address).attributes["tags"].references()[0]
            .target
            .to_string()
    };
    assert_eq!(
        target(r#"sim_resource.replica["eu"]"#),
        r#"module.db["eu"].sim_resource.db"#
    );
    assert_eq!(
        target(r#"sim_resource.replica["us"]"#),
        r#"module.db["us"].sim_resource.db"#
    );
    // A key the call does not have, and the choice used without `for_each`.
    let more = root.replace(
        "[sim_resource.replica]\nfor_each = \"${var.regions}\"",
        "[sim_resource.replica]\nfor_each = [\"eu\", \"ap\"]",
    );
    let found = problems(load_tree(
        &[("stack/a.toml", &more), ("modules/m/main.toml", module)],
        &LoadOptions::default(),
    ));
    assert_eq!(
        found.iter().map(|f| f.0).collect::<Vec<_>>(),
        ["plinth::index_out_of_range"]
    );
    let single = root.replace(
        "for_each = \"${var.regions}\"\nname     = \"replica",
        "name     = \"replica",
    );
    let found = problems(load_tree(
        &[("stack/a.toml", &single), ("modules/m/main.toml", module)],
        &LoadOptions::default(),
    ));
    assert!(
        found.iter().any(|f| f.0 == "plinth::count_index"),
        "{found:?}"
    );
}
