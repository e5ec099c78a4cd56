"""Handler cold start: the import time of the items API handler in a fresh interpreter (what
Lambda pays at init, before the first event), against a bare `import boto3`.

Usage: .venv/bin/python bench/cold_start.py [runs]   (or `make bench`)
"""

from __future__ import annotations

import os
import sys

from common import ROOT, median, python_output

MEASURE = """
import sys, time
sys.path.insert(0, {path!r})
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""


def import_times(module: str, runs: int, env: dict[str, str]) -> list[float]:
    path = str(ROOT / "lambda_src" / "serverless_api")
    code = MEASURE.format(path=path, module=module)
    return [float(python_output(code, env=env)) for _ in range(runs)]


def main(runs: int) -> None:
    env = {
        **os.environ,
        "TABLE_NAME": "items",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "items-api",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApi",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }
    boto3_median = median(import_times("boto3", runs, env))
    handler_median = median(import_times("items.app", runs, env))
    print(f"import boto3: median {boto3_median * 1000:.0f} ms over {runs} runs")
    print(
        f"import items.app (handler init): median {handler_median * 1000:.0f} ms over {runs} runs"
    )
    print(
        f"ratio handler/boto3: {handler_median / boto3_median:.2f}x "
        f"(+{(handler_median - boto3_median) * 1000:.0f} ms for Powertools, pydantic and the app)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
