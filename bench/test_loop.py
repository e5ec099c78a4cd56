"""The test loop as CI sees it: `make test` in a fresh clone of this repository, after the set-up
(`make install` and checkov's venv, not timed) and with no cache carried in (no .mypy_cache, no
.pytest_cache).

Usage: .venv/bin/python bench/test_loop.py   (or `make bench`; about 4 minutes on 2 cores, most
of it the set-up)
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time

from common import ROOT


def run(command: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MAKEFLAGS")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        clone = os.path.join(scratch, "repo")
        subprocess.run(["git", "clone", "-q", str(ROOT), clone], check=True)
        setup = ["make", "install", ".venv-checkov/.installed", "--no-print-directory"]
        installed = run(setup, clone)
        if installed.returncode:
            raise SystemExit(f"make install failed:\n{installed.stdout}{installed.stderr}")
        start = time.perf_counter()
        tested = run(["make", "test", "--no-print-directory"], clone)
        wall = time.perf_counter() - start
    summary = re.findall(r"=+ (.* in [\d.]+s.*?) =+", tested.stdout)
    print(f"make test in a fresh clone, after set-up: {wall:.0f} s wall (exit {tested.returncode})")
    print(f"  pytest: {summary[-1] if summary else 'no summary line'}")
    print("  goal: <= 120 s on 2 cores (issue 15); before this work: 137 s for 752 tests")


if __name__ == "__main__":
    main()
