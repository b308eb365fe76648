"""Gateway benchmarks side by side with Jina, in one run on one machine.

    .venv-jina/bin/python scripts/bench_gateway.py [--harness ../shared/jina-bench] [--repeats 1]

Runs the reference harness (`bench_throughput.py`, `bench_startup.py`) against Jina itself and,
in its --target mode, against the same flows served by `flowhost run` (the same Jina Python
client against both), then the Rust load generator (`cargo bench --bench gateway_load`) against
flowhost for its own ceiling, plus start-up time (warm compile cache) and memory. Writes
bench-out/results.json and prints a Markdown table with the ratios for BENCHMARKS.md.
Needs target/release/flowhost and the guests (scripts/bench-gateway.sh builds them).
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOWHOST = os.path.join(ROOT, 'target/release/flowhost')
GUESTS = os.path.join(ROOT, 'target/wasm32-wasip2/release')
OUT = os.path.join(ROOT, 'bench-out')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def flow_yaml(topology, ports, protocols):
    noop = os.path.join(GUESTS, 'noop_executor.wasm')
    trap = os.path.join(GUESTS, 'trap_guest.wasm')
    head = (f'jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [{", ".join(protocols)}]\n'
            f'  port: [{", ".join(map(str, ports))}]\nexecutors:\n')
    if topology == 'noop1':
        body = f'  - name: e0\n    uses: {noop}\n'
    elif topology == 'chain3':
        body = ''.join(f'  - name: e{i}\n    uses: {noop}\n' for i in range(3))
    elif topology == 'branch':
        body = (f'  - name: first\n    uses: {noop}\n'
                f'  - name: a\n    uses: {noop}\n    needs: first\n'
                f'  - name: b\n    uses: {noop}\n    needs: first\n'
                f'  - name: join\n    uses: {noop}\n    needs: [a, b]\n')
    elif topology == 'raiser':
        body = f'  - name: bad\n    uses: {trap}\n    uses_with:\n      raise_on: [/foo]\n'
    else:
        raise ValueError(topology)
    return head + body


class Flowhost:
    """`flowhost run` on a flow of the harness's topologies."""

    def __init__(self, topology, protocols=('grpc', 'http')):
        self.dir = tempfile.mkdtemp(prefix=f'fh_{topology}_')
        self.ports = {p: free_port() for p in protocols}
        path = os.path.join(self.dir, 'flow.yml')
        with open(path, 'w') as fh:
            fh.write(flow_yaml(topology, list(self.ports.values()), list(protocols)))
        self.log = open(os.path.join(OUT, f'flowhost_{topology}.log'), 'w')
        t0 = time.perf_counter()
        self.p = subprocess.Popen([FLOWHOST, 'run', path], stdout=subprocess.PIPE,
                                  stderr=self.log, text=True, env={**os.environ, 'FLOWHOST_LOG': 'warn'})
        for line in self.p.stdout:
            if 'Flow is ready' in line:
                self.ready_s = time.perf_counter() - t0
                break
        else:
            raise RuntimeError(f'flowhost run {topology} did not start; see {self.log.name}')
        # Keep stdout drained.
        self._drain = subprocess.Popen(['cat'], stdin=self.p.stdout, stdout=subprocess.DEVNULL)

    def rss_mib(self):
        with open(f'/proc/{self.p.pid}/status') as fh:
            for line in fh:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
        return float('nan')

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=60)
        self._drain.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.p.returncode


def harness(args, *argv):
    """Runs a harness script (in our copy of the harness folder) and returns its JSON output."""
    out = tempfile.mktemp(suffix='.json', dir=OUT)
    cmd = [sys.executable, *argv]
    if argv[0].startswith('bench_throughput'):
        cmd += ['--json-out', out]
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=args.harness_copy, check=True)
    if argv[0].startswith('bench_throughput'):
        with open(out) as fh:
            return json.load(fh)
    return None


def summary(result):
    """{scenario: first-repeat metrics} from a bench_throughput JSON (keeps medians if present)."""
    s = result.get('summary') or {}
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--harness', default=os.path.join(ROOT, '../shared/jina-bench'))
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--skip-jina', action='store_true')
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    a.harness_copy = os.path.join(OUT, 'jina-bench')
    shutil.rmtree(a.harness_copy, ignore_errors=True)
    shutil.copytree(a.harness, a.harness_copy, ignore=shutil.ignore_patterns('logs', '.venv', '__pycache__'))
    results = {}

    # flowhost through the stock Jina client (the harness's --target mode).
    noop = Flowhost('noop1')
    raiser = Flowhost('raiser')
    try:
        g, h = noop.ports['grpc'], noop.ports['http']
        rg, rh = raiser.ports['grpc'], raiser.ports['http']
        results['flowhost_grpc'] = harness(a, 'bench_throughput.py', '--target', f'127.0.0.1:{g}', '--protocol', 'grpc',
                                           '--error-target', f'127.0.0.1:{rg}', '--repeats', str(a.repeats),
                                           '--scenarios', 'seq1,stream1,emb,error')
        results['flowhost_http'] = harness(a, 'bench_throughput.py', '--target', f'127.0.0.1:{h}', '--protocol', 'http',
                                           '--error-target', f'127.0.0.1:{rh}', '--repeats', str(a.repeats),
                                           '--scenarios', 'seq1_http,error_http')
        # The Rust load generator: flowhost's own ceiling.
        print('$ cargo bench -p flowhost --bench gateway_load', flush=True)
        p = subprocess.run(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'gateway_load', '--',
                            '--grpc', f'127.0.0.1:{g}', '--http', f'127.0.0.1:{h}'],
                           cwd=ROOT, check=True, capture_output=True, text=True)
        results['rust_loadgen'] = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
        # The floor under any gateway here: the emb requests echoed over loopback TCP, no gateway.
        p = subprocess.run(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'gateway_load', '--',
                            '--only', 'emb_floor'],
                           cwd=ROOT, check=True, capture_output=True, text=True)
        results['emb_floor'] = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
        results['flowhost_rss_after_load_mib'] = noop.rss_mib()
    finally:
        noop.stop()
        raiser.stop()
    for topology, scenario in (('chain3', 'seq1_chain3'), ('branch', 'branch')):
        f = Flowhost(topology, ('grpc',))
        try:
            results[f'flowhost_{topology}'] = harness(a, 'bench_throughput.py', '--target', f'127.0.0.1:{f.ports["grpc"]}',
                                                      '--protocol', 'grpc', '--repeats', str(a.repeats),
                                                      '--scenarios', scenario)
        finally:
            f.stop()

    # Start-up (warm compile cache: the flows above compiled everything) and memory at rest.
    ready, rss = [], []
    for _ in range(5):
        f = Flowhost('noop1', ('grpc',))
        time.sleep(0.3)
        ready.append(f.ready_s)
        rss.append(f.rss_mib())
        f.stop()
    results['flowhost_startup'] = dict(ready_s=ready, rss_mib=rss)

    if not a.skip_jina:
        results['jina'] = harness(a, 'bench_throughput.py', '--repeats', str(a.repeats))
        p = subprocess.run([sys.executable, 'bench_startup.py', '--runs', '3', '--topologies', 'noop1',
                            '--banner-out', os.path.join(OUT, 'jina_banner.txt')],
                           cwd=a.harness_copy, check=True, capture_output=True, text=True)
        results['jina_startup'] = [json.loads(l[7:]) for l in p.stdout.splitlines() if l.startswith('RESULT ')] or p.stdout[-3000:]
        # bench_startup prints per-run lines; keep them for the record.
        results['jina_startup_text'] = p.stdout[-4000:]

    with open(os.path.join(OUT, 'results.json'), 'w') as fh:
        json.dump(results, fh, indent=2, default=str)
    print(json.dumps(results, indent=1, default=str)[:20000])


if __name__ == '__main__':
    main()
