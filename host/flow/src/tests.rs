//! Tests of the Flow model as a user meets it: YAML in, errors or a Flow out, YAML back.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::*;
use flowhost_wire::{Compression, Protocol};

fn opts() -> LoadOptions {
    LoadOptions {
        vars: Vars::with_env([("PORT", "4242"), ("REPLICAS", "3")]),
    }
}

fn load(text: &str) -> Result<Flow, FlowError> {
    Flow::from_yaml_str(text, "flow.yml", &opts())
}

fn err(text: &str) -> String {
    match load(text) {
        Ok(flow) => panic!("expected an error, got {flow:?}"),
        Err(e) => e.to_string(),
    }
}

/// `examples/flows`, found from the working directory (the crate) or from this file (when the
/// module is compiled from elsewhere by path).
pub(crate) fn examples_dir() -> PathBuf {
    let starts = [
        std::env::current_dir().unwrap_or_default(),
        PathBuf::from(file!()),
    ];
    starts
        .iter()
        .flat_map(|s| s.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .map(|a| a.join("examples/flows"))
        .find(|p| p.is_dir())
        .expect("examples/flows not found above the working directory or this file")
}

// ---- keys, types and positions -------------------------------------------------------------

#[test]
fn unknown_executor_key_has_position_and_suggestion() {
    let text = "jtype: Flow\nwith:\n  port: 1\nexecutors:\n  - name: encoder\n  - name: indexer\n    replica: 2\n";
    assert_eq!(
        err(text),
        "flow.yml:7:5: executor `indexer`: unknown key `replica`, did you mean `replicas`?"
    );
}

#[test]
fn unknown_keys_elsewhere() {
    assert_eq!(
        err("jtype: Flow\nwith:\n  protocl: http\n"),
        "flow.yml:3:3: `with`: unknown key `protocl`, did you mean `protocol`?"
    );
    assert_eq!(
        err("jtype: Flow\nexecutor:\n  - name: a\n"),
        "flow.yml:2:1: unknown key `executor`, did you mean `executors`?"
    );
    // Far from every known key: no suggestion.
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    zzzzzzzz: 1\n"),
        "flow.yml:4:5: executor `a`: unknown key `zzzzzzzz`"
    );
    let msg = err("jtype: Flow\nwith:\n  expose_endpoints:\n    /foo:\n      summry: x\n");
    assert_eq!(
        msg,
        "flow.yml:5:7: `with`: `expose_endpoints` entry `/foo`: unknown key `summry`, did you mean `summary`?"
    );
}

#[test]
fn known_jina_keys_are_kept() {
    let flow = load(
        "jtype: Flow\nwith:\n  monitoring: true\n  port_monitoring: 9090\nexecutors:\n  - name: a\n    gpus: 1\n    output_array_type: numpy\n",
    )
    .unwrap();
    assert_eq!(flow.with.extra["monitoring"], json!(true));
    assert_eq!(flow.executors[0].extra["gpus"], json!(1));
    // A typed key now, not kept as written.
    assert_eq!(
        flow.executors[0].output_array_type,
        Some(ArrayFormat::Numpy)
    );
    assert!(!flow.executors[0].extra.contains_key("output_array_type"));
    let back = Flow::from_yaml_str(&flow.to_yaml().unwrap(), "saved.yml", &opts()).unwrap();
    assert_eq!(back, flow);
}

#[test]
fn wrong_types_name_key_value_and_position() {
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    replicas: two\n"),
        "flow.yml:4:15: executor `a`: `replicas` must be a positive integer, found the string `two`"
    );
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    floating: [1]\n"),
        "flow.yml:4:15: executor `a`: `floating` must be true or false, found a list"
    );
    assert_eq!(
        err("jtype: Flow\nwith:\n  port: 70000\n"),
        "flow.yml:3:9: `with`: `port` must be a port number (0-65535) or a list of them, found the number `70000`"
    );
    let msg = err("jtype: Flow\nexecutors:\n  - name: a\n    when: tags__key == 5\n");
    assert!(
        msg.starts_with("flow.yml:4:11: executor `a`: `when` must be a mapping"),
        "{msg}"
    );
    let msg = err("jtype: Flow\nexecutors: foo\n");
    assert!(
        msg.starts_with("flow.yml:2:12: `executors` must be a list"),
        "{msg}"
    );
}

#[test]
fn values_in_quotes_are_accepted_where_jina_would() {
    let flow =
        load("jtype: Flow\nexecutors:\n  - name: a\n    replicas: '2'\n    floating: 'true'\n")
            .unwrap();
    assert_eq!(flow.executors[0].replicas, 2);
    assert!(flow.executors[0].floating);
}

#[test]
fn syntax_errors_have_positions() {
    let msg = err("jtype: Flow\nexecutors:\n  - name: a\n   bad indent: [\n");
    assert!(msg.starts_with("flow.yml:"), "{msg}");
    assert!(msg.starts_with("flow.yml:4:4: "), "{msg}");
    assert!(
        !msg.contains("at line 4 column 4"),
        "position printed twice: {msg}"
    );
}

#[test]
fn a_flow_file_needs_jtype_flow() {
    assert_eq!(
        err("jtype: MyExecutor\nwith: {}\n"),
        "flow.yml:1:8: `jtype` is `MyExecutor`, expected `Flow` (an executor config belongs in an executor's `uses:`)"
    );
    assert!(err("executors: []\n").contains("missing `jtype: Flow`"));
    // The `!Flow` tag form is the same as `jtype: Flow`.
    let flow = load("!Flow\nexecutors:\n  - name: a\n").unwrap();
    assert_eq!(flow.executors[0].name, "a");
    // The empty flow: only the gateway.
    assert_eq!(load("jtype: Flow\n").unwrap(), Flow::new());
}

#[test]
fn duplicate_names_point_at_the_second() {
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n  - name: b\n  - name: a\n"),
        "flow.yml:5:11: duplicate executor name `a` (first used at line 3)"
    );
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: executor1\n  - uses: x.wasm\n"),
        "flow.yml:4:5: duplicate executor name `executor1` (first used at line 3); `executor1` is the default name of the unnamed executor #1 (counting from 0), so give one of them another `name`"
    );
    assert!(err("jtype: Flow\nexecutors:\n  - name: gateway\n").contains("reserved"));
}

#[test]
fn unknown_needs_suggests_a_name() {
    assert_eq!(
        err(
            "jtype: Flow\nexecutors:\n  - name: encoder\n  - name: indexer\n    needs: [encoderr]\n"
        ),
        "flow.yml:5:13: executor `indexer`: `needs` names `encoderr`, which is not an executor in this flow, did you mean `encoder`?"
    );
    // A single name (not a list) is located too.
    let msg = err("jtype: Flow\nexecutors:\n  - name: a\n    needs: nope\n");
    assert!(msg.starts_with("flow.yml:4:12:"), "{msg}");
    let msg = err("jtype: Flow\nexecutors:\n  - name: a\n  - name: b\n    needs: [a, a]\n");
    assert!(msg.contains("lists `a` twice"), "{msg}");
    let msg = err("jtype: Flow\nexecutors:\n  - name: a\n    needs: []\n");
    assert!(msg.contains("needs: gateway"), "{msg}");
}

#[test]
fn cycles_name_the_executors() {
    let msg = err(
        "jtype: Flow\nexecutors:\n  - name: a\n    needs: c\n  - name: b\n    needs: a\n  - name: c\n    needs: b\n",
    );
    assert_eq!(
        msg,
        "flow.yml:4:5: executors form a cycle through `needs`: a -> b -> c -> a"
    );
}

#[test]
fn bad_polling_values() {
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    shards: 2\n    polling: {/index: SOME}\n"),
        "flow.yml:5:23: executor `a`: bad polling `SOME` for `/index`: use ANY or ALL"
    );
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    polling: every\n"),
        "flow.yml:4:14: executor `a`: bad polling `every` for `every endpoint`: use ANY or ALL"
    );
    let flow = load("jtype: Flow\nexecutors:\n  - name: a\n    polling: all\n").unwrap();
    assert_eq!(
        flow.executors[0].polling,
        Some(PollingSpec::Uniform(Polling::All))
    );
}

#[test]
fn bad_limits() {
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    memory_limit: 12 parsecs\n"),
        "flow.yml:4:19: executor `a`: bad `memory_limit` `12 parsecs`: expected a number with an optional unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. 64MiB"
    );
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    timeout_ms: 0\n"),
        "flow.yml:4:17: executor `a`: bad `timeout_ms` `0`: must be at least 1 millisecond"
    );
    let msg = err("jtype: Flow\nwith:\n  fuel: -5\n");
    assert!(
        msg.starts_with("flow.yml:3:9: `with`: bad `fuel` `-5`"),
        "{msg}"
    );
    let msg = err("jtype: Flow\nwith:\n  memory_limit: 1KiB\n");
    assert!(msg.contains("at least 64KiB"), "{msg}");
    let flow = load("jtype: Flow\nwith:\n  memory_limit: 512MB\nexecutors:\n  - name: a\n    memory_limit: 64MiB\n    fuel: 1000\n").unwrap();
    assert_eq!(flow.with.limits.memory_limit, Some(512_000_000));
    assert_eq!(flow.executors[0].limits.memory_limit, Some(64 << 20));
    assert_eq!(flow.executors[0].limits.fuel, Some(1000));
}

#[test]
fn external_needs_a_host_and_ports_match_protocols() {
    let msg = err("jtype: Flow\nexecutors:\n  - name: a\n    external: true\n");
    assert!(
        msg.starts_with(
            "flow.yml:4:5: executor `a`: `external`: an external executor needs `host`"
        ),
        "{msg}"
    );
    let msg = err("jtype: Flow\nwith:\n  port: [1, 2]\n  protocol: http\n");
    assert!(msg.contains("2 ports but 1 protocol(s)"), "{msg}");
    // Fewer ports than protocols: the others pick free ports.
    let flow = load("jtype: Flow\nwith:\n  port: 1\n  protocol: [http, grpc]\n").unwrap();
    let b = flow.gateway_args().bindings;
    assert_eq!((b[0].port, b[1].port), (Some(1), None));
}

#[test]
fn aliases_and_case() {
    let flow = load(
        "jtype: Flow\nwith:\n  port_expose: 1234\n  protocols: [GRPC, Http]\n  compression: gzip\nexecutors:\n  - name: a\n    no_reduce: true\n",
    );
    let flow = flow.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flow.with.port, vec![1234]);
    assert_eq!(flow.with.protocol, vec![Protocol::Grpc, Protocol::Http]);
    assert_eq!(flow.with.compression, Some(Compression::Gzip));
    assert!(flow.executors[0].disable_reduce);
    let msg = err("jtype: Flow\nwith:\n  port: 1\n  port_expose: 2\n");
    assert!(msg.contains("`port` is already set"), "{msg}");
    let msg = err("jtype: Flow\nwith:\n  protocol: carrier-pigeon\n");
    assert!(msg.contains("unknown protocol `carrier-pigeon`"), "{msg}");
}

#[test]
fn default_names_are_positional() {
    let flow =
        load("jtype: Flow\nexecutors:\n  - uses: a.wasm\n  - name: named\n  - {}\n").unwrap();
    let names: Vec<_> = flow.executors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["executor0", "named", "executor2"]);
    let built = Flow::new()
        .add(ExecutorSpec::default().uses("a.wasm"))
        .add(ExecutorSpec::new("named"))
        .add(ExecutorSpec::default());
    assert_eq!(built, flow);
}

// ---- substitution -------------------------------------------------------------------------

#[test]
fn env_substitution_before_parsing() {
    let flow = load(
        "jtype: Flow\nwith:\n  port: ${{ ENV.PORT }}\nexecutors:\n  - name: a\n    replicas: ${{ ENV.REPLICAS }}\n",
    )
    .unwrap();
    assert_eq!(flow.with.port, vec![4242]);
    assert_eq!(flow.executors[0].replicas, 3);
    assert_eq!(
        err("jtype: Flow\nwith:\n  port: ${{ ENV.NOPE }}\n"),
        "flow.yml:3:9: environment variable `NOPE` is not set (used as `${{ ENV.NOPE }}`); set it or remove the reference"
    );
    let mut o = opts();
    o.vars.context.insert("shards".into(), "2".into());
    let flow = Flow::from_yaml_str(
        "jtype: Flow\nexecutors:\n  - name: a\n    shards: ${{ shards }}\n",
        "f.yml",
        &o,
    )
    .unwrap();
    assert_eq!(flow.executors[0].shards, 2);
}

/// A `${{` substitution did not replace (split over lines, escaped) is refused: it would be
/// substituted when the saved flow is loaded again. Found by the `flow_yaml` fuzz target.
#[test]
fn unsubstituted_references_are_refused() {
    assert_eq!(
        err("jtype: Flow\nwith:\n env: {k: \"${{\n}}\"}\n"),
        "flow.yml:3:11: `${{ }}` is not substituted: write a `${{ }}` reference on one line, \
         without escapes (a literal `${{` cannot be written)"
    );
    let msg =
        err("jtype: Flow\nexecutors:\n  - name: a\n    uses_with: {\"$\\x7b{ ENV.PORT }}\": 1}\n");
    assert!(
        msg.starts_with("flow.yml:4:17: `${{ ENV.PORT }}` is not substituted"),
        "{msg}"
    );
    let msg = err(
        "jtype: Flow\nexecutors:\n  - name: a\n    uses_with: {x: [1, \"${{ ENV.PORT\n }}\"]}\n",
    );
    assert!(
        msg.contains("`${{ ENV.PORT }}` is not substituted"),
        "{msg}"
    );
    // On one line it is substituted, and a comment is not a value.
    let flow = load("jtype: Flow\nexecutors:\n  - name: a # ${{ ENV.NOPE\n    uses_with: {k: \"${{ ENV.PORT }}\"}\n").unwrap();
    assert_eq!(flow.executors[0].uses_with["k"], json!("4242"));
}

// ---- propagation --------------------------------------------------------------------------

#[test]
fn flow_arguments_propagate_by_jinas_rule() {
    let flow = load(
        "jtype: Flow
with:
  port: 1234
  env: {A: flow, B: flow}
  workspace: /data
  timeout_ms: 1000
  memory_limit: 32MiB
  compression: Deflate
  monitoring: true
  port_monitoring: 9000
  uses: custom-gateway.yml
  uses_with: {x: 1}
metas:
  description: shared
executors:
  - name: a
    env: {B: exec}
    timeout_ms: 50
    uses_metas: {name: alpha}
  - name: b
    workspace: /b
    fuel: 7
",
    )
    .unwrap();
    let a = flow.effective_executor(0).unwrap();
    assert_eq!(a.env["A"], "flow");
    assert_eq!(a.env["B"], "exec");
    assert_eq!(a.workspace.as_deref(), Some("/data"));
    assert_eq!(a.limits.timeout_ms, 50);
    assert_eq!(a.limits.memory_limit, 32 << 20);
    assert_eq!(a.limits.fuel, None);
    assert_eq!(a.compression, Some(Compression::Deflate));
    assert_eq!(a.uses_metas["name"], json!("alpha"));
    assert_eq!(a.uses_metas["description"], json!("shared"));
    // Jina: port, port_monitoring, uses and uses_with never reach executors.
    assert_eq!(a.extra.get("monitoring"), Some(&json!(true)));
    for key in NOT_FOR_EXECUTORS {
        assert!(!a.extra.contains_key(*key), "{key} reached an executor");
    }
    let b = flow.effective_executor(1).unwrap();
    assert_eq!(b.workspace.as_deref(), Some("/b"));
    assert_eq!(b.limits.timeout_ms, 1000);
    assert_eq!(b.limits.fuel, Some(7));
    assert_eq!(flow.effective_executors().len(), 2);
    // Jina: uses and uses_with never reach the gateway; everything else does.
    let g = flow.gateway_args();
    assert!(!g.extra.contains_key("uses") && !g.extra.contains_key("uses_with"));
    assert_eq!(g.extra.get("port_monitoring"), Some(&json!(9000)));
    assert_eq!(
        g.bindings,
        vec![Binding {
            protocol: Protocol::Grpc,
            port: Some(1234)
        }]
    );
    assert_eq!(g.env["A"], "flow");
}

#[test]
fn built_in_limit_defaults() {
    let flow = Flow::new().add(ExecutorSpec::new("a"));
    let eff = flow.effective_executor(0).unwrap();
    assert_eq!(eff.limits.timeout_ms, DEFAULT_TIMEOUT_MS);
    assert_eq!(eff.limits.memory_limit, DEFAULT_MEMORY_LIMIT);
    assert_eq!(flow.gateway_args().bindings[0].protocol, Protocol::Grpc);
}

// ---- polling ------------------------------------------------------------------------------

#[test]
fn polling_defaults_follow_jina() {
    let none = ExecutorSpec::new("a");
    assert_eq!(none.polling_for("/index"), Polling::Any);
    assert_eq!(none.polling_for("/search"), Polling::All);
    assert_eq!(none.polling_for("/custom"), Polling::Any);

    // The seed's example: /custom ALL, /search ANY, '*' ANY; /index keeps its default.
    let flow = load(
        "jtype: Flow\nexecutors:\n  - name: a\n    shards: 3\n    polling: {/custom: ALL, /search: ANY, '*': ANY}\n",
    )
    .unwrap();
    let e = &flow.executors[0];
    assert_eq!(e.polling_for("/index"), Polling::Any);
    assert_eq!(e.polling_for("/search"), Polling::Any);
    assert_eq!(e.polling_for("/custom"), Polling::All);
    assert_eq!(e.polling_for("/other"), Polling::Any);

    // `*` and a single value set the default for every endpoint but /index and /search.
    let star = ExecutorSpec::new("b").polling(PollingSpec::PerEndpoint(
        [("*".to_string(), Polling::All)].into(),
    ));
    assert_eq!(star.polling_for("/other"), Polling::All);
    assert_eq!(star.polling_for("/index"), Polling::Any);
    let all = ExecutorSpec::new("c").polling(PollingSpec::Uniform(Polling::All));
    assert_eq!(all.polling_for("/update"), Polling::All);
    assert_eq!(all.polling_for("/search"), Polling::All);
    assert_eq!(all.polling_for("/index"), Polling::Any);
}

// ---- builder and saving -------------------------------------------------------------------

#[test]
fn builder_equals_parsed_yaml() {
    let built = Flow::new()
        .with_port(12345)
        .with_protocol(Protocol::Http)
        .with_env("K", "V")
        .with_memory_limit(64 << 20)
        .add(ExecutorSpec::new("foo").uses("foo.wasm").replicas(2))
        .add(
            ExecutorSpec::new("bar")
                .uses("bar.wasm")
                .needs("foo")
                .uses_with(json!({"param1": 10}))
                .uses_requests([("/index", "my_index")])
                .when(json!({"tags__key": {"$eq": 5}})),
        )
        .add(
            ExecutorSpec::new("baz")
                .needs(["foo"])
                .floating(true)
                .timeout_ms(500),
        )
        .add(
            ExecutorSpec::default()
                .needs(vec!["bar"])
                .shards(2)
                .polling(PollingSpec::Uniform(Polling::All))
                .disable_reduce(true),
        )
        .add(
            ExecutorSpec::new("remote")
                .external("encoder.example", 443)
                .tls(true),
        );
    built.validate().unwrap();
    let parsed = load(
        "jtype: Flow
with:
  port: 12345
  protocol: http
  env: {K: V}
  memory_limit: 64MiB
executors:
  - name: foo
    uses: foo.wasm
    replicas: 2
  - name: bar
    uses: bar.wasm
    needs: foo
    uses_with: {param1: 10}
    uses_requests: {/index: my_index}
    when: {tags__key: {$eq: 5}}
  - name: baz
    needs: [foo]
    floating: true
    timeout_ms: 500
  - needs: bar
    shards: 2
    polling: ALL
    disable_reduce: true
  - name: remote
    external: true
    host: encoder.example
    port: 443
    tls: true
",
    )
    .unwrap();
    assert_eq!(built, parsed);
    assert_eq!(built.executors[3].name, "executor3");
}

#[test]
fn builder_flows_are_validated_without_positions() {
    let flow = Flow::new().add(ExecutorSpec::new("a").needs("b"));
    assert_eq!(
        flow.validate().unwrap_err().to_string(),
        "flow: executor `a`: `needs` names `b`, which is not an executor in this flow"
    );
    let flow = Flow::new()
        .add(ExecutorSpec::new("a"))
        .add(ExecutorSpec::new("a"));
    assert!(
        flow.validate()
            .unwrap_err()
            .to_string()
            .contains("duplicate executor name `a`")
    );
    let flow = Flow::new().add(ExecutorSpec::new("a").replicas(0));
    assert!(
        flow.validate()
            .unwrap_err()
            .to_string()
            .contains("`replicas`: must be at least 1")
    );
}

#[test]
fn every_example_flow_round_trips() {
    let dir = examples_dir();
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let flow = Flow::load_with(&path, &opts()).unwrap_or_else(|e| panic!("{e}"));
        let text = flow.to_yaml().unwrap();
        let back = Flow::from_yaml_str(&text, "saved.yml", &opts()).unwrap_or_else(|e| {
            panic!("{}: saved form does not load: {e}\n{text}", path.display())
        });
        assert_eq!(
            back,
            flow,
            "{} does not round-trip:\n{text}",
            path.display()
        );
        assert_eq!(back.to_yaml().unwrap(), text, "saving is not stable");
        flow.topology()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        count += 1;
    }
    assert!(count >= 8, "expected the example flows, found {count}");
}

#[test]
fn save_writes_a_file_that_loads_back() {
    let flow = Flow::new()
        .with_port(8080)
        .add(
            ExecutorSpec::new("x")
                .uses("x.wasm")
                .memory_limit(1_000_000),
        )
        .add(
            ExecutorSpec::new("y")
                .uses_metas(json!({"name": "why"}))
                .env("N", "1"),
        );
    let dir = std::env::temp_dir().join(format!("flowhost-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flow.yml");
    flow.save(&path).unwrap();
    let back = Flow::load_with(&path, &opts()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(back, flow);
}

// ---- executor config files ----------------------------------------------------------------

#[test]
fn executor_config_is_found_on_search_paths_and_merged() {
    let dir = examples_dir();
    let flow = Flow::load_with(dir.join("gateway.yml"), &opts()).unwrap();
    let expanded = flow.expand_executors(&dir, &opts()).unwrap();
    let tagger = &expanded[0];
    assert_eq!(tagger.jtype.as_deref(), Some("Tagger"));
    assert_eq!(
        tagger.config_file.as_deref(),
        Some(dir.join("executors").join("tagger.yml").as_path())
    );
    let component = tagger.component.as_deref().unwrap();
    assert!(
        component.ends_with("target/wasm32-wasip2/release/tagger.wasm"),
        "{component}"
    );
    assert!(
        component.contains("executors"),
        "relative to the config file: {component}"
    );
    // The flow's uses_with wins; the config's other defaults stay.
    assert_eq!(tagger.uses_with["tag"], json!("flow"));
    assert_eq!(tagger.uses_with["key"], json!("source"));
    assert_eq!(tagger.uses_metas["name"], json!("tagger"));
    assert_eq!(tagger.uses_requests["/index"], "tag");
    // Executors that use a component directly pass through unchanged.
    assert_eq!(expanded[2].component, flow.executors[2].uses);
    assert_eq!(expanded[2].config_file, None);
}

#[test]
fn executor_config_errors_name_what_was_searched_and_where() {
    let dir = std::env::temp_dir().join(format!("flowhost-execcfg-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("more")).unwrap();
    let flow = Flow::new()
        .with_extra_search_path("more")
        .add(ExecutorSpec::new("a").uses("missing.yml"));
    let msg = flow
        .expand_executors(&dir, &opts())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("executor `a`: executor config `missing.yml` not found; searched:"),
        "{msg}"
    );
    assert!(
        msg.contains(&dir.join("more").join("missing.yml").display().to_string()),
        "{msg}"
    );

    std::fs::write(
        dir.join("more/bad.yml"),
        "jtype: X\nwtih: {a: 1}\ncomponent: x.wasm\n",
    )
    .unwrap();
    let flow = Flow::new().with_extra_search_path("more").add(
        ExecutorSpec::new("b")
            .uses("bad.yml")
            .uses_with(json!({"a": 2})),
    );
    let msg = flow
        .expand_executors(&dir, &opts())
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("bad.yml:2:1: unknown key `wtih`, did you mean `with`?"),
        "{msg}"
    );

    std::fs::write(dir.join("nocomp.yml"), "jtype: Encoder\nwith: {}\n").unwrap();
    let flow = Flow::new().add(ExecutorSpec::new("c").uses("nocomp.yml"));
    let msg = flow
        .expand_executors(&dir, &opts())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("names no component"), "{msg}");

    std::fs::write(
        dir.join("ok.yml"),
        "jtype: E\nwith: {a: 1, b: 1}\nuses: oci://r/e:1\n",
    )
    .unwrap();
    let flow = Flow::new().add(
        ExecutorSpec::new("d")
            .uses("ok.yml")
            .uses_with(json!({"a": 2})),
    );
    let e = flow.expand_executor(0, &dir, &opts()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(e.component.as_deref(), Some("oci://r/e:1"));
    assert_eq!(
        e.uses_with,
        json!({"a": 2, "b": 1}).as_object().cloned().unwrap()
    );
}

#[test]
fn server_limits_load_save_and_say_what_is_wrong() {
    let text = "jtype: Flow\nwith:\n  max_request_size: 8MiB\n  request_memory_budget: 268435456\n  max_connections: 100\n  read_timeout_ms: 5000\n  idle_timeout_ms: 0\n";
    let flow = load(text).unwrap();
    let server = flow.with.server;
    assert_eq!(server.max_request_size, Some(8 << 20));
    assert_eq!(server.request_memory_budget, Some(256 << 20));
    assert_eq!(server.max_connections, Some(100));
    assert_eq!(server.read_timeout_ms, Some(5000));
    assert_eq!(server.idle_timeout_ms, Some(0));
    assert_eq!(flow.gateway_args().server, server);
    // Saved back in the units a person writes, and loaded back equal.
    let saved = flow.to_yaml().unwrap();
    assert!(saved.contains("request_memory_budget: 256MiB"), "{saved}");
    assert_eq!(load(&saved).unwrap().with.server, server);
    assert_eq!(
        err("jtype: Flow\nwith:\n  max_request_size: lots\n"),
        "flow.yml:3:21: `with`: `max_request_size`: `lots` is not a size: expected a number with an optional unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. 64MiB"
    );
    assert!(err("jtype: Flow\nwith:\n  max_connections: -1\n").contains("a positive integer"));
}

#[test]
fn an_external_executor_lists_its_replicas_as_hosts() {
    let text = "jtype: Flow\nexecutors:\n\
                \x20 - name: a\n    external: true\n    host: [h1, h2]\n    port: 81\n\
                \x20 - name: b\n    external: true\n    host: [h1, h2]\n    port: [1, 2]\n\
                \x20 - name: c\n    external: true\n    host: h3:9\n";
    let flow = load(text).unwrap_or_else(|e| panic!("{e}"));
    let addresses: Vec<_> = (flow.executors.iter())
        .map(|e| e.addresses().unwrap_or_default())
        .collect();
    let at = |h: &str, p: u16| (h.to_owned(), p);
    assert_eq!(addresses[0], [at("h1", 81), at("h2", 81)]);
    assert_eq!(addresses[1], [at("h1", 1), at("h2", 2)]);
    assert_eq!(addresses[2], [at("h3", 9)]);
    let saved = flow.to_yaml().unwrap();
    assert_eq!(load(&saved).unwrap(), flow, "{saved}");
    let msg = err(
        "jtype: Flow\nexecutors:\n  - name: a\n    external: true\n    host: [h1, h2]\n    port: [1, 2, 3]\n",
    );
    assert!(msg.contains("one port for all or one per host"), "{msg}");
    let msg = err(
        "jtype: Flow\nexecutors:\n  - name: a\n    external: true\n    shards: 2\n    host: [h1, h2, h3]\n    port: 1\n",
    );
    assert!(
        msg.contains("3 addresses cannot be split evenly into 2 shards"),
        "{msg}"
    );
}

// ---- uses_dynamic_batching and output_array_type ------------------------------------------

fn batch(preferred_batch_size: usize, timeout_ms: u64) -> BatchingSpec {
    BatchingSpec {
        preferred_batch_size,
        timeout_ms,
        ..BatchingSpec::default()
    }
}

#[test]
fn dynamic_batching_loads_with_jinas_defaults_and_saves_back() {
    let flow = load(
        "jtype: Flow
executors:
  - name: a
    uses_dynamic_batching:
      /index: {preferred_batch_size: 8, timeout: 200, flush_all: true}
      encode: {}
      /search: {use_dynamic_batching: false, use_custom_metric: false}
      embed: {preferred_batch_size: '16', timeout: 0, use_dynamic_batching: 'true'}
",
    )
    .unwrap();
    let b = &flow.executors[0].dynamic_batching;
    assert_eq!(
        BatchingSpec::default(),
        BatchingSpec {
            preferred_batch_size: 4,
            timeout_ms: 10_000,
            flush_all: false,
            enabled: true
        }
    );
    assert_eq!(
        b.by_endpoint["/index"],
        BatchingSpec {
            flush_all: true,
            ..batch(8, 200)
        }
    );
    assert_eq!(b.by_method["encode"], BatchingSpec::default());
    assert_eq!(b.by_method["embed"], batch(16, 0));
    assert!(!b.by_endpoint["/search"].enabled);
    assert_eq!(b.by_endpoint.len() + b.by_method.len(), 4);
    // Jina's precedence: the endpoint's entry, else the method's; a disabled entry is no
    // batching, even if the method has an entry.
    assert_eq!(
        b.for_call("/index", "encode").map(|s| s.timeout_ms),
        Some(200)
    );
    assert_eq!(
        b.for_call("/other", "encode"),
        Some(&BatchingSpec::default())
    );
    assert_eq!(b.for_call("/search", "encode"), None);
    assert_eq!(b.for_call("/other", "unbatched"), None);
    assert!(!b.is_empty() && DynamicBatching::default().is_empty());
    // Saved with only what differs from the defaults, and loaded back equal.
    let text = flow.to_yaml().unwrap();
    assert!(text.contains("timeout: 200"), "{text}");
    assert!(
        !text.contains("10000") && !text.contains("use_custom_metric"),
        "{text}"
    );
    assert!(text.contains("encode: {}"), "{text}");
    let back = Flow::from_yaml_str(&text, "saved.yml", &opts()).unwrap();
    assert_eq!(back, flow);
}

#[test]
fn dynamic_batching_errors_name_the_key_and_line() {
    let exec = |body: &str| {
        format!("jtype: Flow\nexecutors:\n  - name: a\n    uses_dynamic_batching:\n{body}")
    };
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    uses_dynamic_batching: 5\n"),
        "flow.yml:4:28: executor `a`: `uses_dynamic_batching` must be a mapping of endpoints \
         (`/index`) or method names to batching settings, such as \
         `{/index: {preferred_batch_size: 8}}`, found the number `5`"
    );
    assert_eq!(
        err(&exec("      /index: 4\n")),
        "flow.yml:5:15: executor `a`: `uses_dynamic_batching`: `/index` must be a mapping such \
         as `{preferred_batch_size: 8, timeout: 200}`, found the number `4`"
    );
    assert_eq!(
        err(&exec("      /index: {preferred_batch_size: 0}\n")),
        "flow.yml:5:38: executor `a`: `uses_dynamic_batching` entry `/index`: \
         `preferred_batch_size`: must be at least 1 (documents gathered per call)"
    );
    assert_eq!(
        err(&exec("      /index:\n        timeout: -1\n")),
        "flow.yml:6:18: executor `a`: `uses_dynamic_batching` entry `/index`: `timeout`: must \
         not be negative: it is the milliseconds a request may wait for others to join it \
         (found -1)"
    );
    assert_eq!(
        err(&exec("      encode:\n        timeout: soon\n")),
        "flow.yml:6:18: executor `a`: `uses_dynamic_batching` entry `encode`: `timeout` must be \
         a whole number of milliseconds, found the string `soon`"
    );
    assert_eq!(
        err(&exec("      encode:\n        flush_all: maybe\n")),
        "flow.yml:6:20: executor `a`: `uses_dynamic_batching` entry `encode`: `flush_all` must \
         be true or false, found the string `maybe`"
    );
    assert_eq!(
        err(&exec("      encode:\n        prefered_batch_size: 3\n")),
        "flow.yml:6:9: executor `a`: `uses_dynamic_batching` entry `encode`: unknown key \
         `prefered_batch_size`, did you mean `preferred_batch_size`?"
    );
    let e = err(&exec("      encode:\n        custom_metric: my_fn\n"));
    assert!(
        e.starts_with(
            "flow.yml:6:9: executor `a`: `uses_dynamic_batching` entry `encode`: \
             `custom_metric`: a Python callable"
        ) && e.contains("flowhost cannot run a Python metric"),
        "{e}"
    );
    let e = err(&exec("      encode:\n        use_custom_metric: true\n"));
    assert!(
        e.starts_with(
            "flow.yml:6:28: executor `a`: `uses_dynamic_batching` entry `encode`: \
             `use_custom_metric: true`: flowhost cannot run a Python metric"
        ),
        "{e}"
    );
    let e = err("jtype: Flow\nwith:\n  uses_dynamic_batching: {'': {}}\n");
    assert!(
        e.starts_with("flow.yml:3:") && e.contains("an empty key names neither"),
        "{e}"
    );
    let e = err("jtype: Flow\nwith:\n  uses_dynamic_batching: {/x: {preferred_batch_size: -2}}\n");
    assert!(
        e.starts_with("flow.yml:3:54: `with`: `uses_dynamic_batching` entry `/x`: `preferred_batch_size` must be a positive integer"),
        "{e}"
    );
}

#[test]
fn output_array_type_reads_numpy_list_and_dtypes() {
    let cases = [
        ("numpy", ArrayFormat::Numpy),
        ("list", ArrayFormat::List),
        ("float32", ArrayFormat::Dtype("float32".into())),
        ("bool", ArrayFormat::Dtype("bool".into())),
        ("f2", ArrayFormat::Dtype("float16".into())),
        ("'<f8'", ArrayFormat::Dtype("float64".into())),
        ("'|u1'", ArrayFormat::Dtype("uint8".into())),
        ("i8", ArrayFormat::Dtype("int64".into())),
        ("'?'", ArrayFormat::Dtype("bool".into())),
    ];
    for (written, expected) in cases {
        let flow = load(&format!(
            "jtype: Flow\nexecutors:\n  - name: a\n    output_array_type: {written}\n"
        ))
        .unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(
            flow.executors[0].output_array_type.as_ref(),
            Some(&expected)
        );
        // Saved as the long name, and loaded back equal.
        let text = flow.to_yaml().unwrap();
        assert!(
            text.contains(&format!("output_array_type: {}", expected.as_str())),
            "{text}"
        );
        assert_eq!(load(&text).unwrap(), flow);
    }
    for code in ["f4", "<f4", "=f4", "float32"] {
        assert_eq!(
            ArrayFormat::parse(code)
                .as_ref()
                .and_then(ArrayFormat::dtype),
            Some("float32")
        );
    }
    for bad in ["torch", ">f4", "Float32", "float", "ndarray", ""] {
        assert_eq!(ArrayFormat::parse(bad), None, "{bad}");
    }
    assert_eq!(NUMPY_DTYPES.len(), 12);
    assert_eq!(
        err("jtype: Flow\nwith:\n  output_array_type: torch\n"),
        format!(
            "flow.yml:3:22: `with`: `output_array_type`: `torch` is not an array type flowhost \
             answers with: use `numpy` (as Jina), `list`, or a numpy dtype to convert every \
             tensor and embedding to: {} (or a code such as `f4`)",
            NUMPY_DTYPES.join(", ")
        )
    );
    assert!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    output_array_type: '>f4'\n")
            .starts_with("flow.yml:4:24: executor `a`: `output_array_type`: `>f4` is not")
    );
    assert_eq!(
        err("jtype: Flow\nexecutors:\n  - name: a\n    output_array_type: [numpy]\n"),
        "flow.yml:4:24: executor `a`: `output_array_type` must be a string, found a list"
    );
}

#[test]
fn flow_level_batching_and_array_type_reach_executors_that_set_none() {
    let flow = load(
        "jtype: Flow
with:
  output_array_type: float16
  uses_dynamic_batching: {/index: {preferred_batch_size: 32}}
executors:
  - name: a
  - name: b
    output_array_type: numpy
    uses_dynamic_batching: {encode: {timeout: 5}}
",
    )
    .unwrap();
    assert_eq!(
        flow.with.output_array_type,
        Some(ArrayFormat::Dtype("float16".into()))
    );
    assert!(flow.with.extra.is_empty(), "{:?}", flow.with.extra);
    let a = flow.effective_executor(0).unwrap();
    assert_eq!(
        a.output_array_type,
        Some(ArrayFormat::Dtype("float16".into()))
    );
    assert_eq!(a.dynamic_batching.by_endpoint["/index"], batch(32, 10_000));
    assert!(a.extra.is_empty(), "{:?}", a.extra);
    // The executor's own value wins, whole (Jina passes a flow argument only to executors
    // that do not set it).
    let b = flow.effective_executor(1).unwrap();
    assert_eq!(b.output_array_type, Some(ArrayFormat::Numpy));
    assert!(b.dynamic_batching.by_endpoint.is_empty());
    assert_eq!(b.dynamic_batching.by_method["encode"], batch(4, 5));
    let back = load(&flow.to_yaml().unwrap()).unwrap();
    assert_eq!(back, flow);
}

#[test]
fn builder_sets_batching_and_array_type_and_validate_checks_them() {
    let built = Flow::new()
        .with_output_array_type(ArrayFormat::List)
        .with_dynamic_batching("encode", batch(2, 10_000))
        .add(
            ExecutorSpec::new("a")
                .dynamic_batching("/index", batch(8, 100))
                .dynamic_batching(
                    "encode",
                    BatchingSpec {
                        enabled: false,
                        ..BatchingSpec::default()
                    },
                )
                .output_array_type(ArrayFormat::Dtype("int8".into())),
        );
    built.validate().unwrap();
    let parsed = load(
        "jtype: Flow
with:
  output_array_type: list
  uses_dynamic_batching: {encode: {preferred_batch_size: 2}}
executors:
  - name: a
    uses_dynamic_batching:
      /index: {preferred_batch_size: 8, timeout: 100}
      encode: {use_dynamic_batching: false}
    output_array_type: i1
",
    )
    .unwrap();
    assert_eq!(built, parsed);
    let zero = Flow::new().add(ExecutorSpec::new("a").dynamic_batching("/x", batch(0, 1)));
    assert_eq!(
        zero.validate().unwrap_err().to_string(),
        "flow: executor `a`: `uses_dynamic_batching` entry `/x`: `preferred_batch_size`: must \
         be at least 1 (documents gathered per call)"
    );
    let torch = Flow::new().with_output_array_type(ArrayFormat::Dtype("torch".into()));
    assert_eq!(
        torch.validate().unwrap_err().to_string(),
        format!(
            "flow: `with`: `output_array_type`: `torch` is not a numpy dtype flowhost converts \
             to; use one of: {}",
            NUMPY_DTYPES.join(", ")
        )
    );
}
