//! The results as a Markdown table and as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::latency::LatencyResult;
use crate::measure::Sample;
use crate::refresh::RefreshResult;
use crate::scale::{ScaleResult, ToolFigures};

/// Everything one benchmark run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The machine: CPU model, cores, memory, kernel.
    pub machine: String,
    /// Load averages when the run started and when it ended.
    pub load_average: (String, String),
    /// Runs per measurement.
    pub runs: usize,
    /// Terraform's version, when found.
    pub terraform_version: Option<String>,
    /// Terraform's `-parallelism`.
    pub terraform_parallelism: usize,
    /// The scale benchmark, per size.
    pub scale: Vec<ScaleResult>,
    /// The latency benchmark.
    pub latency: Option<LatencyResult>,
    /// The refresh benchmark.
    pub refresh: Option<RefreshResult>,
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn bytes(b: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = b as f64;
    if b < KIB {
        format!("{b:.0} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / KIB / KIB)
    }
}

/// A figure of one tool, as text.
enum Figure {
    Time(Option<Sample>),
    Memory(Option<Sample>),
    Bytes(Option<u64>, bool),
}

impl Figure {
    fn text(&self) -> String {
        match self {
            Figure::Time(Some(s)) => seconds(s.seconds),
            Figure::Memory(Some(s)) => bytes(s.peak_bytes),
            Figure::Bytes(Some(b), lower) => {
                format!("{}{}", if *lower { "≥ " } else { "" }, bytes(*b))
            }
            _ => "–".into(),
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Figure::Time(s) => s.map(|s| s.seconds),
            Figure::Memory(s) => s.map(|s| s.peak_bytes as f64),
            Figure::Bytes(b, _) => b.map(|b| b as f64),
        }
    }
}

fn figures(tool: &ToolFigures) -> Vec<(&'static str, Figure)> {
    vec![
        ("apply from empty", Figure::Time(tool.apply_empty)),
        ("no-op plan", Figure::Time(tool.noop_plan)),
        (
            "1-resource change (plan + apply)",
            Figure::Time(tool.one_change_apply),
        ),
        (
            "peak memory, apply from empty",
            Figure::Memory(tool.apply_empty),
        ),
        ("peak memory, no-op plan", Figure::Memory(tool.noop_plan)),
        (
            "state bytes written, apply from empty",
            Figure::Bytes(tool.state_bytes_apply_empty, tool.state_bytes_lower_bound),
        ),
        (
            "state bytes written, 1-resource change",
            Figure::Bytes(tool.state_bytes_one_change, tool.state_bytes_lower_bound),
        ),
    ]
}

impl Report {
    /// The Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Machine: {}", self.machine);
        let _ = writeln!(
            out,
            "Load average (1, 5, 15 min) at the start: {}; at the end: {}.",
            self.load_average.0, self.load_average.1
        );
        let _ = writeln!(
            out,
            "Median of {} runs per figure (Terraform: {}, `-parallelism={}`); peak memory is the largest of the runs.\n",
            self.runs,
            self.terraform_version.as_deref().unwrap_or("not found"),
            self.terraform_parallelism
        );
        if !self.scale.is_empty() {
            out.push_str("| resources | figure | Plinth | Terraform | Terraform ÷ Plinth |\n");
            out.push_str("|---:|---|---:|---:|---:|\n");
            // The largest size Terraform ran at, for a linear lower-bound extrapolation.
            let measured = self
                .scale
                .iter()
                .filter(|r| r.terraform.is_some())
                .max_by_key(|r| r.size);
            for result in &self.scale {
                let plinth = figures(&result.plinth);
                let terraform = result.terraform.as_ref().map(figures);
                for (index, (name, figure)) in plinth.iter().enumerate() {
                    let (tf_text, ratio) = match &terraform {
                        Some(tf) => {
                            let tf_figure = &tf[index].1;
                            let ratio = match (tf_figure.value(), figure.value()) {
                                (Some(t), Some(p)) if p > 0.0 => {
                                    let bound = matches!(tf_figure, Figure::Bytes(_, true));
                                    format!("{}{:.1}×", if bound { "≥ " } else { "" }, t / p)
                                }
                                _ => "–".into(),
                            };
                            (tf_figure.text(), ratio)
                        }
                        None => {
                            let estimate = match (measured, figure) {
                                (Some(m), Figure::Time(Some(p))) if index < 3 => {
                                    let tf = figures(m.terraform.as_ref().unwrap_or(&m.plinth));
                                    tf[index].1.value().map(|t| {
                                        let scaled = t * result.size as f64 / m.size as f64;
                                        format!("≥ {:.0}× (est.)", scaled / p.seconds)
                                    })
                                }
                                _ => None,
                            };
                            (
                                "not run".to_string(),
                                estimate.unwrap_or_else(|| "–".into()),
                            )
                        }
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {name} | {} | {tf_text} | {ratio} |",
                        result.size,
                        figure.text()
                    );
                }
            }
            if self.scale.iter().any(|r| r.plinth_modules.is_some()) {
                out.push_str("\nThe same resources written as instances of one module (`for_each`), against the flat stack:\n\n");
                out.push_str(
                    "| resources | module instances | figure | flat | modules | modules ÷ flat |\n",
                );
                out.push_str("|---:|---:|---|---:|---:|---:|\n");
                for result in &self.scale {
                    let Some(modules) = &result.plinth_modules else {
                        continue;
                    };
                    let flat = figures(&result.plinth);
                    for (index, (name, figure)) in figures(modules).iter().enumerate() {
                        let base = &flat[index].1;
                        let ratio = match (figure.value(), base.value()) {
                            (Some(m), Some(f)) if f > 0.0 => format!("{:.2}×", m / f),
                            _ => "–".into(),
                        };
                        let _ = writeln!(
                            out,
                            "| {} | {} | {name} | {} | {} | {ratio} |",
                            result.size,
                            result.module_instances,
                            base.text(),
                            figure.text()
                        );
                    }
                }
            }
            for result in &self.scale {
                if let Some(journal) = &result.plinth.journal_apply_empty {
                    let _ = writeln!(
                        out,
                        "\n{} resources: Plinth's apply from empty wrote {} journal entries in {} durable appends (fsyncs).",
                        result.size, journal.journal_entries, journal.journal_appends
                    );
                }
            }
            let _ = writeln!(
                out,
                "\nShape: {} layers, each resource referring to {} in the layer below. \
                 \"not run\": Terraform was skipped at that size (`--terraform-max`); \"est.\" scales \
                 its largest measured time linearly, a lower bound since its time grows faster than linearly. \
                 Terraform's state bytes are the final `terraform.tfstate` size (a lower bound: it rewrites \
                 the whole file at least once per run).\n",
                self.scale[0].depth, self.scale[0].width
            );
        }
        if let Some(latency) = &self.latency {
            let _ = writeln!(
                out,
                "Latency (MITA shape, {} `sim_resource`s): critical path {}, total work {}.\n",
                latency.resources,
                seconds(latency.critical_path_seconds),
                seconds(latency.total_work_seconds)
            );
            out.push_str("| --parallelism | apply wall time | lower bound | ratio | overhead |\n");
            out.push_str("|---:|---:|---:|---:|---:|\n");
            for row in &latency.rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.3} | {:.0} ms |",
                    row.parallelism,
                    seconds(row.apply.seconds),
                    seconds(row.lower_bound_seconds),
                    row.ratio,
                    row.overhead_ms
                );
            }
            out.push('\n');
        }
        if let Some(refresh) = &self.refresh {
            let _ = writeln!(
                out,
                "Refresh ({} `sim_resource`s, `page_size = {}`, `rate_limit = {}`/s, `read_ms = {}`):\n",
                refresh.size, refresh.page_size, refresh.rate_limit, refresh.read_ms
            );
            out.push_str("| | API calls | time |\n|---|---:|---:|\n");
            let _ = writeln!(
                out,
                "| Plinth `plan` (batched refresh) | {} ({} pages) | {} |",
                refresh.calls,
                refresh.page_reads,
                seconds(refresh.plan.seconds)
            );
            let _ = writeln!(
                out,
                "| one read per resource, 10 in flight (computed) | {} | ≥ {} |",
                refresh.one_per_resource_calls,
                seconds(refresh.one_per_resource_seconds)
            );
            let _ = writeln!(out, "\nCalls ratio: {:.3}.", refresh.call_ratio);
        }
        out
    }
}

/// A one-line description of this machine.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "? GiB".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {memory} RAM, Linux {}",
        kernel.trim()
    )
}

/// The 1-, 5- and 15-minute load averages (other work on the machine slows every figure).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}
