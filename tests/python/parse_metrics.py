"""Reads Prometheus' text format on stdin with prometheus_client's own parser and prints
every sample as JSON lines: {"name", "labels", "value"}. tests/all/telemetry.rs asserts on
them, so what flowhost serves is read the way a Prometheus client reads it."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        print(json.dumps({"family": family.name, "type": family.type,
                          "name": sample.name, "labels": sample.labels, "value": sample.value}))
