//! Every example executor, loaded and called through the runtime API.

use flowhost_docs as docs;
use flowhost_runtime::{CacheOutcome, InstanceConfig};
use serde_json::json;

use crate::support::{embedded, post, start, tags, text_doc, texts};

#[tokio::test]
async fn foo_bar_baz_append_a_document_naming_how_many_they_got() {
    let runtime = flowhost_test_support::runtime();
    let mut batch = docs::empty_batch();
    for (guest, name) in [
        ("foo_executor", "foo"),
        ("bar_executor", "bar"),
        ("baz_executor", "baz"),
    ] {
        let executor = start(&runtime, guest, InstanceConfig::new(name)).await;
        batch = post(&executor, "/search", batch, "{}").await;
    }
    assert_eq!(
        texts(&batch),
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document",
            "baz was here and got 2 document"
        ]
    );
}

#[tokio::test]
async fn param_printer_applies_defaults_under_uses_with() {
    let runtime = flowhost_test_support::runtime();
    let defaults = start(&runtime, "param_printer", InstanceConfig::new("defaults")).await;
    let out = post(&defaults, "/", docs::empty_batch(), "{}").await;
    let printed = tags(docs::roots(&out).last().unwrap());
    assert_eq!(printed, json!({"param1": 1, "param2": 2, "param3": 3}));

    let mut config = InstanceConfig::new("overridden");
    config.uses_with = json!({"param1": 10, "param3": 30});
    let overridden = start(&runtime, "param_printer", config).await;
    let out = post(&overridden, "/", docs::empty_batch(), "{}").await;
    let printed = tags(docs::roots(&out).last().unwrap());
    assert_eq!(printed, json!({"param1": 10, "param2": 2, "param3": 30}));
}

#[tokio::test]
async fn request_router_describes_its_bindings_and_runs_each_method() {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "request_router", InstanceConfig::new("router")).await;
    let description = executor.description();
    assert_eq!(description.catch_all.as_deref(), Some("all_req"));
    let names: Vec<&str> = description
        .methods
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    for method in ["all_req", "foo", "bar"] {
        assert!(names.contains(&method), "{names:?} lacks {method}");
    }
    let foo = description
        .methods
        .iter()
        .find(|m| m.name == "foo")
        .unwrap();
    assert_eq!(foo.endpoints, ["/foo"]);

    for (method, recipient, expected) in [
        ("bar", "bar()", "bar bar()"),
        ("foo", "foo()", "foo foo()"),
        ("all_req", "all_req()", "all req all_req()"),
    ] {
        let parameters = json!({ "recipient": recipient }).to_string();
        let out = executor
            .call(method, "/x", docs::empty_batch(), &parameters)
            .await
            .unwrap();
        assert_eq!(texts(&out), [expected]);
    }
}

#[tokio::test]
async fn tagger_merges_its_tags_into_every_document() {
    let runtime = flowhost_test_support::runtime();
    let mut config = InstanceConfig::new("tagger");
    config.uses_with = json!({"tags": {"lang": "en"}});
    let executor = start(&runtime, "tagger", config).await;
    let mut doc = text_doc("a", "hello");
    doc.tags = Some(json!({"keep": 1}).to_string());
    let out = post(
        &executor,
        "/index",
        docs::batch_of([doc, text_doc("b", "hi")]),
        "{}",
    )
    .await;
    let all: Vec<_> = docs::roots(&out).map(tags).collect();
    assert_eq!(
        all,
        [json!({"keep": 1, "lang": "en"}), json!({"lang": "en"})]
    );
}

#[tokio::test]
async fn indexer_keeps_state_and_ranks_matches_by_cosine() {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "indexer", InstanceConfig::new("indexer")).await;
    let stored = docs::batch_of([
        embedded("east", &[1.0, 0.0]),
        embedded("north", &[0.0, 1.0]),
        embedded("northeast", &[1.0, 1.0]),
    ]);
    let echoed = post(&executor, "/index", stored.clone(), "{}").await;
    assert_eq!(echoed, stored, "/index leaves its input unchanged");

    let query = docs::batch_of([embedded("q", &[0.9, 0.1])]);
    let out = post(&executor, "/search", query, r#"{"limit": 2}"#).await;
    let q = docs::roots(&out).next().unwrap();
    let ids: Vec<&str> = q
        .matches
        .iter()
        .map(|&i| out.nodes[i as usize].id.as_str())
        .collect();
    assert_eq!(ids, ["east", "northeast"]);
    let best = &out.nodes[q.matches[0] as usize];
    let cosine = best.scores.iter().find(|s| s.name == "cosine").unwrap();
    assert!((cosine.value - 0.9939).abs() < 1e-3, "{}", cosine.value);
}

#[tokio::test]
async fn indexer_error_names_the_document_without_embedding() {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "indexer", InstanceConfig::new("indexer")).await;
    let failure = executor
        .call(
            "index",
            "/index",
            docs::batch_of([text_doc("plain", "no vector")]),
            "{}",
        )
        .await
        .unwrap_err();
    let message = failure.to_string();
    assert!(
        message.contains("indexer") && message.contains("plain"),
        "{message}"
    );
    assert_eq!(
        texts(&failure.docs),
        ["no vector"],
        "the sent documents come back"
    );
}

#[tokio::test]
async fn noop_returns_the_same_batch_and_echo_copies_it_back() {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "noop_executor", InstanceConfig::new("noop")).await;
    let batch = docs::batch_of([embedded("x", &[1.0, 2.0, 3.0]), text_doc("y", "why")]);
    let unchanged = post(&executor, "/anything", batch.clone(), "{}").await;
    assert_eq!(unchanged, batch);
    let echoed = post(&executor, "/echo", batch.clone(), "{}").await;
    assert_eq!(echoed, batch);
}

#[tokio::test]
async fn pass_through_needs_no_component() {
    let executor = flowhost_runtime::Executor::pass_through("gateway-join");
    let batch = docs::batch_of([text_doc("a", "x")]);
    let out = executor
        .call("any", "/x", batch.clone(), "{}")
        .await
        .unwrap();
    assert_eq!(out, batch);
    assert!(executor.is_pass_through());
}

#[test]
fn second_load_is_a_cache_hit() {
    let dir = tempfile::tempdir().unwrap();
    let config = flowhost_runtime::RuntimeConfig {
        cache_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let runtime = flowhost_runtime::Runtime::new(config).unwrap();
    let path = flowhost_test_support::guest("foo_executor");
    assert_eq!(
        runtime.load(&path).unwrap().cache_outcome(),
        CacheOutcome::Compiled
    );
    let again = runtime.load(&path).unwrap();
    assert_eq!(again.cache_outcome(), CacheOutcome::Hit);
    assert!(again.digest().starts_with("blake3:"));
}

#[test]
fn a_non_executor_component_is_refused_with_the_file_named() {
    let runtime = flowhost_test_support::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wasm");
    std::fs::write(&path, b"(component)").unwrap();
    let error = runtime.load(&path).unwrap_err().to_string();
    assert!(
        error.contains("empty.wasm") && error.contains("flowhost:executor"),
        "{error}"
    );
    let missing = runtime
        .load(&dir.path().join("missing.wasm"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("missing.wasm"), "{missing}");
}
