"""The cost of a remote executor hop, side by side in one run (#12's benchmark):

    python3 scripts/bench_remote.py [--binary target/release/flowhost] [--rounds 2]

For each round, alternating, the same Rust load generator (`gateway_load`, `seq1` and
`stream1`) against:
  local1    a flowhost flow running one no-op executor in process;
  remote1   the same flow whose executor is `flowhost executor serve`, reached as
            `external: true` (one more gRPC hop on loopback);
  jina1     Jina's own flow of one no-op executor (its gateway -> executor hop, which is
            exactly a remote hop), from ../shared/jina-bench;
  remote3   a chain of three remote flowhost executors;
  jina3     Jina's chain of three.
Prints a Markdown table (median of the rounds) and writes bench-out/remote.json. Needs the
release binary and .venv-jina (scripts/jina-venv.sh).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_ab import free_port, load, start  # the same harness, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOOP = os.path.join(ROOT, 'target/wasm32-wasip2/release/noop_executor.wasm')
JINA_BENCH = os.path.join(os.path.dirname(ROOT), 'shared/jina-bench')
JINA_PYTHON = os.path.join(ROOT, '.venv-jina/bin/python')


def flowhost(binary, workdir, remotes):
    """A flow of `remotes` external executors (0: one in-process executor); its gRPC port."""
    processes = []
    port = free_port()
    if remotes == 0:
        executors = f'  - name: e0\n    uses: {NOOP}\n'
    else:
        executors = ''
        for i in range(remotes):
            far = free_port()
            processes.append(start(
                [binary, 'executor', 'serve', '--name', f'e{i}', '--port', str(far),
                 '--uses', NOOP], 1))
            executors += (f'  - name: e{i}\n    external: true\n    host: 127.0.0.1\n'
                          f'    port: {far}\n')
    flow = os.path.join(workdir, 'flow.yml')
    with open(flow, 'w') as fh:
        fh.write(f'jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: grpc\n  port: {port}\n'
                 f'executors:\n{executors}')
    processes.append(start([binary, 'run', flow], 1))
    return processes, port


def jina(topology, workdir, attempts=3):
    """Jina's flow; started again when it fails to (its executors pick their ports at random,
    and one may be taken by then). Its output goes to bench-out/jina-TOPOLOGY.log."""
    log_path = os.path.join(ROOT, 'bench-out', f'jina-{topology}.log')
    for attempt in range(attempts):
        port = free_port()
        ready = os.path.join(workdir, f'ready-{attempt}.json')
        with open(log_path, 'a') as log:
            process = subprocess.Popen(
                [JINA_PYTHON, 'flow_server.py', '--topology', topology, '--port', str(port),
                 '--ready-file', ready],
                cwd=JINA_BENCH, stdout=log, stderr=log,
                env={**os.environ, 'JINA_OPTOUT_TELEMETRY': '1', 'JINA_LOG_LEVEL': 'ERROR'})
        deadline = time.monotonic() + 120
        while not os.path.exists(ready):
            if process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if os.path.exists(ready):
            return [process], port
        process.terminate()
        process.wait(timeout=60)
    raise RuntimeError(f'jina {topology} did not start; see {log_path}')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--binary', default=os.path.join(ROOT, 'target/release/flowhost'))
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--n', type=int, default=5000)
    args = parser.parse_args()
    os.makedirs(os.path.join(ROOT, 'bench-out'), exist_ok=True)
    subprocess.run(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'gateway_load',
                    '--no-run'], cwd=ROOT, check=True)
    setups = {
        'local1': lambda w: flowhost(args.binary, w, 0),
        'remote1': lambda w: flowhost(args.binary, w, 1),
        'jina1': lambda w: jina('noop1', w),
        'remote3': lambda w: flowhost(args.binary, w, 3),
        'jina3': lambda w: jina('chain3', w),
    }
    results = {name: [] for name in setups}
    for round_ in range(args.rounds):
        for name, setup in setups.items():
            with tempfile.TemporaryDirectory() as workdir:
                processes, port = setup(workdir)
                try:
                    seq1 = load(port, None, 'seq1', args.n)
                    stream1 = load(port, None, 'stream1', args.n)
                finally:
                    for process in processes:
                        process.terminate()
                        process.wait(timeout=60)
            results[name].append({'seq1': seq1, 'stream1': stream1})
            print(f'round {round_ + 1} {name:8} seq1 p50 {seq1["p50_ms"]:.3f} ms, '
                  f'seq1 {seq1["rps"]:,.0f} rps, stream1 {stream1["rps"]:,.0f} rps',
                  file=sys.stderr)
    os.makedirs(os.path.join(ROOT, 'bench-out'), exist_ok=True)
    with open(os.path.join(ROOT, 'bench-out', 'remote.json'), 'w') as fh:
        json.dump(results, fh, indent=1)
    median = lambda name, scenario, key: statistics.median(
        r[scenario][key] for r in results[name])
    print('| setup | seq1 p50 (ms) | seq1 (rps) | stream1 (rps) |')
    print('|---|---|---|---|')
    for name in setups:
        print(f'| {name} | {median(name, "seq1", "p50_ms"):.3f} | '
              f'{median(name, "seq1", "rps"):,.0f} | {median(name, "stream1", "rps"):,.0f} |')
    hop = median('remote1', 'seq1', 'p50_ms') - median('local1', 'seq1', 'p50_ms')
    print(f'\nremote hop at p50: {hop * 1000:.0f} µs; '
          f'chain of 3 remote vs Jina chain3 (stream1): '
          f'{median("remote3", "stream1", "rps") / median("jina3", "stream1", "rps"):.1f}x')


if __name__ == '__main__':
    main()
