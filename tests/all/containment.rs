//! Misbehaving guests are contained: each fault is reported with the executor,
//! method and cause, and the next call runs on a fresh instance.

use std::time::{Duration, Instant};

use flowhost_docs as docs;
use flowhost_runtime::{CallError, Executor, Fault, InstanceConfig, InstanceLimits};
use serde_json::json;

use crate::support::{start, tags};

fn fault_of(error: &CallError) -> &Fault {
    match error {
        CallError::Failed { fault, .. } => fault,
        other => panic!("expected a call fault, got {other}"),
    }
}

#[tokio::test]
async fn a_trap_is_reported_and_the_instance_replaced() {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "trap_guest", InstanceConfig::new("trappy")).await;
    let method = crate::support::method_for(&executor, "/trap");
    let failure = executor
        .call(&method, "/trap", docs::empty_batch(), "{}")
        .await
        .unwrap_err();
    assert!(matches!(fault_of(&failure.error), Fault::Trap(_)));
    let message = failure.to_string();
    assert!(
        message.contains("trappy") && message.contains(&method),
        "{message}"
    );

    let ok = executor
        .call(&method, "/fine", docs::empty_batch(), "{}")
        .await;
    assert!(ok.is_ok(), "a fresh instance answers: {:?}", ok.err());
}

#[tokio::test]
async fn an_executor_error_keeps_the_instance() {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "trap_guest", InstanceConfig::new("raiser")).await;
    let method = crate::support::method_for(&executor, "/error");
    let failure = executor
        .call(&method, "/error", docs::empty_batch(), "{}")
        .await
        .unwrap_err();
    match fault_of(&failure.error) {
        Fault::Raised(error) => {
            assert_eq!(error.name, "ValueError");
            assert_eq!(error.message, "bad input");
        }
        other => panic!("expected a raised error, got {other}"),
    }
    assert_eq!(failure.error.exception_name(), "ValueError");
}

/// A guest that is never cut holds the test's thread for good, where no assertion can run:
/// unless the returned sender is dropped within `limit`, this ends the test process with a
/// message naming `name`, rather than leave the suite hanging.
fn watchdog(name: &str, limit: Duration) -> std::sync::mpsc::Sender<()> {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let name = name.to_owned();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            eprintln!("{name} was not cut within {limit:?}: its call never ended");
            std::process::abort();
        }
    });
    done
}

/// When the guest is called: at once, or once the runtime's epoch ticker has parked for
/// want of guest code to run.
#[derive(Clone, Copy, PartialEq)]
enum Called {
    AtOnce,
    AfterIdle,
}

/// Starts `guest` as `name` with a 200 ms budget and `uses_with`, calls `endpoint`, and
/// checks that the call is cut at that budget (well before `cut_by`) naming the executor.
async fn cut_at_its_deadline(
    guest: &str,
    name: &str,
    uses_with: serde_json::Value,
    endpoint: &str,
    cut_by: Duration,
    called: Called,
) -> (Executor, String) {
    let budget = Duration::from_millis(200);
    let runtime = flowhost_test_support::runtime();
    let mut config = InstanceConfig::new(name);
    config.uses_with = uses_with;
    config.limits = InstanceLimits {
        timeout: budget,
        ..InstanceLimits::default()
    };
    let executor = start(&runtime, guest, config).await;
    let method = crate::support::method_for(&executor, endpoint);
    if called == Called::AfterIdle {
        let until = Instant::now() + Duration::from_secs(10);
        while runtime.epoch_ticking() {
            assert!(Instant::now() < until, "the idle epoch ticker never parked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let began = Instant::now();
    let watchdog = watchdog(name, 3 * cut_by);
    let failure = executor
        .call(
            &method,
            endpoint,
            docs::batch_of([docs::document("d")]),
            "{}",
        )
        .await
        .unwrap_err();
    drop(watchdog);
    let took = began.elapsed();
    assert_eq!(fault_of(&failure.error), &Fault::Deadline(budget));
    assert!(took < cut_by, "cut late: {took:?}");
    assert!(failure.to_string().contains(name), "{failure}");
    (executor, method)
}

#[tokio::test]
async fn an_endless_loop_is_cut_at_its_deadline() {
    let (executor, method) = cut_at_its_deadline(
        "loop_guest",
        "looper",
        json!({}),
        "/loop",
        Duration::from_secs(5),
        Called::AtOnce,
    )
    .await;
    let ok = executor
        .call(&method, "/fine", docs::empty_batch(), "{}")
        .await;
    assert!(ok.is_ok(), "a fresh instance answers: {:?}", ok.err());
}

/// The epoch ticker parks while no guest code runs; the call that comes next must wake it,
/// or a loop would never be interrupted.
#[tokio::test]
async fn an_endless_loop_begun_while_the_ticker_sleeps_is_cut_at_its_deadline() {
    cut_at_its_deadline(
        "loop_guest",
        "late-looper",
        json!({}),
        "/loop",
        Duration::from_secs(5),
        Called::AfterIdle,
    )
    .await;
}

/// A guest asleep in a host call is past every epoch check: the host-side timer cuts it,
/// though that timer is set only once the call has waited. The sleep is 30 s.
#[tokio::test]
async fn a_guest_asleep_in_the_host_is_cut_at_its_deadline() {
    cut_at_its_deadline(
        "slow_guest",
        "sleeper",
        json!({"sleep_ms": 30_000}),
        "/",
        Duration::from_secs(10),
        Called::AtOnce,
    )
    .await;
}

#[tokio::test]
async fn a_memory_bomb_stops_at_its_cap() {
    let runtime = flowhost_test_support::runtime();
    let mut config = InstanceConfig::new("bomber");
    config.limits = InstanceLimits {
        memory: 32 << 20,
        ..InstanceLimits::default()
    };
    let executor = start(&runtime, "memory_bomb", config).await;
    let method = crate::support::method_for(&executor, "/bomb");
    let failure = executor
        .call(&method, "/bomb", docs::empty_batch(), "{}")
        .await
        .unwrap_err();
    match fault_of(&failure.error) {
        Fault::Memory(message) => assert!(message.contains("32.0 MiB"), "{message}"),
        other => panic!("expected the memory cap, got {other}"),
    }
    assert_eq!(failure.error.exception_name(), "MemoryLimitExceeded");

    let ok = executor
        .call(&method, "/fine", docs::empty_batch(), "{}")
        .await;
    assert!(ok.is_ok(), "a fresh instance answers: {:?}", ok.err());
}

async fn escape_report(config: InstanceConfig, parameters: &str) -> serde_json::Value {
    let runtime = flowhost_test_support::runtime();
    let executor = start(&runtime, "escape_guest", config).await;
    let method = crate::support::method_for(&executor, "/escape");
    let out = executor
        .call(&method, "/escape", docs::empty_batch(), parameters)
        .await
        .unwrap_or_else(|f| panic!("escape guest must not fail: {f}"));
    tags(docs::roots(&out).last().expect("a report document"))
}

#[tokio::test]
async fn escape_attempts_are_denied_by_default() {
    // A real listener, so a denied connect is the sandbox's doing, not a closed port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let report = escape_report(
        InstanceConfig::new("escaper"),
        &json!({ "addr": addr }).to_string(),
    )
    .await;
    let field = |key: &str| report[key].as_str().unwrap_or_default().to_owned();
    assert!(field("passwd").starts_with("denied"), "{report}");
    assert_eq!(report["env_count"], json!(0), "{report}");
    assert_eq!(report["home"], json!(null), "{report}");
    assert!(field("socket").starts_with("denied"), "{report}");
    assert_eq!(field("workspace_write"), "none", "{report}");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing reached the listener");
}

#[tokio::test]
async fn granted_workspace_and_env_are_visible_and_nothing_else() {
    let workspace = tempfile::tempdir().unwrap();
    let mut config = InstanceConfig::new("granted");
    config.sandbox.workspace = Some(workspace.path().join("granted"));
    config.sandbox.env = vec![("HOME".into(), "/workspace".into())];
    let report = escape_report(config, "{}").await;
    assert_eq!(report["workspace_write"], json!("ok"), "{report}");
    assert_eq!(report["env_count"], json!(1), "{report}");
    assert_eq!(report["home"], json!("/workspace"), "{report}");
    assert!(
        report["passwd"]
            .as_str()
            .unwrap_or_default()
            .starts_with("denied")
    );
    let written = std::fs::read_dir(workspace.path().join("granted"))
        .unwrap()
        .count();
    assert!(
        written >= 1,
        "the guest's file landed in the granted directory"
    );
}

#[tokio::test]
async fn a_memory_limit_above_the_pool_is_refused_at_start() {
    let runtime = flowhost_test_support::runtime();
    let component = runtime
        .load_async(&flowhost_test_support::guest("noop_executor"))
        .await
        .unwrap();
    let mut config = InstanceConfig::new("greedy");
    config.limits.memory = 1 << 40;
    let error = flowhost_runtime::Executor::start(component, config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("greedy") && error.contains("memory limit"),
        "{error}"
    );
}

#[tokio::test]
async fn fuel_limits_a_metered_call() {
    let runtime = flowhost_test_support::runtime_with(flowhost_runtime::RuntimeConfig {
        consume_fuel: true,
        ..Default::default()
    });
    let mut config = InstanceConfig::new("metered");
    config.limits.fuel = Some(5_000_000);
    let executor = start(&runtime, "loop_guest", config).await;
    let method = crate::support::method_for(&executor, "/loop");
    let failure = executor
        .call(&method, "/loop", docs::empty_batch(), "{}")
        .await
        .unwrap_err();
    assert_eq!(fault_of(&failure.error), &Fault::Fuel(5_000_000));
    assert_eq!(failure.error.exception_name(), "OutOfFuel");
    let ok = executor
        .call(&method, "/fine", docs::empty_batch(), "{}")
        .await;
    assert!(
        ok.is_ok(),
        "fuel is refilled for the next call: {:?}",
        ok.err()
    );
}

#[tokio::test]
async fn a_full_instance_pool_is_a_capacity_error_that_says_what_to_change() {
    let runtime = flowhost_test_support::runtime_with(flowhost_runtime::RuntimeConfig::default());
    // The test runtime's pool is shared by every test in this process: start a runtime of
    // its own with room for two instances.
    let small = std::sync::Arc::new(
        flowhost_runtime::Runtime::new(flowhost_runtime::RuntimeConfig {
            max_instances: 2,
            ..runtime.config().clone()
        })
        .expect("runtime"),
    );
    let component = small
        .load_async(&flowhost_test_support::guest("noop_executor"))
        .await
        .expect("loads");
    let mut running = Vec::new();
    for replica in 0..2 {
        let config = InstanceConfig::new(format!("noop-{replica}"));
        running.push(
            flowhost_runtime::Executor::start(component.clone(), config)
                .await
                .expect("fits"),
        );
    }
    let error = flowhost_runtime::Executor::start(component, InstanceConfig::new("noop-2"))
        .await
        .expect_err("a third does not fit");
    assert!(
        matches!(error, flowhost_runtime::StartError::Capacity { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("noop-2"), "{message}");
    assert!(message.contains("FLOWHOST_MAX_INSTANCES"), "{message}");
}

/// A caller that goes away mid-call (a client hanging up) does not cost the instance: the
/// call finishes on it, and the next call finds the same instance, state and all.
#[tokio::test]
async fn a_call_whose_caller_goes_away_finishes_on_the_same_instance() {
    let runtime = flowhost_test_support::runtime();
    let mut config = InstanceConfig::new("slow");
    config.uses_with = json!({"call_us": 200_000});
    let executor = start(&runtime, "slow_guest", config).await;
    let method = crate::support::method_for(&executor, "/");
    let call = || executor.call(&method, "/", docs::batch_of([docs::document("d")]), "{}");
    let calls = |batch: &docs::DocumentBatch| {
        docs::roots(batch).next().map(tags).unwrap_or_default()["calls"].clone()
    };
    let first = call().await.unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(calls(&first), json!(1));
    // Given up on 20 ms into its 200 ms.
    assert!(
        tokio::time::timeout(Duration::from_millis(20), call())
            .await
            .is_err()
    );
    let third = call().await.unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(calls(&third), json!(3), "the instance was replaced");
}
