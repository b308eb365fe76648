//! Wiring rules: defaults, joins, Jina's three floating examples, cycles.

use serde_json::json;

use crate::topology::{Node, Topology, TopologyError};
use crate::{ExecutorSpec, Flow};

use Node::{End, Executor as E, Start};

fn topo(flow: &Flow) -> Topology {
    Topology::build(flow).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn empty_flow_is_just_the_gateway() {
    let t = topo(&Flow::new());
    assert_eq!(t.order(), [Start, End]);
    assert_eq!(t.predecessors(End), [Start]);
}

#[test]
fn default_needs_chain_in_order() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::default())
            .add(ExecutorSpec::default()),
    );
    assert_eq!(t.predecessors(E(0)), [Start]);
    assert_eq!(t.predecessors(E(1)), [E(0)]);
    assert_eq!(t.predecessors(End), [E(1)]);
    assert_eq!(t.order(), [Start, E(0), E(1), End]);
    assert_eq!(t.name(E(1)), "executor1");
    assert!(t.joins().is_empty());
}

fn diamond() -> Flow {
    Flow::new()
        .add(ExecutorSpec::new("foo"))
        .add(ExecutorSpec::new("bar").needs("foo"))
        .add(ExecutorSpec::new("baz").needs("foo"))
        .add(ExecutorSpec::new("join").needs(["baz", "bar"]))
}

#[test]
fn diamond_joins_in_needs_order() {
    let t = topo(&diamond());
    assert_eq!(t.successors(E(0)), [E(1), E(2)]);
    // The router merges in `needs` order, not in flow order.
    assert_eq!(t.predecessors(E(3)), [E(2), E(1)]);
    assert_eq!(t.joins(), [E(3)]);
    assert!(t.is_join(E(3)) && !t.is_join(E(1)));
    assert_eq!(t.predecessors(End), [E(3)]);
    assert_eq!(t.order(), [Start, E(0), E(1), E(2), E(3), End]);
    assert_eq!(t.executor_order(), [0, 1, 2, 3]);
    assert_eq!(t.graph().edge_count(), 6);
}

#[test]
fn parallel_sinks_all_reach_the_end() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::new("first"))
            .add(
                ExecutorSpec::new("exec1")
                    .needs("first")
                    .when(json!({"tags__key": {"$eq": 5}})),
            )
            .add(ExecutorSpec::new("exec2").needs("first")),
    );
    assert_eq!(t.predecessors(End), [E(1), E(2)]);
    assert!(t.is_join(End));
    assert_eq!(t.joins(), [End]);
}

#[test]
fn needs_gateway_starts_a_branch() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::new("a"))
            .add(ExecutorSpec::new("b").needs("gateway")),
    );
    assert_eq!(t.predecessors(E(1)), [Start]);
    assert_eq!(t.successors(Start), [E(0), E(1)]);
    assert_eq!(t.predecessors(End), [E(0), E(1)]);
}

/// Seed: `Flow().add().add(name='middle', floating=True).add()`.
#[test]
fn floating_implicit_reordering() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::default())
            .add(ExecutorSpec::new("middle").floating(true))
            .add(ExecutorSpec::default()),
    );
    assert_eq!(t.predecessors(E(1)), [E(0)]);
    assert_eq!(
        t.predecessors(E(2)),
        [E(0)],
        "chains after the last non-floating executor"
    );
    assert_eq!(t.floating(), [1]);
    assert_eq!(t.predecessors(End), [E(2)]);
    assert!(
        t.successors(E(1)).is_empty(),
        "a floating executor does not reach the end"
    );
}

/// Seed: `Flow().add().add(name='middle', floating=True).add(needs=['middle'], floating=True)`.
#[test]
fn floating_chain_with_explicit_needs() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::default())
            .add(ExecutorSpec::new("middle").floating(true))
            .add(ExecutorSpec::default().needs(["middle"]).floating(true)),
    );
    assert_eq!(t.predecessors(E(2)), [E(1)]);
    assert_eq!(t.floating(), [1, 2]);
    assert_eq!(t.predecessors(End), [E(0)]);
    assert_eq!(t.order(), [Start, E(0), E(1), E(2), End]);
}

/// Seed: `Flow().add().add(name='middle', floating=True).add(needs=['middle'])`.
#[test]
fn floating_overridden_when_needed_by_non_floating() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::default())
            .add(ExecutorSpec::new("middle").floating(true))
            .add(ExecutorSpec::default().needs(["middle"])),
    );
    assert!(!t.is_floating(1));
    assert!(t.floating().is_empty());
    assert_eq!(t.predecessors(End), [E(2)]);
}

#[test]
fn floating_override_is_transitive() {
    let t = topo(
        &Flow::new()
            .add(ExecutorSpec::new("a"))
            .add(ExecutorSpec::new("f1").floating(true))
            .add(ExecutorSpec::new("f2").needs("f1").floating(true))
            .add(ExecutorSpec::new("b").needs("f2")),
    );
    assert!(t.floating().is_empty());
    assert_eq!(t.predecessors(End), [E(3)]);
}

#[test]
fn only_floating_executors_leave_start_connected_to_end() {
    let t = topo(&Flow::new().add(ExecutorSpec::new("f").floating(true)));
    assert_eq!(t.predecessors(E(0)), [Start]);
    assert_eq!(t.predecessors(End), [Start]);
}

#[test]
fn cycles_and_unknown_needs_are_errors() {
    let flow = Flow::new()
        .add(ExecutorSpec::new("a").needs("b"))
        .add(ExecutorSpec::new("b").needs("a"));
    assert_eq!(
        Topology::build(&flow).unwrap_err(),
        TopologyError::Cycle {
            cycle: vec!["a".into(), "b".into(), "a".into()]
        }
    );
    let flow = Flow::new()
        .add(ExecutorSpec::new("a"))
        .add(ExecutorSpec::new("self").needs("self"));
    assert_eq!(
        Topology::build(&flow).unwrap_err().to_string(),
        "executors form a cycle through `needs`: self -> self"
    );
    let flow = Flow::new().add(ExecutorSpec::new("a").needs("ghost"));
    assert_eq!(
        Topology::build(&flow).unwrap_err().to_string(),
        "executor `a` needs `ghost`, which is not an executor in this flow"
    );
}

#[test]
fn mermaid_flowchart() {
    let flow = diamond()
        .add(
            ExecutorSpec::new("log")
                .needs("join")
                .floating(true)
                .uses("../x/log.wasm"),
        )
        .add(
            ExecutorSpec::new("idx")
                .needs("join")
                .shards(2)
                .when(json!({"a": 1})),
        )
        .add(
            ExecutorSpec::new("remote")
                .needs("join")
                .external("enc.example", 443),
        );
    let text = topo(&flow).to_mermaid();
    assert!(text.starts_with("flowchart LR\n"), "{text}");
    for line in [
        "    gateway_start((\"gateway\"))",
        "    e4[\"log<br/><small>log.wasm</small>\"]",
        "    e0 --> e1",
        "    e3 -.-> e4",
        "    e3 -->|when| e5",
        "    e5 --> gateway_end",
        "    e6 --> gateway_end",
        "    e6[\"remote<br/><small>external enc.example:443</small>\"]",
        "    e5[\"idx<br/>replicas: 1, shards: 2\"]",
        "    class e4 floating",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(!text.contains("e4 --> gateway_end"), "{text}");
}

#[test]
fn svg_flowchart() {
    let flow = diamond()
        .add(ExecutorSpec::new("log").needs("join").floating(true))
        .add(
            ExecutorSpec::new("idx")
                .needs("join")
                .shards(2)
                .when(json!({"a": 1})),
        );
    let t = topo(&flow);
    let svg = t.to_svg();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
    // The gateway twice, and every executor: one box each.
    assert_eq!(
        svg.matches("<rect").count(),
        flow.executors.len() + 2,
        "{svg}"
    );
    for text in [
        ">idx<",
        ">replicas: 1, shards: 2<",
        ">when<",
        ">gateway end<",
    ] {
        assert!(svg.contains(text), "missing {text} in {svg}");
    }
    assert!(
        svg.contains("stroke-dasharray"),
        "the floating executor is dashed: {svg}"
    );
    // A join sits right of its inputs: `join` is in a later column than `bar` and `baz`.
    let x_of = |name: &str| -> u32 {
        let at = svg.find(&format!(">{name}<")).unwrap();
        let rect = svg[..at].rfind("<rect x=\"").unwrap();
        svg[rect + 9..].split('"').next().unwrap().parse().unwrap()
    };
    assert!(
        x_of("join") > x_of("bar") && x_of("join") > x_of("baz"),
        "{svg}"
    );
}

#[test]
fn node_lookup() {
    let t = topo(&diamond());
    assert_eq!(t.node("baz"), Some(E(2)));
    assert_eq!(t.node("nope"), None);
    assert_eq!(t.name(Start), "gateway");
    let idx = t.graph_index(E(2)).unwrap();
    assert_eq!(t.graph()[idx], E(2));
}
