//! Planning rules: prevent_destroy, --target, create-before-destroy, --replace.

use crate::support::Fixture;

#[test]
fn prevent_destroy_blocks_only_that_resource_and_its_dependents() {
    let fixture = Fixture::new("engine/guarded");
    fixture.run(&["apply", "--auto-approve"]).expect(0);
    fixture.edit(
        "db_zone = { default = \"a\" }",
        "db_zone = { default = \"b\" }",
    );
    fixture.edit("size = 1", "size = 2");
    let plan = fixture.run(&["plan", "--detailed-exitcode"]).expect(1);
    assert!(
        plan.stdout
            .contains("BLOCKED: `sim_resource.db` has `lifecycle.prevent_destroy = true`"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("BLOCKED: depends on `sim_resource.db`"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("sim_resource.cache will be updated in place"),
        "{}",
        plan.stdout
    );
    // Apply does the rest, names what it skipped, and fails.
    let apply = fixture.run(&["apply", "--auto-approve"]).expect(1);
    assert!(
        apply.stdout.contains("skipped: sim_resource.db"),
        "{}",
        apply.stdout
    );
    let cloud = plinth_builtin::list_cloud(&fixture.cloud()).expect("cloud");
    assert_eq!(cloud.iter().filter(|(_, name, _)| name == "db").count(), 1);
    let state = fixture.state();
    assert_eq!(
        state["resources"]["sim_resource.cache"]["attributes"]["size"],
        2
    );
}

#[test]
fn target_limits_the_plan_to_the_target_and_its_dependencies() {
    let fixture = Fixture::new("engine/guarded");
    let plan = fixture
        .run(&["plan", "--target", "sim_resource.app"])
        .expect(0);
    assert!(
        plan.stdout.contains("sim_resource.db will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("sim_resource.app will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("sim_resource.cache"),
        "{}",
        plan.stdout
    );
    let unknown = fixture
        .run(&["plan", "--target", "sim_resource.nope"])
        .expect(1);
    assert!(
        unknown.stderr.contains("--target `sim_resource.nope`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn create_before_destroy_replaces_with_the_new_object_first() {
    let fixture = Fixture::new("engine/guarded");
    fixture.run(&["apply", "--auto-approve"]).expect(0);
    let plan = fixture.run(&["plan", "--var", "lb_name=lb-2"]).expect(0);
    assert!(
        plan.stdout.contains("+/- sim_resource.lb"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("must be replaced (create before destroy)"),
        "{}",
        plan.stdout
    );
    let apply = fixture
        .run(&["apply", "--auto-approve", "--var", "lb_name=lb-2"])
        .expect(0);
    // The new object exists before the old one is destroyed, and the listener moved first.
    let order: Vec<&str> = apply
        .stderr
        .lines()
        .filter(|l| l.contains("sim_resource.lb") || l.contains("listener"))
        .collect();
    let created = order
        .iter()
        .position(|l| l.starts_with("sim_resource.lb: Creation complete"))
        .expect("created");
    let moved = order
        .iter()
        .position(|l| l.starts_with("sim_resource.listener: Modifications complete"))
        .expect("moved");
    let destroyed = order
        .iter()
        .position(|l| l.contains("(deposed object ") && l.contains("Destroying..."))
        .expect("destroyed");
    assert!(created < moved && moved < destroyed, "{order:#?}");
    let names: Vec<String> = plinth_builtin::list_cloud(&fixture.cloud())
        .expect("cloud")
        .into_iter()
        .map(|(_, n, _)| n)
        .collect();
    assert!(
        names.contains(&"lb-2".to_string()) && !names.contains(&"lb-1".to_string()),
        "{names:?}"
    );
    fixture
        .run(&["plan", "--detailed-exitcode", "--var", "lb_name=lb-2"])
        .expect(0);
}

#[test]
fn replace_forces_a_replacement_and_says_why() {
    let fixture = Fixture::new("engine/guarded");
    fixture.run(&["apply", "--auto-approve"]).expect(0);
    let plan = fixture
        .run(&["plan", "--replace", "sim_resource.cache"])
        .expect(0);
    assert!(
        plan.stdout
            .contains("sim_resource.cache must be replaced (requested with --replace)"),
        "{}",
        plan.stdout
    );
}
