"""``pytest --mypy-beside``: mypy (strict) in a process of its own beside the test workers.

mypy keeps one core busy for about a minute on a cold cache. As a test (tests/test_types.py)
under pytest-xdist it also holds up the scopes queued behind it on its worker, so the other
worker idles at the end. Started by the controlling process at session start instead, it
overlaps the whole run; its result is printed above the final summary line and fails the run
when mypy fails. tests/test_types.py is then deselected, since the same check runs here.
`make test` passes the flag; a plain `pytest` runs mypy as that test.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT

_OPTION = "--mypy-beside"
_KEY = pytest.StashKey[subprocess.Popen[str]]()
_RESULT = pytest.StashKey[tuple[int, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        _OPTION,
        action="store_true",
        help="run mypy in its own process beside the tests instead of as tests/test_types.py",
    )


def _controller(config: pytest.Config) -> bool:
    return bool(config.getoption(_OPTION)) and not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _controller(session.config):
        session.config.stash[_KEY] = subprocess.Popen(
            [sys.executable, "-m", "mypy"],
            cwd=ROOT,  # picks up pyproject.toml
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption(_OPTION):
        kept = [item for item in items if item.path.name != "test_types.py"]
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    process = session.config.stash.get(_KEY, None)
    if process is None:
        return
    output, _ = process.communicate()
    session.config.stash[_RESULT] = (process.returncode, output)
    if process.returncode != 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    result = terminalreporter.config.stash.get(_RESULT, None)
    if result is None:
        return
    returncode, output = result
    terminalreporter.section("mypy (strict), beside the tests", red=returncode != 0)
    terminalreporter.write(output)
