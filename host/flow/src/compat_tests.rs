//! Tests of Jina files as they are found in the wild: keys with no effect warn with their
//! file and line (and strict loading refuses them), and what only Jina can run is refused
//! with what to write instead.

use std::fmt::Write as _;

use crate::keys::{KEYS, Level, Status};
use crate::*;

fn opts() -> LoadOptions {
    LoadOptions {
        vars: Vars::with_env([("PORT", "4242"), ("REPLICAS", "3"), ("MODEL", "enc.wasm")]),
    }
}

fn checked(text: &str) -> LoadedFlow {
    Flow::from_yaml_str_checked(text, "flow.yml", &opts()).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    match Flow::from_yaml_str(text, "flow.yml", &opts()) {
        Ok(flow) => panic!("expected an error, got {flow:?}"),
        Err(e) => e.to_string(),
    }
}

fn ignored(level: Level) -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(move |k| k.level == level && matches!(k.status, Status::Ignored(_)))
        .map(|k| k.key)
}

/// A flow with every ignored key of the flow file's levels, and each key's expected
/// `(key, line, column, context)`.
fn every_ignored_key() -> (String, Vec<(String, usize, usize, String)>) {
    let mut text = String::from("jtype: Flow\n");
    let mut expected = Vec::new();
    let mut line = |text: &mut String, indent: usize, key: &str, ctx: &str| {
        let _ = writeln!(text, "{:indent$}{key}: x", "");
        let n = text.lines().count();
        expected.push((key.to_string(), n, indent + 1, ctx.to_string()));
    };
    for key in ignored(Level::Top) {
        line(&mut text, 0, key, "");
    }
    text.push_str("metas:\n");
    for key in ignored(Level::Metas) {
        line(&mut text, 2, key, "`metas`: ");
    }
    text.push_str("with:\n");
    for key in ignored(Level::With) {
        line(&mut text, 2, key, "`with`: ");
    }
    text.push_str("executors:\n  - name: a\n    uses_metas:\n");
    for key in ignored(Level::Metas) {
        line(&mut text, 6, key, "executor `a`: `uses_metas`: ");
    }
    for key in ignored(Level::Executor) {
        line(&mut text, 4, key, "executor `a`: ");
    }
    (text, expected)
}

#[test]
fn every_ignored_key_warns_once_with_its_line() {
    let (text, expected) = every_ignored_key();
    assert!(expected.len() > 60, "{} ignored keys", expected.len());
    let loaded = checked(&text);
    let found: Vec<(String, usize, usize, String)> = loaded
        .warnings
        .iter()
        .map(|w| {
            assert_eq!(w.at.file, "flow.yml");
            let (Some(line), Some(column)) = (w.at.line, w.at.column) else {
                panic!("no position: {w}");
            };
            (w.key.clone(), line, column, w.ctx.to_string())
        })
        .collect();
    assert_eq!(found, expected, "\n{text}");
    let gpus = loaded.warnings.iter().find(|w| w.key == "gpus");
    let line = expected.iter().find(|e| e.0 == "gpus").map_or(0, |e| e.1);
    assert_eq!(
        gpus.map(ToString::to_string),
        Some(format!(
            "flow.yml:{line}:5: executor `a`: `gpus` has no effect in flowhost: flowhost \
             executors are WebAssembly components; there are no GPUs to assign"
        ))
    );
}

#[test]
fn implemented_and_differing_keys_do_not_warn() {
    let loaded = checked(
        "jtype: Flow\nversion: '1'\nwith:\n  port: 1\n  timeout_send: 5\n  retries: 2\n  \
         grpc_server_options: {grpc.max_concurrent_streams: 10}\nexecutors:\n  - name: a\n    \
         uses: a.wasm\n    uses_metas: {description: d}\n    compression: Gzip\n    \
         volumes: [a:b]\n    env_from_secret: {X: {name: s, key: k}}\n",
    );
    assert_eq!(loaded.warnings, Vec::new());
}

#[test]
fn strict_refuses_with_every_warning() {
    let (text, expected) = every_ignored_key();
    let e = checked(&text).strict().unwrap_err();
    let FlowError::Strict { file, warnings } = &e else {
        panic!("{e}");
    };
    assert_eq!(file, "flow.yml");
    assert_eq!(warnings.len(), expected.len());
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "flow.yml: {} keys have no effect in flowhost (strict mode refuses them):\n  flow.yml:2:1: `jcloud` has no effect",
            expected.len()
        )),
        "{message}"
    );
    assert_eq!(message.lines().count(), expected.len() + 1);
    // Nothing to warn about: strict gives the flow.
    let plain = checked("jtype: Flow\nexecutors:\n  - name: a\n");
    assert_eq!(plain.strict().map(|f| f.executors.len()).ok(), Some(1));
}

#[test]
fn flows_with_ignored_keys_save_and_load_back() {
    let (text, expected) = every_ignored_key();
    let loaded = checked(&text);
    let saved = loaded.flow.to_yaml().unwrap();
    let back = checked(&saved);
    assert_eq!(back.flow, loaded.flow);
    // `jcloud:` (top level) is not part of the model, so it is not saved.
    assert_eq!(back.warnings.len(), expected.len() - 1);
}

#[test]
fn executor_config_files_warn_and_strict_covers_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("enc.yml"),
        "jtype: Encoder\npy_modules: [executor.py]\nmetas:\n  name: Encoder\n  py_modules: [x.py]\n  \
         workspace: w\ndynamic_batching: {/index: {preferred_batch_size: 8}, encode: {timeout: 50}}\n\
         component: enc.wasm\n",
    )
    .unwrap();
    let flow = dir.path().join("flow.yml");
    std::fs::write(
        &flow,
        "jtype: Flow\nexecutors:\n  - name: a\n    uses: enc.yml\n  - name: b\n    uses: enc.yml\n    gpus: 1\n    \
         uses_dynamic_batching: {/index: {timeout: 7}}\n",
    )
    .unwrap();
    let loaded = Flow::load_checked(&flow, &opts()).unwrap();
    let config = dir.path().join("enc.yml").display().to_string();
    let found: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    // (`metas.name` acts, so it does not warn.)
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains(":7:5: executor `b`: `gpus`"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with(&format!("{config}:6:3: `metas`: `workspace` has no effect")),
        "{}",
        found[1]
    );
    let e = loaded.strict().unwrap_err();
    assert!(e.to_string().contains("2 keys have no effect"), "{e}");
    // Plain loading and expansion still work, without warnings.
    let flow = Flow::load_with(&flow, &opts()).unwrap();
    let expanded = flow.expand_executors(dir.path(), &opts()).unwrap();
    assert!(
        expanded[0]
            .component
            .as_deref()
            .unwrap()
            .ends_with("enc.wasm")
    );
    // The config's `dynamic_batching` is read; the flow's `uses_dynamic_batching` replaces
    // its entry for the same key whole (Jina's `dict.update`), so `/index` is back to the
    // default batch size with b's timeout.
    let batch = |size, timeout_ms| BatchingSpec {
        preferred_batch_size: size,
        timeout_ms,
        ..BatchingSpec::default()
    };
    let a = &expanded[0].dynamic_batching;
    assert_eq!(a.by_endpoint["/index"], batch(8, 10_000));
    assert_eq!(a.by_method["encode"], batch(4, 50));
    let b = &expanded[1].dynamic_batching;
    assert_eq!(b.by_endpoint["/index"], batch(4, 7));
    assert_eq!(b.by_method["encode"], batch(4, 50));
    assert_eq!(
        b.for_call("/index", "encode").map(|s| s.timeout_ms),
        Some(7)
    );
    assert_eq!(
        b.for_call("/other", "encode").map(|s| s.timeout_ms),
        Some(50)
    );
}

// ---- Jina files in the wild -------------------------------------------------------------------

#[test]
fn jcloud_section_loads_with_a_warning() {
    let loaded = checked(
        "jtype: Flow\njcloud:\n  version: 3.4.0\n  labels: {team: search}\nexecutors:\n  - name: a\n    \
         jcloud:\n      resources: {instance: C3}\n",
    );
    let found: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("flow.yml:2:1: `jcloud` has no effect in flowhost: JCloud"));
    assert!(found[1].starts_with("flow.yml:7:5: executor `a`: `jcloud` has no effect"));
}

#[test]
fn version_one_is_accepted_quietly() {
    for version in ["'1'", "1", "'1.0'"] {
        let loaded = checked(&format!(
            "jtype: Flow\nversion: {version}\nexecutors:\n  - name: a\n"
        ));
        assert!(loaded.warnings.is_empty());
        assert_eq!(loaded.flow.executors.len(), 1);
    }
}

#[test]
fn jina_2_pods_say_to_rename_them() {
    assert_eq!(
        err("jtype: Flow\npods:\n  - name: a\n"),
        "flow.yml:2:1: `pods`: Jina 2's `pods:` is `executors:` in Jina 3 and flowhost: rename it"
    );
}

#[test]
fn deployments_is_jinas_other_name_for_executors() {
    let flow = checked("jtype: Flow\ndeployments:\n  - name: a\n    uses: a.wasm\n").flow;
    assert_eq!(flow.executors[0].uses.as_deref(), Some("a.wasm"));
    assert!(flow.to_yaml().unwrap().contains("executors:"));
    let e = err("jtype: Flow\nexecutors: []\ndeployments: []\n");
    assert!(e.contains("`executors` is already set"), "{e}");
}

#[test]
fn inline_uses_mapping_says_a_component_reference_is_needed() {
    let e = err(
        "jtype: Flow\nexecutors:\n  - name: a\n    uses:\n      jtype: MyExecutor\n      with: {dim: 3}\n      py_modules: [ex.py]\n",
    );
    assert!(
        e.starts_with(
            "flow.yml:5:7: executor `a`: `uses`: an inline executor config (`jtype`, `with`, `metas`, `py_modules`) describes a Python class"
        ),
        "{e}"
    );
    for needed in [
        ".wasm path",
        "executor config .yml",
        "hub://",
        "docker://",
        "oci://",
        "flowhost new executor NAME --lang python",
        "flowhost build",
    ] {
        assert!(e.contains(needed), "{needed}: {e}");
    }
    // Jina's string form of an inline config.
    let e = err("jtype: Flow\nexecutors:\n  - name: a\n    uses: '!MyExecutor'\n");
    assert!(e.contains("an inline executor config"), "{e}");
}

#[test]
fn py_modules_is_refused_with_the_python_sdk() {
    for text in [
        "jtype: Flow\nwith:\n  py_modules: [ex.py]\n",
        "jtype: Flow\nexecutors:\n  - name: a\n    py_modules: ex.py\n",
        "jtype: Flow\nexecutors:\n  - name: a\n    uses_metas: {py_modules: ex.py}\n",
        "jtype: Flow\nmetas:\n  py_modules: ex.py\n",
    ] {
        let e = err(text);
        assert!(
            e.contains("`py_modules`: flowhost runs WebAssembly components, not Python modules")
                && e.contains("flowhost new executor NAME --lang python"),
            "{e}"
        );
    }
    assert!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    py_modules: ex.py\n")
            .starts_with("flow.yml:4:5: executor `a`: `py_modules`")
    );
}

#[test]
fn python_class_names_and_jina_hub_are_refused() {
    let e = err("jtype: Flow\nexecutors:\n  - name: a\n    uses: MyExecutor\n");
    assert!(
        e.starts_with(
            "flow.yml:4:11: executor `a`: `uses: MyExecutor`: `MyExecutor` is a Python class name"
        ) && e.contains("--lang python")
            && e.contains("hub://"),
        "{e}"
    );
    for (uses, scheme) in [
        ("jinahub://Encoder", "jinahub"),
        ("jinahub+docker://Encoder/v2", "jinahub+docker"),
    ] {
        let e = err(&format!(
            "jtype: Flow\nexecutors:\n  - name: a\n    uses_before: {uses}\n"
        ));
        assert!(
            e.starts_with(&format!(
                "flow.yml:4:18: executor `a`: `uses_before: {uses}`: `{scheme}://` is a Jina Hub executor"
            )) && e.contains("`hub://NAME`")
                && e.contains("`docker://IMAGE`"),
            "{e}"
        );
    }
}

#[test]
fn base_executor_is_the_pass_through() {
    let flow = checked(
        "jtype: Flow\nexecutors:\n  - name: a\n    uses: BaseExecutor\n    uses_after: BaseExecutor\n",
    )
    .flow;
    assert_eq!(flow.executors[0].uses, None);
    assert_eq!(flow.executors[0].uses_after, None);
}

#[test]
fn executor_config_refuses_python_only_components() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enc.yml");
    std::fs::write(&file, "jtype: Encoder\nuses: jinahub://Encoder\n").unwrap();
    let e = ExecutorConfig::load(&file, &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":2:7: `uses: jinahub://Encoder`: `jinahub://` is a Jina Hub executor"),
        "{e}"
    );
}

#[test]
fn dollar_variables_expand_as_in_jina() {
    let loaded = checked(
        "jtype: Flow\nwith:\n  port: $PORT\nexecutors:\n  - name: a\n    uses: ${MODEL}\n    \
         replicas: $REPLICAS\n    uses_with: {n: $REPLICAS, price: $5, unset: $NOPE}\n",
    );
    let flow = loaded.flow;
    assert_eq!(flow.with.port, vec![4242]);
    assert_eq!(flow.executors[0].uses.as_deref(), Some("enc.wasm"));
    assert_eq!(flow.executors[0].replicas, 3);
    let with = serde_json::Value::Object(flow.executors[0].uses_with.clone());
    assert_eq!(
        with,
        serde_json::json!({"n": 3, "price": "$5", "unset": "$NOPE"})
    );
    let back = Flow::from_yaml_str(&flow.to_yaml().unwrap(), "saved.yml", &opts()).unwrap();
    assert_eq!(back, flow);
}

#[test]
fn typos_of_unknown_keys_are_still_errors_with_suggestions() {
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    gpu: 1\n"),
        "flow.yml:4:5: executor `a`: unknown key `gpu`, did you mean `gpus`?"
    );
    assert_eq!(
        err("jtype: Flow\njclod: {}\n"),
        "flow.yml:2:1: unknown key `jclod`, did you mean `jcloud`?"
    );
}

#[test]
fn example_flows_load_with_only_the_known_warning() {
    let dir = crate::tests::examples_dir();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            let loaded = Flow::load_checked(&path, &opts())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let found: Vec<String> = loaded.warnings.iter().map(|w| w.key.clone()).collect();
            assert_eq!(found, Vec::<String>::new(), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen > 5, "{seen} example flows");
}

#[test]
fn output_array_type_list_warns_with_its_line_and_strict_refuses_it() {
    let loaded = checked(
        "jtype: Flow\nwith:\n  output_array_type: list\nexecutors:\n  - name: a\n    \
         output_array_type: float32\n  - name: b\n    output_array_type: numpy\n  - name: c\n    \
         output_array_type: list\n",
    );
    let found: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "flow.yml:3:22: `with`: `output_array_type` has no effect in flowhost: `list` asks \
             for tensors a Python client rebuilds as lists; flowhost always answers numpy arrays \
             (`cls_name` `numpy`)",
            "flow.yml:10:24: executor `c`: `output_array_type` has no effect in flowhost: `list` \
             asks for tensors a Python client rebuilds as lists; flowhost always answers numpy \
             arrays (`cls_name` `numpy`)",
        ]
    );
    let e = loaded.strict().unwrap_err().to_string();
    assert!(e.contains("2 keys have no effect"), "{e}");
}

#[test]
fn batching_and_array_types_flowhost_applies_do_not_warn() {
    let loaded = checked(
        "jtype: Flow\nwith:\n  output_array_type: numpy\n  uses_dynamic_batching: {encode: {}}\n\
         executors:\n  - name: a\n    output_array_type: uint8\n    uses_dynamic_batching:\n      \
         /index: {preferred_batch_size: 2, timeout: 5, flush_all: true, \
         use_dynamic_batching: true, use_custom_metric: false}\n",
    );
    assert_eq!(loaded.warnings, Vec::new());
    assert_eq!(
        loaded.flow.executors[0].dynamic_batching.by_endpoint["/index"].timeout_ms,
        5
    );
}

#[test]
fn executor_config_dynamic_batching_errors_point_into_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enc.yml");
    std::fs::write(
        &file,
        "jtype: Encoder\ncomponent: enc.wasm\ndynamic_batching:\n  /index:\n    custom_metric: f\n",
    )
    .unwrap();
    let e = ExecutorConfig::load(&file, &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:5:5: `dynamic_batching` entry `/index`: `custom_metric`: a Python callable",
            file.display()
        )),
        "{e}"
    );
}

#[test]
fn gateway_section_wins_for_the_gateway_alone_and_saves_back() {
    let loaded = checked(
        "jtype: Flow\ngateway:\n  port: 4000\n  protocol: http\n  cors: true\n  env: {G: g}\n  \
         compression: Gzip\n  grpc_server_options: {grpc.max_concurrent_streams: 4}\n  \
         replicas: 2\nwith:\n  port: 12345\n  title: t\n  env: {A: a, G: w}\n  \
         compression: Deflate\nexecutors:\n  - name: a\n",
    );
    let flow = &loaded.flow;
    let gw = flow.gateway_args();
    assert_eq!(
        gw.bindings,
        [Binding {
            protocol: flowhost_wire::Protocol::Http,
            port: Some(4000)
        }]
    );
    assert!(gw.cors);
    assert_eq!(gw.title.as_deref(), Some("t"));
    assert_eq!(gw.compression, Some(flowhost_wire::Compression::Gzip));
    assert_eq!(gw.env.get("G").map(String::as_str), Some("g"));
    assert_eq!(gw.env.get("A").map(String::as_str), Some("a"));
    assert!(gw.extra.contains_key("grpc_server_options"));
    // Gateway-only in Jina: executors keep the `with:` values.
    let a = flow.effective_executor(0).unwrap();
    assert_eq!(a.compression, Some(flowhost_wire::Compression::Deflate));
    assert_eq!(a.env.get("G").map(String::as_str), Some("w"));
    assert!(!a.extra.contains_key("grpc_server_options"));
    assert_eq!(flow.executors[0].replicas, 1);
    // `replicas` of the gateway has no effect: a warning with its line.
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("flow.yml:9:3: `gateway`: `replicas` has no effect"),
        "{warnings:?}"
    );
    let saved = flow.to_yaml().unwrap();
    assert!(saved.contains("gateway:"), "{saved}");
    assert_eq!(checked(&saved).flow, *flow, "{saved}");
}

#[test]
fn gateway_section_refuses_custom_gateways_and_executor_keys() {
    let e = err("jtype: Flow\ngateway:\n  uses: MyGateway\n");
    assert!(
        e.starts_with("flow.yml:3:3: `gateway`: `uses`: flowhost's gateway is built in"),
        "{e}"
    );
    let e = err("jtype: Flow\ngateway:\n  workspace: w\n");
    assert!(
        e.starts_with("flow.yml:3:") && e.contains("write it under `with:`"),
        "{e}"
    );
    let e = err("jtype: Flow\ngateway:\n  prot: http\n");
    assert!(
        e.contains("did you mean `port`?") || e.contains("`protocol`"),
        "{e}"
    );
}

#[test]
fn with_replicas_shards_polling_reach_executors_that_set_none() {
    let text = "jtype: Flow\nwith:\n  replicas: 2\n  shards: 3\n  polling: ALL\nexecutors:\n  \
                - name: a\n  - name: b\n    replicas: 1\n    polling: {/x: ANY}\n  - name: c\n    \
                shards: 3\n";
    let flow = checked(text).flow;
    let got: Vec<(u32, u32)> = flow
        .executors
        .iter()
        .map(|e| (e.replicas, e.shards))
        .collect();
    assert_eq!(got, [(2, 3), (1, 3), (2, 3)]);
    assert_eq!(flow.executors[0].polling_for("/x"), Polling::All);
    assert_eq!(flow.executors[1].polling_for("/x"), Polling::Any);
    // Saved: the flow-level keys stay in `with:`, executors keep only what differs.
    let saved = flow.to_yaml().unwrap();
    let back = checked(&saved).flow;
    assert_eq!(back, flow, "{saved}");
    assert_eq!(saved.matches("replicas:").count(), 2, "{saved}");
    assert_eq!(saved.matches("shards:").count(), 1, "{saved}");
}

#[test]
fn with_keys_that_would_reshape_the_flow_are_refused() {
    for key in [
        "needs: a",
        "floating: true",
        "external: true",
        "uses_before: b.wasm",
    ] {
        let e = err(&format!("jtype: Flow\nwith:\n  {key}\n"));
        assert!(
            e.starts_with("flow.yml:3:3: `with`: ") && e.contains("set it on the executors"),
            "{e}"
        );
    }
    let e = err("jtype: Flow\nwith:\n  replicas: 0\n");
    assert!(e.starts_with("flow.yml:3:"), "{e}");
}

#[test]
fn method_needs_is_a_join_and_inspect_is_refused() {
    let text = "jtype: Flow\nexecutors:\n  - name: a\n  - name: b\n    needs: gateway\n  - \
                method: needs\n    needs: [a, b]\n  - name: c\n    method: add\n";
    let flow = checked(text).flow;
    let join = &flow.executors[2];
    assert_eq!(join.name, "joiner");
    assert_eq!(join.uses, None);
    assert_eq!(join.needs, Some(vec!["a".to_string(), "b".to_string()]));
    let saved = flow.to_yaml().unwrap();
    assert!(!saved.contains("method"), "{saved}");
    assert_eq!(checked(&saved).flow, flow);

    let e = err("jtype: Flow\nexecutors:\n  - name: a\n  - method: inspect\n");
    assert!(
        e.starts_with(
            "flow.yml:4:13: executor `executor1`: `method: inspect`: flowhost has no inspect"
        ),
        "{e}"
    );
    let e = err(
        "jtype: Flow\nexecutors:\n  - name: a\n  - name: b\n    needs: gateway\n  - name: j\n    \
         method: needs\n    needs: [a, b]\n    uses: x.wasm\n",
    );
    assert!(
        e.starts_with("flow.yml:9:5: executor `j`: `uses` with `method: needs`"),
        "{e}"
    );
    let e = err("jtype: Flow\nexecutors:\n  - name: a\n  - method: needs\n    needs: a\n");
    assert!(
        e.starts_with("flow.yml:4:") && e.contains("at least two"),
        "{e}"
    );
    let e = err("jtype: Flow\nexecutors:\n  - method: remove\n");
    assert!(e.starts_with("flow.yml:3:") && e.contains("`needs`"), "{e}");
}

#[test]
fn string_entries_load_deployment_files_next_to_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("enc.yml"),
        "jtype: Deployment\nwith:\n  name: enc\n  uses: ${{ ENV.MODEL }}\n  replicas: 2\n  \
         gpus: 1\n",
    )
    .unwrap();
    let flow_file = dir.path().join("flow.yml");
    std::fs::write(
        &flow_file,
        "jtype: Flow\nexecutors:\n  - enc.yml\n  - jtype: Deployment\n    with:\n      name: b\n",
    )
    .unwrap();
    let loaded = Flow::load_checked(&flow_file, &opts()).unwrap_or_else(|e| panic!("{e}"));
    let enc = &loaded.flow.executors[0];
    assert_eq!(enc.name, "enc");
    assert_eq!(enc.uses.as_deref(), Some("enc.wasm"));
    assert_eq!(enc.replicas, 2);
    assert_eq!(loaded.flow.executors[1].name, "b");
    // The Deployment file's warnings point into it.
    assert_eq!(loaded.warnings.len(), 1);
    let w = loaded.warnings[0].to_string();
    assert!(w.contains("enc.yml:6:3: executor `enc`: `gpus`"), "{w}");
    // Saved inline: the same flow.
    let saved = loaded.flow.to_yaml().unwrap();
    assert_eq!(checked(&saved).flow, loaded.flow, "{saved}");

    std::fs::write(&flow_file, "jtype: Flow\nexecutors:\n  - missing.yml\n").unwrap();
    let e = Flow::load(&flow_file).unwrap_err().to_string();
    assert!(
        e.contains("flow.yml:3:5: `executors[0]`: `missing.yml` names a Deployment YAML file")
            && e.contains("write the executor inline"),
        "{e}"
    );
    std::fs::write(dir.path().join("x.yml"), "jtype: Flow\n").unwrap();
    std::fs::write(&flow_file, "jtype: Flow\nexecutors:\n  - x.yml\n").unwrap();
    let e = Flow::load(&flow_file).unwrap_err().to_string();
    assert!(
        e.contains("x.yml") && e.contains("jtype: Deployment"),
        "{e}"
    );
}
