"""mypy, strict, over the whole code base (pyproject.toml's [tool.mypy]), as one test.

`make test` runs the same check with `--mypy-beside` instead (tests/mypy_beside.py): mypy in a
process of its own beside the test workers, which deselects this test. `make lint` runs mypy
on its own too.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def test_the_code_base_type_checks_strictly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,  # picks up pyproject.toml
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout
