"""One screen per stack: one line per changed resource, the dangerous ones first.

Order: replacements, deletions and orphans of stateful resources; then changes that widen IAM
grants or open security groups (and stateful resources losing their Retain policy); then the
rest. Each line: verdict, stateful or not, logical id, type, the property paths, and why.
"""

from __future__ import annotations

from collections import Counter

from .acknowledged import Acknowledgement
from .classify import Change, StackDiff, Verdict

_ORDER = {v: i for i, v in enumerate(Verdict)}  # replace, delete, orphan, add, modify
MAX_ROWS = 30  # rows of the quiet group shown before "... N more"


def group(change: Change) -> int:
    if change.destructive:
        return 0
    if change.widening or any(n.startswith("DeletionPolicy") for n in change.notes):
        return 1
    return 2


def ordered(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (group(c), _ORDER[c.verdict], c.logical_id))


def _paths(change: Change) -> str:
    shown = ", ".join(change.paths[:3])
    return shown + (f" +{len(change.paths) - 3}" if len(change.paths) > 3 else "")


def line(change: Change) -> str:
    """``REPLACE  stateful  ItemsTable...  AWS::DynamoDB::Table  Properties.KeySchema  ...``"""
    flag = "stateful" if change.stateful else ""
    detail = [d for d in (_paths(change), *change.widening, *change.notes) if d]
    if change.acknowledged is not None:
        detail.append(f"acknowledged: {change.acknowledged}")
    elif change.destructive:
        detail.append("NOT ACKNOWLEDGED")
    return (
        f"{change.verdict.value.upper():<8} {flag:<8} {change.logical_id:<36} "
        f"{change.type:<30} {' | '.join(detail)}"
    ).rstrip()


def _summary(diff: StackDiff) -> str:
    if diff.only_in == "old":
        return "not in the new app (cdk deploy leaves the deployed stack alone)"
    if not diff.changes:
        return "no resource changes"
    counts = Counter(c.verdict for c in diff.changes)
    text = ", ".join(f"{counts[v]} {v.value}" for v in Verdict if counts[v])
    destructive = [c for c in diff.changes if c.destructive]
    if destructive:
        blocking = sum(c.blocking for c in destructive)
        text += f"; {len(destructive)} stateful replaced/deleted, {blocking} not acknowledged"
    return text + (" (new stack)" if diff.only_in == "new" else "")


def table(diff: StackDiff, *, everything: bool = False) -> str:
    rows = [f"== {diff.stack}: {_summary(diff)}"]
    changes = ordered(diff.changes)
    quiet = [c for c in changes if group(c) == 2]
    shown = changes if everything else [c for c in changes if group(c) < 2] + quiet[:MAX_ROWS]
    rows += [line(c) for c in shown]
    if len(shown) < len(changes):
        rows.append(f"... {len(changes) - len(shown)} more in-place changes and adds (--all)")
    return "\n".join(rows)


def verdict_line(diffs: list[StackDiff], stale: list[Acknowledgement]) -> str:
    blocking = [c for d in diffs for c in d.changes if c.blocking]
    parts = []
    if blocking:
        parts.append(
            f"FAIL: {len(blocking)} stateful resource(s) replaced or deleted without an "
            f"acknowledgement: {', '.join(f'{c.stack}/{c.logical_id}' for c in blocking)}"
        )
    else:
        parts.append("ok: no stateful resource is replaced or deleted unacknowledged")
    if stale:
        parts.append(
            "acknowledgements no change matches (remove them): "
            + ", ".join(f"{a.stack}/{a.logical_id} {a.verdict.value}" for a in stale)
        )
    return "\n".join(parts)
