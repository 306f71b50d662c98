//! `[[moved]]` and `[[removed]]` through the real binary and sim_resource: a rename of a block
//! and of a counted block plans no destroy and applies as a state change only (the same cloud
//! objects, the same ids); `removed` with `destroy = false` forgets and leaves the object.

use crate::support::Fixture;

fn cloud_objects(fixture: &Fixture) -> usize {
    std::fs::read_dir(fixture.cloud().join("resources")).map_or(0, |entries| entries.count())
}

fn id(fixture: &Fixture, address: &str) -> String {
    fixture.state()["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no `{address}` in the state"))
        .to_string()
}

fn write(fixture: &Fixture, text: &str) {
    std::fs::write(fixture.path().join("stack.toml"), text).unwrap();
}

#[test]
fn a_renamed_block_moves_in_state_without_a_destroy_and_removed_forgets() {
    let fixture = Fixture::new("engine/moved");
    fixture.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(cloud_objects(&fixture), 4);
    let logs = id(&fixture, "sim_resource.logs");
    let web1 = id(&fixture, "sim_resource.web[1]");
    let original = std::fs::read_to_string(fixture.path().join("stack.toml")).unwrap();

    // Rename both blocks, and say so.
    let renamed = original
        .replace("[sim_resource.logs]", "[sim_resource.audit_logs]")
        .replace("sim_resource.logs.arn", "sim_resource.audit_logs.arn")
        .replace("[sim_resource.web]", "[sim_resource.frontend]")
        + "\n[[moved]]\nfrom = \"sim_resource.logs\"\nto   = \"sim_resource.audit_logs\"\n\
           \n[[moved]]\nfrom = \"sim_resource.web\"\nto   = \"sim_resource.frontend\"\n";
    write(&fixture, &renamed);
    let plan = fixture.run(&["plan", "--detailed-exitcode"]).expect(2);
    for line in [
        "# sim_resource.logs has moved to sim_resource.audit_logs",
        "# sim_resource.web[0] has moved to sim_resource.frontend[0]",
        "# sim_resource.web[1] has moved to sim_resource.frontend[1]",
        "Plan: 0 to add, 0 to change, 0 to destroy, 3 to move.",
    ] {
        assert!(plan.stdout.contains(line), "{line}:\n{}", plan.stdout);
    }
    let json = fixture.run(&["plan", "--format", "json"]).expect(0);
    assert!(json.stdout.contains("\"moved\""), "{}", json.stdout);

    let apply = fixture.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );
    assert_eq!(cloud_objects(&fixture), 4, "nothing created or deleted");
    assert_eq!(id(&fixture, "sim_resource.audit_logs"), logs);
    assert_eq!(id(&fixture, "sim_resource.frontend[1]"), web1);
    assert!(fixture.state()["resources"]["sim_resource.logs"].is_null());
    // The moved blocks stay harmless: nothing is recorded at the old addresses any more.
    let after = fixture.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(after.stdout.contains("No changes."), "{}", after.stdout);

    // Forget the app: it leaves the state, not the cloud.
    let without_app = renamed.replace(
        "[sim_resource.app]\nname    = \"app-${env}\"\npayload = { logs = \"${sim_resource.audit_logs.arn}\" }\n",
        "[[removed]]\nfrom    = \"sim_resource.app\"\ndestroy = false\n",
    );
    assert_ne!(without_app, renamed);
    write(&fixture, &without_app);
    let plan = fixture.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("# sim_resource.app will no longer be managed by Plinth")
            && plan
                .stdout
                .contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."),
        "{}",
        plan.stdout
    );
    fixture.run(&["apply", "--auto-approve"]).expect(0);
    assert!(fixture.state()["resources"]["sim_resource.app"].is_null());
    assert_eq!(cloud_objects(&fixture), 4, "the app is still in the cloud");
    fixture.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn bad_moves_are_reported_with_their_spans_in_one_run() {
    let fixture = Fixture::new("engine/moved");
    let original = std::fs::read_to_string(fixture.path().join("stack.toml")).unwrap();
    write(
        &fixture,
        &(original
            + "\n[[moved]]\nfrom = \"sim_resource.logs\"\nto = \"sim_resource.app\"\n\
               \n[[moved]]\nfrom = \"sim_resource.gone\"\nto = \"sim_resource.nowhere\"\n\
               \n[[moved]]\nfrom = \"sim_resource.old\"\nto = \"plinth_data.app\"\n\
               \n[[removed]]\nfrom = \"sim_resource.app\"\ndestroy = false\n\
               \n[[removed]]\nfrom = \"not an address\"\n"),
    );
    let validate = fixture.run(&["validate"]).expect(1);
    for text in [
        "`sim_resource.logs` is still declared in the stack",
        "`sim_resource.nowhere` is not declared in the stack",
        "a move keeps the type",
        "`sim_resource.app` is still declared in the stack",
        "`not an address` is not a resource address",
        "stack.toml:",
    ] {
        assert!(
            validate.stderr.contains(text),
            "{text}:\n{}",
            validate.stderr
        );
    }
}

#[test]
fn prevent_destroy_comes_from_a_variable_and_outlives_its_block() {
    let fixture = Fixture::new("engine/protected");
    fixture
        .run(&["apply", "--env", "test", "--auto-approve"])
        .expect(0);
    assert_eq!(
        fixture.state()["resources"]["sim_resource.db"]["prevent_destroy"],
        true
    );
    assert!(fixture.state()["resources"]["sim_resource.cache"]["prevent_destroy"].is_null());
    let original = std::fs::read_to_string(fixture.path().join("stack.toml")).unwrap();
    let db_block = "[sim_resource.db]\nname      = \"db-${env}\"\nlifecycle = { prevent_destroy = \"${var.protect}\" }\n";
    assert!(original.contains(db_block));

    // The block deleted: the recorded protection still blocks the destroy.
    write(&fixture, &original.replace(db_block, ""));
    let plan = fixture.run(&["plan", "--env", "test"]);
    assert!(
        plan.stdout
            .contains("its block is gone, so the protection holds")
            || plan
                .stderr
                .contains("its block is gone, so the protection holds"),
        "{}\n{}",
        plan.stdout,
        plan.stderr
    );
    fixture.run(&["apply", "--env", "test", "--auto-approve"]);
    assert!(!fixture.state()["resources"]["sim_resource.db"].is_null());
    assert_eq!(cloud_objects(&fixture), 2, "nothing destroyed");

    // Turned off on purpose (the block back, the variable false): recorded without a change,
    // then the delete goes ahead.
    write(&fixture, &original);
    let off = fixture
        .run(&[
            "plan",
            "--env",
            "test",
            "--var",
            "protect=false",
            "--detailed-exitcode",
        ])
        .expect(0);
    assert!(off.stdout.contains("No changes."), "{}", off.stdout);
    fixture
        .run(&[
            "apply",
            "--env",
            "test",
            "--var",
            "protect=false",
            "--auto-approve",
        ])
        .expect(0);
    assert!(fixture.state()["resources"]["sim_resource.db"]["prevent_destroy"].is_null());
    write(&fixture, &original.replace(db_block, ""));
    let plan = fixture
        .run(&["plan", "--env", "test", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout.contains("# sim_resource.db will be destroyed"),
        "{}",
        plan.stdout
    );

    // A variable that is not a boolean is an error with its span.
    write(
        &fixture,
        &original.replace(
            "protect = { default = true, scratch = false }",
            "protect = { default = \"maybe\" }",
        ),
    );
    let validate = fixture.run(&["validate", "--env", "test"]).expect(1);
    assert!(
        validate
            .stderr
            .contains("`prevent_destroy` must be `true` or `false`"),
        "{}",
        validate.stderr
    );
}
