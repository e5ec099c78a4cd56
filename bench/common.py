"""Helpers shared by the benchmarks: run a command in a fresh interpreter, take medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def node_env() -> dict[str, str]:
    """The environment the Makefile sets: Node 22 from node_modules for jsii, no telemetry."""
    env = dict(os.environ)
    node = ROOT / "node_modules" / ".bin" / "node"
    if node.exists():
        env["JSII_NODE"] = str(node)
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


def time_python(code_or_script: list[str], *, runs: int, env: dict[str, str]) -> list[float]:
    """Wall seconds of ``python <args>`` in a fresh interpreter, ``runs`` times."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # stderr is kept for failures only: the floor's empty stack makes CDK warn on every run.
        result = subprocess.run(
            [sys.executable, *code_or_script],
            cwd=ROOT,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        times.append(time.perf_counter() - start)
        if result.returncode:
            raise RuntimeError(f"python {' '.join(code_or_script)} failed:\n{result.stderr}")
    return times


def python_output(code: str, *, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def median(values: list[float]) -> float:
    return statistics.median(values)
