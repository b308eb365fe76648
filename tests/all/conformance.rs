//! The conformance suite (`tests/conformance/README.md`): the same cases against the
//! conformance executor of every guest SDK, so that every language behaves alike.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use flowhost_docs::{self as docs, Document, DocumentBatch, Dtype, NamedScore, Tensor};
use flowhost_runtime::{CallError, Executor, Fault, InstanceConfig, Runtime, Sandbox};
use serde_json::{Value, json};

use crate::gateway_support::flowhost_bin;
use crate::support::{method_for, tags};

fn component(language: &str) -> PathBuf {
    match language {
        "rust" => flowhost_test_support::guest("conformance_rust"),
        "js_quickjs" => flowhost_test_support::polyglot("js-quickjs", "conformance"),
        _ => flowhost_test_support::polyglot(language, "conformance"),
    }
}

/// Every dtype, little-endian, with values that survive any language's number types
/// (no NaNs, whose payloads a conversion may not keep).
fn tensor(dtype: Dtype, shape: &[u32]) -> Tensor {
    let count: usize = shape.iter().map(|&n| n as usize).product();
    let mut data = Vec::new();
    for i in 0..count {
        let small = i as i64 % 7 - 3;
        match dtype {
            Dtype::Float16 => {
                const HALVES: [u16; 6] = [0x3C00, 0xC000, 0x3800, 0x0000, 0x4200, 0xBC00];
                data.extend_from_slice(&HALVES[i % HALVES.len()].to_le_bytes())
            }
            Dtype::Float32 => data.extend_from_slice(&(small as f32 * 0.5).to_le_bytes()),
            Dtype::Float64 => data.extend_from_slice(&(small as f64 * 0.25 + 1e-9).to_le_bytes()),
            Dtype::Int8 => data.extend_from_slice(&(small as i8).to_le_bytes()),
            Dtype::Int16 => data.extend_from_slice(&(small as i16 * 300).to_le_bytes()),
            Dtype::Int32 => data.extend_from_slice(&(small as i32 * 70_000).to_le_bytes()),
            Dtype::Int64 => data.extend_from_slice(&(small * 5_000_000_000).to_le_bytes()),
            Dtype::Uint8 => data.push(200 + i as u8 % 50),
            Dtype::Uint16 => data.extend_from_slice(&(60_000 + i as u16 % 100).to_le_bytes()),
            Dtype::Uint32 => data.extend_from_slice(&(4_000_000_000 + i as u32).to_le_bytes()),
            Dtype::Uint64 => data.extend_from_slice(&(u64::MAX - i as u64).to_le_bytes()),
            Dtype::Boolean => data.push(u8::from(i % 3 == 0)),
        }
    }
    Tensor {
        dtype,
        shape: shape.to_vec(),
        data,
    }
}

fn score(name: &str, value: f64, full: bool) -> NamedScore {
    NamedScore {
        name: name.to_owned(),
        value,
        op_name: full.then(|| "cosine".to_owned()),
        description: full.then(|| "how close".to_owned()),
        ref_id: full.then(|| "q1".to_owned()),
    }
}

/// A batch using every field: one document per dtype (an embedding of shape 2×3, a tensor
/// that is a 0-d scalar or has a zero in its shape), and a document with every scalar
/// field, nested tags, scores, and chunks and matches three levels deep.
fn rich_batch() -> DocumentBatch {
    let mut batch = docs::batch_of([]);
    let push = |batch: &mut DocumentBatch, doc: Document| {
        batch.nodes.push(doc);
        (batch.nodes.len() - 1) as u32
    };
    for (i, dtype) in Dtype::ALL.into_iter().enumerate() {
        let mut doc = docs::document(format!("dtype-{i}"));
        doc.embedding = Some(tensor(dtype, &[2, 3]));
        doc.tensor = Some(tensor(dtype, if i % 2 == 0 { &[] } else { &[0, 4] }));
        let index = push(&mut batch, doc);
        batch.roots.push(index);
    }
    let leaf = {
        let mut doc = docs::document("leaf");
        doc.text = Some("three levels down".into());
        doc.parent_id = Some("chunk".into());
        doc.granularity = Some(2);
        push(&mut batch, doc)
    };
    let matched = {
        let mut doc = docs::document("match");
        doc.text = Some("a match".into());
        doc.adjacency = Some(1);
        doc.scores = vec![score("cosine", 0.25, true), score("euclid", 3.5, false)];
        doc.embedding = Some(tensor(Dtype::Float32, &[4]));
        push(&mut batch, doc)
    };
    let chunk = {
        let mut doc = docs::document("chunk");
        doc.text = Some("a chunk".into());
        doc.parent_id = Some("root".into());
        doc.granularity = Some(1);
        doc.chunks = vec![leaf];
        doc.matches = vec![matched];
        push(&mut batch, doc)
    };
    let mut root = docs::document("root");
    root.text = Some("héllo wörld ✓".into());
    root.blob = Some(vec![0, 1, 2, 255, 128]);
    root.uri = Some("https://example.com/a.png".into());
    root.mime_type = Some("image/png".into());
    root.tags = Some(
        json!({
            "lang": "en",
            "count": 3,
            "ratio": 0.5,
            "big": 9_007_199_254_740_993_i64,
            "ok": true,
            "none": null,
            "list": [1, "two", {"three": [3.5, false]}],
            "nested": {"deeper": {"deepest": "yes"}},
        })
        .to_string(),
    );
    root.weight = Some(0.75);
    root.modality = Some("image".into());
    root.offset = Some(12.0);
    root.location = vec![1.0, 2.5, -3.0];
    root.scores = vec![score("relevance", 0.9, true)];
    root.evaluations = vec![score("precision", 0.5, true)];
    root.embedding = Some(tensor(Dtype::Float32, &[3]));
    root.chunks = vec![chunk];
    let root = push(&mut batch, root);
    batch.roots.push(root);
    docs::validate(&batch).expect("the test batch is valid");
    batch
}

/// A batch as a tree of JSON values, independent of node order, tag key order and
/// score order, which an SDK is free to change.
fn tree(batch: &DocumentBatch) -> Value {
    fn node(batch: &DocumentBatch, index: u32) -> Value {
        let doc = &batch.nodes[index as usize];
        let tensor = |t: &Option<Tensor>| {
            t.as_ref().map(
                |t| json!({"dtype": format!("{:?}", t.dtype), "shape": t.shape, "data": t.data}),
            )
        };
        let scores = |scores: &[NamedScore]| {
            let mut scores: Vec<Value> = scores
                .iter()
                .map(|s| json!([s.name, s.value, s.op_name, s.description, s.ref_id]))
                .collect();
            scores.sort_by_key(|s| s.to_string());
            scores
        };
        let children =
            |indices: &[u32]| -> Vec<Value> { indices.iter().map(|&i| node(batch, i)).collect() };
        json!({
            "id": doc.id, "parent_id": doc.parent_id, "granularity": doc.granularity,
            "adjacency": doc.adjacency, "text": doc.text, "blob": doc.blob,
            "tensor": tensor(&doc.tensor), "embedding": tensor(&doc.embedding),
            "uri": doc.uri, "mime_type": doc.mime_type, "tags": tags(doc),
            "weight": doc.weight, "modality": doc.modality, "offset": doc.offset,
            "location": doc.location, "scores": scores(&doc.scores),
            "evaluations": scores(&doc.evaluations),
            "chunks": children(&doc.chunks), "matches": children(&doc.matches),
        })
    }
    Value::Array(batch.roots.iter().map(|&root| node(batch, root)).collect())
}

struct Subject {
    language: &'static str,
    executor: Executor,
    _workspace: tempfile::TempDir,
}

async fn start(runtime: &Arc<Runtime>, language: &'static str) -> Subject {
    let component = runtime
        .load_async(&component(language))
        .await
        .unwrap_or_else(|error| panic!("{language}: {error}"));
    let workspace = tempfile::tempdir().expect("temp dir");
    let mut config = InstanceConfig::new(format!("conformance-{language}"));
    config.uses_with = json!({"label": format!("L-{language}"), "extra": {"k": [1, 2.5]}});
    config.description = Some("the conformance executor".into());
    config.replica_id = 1;
    config.replicas = 2;
    config.shards = 1;
    config.sandbox = Sandbox {
        workspace: Some(workspace.path().to_owned()),
        ..Sandbox::default()
    };
    let executor = Executor::start(component, config)
        .await
        .unwrap_or_else(|error| panic!("{language}: {error}"));
    Subject {
        language,
        executor,
        _workspace: workspace,
    }
}

impl Subject {
    async fn call(&self, endpoint: &str, batch: DocumentBatch, parameters: Value) -> DocumentBatch {
        let method = method_for(&self.executor, endpoint);
        self.executor
            .call(&method, endpoint, batch, &parameters.to_string())
            .await
            .unwrap_or_else(|failure| panic!("{}: {endpoint}: {failure}", self.language))
    }

    async fn fail(&self, endpoint: &str, batch: DocumentBatch, parameters: Value) -> Fault {
        let method = method_for(&self.executor, endpoint);
        match self
            .executor
            .call(&method, endpoint, batch, &parameters.to_string())
            .await
        {
            Ok(_) => panic!("{}: {endpoint} succeeded", self.language),
            Err(failure) => match failure.error {
                CallError::Failed { fault, .. } => fault,
                other => panic!("{}: {endpoint}: {other}", self.language),
            },
        }
    }
}

async fn conformance(language: &'static str) {
    let runtime = flowhost_test_support::runtime();
    let subject = start(&runtime, language).await;
    let lang = language;

    // describe: the eight methods, each on its endpoint, and the catch-all.
    let description = subject.executor.description();
    let mut bound: Vec<(String, Vec<String>)> = description
        .methods
        .iter()
        .map(|m| (m.name.clone(), m.endpoints.clone()))
        .collect();
    bound.sort();
    let mut expected: Vec<(String, Vec<String>)> = [
        "fail",
        "log",
        "mutate",
        "params",
        "roundtrip",
        "unchanged",
        "workspace",
    ]
    .iter()
    .map(|name| (name.to_string(), vec![format!("/{name}")]))
    .collect();
    expected.push(("other".into(), vec![]));
    expected.sort();
    assert_eq!(bound, expected, "{lang}: describe");
    assert_eq!(
        description.catch_all.as_deref(),
        Some("other"),
        "{lang}: catch-all"
    );

    // unchanged: the host gets its own batch back, not a copy.
    let sent = rich_batch();
    let before = sent.nodes.as_ptr();
    let back = subject.call("/unchanged", sent, json!({})).await;
    assert_eq!(
        back.nodes.as_ptr(),
        before,
        "{lang}: /unchanged answered docs"
    );

    // roundtrip: every field survives the SDK's document type.
    let back = subject.call("/roundtrip", rich_batch(), json!({})).await;
    assert!(!std::ptr::eq(back.nodes.as_ptr(), before), "{lang}");
    docs::validate(&back).unwrap_or_else(|e| panic!("{lang}: roundtrip invalid: {e}"));
    assert_eq!(
        tree(&back),
        tree(&rich_batch()),
        "{lang}: roundtrip changed the documents"
    );

    // mutate: text, label and float32 embeddings, at every depth; one document added.
    let back = subject.call("/mutate", rich_batch(), json!({})).await;
    let mut want = rich_batch();
    for doc in &mut want.nodes {
        if let Some(text) = &mut doc.text {
            text.push('!');
        }
        let mut doc_tags = tags(doc);
        if doc_tags.is_null() {
            doc_tags = json!({});
        }
        doc_tags["label"] = json!(format!("L-{lang}"));
        doc.tags = Some(doc_tags.to_string());
        if let Some(embedding) = &mut doc.embedding
            && embedding.dtype == Dtype::Float32
        {
            embedding.data = embedding
                .data
                .chunks_exact(4)
                .flat_map(|b| (f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * 2.0).to_le_bytes())
                .collect();
        }
    }
    let mut got = tree(&back);
    let added = got
        .as_array_mut()
        .and_then(|roots| roots.pop())
        .expect("an added document");
    assert_eq!(added["text"], json!(format!("added by L-{lang}")), "{lang}");
    assert!(
        added["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{lang}: added id"
    );
    assert_eq!(got, tree(&want), "{lang}: mutate");

    // params: parameters, uses_with and metas, as the executor saw them.
    let parameters = json!({"top_k": 3, "filter": {"lang": ["en", "de"]}, "f": 0.5});
    let back = subject
        .call("/params", rich_batch(), parameters.clone())
        .await;
    let roots: Vec<&Document> = docs::roots(&back).collect();
    assert_eq!(roots.len(), 1, "{lang}: params answers one document");
    assert_eq!(
        tags(roots[0]),
        json!({
            "parameters": parameters,
            "uses_with": {"label": format!("L-{lang}"), "extra": {"k": [1, 2.5]}},
            "metas": {
                "name": format!("conformance-{lang}"),
                "description": "the conformance executor",
                "workspace": "/workspace",
                "replica_id": 1, "shard_id": 0, "shards": 1, "replicas": 2,
            },
        }),
        "{lang}: params"
    );

    // fail: a typed error with details.
    let fault = subject.fail("/fail", rich_batch(), json!({})).await;
    let Fault::Raised(error) = &fault else {
        panic!("{lang}: /fail faulted instead of raising: {fault}");
    };
    assert_eq!(error.name, "ValueError", "{lang}");
    assert_eq!(error.message, "conformance failure: 13 documents", "{lang}");
    assert!(
        error
            .details
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty()),
        "{lang}: details"
    );

    // The instance survives a raised error.
    let sent = rich_batch();
    let before = sent.nodes.as_ptr();
    let back = subject.call("/log", sent, json!({})).await;
    assert_eq!(back.nodes.as_ptr(), before, "{lang}: /log answered docs");

    // workspace: written and read back inside the sandbox.
    let back = subject
        .call(
            "/workspace",
            docs::batch_of([]),
            json!({"content": "written ✓"}),
        )
        .await;
    let texts: Vec<_> = docs::roots(&back).map(|d| d.text.clone()).collect();
    assert_eq!(texts, [Some("written ✓".to_owned())], "{lang}: workspace");

    // Many large calls in a row: a garbage collector that runs while the host is handing
    // a call its arguments must not call out of the instance (Go's did, within thousands).
    let large = docs::batch_of((0..100).map(|i| {
        let mut doc = docs::document(format!("e{i}"));
        doc.embedding = Some(tensor(Dtype::Float32, &[512]));
        doc
    }));
    for round in 0..40 {
        let back = subject.call("/roundtrip", large.clone(), json!({})).await;
        assert_eq!(back.nodes.len(), 100, "{lang}: round {round}");
    }

    // the catch-all: every top-level document tagged with the endpoint.
    let back = subject
        .call("/anything/else", rich_batch(), json!({}))
        .await;
    for root in docs::roots(&back) {
        assert_eq!(tags(root)["endpoint"], json!("/anything/else"), "{lang}");
    }
    assert_eq!(docs::roots(&back).count(), 13, "{lang}");
}

/// Without a workspace, `/workspace` raises `NoWorkspace`; logging and stdout reach the
/// host's log tagged with the executor (seen as a user sees them, from the binary).
fn conformance_cli(language: &str) {
    let wasm = component(language);
    let run = |endpoint: &str| {
        Command::new(flowhost_bin())
            .args(["executor", "call", "--uses"])
            .arg(&wasm)
            .args(["--endpoint", endpoint, "--text", "hi"])
            .env("FLOWHOST_CACHE_DIR", cache_dir())
            .env("FLOWHOST_LOG", "info")
            .output()
            .expect("flowhost runs")
    };
    let out = run("/workspace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{language}: /workspace without one succeeded"
    );
    assert!(stderr.contains("NoWorkspace"), "{language}: {stderr}");

    let out = run("/log");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{language}: {stderr}");
    // `executor call` names the executor after its file.
    let name = wasm
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let tag = format!("executor=\"{name}\"");
    for line in [
        "conformance log info",
        "conformance log warn",
        "conformance stdout",
    ] {
        let tagged = stderr.lines().any(|l| l.contains(line) && l.contains(&tag));
        assert!(
            tagged,
            "{language}: no `{line}` tagged with the executor in:\n{stderr}"
        );
    }
}

fn cache_dir() -> PathBuf {
    flowhost_test_support::target_dir().join("flowhost-test-cache")
}

macro_rules! languages {
    ($($language:ident),+) => {$(
        mod $language {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn conformance() {
                super::conformance(stringify!($language)).await;
            }

            #[test]
            fn conformance_cli() {
                super::conformance_cli(stringify!($language));
            }
        }
    )+};
}

languages!(rust, python, js, js_quickjs, go, c);
