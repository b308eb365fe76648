//! The topology drawn as SVG by flowhost itself (`flowhost export flowchart flow.svg`), where
//! Jina's `plot()` sends its Mermaid text to an online renderer.
//!
//! Layered left to right: a node's column is the longest path to it from the gateway, its row
//! its order within the column. Floating executors have a dashed border and dashed incoming
//! edges; edges into an executor with a `when` filter are labelled `when`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::topology::{Node, Topology};

const WIDTH: u32 = 170;
const HEIGHT: u32 = 64;
const GAP_X: u32 = 60;
const GAP_Y: u32 = 28;
const MARGIN: u32 = 20;

impl Topology {
    /// An SVG picture of the flow.
    pub fn to_svg(&self) -> String {
        let columns = self.columns();
        let mut rows: HashMap<usize, u32> = HashMap::new();
        let mut place: HashMap<Node, (u32, u32)> = HashMap::new();
        for node in self.order() {
            let column = columns[node];
            let row = rows.entry(column).or_insert(0);
            let x = MARGIN + column as u32 * (WIDTH + GAP_X);
            let y = MARGIN + *row * (HEIGHT + GAP_Y);
            *row += 1;
            place.insert(*node, (x, y));
        }
        let width = place
            .values()
            .map(|(x, _)| x + WIDTH + MARGIN)
            .max()
            .unwrap_or(0);
        let height = place
            .values()
            .map(|(_, y)| y + HEIGHT + MARGIN)
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        // `write!` into a String cannot fail.
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
        );
        out.push_str(
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" \
             fill=\"#555\"/></marker></defs>\n",
        );
        for node in self.order() {
            let (x1, y1) = place[node];
            for successor in self.successors(*node) {
                let (x2, y2) = place[successor];
                let floating = matches!(successor, Node::Executor(i) if self.is_floating(*i));
                let filtered = matches!(successor, Node::Executor(i) if self.info[*i].filtered);
                let (sx, sy) = (x1 + WIDTH, y1 + HEIGHT / 2);
                let (ex, ey) = (x2, y2 + HEIGHT / 2);
                let dash = if floating {
                    " stroke-dasharray=\"5 5\""
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "<line x1=\"{sx}\" y1=\"{sy}\" x2=\"{ex}\" y2=\"{ey}\" stroke=\"#555\"{dash} \
                     marker-end=\"url(#arrow)\"/>"
                );
                if filtered {
                    let _ = writeln!(
                        out,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#a33\">when</text>",
                        (sx + ex) / 2,
                        (sy + ey) / 2 - 4
                    );
                }
            }
        }
        for node in self.order() {
            let (x, y) = place[node];
            let lines = self.svg_lines(*node);
            let floating = matches!(node, Node::Executor(i) if self.is_floating(*i));
            let (radius, fill) = match node {
                Node::Executor(_) => (6, "#eef3fb"),
                Node::Start | Node::End => (HEIGHT / 2, "#f3f3f3"),
            };
            let dash = if floating {
                " stroke-dasharray=\"5 5\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" rx=\"{radius}\" \
                 fill=\"{fill}\" stroke=\"#336\"{dash}/>"
            );
            let top = y + HEIGHT / 2 + 4 - (lines.len() as u32 - 1) * 7;
            for (i, line) in lines.iter().enumerate() {
                let weight = if i == 0 { " font-weight=\"bold\"" } else { "" };
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{weight}>{}</text>",
                    x + WIDTH / 2,
                    top + i as u32 * 14,
                    escape(line)
                );
            }
        }
        out.push_str("</svg>\n");
        out
    }

    /// Longest distance from the gateway, per node: a join sits right of all its inputs.
    fn columns(&self) -> HashMap<Node, usize> {
        let mut columns = HashMap::new();
        for node in self.order() {
            let column = (self.predecessors(*node).iter())
                .filter_map(|p| columns.get(p))
                .map(|c| c + 1)
                .max()
                .unwrap_or(0);
            columns.insert(*node, column);
        }
        columns
    }

    fn svg_lines(&self, node: Node) -> Vec<String> {
        match node {
            Node::Start => vec!["gateway".into()],
            Node::End => vec!["gateway end".into()],
            Node::Executor(i) => {
                let e = &self.info[i];
                let mut lines = vec![e.name.clone()];
                if let Some(address) = &e.external {
                    lines.push(format!("external {}", shorten(address)));
                } else if let Some(uses) = &e.uses {
                    lines.push(shorten(uses.rsplit('/').next().unwrap_or(uses)));
                }
                if e.replicas > 1 || e.shards > 1 {
                    lines.push(format!("replicas: {}, shards: {}", e.replicas, e.shards));
                }
                lines
            }
        }
    }
}

/// At most 26 characters, so a line fits its box.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 26 {
        text.to_owned()
    } else {
        let head: String = text.chars().take(25).collect();
        format!("{head}…")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
