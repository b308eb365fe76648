"""Two flowhost binaries side by side in one run: did a change cost gateway throughput?

    python3 scripts/bench_ab.py BASE_BINARY NEW_BINARY [--rounds 3] [--only seq1,stream1,emb] [--n N] [--remote]
        [--new-with KEY=VALUE ...] [--base-with KEY=VALUE ...] [--otlp-sink]

Serves the benchmarks' one-executor flow (`noop_executor.wasm`, gRPC and HTTP) with each
binary in turn, alternating BASE, NEW, BASE, NEW, ... for `--rounds` rounds, and drives each
with the Rust load generator (`cargo bench -p flowhost --bench gateway_load`). Alternating in
one run keeps the shared machine's drift out of the ratio. Prints a Markdown table (median of
the rounds, NEW/BASE) and writes bench-out/ab.json.

`--new-with monitoring=true` adds that key to the NEW side's flow `with:` block: the same
binary twice measures what a setting costs (BENCHMARKS.md's metrics on/off). `--otlp-sink`
starts a do-nothing OTLP/gRPC receiver (`cargo bench --bench otlp_sink`) and points the NEW
side's `traces_exporter_host`/`traces_exporter_port` at it: with `--new-with tracing=true`,
what exporting every span costs. `--base-with` does the same for the BASE side, to compare
two binaries with a setting on in both (the sink then takes both sides' spans).

A base binary of an earlier commit, without disturbing the working tree:

    git worktree add /tmp/flowhost-base REV
    (cd /tmp/flowhost-base && CARGO_TARGET_DIR=$PWD/target-base cargo build --release -p flowhost)
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUESTS = os.path.join(ROOT, 'target/wasm32-wasip2/release')
OUT = os.path.join(ROOT, 'bench-out')
METRIC = {'seq1': 'rps', 'seq1_http': 'rps', 'stream1': 'rps', 'emb': 'docs_per_s',
          'emb_http': 'docs_per_s'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start(command, banners):
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env={**os.environ, 'FLOWHOST_LOG': 'warn'})
    seen = 0
    for line in process.stdout:
        if 'Local access' in line:
            seen += 1
            if seen == banners:
                break
    return process


def serve(binary, workdir, remote=False, extra=()):
    """The one-executor flow; with `remote`, its executor is served by `flowhost executor
    serve` (the same binary) and reached as `external: true`: every request crosses one more
    gRPC hop on loopback."""
    grpc, http = free_port(), free_port()
    noop = os.path.join(GUESTS, 'noop_executor.wasm')
    helpers = []
    if remote:
        far = free_port()
        helpers.append(start([binary, 'executor', 'serve', '--name', 'e0', '--port', str(far),
                              '--uses', noop], 1))
        executor = f'  - name: e0\n    external: true\n    host: 127.0.0.1\n    port: {far}\n'
    else:
        executor = f'  - name: e0\n    uses: {noop}\n'
    flow = os.path.join(workdir, 'flow.yml')
    with open(flow, 'w') as fh:
        fh.write('jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc, http]\n'
                 f'  port: [{grpc}, {http}]\n'
                 + ''.join(f'  {key}: {value}\n' for key, value in extra)
                 + 'executors:\n' + executor)
    process = start([binary, 'run', flow], 2)
    return [process, *helpers], grpc, http


def load(grpc, http, scenario, n=None):
    """One scenario of the load generator against the gateway's gRPC (and HTTP, if given)
    port; its JSON result."""
    out = subprocess.run(
        ['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'gateway_load', '--',
         '--grpc', f'127.0.0.1:{grpc}', *(['--http', f'127.0.0.1:{http}'] if http else []),
         '--only', scenario, *(['--n', str(n)] if n else [])],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('{'):
            result = json.loads(line)
            if result.get('scenario') == scenario:
                return result
    raise RuntimeError(f'no result for {scenario}: {out}')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('base')
    parser.add_argument('new')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--only', default='seq1,stream1,emb')
    parser.add_argument('--n', type=int, help="requests per scenario (the load generator's default otherwise)")
    parser.add_argument('--remote', action='store_true',
                        help='serve the executor with `flowhost executor serve` and reach it as external: true')
    parser.add_argument('--new-with', action='append', default=[], metavar='KEY=VALUE',
                        help="a flow `with:` key for the NEW side only (repeatable)")
    parser.add_argument('--base-with', action='append', default=[], metavar='KEY=VALUE',
                        help="a flow `with:` key for the BASE side only (repeatable)")
    parser.add_argument('--otlp-sink', action='store_true',
                        help="export the spans to a do-nothing OTLP receiver")
    args = parser.parse_args()
    new_with = [item.split('=', 1) for item in args.new_with]
    base_with = [item.split('=', 1) for item in args.base_with]
    sink = None
    if args.otlp_sink:
        sink = subprocess.Popen(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'otlp_sink'],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port = sink.stdout.readline().split()[1]
        exporter = [['traces_exporter_host', '127.0.0.1'], ['traces_exporter_port', port]]
        new_with += exporter
        if base_with:
            base_with += exporter
    scenarios = args.only.split(',')
    os.makedirs(OUT, exist_ok=True)
    # Build the load generator once, outside the measurements.
    subprocess.run(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'gateway_load',
                    '--no-run'], cwd=ROOT, check=True)
    results = {side: {s: [] for s in scenarios} for side in ('base', 'new')}
    for round_ in range(args.rounds):
        for side, binary in (('base', args.base), ('new', args.new)):
            with tempfile.TemporaryDirectory() as workdir:
                extra = new_with if side == 'new' else base_with
                processes, grpc, http = serve(binary, workdir, args.remote, extra)
                try:
                    for scenario in scenarios:
                        result = load(grpc, http, scenario, args.n)
                        results[side][scenario].append(result)
                        print(f'round {round_ + 1} {side:4} {scenario:8} '
                              f'{result[METRIC[scenario]]:>12,.0f}', file=sys.stderr)
                finally:
                    for process in processes:
                        process.terminate()
                        process.wait(timeout=60)
    if sink:
        sink.stdin.close()
        print(f'the OTLP sink got {sink.stdout.read().strip()}', file=sys.stderr)
        sink.wait(timeout=60)
    with open(os.path.join(OUT, 'ab.json'), 'w') as fh:
        json.dump(results, fh, indent=1)
    print('| scenario | base | new | new/base | spread of the rounds (base; new) |')
    print('|---|---|---|---|---|')
    for scenario in scenarios:
        metric = METRIC[scenario]
        base = [r[metric] for r in results['base'][scenario]]
        new = [r[metric] for r in results['new'][scenario]]
        spread = lambda xs: f'{min(xs):,.0f}–{max(xs):,.0f}'
        print(f'| {scenario} ({metric}) | {statistics.median(base):,.0f} | '
              f'{statistics.median(new):,.0f} | {statistics.median(new) / statistics.median(base):.2f} | '
              f'{spread(base)}; {spread(new)} |')
        if scenario == 'seq1':
            base_p50 = statistics.median(r['p50_ms'] for r in results['base'][scenario])
            new_p50 = statistics.median(r['p50_ms'] for r in results['new'][scenario])
            print(f'| seq1 p50 (ms) | {base_p50:.3f} | {new_p50:.3f} | {new_p50 / base_p50:.2f} | |')


if __name__ == '__main__':
    main()
