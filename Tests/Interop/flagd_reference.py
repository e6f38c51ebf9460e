#!/usr/bin/env python3
"""Evaluates flags with OpenFeature's flagd core for Python (PyPI openfeature-flagd-core 1.0.0), an independent
implementation of flagd's evaluation rules, for BizFlagsTests to compare against.

Reads {"flags": <a flag file>, "cases": [{"flag": key, "targetingKey": …, "attributes": {…}}]} on stdin and writes
[{"variant": …, "value": …, "reason": …}] (one per case, in order) on stdout.
"""
import json
import sys

from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext


def main() -> None:
    request = json.load(sys.stdin)
    core = FlagdCore()
    core.set_flags(request["flags"])
    results = []
    for case in request["cases"]:
        context = EvaluationContext(case.get("targetingKey"), case.get("attributes", {}))
        # flag_type None: no type check, so one call serves flags of every type.
        details = core._resolve(case["flag"], None, context, None)
        results.append({"variant": details.variant, "value": details.value, "reason": str(details.reason.value)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
