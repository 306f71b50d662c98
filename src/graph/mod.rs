//! The dependency graph (petgraph): one node per resource instance, an edge `a → b` when `a`
//! refers to `b` (or names it in `depends_on`). Cycles are errors that print the minimal cycle
//! as a path, each hop pointing at the reference that makes it.

use std::collections::{BTreeMap, VecDeque};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::fmt::Write as _;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::config::{Origin, SourceMap, Stack};

/// Why one resource depends on another.
#[derive(Clone, Debug)]
pub struct Edge {
    /// Where the reference or `depends_on` entry is written.
    pub origin: Origin,
    /// `reference` or `depends_on`.
    pub explicit: bool,
}

/// Resource instances and their dependencies.
pub struct DependencyGraph {
    graph: DiGraph<String, Edge>,
    index: HashMap<String, NodeIndex>,
}

impl DependencyGraph {
    /// Builds the graph of a stack; fails on a cycle.
    pub fn build(stack: &Stack) -> Result<Self, Box<CycleError>> {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for resource in &stack.resources {
            let address = resource.address.to_string();
            index.insert(address.clone(), graph.add_node(address.clone()));
            blocks
                .entry(resource.address.block())
                .or_default()
                .push(address);
        }
        for resource in &stack.resources {
            let from = index[&resource.address.to_string()];
            let mut seen = HashSet::new();
            for expr in resource.attributes.values() {
                for reference in expr.references() {
                    if let Some(&to) = index.get(&reference.target.to_string()) {
                        if seen.insert(to) {
                            graph.add_edge(
                                from,
                                to,
                                Edge {
                                    origin: reference.origin,
                                    explicit: false,
                                },
                            );
                        }
                    }
                }
            }
            for (target, origin) in &resource.depends_on {
                let targets: Vec<String> = match target.key {
                    Some(_) => vec![target.to_string()],
                    None => blocks.get(&target.block()).cloned().unwrap_or_default(),
                };
                for target in targets {
                    let Some(&to) = index.get(&target) else {
                        continue;
                    };
                    if seen.insert(to) {
                        graph.add_edge(
                            from,
                            to,
                            Edge {
                                origin: *origin,
                                explicit: true,
                            },
                        );
                    }
                }
            }
        }
        let built = DependencyGraph { graph, index };
        built.check_cycles(&stack.sources)?;
        Ok(built)
    }

    fn check_cycles(&self, sources: &Arc<SourceMap>) -> Result<(), Box<CycleError>> {
        for component in tarjan_scc(&self.graph) {
            let cyclic = component.len() > 1
                || self
                    .graph
                    .edges(component[0])
                    .any(|e| e.target() == component[0]);
            if cyclic {
                let cycle = self.shortest_cycle(&component);
                return Err(Box::new(CycleError::new(&self.graph, &cycle, sources)));
            }
        }
        Ok(())
    }

    /// The shortest cycle within a strongly connected component (as edge indices).
    fn shortest_cycle(&self, component: &[NodeIndex]) -> Vec<petgraph::graph::EdgeIndex> {
        let members: HashSet<NodeIndex> = component.iter().copied().collect();
        let mut best: Option<Vec<petgraph::graph::EdgeIndex>> = None;
        for &start in component {
            // BFS from start back to start, inside the component.
            let mut previous: HashMap<NodeIndex, petgraph::graph::EdgeIndex> = HashMap::new();
            let mut queue = VecDeque::from([start]);
            let mut found = None;
            'search: while let Some(node) = queue.pop_front() {
                for edge in self.graph.edges(node) {
                    let next = edge.target();
                    if !members.contains(&next) {
                        continue;
                    }
                    if next == start {
                        found = Some(edge.id());
                        previous.insert(start, edge.id());
                        break 'search;
                    }
                    if let std::collections::hash_map::Entry::Vacant(slot) = previous.entry(next) {
                        slot.insert(edge.id());
                        queue.push_back(next);
                    }
                }
            }
            if found.is_none() {
                continue;
            }
            let mut path = Vec::new();
            let mut node = start;
            loop {
                let edge = previous[&node];
                path.push(edge);
                let (source, _) = self.graph.edge_endpoints(edge).unwrap_or((start, start));
                node = source;
                if node == start {
                    break;
                }
            }
            path.reverse();
            if best.as_ref().is_none_or(|b| path.len() < b.len()) {
                best = Some(path);
            }
        }
        // Start at the smallest address so the message is the same on every run.
        let mut cycle = best.unwrap_or_default();
        if let Some(first) = (0..cycle.len()).min_by_key(|&i| {
            let (source, _) = self.graph.edge_endpoints(cycle[i]).unwrap_or_default();
            self.graph[source].clone()
        }) {
            cycle.rotate_left(first);
        }
        cycle
    }

    /// Addresses this resource depends on directly.
    pub fn dependencies(&self, address: &str) -> Vec<String> {
        let Some(&node) = self.index.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<String> = self
            .graph
            .neighbors_directed(node, Direction::Outgoing)
            .map(|n| self.graph[n].clone())
            .collect();
        out.sort();
        out
    }

    /// Addresses in an order where every resource comes after its dependencies.
    pub fn dependency_order(&self) -> Vec<String> {
        match petgraph::algo::toposort(&self.graph, None) {
            Ok(order) => order
                .into_iter()
                .rev()
                .map(|n| self.graph[n].clone())
                .collect(),
            Err(_) => self.graph.node_weights().cloned().collect(),
        }
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True with no resources.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The graph in Graphviz DOT (edges point from a resource to what it depends on; ids are
    /// quoted, with `"` and `\` escaped: `module.svc["eu"].aws_s3_bucket.b`).
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph plinth {\n  rankdir = \"RL\";\n  node [shape = box];\n");
        let mut nodes: Vec<&String> = self.graph.node_weights().collect();
        nodes.sort();
        for node in nodes {
            let _ = writeln!(out, "  \"{}\";", dot_escape(node));
        }
        let mut edges: Vec<(String, String, bool)> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].clone(),
                    self.graph[e.target()].clone(),
                    e.weight().explicit,
                )
            })
            .collect();
        edges.sort();
        for (from, to, explicit) in edges {
            let style = if explicit { " [style = dashed]" } else { "" };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\"{style};",
                dot_escape(&from),
                dot_escape(&to)
            );
        }
        out.push_str("}\n");
        out
    }
}

/// A dependency cycle.
#[derive(Debug)]
pub struct CycleError {
    path: String,
    hops: Vec<String>,
    source_code: NamedSource<Arc<String>>,
    labels: Vec<LabeledSpan>,
}

impl CycleError {
    fn new(
        graph: &DiGraph<String, Edge>,
        cycle: &[petgraph::graph::EdgeIndex],
        sources: &Arc<SourceMap>,
    ) -> Self {
        let mut names = Vec::new();
        let mut hops = Vec::new();
        let mut labels = Vec::new();
        let first_file = cycle.first().map(|&e| graph[e].origin.file).unwrap_or(0);
        for &edge in cycle {
            let (from, to) = graph.edge_endpoints(edge).unwrap_or_default();
            let weight = &graph[edge];
            names.push(graph[from].clone());
            let how = if weight.explicit {
                "lists in `depends_on`"
            } else {
                "refers to"
            };
            hops.push(format!(
                "`{}` {how} `{}` at {}",
                graph[from],
                graph[to],
                sources.locate(weight.origin)
            ));
            if weight.origin.file == first_file {
                labels.push(LabeledSpan::new_with_span(
                    Some(format!("{} → {}", graph[from], graph[to])),
                    weight.origin.span,
                ));
            }
            if Some(&edge) == cycle.last() {
                names.push(graph[to].clone());
            }
        }
        CycleError {
            path: names.join(" → "),
            hops,
            source_code: if sources.files.is_empty() {
                NamedSource::new("", Arc::new(String::new()))
            } else {
                sources.named_source(first_file)
            },
            labels,
        }
    }

    /// The cycle as `a → b → a`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl std::fmt::Display for CycleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dependency cycle: {}", self.path)
    }
}

impl std::error::Error for CycleError {}

impl Diagnostic for CycleError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("plinth::cycle"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!(
            "{}\nbreak the cycle by removing one of these references (or `depends_on` entries)",
            self.hops.join("\n")
        )))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.clone().into_iter()))
    }
}

/// A DOT quoted id's text: `"` and `\` escaped.
fn dot_escape(id: &str) -> String {
    id.replace('\\', "\\\\").replace('"', "\\\"")
}
