"""The override contract of every construct here (Solutions Constructs' ``CheckProps`` and
``consolidateProps``): ``check_props`` refuses an existing resource given with the props of the
one the construct would create (they would be dropped); ``consolidate_props`` merges a caller's
``*_props`` over the defaults, refusing the keys the construct's own code depends on (owned)
and reporting, as a CDK warning, a secure default the caller turned off."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .checks import ConfigError
from .defaults import merge_props


def check_props(resource: str, given: object | None, props: str, overrides: object) -> None:
    """Refuse ``resource=`` (an existing one) together with ``props=`` (the props of the one the
    construct would otherwise create): nothing is created, so the props would do nothing."""
    if given is not None and overrides:
        raise ConfigError(
            f"{resource} and {props} given together: {props} configures the resource the "
            f"construct creates, and none is created when {resource} is given; configure the "
            f"existing resource itself, or drop {resource} to have one created"
        )


@dataclass(frozen=True)
class SecureDefault:
    """A default that keeps a resource secure: ``key`` of the props, what it ``means``, and
    ``secure(value)``, False for a value that turns it off."""

    key: str
    means: str
    secure: Callable[[Any], bool] = bool


def consolidate_props(
    scope: Construct,
    props: str,
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    *,
    owned: Mapping[str, str] | None = None,
    secure: tuple[SecureDefault, ...] = (),
) -> dict[str, Any]:
    """``merge_props(defaults, overrides)`` once ``overrides`` (the caller's ``props``) has been
    checked: a key in ``owned`` (key -> why the construct owns it) is refused in one line; a
    ``secure`` default that was secure and that the caller turns off is allowed, and reported as
    a warning on ``scope`` naming the default and the prop."""
    given = overrides or {}
    for key, why in (owned or {}).items():
        if key in given:
            raise ConfigError(
                f"{props}[{key!r}]: owned by the construct ({why}); it cannot be overridden"
            )
    for default in secure:
        if (
            default.key in given
            and default.secure(defaults.get(default.key))
            and not default.secure(given[default.key])
        ):
            Annotations.of(scope).add_warning_v2(
                f"house:props:{props}.{default.key}",
                f"{props}[{default.key!r}] turns off a secure default: {default.means}",
            )
    return merge_props(defaults, overrides)


def _pitr_on(value: Any) -> bool:
    return bool(value is not None and value.point_in_time_recovery_enabled)


def _blocks_all(value: Any) -> bool:
    return value is not None and all(
        getattr(value, flag)
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )


# What secure_table_props and secure_bucket_props (storage.py) turn on.
SECURE_TABLE = (
    SecureDefault(
        "encryption",
        "encryption with a KMS key (AWS managed) whose use CloudTrail records",
        lambda v: (
            v in (dynamodb.TableEncryption.AWS_MANAGED, dynamodb.TableEncryption.CUSTOMER_MANAGED)
        ),
    ),
    SecureDefault(
        "point_in_time_recovery_specification",
        "point-in-time recovery (restore to any second of the last 35 days)",
        _pitr_on,
    ),
    SecureDefault("deletion_protection", "deletion protection (the table cannot be deleted)"),
)
SECURE_BUCKET = (
    SecureDefault(
        "encryption",
        "default encryption at rest",
        lambda v: v is not None and v != s3.BucketEncryption.UNENCRYPTED,
    ),
    SecureDefault("block_public_access", "all public access blocked", _blocks_all),
    SecureDefault("enforce_ssl", "TLS-only access (aws:SecureTransport)"),
    SecureDefault("versioned", "versioning (an overwritten or deleted object is kept)"),
    SecureDefault(
        "object_ownership",
        "ACLs off (bucket owner enforced)",
        lambda v: v == s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    ),
)
# The construct's removal_policy argument decides these; a props value would disagree with it.
REMOVAL_OWNED = {"removal_policy": "set by the construct's removal_policy argument"}
