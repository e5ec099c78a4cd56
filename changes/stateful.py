"""Which resources of a template hold data a replacement or deletion would lose.

A resource is stateful when its type is (``schemas.stateful_types``), with one exception
decided from the template itself: a KMS key that encrypts nothing but SNS topics without a
message archive. SNS keeps no messages, so nothing at rest is encrypted under such a key and
its deletion (after the pending window) loses nothing; the alarm topics' keys are of this kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .schemas import rules
from .templates import Template, resources

# Where a reference to a key does not make the key hold data: a policy naming it in a grant,
# an alias, the topic it encrypts in flight.
_NOT_DATA = frozenset(
    {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::KMS::Alias"}
)


def _references(value: Any, logical_id: str) -> bool:
    text = json.dumps(value)
    return f'{{"Ref": "{logical_id}"}}' in text or f'"Fn::GetAtt": ["{logical_id}"' in text


def _users(template: Template, logical_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for other_id, resource in resources(template).items():
        if other_id != logical_id and _references(resource.get("Properties", {}), logical_id):
            yield other_id, resource


def transient_key(template: Template, logical_id: str) -> bool:
    """A KMS key only SNS topics without an ArchivePolicy use (and policies that grant it)."""
    resource = resources(template).get(logical_id, {})
    if resource.get("Type") != "AWS::KMS::Key":
        return False
    users = [r for _, r in _users(template, logical_id) if r.get("Type") not in _NOT_DATA]
    return bool(users) and all(
        r.get("Type") == "AWS::SNS::Topic"
        and _references(r.get("Properties", {}).get("KmsMasterKeyId"), logical_id)
        and "ArchivePolicy" not in r.get("Properties", {})
        for r in users
    )


def is_stateful(template: Template, logical_id: str) -> bool:
    resource = resources(template).get(logical_id, {})
    return rules(str(resource.get("Type", ""))).stateful and not transient_key(template, logical_id)
