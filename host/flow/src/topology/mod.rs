//! The Flow's DAG: gateway start, one node per executor, gateway end (on petgraph).
//!
//! Owns Jina's wiring rules and nothing else (no running, no merging):
//! - default `needs` is the previous non-floating executor; the first one needs the gateway;
//! - `needs: gateway` starts a branch at the gateway;
//! - a floating executor is not connected to the gateway end, so the reply does not wait for it;
//! - a floating executor named in a non-floating executor's `needs` stops being floating (and
//!   so does every floating executor that one needs, since the reply now waits for them too);
//! - every non-floating executor without non-floating successors connects to the gateway end
//!   (a flow with no such executor connects start to end directly).
//!
//! The router walks [`Topology::order`] and merges a join's inputs in
//! [`Topology::predecessors`] order, which is the `needs` order.

mod mermaid;
mod svg;

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::NodeFiltered;

use crate::Flow;

/// The name that means the gateway in `needs`, and that no executor may take.
pub const GATEWAY: &str = "gateway";

/// A node of the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// The gateway, where requests enter.
    Start,
    /// The executor at this index of `Flow::executors`.
    Executor(usize),
    /// The gateway, where replies leave.
    End,
}

/// Why a topology cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// `needs` names something that is neither an executor of this flow nor `gateway`.
    #[error("executor `{executor}` needs `{need}`, which is not an executor in this flow")]
    UnknownNeeds {
        /// The executor whose `needs` it is.
        executor: String,
        /// The name that matches nothing.
        need: String,
    },
    /// The executors' `needs` form a cycle, so no order can run them.
    #[error("executors form a cycle through `needs`: {}", cycle.join(" -> "))]
    Cycle {
        /// The executor names along the cycle, the first repeated at the end: `a -> b -> a`.
        cycle: Vec<String>,
    },
}

/// What the flowchart shows about an executor.
#[derive(Debug, Clone)]
struct Info {
    name: String,
    uses: Option<String>,
    replicas: u32,
    shards: u32,
    filtered: bool,
    /// `host:port` of an external executor.
    external: Option<String>,
}

/// The wired graph of a Flow.
#[derive(Debug, Clone)]
pub struct Topology {
    graph: DiGraph<Node, ()>,
    index: HashMap<Node, NodeIndex>,
    info: Vec<Info>,
    preds: HashMap<Node, Vec<Node>>,
    succs: HashMap<Node, Vec<Node>>,
    floating: Vec<bool>,
    order: Vec<Node>,
}

impl Topology {
    /// Wires `flow`'s executors. Fails on unknown `needs` and on cycles.
    pub fn build(flow: &Flow) -> Result<Topology, TopologyError> {
        let n = flow.executors.len();
        let by_name: HashMap<&str, usize> = flow
            .executors
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.as_str(), i))
            .collect();

        // 1. Predecessors in `needs` order, with Jina's default of the last non-floating one.
        let mut preds: HashMap<Node, Vec<Node>> = HashMap::new();
        let mut last_non_floating = Node::Start;
        for (i, e) in flow.executors.iter().enumerate() {
            let p = match &e.needs {
                None => vec![last_non_floating],
                Some(needs) => needs
                    .iter()
                    .map(|need| match need.as_str() {
                        GATEWAY => Ok(Node::Start),
                        name => by_name
                            .get(name)
                            .map(|&j| Node::Executor(j))
                            .ok_or_else(|| TopologyError::UnknownNeeds {
                                executor: e.name.clone(),
                                need: need.clone(),
                            }),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let mut unique = Vec::with_capacity(p.len());
            for node in p {
                if !unique.contains(&node) {
                    unique.push(node);
                }
            }
            preds.insert(Node::Executor(i), unique);
            if !e.floating {
                last_non_floating = Node::Executor(i);
            }
        }

        // 2. Whatever a non-floating executor needs is not floating (transitively).
        let mut floating: Vec<bool> = flow.executors.iter().map(|e| e.floating).collect();
        let mut work: Vec<usize> = (0..n).filter(|&i| !floating[i]).collect();
        while let Some(i) = work.pop() {
            for p in &preds[&Node::Executor(i)] {
                if let Node::Executor(j) = *p
                    && floating[j]
                {
                    floating[j] = false;
                    work.push(j);
                }
            }
        }

        // 3. Successors, then the gateway end after every non-floating sink.
        let mut succs: HashMap<Node, Vec<Node>> = HashMap::new();
        for i in 0..n {
            for p in &preds[&Node::Executor(i)] {
                succs.entry(*p).or_default().push(Node::Executor(i));
            }
        }
        let sinks: Vec<Node> = (0..n)
            .filter(|&i| !floating[i])
            .filter(|&i| {
                succs.get(&Node::Executor(i)).is_none_or(|s| {
                    s.iter()
                        .all(|s| matches!(s, Node::Executor(j) if floating[*j]))
                })
            })
            .map(Node::Executor)
            .collect();
        let end_preds = if sinks.is_empty() {
            vec![Node::Start]
        } else {
            sinks
        };
        for p in &end_preds {
            succs.entry(*p).or_default().push(Node::End);
        }
        preds.insert(Node::End, end_preds);
        preds.insert(Node::Start, Vec::new());

        // 4. The petgraph graph, for algorithms and for callers that want one.
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        for node in std::iter::once(Node::Start)
            .chain((0..n).map(Node::Executor))
            .chain([Node::End])
        {
            index.insert(node, graph.add_node(node));
        }
        for (to, from) in &preds {
            for f in from {
                graph.add_edge(index[f], index[to], ());
            }
        }

        let info = flow
            .executors
            .iter()
            .map(|e| Info {
                name: e.name.clone(),
                uses: e.uses.clone(),
                replicas: e.replicas,
                shards: e.shards,
                filtered: e.when.is_some(),
                external: e
                    .external
                    .then(|| e.addresses())
                    .flatten()
                    .map(|addresses| {
                        (addresses.iter())
                            .map(|(h, p)| format!("{h}:{p}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }),
            })
            .collect();
        let mut topo = Topology {
            graph,
            index,
            info,
            preds,
            succs,
            floating,
            order: Vec::new(),
        };
        topo.order = topo.sort()?;
        Ok(topo)
    }

    /// Kahn's algorithm, always taking the ready node that comes first in the flow, so the
    /// order is deterministic and follows the file where the wiring allows. (petgraph's
    /// `toposort` is depth-first: a valid order, but not the file's, and routes, logs and
    /// saved flows show this order.)
    fn sort(&self) -> Result<Vec<Node>, TopologyError> {
        let mut indegree: HashMap<Node, usize> =
            self.preds.iter().map(|(n, p)| (*n, p.len())).collect();
        let mut ready: std::collections::BTreeSet<Node> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| *n)
            .collect();
        let mut order = Vec::with_capacity(indegree.len());
        while let Some(node) = ready.pop_first() {
            order.push(node);
            for s in self.successors(node) {
                if let Some(d) = indegree.get_mut(s) {
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(*s);
                    }
                }
            }
        }
        if order.len() == indegree.len() {
            Ok(order)
        } else {
            Err(TopologyError::Cycle {
                cycle: self.find_cycle(),
            })
        }
    }

    /// Names along one cycle, first name repeated at the end: `a -> b -> a`.
    fn find_cycle(&self) -> Vec<String> {
        let scc = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .map(|c| {
                let mut nodes: Vec<Node> = c.into_iter().map(|i| self.graph[i]).collect();
                nodes.sort();
                nodes
            })
            .filter(|c| c.len() > 1 || c.first().is_some_and(|n| self.preds[n].contains(n)))
            .min_by_key(|c| c.first().copied());
        let Some(members) = scc else {
            return Vec::new();
        };
        let start = members[0];
        // The shortest way back to `start` inside the component, by petgraph's A* (with no
        // heuristic, Dijkstra) from each of `start`'s successors in the component.
        let inside = NodeFiltered::from_fn(&self.graph, |i| members.contains(&self.graph[i]));
        let from = self.index[&start];
        let path = self
            .successors(start)
            .iter()
            .filter(|s| members.contains(s))
            .filter_map(|s| {
                let (_, path) =
                    petgraph::algo::astar(&inside, self.index[s], |i| i == from, |_| 1, |_| 0)?;
                Some(path)
            })
            .min_by_key(|path| path.len())
            .unwrap_or_default();
        std::iter::once(start)
            .chain(path.into_iter().map(|i| self.graph[i]))
            .map(|n| self.name(n).to_string())
            .collect()
    }

    /// Every node, gateway start first and gateway end last, each after all it needs.
    pub fn order(&self) -> &[Node] {
        &self.order
    }

    /// The executors in topological order (without the gateway nodes).
    pub fn executor_order(&self) -> Vec<usize> {
        self.order
            .iter()
            .filter_map(|n| match n {
                Node::Executor(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    /// What `node` receives from, in `needs` order (the order a join merges in).
    pub fn predecessors(&self, node: Node) -> &[Node] {
        self.preds.get(&node).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Where `node` sends to, in flow order (gateway end last).
    pub fn successors(&self, node: Node) -> &[Node] {
        self.succs.get(&node).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether the executor at `index` is floating after Jina's override rule.
    pub fn is_floating(&self, index: usize) -> bool {
        self.floating.get(index).copied().unwrap_or(false)
    }

    /// Indices of the floating executors.
    pub fn floating(&self) -> Vec<usize> {
        (0..self.floating.len())
            .filter(|&i| self.floating[i])
            .collect()
    }

    /// Whether `node` merges more than one input.
    pub fn is_join(&self, node: Node) -> bool {
        self.predecessors(node).len() > 1
    }

    /// The nodes that merge more than one input (executors, and the gateway end if the flow
    /// has several non-floating sinks), in flow order.
    pub fn joins(&self) -> Vec<Node> {
        let mut joins: Vec<Node> = self
            .preds
            .keys()
            .copied()
            .filter(|n| self.is_join(*n))
            .collect();
        joins.sort();
        joins
    }

    /// The executor's name, or `gateway` for the gateway nodes.
    pub fn name(&self, node: Node) -> &str {
        match node {
            Node::Executor(i) => self.info.get(i).map_or("?", |e| e.name.as_str()),
            Node::Start | Node::End => GATEWAY,
        }
    }

    /// The node of the executor called `name`.
    pub fn node(&self, name: &str) -> Option<Node> {
        self.info
            .iter()
            .position(|e| e.name == name)
            .map(Node::Executor)
    }

    /// The underlying petgraph graph (node weights are [`Node`]s).
    pub fn graph(&self) -> &DiGraph<Node, ()> {
        &self.graph
    }

    /// The petgraph index of `node`.
    pub fn graph_index(&self, node: Node) -> Option<NodeIndex> {
        self.index.get(&node).copied()
    }
}

#[cfg(test)]
mod tests;
