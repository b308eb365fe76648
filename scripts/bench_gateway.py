"""Gateway benchmarks side by side with Jina, in one run on one machine.

    .venv-jina/bin/python scripts/bench_gateway.py [--harness ../shared/jina-bench] [--repeats 1]
    python3 scripts/bench_gateway.py --floors-only [--rounds 3] [--binary PATH]
    python3 scripts/bench_gateway.py --scaling-only [--rounds 3] [--binary PATH]

Runs the reference harness (`bench_throughput.py`, `bench_startup.py`) against Jina itself and,
in its --target mode, against the same flows served by `flowhost run` (the same Jina Python
client against both), then the Rust load generator (`cargo bench --bench gateway_load`) against
flowhost for its own ceiling, plus start-up time (warm compile cache) and memory. Writes
bench-out/results.json and prints a Markdown table with the ratios for BENCHMARKS.md.

The floors (#17): the same load generator against servers that do nothing but answer
(`cargo bench --bench floor_server`: tonic echoing `Call` and `JinaSingleDataRequestRPC`, hyper
echoing `POST /post`) and the loopback echo under `emb`, alternated with flowhost round by
round. Under `emb` two more bound the gap: the tonic echo with messages left undecoded
(`floor_server --raw`), and flowhost over a built-in pass-through executor (no Wasm call).
`floor_ratio` gives each scenario as a fraction of its floor (1.0 is the floor; for
`seq1`, floor p50 / flowhost p50). `--floors-only` runs just that, into bench-out/floors.json.
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
    elif topology == 'pass1':
        # No `uses`: the built-in pass-through, the gateway and router without a Wasm call.
        body = '  - name: e0\n'
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

    def __init__(self, topology, protocols=('grpc', 'http'), env=None, cpus=None):
        self.dir = tempfile.mkdtemp(prefix=f'fh_{topology}_')
        self.ports = {p: free_port() for p in protocols}
        path = os.path.join(self.dir, 'flow.yml')
        with open(path, 'w') as fh:
            fh.write(flow_yaml(topology, list(self.ports.values()), list(protocols)))
        self.log = open(os.path.join(OUT, f'flowhost_{topology}.log'), 'w')
        t0 = time.perf_counter()
        pin = ['taskset', '-c', cpus] if cpus else []
        self.p = subprocess.Popen([*pin, FLOWHOST, 'run', path], stdout=subprocess.PIPE, stderr=self.log,
                                  text=True, env={**os.environ, 'FLOWHOST_LOG': 'warn', **(env or {})})
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

    def cpu_s(self):
        """User + system CPU seconds the server has used so far."""
        with open(f'/proc/{self.p.pid}/stat') as fh:
            fields = fh.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

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


FLOOR_SCENARIOS = ('seq1', 'stream1', 'emb', 'seq1_http')


def loadgen(*args, cpus=None):
    """The Rust load generator's JSON lines, by scenario (pinned to `cpus` if given)."""
    pin = ['taskset', '-c', cpus] if cpus else []
    p = subprocess.run([*pin, 'cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'gateway_load', '--', *args],
                       cwd=ROOT, check=True, capture_output=True, text=True)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    return {l['scenario'] + (f"@{l['connections']}" if 'connections' in l else ''): l for l in lines}


def floors(noop, rounds):
    """flowhost's noop1 flow and the do-nothing servers, alternated round by round."""
    subprocess.run(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'floor_server', '--no-run'],
                   cwd=ROOT, check=True)
    def floor_server(*args):
        return subprocess.Popen(['cargo', 'bench', '-q', '-p', 'flowhost', '--bench', 'floor_server', '--', *args],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server = floor_server()
    # The same echo with `Call`'s messages left undecoded: what tonic alone allows under `emb`.
    raw_server = floor_server('--raw')
    passing = None
    try:
        passing = Flowhost('pass1', ('grpc',))
        _, grpc, http = server.stdout.readline().split()
        _, raw_grpc, _ = raw_server.stdout.readline().split()
        only = ','.join(FLOOR_SCENARIOS)
        runs = []
        for _ in range(rounds):
            runs.append(dict(
                flowhost=loadgen('--grpc', f'127.0.0.1:{noop.ports["grpc"]}',
                                 '--http', f'127.0.0.1:{noop.ports["http"]}', '--only', only),
                floor=loadgen('--grpc', f'127.0.0.1:{grpc}', '--http', f'127.0.0.1:{http}',
                              '--only', only),
                raw=loadgen('--grpc', f'127.0.0.1:{raw_grpc}', '--only', 'emb'),
                passing=loadgen('--grpc', f'127.0.0.1:{passing.ports["grpc"]}', '--only', 'emb'),
                echo=loadgen('--only', 'emb_floor')))
    finally:
        if passing:
            passing.stop()
        for floor in (server, raw_server):
            floor.stdin.close()
            floor.wait(timeout=30)

    def median(side, key, field):
        return statistics.median(r[side][key][field] for r in runs)

    table = {
        'seq1': dict(flowhost_p50_ms=median('flowhost', 'seq1', 'p50_ms'),
                     floor_p50_ms=median('floor', 'seq1', 'p50_ms'),
                     floor='tonic unary echo'),
        'stream1': dict(flowhost_rps=median('flowhost', 'stream1', 'rps'),
                        floor_rps=median('floor', 'stream1', 'rps'),
                        floor='tonic Call stream echo'),
        'emb': dict(flowhost_docs_per_s=median('flowhost', 'emb', 'docs_per_s'),
                    floor_docs_per_s=median('echo', 'emb_floor@1', 'docs_per_s'),
                    tonic_echo_docs_per_s=median('floor', 'emb', 'docs_per_s'),
                    tonic_raw_echo_docs_per_s=median('raw', 'emb', 'docs_per_s'),
                    flowhost_pass_through_docs_per_s=median('passing', 'emb', 'docs_per_s'),
                    floor='loopback TCP echo, 1 connection'),
        'seq1_http': dict(flowhost_rps=median('flowhost', 'seq1_http', 'rps'),
                          floor_rps=median('floor', 'seq1_http', 'rps'),
                          floor='hyper POST /post echo'),
    }
    ratio = {
        'seq1': table['seq1']['floor_p50_ms'] / table['seq1']['flowhost_p50_ms'],
        'stream1': table['stream1']['flowhost_rps'] / table['stream1']['floor_rps'],
        'emb': table['emb']['flowhost_docs_per_s'] / table['emb']['floor_docs_per_s'],
        'seq1_http': table['seq1_http']['flowhost_rps'] / table['seq1_http']['floor_rps'],
    }
    return dict(floor_ratio={k: round(v, 3) for k, v in ratio.items()}, floors=table, floor_runs=runs)


# (name, the server's tokio workers, the server's CPUs, the load generator's CPUs)
SCALING = (('1 worker, pinned apart', '1', '0', '1'),
           ('1 worker, unpinned', '1', None, None),
           ('2 workers, sharing both cores', '2', None, None))


def scaling(rounds):
    """#17's scaling with cores, as far as two cores go: the same scenarios with one tokio worker
    (the load generator pinned to the other core, then unpinned) and with two, alternated
    round by round; the server's CPU per request beside each throughput."""
    runs = {name: [] for name, *_ in SCALING}
    for _ in range(rounds):
        for name, workers, server_cpus, load_cpus in SCALING:
            f = Flowhost('noop1', ('grpc',), env={'TOKIO_WORKER_THREADS': workers}, cpus=server_cpus)
            try:
                address = f'127.0.0.1:{f.ports["grpc"]}'
                loadgen('--grpc', address, '--only', 'stream1', cpus=load_cpus)  # warm-up
                row = {}
                # Each scenario's requests, its warm-up included.
                for scenario, requests in (('seq1', 5050), ('stream1', 21000), ('emb', 210)):
                    before = f.cpu_s()
                    line = loadgen('--grpc', address, '--only', scenario, cpus=load_cpus)[scenario]
                    row[scenario] = dict(line, server_cpu_us_per_request=(f.cpu_s() - before) / requests * 1e6)
                runs[name].append(row)
            finally:
                f.stop()
    table = {}
    for name, rows in runs.items():
        med = lambda scenario, field: statistics.median(r[scenario][field] for r in rows)
        table[name] = dict(seq1_p50_ms=med('seq1', 'p50_ms'), stream1_rps=med('stream1', 'rps'),
                           stream1_cpu_us=med('stream1', 'server_cpu_us_per_request'),
                           emb_docs_per_s=med('emb', 'docs_per_s'),
                           emb_cpu_us_per_request=med('emb', 'server_cpu_us_per_request'))
    return dict(scaling=table, scaling_runs=runs)


def print_floors(result):
    goals = dict(seq1=1 / 1.5, stream1=0.7, emb=0.7, seq1_http=0.7)
    f = result['floors']
    shown = {
        'seq1': (f"p50 {f['seq1']['flowhost_p50_ms'] * 1000:.0f} µs", f"p50 {f['seq1']['floor_p50_ms'] * 1000:.0f} µs"),
        'stream1': (f"{f['stream1']['flowhost_rps']:,.0f} req/s", f"{f['stream1']['floor_rps']:,.0f} req/s"),
        'emb': (f"{f['emb']['flowhost_docs_per_s']:,.0f} docs/s "
                f"(pass-through: {f['emb']['flowhost_pass_through_docs_per_s']:,.0f})",
                f"{f['emb']['floor_docs_per_s']:,.0f} docs/s (tonic echo: {f['emb']['tonic_echo_docs_per_s']:,.0f}; "
                f"undecoded: {f['emb']['tonic_raw_echo_docs_per_s']:,.0f})"),
        'seq1_http': (f"{f['seq1_http']['flowhost_rps']:,.0f} req/s", f"{f['seq1_http']['floor_rps']:,.0f} req/s"),
    }
    print('| scenario | flowhost | floor | its floor | fraction of the floor | goal |')
    print('|---|---|---|---|---|---|')
    for scenario, (ours, floor) in shown.items():
        fraction = result['floor_ratio'][scenario]
        met = 'met' if fraction >= goals[scenario] else 'not met'
        print(f"| {scenario} | {ours} | {floor} | {f[scenario]['floor']} | {fraction:.2f} | "
              f"≥ {goals[scenario]:.2f}: {met} |")


def summary(result):
    """{scenario: first-repeat metrics} from a bench_throughput JSON (keeps medians if present)."""
    s = result.get('summary') or {}
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--harness', default=os.path.join(ROOT, '../shared/jina-bench'))
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--skip-jina', action='store_true')
    ap.add_argument('--rounds', type=int, default=3, help='rounds of flowhost and the floors, alternated')
    ap.add_argument('--floors-only', action='store_true')
    ap.add_argument('--scaling-only', action='store_true')
    ap.add_argument('--binary', help='the flowhost binary to measure (target/release/flowhost)')
    a = ap.parse_args()
    if a.binary:
        global FLOWHOST
        FLOWHOST = os.path.abspath(a.binary)
    os.makedirs(OUT, exist_ok=True)
    if a.scaling_only:
        result = scaling(a.rounds)
        with open(os.path.join(OUT, 'scaling.json'), 'w') as fh:
            json.dump(result, fh, indent=2)
        print('| setting | seq1 p50 | stream1 req/s | stream1 server CPU/request | emb docs/s | emb server CPU/request |')
        print('|---|---|---|---|---|---|')
        for name, row in result['scaling'].items():
            print(f"| {name} | {row['seq1_p50_ms'] * 1000:.0f} µs | {row['stream1_rps']:,.0f} | "
                  f"{row['stream1_cpu_us']:.1f} µs | {row['emb_docs_per_s']:,.0f} | {row['emb_cpu_us_per_request']:.0f} µs |")
        return
    if a.floors_only:
        noop = Flowhost('noop1')
        try:
            at_rest = noop.rss_mib()
            result = floors(noop, a.rounds)
            # The goal is RSS within 2x of its resting size 10 s after the load ends.
            ended = noop.rss_mib()
            time.sleep(10)
            result['flowhost_rss_mib'] = dict(at_rest=at_rest, load_ended=ended, ten_s_later=noop.rss_mib())
        finally:
            noop.stop()
        with open(os.path.join(OUT, 'floors.json'), 'w') as fh:
            json.dump(result, fh, indent=2)
        print_floors(result)
        print('RSS (MiB):', {k: round(v, 1) for k, v in result['flowhost_rss_mib'].items()})
        return
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
        results['rust_loadgen'] = list(loadgen('--grpc', f'127.0.0.1:{g}', '--http', f'127.0.0.1:{h}').values())
        # The floor under any gateway here: the emb requests echoed over loopback TCP, no gateway.
        results['emb_floor'] = list(loadgen('--only', 'emb_floor').values())
        results.update(floors(noop, a.rounds))
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
    print_floors(results)


if __name__ == '__main__':
    main()
