"""Every stateful resource keeps its data by default: DeletionPolicy and UpdateReplacePolicy
Retain (or Snapshot, for the types that support it, when the app asked for it).

``retain_gaps`` takes any app's templates (the main app's, an integration test's), so the
same check can be pointed at another app; what an app destroys on purpose is for its caller
to leave out.
"""

from __future__ import annotations

from collections.abc import Mapping

from .schemas import SNAPSHOT_TYPES
from .stateful import is_stateful
from .templates import Template, resources

# RetainExceptOnCreate (CDK's RETAIN_ON_UPDATE_OR_DELETE) deletes only what a failed create
# made, which holds no data yet.
KEEPS = frozenset({"Retain", "RetainExceptOnCreate"})


def retain_gaps(templates: Mapping[str, Template], *, snapshot: bool = False) -> list[str]:
    """One line per stateful resource whose policies would delete it: stack, logical id, type
    and the two policies. ``snapshot=True`` also accepts Snapshot where the type supports it."""
    gaps = []
    for stack, template in sorted(templates.items()):
        for lid, resource in resources(template).items():
            if not is_stateful(template, lid):
                continue
            allowed = KEEPS | (
                {"Snapshot"} if snapshot and resource.get("Type") in SNAPSHOT_TYPES else set()
            )
            policies = resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")
            if not all(p in allowed for p in policies):
                gaps.append(
                    f"{stack}/{lid} ({resource.get('Type')}): DeletionPolicy={policies[0]}, "
                    f"UpdateReplacePolicy={policies[1]}; expected {' or '.join(sorted(allowed))}"
                )
    return gaps
