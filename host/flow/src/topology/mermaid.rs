//! The topology as a Mermaid flowchart (`flowhost export flowchart`), like Jina's `plot()`.
//!
//! Floating executors are drawn with dashed edges and a dashed border; executors with a `when`
//! filter get a `when` label on their incoming edges.

use std::fmt::Write;

use crate::topology::{Node, Topology};

impl Topology {
    /// A Mermaid `flowchart LR` of the flow.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for node in self.order() {
            // `writeln!` into a String cannot fail.
            let _ = writeln!(out, "    {}{}", id(*node), self.label(*node));
        }
        for node in self.order() {
            for s in self.successors(*node) {
                let dashed = matches!(s, Node::Executor(i) if self.is_floating(*i));
                let filtered = matches!(s, Node::Executor(i) if self.info[*i].filtered);
                let arrow = match (dashed, filtered) {
                    (false, false) => "-->".to_string(),
                    (true, false) => "-.->".to_string(),
                    (false, true) => "-->|when|".to_string(),
                    (true, true) => "-.->|when|".to_string(),
                };
                let _ = writeln!(out, "    {} {arrow} {}", id(*node), id(*s));
            }
        }
        let floating = self.floating();
        if !floating.is_empty() {
            out.push_str("    classDef floating stroke-dasharray: 5 5\n");
            let ids: Vec<String> = floating
                .into_iter()
                .map(|i| id(Node::Executor(i)))
                .collect();
            let _ = writeln!(out, "    class {} floating", ids.join(","));
        }
        out
    }

    fn label(&self, node: Node) -> String {
        match node {
            Node::Start => "((\"gateway\"))".to_string(),
            Node::End => "((\"gateway end\"))".to_string(),
            Node::Executor(i) => {
                let e = &self.info[i];
                let mut text = escape(&e.name);
                if let Some(uses) = &e.uses {
                    let short = uses.rsplit('/').next().unwrap_or(uses);
                    let _ = write!(text, "<br/><small>{}</small>", escape(short));
                }
                if let Some(address) = &e.external {
                    let _ = write!(text, "<br/><small>external {}</small>", escape(address));
                }
                if e.replicas > 1 || e.shards > 1 {
                    let _ = write!(text, "<br/>replicas: {}, shards: {}", e.replicas, e.shards);
                }
                format!("[\"{text}\"]")
            }
        }
    }
}

/// Mermaid ids must be plain words (and `end` is reserved), so executors are `e<index>`.
fn id(node: Node) -> String {
    match node {
        Node::Start => "gateway_start".to_string(),
        Node::End => "gateway_end".to_string(),
        Node::Executor(i) => format!("e{i}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "#quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
