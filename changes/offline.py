"""Synthesize two versions of an app, offline: a git ref (exported into a temporary folder) and
the working tree (or a second ref), each into its own temporary cdk.out.

Both run ``cdk synth`` with the app command of that version's cdk.json; a relative interpreter
path there (``.venv/bin/python``) is taken from the repository, so the old version runs on
today's environment. No AWS call: the app looks nothing up. The two synths run side by side.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

from .templates import SUFFIX, TemplateError


def repo_root(start: Path) -> Path:
    result = _run(["git", "rev-parse", "--show-toplevel"], start)
    return Path(result.strip())


def _run(args: list[str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise TemplateError(f"{' '.join(args)}: {last}")
    return result.stdout


def export(root: Path, ref: str, into: Path) -> None:
    """The tree of ``ref`` (committed files only) into ``into``, as ``git archive`` gives it."""
    _run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], root)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=root, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        try:
            tar.extractall(into, filter="data")
        except TypeError:  # Python before 3.11.4: no filters; the archive is the user's own repo
            tar.extractall(into)  # noqa: S202


def app_command(checkout: Path, root: Path) -> str:
    """The cdk.json app of ``checkout``, its relative program taken from ``root`` if missing."""
    config = checkout / "cdk.json"
    if not config.exists():
        raise TemplateError(f"{config} not found: not a CDK app")
    words = shlex.split(str(json.loads(config.read_text())["app"]))
    program = words[0]
    if not Path(program).is_absolute() and "/" in program and not (checkout / program).exists():
        words[0] = str(root / program)
    return shlex.join(words)


def _cdk(root: Path) -> list[str]:
    local = root / "node_modules" / ".bin" / "cdk"
    if local.exists():
        return [str(local)]
    found = shutil.which("cdk")
    return [found] if found else ["npx", "--no-install", "cdk"]


def _environment(root: Path, checkout: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    node_bin = root / "node_modules" / ".bin"
    if node_bin.exists():  # as the Makefile does: Node 22 for jsii and the CLI
        env["PATH"] = f"{node_bin}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("JSII_NODE", str(node_bin / "node"))
    env.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    env.setdefault("CDK_DISABLE_VERSION_CHECK", "true")
    return env


def start_synth(
    root: Path, checkout: Path, outdir: Path, context: list[str]
) -> subprocess.Popen[str]:
    args = [
        *_cdk(root),
        "synth",
        "--quiet",
        "--app",
        app_command(checkout, root),
        "-o",
        str(outdir),
    ]
    for item in context:
        args += ["-c", item]
    return subprocess.Popen(
        args,
        cwd=checkout,
        env=_environment(root, checkout),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_synth(process: subprocess.Popen[str], label: str, outdir: Path) -> list[str]:
    """Wait; warnings to print. A failed synth that still wrote its templates (cdk-nag
    findings are reported after the templates are written) is compared with a warning."""
    _, stderr = process.communicate()
    if process.returncode == 0:
        return []
    last = (stderr.strip().splitlines() or ["(no output)"])[-1]
    if any(outdir.rglob(f"*{SUFFIX}")):
        return [
            f"warning: synth of {label} exited {process.returncode} ({last}); comparing "
            "the templates it wrote"
        ]
    raise TemplateError(f"synth of {label} failed: {last}")


@contextlib.contextmanager
def two_synths(
    root: Path, base: str, to: str | None, context: list[str]
) -> Iterator[tuple[Path, Path, list[str]]]:
    """(cdk.out of ``base``, cdk.out of ``to`` or of the working tree, warnings); every
    temporary folder is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="changes-") as tmp:
        work = Path(tmp)
        sources = []
        for label, ref in (("base", base), ("to", to)):
            if ref is None:
                sources.append(("the working tree", root))
                continue
            checkout = work / f"{label}-src"
            checkout.mkdir()
            export(root, ref, checkout)
            sources.append((ref, checkout))
        outs = [work / "base-out", work / "to-out"]
        running = [
            start_synth(root, src, out, context)
            for (_, src), out in zip(sources, outs, strict=True)
        ]
        warnings: list[str] = []
        try:
            for process, (label, _), out in zip(running, sources, outs, strict=True):
                warnings += finish_synth(process, label, out)
        finally:
            for process in running:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        yield outs[0], outs[1], warnings
