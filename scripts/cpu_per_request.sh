#!/usr/bin/env bash
# The server's CPU time per request under stream1: what a setting costs, read where it is
# spent rather than in a throughput that the load generator's share of 2 cores also moves.
#
#   bash scripts/cpu_per_request.sh BINARY [KEY=VALUE ...] [--requests N] [--perf OUT.data] [--emb | --seq1 | --seq1-http | --idle SECONDS | --rss]
#   bash scripts/cpu_per_request.sh --floor [--raw] [--requests N] [--perf OUT.data] [--emb | --seq1 | --seq1-http]
#
# Serves the benchmarks' one-executor flow (noop_executor.wasm, gRPC) with BINARY, each
# KEY=VALUE added to the flow's `with:` (tracing=true also starts the do-nothing OTLP sink and
# points the exporter at it), warms it up with one stream1 run, then drives N stream1
# requests (300,000 unless told) and prints the server's user+system CPU per request, the
# sink's, the load generator's, their sum, and the load generator's requests/s (and, traced,
# the exports and bytes the sink got, read after the server stops). While the two
# cores are saturated (default workers), requests/s is their 2 CPU-seconds a second over that
# sum, so two settings' sums give their throughput ratio; with `TOKIO_WORKER_THREADS=1` the
# sums vary less. `--perf` records a profile of the measured run.
# `PERF_FREQ` (999) and `PERF_CALL_GRAPH` (fp; `dwarf` sees through libc's memmove) set how.
# `--emb` measures the emb scenario instead (100 documents of 512 float32 a request; its run
# repeated 10 times, 2,100 requests). `--seq1` measures sequential unary gRPC calls instead, and
# `--seq1-http` sequential `POST /post` requests on one keep-alive connection (the load
# generator sends at most 5,000 of either a run, after 50 it does not time; the run repeated
# 10 times, the median run's requests/s printed). `--idle SECONDS` measures what
# the server costs with no load at all: after the warm-up and a second's rest, its CPU and
# its threads' wake-ups (context switches) per second over SECONDS, by thread. `--rss` prints
# the server's resident memory at rest, after two emb loads, and 3 s and 10 s after them.
# `--floor` measures the do-nothing servers instead of flowhost (`floor_server`: the tonic echo
# for stream1, seq1 and emb, `--raw` for its undecoded one, the hyper echo for seq1_http), so a
# request's CPU can be set beside its floor's on the same instrument.
# `scripts/cpu_pairs.py` alternates two settings' runs as many times as asked and compares them.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=$1
shift
floor=
floor_args=()
if [[ $binary == --floor ]]; then floor=1; fi
requests=
perf_out=
emb=
scenario=stream1
sequential=
idle=
rss=
with=()
while (($#)); do
    case $1 in
        --requests) requests=$2; shift 2 ;;
        --perf) perf_out=$2; shift 2 ;;
        --emb) emb=1; shift ;;
        --seq1) scenario=seq1; sequential=1; shift ;;
        --seq1-http) scenario=seq1_http; sequential=1; shift ;;
        --idle) idle=$2; shift 2 ;;
        --rss) rss=1; shift ;;
        --raw) floor_args+=(--raw); shift ;;
        *=*) with+=("$1"); shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
if [[ -n $floor && ${#with[@]} -gt 0 ]]; then
    echo "--floor serves no flow: KEY=VALUE settings do not apply" >&2
    exit 2
fi
if [[ -z $floor && ${#floor_args[@]} -gt 0 ]]; then
    echo "--raw is a floor server's setting: use it with --floor" >&2
    exit 2
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# A bench target's own executable, built if need be: run directly, not through `cargo bench`,
# so its CPU time is its own in /proc.
bench_executable() {
    cargo bench -p flowhost --bench "$1" --no-run 2>&1 |
        sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1
}
# Context switches of all the process's threads (a wake-up between threads shows here).
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

requests=${requests:-$([[ -n $sequential ]] && echo 5000 || echo 300000)}

# Run directly, not through `cargo bench`, so that its CPU time is its own.
load_binary=$(bench_executable gateway_load)
port=$(free_port)
http_port=$(free_port)
{
    echo "jtype: Flow"
    echo "with:"
    echo "  host: 127.0.0.1"
    echo "  protocol: [grpc, http]"
    echo "  port: [$port, $http_port]"
    for item in "${with[@]}"; do echo "  ${item%%=*}: ${item#*=}"; done
} > "$work/flow.yml"
sink=
if printf '%s\n' "${with[@]}" | grep -qx 'tracing=true'; then
    sink_port=$(free_port)
    mkfifo "$work/sink-stdin"
    sink_binary=$(bench_executable otlp_sink)
    "$sink_binary" --port "$sink_port" < "$work/sink-stdin" > "$work/sink.out" 2>&1 &
    sink=$!
    pids+=("$sink")
    exec 3> "$work/sink-stdin"
    until grep -q listening "$work/sink.out" 2>/dev/null; do sleep 0.1; done
    printf '  traces_exporter_host: 127.0.0.1\n  traces_exporter_port: %s\n' "$sink_port" >> "$work/flow.yml"
fi
cat >> "$work/flow.yml" <<YML
executors:
  - name: e0
    uses: $PWD/target/wasm32-wasip2/release/noop_executor.wasm
YML

if [[ -n $floor ]]; then
    # It serves until its stdin closes.
    floor_binary=$(bench_executable floor_server)
    mkfifo "$work/floor-stdin"
    "$floor_binary" --grpc-port "$port" --http-port "$http_port" "${floor_args[@]}" \
        < "$work/floor-stdin" > "$work/server.log" 2>&1 &
    server=$!
    pids+=("$server")
    exec 4> "$work/floor-stdin"
    ready=listening
else
    FLOWHOST_LOG=warn "$binary" run "$work/flow.yml" > "$work/server.log" 2>&1 &
    server=$!
    pids+=("$server")
    ready=ready
fi
until grep -q "$ready" "$work/server.log"; do
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
load() {
    local scenario=$1
    shift
    "$load_binary" --grpc "127.0.0.1:$port" --http "127.0.0.1:$http_port" --only "$scenario" "$@"
}
if [[ -n $rss ]]; then
    resident() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
    sleep 2
    at_rest=$(resident)
    load emb > /dev/null
    load emb > /dev/null
    after=$(resident)
    sleep 3
    later3=$(resident)
    sleep 7
    later10=$(resident)
    echo "RSS MiB: at rest $at_rest, after emb x2 $after, 3 s later $later3, 10 s later $later10 ($(python3 -c "print(f'{$later10 / $at_rest:.2f}')")x rest)"
    exit 0
fi
if [[ -n $sequential ]]; then load "$scenario" --n 5000 > /dev/null; else load stream1 > /dev/null; fi
if [[ -n $idle ]]; then
    # Each thread's name, CPU ticks and context switches.
    threads() {
        for task in /proc/"$server"/task/*; do
            printf '%s %s %s %s\n' "${task##*/}" "$(tr ' ' _ < "$task/comm")" "$(awk '{print $14 + $15}' "$task/stat")" \
                "$(awk '/ctxt_switches/ {n += $2} END {print n}' "$task/status")"
        done | sort
    }
    sleep 1
    threads > "$work/idle.before"
    sleep "$idle"
    threads > "$work/idle.after"
    python3 - "$work/idle.before" "$work/idle.after" "$idle" "$(getconf CLK_TCK)" <<'PY'
import collections, sys
before = {line.split()[0]: line.split() for line in open(sys.argv[1])}
seconds, hz = float(sys.argv[3]), int(sys.argv[4])
by_name = collections.defaultdict(lambda: [0, 0])
for line in open(sys.argv[2]):
    tid, name, ticks, switches = line.split()
    if tid in before:
        by_name[name][0] += int(ticks) - int(before[tid][2])
        by_name[name][1] += int(switches) - int(before[tid][3])
for name, (ticks, switches) in sorted(by_name.items()):
    print(f"idle {name}: {ticks / hz / seconds * 1e3:.2f} ms CPU/s, {switches / seconds:.1f} wake-ups/s")
total_ticks = sum(t for t, _ in by_name.values())
total_switches = sum(s for _, s in by_name.values())
print(f"idle server: {total_ticks / hz / seconds * 1e3:.2f} ms CPU/s, {total_switches / seconds:.1f} wake-ups/s")
PY
    exit 0
fi
before=$(ticks "$server")
switches_before=$(switches "$server")
sink_before=${sink:+$(ticks "$sink")}
if [[ -n $perf_out ]]; then
    perf record -F "${PERF_FREQ:-999}" --call-graph "${PERF_CALL_GRAPH:-fp}" -p "$server" -o "$perf_out" > /dev/null 2>&1 &
    perf=$!
fi
# emb and the sequential scenarios repeat their run: one run's few hundred milliseconds are
# a few dozen of the CPU clock's ticks.
repeats=10
measured() {
    if [[ -n $emb ]]; then
        requests=$((repeats * 210))
        for ((run = 0; run < repeats; run++)); do load emb; done
    elif [[ -n $sequential ]]; then
        for ((run = 0; run < repeats; run++)); do load "$scenario" --n "$requests"; done
    else
        load stream1 --n "$requests"
    fi
}
# The load generator's user and system seconds (bash's `time`, which counts the children it
# waited for), on the last line of what it writes to stderr.
TIMEFORMAT='%3U %3S'
# A group, not a subshell: `measured` sets `requests` for --emb.
{ time measured > "$work/load.out"; } 2> "$work/load.time"
result=$(cat "$work/load.out")
if [[ -n $perf_out ]]; then kill -INT "$perf"; wait "$perf" 2>/dev/null || true; fi
if [[ -n $sequential ]]; then
    # The load generator sends at most 5,000 of these a run (and 50 unmeasured before them);
    # what it sent is what the CPU is divided by.
    requests=$((repeats * ($(grep -o '"n": *[0-9]*' <<< "$result" | head -1 | grep -o '[0-9]*$') + 50)))
fi
after=$(ticks "$server")
switches_after=$(switches "$server")
hz=$(getconf CLK_TCK)
per_request() { python3 -c "print(f'{($2 - $1) / $hz / $requests * 1e6:.2f} µs')"; }
echo "server CPU per request: $(per_request "$before" "$after")"
python3 -c "print(f'server context switches per request: {($switches_after - $switches_before) / $requests:.3f}')"
sink_after=${sink:+$(ticks "$sink")}
if [[ -n $sink ]]; then echo "OTLP sink CPU per request: $(per_request "$sink_before" "$sink_after")"; fi
load_seconds=$(tail -1 "$work/load.time" | awk '{print $1 + $2}')
python3 - "$before" "$after" "${sink_before:-0}" "${sink_after:-0}" "$load_seconds" "$hz" "$requests" <<'PY'
import sys
before, after, sink_before, sink_after, load, hz, requests = map(float, sys.argv[1:])
server, sink = (after - before) / hz, (sink_after - sink_before) / hz
print(f"load generator CPU per request: {load / requests * 1e6:.2f} µs")
# While the cores are saturated, requests/s is the cores' seconds over this sum, so two
# settings' sums give their throughput's ratio.
print(f"all processes' CPU per request: {(server + sink + load) / requests * 1e6:.2f} µs")
PY
if [[ -n $emb ]]; then
    echo "emb docs/s: $(grep -o '"docs_per_s": *[0-9.]*' <<< "$result" | grep -o '[0-9.]*$' | sort -n | sed -n 5p) (median of 10)"
else
    echo "$scenario requests/s: $(grep -o '"rps": *[0-9.]*' <<< "$result" | grep -o '[0-9.]*$' | sort -n | sed -n "$(($(grep -c rps <<< "$result") / 2 + 1))p")"
fi
if [[ -n $sink ]]; then
    # The sink prints what it got when its stdin closes and its connections do: how big
    # the exports and spans are.
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    exec 3>&-
    wait "$sink" 2>/dev/null || true
    grep '^spans' "$work/sink.out" | awk '$4 == 0 {print "OTLP sink got no export"; next}
        {printf "OTLP sink got %s spans in %s exports (%.0f spans an export), %.0f bytes a span\n", $2, $4, $2 / $4, $6 / $2}'
fi
if grep -qi dropped "$work/server.log"; then
    dropped=$(grep -o 'dropped=[0-9]*' "$work/server.log" | awk -F= '{n += $2} END {print n + 0}')
    echo "spans dropped (the export queue was full): $dropped in $(grep -ci dropped "$work/server.log") warnings"
fi
