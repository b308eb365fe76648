#!/usr/bin/env bash
# Fuzzes flowhost's parsers and converters with cargo-fuzz (libFuzzer), and reports crashes.
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  how long each target runs (default 60)
#   TARGET              any of the targets in tests/fuzz/fuzz_targets (default: all):
#                       proto_request http_json flow_yaml when_query uses_reference guest_output
#
# The targets' bodies are in tests/fuzzing.rs; tests/all/fuzz_corpus.rs replays the committed
# corpus and every regression through the same functions in `cargo test` (no nightly needed).
#
# What it does, idempotently (rerunning it just fuzzes some more):
#   1. Installs cargo-fuzz $CARGO_FUZZ_VERSION with `cargo install --locked` if that version is
#      not installed. It needs the nightly toolchain (`rustup toolchain install nightly`).
#   2. Builds the targets in tests/fuzz: optimised, with debug assertions and overflow checks.
#   3. Runs each target for SECONDS_PER_TARGET, starting from the committed corpus
#      (tests/fuzz/corpus/<target>) and regressions (tests/fuzz/regressions/<target>), which it
#      only reads. New inputs go to tests/fuzz/target/corpus/<target>, which git ignores and
#      later runs start from too. The full libFuzzer log is tests/fuzz/target/logs/<target>.log.
#   4. If a target crashes (a panic, a stack overflow), copies the input into
#      tests/fuzz/regressions/<target>/, where the replay test picks it up: commit it with the
#      fix. Inputs that time out or run out of memory stay in tests/fuzz/artifacts/<target>/.
#      After all targets ran, exits 1 naming each failing target and input.
#
# Environment:
#   FUZZ_MERGE=1       afterwards, add to the committed corpus the inputs found by this and
#                      earlier runs that reach the most code the corpus does not (libFuzzer's
#                      -merge=1, as `cargo fuzz cmin`, then the best FUZZ_MERGE_MAX, default 30,
#                      per target; the seeds are kept as they are). Commit what it adds.
#   FUZZ_SANITIZER     none (default: the code under test is safe Rust, and AddressSanitizer
#                      would halve the speed), or address, memory, ...
#   FUZZ_TIMEOUT       seconds one input may take before it counts as a hang (default 20).
#   FUZZ_RSS_LIMIT_MB  memory limit in MB (default 2048).
#   CARGO_BUILD_JOBS   honoured by the build, as always.
#
# Reproduce a crash: cargo +nightly fuzz run --fuzz-dir tests/fuzz -O -a -s none \
#   --codegen-units 16 <target> tests/fuzz/regressions/<target>/<file>
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzz_dir="$root/tests/fuzz"

seconds="${1:-60}"
if [[ ! "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]  (seconds must be a positive integer)" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))

all_targets=()
for file in "$fuzz_dir"/fuzz_targets/*.rs; do
    all_targets+=("$(basename "$file" .rs)")
done
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${all_targets[@]}")
fi
for target in "${targets[@]}"; do
    if [[ ! -f "$fuzz_dir/fuzz_targets/$target.rs" ]]; then
        echo "unknown fuzz target \`$target\`; the targets are: ${all_targets[*]}" >&2
        exit 2
    fi
done

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if [[ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

build_flags=(
    --fuzz-dir "$fuzz_dir"
    -O -a # optimised, with debug assertions and overflow checks
    -s "${FUZZ_SANITIZER:-none}"
    # wasmtime is a dependency (unused here): one codegen unit per crate would triple the
    # build for a few percent of speed.
    --codegen-units 16
)
libfuzzer_flags=(
    -timeout="${FUZZ_TIMEOUT:-20}"
    -rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}"
    -print_final_stats=1
)

# Adds to the committed corpus the inputs of the working corpus that reach the most code the
# committed corpus does not reach, at most $FUZZ_MERGE_MAX of them, named by their SHA-1 as
# libFuzzer names inputs. libFuzzer's merge runs every input once, in order of size, and
# records which edges (not hit counts) each reaches first; the inputs that reach the most
# new edges are kept, so the committed corpus stays small.
merge_corpus() {
    local target=$1 corpus=$2 work=$3 tmp added=0 count path name
    tmp="$(mktemp -d)"
    cp -R "$corpus" "$tmp/committed"
    echo "== merging new coverage of $target into ${corpus#"$root"/}"
    if ! cargo +nightly fuzz run "${build_flags[@]}" "$target" "$tmp/committed" "$work" -- \
        -merge=1 -use_counters=0 -merge_control_file="$tmp/control" "${libfuzzer_flags[@]}" \
        >"$fuzz_dir/target/logs/$target.merge.log" 2>&1; then
        failures+=("$target: merging the corpus failed (see logs/$target.merge.log)")
        rm -rf "$tmp"
        return
    fi
    # The control file: the number of inputs, how many of them are the committed corpus, their
    # paths, then per input `COV <index> <edges it reached first>...`.
    while read -r count path; do
        name="$(sha1sum <"$path" | cut -c1-40)"
        if [[ ! -e "$corpus/$name" ]]; then
            cp "$path" "$corpus/$name"
            added=$((added + 1))
        fi
    done < <(awk 'NR == 1 { n = $1; next }
        NR == 2 { first = $1; next }
        NR <= n + 2 { path[NR - 3] = $0; next }
        $1 == "COV" && $2 >= first && NF - 2 >= 2 { print NF - 2, path[$2] }' "$tmp/control" |
        sort -rn | head -n "${FUZZ_MERGE_MAX:-30}")
    echo "   added $added inputs"
    rm -rf "$tmp"
}

echo "== building the fuzz targets"
cargo +nightly fuzz build "${build_flags[@]}"

mkdir -p "$fuzz_dir/target/logs"
failures=()
summary=()
for target in "${targets[@]}"; do
    corpus="$fuzz_dir/corpus/$target"
    regressions="$fuzz_dir/regressions/$target"
    work="$fuzz_dir/target/corpus/$target"
    artifacts="$fuzz_dir/artifacts/$target"
    log="$fuzz_dir/target/logs/$target.log"
    mkdir -p "$corpus" "$work" "$artifacts"
    inputs=("$work" "$corpus")
    if [[ -d "$regressions" ]]; then
        inputs+=("$regressions")
    fi
    marker="$fuzz_dir/target/logs/$target.started"
    touch "$marker"

    echo "== fuzzing $target for ${seconds}s (log: ${log#"$root"/})"
    status=0
    cargo +nightly fuzz run "${build_flags[@]}" "$target" "${inputs[@]}" -- \
        -max_total_time="$seconds" "${libfuzzer_flags[@]}" >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    took="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1s/p' "$log" | tail -n 1)"
    summary+=("$target: ${runs:-?} executions in ${took:-less than ${seconds}s}, exit status $status")

    found=0
    while IFS= read -r -d '' artifact; do
        found=1
        name="$(basename "$artifact")"
        case "$name" in
            crash-*)
                mkdir -p "$regressions"
                cp "$artifact" "$regressions/$name"
                failures+=("$target: crash, input kept as ${regressions#"$root"/}/$name")
                ;;
            *)
                failures+=("$target: ${name%%-*}, input in ${artifact#"$root"/}")
                ;;
        esac
    done < <(find "$artifacts" -type f -newer "$marker" -print0)
    if [[ $status -ne 0 ]]; then
        if [[ $found -eq 0 ]]; then
            failures+=("$target: libFuzzer exited with $status and left no input (see the log)")
        fi
        echo "-- $target failed:"
        # The panic (or libFuzzer's report) and what follows, else the end of the log.
        report="$(sed -n '/panicked at\|ERROR: libFuzzer\|==ERROR\|deadly signal/,$p' "$log" |
            grep -v '^\s*\(Output of\|\[[0-9]\)' | head -n 30)"
        printf '%s\n' "${report:-$(tail -n 20 "$log")}"
    fi

    if [[ "${FUZZ_MERGE:-0}" == 1 ]]; then
        merge_corpus "$target" "$corpus" "$work"
    fi
done

echo
echo "== summary"
printf '  %s\n' "${summary[@]}"
if [[ ${#failures[@]} -gt 0 ]]; then
    echo
    echo "== FAILED: the fuzzer found inputs that break flowhost"
    printf '  %s\n' "${failures[@]}"
    echo "Replay them with: cargo test -p flowhost-tests --test all fuzz_corpus"
    exit 1
fi
echo "no crashes"
