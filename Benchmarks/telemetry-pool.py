#!/usr/bin/env python3
"""Pools the round-by-round on / off ratios of several saved `gateway-wrk.sh … telemetry` runs.

    Benchmarks/gateway-wrk.sh 4 telemetry > run1.txt   # as many runs as wanted, then:
    Benchmarks/telemetry-pool.py run1.txt run2.txt …

Prints, per load generator, the median of every round of every run with a 90 % bootstrap interval, each run's own
median, and how many rounds fell below 85 % (issue 10's target). The rounds of one run are not independent (the
machine drifts from one minute to the next), so the interval is narrower than the truth; runs far apart in time are.
"""

import random
import re
import statistics
import sys


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for tool in ("wrk", "h2load"):
        pooled: list[float] = []
        medians: list[float] = []
        for path in paths:
            with open(path, encoding="utf-8") as text:
                for line in text:
                    match = re.match(rf"\s*{tool}: on / off round by round (.*) %", line)
                    if match:
                        ratios = [float(value) for value in match.group(1).split(",")]
                        pooled += ratios
                        medians.append(statistics.median(ratios))
        if not pooled:
            print(f"{tool}: no rounds in {', '.join(paths)}")
            continue
        generator = random.Random(1)
        resampled = sorted(
            statistics.median(generator.choices(pooled, k=len(pooled))) for _ in range(5000)
        )
        print(
            f"{tool}: {len(pooled)} rounds of {len(medians)} runs, on / off median {statistics.median(pooled):.1f} %"
            f" (90 % interval {resampled[250]:.1f}-{resampled[4749]:.1f} %);"
            f" the runs' medians {', '.join(f'{median:.1f}' for median in medians)} %;"
            f" rounds below 85 %: {sum(ratio < 85 for ratio in pooled)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
