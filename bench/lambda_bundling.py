"""Synth-time cost of bundling a handler folder's pinned requirements.txt (shared.lambda_code):
the wheel install with an empty cache (what a fresh clone or a changed lock pays once), the same
with the cache warm (every later synth), the asset hash, and the copy into cdk.out.

Usage: .venv/bin/python bench/lambda_bundling.py [runs]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, median

sys.path.insert(0, str(ROOT))
from stacks import shared

CODE = ROOT / "lambda_src" / "websocket_api"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(runs: int) -> None:
    requirements = CODE / shared.REQUIREMENTS
    cold, warm, hashing, copy = [], [], [], []
    for _ in range(runs):
        cache = Path(tempfile.mkdtemp())
        cold.append(timed(lambda: shared.install_dependencies(requirements, cache)))  # noqa: B023
        warm.append(timed(lambda: shared.install_dependencies(requirements, cache)))  # noqa: B023
        hashing.append(timed(lambda: shared.code_hash(CODE)))
        out = tempfile.mkdtemp()
        bundle = shared._WheelsAndSources(CODE, cache)
        copy.append(timed(lambda: bundle.try_bundle(out)))  # noqa: B023
    print(f"bundling {requirements.relative_to(ROOT)} for {shared.LAMBDA_PLATFORM}, {runs} runs:")
    for name, values in [
        ("install, empty cache (pip from the index)", cold),
        ("install, warm cache", warm),
        ("asset hash (lock + sources)", hashing),
        ("copy of the bundle into cdk.out", copy),
    ]:
        print(f"  {name}: median {median(values) * 1000:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
