//! Modules and `for_each` through the real binary and sim_resource: a module used twice with
//! `for_each` applies under its addresses and plans no changes after; renaming a module
//! instance through `[[moved]]` plans no destroy and keeps every id; `count` to `for_each`
//! through `[[moved]]`; `--target module.x`; `state mv` between module addresses.

use std::path::{Path, PathBuf};

use crate::support::{load_state, plinth, Run};

const MODULE: &str = r#"
[variables]
name = { type = "string" }
size = { type = "number", default = 1 }
net  = { type = "string" }

[sim_resource.db]
name    = "${var.name}-db"
size    = "${var.size}"
payload = { network = "${var.net}" }

[sim_resource.cache]
name    = "${var.name}-cache"
payload = { db = "${sim_resource.db.arn}" }

[outputs]
db_arn = "${sim_resource.db.arn}"
"#;

const STACK: &str = r#"
[stack]
name = "modules"
environments = ["test"]

[variables]
services = { default = { api = { name = "api", size = 2 }, web = { name = "web", size = 1 } } }

[sim_resource.network]
name = "net-${env}"

[module.svc]
source   = "../modules/svc"
for_each = "${var.services}"
name     = "${each.value.name}-${env}"
size     = "${each.value.size}"
net      = "${sim_resource.network.arn}"

[sim_resource.edge]
name    = "edge-${env}"
payload = { api = '${module.svc["api"].db_arn}' }

[outputs]
api_db = '${module.svc["api"].db_arn}'
"#;

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("stack")).unwrap();
        std::fs::create_dir_all(dir.path().join("modules/svc")).unwrap();
        std::fs::write(dir.path().join("modules/svc/main.toml"), MODULE).unwrap();
        let tree = Tree { dir };
        tree.write(STACK);
        tree
    }

    fn stack(&self) -> PathBuf {
        self.dir.path().join("stack")
    }

    fn write(&self, text: &str) {
        std::fs::write(self.stack().join("stack.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut command = plinth();
        command.args(args).arg(self.stack());
        Run::from(command.output().unwrap())
    }

    fn state(&self) -> serde_json::Value {
        load_state(&self.stack().join(".plinth"), "test")
    }

    fn id(&self, address: &str) -> String {
        self.state()["resources"][address]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no `{address}` in {}", self.state()["resources"]))
            .to_string()
    }

    fn cloud_objects(&self) -> usize {
        cloud_objects(&self.stack())
    }
}

fn cloud_objects(stack: &Path) -> usize {
    std::fs::read_dir(stack.join(".plinth/sim-cloud/resources")).map_or(0, |e| e.count())
}

#[test]
fn a_module_used_twice_applies_and_a_renamed_instance_moves_without_a_destroy() {
    let tree = Tree::new();
    let plan = tree.run(&["plan"]).expect(0);
    for line in [
        r#"# module.svc["api"].sim_resource.db will be created"#,
        r#"# module.svc["web"].sim_resource.cache will be created"#,
        "Plan: 6 to add, 0 to change, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(line), "{line}:\n{}", plan.stdout);
    }
    tree.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(tree.cloud_objects(), 6);
    let api_db = tree.id(r#"module.svc["api"].sim_resource.db"#);
    let api_cache = tree.id(r#"module.svc["api"].sim_resource.cache"#);
    tree.run(&["plan", "--detailed-exitcode"]).expect(0);
    let output = tree.run(&["output"]).expect(0);
    assert!(
        output.stdout.contains("api_db") && output.stdout.contains("arn:"),
        "{}",
        output.stdout
    );

    // Rename the instance `api` to `backend` (the object names stay), and say so.
    let renamed = STACK
        .replace("api = { name", "backend = { name")
        .replace(r#"module.svc["api"]"#, r#"module.svc["backend"]"#)
        + "\n[[moved]]\nfrom = 'module.svc[\"api\"]'\nto   = 'module.svc[\"backend\"]'\n";
    tree.write(&renamed);
    let plan = tree.run(&["plan", "--detailed-exitcode"]).expect(2);
    for line in [
        r#"# module.svc["api"].sim_resource.db has moved to module.svc["backend"].sim_resource.db"#,
        r#"# module.svc["api"].sim_resource.cache has moved to module.svc["backend"].sim_resource.cache"#,
        "0 to destroy, 2 to move.",
    ] {
        assert!(plan.stdout.contains(line), "{line}:\n{}", plan.stdout);
    }
    assert!(
        !plan.stdout.contains("will be destroyed"),
        "{}",
        plan.stdout
    );
    tree.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(tree.cloud_objects(), 6, "nothing created or deleted");
    assert_eq!(tree.id(r#"module.svc["backend"].sim_resource.db"#), api_db);
    assert_eq!(
        tree.id(r#"module.svc["backend"].sim_resource.cache"#),
        api_cache
    );
    tree.run(&["plan", "--detailed-exitcode"]).expect(0);

    // `--target module.svc["web"]` plans only that instance's resources.
    std::fs::write(
        tree.dir.path().join("modules/svc/main.toml"),
        MODULE.replace(
            "size    = \"${var.size}\"",
            "size    = \"${var.size}\"\ntags    = { v = \"2\" }",
        ),
    )
    .unwrap();
    let targeted = tree
        .run(&[
            "plan",
            "--detailed-exitcode",
            "--target",
            r#"module.svc["web"]"#,
        ])
        .expect(2);
    assert!(
        targeted
            .stdout
            .contains(r#"module.svc["web"].sim_resource.db will be updated in place"#)
            && !targeted
                .stdout
                .contains(r#"module.svc["backend"].sim_resource.db will"#),
        "{}",
        targeted.stdout
    );
    let all = tree.run(&["plan"]).expect(0);
    assert!(
        all.stdout
            .contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{}",
        all.stdout
    );

    // `state mv` between module addresses.
    let web = tree.id(r#"module.svc["web"].sim_resource.cache"#);
    tree.run(&[
        "state",
        "mv",
        r#"module.svc["web"].sim_resource.cache"#,
        r#"module.svc["web2"].sim_resource.cache"#,
    ])
    .expect(0);
    assert_eq!(tree.id(r#"module.svc["web2"].sim_resource.cache"#), web);
}

#[test]
fn count_to_for_each_is_a_move_not_a_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path();
    let counted = "[stack]\nname = \"c\"\nenvironments = [\"test\"]\n\n[sim_resource.bucket]\ncount = 2\nname  = \"bucket-${count.index}\"\n";
    std::fs::write(stack.join("stack.toml"), counted).unwrap();
    let run = |args: &[&str]| {
        let mut command = plinth();
        command.args(args).arg(stack);
        Run::from(command.output().unwrap())
    };
    run(&["apply", "--auto-approve"]).expect(0);
    let keyed = "[stack]\nname = \"c\"\nenvironments = [\"test\"]\n\n[sim_resource.bucket]\nfor_each = { logs = 0, assets = 1 }\nname     = \"bucket-${each.value}\"\n\n[[moved]]\nfrom = \"sim_resource.bucket[0]\"\nto   = 'sim_resource.bucket[\"logs\"]'\n\n[[moved]]\nfrom = \"sim_resource.bucket[1]\"\nto   = 'sim_resource.bucket[\"assets\"]'\n";
    std::fs::write(stack.join("stack.toml"), keyed).unwrap();
    let plan = run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains(r#"# sim_resource.bucket[0] has moved to sim_resource.bucket["logs"]"#)
            && plan
                .stdout
                .contains("Plan: 0 to add, 0 to change, 0 to destroy, 2 to move."),
        "{}",
        plan.stdout
    );
    run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(cloud_objects(stack), 2);
    run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn module_problems_and_a_cycle_through_a_module_are_reported_by_validate() {
    let tree = Tree::new();
    tree.write(&STACK.replace(
        "net      = \"${sim_resource.network.arn}\"",
        "net      = \"${sim_resource.edge.arn}\"\ncolour   = \"red\"",
    ));
    let validate = tree.run(&["validate"]).expect(1);
    for text in ["module `svc` has no input `colour`", "stack.toml:"] {
        assert!(
            validate.stderr.contains(text),
            "{text}:\n{}",
            validate.stderr
        );
    }
    tree.write(&STACK.replace(
        "net      = \"${sim_resource.network.arn}\"",
        "net      = \"${sim_resource.edge.arn}\"",
    ));
    let cycle = tree.run(&["validate"]).expect(1);
    assert!(
        cycle.stderr.contains("cycle")
            && cycle
                .stderr
                .contains(r#"module.svc["api"].sim_resource.db"#),
        "{}",
        cycle.stderr
    );
    // The module directory validates on its own.
    let mut command = plinth();
    command
        .arg("validate")
        .arg(tree.dir.path().join("modules/svc"));
    let alone = Run::from(command.output().unwrap()).expect(0);
    assert!(alone.stdout.contains("2 resources"), "{}", alone.stdout);
}

/// The second service stack, `stacks/examples/status-page`, applies on moto with the edge
/// module that stacks/mita uses; renaming its module call through `[[moved]]` plans no
/// destroy, keeps the load balancer, and destroy leaves nothing.
#[test]
fn the_status_page_example_applies_on_moto_and_a_renamed_module_moves() {
    use plinth_testkit::moto::MotoServer;
    const REGION: &str = "us-east-1";
    let moto = MotoServer::start();
    let account = moto.new_account();
    moto.seed_named_network(&account, REGION, "mita-staging");
    moto.import_certificate(&account, REGION, "status.staging.mita.finance");
    let dir = tempfile::tempdir().unwrap();
    // A checkout: modules are read from inside the repository only.
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    let stack = dir.path().join("examples/status-page");
    crate::mita_env::copy_dir(
        &crate::support::repo_path("stacks/examples/status-page"),
        &stack,
    );
    crate::mita_env::copy_dir(
        &crate::support::repo_path("stacks/modules"),
        &dir.path().join("modules"),
    );
    crate::mita_env::edit(
        &stack.join("stack.toml"),
        "region = \"${var.aws_region}\"",
        "region = \"${var.aws_region}\"\npoll_interval_ms = 20\nretry_initial_backoff_ms = 10",
    );
    let run = |args: &[&str]| {
        let mut command = plinth();
        command
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", account.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", account.secret_access_key())
            .env("AWS_REGION", REGION)
            .env_remove("AWS_PROFILE")
            .arg(args[0])
            .arg(&stack)
            .args(["--env", "staging"])
            .args(&args[1..]);
        Run::from(command.output().unwrap())
    };
    let apply = run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        apply.stdout.contains("Resources: 7 added"),
        "{}",
        apply.stdout
    );
    run(&["plan", "--detailed-exitcode"]).expect(0);
    let state = load_state(&stack.join(".plinth"), "staging");
    let lb = state["resources"]["module.edge.aws_lb.web"]["id"]
        .as_str()
        .expect("the load balancer in state")
        .to_string();
    assert!(lb.starts_with("arn:aws:elasticloadbalancing:"), "{lb}");
    let outputs = run(&["output", "--json"]).expect(0);
    assert!(
        outputs.stdout.contains("elb.amazonaws.com"),
        "{}",
        outputs.stdout
    );

    // Rename the call: `module.edge` becomes `module.public`, nothing is destroyed.
    let text = std::fs::read_to_string(stack.join("stack.toml")).unwrap();
    let renamed = text
        .replace("[module.edge]", "[module.public]")
        .replace("${module.edge.", "${module.public.")
        + "\n[[moved]]\nfrom = \"module.edge\"\nto   = \"module.public\"\n";
    std::fs::write(stack.join("stack.toml"), renamed).unwrap();
    let plan = run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("# module.edge.aws_lb.web has moved to module.public.aws_lb.web")
            && plan.stdout.contains("0 to destroy, 5 to move.")
            && !plan.stdout.contains("will be destroyed"),
        "{}",
        plan.stdout
    );
    run(&["apply", "--auto-approve"]).expect(0);
    run(&["plan", "--detailed-exitcode"]).expect(0);
    let state = load_state(&stack.join(".plinth"), "staging");
    assert_eq!(state["resources"]["module.public.aws_lb.web"]["id"], lb);
    run(&["destroy", "--auto-approve"]).expect(0);
    run(&["plan", "--destroy", "--detailed-exitcode"]).expect(0);
}
