//! The router's compiled view of a topology: for every executor, where its
//! inputs come from (in `needs` order) and where its output goes.

use flowhost_flow::topology::{Node, Topology};

/// Where a node's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The request's documents, as the gateway received them.
    Gateway,
    /// The output of the executor at this index of the flow's executors.
    Executor(usize),
}

/// Where an output goes: an input slot of an executor, or of the gateway end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Input `slot` of the executor at `index`.
    Executor {
        /// Index of the consuming executor in the flow's executors.
        index: usize,
        /// Position of this input in the executor's [`Plan::inputs`] (`needs` order).
        slot: usize,
    },
    /// Input `slot` of the gateway end, whose inputs are merged into the reply.
    End {
        /// Position of this input in [`Plan::end_inputs`].
        slot: usize,
    },
}

/// How outputs flow between a topology's nodes; every `Vec` indexed per executor is in flow
/// order, as `Node::Executor` numbers them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per executor: its inputs, in `needs` order.
    pub inputs: Vec<Vec<Source>>,
    /// The gateway end's inputs, in order.
    pub end_inputs: Vec<Source>,
    /// Per executor: where its output goes (non-floating consumers and floating ones alike).
    pub outputs: Vec<Vec<Sink>>,
    /// Where the request's documents go.
    pub gateway_outputs: Vec<Sink>,
    /// Per executor: whether it is floating (runs in the background; the reply does not wait).
    pub floating: Vec<bool>,
}

fn source(node: Node) -> Option<Source> {
    match node {
        Node::Start => Some(Source::Gateway),
        Node::Executor(i) => Some(Source::Executor(i)),
        Node::End => None,
    }
}

impl Plan {
    /// Compiles `topology`, whose executors are numbered `0..executors`.
    pub fn new(topology: &Topology, executors: usize) -> Self {
        let inputs: Vec<Vec<Source>> = (0..executors)
            .map(|i| {
                topology
                    .predecessors(Node::Executor(i))
                    .iter()
                    .filter_map(|&n| source(n))
                    .collect()
            })
            .collect();
        let end_inputs: Vec<Source> = topology
            .predecessors(Node::End)
            .iter()
            .filter_map(|&n| source(n))
            .collect();
        let mut outputs = vec![Vec::new(); executors];
        let mut gateway_outputs = Vec::new();
        let mut route = |from: Source, sink: Sink| match from {
            Source::Gateway => gateway_outputs.push(sink),
            Source::Executor(i) => outputs[i].push(sink),
        };
        for (index, sources) in inputs.iter().enumerate() {
            for (slot, &from) in sources.iter().enumerate() {
                route(from, Sink::Executor { index, slot });
            }
        }
        for (slot, &from) in end_inputs.iter().enumerate() {
            route(from, Sink::End { slot });
        }
        let floating = (0..executors).map(|i| topology.is_floating(i)).collect();
        Self {
            inputs,
            end_inputs,
            outputs,
            gateway_outputs,
            floating,
        }
    }

    /// Whether any executor is floating.
    pub fn has_floating(&self) -> bool {
        self.floating.contains(&true)
    }
}
