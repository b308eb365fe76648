//! Executors in every language with an SDK, as users meet them: the examples in one flow
//! behind the seed's curl line, and `flowhost new` projects built and run by their own
//! `test.sh`.

use std::path::Path;
use std::process::Command;

use flowhost_wire::Protocol;
use serde_json::{Value, json};

use crate::gateway_support::{FlowServer, flowhost_bin, succeeds};

fn polyglot(language: &str, name: &str) -> String {
    flowhost_test_support::polyglot(language, name)
        .display()
        .to_string()
}

#[test]
fn a_flow_of_five_languages_answers_the_seed_curl_line() {
    let yaml = format!(
        r#"
jtype: Flow
with:
  protocol: http
  port: 0
executors:
  - name: foo_python
    uses: {foo}
  - name: bar_js
    uses: {bar}
  - name: baz_go
    uses: {baz}
  - name: tagger_c
    uses: {tagger_c}
    uses_with:
      tags: {{c: tagged}}
  - name: tagger_rust
    uses: {tagger_rust}
    uses_with:
      tags: {{rust: tagged}}
"#,
        foo = polyglot("python", "foo"),
        bar = polyglot("js", "bar"),
        baz = polyglot("go", "baz"),
        tagger_c = polyglot("c", "tagger"),
        tagger_rust = crate::gateway_support::uses("tagger"),
    );
    let server = FlowServer::start(&yaml, 1);
    let port = server.port(Protocol::Http);
    let answer = succeeds(
        Command::new("curl")
            .args(["--silent", "--show-error", "--request", "POST"])
            .arg(format!("http://localhost:{port}/post"))
            .args(["--header", "Content-Type: application/json", "-d"])
            .arg(r#"{"data": [{"text": "hello world"}],"execEndpoint": "/index"}"#),
    );
    let answer: Value = serde_json::from_str(&answer).expect("JSON answer");
    assert_eq!(answer["header"]["status"], Value::Null, "{answer}");
    let docs = answer["data"].as_array().expect("documents");
    let texts: Vec<&str> = docs.iter().filter_map(|d| d["text"].as_str()).collect();
    assert_eq!(
        texts,
        [
            "hello world",
            "foo was here and got 1 document",
            "bar was here and got 2 document",
            "baz was here and got 3 document",
        ],
        "{answer}"
    );
    for doc in docs {
        assert_eq!(doc["tags"]["c"], json!("tagged"), "{doc}");
        assert_eq!(doc["tags"]["rust"], json!("tagged"), "{doc}");
    }
    let routes: Vec<&str> = answer["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(|r| r["executor"].as_str())
        .collect();
    assert_eq!(
        routes,
        [
            "gateway",
            "foo_python",
            "bar_js",
            "baz_go",
            "tagger_c",
            "tagger_rust"
        ]
    );
    assert!(server.stop().success());
}

/// `flowhost new executor` in `language`, then the project's own `test.sh` (which runs
/// `flowhost build` and `flowhost executor call`), then its flow file's `uses`.
fn scaffold_builds_and_runs(language: &str) {
    let parent = tempfile::tempdir().expect("temp dir");
    let name = format!("demo-{language}");
    succeeds(
        Command::new(flowhost_bin())
            .args(["new", "executor", &name, "--lang", language, "--dir"])
            .arg(parent.path()),
    );
    let project = parent.path().join(&name);
    let target = flowhost_test_support::target_dir();
    // test.sh exits non-zero unless the built executor answered `hello from <name>`.
    succeeds(
        Command::new("bash")
            .arg(project.join("test.sh"))
            .env("FLOWHOST", flowhost_bin())
            .env("FLOWHOST_CACHE_DIR", target.join("flowhost-test-cache"))
            // A Rust scaffold shares the workspace's compiled dependencies' folder.
            .env("CARGO_TARGET_DIR", target.join("scaffolds")),
    );
    let flow = std::fs::read_to_string(project.join("flow.yml")).expect("flow file");
    let uses = format!("build/{name}.wasm");
    assert!(flow.contains(&uses), "{flow}");
    assert!(project.join(Path::new(&uses)).is_file(), "{uses} not built");
}

macro_rules! scaffolds {
    ($($language:ident),+) => {
        mod scaffold {$(
            #[test]
            fn $language() {
                super::scaffold_builds_and_runs(stringify!($language));
            }
        )+}
    };
}

scaffolds!(rust, python, js, go, c);

/// The same examples behave the same in every language: Foo/Bar/Baz append their line,
/// the tagger merges `uses_with`'s tags, then the request's, into every document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_s_examples_behave_alike() {
    use flowhost_docs as docs;
    use flowhost_runtime::{Executor, InstanceConfig};

    let runtime = flowhost_test_support::runtime();
    let component = |language: &str, name: &str| match (language, name) {
        ("rust", "tagger") => flowhost_test_support::guest("tagger"),
        ("rust", _) => flowhost_test_support::guest(&format!("{name}_executor")),
        _ => flowhost_test_support::polyglot(language, name),
    };
    for language in ["rust", "python", "js", "go", "c"] {
        for name in ["foo", "bar", "baz"] {
            let loaded = runtime
                .load_async(&component(language, name))
                .await
                .unwrap_or_else(|e| panic!("{language} {name}: {e}"));
            let executor = Executor::start(loaded, InstanceConfig::new(name))
                .await
                .unwrap_or_else(|e| panic!("{language} {name}: {e}"));
            let two = docs::batch_of([docs::document("a"), docs::document("b")]);
            let out = crate::support::post(&executor, "/index", two, "{}").await;
            assert_eq!(
                crate::support::texts(&out),
                ["", "", &format!("{name} was here and got 2 document")],
                "{language} {name}"
            );
        }
        let loaded = runtime
            .load_async(&component(language, "tagger"))
            .await
            .unwrap_or_else(|e| panic!("{language} tagger: {e}"));
        let mut config = InstanceConfig::new("tagger");
        config.uses_with = json!({"tags": {"lang": "en", "over": "config"}});
        let executor = Executor::start(loaded, config)
            .await
            .unwrap_or_else(|e| panic!("{language} tagger: {e}"));
        let mut doc = docs::document("a");
        doc.tags = Some(json!({"keep": 1}).to_string());
        let parameters = json!({"tags": {"over": "request"}}).to_string();
        let out =
            crate::support::post(&executor, "/index", docs::batch_of([doc]), &parameters).await;
        let tags: Vec<Value> = docs::roots(&out).map(crate::support::tags).collect();
        assert_eq!(
            tags,
            [json!({"keep": 1, "lang": "en", "over": "request"})],
            "{language} tagger"
        );
    }
}
