//! The latency benchmark: the MITA stack's shape in `sim_resource`s (network, an RDS primary
//! with read replicas, an ALB, S3 buckets and the Kubernetes objects of the app), with the
//! real services' relative create times scaled down to a few seconds. The apply's wall time is
//! compared with the lower bound the graph allows: the critical path (the longest chain of
//! create times), and total work divided by the parallelism.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::measure::{summarise, Runner, Sample};
use crate::scale::remove_dir;
use crate::BenchError;

/// One resource of the model: name, create time (ms), dependencies.
struct Node {
    name: String,
    create_ms: u64,
    depends_on: Vec<String>,
}

/// The MITA production stack's shape. Create times keep the real ratios (RDS primary ≈ 12 min,
/// a replica ≈ 6 min, an ALB ≈ 3 min, an S3 bucket ≈ 5 s, a Kubernetes object ≈ 1 s) at
/// 1 real minute ≈ 200 ms.
fn mita() -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut add = |name: &str, create_ms: u64, depends_on: &[&str]| {
        nodes.push(Node {
            name: name.to_string(),
            create_ms,
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        });
    };
    add("vpc", 60, &[]);
    for zone in ["a", "b", "c"] {
        add(&format!("subnet_{zone}"), 40, &["vpc"]);
    }
    add("db_subnet_group", 30, &["subnet_a", "subnet_b", "subnet_c"]);
    add("db_security_group", 30, &["vpc"]);
    add(
        "rds_primary",
        2400,
        &["db_subnet_group", "db_security_group"],
    );
    add("rds_replica_0", 1200, &["rds_primary"]);
    add("rds_replica_1", 1200, &["rds_primary"]);
    add("alb_security_group", 30, &["vpc"]);
    add(
        "alb",
        600,
        &["alb_security_group", "subnet_a", "subnet_b", "subnet_c"],
    );
    add("alb_target_group", 40, &["vpc"]);
    add("alb_listener", 60, &["alb", "alb_target_group"]);
    for bucket in ["backups", "uploads", "logs"] {
        add(&format!("s3_{bucket}"), 80, &[]);
        add(
            &format!("s3_{bucket}_policy"),
            20,
            &[&format!("s3_{bucket}")],
        );
    }
    add("k8s_namespace", 20, &[]);
    add(
        "k8s_db_secret",
        5,
        &[
            "k8s_namespace",
            "rds_primary",
            "rds_replica_0",
            "rds_replica_1",
        ],
    );
    add("k8s_app_secret", 5, &["k8s_namespace"]);
    add(
        "k8s_s3_secret",
        5,
        &["k8s_namespace", "s3_backups", "s3_uploads"],
    );
    add("k8s_configmap", 5, &["k8s_namespace", "s3_logs"]);
    add("k8s_service_account", 5, &["k8s_namespace"]);
    add(
        "k8s_deployment",
        40,
        &[
            "k8s_db_secret",
            "k8s_app_secret",
            "k8s_s3_secret",
            "k8s_configmap",
            "k8s_service_account",
        ],
    );
    add("k8s_migration_job", 40, &["k8s_db_secret", "k8s_configmap"]);
    add("k8s_service", 5, &["k8s_namespace"]);
    add("k8s_ingress", 20, &["k8s_service", "alb_listener"]);
    add("k8s_hpa", 5, &["k8s_deployment"]);
    add("k8s_pdb", 5, &["k8s_deployment"]);
    for name in [
        "default_deny",
        "allow_ingress",
        "allow_db",
        "allow_redis",
        "allow_dns",
    ] {
        add(&format!("k8s_netpol_{name}"), 5, &["k8s_namespace"]);
    }
    for name in ["api", "worker", "scheduler"] {
        add(&format!("k8s_monitor_{name}"), 5, &["k8s_service"]);
    }
    nodes
}

/// The longest chain of create times through the graph (the critical path), in ms.
fn critical_path_ms(nodes: &[Node]) -> u64 {
    let mut finish: BTreeMap<&str, u64> = BTreeMap::new();
    // The model is listed in dependency order.
    for node in nodes {
        let start = node
            .depends_on
            .iter()
            .map(|d| finish.get(d.as_str()).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        finish.insert(&node.name, start + node.create_ms);
    }
    finish.values().copied().max().unwrap_or(0)
}

fn write_stack(dir: &Path, nodes: &[Node]) -> Result<(), BenchError> {
    let mut out = String::from(
        "[stack]\nname = \"mita-shape\"\nenvironments = [\"bench\"]\n\n[providers.sim]\npage_size = 100\n\n",
    );
    for node in nodes {
        let refs: Vec<String> = node
            .depends_on
            .iter()
            .map(|d| format!("\"${{sim_resource.{d}.arn}}\""))
            .collect();
        let _ = writeln!(
            out,
            "[sim_resource.{0}]\nname = \"mita-{0}\"\ncreate_ms = {1}\npayload = {{ upstream = [{2}] }}\n",
            node.name,
            node.create_ms,
            refs.join(", ")
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| BenchError::io("creating the stack dir", e))?;
    std::fs::write(dir.join("stack.toml"), out).map_err(|e| BenchError::io("writing the stack", e))
}

/// One parallelism setting's result.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyRow {
    /// `--parallelism`.
    pub parallelism: usize,
    /// Median wall time and peak memory of `plinth apply` (a child process, plan included).
    pub apply: Sample,
    /// The bound the graph and parallelism allow: max(critical path, work / parallelism).
    pub lower_bound_seconds: f64,
    /// `apply / lower bound`.
    pub ratio: f64,
    /// `apply - lower bound` in ms.
    pub overhead_ms: f64,
}

/// The latency benchmark's results.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyResult {
    /// Resources in the stack.
    pub resources: usize,
    /// Critical path in seconds.
    pub critical_path_seconds: f64,
    /// Sum of all create times in seconds.
    pub total_work_seconds: f64,
    /// Per parallelism setting.
    pub rows: Vec<LatencyRow>,
}

/// Runs the latency benchmark at each parallelism.
pub fn run(
    plinth: &Path,
    parallelisms: &[usize],
    runs: usize,
    runner: &Runner,
    work: &Path,
) -> Result<LatencyResult, BenchError> {
    let nodes = mita();
    let dir = work.join("latency");
    let stack = dir.join("stack");
    write_stack(&stack, &nodes)?;
    let critical = critical_path_ms(&nodes) as f64 / 1000.0;
    let work_total = nodes.iter().map(|n| n.create_ms).sum::<u64>() as f64 / 1000.0;
    let state = dir.join("state");
    let mut rows = Vec::new();
    for &parallelism in parallelisms {
        eprintln!("  latency, --parallelism {parallelism}");
        let mut samples = Vec::new();
        for _ in 0..runs {
            remove_dir(&state)?;
            samples.push(runner.run(
                &dir,
                plinth,
                &[
                    "apply",
                    &stack.display().to_string(),
                    "--auto-approve",
                    "--state-dir",
                    &state.display().to_string(),
                    "--parallelism",
                    &parallelism.to_string(),
                ],
                &[0],
            )?);
        }
        let apply = summarise(&samples);
        let bound = critical.max(work_total / parallelism.max(1) as f64);
        rows.push(LatencyRow {
            parallelism,
            apply,
            lower_bound_seconds: bound,
            ratio: apply.seconds / bound,
            overhead_ms: (apply.seconds - bound) * 1000.0,
        });
    }
    remove_dir(&state)?;
    Ok(LatencyResult {
        resources: nodes.len(),
        critical_path_seconds: critical,
        total_work_seconds: work_total,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_critical_path_runs_through_the_database() {
        let nodes = mita();
        // vpc 60 + subnet 40 + subnet group 30 + primary 2400 + replica 1200 + db secret 5
        // + deployment 40 + hpa 5
        assert_eq!(critical_path_ms(&nodes), 3780);
        let names: std::collections::HashSet<&str> =
            nodes.iter().map(|n| n.name.as_str()).collect();
        for node in &nodes {
            for dep in &node.depends_on {
                assert!(names.contains(dep.as_str()), "{dep}");
            }
        }
    }
}
