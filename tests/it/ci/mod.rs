//! CI and pull-request workflow (issue #5): the public plan JSON against its schema, the
//! Markdown comment and its character budget, saved plans that apply once or refuse, drift in
//! every format, and no secret in any output or plan file.

mod budget;
mod drift;
mod json;
mod markdown;
pub(crate) mod plans;
mod saved;
mod secrets;
mod shapes;
mod terraform;

/// A secret value that must never appear anywhere.
pub const CANARY: &str = "canary-c1-5ec7e7-never-print";

/// Runs `plinth <args> [stack]` with the canary secret in the environment.
pub fn run(args: &[&str]) -> crate::support::Run {
    let mut command = crate::support::plinth();
    command.env("PLINTH_TEST_CANARY", CANARY).args(args);
    crate::support::Run::from(command.output().expect("run plinth"))
}

/// Snapshot filters for values that change per run (versions, hashes, lineages, temp paths).
pub fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r#""plinth_version": "[^"]*""#,
            r#""plinth_version": "[version]""#,
        ),
        (r"[0-9a-f]{64}", "[sha256]"),
        (r#""lineage": "[^"]*""#, r#""lineage": "[lineage]""#),
        (r"/tmp/[^\s`'\x22]*", "[tmp]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^\s\x22]*", "[time]"),
    ]
}
