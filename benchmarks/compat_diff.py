"""How long `refract diff` takes on a realistic pair of event schemas, beside a baseline.

    uv run python benchmarks/compat_diff.py [--properties N] [--runs N]

Diffs two 50-property event schemas (one field narrowed, one added; the schema generator of
tests/compat/test_diff_types.py) and prints the first diff (cold caches), the median of later
diffs and, as the same-run baseline, the median time to load the two schemas into `SchemaSet`s
(what every diff starts from). Speed lives here, not in timed unit tests.
"""

from __future__ import annotations

import argparse
import statistics
import time

from compat.diff import diff_schemas
from compat.source import SchemaSet
from tests.compat.test_diff_types import event_schema


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--properties", type=int, default=50)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    old, new = event_schema(args.properties, tweak=False), event_schema(args.properties, tweak=True)
    loads = []
    for _ in range(args.runs):
        start = time.perf_counter()
        original, update = SchemaSet.from_value(old), SchemaSet.from_value(new)
        loads.append(_ms(start))
    start = time.perf_counter()
    changes = diff_schemas(original, update)
    first = _ms(start)
    diffs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        diff_schemas(original, update)
        diffs.append(_ms(start))
    load, diff = statistics.median(loads), statistics.median(diffs)
    print(f"diff of two {args.properties}-property event schemas ({len(changes)} changes found)")
    print(f"  first diff                 {first:8.2f} ms")
    print(f"  median diff ({args.runs} runs)     {diff:8.2f} ms")
    print(f"  baseline: load both schemas {load:7.2f} ms (median)")
    print(f"  diff / load = {diff / load:.1f}x")


if __name__ == "__main__":
    main()
