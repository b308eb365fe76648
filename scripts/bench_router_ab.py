"""Two builds of the router benchmark side by side in one run: did a change cost routing time?

    python3 scripts/bench_router_ab.py BASE_BENCH NEW_BENCH [--rounds 2] [--filter router/]

BASE_BENCH and NEW_BENCH are criterion executables of `host/benches/router.rs` (printed by
`cargo bench -p flowhost --bench router --no-run`; for an earlier commit, build it in a git
worktree with its own CARGO_TARGET_DIR, as scripts/bench_ab.py describes). They run
alternately, BASE, NEW, BASE, NEW, ..., against the guests in this checkout's target
directory, so the shared machine's drift falls on both. Prints a Markdown table of the median
of the rounds' criterion estimates, and NEW/BASE.
"""
import argparse
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r'^(\S.*?)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]', re.M)
UNIT = {'ns': 1e-3, 'µs': 1.0, 'us': 1.0, 'ms': 1e3, 's': 1e6}


def run(bench, filt):
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, 'target'))
    out = subprocess.run([bench, '--bench', '--warm-up-time', '1', '--measurement-time', '3',
                          '--noplot', filt], env=env, capture_output=True, text=True,
                         check=True).stdout
    # criterion prints the name on its own line when it is long; join it to the time.
    out = re.sub(r'\n\s+time:', ' time:', out)
    return {name.strip(): float(value) * UNIT[unit] for name, value, unit in LINE.findall(out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('base')
    ap.add_argument('new')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--filter', default='router/')
    args = ap.parse_args()
    results = {'base': [], 'new': []}
    for r in range(args.rounds):
        for label, bench in (('base', args.base), ('new', args.new)):
            print(f'round {r + 1}: {label}', flush=True)
            results[label].append(run(bench, args.filter))
    print('\n| benchmark | base (µs) | new (µs) | new/base |\n|---|---|---|---|')
    for name in results['base'][0]:
        base = statistics.median(r[name] for r in results['base'] if name in r)
        new = statistics.median(r[name] for r in results['new'] if name in r)
        print(f'| {name} | {base:.2f} | {new:.2f} | {new / base:.2f} |')


if __name__ == '__main__':
    main()
