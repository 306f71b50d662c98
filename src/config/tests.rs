//! Loader tests over small stacks written to temporary directories.

use std::collections::BTreeMap;
use std::path::Path;

use plinth_provider::{Attribute, Schema, Value, ValueType};

use super::*;

pub(super) fn schemas() -> BTreeMap<String, Schema> {
    let data = Schema::new("plinth_data")
        .attribute(Attribute::optional("input", ValueType::Any))
        .attribute(Attribute::computed("output", ValueType::Any))
        .attribute(Attribute::optional("triggers_replace", ValueType::Any).force_new());
    let sim = Schema::new("sim_resource")
        .attribute(Attribute::required("name", ValueType::String).force_new())
        .attribute(Attribute::optional("size", ValueType::Int))
        .attribute(Attribute::optional("tags", ValueType::string_map()))
        .attribute(Attribute::optional("password", ValueType::String).sensitive())
        .attribute(Attribute::optional("tier", ValueType::String).default("standard"))
        .attribute(Attribute::computed("id", ValueType::String))
        .attribute(Attribute::computed("arn", ValueType::String));
    [data, sim]
        .into_iter()
        .map(|s| (s.type_name.clone(), s))
        .collect()
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn load_files(
    files: &[(&str, &str)],
    options: &LoadOptions,
    env: &[(&str, &str)],
) -> Result<Stack, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_with_env(dir.path(), options, &schemas(), &|name| {
        env.get(name).cloned()
    })
}

fn codes(result: Result<Stack, Diagnostics>) -> Vec<&'static str> {
    match result {
        Ok(_) => panic!("expected the stack to be rejected"),
        Err(diags) => diags.problems().iter().map(Problem::code).collect(),
    }
}

fn env(name: &str) -> LoadOptions {
    LoadOptions {
        environment: Some(name.to_string()),
        ..LoadOptions::default()
    }
}

const STACK: &str = r#"
[stack]
name = "shop"
environments = ["staging", "production"]

[backend]
kind = "local"
path = "state/${stack}-${env}.json"

[providers.sim]
region = "${var.region}"

[variables]
region = "eu-west-1"
replicas = { default = 2, staging = 1, description = "read replicas" }
size = { default = 10 }

[secrets]
api_key = { from = "env:API_KEY" }
db_password = { generate = { length = 24, special = true } }
cert = { from = "file:certs/tls.pem" }

[preconditions.kubernetes]
min_ready_nodes = "${var.replicas}"
"#;

const RESOURCES: &str = r#"
[sim_resource.primary]
name = "shop-${env}-db"
size = "${var.size}"
password = "${secret.db_password}"
tags = { team = "core", stack = "${stack}" }
lifecycle = { prevent_destroy = true, ignore_changes = ["tags"] }
timeouts = { create = "40m", delete = 90 }

[sim_resource.replica]
count = "${var.replicas}"
name = "shop-${env}-replica-${count.index}"
tags = { source = "${sim_resource.primary.arn}" }
depends_on = ["sim_resource.primary"]

[plinth_data.config]
input = { url = "https://${sim_resource.primary.id}:5432/?key=${secret.api_key}", first = "${sim_resource.replica[0].id}", raw = "$${not.interpolated}" }

[outputs]
primary_arn = "${sim_resource.primary.arn}"
key = { value = "${secret.api_key}" }
replicas = "${var.replicas}"
"#;

#[test]
fn a_full_stack_loads_into_the_typed_model() {
    let stack = load_files(
        &[("a.toml", STACK), ("b.toml", RESOURCES)],
        &env("production"),
        &[],
    )
    .unwrap();
    assert_eq!(stack.name, "shop");
    assert_eq!(stack.environment, "production");
    assert_eq!(stack.backend.kind, "local");
    assert_eq!(
        stack.backend.settings["path"],
        Value::string("state/shop-production.json")
    );
    assert_eq!(
        stack.providers["sim"].settings["region"],
        Value::string("eu-west-1")
    );
    assert_eq!(stack.variables["replicas"], Value::Int(2));
    assert_eq!(
        stack.preconditions["kubernetes"]["min_ready_nodes"],
        Value::Int(2)
    );
    assert_eq!(
        stack.secrets["api_key"].source,
        SecretSource::Env("API_KEY".into())
    );
    assert_eq!(
        stack.secrets["db_password"].source,
        SecretSource::Generate {
            length: 24,
            special: true
        }
    );
    assert!(
        matches!(&stack.secrets["cert"].source, SecretSource::File(p) if p.ends_with("certs/tls.pem"))
    );

    let addresses: Vec<String> = stack
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(
        addresses,
        [
            "sim_resource.primary",
            "sim_resource.replica[0]",
            "sim_resource.replica[1]",
            "plinth_data.config"
        ]
    );
    let primary = &stack.resources[0];
    assert_eq!(
        primary.attributes["name"],
        Expr::Literal(Value::string("shop-production-db"))
    );
    assert_eq!(
        primary.attributes["size"],
        Expr::Literal(Value::Int(10)),
        "a lone `${{var.x}}` keeps its type"
    );
    assert!(matches!(&primary.attributes["password"], Expr::Secret(s) if s.name == "db_password"));
    assert_eq!(
        primary.attributes["tier"],
        Expr::Literal(Value::string("standard")),
        "schema default"
    );
    assert!(primary.lifecycle.prevent_destroy);
    assert_eq!(primary.lifecycle.ignore_changes, ["tags"]);
    assert_eq!(
        primary.timeouts,
        Timeouts {
            create: Some(2400),
            update: None,
            delete: Some(90)
        }
    );

    let replica = &stack.resources[2];
    assert_eq!(replica.address.index(), Some(1));
    assert_eq!(
        replica.attributes["name"],
        Expr::Literal(Value::string("shop-production-replica-1"))
    );
    assert_eq!(
        replica.depends_on[0].0,
        Address::new("sim_resource", "primary")
    );
    let Expr::Map(tags) = &replica.attributes["tags"] else {
        panic!("tags: {:?}", replica.attributes["tags"])
    };
    let Expr::Ref(source) = &tags["source"] else {
        panic!()
    };
    assert_eq!(source.to_string(), "sim_resource.primary.arn");

    let data = &stack.resources[3];
    let refs: Vec<String> = data.attributes["input"]
        .references()
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        refs,
        ["sim_resource.replica[0].id", "sim_resource.primary.id"],
        "map keys are sorted"
    );
    assert_eq!(data.attributes["input"].secrets()[0].name, "api_key");
    let Expr::Map(input) = &data.attributes["input"] else {
        panic!()
    };
    assert_eq!(
        input["raw"],
        Expr::Literal(Value::string("${not.interpolated}"))
    );
    let Expr::Template(parts) = &input["url"] else {
        panic!()
    };
    assert_eq!(parts[0], Part::Text("https://".into()));

    assert!(
        stack.outputs["key"].sensitive,
        "an output holding a secret is sensitive"
    );
    assert!(!stack.outputs["primary_arn"].sensitive);
    assert_eq!(
        stack.outputs["replicas"].value,
        Expr::Literal(Value::Int(2))
    );
    assert_eq!(stack.sources.files.len(), 2);
    assert!(stack.config_hash.starts_with("sha256:"));
}

#[test]
fn the_environment_selects_variable_values_and_count() {
    let stack = load_files(
        &[("a.toml", STACK), ("b.toml", RESOURCES)],
        &env("staging"),
        &[],
    )
    .unwrap();
    assert_eq!(stack.variables["replicas"], Value::Int(1));
    assert_eq!(
        stack
            .resources
            .iter()
            .filter(|r| r.address.name == "replica")
            .count(),
        1
    );
}

#[test]
fn variable_precedence_is_cli_then_files_then_environment_then_declaration() {
    let decl = "[stack]\nname = \"s\"\nenvironments = [\"dev\"]\n[variables]\na = { default = 1, dev = 2 }\nb = 1\nc = 1\nd = 1\ne = 1\n";
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("stack.toml", decl),
            ("one.tfvars", "c = 3\nd = 3\n"),
            ("two.tfvars", "d = 4\n"),
        ],
    );
    let options = LoadOptions {
        environment: None,
        vars: vec![
            ("e".into(), "5".into()),
            ("e".into(), "[\"x\", \"y\"]".into()),
        ],
        var_files: vec![dir.path().join("one.tfvars"), dir.path().join("two.tfvars")],
        ..LoadOptions::default()
    };
    let getenv = |name: &str| match name {
        "PLINTH_VAR_b" => Some("db.t4g.medium".to_string()),
        "PLINTH_VAR_C" => Some("99".to_string()),
        _ => None,
    };
    let stack = load_with_env(dir.path(), &options, &schemas(), &getenv).unwrap();
    assert_eq!(stack.environment, "dev", "the only environment is chosen");
    assert_eq!(stack.variables["a"], Value::Int(2));
    assert_eq!(stack.variables["b"], Value::string("db.t4g.medium"));
    assert_eq!(stack.variables["c"], Value::Int(3));
    assert_eq!(stack.variables["d"], Value::Int(4));
    assert_eq!(
        stack.variables["e"],
        Value::List(vec![Value::string("x"), Value::string("y")])
    );
    assert_eq!(
        stack.sources.files.len(),
        3,
        "var files are in the source map for diagnostics"
    );
}

#[test]
fn config_hash_covers_names_and_bytes() {
    let a = load_files(&[("a.toml", STACK)], &env("staging"), &[]).unwrap();
    let b = load_files(&[("a.toml", STACK)], &env("production"), &[]).unwrap();
    let c = load_files(&[("z.toml", STACK)], &env("staging"), &[]).unwrap();
    let d = load_files(
        &[("a.toml", &format!("{STACK}\n# edited\n"))],
        &env("staging"),
        &[],
    )
    .unwrap();
    assert_eq!(a.config_hash, b.config_hash);
    assert_ne!(a.config_hash, c.config_hash);
    assert_ne!(a.config_hash, d.config_hash);
}

#[test]
fn a_literal_in_a_sensitive_attribute_is_sensitive() {
    let text = "[sim_resource.a]\nname = \"a\"\npassword = \"hunter2\"\n";
    let stack = load_files(&[("a.toml", text)], &LoadOptions::default(), &[]).unwrap();
    assert_eq!(
        stack.resources[0].attributes["password"],
        Expr::Literal(Value::string("hunter2").sensitive())
    );
    assert_eq!(stack.environment, "default");
    assert_eq!(stack.resources[0].address.index(), None);
}

#[test]
fn count_zero_gives_no_instances_and_bad_counts_are_errors() {
    let text = "[sim_resource.a]\ncount = 0\nname = \"a\"\n";
    let stack = load_files(&[("a.toml", text)], &LoadOptions::default(), &[]).unwrap();
    assert!(stack.resources.is_empty());
    for count in ["-1", "1.5", "\"many\"", "\"${sim_resource.b.id}\""] {
        let text = format!(
            "[sim_resource.a]\ncount = {count}\nname = \"a\"\n[sim_resource.b]\nname = \"b\"\n"
        );
        let codes = codes(load_files(
            &[("a.toml", &text)],
            &LoadOptions::default(),
            &[],
        ));
        assert!(
            codes == ["plinth::bad_count"] || codes == ["plinth::reference_not_allowed"],
            "{count}: {codes:?}"
        );
    }
}

#[test]
fn a_definition_written_twice_is_an_error_pointing_at_both_files() {
    let a = "[sim_resource.x]\nname = \"a\"\n[variables]\nv = 1\n";
    let b = "[sim_resource.x]\nname = \"b\"\n[variables]\nw = 1\n";
    let result = load_files(
        &[("a.toml", a), ("b.toml", b)],
        &LoadOptions::default(),
        &[],
    );
    let diags = result.unwrap_err();
    assert_eq!(diags.len(), 1, "{}", diags.render_plain(100));
    let rendered = diags.render_plain(100);
    assert!(
        rendered.contains("a.toml") && rendered.contains("b.toml"),
        "{rendered}"
    );
}

#[test]
fn every_problem_is_reported_with_its_code() {
    let cases: &[(&str, &str)] = &[
        ("[sim_resorce.a]\nname = \"a\"\n", "plinth::unknown_type"),
        (
            "[sim_resource.a]\nname = \"a\"\nsise = 1\n",
            "plinth::unknown_attribute",
        ),
        (
            "[sim_resource.a]\nname = \"a\"\narn = \"x\"\n",
            "plinth::computed_attribute",
        ),
        ("[sim_resource.a]\nsize = 1\n", "plinth::missing_attribute"),
        (
            "[sim_resource.a]\nname = \"a\"\nsize = \"big\"\n",
            "plinth::wrong_type",
        ),
        (
            "[sim_resource.a]\nname = \"a\"\ntags = { a = 1 }\n",
            "plinth::wrong_type",
        ),
        (
            "[sim_resource.a]\nname = \"${var.nope}\"\n",
            "plinth::unknown_variable",
        ),
        (
            "[sim_resource.a]\nname = \"${secret.nope}\"\n",
            "plinth::unknown_secret",
        ),
        (
            "[sim_resource.a]\nname = \"${sim_resource.b.id}\"\n",
            "plinth::unknown_reference",
        ),
        (
            "[sim_resource.a]\nname = \"${sim_resource.a.nope}\"\n",
            "plinth::unknown_reference",
        ),
        (
            "[sim_resource.a]\nname = \"${count.index}\"\n",
            "plinth::count_index",
        ),
        (
            "[sim_resource.a]\nname = \"${oops\"\n",
            "plinth::bad_interpolation",
        ),
        (
            "[sim_resource.a]\nname = \"a\"\ndepends_on = [\"sim_resource.z\"]\n",
            "plinth::unknown_reference",
        ),
        (
            "[sim_resource.a]\nname = \"a\"\nlifecycle = { ignore_changes = [\"sise\"] }\n",
            "plinth::unknown_attribute",
        ),
        (
            "[sim_resource.a]\nname = \"a\"\ntimeouts = { create = \"soon\" }\n",
            "plinth::bad_timeout",
        ),
        ("[backend]\nkind = \"s4\"\n", "plinth::unknown_backend"),
        (
            "[backend]\nbucket = \"${secret.x}\"\n[secrets]\nx = { from = \"env:X\" }\n",
            "plinth::secret_not_allowed",
        ),
        (
            "[secrets]\nx = { from = \"vault:X\" }\n",
            "plinth::bad_secret",
        ),
        (
            "[outputs]\nx = { sensitive = true }\n",
            "plinth::bad_output",
        ),
        (
            "[variables]\nx = { stagin = 1 }\n",
            "plinth::unknown_environment",
        ),
        (
            "[stack]\nname = \"s\"\nenvironments = [\"a\", \"b\"]\n",
            "plinth::no_environment",
        ),
        ("a = [\n", "plinth::syntax"),
        ("[variable]\nx = 1\ny = 2\n", "plinth::unknown_type"),
    ];
    for (text, code) in cases {
        let codes = codes(load_files(
            &[("a.toml", text)],
            &LoadOptions::default(),
            &[],
        ));
        assert!(
            codes.contains(code),
            "{text:?}: expected {code}, got {codes:?}"
        );
    }
}

#[test]
fn references_to_counted_resources_need_a_valid_index() {
    let base = "[sim_resource.r]\ncount = 2\nname = \"r\"\n";
    let cases = [
        ("\"${sim_resource.r.id}\"", "plinth::missing_index"),
        ("\"${sim_resource.r[2].id}\"", "plinth::index_out_of_range"),
        ("\"${sim_resource.s[0].id}\"", "plinth::unexpected_index"),
    ];
    for (value, code) in cases {
        let text =
            format!("{base}[sim_resource.s]\nname = \"s\"\n[plinth_data.d]\ninput = {value}\n");
        assert_eq!(
            codes(load_files(
                &[("a.toml", &text)],
                &LoadOptions::default(),
                &[]
            )),
            [code],
            "{value}"
        );
    }
    let text = format!(
        "{base}[sim_resource.t]\ncount = 3\nname = \"${{sim_resource.r[count.index].id}}\"\n"
    );
    assert_eq!(
        codes(load_files(
            &[("a.toml", &text)],
            &LoadOptions::default(),
            &[]
        )),
        ["plinth::index_out_of_range"]
    );
}

#[test]
fn a_variable_without_a_value_for_the_environment_is_an_error() {
    let text = "[stack]\nname = \"s\"\nenvironments = [\"staging\", \"production\"]\n[variables]\nx = { staging = 1 }\n";
    assert_eq!(
        codes(load_files(&[("a.toml", text)], &env("production"), &[])),
        ["plinth::missing_variable"]
    );
    let stack = load_files(
        &[("a.toml", text)],
        &env("production"),
        &[("PLINTH_VAR_x", "true")],
    )
    .unwrap();
    assert_eq!(stack.variables["x"], Value::Bool(true));
}

#[test]
fn dotted_keys_and_environment_dependent_defaults_load() {
    let text = r#"
[stack]
name = "mita"
environments = ["staging"]

[variables]
namespace = "mita-${env}"

[secrets]
db_password = { generate = { length = 32 } }

[sim_resource.db]
name = "${var.namespace}-db"

[plinth_data.app]
input.env.DATABASE_URL = "postgresql://mita:${secret.db_password}@${sim_resource.db.id}:5432/mita"
input.replicas = 3
"#;
    let stack = load_files(&[("stack.toml", text)], &LoadOptions::default(), &[]).unwrap();
    assert_eq!(stack.variables["namespace"], Value::string("mita-staging"));
    assert_eq!(
        stack.resources[0].attributes["name"],
        Expr::Literal(Value::string("mita-staging-db"))
    );
    let Expr::Map(input) = &stack.resources[1].attributes["input"] else {
        panic!()
    };
    assert_eq!(input["replicas"], Expr::Literal(Value::Int(3)));
    let Expr::Map(env) = &input["env"] else {
        panic!()
    };
    let Expr::Template(parts) = &env["DATABASE_URL"] else {
        panic!()
    };
    assert_eq!(parts.len(), 5);
    assert!(matches!(&parts[1], Part::Secret(s) if s.name == "db_password"));
    assert!(matches!(&parts[3], Part::Ref(r) if r.target == Address::new("sim_resource", "db")));
}

#[test]
fn a_variable_cannot_refer_to_variables() {
    let text = "[variables]\na = 1\nb = \"${var.a}\"\n";
    let diags = load_files(&[("a.toml", text)], &LoadOptions::default(), &[]).unwrap_err();
    assert_eq!(
        diags.problems()[0].message(),
        "a variable cannot refer to variables"
    );
}

#[test]
fn unreadable_inputs_are_diagnostics_too() {
    let missing = tempfile::tempdir().unwrap().path().join("nope");
    let diags = load(&missing, &LoadOptions::default(), &schemas()).unwrap_err();
    assert_eq!(diags.problems()[0].code(), "plinth::unreadable");

    let empty = tempfile::tempdir().unwrap();
    let diags = load(empty.path(), &LoadOptions::default(), &schemas()).unwrap_err();
    assert_eq!(diags.problems()[0].code(), "plinth::empty_stack");

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[("a.toml", "[variables]\nx = 1\n"), ("vars.txt", "x = [\n")],
    );
    let options = LoadOptions {
        vars: vec![("y".into(), "2".into())],
        var_files: vec![dir.path().join("vars.txt"), dir.path().join("absent.txt")],
        ..LoadOptions::default()
    };
    let diags = load_with_env(dir.path(), &options, &schemas(), &|_| None).unwrap_err();
    let codes: Vec<&str> = diags.problems().iter().map(Problem::code).collect();
    assert_eq!(codes, ["plinth::unreadable", "plinth::syntax"]);
    let rendered = diags.render_plain(100);
    assert!(rendered.contains("vars.txt"), "{rendered}");
}

#[test]
fn a_value_for_an_undeclared_variable_is_an_error() {
    let options = LoadOptions {
        vars: vec![("y".into(), "2".into())],
        ..LoadOptions::default()
    };
    let codes = codes(load_files(
        &[("a.toml", "[variables]\nx = 1\n")],
        &options,
        &[],
    ));
    assert_eq!(codes, ["plinth::unknown_variable"]);
}

#[test]
fn file_reads_a_file_of_the_stack_directory_into_a_value() {
    let stack = "[stack]\nname = \"f\"\nenvironments = [\"dev\"]\n\n[plinth_data.dash]\ninput = { \"app.json\" = '${file(\"dashboards/app.json\")}', note = \"v=${file('note.txt')}\" }\n";
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("stack.toml", stack), ("note.txt", "one")]);
    std::fs::create_dir(dir.path().join("dashboards")).unwrap();
    std::fs::write(
        dir.path().join("dashboards/app.json"),
        "{\n  \"title\": \"MITA\"\n}\n",
    )
    .unwrap();
    let load = || load_with_env(dir.path(), &LoadOptions::default(), &schemas(), &|_| None);
    let loaded = load().unwrap_or_else(|d| panic!("{}", d.render_plain(100)));
    let input = format!("{:?}", loaded.resources[0].attributes);
    assert!(input.contains("\\\"title\\\": \\\"MITA\\\""), "{input}");
    assert!(input.contains("v=one"), "{input}");

    // The file is part of the configuration digest: a saved plan notices it changed.
    let before = loaded.config_hash;
    std::fs::write(dir.path().join("note.txt"), "two").unwrap();
    assert_ne!(load().unwrap().config_hash, before);
}

#[test]
fn file_outside_the_stack_missing_or_in_variables_is_a_diagnostic() {
    let stack = "[stack]\nname = \"f\"\nenvironments = [\"dev\"]\n\n[variables]\nv = { default = '${file(\"x.txt\")}' }\n\n[plinth_data.a]\ninput = ['${file(\"../secret\")}', '${file(\"/etc/passwd\")}', '${file(\"nope.txt\")}', '${file(nope)}']\n";
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("stack.toml", stack), ("x.txt", "x")]);
    let result = load_with_env(dir.path(), &LoadOptions::default(), &schemas(), &|_| None);
    let Err(diags) = result else {
        panic!("expected errors")
    };
    let text = diags.render_plain(200);
    assert!(
        text.contains("`file(\"../secret\")` reads outside the stack directory"),
        "{text}"
    );
    assert!(
        text.contains("`file(\"/etc/passwd\")` reads outside"),
        "{text}"
    );
    assert!(
        text.contains("`nope.txt` is not a file of the stack"),
        "{text}"
    );
    assert!(text.contains("quoted path"), "{text}");
    assert!(text.contains("cannot be used in `[variables]`"), "{text}");
    assert!(text.contains("stack.toml:"), "with file and line: {text}");
}

#[test]
fn declared_environments_read_only_the_stack_table() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("a.toml", "[sim_resource.a]\nname = \"a\"\n"),
            (
                "b.toml",
                "# header\n[stack]\nname = \"x\"\nenvironments = [\"dev\", \"prod\"]\n\n[sim_resource.b]\nname = \"${broken\n",
            ),
        ],
    );
    assert_eq!(
        super::declared_environments(dir.path()),
        ["dev", "prod"],
        "a syntax error after `[stack]` does not hide the environments"
    );
}

#[test]
fn a_splat_is_the_list_of_every_instance_and_is_refused_where_it_makes_no_sense() {
    let text = "[sim_resource.web]\ncount = 3\nname = \"web-${count.index}\"\n\
                [plinth_data.lb]\ninput = { targets = \"${sim_resource.web[*].arn}\" }\n";
    let stack = load_files(&[("a.toml", text)], &LoadOptions::default(), &[]).unwrap();
    let lb = stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == "plinth_data.lb")
        .unwrap();
    let targets: Vec<String> = lb.attributes["input"]
        .references()
        .iter()
        .map(|r| r.target.to_string())
        .collect();
    assert_eq!(
        targets,
        [
            "sim_resource.web[0]",
            "sim_resource.web[1]",
            "sim_resource.web[2]"
        ]
    );
    for (payload, code) in [
        ("\"${sim_resource.lb2[*].arn}\"", "plinth::unexpected_index"),
        (
            "\"x-${sim_resource.web[*].arn}\"",
            "plinth::bad_interpolation",
        ),
        (
            "\"${sim_resource.nope[*].arn}\"",
            "plinth::unknown_reference",
        ),
    ] {
        let text = format!(
            "[sim_resource.web]\ncount = 2\nname = \"w\"\n[sim_resource.lb2]\nname = \"b\"\n\
             [plinth_data.lb]\ninput = {{ t = {payload} }}\n"
        );
        assert_eq!(
            codes(load_files(
                &[("a.toml", &text)],
                &LoadOptions::default(),
                &[]
            )),
            [code],
            "{payload}"
        );
    }
}

#[test]
fn collection_functions_work_on_what_is_known_at_load() {
    let text = r#"[variables]
tags    = { default = { team = "core", tier = "web" } }
extra   = { default = { tier = "api" } }
sizes   = { default = { prod = "large" } }
a       = { default = ["x", "y"] }

[sim_resource.web]
count = 3
name  = "web-${count.index}"

[plinth_data.all]
input = { n = '${length(sim_resource.web[*].arn)}', joined = 'arns: ${join(",", sim_resource.web[*].arn)}', both = '${concat(var.a, var.a)}', k = '${keys(var.tags)}', v = '${values(var.tags)}', m = '${merge(var.tags, var.extra)}', size = '${lookup(var.sizes, "dev", "small")}', known = '${join("-", var.a)}' }
"#;
    let stack = load_files(&[("a.toml", text)], &LoadOptions::default(), &[]).unwrap();
    let all = stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == "plinth_data.all")
        .unwrap();
    let Expr::Map(input) = &all.attributes["input"] else {
        panic!("{:?}", all.attributes["input"])
    };
    assert_eq!(input["n"], Expr::Literal(Value::Int(3)));
    assert_eq!(input["known"], Expr::Literal(Value::string("x-y")));
    assert_eq!(input["size"], Expr::Literal(Value::string("small")));
    assert_eq!(
        input["k"],
        Expr::Literal(Value::List(vec![
            Value::string("team"),
            Value::string("tier")
        ]))
    );
    assert_eq!(
        input["m"],
        Expr::Literal(Value::Map(
            [
                ("team".to_string(), Value::string("core")),
                ("tier".to_string(), Value::string("api"))
            ]
            .into()
        ))
    );
    assert_eq!(
        input["both"],
        Expr::Literal(Value::List(
            ["x", "y", "x", "y"].map(Value::string).to_vec()
        ))
    );
    // The join of references is a template of the three instances: exact dependencies.
    let joined: Vec<String> = input["joined"]
        .references()
        .iter()
        .map(|r| r.target.to_string())
        .collect();
    assert_eq!(
        joined,
        [
            "sim_resource.web[0]",
            "sim_resource.web[1]",
            "sim_resource.web[2]"
        ]
    );
    for (call, code) in [
        ("${lookup(var.sizes, \"dev\")}", "plinth::bad_function"),
        ("${join(var.a)}", "plinth::bad_function"),
        ("${keys(var.a)}", "plinth::bad_function"),
        ("${length(var.nope)}", "plinth::unknown_variable"),
        ("x-${keys(var.sizes)}", "plinth::bad_interpolation"),
    ] {
        let text = format!(
            "[variables]\nsizes = {{ default = {{ prod = \"large\" }} }}\na = {{ default = [\"x\"] }}\n\
             [plinth_data.x]\ninput = '{call}'\n"
        );
        assert_eq!(
            codes(load_files(
                &[("a.toml", &text)],
                &LoadOptions::default(),
                &[]
            )),
            [code],
            "{call}"
        );
    }
}
