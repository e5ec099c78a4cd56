"""What CloudFormation does when a property changes, and which resource types hold data.

From the CloudFormation resource provider schemas cfn-lint ships (``createOnlyProperties``:
a change replaces the resource; ``conditionalCreateOnlyProperties``: a change may replace it),
cfn-lint's list of stateful types (rule I3011), and a short table of what those schemas leave
out, each line with the AWS page that says so. Offline: no AWS call, no download.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cfnlint

_DATA = Path(cfnlint.__file__).resolve().parent / "data"
# us-east-1 has every resource type the other regions have, and the same schema for each.
_PROVIDERS = _DATA / "schemas" / "providers" / "us-east-1.json"
_RESOURCES = _DATA / "schemas" / "resources"
_STATEFUL = _DATA / "AdditionalSpecs" / "StatefulResources.json"

# Replacing properties the provider schemas do not list (yet CloudFormation creates a new
# resource for them), with the page that documents it.
DOCUMENTED_REPLACEMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    # Sign-in options and case sensitivity are fixed when a user pool is created.
    "AWS::Cognito::UserPool": (
        ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration"),
        "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html",
    ),
    # "If you change the value of the KeyUsage, KeySpec, or MultiRegion property of an existing
    # KMS key, the existing KMS key is scheduled for deletion and a new KMS key is created".
    "AWS::KMS::Key": (
        ("KeySpec", "KeyUsage", "MultiRegion", "Origin"),
        "https://docs.aws.amazon.com/kms/latest/developerguide/creating-resources-with-cloudformation.html",
    ),
}

# Types that hold what a user cannot get back, beyond cfn-lint's list (why, for each).
EXTRA_STATEFUL: dict[str, str] = {
    "AWS::ECR::Repository": "its images are deleted with it",
    "AWS::Lightsail::Instance": "the site's disk (WordPress content, uploads) goes with it",
    "AWS::Lightsail::Disk": "a block-storage disk",
    "AWS::Lightsail::Database": "a managed database",
    "AWS::Lightsail::Bucket": "an object store",
    "AWS::Lightsail::StaticIp": "a released address cannot be had back; DNS points at it",
}

# Types whose DeletionPolicy may be Snapshot (the CloudFormation DeletionPolicy attribute page).
SNAPSHOT_TYPES = frozenset(
    {
        "AWS::DocDB::DBCluster",
        "AWS::EC2::Volume",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::ServerlessCache",
        "AWS::Neptune::DBCluster",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::Redshift::Cluster",
    }
)


@dataclass(frozen=True)
class TypeRules:
    """What a change to a resource of one type does."""

    type: str
    create_only: tuple[tuple[str, ...], ...]  # property paths, e.g. ("KeySchema",)
    conditional: tuple[tuple[str, ...], ...]
    stateful: bool
    source: str  # where the replacing properties come from

    def replacing(self, path: tuple[str, ...]) -> str | None:
        """ "replace" if a change at ``path`` (under Properties) replaces the resource,
        "conditional" if it may, else None. A change above or below a listed path counts."""
        if any(_overlaps(path, p) for p in self.create_only):
            return "replace"
        if any(_overlaps(path, p) for p in self.conditional):
            return "conditional"
        return None


def _overlaps(changed: tuple[str, ...], listed: tuple[str, ...]) -> bool:
    return all(a == b or b == "*" for a, b in zip(changed, listed, strict=False))


def _pointer(path: str) -> tuple[str, ...]:
    parts = path.split("/")[2:]  # "/properties/A/B" -> ("A", "B")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in parts)


@functools.cache
def _index() -> dict[str, str]:
    return dict(json.loads(_PROVIDERS.read_text()))


@functools.cache
def stateful_types() -> frozenset[str]:
    return frozenset(json.loads(_STATEFUL.read_text())["ResourceTypes"]) | frozenset(EXTRA_STATEFUL)


@functools.cache
def rules(resource_type: str) -> TypeRules:
    """The rules for ``resource_type``; a type without a schema (``Custom::...``) has none."""
    schema: dict[str, list[str]] = {}
    name = _index().get(resource_type)
    if name is not None:
        schema = json.loads((_RESOURCES / f"{name}.json").read_text())
    create_only = [_pointer(p) for p in schema.get("createOnlyProperties", [])]
    source = "provider schema (cfn-lint)"
    documented = DOCUMENTED_REPLACEMENTS.get(resource_type)
    if documented is not None:
        create_only += [(prop,) for prop in documented[0]]
        source = f"provider schema (cfn-lint) and {documented[1]}"
    return TypeRules(
        type=resource_type,
        create_only=tuple(create_only),
        conditional=tuple(_pointer(p) for p in schema.get("conditionalCreateOnlyProperties", [])),
        stateful=resource_type in stateful_types(),
        source=source,
    )
