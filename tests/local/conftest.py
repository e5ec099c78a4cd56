"""Start a local mode as a subprocess on a free loopback port, wired from the session's synth,
and always stop it: terminate, then kill."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import ROOT, Synth

START_TIMEOUT = 90  # seconds: the first import of boto3, moto and the handler on a busy machine
RUN_TIMEOUT = 180


@dataclass
class Mode:
    process: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)

    def line(self, prefix: str) -> str:
        """The last word of the first output line starting with ``prefix``."""
        return next(line for line in self.lines if line.startswith(prefix)).split()[-1]


def _command(synth: Synth, stack: str, mode: str, *args: str) -> list[str]:
    synth.template_json(stack)  # skips the test when STACKS leaves the stack out
    return [sys.executable, "-m", "local", mode, "--cdk-out", str(synth.outdir), *args]


@pytest.fixture(scope="module")
def start(synth: Synth) -> Iterator[Callable[..., Mode]]:
    """``start(stack, mode, *args)``: a server mode, once it has printed ``ready: <url>``;
    stopped at the end of the test module."""
    started: list[subprocess.Popen[str]] = []

    def _start(stack: str, mode: str, *args: str) -> Mode:
        process = subprocess.Popen(
            [*_command(synth, stack, mode, "--port", "0", *args)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        running = Mode(process)
        lines: queue.Queue[str | None] = queue.Queue()

        def drain() -> None:  # a full pipe would block the server
            assert process.stdout is not None
            for line in process.stdout:
                running.lines.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"{mode} exited before it was ready:\n" + "\n".join(running.lines))
            if line.startswith("ready: "):
                running.url = line.split()[1]
                return running
        pytest.fail(f"{mode} not ready within {START_TIMEOUT}s:\n" + "\n".join(running.lines))

    try:
        yield _start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def run_mode(synth: Synth) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_mode(stack, mode, *args)``: a one-shot mode, to completion within RUN_TIMEOUT
    (``subprocess.run`` kills it on timeout)."""

    def _run(stack: str, mode: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            _command(synth, stack, mode, *args),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        return result

    return _run


def files_under(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.rglob(pattern))
