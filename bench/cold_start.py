"""Handler cold start: the import (CPU) time of each Lambda handler in a fresh interpreter (what
Lambda pays at init, before the first event), against a bare `import boto3` timed in the same
rounds.
Goal (issue 15): every handler <= 2.0x boto3.

Two configurations: tracing off (POWERTOOLS_TRACE_DISABLED=true, as a local run or a function
without X-Ray), and as deployed (inside Lambda, Tracing Active: the X-Ray SDK is imported and
botocore patched). Runs are interleaved, so a busy machine slows every column alike.

Usage: .venv/bin/python bench/cold_start.py [runs]   (or `make bench`)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from common import ROOT, median, python_output

# CPU time, not wall time: on a shared machine (CI, or 2 cores and other jobs) wall time
# measures the neighbours too; what an import costs is the CPU it burns (file reads of the
# cached libraries are a small part of it).
MEASURE = """
import sys, time
sys.path.insert(0, {path!r})
start = time.process_time()
{helpers}
import {module}
print(time.process_time() - start)
"""
# Bundling copies the runtime helpers into each handler package; here they join its __path__.
RUNTIME_HELPERS = ROOT / "stacks" / "shared" / "runtime"
GOAL = 2.0


@dataclass(frozen=True)
class Handler:
    label: str
    pattern: str  # lambda_src/<pattern>
    module: str
    env: dict[str, str] = field(default_factory=dict)


HANDLERS = [
    Handler(
        "items API (items.app)",
        "serverless_api",
        "items.app",
        {
            "TABLE_NAME": "items",
            "POWERTOOLS_SERVICE_NAME": "items-api",
            "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApi",
        },
    ),
    Handler(
        "chat (chat.app)",
        "websocket_api",
        "chat.app",
        {
            "TABLE_NAME": "connections",
            "ROOM_INDEX_NAME": "room-index",
            "CALLBACK_URL": "https://example.execute-api.us-east-1.amazonaws.com/v1",
            "CONNECTION_TTL_SECONDS": "7200",
            "POWERTOOLS_SERVICE_NAME": "websocket-chat",
            "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
        },
    ),
    Handler(
        "authorizer (chat.authorizer)",
        "websocket_api",
        "chat.authorizer",
        {
            "TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf",
            "MAX_TOKEN_LIFETIME_SECONDS": "3600",
            "POWERTOOLS_SERVICE_NAME": "websocket-chat-authorizer",
            "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
        },
    ),
    Handler(
        "export (nightly_export.app)",
        "scheduled_job",
        "nightly_export.app",
        {
            "TABLE_NAME": "items",
            "BUCKET_NAME": "exports",
            "POWERTOOLS_SERVICE_NAME": "table-export",
            "POWERTOOLS_METRICS_NAMESPACE": "ScheduledJob",
        },
    ),
]

BASE_ENV = {
    **os.environ,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}
CONFIGURATIONS = {
    "tracing off": {"POWERTOOLS_TRACE_DISABLED": "true"},
    # What Lambda sets when the function runs with Tracing Active; nothing is sent at import.
    "as deployed, tracing on": {
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    },
}


def import_time(path: str, module: str, env: dict[str, str]) -> float:
    package = module.split(".")[0]
    helpers = f"import {package}; {package}.__path__.append({str(RUNTIME_HELPERS)!r})"
    code = MEASURE.format(path=path, module=module, helpers=helpers if "." in module else "")
    return float(python_output(code, env=env))


def measure(extra: dict[str, str], runs: int) -> tuple[list[float], dict[str, list[float]]]:
    env = {k: v for k, v in BASE_ENV.items() if k != "POWERTOOLS_TRACE_DISABLED"} | extra
    boto3_times: list[float] = []
    times: dict[str, list[float]] = {h.label: [] for h in HANDLERS}
    for _ in range(runs):
        boto3_times.append(import_time(str(ROOT), "boto3", env))
        for handler in HANDLERS:
            path = str(ROOT / "lambda_src" / handler.pattern)
            times[handler.label].append(import_time(path, handler.module, env | handler.env))
    return boto3_times, times


def main(runs: int) -> None:
    for name, extra in CONFIGURATIONS.items():
        boto3_times, times = measure(extra, runs)
        print(f"cold start, {name} (median of {runs} rounds, goal <= {GOAL:.1f}x boto3):")
        print(f"  {'import boto3':32} {median(boto3_times) * 1000:6.0f} ms")
        for label, values in times.items():
            # The ratio within each round, then the median: load that shifts between rounds
            # cancels out, load within a round is what the median is for.
            ratio = median([v / b for v, b in zip(values, boto3_times, strict=True)])
            verdict = "ok" if ratio <= GOAL else "OVER GOAL"
            print(f"  {label:32} {median(values) * 1000:6.0f} ms  {ratio:4.2f}x  {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
