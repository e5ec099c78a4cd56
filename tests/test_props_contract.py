"""The override contract of every construct (stacks/shared/props.py): an existing resource
with the props of the one it replaces is refused, the keys a construct owns are refused in its
``*_props``, and turning a secure default off is allowed but warned about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lightsail as lightsail
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match

from stacks.batch_jobs import BatchJobQueue
from stacks.container_service import ContainerRepository
from stacks.github_oidc import GitHubOidcRole
from stacks.lightsail_site import LightsailSite
from stacks.scheduled_job import TableExportJob
from stacks.serverless_api import ServerlessApi
from stacks.shared import ConfigError, access_logs_bucket
from stacks.thumbnails import ThumbnailPipeline
from stacks.websocket_api import WebSocketApi

ENV = Environment(account="111122223333", region="eu-west-1")


def _stack() -> Stack:
    return Stack(App(), "S", env=ENV)


def _table(stack: Stack) -> dynamodb.ITable:
    return dynamodb.Table.from_table_name(stack, "Existing", "existing")


def _bucket(stack: Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "Existing", "existing-bucket")


def _pool(stack: Stack) -> cognito.IUserPool:
    return cognito.UserPool.from_user_pool_id(stack, "Existing", "eu-west-1_AbCdEf123")


def _oidc(stack: Stack, **kwargs: Any) -> GitHubOidcRole:
    return GitHubOidcRole(
        stack, "Role", repository="org/repo", branch="main", deploy_to=[ENV], **kwargs
    )


# -- an existing resource with its props -------------------------------------------------------

Build = Callable[[Stack], object]
TOGETHER: dict[str, tuple[Build, str, str]] = {
    "ServerlessApi table": (
        lambda s: ServerlessApi(s, "C", table=_table(s), table_props={"table_class": None}),
        "table",
        "table_props",
    ),
    "ServerlessApi user_pool": (
        lambda s: ServerlessApi(s, "C", user_pool=_pool(s), user_pool_props={"mfa": None}),
        "user_pool",
        "user_pool_props",
    ),
    "ServerlessApi create_user_pool": (
        lambda s: ServerlessApi(s, "C", create_user_pool=False, user_pool_props={"mfa": None}),
        "create_user_pool=False",
        "user_pool_props",
    ),
    "WebSocketApi table": (
        lambda s: WebSocketApi(s, "C", table=_table(s), table_props={"table_class": None}),
        "table",
        "table_props",
    ),
    "TableExportJob table": (
        lambda s: TableExportJob(s, "C", table=_table(s), table_props={"table_class": None}),
        "table",
        "table_props",
    ),
    "TableExportJob bucket": (
        lambda s: TableExportJob(s, "C", bucket=_bucket(s), bucket_props={"versioned": True}),
        "bucket",
        "bucket_props",
    ),
    "ThumbnailPipeline source_bucket": (
        lambda s: ThumbnailPipeline(
            s, "C", source_bucket=_bucket(s), source_bucket_props={"versioned": True}
        ),
        "source_bucket",
        "source_bucket_props",
    ),
    "ThumbnailPipeline destination_bucket": (
        lambda s: ThumbnailPipeline(
            s, "C", destination_bucket=_bucket(s), destination_bucket_props={"versioned": True}
        ),
        "destination_bucket",
        "destination_bucket_props",
    ),
    "BatchJobQueue bucket": (
        lambda s: BatchJobQueue(s, "C", bucket=_bucket(s), bucket_props={"versioned": True}),
        "bucket",
        "bucket_props",
    ),
}


@pytest.mark.parametrize("case", TOGETHER)
def test_an_existing_resource_with_its_props_is_refused(case: str) -> None:
    build, resource, props = TOGETHER[case]
    with pytest.raises(ConfigError) as raised:
        build(_stack())
    message = str(raised.value)
    assert message.startswith(f"{resource} and {props} given together: ")
    assert "\n" not in message
    assert "drop" in message


def _with(construct: Callable[..., object], **kwargs: Any) -> Build:
    """Build ``construct`` with ``kwargs`` (bound now, not when the comprehension ends)."""
    return lambda stack: construct(stack, "C", **kwargs)


# -- keys a construct owns ---------------------------------------------------------------------

_KEY = dynamodb.Attribute(name="other", type=dynamodb.AttributeType.STRING)
OWNED: dict[str, tuple[Build, str, str]] = {
    **{
        f"ServerlessApi {key}": (
            _with(ServerlessApi, table_props={key: value}),
            "table_props",
            key,
        )
        for key, value in (
            ("partition_key", _KEY),
            ("sort_key", _KEY),
            ("time_to_live_attribute", "ttl"),
            ("removal_policy", RemovalPolicy.DESTROY),
        )
    },
    "ServerlessApi user pool removal_policy": (
        lambda s: ServerlessApi(s, "C", user_pool_props={"removal_policy": RemovalPolicy.DESTROY}),
        "user_pool_props",
        "removal_policy",
    ),
    **{
        f"WebSocketApi {key}": (
            _with(WebSocketApi, table_props={key: value}),
            "table_props",
            key,
        )
        for key, value in (
            ("partition_key", _KEY),
            ("sort_key", _KEY),
            ("time_to_live_attribute", "ttl"),
        )
    },
    "TableExportJob table removal_policy": (
        lambda s: TableExportJob(s, "C", table_props={"removal_policy": RemovalPolicy.DESTROY}),
        "table_props",
        "removal_policy",
    ),
    "TableExportJob bucket removal_policy": (
        lambda s: TableExportJob(s, "C", bucket_props={"removal_policy": RemovalPolicy.DESTROY}),
        "bucket_props",
        "removal_policy",
    ),
    "ThumbnailPipeline source removal_policy": (
        lambda s: ThumbnailPipeline(
            s, "C", source_bucket_props={"removal_policy": RemovalPolicy.DESTROY}
        ),
        "source_bucket_props",
        "removal_policy",
    ),
    "BatchJobQueue bucket removal_policy": (
        lambda s: BatchJobQueue(s, "C", bucket_props={"removal_policy": RemovalPolicy.DESTROY}),
        "bucket_props",
        "removal_policy",
    ),
    **{
        f"ContainerRepository {key}": (
            _with(ContainerRepository, repository_props={key: value}),
            "repository_props",
            key,
        )
        for key, value in (
            ("repository_name", "other"),
            ("encryption", ecr.RepositoryEncryption.KMS),
            ("empty_on_delete", True),
            ("removal_policy", RemovalPolicy.DESTROY),
        )
    },
    **{
        f"LightsailSite {props} {key}": (
            _with(
                LightsailSite,
                load_balancer=True,
                database=True,
                media_bucket=True,
                **{props: {key: "x"}},
            ),
            props,
            key,
        )
        for props, key in (
            ("instance_props", "instance_name"),
            ("instance_props", "availability_zone"),
            ("instance_props", "blueprint_id"),
            ("instance_props", "bundle_id"),
            ("load_balancer_props", "load_balancer_name"),
            ("load_balancer_props", "attached_instances"),
            ("database_props", "relational_database_name"),
            ("bucket_props", "bucket_name"),
        )
    },
    "GitHubOidcRole assumed_by": (
        lambda s: _oidc(s, role_props={"assumed_by": None}),
        "role_props",
        "assumed_by",
    ),
    "access_logs_bucket removal_policy": (
        lambda s: access_logs_bucket(
            s,
            "Logs",
            logs_of="x",
            removal_policy=RemovalPolicy.RETAIN,
            expiration=Duration.days(1),
            bucket_props={"removal_policy": RemovalPolicy.DESTROY},
        ),
        "bucket_props",
        "removal_policy",
    ),
}


@pytest.mark.parametrize("case", OWNED)
def test_an_owned_key_in_the_props_is_refused(case: str) -> None:
    build, props, key = OWNED[case]
    with pytest.raises(ConfigError) as raised:
        build(_stack())
    message = str(raised.value)
    assert message.startswith(f"{props}[{key!r}]: owned by the construct (")
    assert message.endswith("it cannot be overridden")
    assert "\n" not in message


# -- secure defaults turned off, and harmless overrides ---------------------------------------

_TABLE_OFF = {
    "encryption": dynamodb.TableEncryption.DEFAULT,
    "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=False
    ),
    "deletion_protection": False,
}
_BUCKET_OFF = {
    "block_public_access": s3.BlockPublicAccess.BLOCK_ACLS,
    "enforce_ssl": False,
    "minimum_tls_version": None,  # CDK applies a minimum TLS version only with enforce_ssl
    "versioned": False,
    "object_ownership": s3.ObjectOwnership.OBJECT_WRITER,
}
_LIFECYCLE = {"lifecycle_rules": [s3.LifecycleRule(id="Old", expiration=Duration.days(400))]}


def _off(stack: Stack) -> None:
    """Every construct, each with every secure default its props can turn off turned off."""
    ServerlessApi(
        stack,
        "Api",
        create_cloudwatch_role=False,
        table_props=_TABLE_OFF,
        user_pool_props={
            "mfa": cognito.Mfa.OPTIONAL,
            "self_sign_up_enabled": True,
            "deletion_protection": False,
        },
    )
    WebSocketApi(stack, "Chat", create_cloudwatch_role=False, table_props=_TABLE_OFF)
    TableExportJob(stack, "Export", table_props=_TABLE_OFF, bucket_props=_BUCKET_OFF)
    ThumbnailPipeline(
        stack, "Thumbs", source_bucket_props=_BUCKET_OFF, destination_bucket_props=_BUCKET_OFF
    )
    BatchJobQueue(stack, "Batch", bucket_props=_BUCKET_OFF)
    ContainerRepository(
        stack,
        "Repo",
        repository_props={
            "image_scan_on_push": False,
            "image_tag_mutability": ecr.TagMutability.MUTABLE,
        },
    )
    LightsailSite(
        stack,
        "Site",
        database=True,
        media_bucket=True,
        database_props={"publicly_accessible": True, "backup_retention": False},
        bucket_props={
            "object_versioning": False,
            "access_rules": lightsail.CfnBucket.AccessRulesProperty(
                object_access="public", allow_public_overrides=True
            ),
        },
    )
    access_logs_bucket(
        stack,
        "Logs",
        logs_of="x",
        removal_policy=RemovalPolicy.RETAIN,
        expiration=Duration.days(1),
        bucket_props={"encryption": s3.BucketEncryption.UNENCRYPTED},
    )


def _harmless(stack: Stack) -> None:
    """Every construct with an override that keeps each secure default, and DESTROY (which
    turns deletion protection off by the construct's own argument, not the props)."""
    ServerlessApi(
        stack,
        "Api",
        create_cloudwatch_role=False,
        removal_policy=RemovalPolicy.DESTROY,
        table_props={"table_class": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS},
        user_pool_props={"mfa": cognito.Mfa.REQUIRED, "user_pool_name": "items"},
    )
    WebSocketApi(
        stack,
        "Chat",
        create_cloudwatch_role=False,
        table_props={"contributor_insights_enabled": True},
    )
    TableExportJob(
        stack,
        "Export",
        table_props={"encryption": dynamodb.TableEncryption.CUSTOMER_MANAGED},
        bucket_props={"encryption": s3.BucketEncryption.KMS},
    )
    ThumbnailPipeline(
        stack, "Thumbs", source_bucket_props=_LIFECYCLE, destination_bucket_props=_LIFECYCLE
    )
    # Not versioned by default: versioning off there is no change.
    BatchJobQueue(stack, "Batch", bucket_props={"versioned": False, **_LIFECYCLE})
    ContainerRepository(stack, "Repo", repository_props={"image_scan_on_push": True})
    LightsailSite(
        stack, "Site", database=True, database_props={"preferred_backup_window": "01:00-01:30"}
    )
    _oidc(stack, role_props={"max_session_duration": Duration.hours(2)})


@pytest.fixture(scope="module")
def warnings_of() -> dict[str, Annotations]:
    app = App()
    off, harmless = Stack(app, "Off", env=ENV), Stack(app, "Harmless", env=ENV)
    _off(off)
    _harmless(harmless)
    return {"off": Annotations.from_stack(off), "harmless": Annotations.from_stack(harmless)}


WARNINGS = [
    *[
        (path, "table_props", key)
        for path in ("Api", "Chat", "Export")
        for key in ("encryption", "point_in_time_recovery_specification", "deletion_protection")
    ],
    ("Api", "user_pool_props", "mfa"),
    ("Api", "user_pool_props", "self_sign_up_enabled"),
    ("Api", "user_pool_props", "deletion_protection"),
    *[
        (path, props, key)
        for path, props in (
            ("Export", "bucket_props"),
            ("Thumbs", "source_bucket_props"),
            ("Thumbs", "destination_bucket_props"),
            ("Batch", "bucket_props"),
        )
        for key in ("block_public_access", "enforce_ssl", "object_ownership")
    ],
    ("Export", "bucket_props", "versioned"),
    ("Thumbs", "source_bucket_props", "versioned"),
    ("Repo", "repository_props", "image_scan_on_push"),
    ("Repo", "repository_props", "image_tag_mutability"),
    ("Site", "database_props", "publicly_accessible"),
    ("Site", "database_props", "backup_retention"),
    ("Site", "bucket_props", "object_versioning"),
    ("Site", "bucket_props", "access_rules"),
    ("", "bucket_props", "encryption"),  # access_logs_bucket warns on its scope, the stack
]


@pytest.mark.parametrize(("path", "props", "key"), WARNINGS)
def test_a_secure_default_turned_off_is_warned_about(
    warnings_of: dict[str, Annotations], path: str, props: str, key: str
) -> None:
    warnings_of["off"].has_warning(
        f"/Off/{path}".rstrip("/"),
        Match.string_like_regexp(
            rf"^{props}\['{key}'\] turns off a secure default: .+ "
            rf"\[ack: house:props:{props}\.{key}\]$"
        ),
    )


def test_a_harmless_override_is_accepted_without_a_warning(
    warnings_of: dict[str, Annotations],
) -> None:
    warnings_of["harmless"].has_no_warning("*", Match.string_like_regexp("secure default"))
    warnings_of["off"].has_warning("*", Match.string_like_regexp("secure default"))
    # Neither the destination bucket nor the batch bucket is versioned: nothing to turn off.
    for path, props in (("Thumbs", "destination_bucket_props"), ("Batch", "bucket_props")):
        warnings_of["off"].has_no_warning(
            f"/Off/{path}", Match.string_like_regexp(rf"{props}\['versioned'\]")
        )
