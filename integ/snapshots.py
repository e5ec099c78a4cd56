"""The integ apps, their snapshots and the offline snapshot check.

Layout as integ-runner keeps it: ``integ/integ_<pattern>_<variant>.py`` and beside it
``integ_<pattern>_<variant>.py.snapshot/``, the synthesized cloud assembly without its asset
folders. The check compares what integ-runner's snapshot check compares, the templates of every
stack (the assertion stack too) and the test cases (``integ.json``), after normalizing what
changes on every synth without changing what is deployed: asset hashes (the code's business,
tested by running it) and the ``salt`` integ-tests-alpha stamps on each assertion (the time of
the synth, so that CloudFormation re-runs the assertions on every deploy).
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.app import STACKS

INTEG_DIR = Path(__file__).resolve().parent
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
_SALT = re.compile(r'"salt": "\d+"')
# What a snapshot keeps of an assembly: everything but the assets themselves (integ-runner
# also leaves them out) and cdk-nag's report (written only when a rule fails).
_LEFT_OUT = ("asset.", "validation-report.json")


def integ_files() -> list[Path]:
    return sorted(INTEG_DIR.glob("integ_*.py"))


def snapshot_dir(integ_file: Path) -> Path:
    return integ_file.with_name(integ_file.name + ".snapshot")


def stack_of(integ_file: Path) -> str:
    """The app's stack an integ file tests, named by the pattern's module:
    ``integ_serverless_api_cognito`` -> ServerlessApi (stacks/serverless_api.py)."""
    for name, cls in STACKS.items():
        pattern = cls.__module__.rsplit(".", 1)[-1]  # stacks/<pattern>.py
        if integ_file.stem.startswith(f"integ_{pattern}_"):
            return name
    raise ValueError(f"{integ_file.name}: names no stack of {', '.join(STACKS)}")


def files_of(stack: str | None) -> list[Path]:
    """The integ files of one stack (all of them when None)."""
    if stack is not None and stack not in STACKS:
        raise ValueError(f"stack {stack!r}: expected one of {', '.join(STACKS)}")
    return [f for f in integ_files() if stack is None or stack_of(f) == stack]


def synthesize(integ_file: Path, outdir: Path) -> Path:
    """Synthesize one integ app in this process (the jsii runtime is shared by every call)."""
    module = importlib.import_module(f"integ.{integ_file.stem}")
    module.build(str(outdir)).synth()
    return outdir


def write_snapshot(assembly: Path, snapshot: Path) -> None:
    shutil.rmtree(snapshot, ignore_errors=True)
    snapshot.mkdir(parents=True)
    for path in sorted(assembly.iterdir()):
        if path.is_file() and not path.name.startswith(_LEFT_OUT):
            shutil.copyfile(path, snapshot / path.name)


def normalized(path: Path) -> Any:
    text = json.dumps(json.loads(path.read_text()), indent=1, sort_keys=True)
    return json.loads(_SALT.sub('"salt": "<salt>"', _ASSET_HASH.sub("<asset-hash>", text)))


def _compared(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in folder.glob("*.template.json")} | {
        p.name: p for p in folder.glob("integ.json")
    }


@dataclass(frozen=True)
class Difference:
    file: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}: {self.what}"


def compare(assembly: Path, snapshot: Path) -> list[Difference]:
    """How the freshly synthesized ``assembly`` differs from ``snapshot`` (empty: it does not)."""
    if not snapshot.is_dir():
        return [Difference(snapshot.name, "no snapshot")]
    new, old = _compared(assembly), _compared(snapshot)
    found = [Difference(name, "only in the snapshot") for name in sorted(set(old) - set(new))]
    found += [Difference(name, "not in the snapshot") for name in sorted(set(new) - set(old))]
    for name in sorted(set(new) & set(old)):
        before, after = normalized(old[name]), normalized(new[name])
        if before != after:
            found.append(Difference(name, _summary(before, after)))
    return found


def _summary(before: Any, after: Any) -> str:
    """Which resources (or other top-level parts) changed, by logical id."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return "changed"
    changes: list[str] = []
    for section in sorted(set(before) | set(after)):
        old, new = before.get(section), after.get(section)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and section in ("Resources", "Outputs"):
            ids = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            changes.append(f"{section} {', '.join(_limit(ids))}")
        else:
            changes.append(section)
    return "changed " + "; ".join(changes)


def _limit(ids: Iterable[str], most: int = 8) -> list[str]:
    ids = list(ids)
    return ids[:most] + ([f"and {len(ids) - most} more"] if len(ids) > most else [])
