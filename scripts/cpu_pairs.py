#!/usr/bin/env python3
"""What a setting costs a request in CPU, read from many alternated pairs of runs.

    python3 scripts/cpu_pairs.py --pairs 40 --base BIN --new BIN monitoring=true [--out runs.jsonl]
    python3 scripts/cpu_pairs.py --pairs 20 --base OLD --new NEW [--workers 2] [-- --seq1]
    python3 scripts/cpu_pairs.py --from runs.jsonl    # the summary of pairs saved by --out

Each pair runs `scripts/cpu_per_request.sh` once for the base (a binary and its KEY=VALUE
flow settings) and once for the new one, the order swapped from one pair to the next so that
neither side always runs on a warmer machine. A few alternated runs cannot tell 3 % from 5 %
on a shared machine (BENCHMARKS.md shows pairs from -0.7 % to +8 %), so this takes as many
pairs as asked and prints, for the sum of all processes' CPU per request (the server's, the
OTLP sink's and the load generator's: while the cores are saturated their throughput ratio)
and for the server's alone: each side's median, the pairs' median and mean of new/base - 1,
a bootstrap 90 % interval for both, and the median of each half of the run (a drift between
the halves is the machine's, not the setting's). Arguments after `--` go to every run.
One worker (`TOKIO_WORKER_THREADS=1`) unless `--workers` says otherwise: the sums vary less.
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {
    "server": r"^server CPU per request: ([0-9.]+) µs",
    "sink": r"^OTLP sink CPU per request: ([0-9.]+) µs",
    "load": r"^load generator CPU per request: ([0-9.]+) µs",
    "all": r"^all processes' CPU per request: ([0-9.]+) µs",
    "rps": r"requests/s: ([0-9.]+)",
}


def run(side, extra, workers):
    binary, *settings = side
    env = dict(os.environ)
    if workers:
        env["TOKIO_WORKER_THREADS"] = str(workers)
    command = ["bash", str(ROOT / "scripts/cpu_per_request.sh"), binary, *settings, *extra]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    figures = {}
    for name, pattern in FIELDS.items():
        found = re.search(pattern, done.stdout, re.MULTILINE)
        if found:
            figures[name] = float(found.group(1))
    if "all" not in figures:
        sys.exit(f"{' '.join(command)} printed no CPU per request:\n{done.stdout}")
    # A collector runs elsewhere in a deployment: tracing's cost without the sink's share.
    figures["all_but_sink"] = figures["all"] - figures.get("sink", 0.0)
    return figures


def bootstrap(values, statistic, rounds=10_000, seed=13):
    draw = random.Random(seed)
    estimates = sorted(
        statistic(draw.choices(values, k=len(values))) for _ in range(rounds)
    )
    return estimates[int(rounds * 0.05)], estimates[int(rounds * 0.95) - 1]


def percent(value):
    return f"{value * 100:+.2f} %"


def summarise(pairs, field):
    base = [pair["base"][field] for pair in pairs]
    new = [pair["new"][field] for pair in pairs]
    changes = [n / b - 1 for b, n in zip(base, new)]
    half = len(changes) // 2
    lines = [
        f"{field}: base median {statistics.median(base):.2f} µs, "
        f"new median {statistics.median(new):.2f} µs",
        f"  new/base - 1 by pair: median {percent(statistics.median(changes))} "
        f"(90 % CI {' .. '.join(map(percent, bootstrap(changes, statistics.median)))}), "
        f"mean {percent(statistics.fmean(changes))} "
        f"(90 % CI {' .. '.join(map(percent, bootstrap(changes, statistics.fmean)))})",
    ]
    if len(changes) >= 2:
        lines.append(
            f"  sd {statistics.stdev(changes) * 100:.2f} %; first half's median "
            f"{percent(statistics.median(changes[:half]))}, second half's "
            f"{percent(statistics.median(changes[half:]))}"
        )
    return "\n".join(lines)


def main():
    arguments, extra = sys.argv[1:], []
    if "--" in arguments:
        split = arguments.index("--")
        arguments, extra = arguments[:split], arguments[split + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--base", nargs="+", metavar="BIN [KEY=VALUE]")
    parser.add_argument("--new", nargs="+", metavar="BIN [KEY=VALUE]")
    parser.add_argument("--workers", type=int, default=1, help="0: the runtime's default")
    parser.add_argument("--out", type=Path, help="each pair's figures, one JSON line each")
    parser.add_argument("--from", dest="saved", type=Path, help="summarise these, run nothing")
    options = parser.parse_args(arguments)
    if options.saved:
        pairs = [json.loads(line) for line in options.saved.read_text().splitlines() if line]
        print(f"{len(pairs)} pairs from {options.saved}")
    elif not (options.base and options.new):
        parser.error("--base and --new are needed unless --from reads saved pairs")
    else:
        pairs = measure(options, extra)
    print(summarise(pairs, "all"))
    print(summarise(pairs, "server"))
    if any("sink" in pair[side] for pair in pairs for side in pair):
        print(summarise(pairs, "all_but_sink"))
        print(f"new's sink: median {statistics.median(p['new']['sink'] for p in pairs):.2f} µs")


def measure(options, extra):
    pairs = []
    for index in range(options.pairs):
        order = ("base", "new") if index % 2 == 0 else ("new", "base")
        pair = {side: run(getattr(options, side), extra, options.workers) for side in order}
        pairs.append(pair)
        if options.out:
            with options.out.open("a") as out:
                out.write(json.dumps(pair) + "\n")
        print(
            f"pair {index + 1:>3} ({order[0]} first): all {pair['base']['all']:.2f} / "
            f"{pair['new']['all']:.2f} µs, server {pair['base']['server']:.2f} / "
            f"{pair['new']['server']:.2f} µs",
            flush=True,
        )
    return pairs


if __name__ == "__main__":
    main()
