//! Replays the fuzz corpus as ordinary tests: every file under `tests/fuzz/corpus/<target>/`
//! (the seeds and what the fuzzer found interesting) and `tests/fuzz/regressions/<target>/`
//! (inputs that once crashed) goes through the same function the fuzz target runs
//! (`flowhost_tests::fuzzing`), so CI catches a regression without nightly or libFuzzer.
//! `bash scripts/fuzz.sh` grows the corpus and adds regressions.

use std::path::{Path, PathBuf};

use flowhost_tests::fuzzing;

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = flowhost_test_support::workspace_root().join("tests/fuzz");
    let corpus = files(&fuzz.join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "the seed corpus {} is empty or missing",
        fuzz.join("corpus").join(target).display()
    );
    let regressions = files(&fuzz.join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // On its own thread, named after the input (the panic hook prints the name), with a
        // large stack (see `REPLAY_STACK`).
        let outcome = std::thread::Builder::new()
            .name(format!("{target}: {}", path.display()))
            .stack_size(REPLAY_STACK)
            .spawn(move || run(&data))
            .expect("a replay thread starts")
            .join();
        if let Err(panic) = outcome {
            panic!(
                "fuzz target `{target}` panics on {}: {} (rerun it with \
                 `cargo +nightly fuzz run --fuzz-dir tests/fuzz {target} <file>`)",
                path.display(),
                panic_message(&*panic)
            );
        }
    }
}

/// libFuzzer runs the targets on the main thread, whose stack is usually 8 MiB, in an optimised
/// build; a debug build's frames are several times larger, and a tree as deep as
/// `docs::MAX_DEPTH` must not fail here for that alone.
const REPLAY_STACK: usize = 32 << 20;

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

#[test]
fn the_targets_are_all_replayed() {
    let names: Vec<&str> = fuzzing::TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "proto_request",
            "http_json",
            "flow_yaml",
            "when_query",
            "uses_reference",
            "guest_output"
        ]
    );
}

#[test]
fn proto_request() {
    replay("proto_request", fuzzing::proto_request);
}

#[test]
fn http_json() {
    replay("http_json", fuzzing::http_json);
}

#[test]
fn flow_yaml() {
    replay("flow_yaml", fuzzing::flow_yaml);
}

#[test]
fn when_query() {
    replay("when_query", fuzzing::when_query);
}

#[test]
fn uses_reference() {
    replay("uses_reference", fuzzing::uses_reference);
}

#[test]
fn guest_output() {
    replay("guest_output", fuzzing::guest_output);
}
