"""Whether a change widens access: new IAM grants, or new security-group / firewall openings.

A policy document is split into atoms (effect, principal, action, resource, condition); an
Allow atom the old document lacks widens access, unless an old atom grants the same with fewer
conditions (an added condition narrows). A firewall rule is an atom as it is written, less its
description. Intrinsics (Ref, Fn::*) are compared as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

# Type -> the property paths holding a policy document ("*" = every element of a list).
POLICY_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::IAM::Policy": (("PolicyDocument",),),
    "AWS::IAM::ManagedPolicy": (("PolicyDocument",),),
    "AWS::IAM::Role": (("AssumeRolePolicyDocument",), ("Policies", "*", "PolicyDocument")),
    "AWS::IAM::User": (("Policies", "*", "PolicyDocument"),),
    "AWS::IAM::Group": (("Policies", "*", "PolicyDocument"),),
    "AWS::S3::BucketPolicy": (("PolicyDocument",),),
    "AWS::SQS::QueuePolicy": (("PolicyDocument",),),
    "AWS::SNS::TopicPolicy": (("PolicyDocument",),),
    "AWS::KMS::Key": (("KeyPolicy",),),
    "AWS::SecretsManager::ResourcePolicy": (("ResourcePolicy",),),
    "AWS::ECR::Repository": (("RepositoryPolicyText",),),
    "AWS::ApiGateway::RestApi": (("Policy",),),
    "AWS::Logs::ResourcePolicy": (("PolicyDocument",),),
}
# Types that are a grant in themselves: a new or changed one lets someone do something.
GRANT_TYPES = frozenset({"AWS::Lambda::Permission", "AWS::Lambda::Url"})
# Type -> the property paths holding firewall rules (lists of rule objects).
RULE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::EC2::SecurityGroup": (("SecurityGroupIngress",), ("SecurityGroupEgress",)),
    "AWS::Lightsail::Instance": (("Networking", "Ports"),),
}
RULE_TYPES = frozenset({"AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"})

Atom = tuple[str, str, str, str, str]


def _at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield value
    elif path[0] == "*":
        for item in value if isinstance(value, list) else []:
            yield from _at(item, path[1:])
    elif isinstance(value, dict) and path[0] in value:
        yield from _at(value[path[0]], path[1:])


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def policy_atoms(document: Any) -> set[Atom]:
    if isinstance(document, str):  # Logs resource policies are JSON strings
        try:
            document = json.loads(document)
        except ValueError:
            return {("?", "", "", document, "")}
    atoms = set()
    for statement in _listed(document.get("Statement", []) if isinstance(document, dict) else []):
        if not isinstance(statement, dict):
            continue
        principal = _key(statement.get("Principal") or statement.get("NotPrincipal") or "")
        actions = _listed(statement.get("Action") or statement.get("NotAction") or [])
        targets = _listed(statement.get("Resource") or statement.get("NotResource") or [""])
        condition = _key(statement.get("Condition") or {})
        effect = str(statement.get("Effect", "Allow"))
        for action in actions:
            for target in targets:
                atoms.add((effect, principal, _key(action), _key(target), condition))
    return atoms


def _narrower(atom: Atom, old: set[Atom]) -> bool:
    """An old atom grants the same with a subset of ``atom``'s conditions."""
    effect, principal, action, target, condition = atom
    conditions = json.loads(condition)
    for o_effect, o_principal, o_action, o_target, o_condition in old:
        if (o_effect, o_principal, o_action, o_target) != (effect, principal, action, target):
            continue
        old_conditions = json.loads(o_condition)
        if all(
            conditions.get(op, {}).get(k) == v
            for op, kv in old_conditions.items()
            for k, v in kv.items()
        ):
            return True
    return False


def _rules(resource_type: str, props: dict[str, Any]) -> set[str]:
    if resource_type in RULE_TYPES:
        rule = {k: v for k, v in props.items() if k != "Description"}
        return {_key(rule)} if rule else set()
    found = set()
    for path in RULE_PATHS.get(resource_type, ()):
        for rules in _at(props, path):
            for rule in _listed(rules):
                if isinstance(rule, dict):
                    found.add(_key({k: v for k, v in rule.items() if k != "Description"}))
    return found


def _describe_rule(rule: str) -> str:
    data = json.loads(rule)
    source = next(
        (
            data[k]
            for k in (
                "CidrIp",
                "CidrIpv6",
                "Cidrs",
                "SourceSecurityGroupId",
                "DestinationSecurityGroupId",
                "CidrIpv6s",
                "SourcePrefixListId",
            )
            if k in data
        ),
        "?",
    )
    ports = data.get("FromPort"), data.get("ToPort")
    port = ports[0] if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
    protocol = data.get("IpProtocol") or data.get("Protocol") or "?"
    return f"{protocol}:{port} {_key(source) if not isinstance(source, str) else source}"


def widening(resource_type: str, old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What ``new`` (properties) opens that ``old`` (None: the resource is new) did not."""
    found: list[str] = []
    before = old or {}
    if resource_type in GRANT_TYPES and before != new:
        principal = new.get("Principal", "?")
        found.append(f"grant {new.get('Action', '?')} to {_key(principal).strip(chr(34))}")
    for path in POLICY_PATHS.get(resource_type, ()):
        old_atoms = {a for doc in _at(before, path) for a in policy_atoms(doc)}
        new_atoms = {a for doc in _at(new, path) for a in policy_atoms(doc)}
        added = sorted(
            a for a in new_atoms - old_atoms if a[0] == "Allow" and not _narrower(a, old_atoms)
        )
        removed_denies = sorted(a for a in old_atoms - new_atoms if a[0] == "Deny")
        actions = sorted({json.loads(a[2]) for a in added if isinstance(json.loads(a[2]), str)})
        if added:
            shown = ", ".join(actions[:3]) + (f" +{len(actions) - 3}" if len(actions) > 3 else "")
            found.append(f"allows +{len(added)} ({shown or 'see template'})")
        if removed_denies:
            found.append(f"drops {len(removed_denies)} Deny")
    opened = sorted(_rules(resource_type, new) - _rules(resource_type, before))
    if opened:
        shown = ", ".join(_describe_rule(r) for r in opened[:2])
        found.append(f"opens {shown}" + (f" +{len(opened) - 2}" if len(opened) > 2 else ""))
    return found
