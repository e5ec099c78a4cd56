"""Intended replacements and deletions, recorded with a reason (``changes/acknowledged.json``).

Each entry names one stack, one logical id and one verdict, and says why losing or moving that
resource's data is intended (a migration, an export first, a resource that was never used):

    {"acknowledged": [{"stack": "ServerlessApi", "logical_id": "ItemsTableE2D1F4C3",
                       "verdict": "replace", "reason": "..."}]}

A destructive change with an entry still prints, marked acknowledged; without one it fails the
guard. ``make changes-baseline`` starts a release with the baseline rewritten and no entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .classify import StackDiff, Verdict
from .templates import TemplateError

FILE = Path(__file__).resolve().parent / "acknowledged.json"
EMPTY: dict[str, list[dict[str, str]]] = {"acknowledged": []}


@dataclass(frozen=True)
class Acknowledgement:
    stack: str
    logical_id: str
    verdict: Verdict
    reason: str


def load(path: Path = FILE) -> list[Acknowledgement]:
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text())["acknowledged"]
        found = [
            Acknowledgement(e["stack"], e["logical_id"], Verdict(e["verdict"]), e["reason"])
            for e in entries
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise TemplateError(
            f"{path}: expected {{'acknowledged': [{{stack, logical_id, verdict, reason}}]}} "
            f"with verdict one of {[v.value for v in Verdict]} ({err!r})"
        ) from err
    blank = [f"{a.stack}/{a.logical_id}" for a in found if len(a.reason.strip()) < 10]
    if blank:
        raise TemplateError(f"{path}: {', '.join(blank)}: the reason says too little")
    return found


def apply(diffs: list[StackDiff], acks: list[Acknowledgement]) -> list[Acknowledgement]:
    """Mark each acknowledged change (in place); return the entries no change matched."""
    by_key = {(a.stack, a.logical_id, a.verdict): a for a in acks}
    used = set()
    for diff in diffs:
        for i, change in enumerate(diff.changes):
            key = (change.stack, change.logical_id, change.verdict)
            if key in by_key:
                diff.changes[i] = replace(change, acknowledged=by_key[key].reason)
                used.add(key)
    return [a for key, a in by_key.items() if key not in used]
