"""Classify every resource change between two templates of one stack.

add / modify (in place) / replace / delete / orphan, as CloudFormation would act on them:
- a logical id that disappears is a delete (an orphan when its DeletionPolicy is Retain: the
  resource stays, unmanaged, and the app moves to whatever replaces it), a new one an add; so
  a renamed construct id is a delete + an add;
- a changed create-only property (provider schema, or ``schemas.DOCUMENTED_REPLACEMENTS``)
  replaces the resource; a conditional create-only one (DynamoDB ``KeySchema``) counts as a
  replacement too: CDK's own diff and CloudFormation replace the table for a new key;
- everything else is modified in place. Metadata (asset paths, nag and checkov notes) is not a
  change; values are compared as JSON, intrinsics (Ref, Fn::*) included.
A change is destructive when it replaces, deletes or orphans a stateful resource.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from typing import Any

from .schemas import rules
from .stateful import is_stateful
from .templates import Template, normalize, resources
from .widening import widening

# Resource attributes CloudFormation acts on (Metadata is not one of them).
_ATTRIBUTES = (
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "DependsOn",
    "Condition",
    "UpdatePolicy",
    "CreationPolicy",
)
_KEEPS = frozenset({"Retain", "RetainExceptOnCreate"})


class Verdict(enum.Enum):
    REPLACE = "replace"
    DELETE = "delete"
    ORPHAN = "orphan"
    ADD = "add"
    MODIFY = "modify"


DESTRUCTIVE = frozenset({Verdict.REPLACE, Verdict.DELETE, Verdict.ORPHAN})


@dataclass(frozen=True)
class Change:
    stack: str
    logical_id: str
    type: str
    verdict: Verdict
    paths: tuple[str, ...] = ()  # "Properties.KeySchema", "DeletionPolicy", "Type"
    stateful: bool = False
    widening: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    acknowledged: str | None = None  # the reason recorded for it, if any

    @property
    def destructive(self) -> bool:
        return self.stateful and self.verdict in DESTRUCTIVE

    @property
    def blocking(self) -> bool:
        return self.destructive and self.acknowledged is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "logical_id": self.logical_id,
            "type": self.type,
            "verdict": self.verdict.value,
            "paths": list(self.paths),
            "stateful": self.stateful,
            "widening": list(self.widening),
            "notes": list(self.notes),
            "acknowledged": self.acknowledged,
        }


def _intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)).startswith(("Ref", "Fn::", "Condition"))
    )


def diff_paths(old: Any, new: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths at which ``new`` differs from ``old``: objects key by key, lists of equal
    length item by item, anything else (and intrinsics) as a whole."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and not (_intrinsic(old) or _intrinsic(new)):
        paths: list[tuple[str, ...]] = []
        for key in sorted(set(old) | set(new)):
            if key in old and key in new:
                paths += diff_paths(old[key], new[key], (*prefix, key))
            else:
                paths.append((*prefix, key))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in diff_paths(a, b, (*prefix, str(i)))
        ]
    return [prefix]


def _shown(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    """Dotted paths, cut to the property that changed (no list indexes), each once."""
    seen: dict[str, None] = {}
    for path in paths:
        index = next((i for i, part in enumerate(path) if part.isdigit()), len(path))
        seen[".".join(path[:index])] = None
    return tuple(seen)


def _changed(stack: str, lid: str, old: Template, new: Template) -> Change | None:
    before, after = resources(old)[lid], resources(new)[lid]
    resource_type = str(after.get("Type"))
    stateful = is_stateful(old, lid) or is_stateful(new, lid)
    old_props, new_props = before.get("Properties") or {}, after.get("Properties") or {}
    if before.get("Type") != resource_type:
        return Change(
            stack,
            lid,
            resource_type,
            Verdict.REPLACE,
            ("Type",),
            stateful,
            notes=(f"type {before.get('Type')} -> {resource_type}",),
        )
    prop_paths = diff_paths(old_props, new_props)
    attributes = [a for a in _ATTRIBUTES if before.get(a) != after.get(a)]
    if not prop_paths and not attributes:
        return None
    kinds = {rules(resource_type).replacing(p) for p in prop_paths}
    replacing = [p for p in prop_paths if rules(resource_type).replacing(p)]
    notes: list[str] = []
    if "replace" in kinds or "conditional" in kinds:
        verdict = Verdict.REPLACE
        if "replace" not in kinds:
            notes.append("conditional create-only, counted as replace")
        if after.get("UpdateReplacePolicy") in _KEEPS | {"Snapshot"}:
            notes.append("old one kept, the app moves to a new one")
        elif stateful:
            notes.append("old one deleted with its data")
        # The replacing properties first: they are why.
        prop_paths = replacing + [p for p in prop_paths if p not in replacing]
    else:
        verdict = Verdict.MODIFY
    if (
        stateful
        and before.get("DeletionPolicy") in _KEEPS
        and after.get("DeletionPolicy") not in (_KEEPS | {"Snapshot"})
    ):
        notes.append(
            f"DeletionPolicy {before.get('DeletionPolicy')} -> {after.get('DeletionPolicy')}"
        )
    return Change(
        stack,
        lid,
        resource_type,
        verdict,
        _shown([("Properties", *p) for p in prop_paths]) + tuple(attributes),
        stateful,
        tuple(widening(resource_type, old_props, new_props)),
        tuple(notes),
    )


def _removed(stack: str, lid: str, old: Template) -> Change:
    resource = resources(old)[lid]
    policy = resource.get("DeletionPolicy", "Delete")
    verdict = Verdict.ORPHAN if policy in _KEEPS else Verdict.DELETE
    notes = (
        ("kept but no longer managed (DeletionPolicy Retain)",)
        if verdict is Verdict.ORPHAN
        else (("deleted after a final snapshot",) if policy == "Snapshot" else ())
    )
    return Change(
        stack, lid, str(resource.get("Type")), verdict, (), is_stateful(old, lid), notes=notes
    )


def _added(stack: str, lid: str, new: Template) -> Change:
    resource = resources(new)[lid]
    resource_type = str(resource.get("Type"))
    return Change(
        stack,
        lid,
        resource_type,
        Verdict.ADD,
        (),
        is_stateful(new, lid),
        tuple(widening(resource_type, None, resource.get("Properties") or {})),
    )


def _renames(changes: list[Change], old: Template, new: Template) -> list[Change]:
    """Point a removed resource at an added one of the same type and properties: the usual
    cause is a renamed (or moved) construct id."""
    added = {c.logical_id: c for c in changes if c.verdict is Verdict.ADD}
    result = []
    for change in changes:
        if change.verdict in (Verdict.DELETE, Verdict.ORPHAN):
            props = resources(old)[change.logical_id].get("Properties")
            twins = [
                lid
                for lid, c in added.items()
                if c.type == change.type and resources(new)[lid].get("Properties") == props
            ]
            if twins:
                note = f"same type and properties as new {twins[0]}: a renamed construct id?"
                change = replace(change, notes=(*change.notes, note))
                added[twins[0]] = replace(
                    added[twins[0]], notes=(f"renamed from {change.logical_id}?",)
                )
        result.append(change)
    return [added.get(c.logical_id, c) if c.verdict is Verdict.ADD else c for c in result]


def classify(stack: str, old: Template, new: Template) -> list[Change]:
    """Every resource change from ``old`` to ``new`` (the same stack), in template order."""
    before, after = resources(old), resources(new)
    changes: list[Change] = []
    for lid in before:
        if lid not in after:
            changes.append(_removed(stack, lid, old))
        else:
            change = _changed(stack, lid, old, new)
            if change is not None:
                changes.append(change)
    changes += [_added(stack, lid, new) for lid in after if lid not in before]
    return _renames(changes, old, new)


@dataclass
class StackDiff:
    stack: str
    changes: list[Change] = field(default_factory=list)
    only_in: str | None = None  # "old" or "new" when the stack is in one folder only


def _compare(old: dict[str, Template], new: dict[str, Template]) -> list[StackDiff]:
    empty: Template = {"Resources": {}}
    diffs = []
    for stack in sorted(set(old) | set(new)):
        if stack not in new:
            # `cdk deploy` leaves a stack the app no longer has alone: nothing is deleted.
            diffs.append(StackDiff(stack, [], "old"))
            continue
        only = "new" if stack not in old else None
        diffs.append(StackDiff(stack, classify(stack, old.get(stack, empty), new[stack]), only))
    return diffs


def _raw(template: Template) -> bool:
    return "<asset-hash>" not in json.dumps(template)


def compare(old: dict[str, Template], new: dict[str, Template]) -> list[StackDiff]:
    """Per stack (by template name): a stack only in ``new`` is all adds; one only in ``old``
    has no changes (deploying the app leaves the deployed stack alone).

    Asset hashes are normalized first, so new handler code is not a change; unless a hash is
    all that changed in a property that replaces a stateful resource, which is kept."""
    diffs = _compare(
        {k: normalize(v) for k, v in old.items()}, {k: normalize(v) for k, v in new.items()}
    )
    # Only where both sides still carry their hashes: a baseline is stored normalized.
    raw_old = {k: v for k, v in old.items() if k in new and _raw(v) and _raw(new[k])}
    raw = {d.stack: d for d in _compare(raw_old, {k: new[k] for k in raw_old})}
    for diff in diffs:
        seen = {c.logical_id for c in diff.changes}
        diff.changes += [
            replace(c, notes=(*c.notes, "asset hash only"))
            for c in (raw[diff.stack].changes if diff.stack in raw else [])
            if c.destructive and c.logical_id not in seen
        ]
    return diffs


def dumps(diffs: list[StackDiff]) -> str:
    return json.dumps(
        [
            {"stack": d.stack, "only_in": d.only_in, "changes": [c.to_dict() for c in d.changes]}
            for d in diffs
        ],
        indent=2,
    )
