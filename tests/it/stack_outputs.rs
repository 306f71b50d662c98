//! `[data.plinth_stack.NAME]`: an app stack reads a network stack's outputs from its backend
//! (local and S3 on moto) during plan, read-only; sensitive outputs stay sensitive; a missing
//! state is an error naming the stack and environment.

use std::path::Path;

use crate::backends::{environment, Backend};
use crate::support::Run;

const NETWORK: &str = r#"[stack]
name = "network"
environments = ["dev"]

[secrets]
token = { from = "env:PLINTH_TEST_CANARY" }

[sim_resource.vpc]
name = "vpc-${env}"

[outputs]
vpc_arn = "${sim_resource.vpc.arn}"
zone    = "eu-1a"
token   = { value = "${secret.token}", sensitive = true }
"#;

const APP: &str = r#"[stack]
name = "app"
environments = ["dev"]

[data.plinth_stack.network]
stack = "network"
BACKEND

[sim_resource.web]
name = "web-${env}"
tags = { vpc = "${data.plinth_stack.network.outputs.vpc_arn}", zone = "${data.plinth_stack.network.outputs.zone}" }
"#;

fn run(dir: &Path, args: &[&str]) -> Run {
    let mut command = crate::support::plinth();
    command.args(args).arg(dir).envs(environment());
    Run::from(command.output().expect("run plinth"))
}

fn two_stacks(backend: Option<&Backend>, lookup_backend: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (name, text) in [("network", NETWORK), ("app", APP)] {
        std::fs::create_dir(root.path().join(name)).unwrap();
        let mut text = text.replace("BACKEND", lookup_backend);
        if let Some(backend) = backend {
            text.push_str(&backend.toml(false));
        }
        std::fs::write(root.path().join(name).join("stack.toml"), text).unwrap();
    }
    root
}

/// Before the network stack is applied the lookup fails naming it; after, the app plans with
/// its outputs, applies, and plans no change. `local`: the network's state is in its folder.
fn reads_the_outputs(root: &Path, local: bool) {
    let network = root.join("network");
    let app = root.join("app");
    let early = run(&app, &["plan"]).expect(1);
    assert!(
        crate::backends::flat(&early.stderr)
            .contains("stack `network` has no state for environment `dev`"),
        "{}",
        early.stderr
    );
    run(&network, &["apply", "--auto-approve"]).expect(0);
    let plan = run(&app, &["plan", "--detailed-exitcode"]).expect(2);
    assert!(plan.stdout.contains("zone = \"eu-1a\""), "{}", plan.stdout);
    if local {
        let state = crate::support::load_state(&network.join(".plinth"), "dev");
        let arn = state["outputs"]["vpc_arn"]
            .as_str()
            .expect("vpc_arn output");
        assert!(plan.stdout.contains(arn), "{}", plan.stdout);
    }
    let json = run(&app, &["plan", "--format", "json"]).expect(0);
    assert!(
        json.stdout.contains("\"data.plinth_stack.network\""),
        "{}",
        json.stdout
    );
    assert!(!json.stdout.contains(crate::backends::CANARY));
    assert!(!plan.stdout.contains(crate::backends::CANARY));
    run(&app, &["apply", "--auto-approve"]).expect(0);
    run(&app, &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn an_app_stack_reads_a_network_stacks_outputs_from_a_local_backend() {
    let root = two_stacks(
        None,
        "backend = { kind = \"local\", path = \"../network/.plinth\" }",
    );
    reads_the_outputs(root.path(), true);
    // The network stack's state is only read: no lock left, same serial.
    let state = crate::support::load_state(&root.path().join("network/.plinth"), "dev");
    assert_eq!(state["serial"], 1);
}

#[test]
fn an_app_stack_reads_a_network_stacks_outputs_from_s3() {
    let backend = Backend::s3("cross-stack-outputs", true);
    // Both stacks share the team's bucket: the lookup's default backend is this stack's.
    let root = two_stacks(Some(&backend), "");
    reads_the_outputs(root.path(), false);
}
