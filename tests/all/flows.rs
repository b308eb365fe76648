//! The seed documentation's Flow behaviours, run for real: flows built with
//! the Rust builder (or loaded from `examples/flows`), deployed with the
//! example components, and routed through the router.

use std::time::{Duration, Instant};

use flowhost::deploy::{DeployOptions, RunningFlow};
use flowhost_docs::{self as docs, Document, DocumentBatch};
use flowhost_flow::{ExecutorSpec, Flow, Polling, PollingSpec};
use flowhost_wire::{Request, Status};
use serde_json::{Value, json};

use crate::gateway_support::uses;
use crate::support::{
    deploy, deploy_error, deploy_options, deploy_with_metrics, embedded, ok, post_flow, tags,
    text_doc, texts,
};

#[tokio::test]
async fn foo_then_bar_run_in_order() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("fooExecutor").uses(uses("foo_executor")))
            .add(ExecutorSpec::new("barExecutor").uses(uses("bar_executor"))),
    )
    .await;
    let response = post_flow(&flow, "/search", docs::empty_batch(), json!({})).await;
    let routes: Vec<&str> = response
        .routes
        .iter()
        .map(|r| r.executor.as_str())
        .collect();
    assert_eq!(routes, ["gateway", "fooExecutor", "barExecutor"]);
    assert_eq!(
        texts(&ok(response)),
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document"
        ]
    );
}

#[tokio::test]
async fn the_diamond_merges_its_branches_in_needs_order() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("fooExecutor").uses(uses("foo_executor")))
            .add(
                ExecutorSpec::new("barExecutor")
                    .uses(uses("bar_executor"))
                    .needs("fooExecutor"),
            )
            .add(
                ExecutorSpec::new("bazExecutor")
                    .uses(uses("baz_executor"))
                    .needs("fooExecutor"),
            )
            .add(ExecutorSpec::default().needs(["barExecutor", "bazExecutor"])),
    )
    .await;
    for _ in 0..5 {
        let out = ok(post_flow(&flow, "/search", docs::empty_batch(), json!({})).await);
        assert_eq!(
            texts(&out),
            [
                "foo was here and got 0 document",
                "bar was here and got 1 document",
                "baz was here and got 1 document"
            ]
        );
    }
}

fn keyed(key: i64) -> Document {
    let mut doc = docs::document(format!("doc{key}"));
    doc.tags = Some(json!({ "key": key }).to_string());
    doc
}

fn key_tags(batch: &DocumentBatch) -> Vec<Value> {
    docs::roots(batch).map(tags).collect()
}

#[tokio::test]
async fn when_filters_on_parallel_branches_keep_both_documents() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("first"))
            .add(
                ExecutorSpec::new("exec1")
                    .needs("first")
                    .when(json!({"tags__key": {"$eq": 5}})),
            )
            .add(
                ExecutorSpec::new("exec2")
                    .needs("first")
                    .when(json!({"tags__key": {"$eq": 4}})),
            )
            .add(ExecutorSpec::new("join").needs(["exec1", "exec2"])),
    )
    .await;
    let out = ok(post_flow(&flow, "/", docs::batch_of([keyed(5), keyed(4)]), json!({})).await);
    assert_eq!(key_tags(&out), [json!({"key": 5}), json!({"key": 4})]);
}

#[tokio::test]
async fn when_filters_in_sequence_keep_none() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("first"))
            .add(
                ExecutorSpec::new("exec1")
                    .needs("first")
                    .when(json!({"tags__key": {"$eq": 5}})),
            )
            .add(
                ExecutorSpec::new("exec2")
                    .needs("exec1")
                    .when(json!({"tags__key": {"$eq": 4}})),
            ),
    )
    .await;
    let out = ok(post_flow(&flow, "/", docs::batch_of([keyed(5), keyed(4)]), json!({})).await);
    assert!(key_tags(&out).is_empty());

    let single = deploy(
        Flow::new()
            .add(ExecutorSpec::default())
            .add(ExecutorSpec::default().when(json!({"tags__key": {"$eq": 5}}))),
    )
    .await;
    let out = ok(post_flow(
        &single,
        "/",
        docs::batch_of([keyed(5), keyed(4)]),
        json!({}),
    )
    .await);
    assert_eq!(key_tags(&out), [json!({"key": 5})]);
}

#[tokio::test]
async fn the_reply_does_not_wait_for_a_floating_executor_but_closing_does() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("executor0").uses(uses("foo_executor")))
            .add(
                ExecutorSpec::new("slow")
                    .uses(uses("noop_executor"))
                    .floating(true),
            ),
    )
    .await;
    let sleep = Duration::from_millis(800);
    let began = Instant::now();
    let out = ok(post_flow(
        &flow,
        "/slow",
        docs::empty_batch(),
        json!({"sleep_ms": sleep.as_millis() as u64}),
    )
    .await);
    let replied = began.elapsed();
    assert_eq!(texts(&out), ["foo was here and got 0 document"]);
    assert!(
        replied < sleep,
        "the reply waited for the floating executor ({replied:?})"
    );
    assert_eq!(
        flow.router().background_tasks(),
        1,
        "the floating call is still running"
    );
    let router = flow.router().clone();
    flow.close().await;
    assert!(
        began.elapsed() >= sleep,
        "closing returned before the floating executor finished"
    );
    assert_eq!(router.background_tasks(), 0);
}

#[tokio::test]
async fn uses_with_overrides_defaults() {
    let flow = deploy(
        Flow::new().add(
            ExecutorSpec::new("printer")
                .uses(uses("param_printer"))
                .uses_with(json!({"param1": 10, "param3": 30})),
        ),
    )
    .await;
    let out = ok(post_flow(&flow, "/", docs::empty_batch(), json!({})).await);
    let printed = tags(docs::roots(&out).last().unwrap());
    assert_eq!(printed, json!({"param1": 10, "param2": 2, "param3": 30}));
}

#[tokio::test]
async fn uses_requests_rebinds_endpoints_as_in_the_seed() {
    let flow = deploy(
        Flow::new().add(
            ExecutorSpec::new("router")
                .uses(uses("request_router"))
                .uses_requests([("/bar", "bar"), ("/non_foo", "foo"), ("/alias_foo", "foo")]),
        ),
    )
    .await;
    for (endpoint, recipient, expected) in [
        ("/bar", "bar()", "bar bar()"),
        ("/non_foo", "foo()", "foo foo()"),
        ("/foo", "all_req()", "all req all_req()"),
        ("/alias_foo", "foo()", "foo foo()"),
    ] {
        let out = ok(post_flow(
            &flow,
            endpoint,
            docs::empty_batch(),
            json!({"recipient": recipient}),
        )
        .await);
        assert_eq!(texts(&out), [expected], "{endpoint}");
    }
    let mut endpoints = flow.router().endpoints();
    endpoints.sort();
    assert_eq!(endpoints, ["/alias_foo", "/bar", "/non_foo"]);
}

#[tokio::test]
async fn uses_requests_naming_a_missing_method_is_refused() {
    let options = deploy_options();
    let flow = Flow::new().add(
        ExecutorSpec::new("router")
            .uses(uses("request_router"))
            .uses_requests([("/x", "nope")]),
    );
    let error = deploy_error(flow, options).await;
    assert!(
        error.contains("router") && error.contains("nope") && error.contains("all_req"),
        "{error}"
    );
}

#[tokio::test]
async fn replicas_share_the_load() {
    let flow = deploy(
        Flow::new().add(
            ExecutorSpec::new("slow")
                .uses(uses("noop_executor"))
                .replicas(3),
        ),
    )
    .await;
    let router = flow.router().clone();
    let requests: Vec<_> = (0..3)
        .map(|_| {
            let router = router.clone();
            tokio::spawn(async move {
                let parameters = json!({"sleep_ms": 400})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                router
                    .process(Request::new("/slow", docs::empty_batch()).with_parameters(parameters))
                    .await
            })
        })
        .collect();
    let deployment = router.deployments().next().unwrap().clone();
    let busy = || -> Vec<usize> {
        deployment.shards[0]
            .replicas()
            .iter()
            .map(|r| r.in_flight())
            .collect()
    };
    // All three are taken before the first 400 ms sleep ends; wait until they are.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while busy().iter().sum::<usize>() < 3 && std::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    assert_eq!(busy(), [1, 1, 1], "each replica took one request");
    for request in requests {
        assert!(!request.await.unwrap().status.is_error());
    }
}

#[tokio::test]
async fn three_shards_index_with_any_and_search_with_all() {
    let flow =
        deploy(Flow::new().add(ExecutorSpec::new("indexer").uses(uses("indexer")).shards(3))).await;
    // Nine documents, one request each: ANY spreads them over the shards.
    let angles: Vec<f32> = (0..9).map(|i| i as f32 * 10.0).collect();
    for (i, angle) in angles.iter().enumerate() {
        let (s, c) = angle.to_radians().sin_cos();
        ok(post_flow(
            &flow,
            "/index",
            docs::batch_of([embedded(&format!("d{i}"), &[c, s])]),
            json!({}),
        )
        .await);
    }
    let deployment = flow.router().deployments().next().unwrap().clone();
    assert_eq!(deployment.shards.len(), 3);

    // The query is closest to d3 (30°), then d2 and d4.
    let (s, c) = 31f32.to_radians().sin_cos();
    let out = ok(post_flow(
        &flow,
        "/search",
        docs::batch_of([embedded("q", &[c, s])]),
        json!({"limit": 2}),
    )
    .await);
    let query = docs::roots(&out).next().unwrap();
    let mut matches: Vec<(String, f64)> = query
        .matches
        .iter()
        .map(|&i| {
            let m = &out.nodes[i as usize];
            (
                m.id.clone(),
                m.scores
                    .iter()
                    .find(|s| s.name == "cosine")
                    .map(|s| s.value)
                    .unwrap_or(0.0),
            )
        })
        .collect();
    assert_eq!(matches.len(), 6, "two matches from each of three shards");
    matches.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<&str> = matches.iter().take(3).map(|(id, _)| id.as_str()).collect();
    assert_eq!(top, ["d3", "d4", "d2"]);
    assert_eq!(
        PollingSpec::for_endpoint(None, "/index"),
        Polling::Any,
        "the seed's defaults: /index ANY"
    );
}

#[tokio::test]
async fn an_executor_error_ends_that_request_with_error_and_others_carry_on() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("first").uses(uses("foo_executor")))
            .add(ExecutorSpec::new("bad").uses(uses("trap_guest"))),
    )
    .await;
    let response = post_flow(
        &flow,
        "/error",
        docs::batch_of([text_doc("a", "kept")]),
        json!({}),
    )
    .await;
    match &response.status {
        Status::Error(e) => {
            assert_eq!(e.name, "ValueError");
            assert_eq!(e.executor, "bad");
            assert_eq!(e.args, ["bad input"]);
        }
        Status::Success => panic!("expected an error"),
    }
    assert_eq!(
        texts(&response.docs),
        ["kept", "foo was here and got 1 document"],
        "the documents as the failing executor got them"
    );
    let failed = response
        .routes
        .iter()
        .find(|r| r.executor == "bad")
        .unwrap();
    assert!(failed.status.is_error());
    let fine = post_flow(&flow, "/fine", docs::empty_batch(), json!({})).await;
    assert!(!fine.status.is_error());
}

#[tokio::test]
async fn target_executor_matches_names_from_their_start_and_executors_get_their_parameters() {
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("fooExecutor").uses(uses("foo_executor")))
            .add(ExecutorSpec::new("router").uses(uses("request_router"))),
    )
    .await;
    let mut request = Request::new("/x", docs::empty_batch()).with_parameters(
        json!({"recipient": "everyone", "router": {"recipient": "me"}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let out = ok(flow.router().process(request.clone()).await);
    assert_eq!(
        texts(&out),
        ["foo was here and got 0 document", "all req me"]
    );
    request.target_executor = Some("^router$".into());
    let out = ok(flow.router().process(request.clone()).await);
    assert_eq!(texts(&out), ["all req me"]);
    // Jina tests the pattern with Python's `re.match`, from the name's start: "Executor" is
    // in "fooExecutor", but not at its start, so no executor has the request.
    request.target_executor = Some("Executor".into());
    assert!(texts(&ok(flow.router().process(request.clone()).await)).is_empty());
    request.target_executor = Some("foo".into());
    assert_eq!(
        texts(&ok(flow.router().process(request).await)),
        ["foo was here and got 0 document"]
    );
}

#[tokio::test]
async fn target_executor_reaches_floating_successors_too() {
    let flow = Flow::new()
        .add(ExecutorSpec::new("executor0").uses(uses("foo_executor")))
        .add(
            ExecutorSpec::new("first")
                .uses(uses("noop_executor"))
                .floating(true),
        )
        .add(
            ExecutorSpec::new("second")
                .uses(uses("noop_executor"))
                .needs("first")
                .floating(true),
        );
    let (flow, metrics) = deploy_with_metrics(flow).await;
    let mut request = Request::new("/x", docs::empty_batch());
    request.target_executor = Some("executor0|first".into());
    let out = ok(flow.router().process(request).await);
    assert_eq!(texts(&out), ["foo was here and got 0 document"]);
    // Closing waits for the floating calls.
    flow.close().await;
    let text = metrics.render();
    let calls = |executor| metric_sum(&text, "flowhost_executor_calls_total", executor);
    assert_eq!(calls("first"), 1.0, "{text}");
    assert_eq!(calls("second"), 0.0, "the floating successor ran: {text}");
}

/// The sum of `family`'s series for `executor` in a Prometheus text page.
fn metric_sum(text: &str, family: &str, executor: &str) -> f64 {
    let label = format!("executor=\"{executor}\"");
    (text.lines())
        .filter(|line| line.starts_with(&format!("{family}{{")) && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_floating_executor_joins_a_floating_input_with_one_from_the_main_path() {
    // `late` (floating) needs `side` (floating) and `main`. The pinned Jina runs it once,
    // with both their documents; flowhost's router once ran it on `side`'s alone. Each
    // executor of both flows appends one document to what it gets.
    let log_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let stdout = crate::gateway_support::succeeds(
        std::process::Command::new(crate::gateway_support::jina_python())
            .arg(flowhost_test_support::workspace_root().join("tests/python/jina_floating.py"))
            .arg(log_dir.path()),
    );
    // Jina prints its banner first; the script's answer is the last line.
    let jina: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("jina_floating.py ends with a JSON line ({e}): {stdout}"));
    // Floating executors do not reach Jina's reply, with one race: Jina reduces `late`'s two
    // parts in place into the first that arrived (`WorkerRequestHandler.reduce_requests`).
    // When that is `main`'s, and the reduction runs before the reply is written, the reply
    // object itself gains `side`'s document. flowhost's reply never has it (asserted below).
    assert!(
        [json!(["main"]), json!(["main", "side"])].contains(&jina["reply"]),
        "Jina's reply is `main`'s document, or that and `side`'s by its race: {jina}"
    );
    let mut late_inputs: Vec<&str> = (jina["inputs"]["late"].as_array())
        .unwrap_or_else(|| panic!("{jina}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    late_inputs.sort_unstable();
    assert_eq!(late_inputs, ["main", "side"], "Jina: {jina}");

    let flow = Flow::new()
        .add(ExecutorSpec::new("main").uses(uses("foo_executor")))
        .add(
            ExecutorSpec::new("side")
                .uses(uses("bar_executor"))
                .needs("gateway")
                .floating(true),
        )
        .add(
            ExecutorSpec::new("late")
                .uses(uses("noop_executor"))
                .needs(["side", "main"])
                .floating(true),
        );
    let (flow, metrics) = deploy_with_metrics(flow).await;
    let out = ok(post_flow(&flow, "/x", docs::empty_batch(), json!({})).await);
    assert_eq!(texts(&out), ["foo was here and got 0 document"]);
    flow.close().await;
    let text = metrics.render();
    let documents = |executor| metric_sum(&text, "jina_document_processed_total", executor);
    assert_eq!(documents("side"), 1.0, "{text}");
    assert_eq!(
        documents("late"),
        late_inputs.len() as f64,
        "`late` gets `side`'s document and `main`'s, as in Jina: {text}"
    );
    assert_eq!(
        metric_sum(&text, "flowhost_executor_calls_total", "late"),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_config_files_component_is_found_from_a_relative_flow_folder() {
    // `flowhost run flows/flow.yml` names the flow's folder relative to the working
    // directory; the config's component, relative to the config, was once joined to that
    // folder twice (`flows/flows/noop.wasm`).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::copy(uses("noop_executor"), dir.path().join("noop.wasm")).unwrap();
    std::fs::write(
        dir.path().join("exec.yml"),
        "jtype: NoopExecutor\ncomponent: noop.wasm\n",
    )
    .unwrap();
    // The folder as a path from the working directory: up to their common ancestor, then
    // down (not up to the root, where a doubled path would collapse back onto itself).
    let here = std::env::current_dir().unwrap();
    let common = (here.components())
        .zip(dir.path().components())
        .take_while(|(a, b)| a == b)
        .count();
    let relative: std::path::PathBuf = (here.components().skip(common).map(|_| ".."))
        .chain((dir.path().components().skip(common)).filter_map(|c| c.as_os_str().to_str()))
        .collect();
    assert!(relative.is_relative() && relative.join("exec.yml").exists());
    let options = DeployOptions::new(&relative, flowhost_test_support::runtime());
    let flow = RunningFlow::start(
        Flow::new().add(ExecutorSpec::new("e").uses("exec.yml")),
        options,
    )
    .await
    .unwrap_or_else(|e| panic!("flow deploys: {e}"));
    ok(flow
        .router()
        .process(Request::new("/x", docs::empty_batch()))
        .await);
}

#[tokio::test]
async fn every_example_flow_deploys_and_answers() {
    let dir = flowhost_test_support::workspace_root().join("examples/flows");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let flow = Flow::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if flow.executors.iter().any(|e| e.external) {
            continue; // needs a remote executor; covered by the gateway tests
        }
        let workspace = tempfile::tempdir().unwrap();
        let mut flow = flow;
        flow.with.workspace = Some(workspace.path().display().to_string());
        for e in &mut flow.executors {
            e.workspace = None;
        }
        let runtime =
            flowhost_test_support::runtime_with(flowhost::deploy::runtime_config_for(&flow));
        let options = DeployOptions::new(&dir, runtime);
        let running = RunningFlow::start(flow, options)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let response = running
            .router()
            .process(Request::new("/", docs::empty_batch()))
            .await;
        assert!(
            !response.status.is_error(),
            "{}: {:?}",
            path.display(),
            response.status
        );
        running.close().await;
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} example flows ran");
}

#[tokio::test]
async fn uses_before_runs_ahead_of_the_shards_and_uses_after_gets_their_merge() {
    let flow = deploy(
        Flow::new().add(
            ExecutorSpec::new("sharded")
                .uses(uses("noop_executor"))
                .shards(2)
                .uses_before(uses("bar_executor"))
                .uses_after(uses("foo_executor")),
        ),
    )
    .await;
    let out = ok(post_flow(
        &flow,
        "/search",
        docs::batch_of([text_doc("x", "x")]),
        json!({}),
    )
    .await);
    // bar adds one document; both shards (ALL on /search) return the same two,
    // merged by id; foo then sees two.
    assert_eq!(
        texts(&out),
        [
            "x",
            "bar was here and got 1 document",
            "foo was here and got 2 document"
        ]
    );
    let deployment = flow.router().deployments().next().unwrap().clone();
    assert_eq!(
        deployment.executors().count(),
        4,
        "before + 2 shards + after"
    );
}

/// A process serving one shard of an executor whose other shards run elsewhere (an exported
/// pod, `flowhost run --shard-id 1 --shards 3`) tells its instances which shard they are.
#[tokio::test]
async fn a_process_serving_one_shard_gives_its_executor_that_shard_id() {
    let mut options = deploy_options();
    options.shard_of = Some(flowhost::deploy::ShardOf { id: 1, count: 3 });
    let flow = Flow::new().add(ExecutorSpec::new("c").uses(uses("conformance_rust")));
    let running = RunningFlow::start(flow, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let out = ok(post_flow(&running, "/params", docs::empty_batch(), json!({})).await);
    let metas = docs::roots(&out).next().map(tags).unwrap_or_default()["metas"].clone();
    assert_eq!(
        (metas["shard_id"].clone(), metas["shards"].clone()),
        (json!(1), json!(3))
    );
    running.close().await;
}
