"""Storage: the props every DynamoDB table and S3 bucket here starts from
(``secure_table_props``, ``secure_bucket_props``) and the bucket that receives access logs
(``access_logs_bucket``, with ``ACCESS_LOGS_BY_BUCKET_POLICY``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .exceptions import exempt, exempt_bucket_extras, exempt_table_backup, exempt_table_key
from .props import REMOVAL_OWNED, SECURE_BUCKET, SECURE_TABLE, consolidate_props


def secure_table_props(removal_policy: RemovalPolicy) -> dict[str, Any]:
    """The props every table here starts from: on-demand (no capacity to size, pay per
    request), encrypted, point-in-time recovery, deletion protection unless the caller asked for
    DESTROY. Add the keys and TTL, then merge the caller's ``table_props`` over them."""
    return {
        "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
        "encryption": dynamodb.TableEncryption.AWS_MANAGED,
        "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        "deletion_protection": removal_policy != RemovalPolicy.DESTROY,
        "removal_policy": removal_policy,
    }


# Server access logs are delivered by bucket policy, not by the log-delivery ACL (ACLs are off on
# every bucket here). A construct that logs a bucket sets this on its own subtree, first thing in
# its __init__, so it behaves the same in an app whose cdk.json lacks the flag.
ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def secure_bucket_props(removal_policy: RemovalPolicy) -> dict[str, Any]:
    """The props every bucket here starts from: SSE-S3, all public access blocked, ACLs off
    (bucket owner enforced), TLS 1.2+ only. Merge a bucket's own props over them."""
    return {
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "removal_policy": removal_policy,
    }


def access_logs_bucket(
    scope: Construct,
    id: str,
    *,
    logs_of: str,
    removal_policy: RemovalPolicy,
    expiration: Duration,
    bucket_props: Mapping[str, Any] | None = None,
) -> s3.Bucket:
    """A bucket that receives access logs (S3 server access logs, load balancer logs): the
    secure defaults with SSE-S3, the only encryption log delivery writes to, and logs expired
    after ``expiration``. Its own access is not logged, and cdk-nag is told why."""
    bucket = s3.Bucket(
        scope,
        id,
        **consolidate_props(
            scope,
            "bucket_props",
            {
                **secure_bucket_props(removal_policy),
                # Versions keep a log that is overwritten or deleted for a day: tamper evidence.
                "versioned": True,
                "lifecycle_rules": [
                    s3.LifecycleRule(
                        id="ExpireLogs",
                        expiration=expiration,
                        noncurrent_version_expiration=Duration.days(1),
                        abort_incomplete_multipart_upload_after=Duration.days(1),
                    )
                ],
            },
            bucket_props,
            owned=REMOVAL_OWNED,
            secure=SECURE_BUCKET,
        ),
    )
    exempt(
        bucket,
        f"This bucket receives the access logs of {logs_of}; logging its own access would need "
        "another log bucket, and that one another. It is private, TLS-only and expires logs.",
        nag="AwsSolutions-S1",
        guard="s3_bucket_logging_enabled_check",
        checkov="CKV_AWS_18",
    )
    exempt(
        bucket,
        "Log delivery (S3 server access logs, ELB) writes only to SSE-S3 buckets; a KMS key "
        "is not an option for a log bucket.",
        guard="s3_bucket_default_encryption_kms_check",
    )
    exempt_bucket_extras(bucket, f"the access logs of {logs_of}, expired by a lifecycle rule")
    return bucket


def house_table(
    scope: Construct,
    id: str,
    *,
    keys: Mapping[str, Any],
    owned: Mapping[str, str],
    holds: str,
    removal_policy: RemovalPolicy,
    table_props: Mapping[str, Any] | None,
) -> dynamodb.Table:
    """The table recipe every pattern here shares: ``keys`` (partition and sort key, TTL
    attribute: what the handler reads and writes, so ``owned`` with the reason) over the secure
    defaults, the caller's ``table_props`` over both through the override contract, and the
    table's key and backup exemptions, saying what it ``holds``."""
    table = dynamodb.Table(
        scope,
        id,
        **consolidate_props(
            scope,
            "table_props",
            {**keys, **secure_table_props(removal_policy)},
            table_props,
            owned={**REMOVAL_OWNED, **owned},
            secure=SECURE_TABLE,
        ),
    )
    exempt_table_key(table, holds=holds)
    exempt_table_backup(table, holds=holds)
    return table


def logged_bucket(
    scope: Construct,
    id: str,
    *,
    props: str,
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    access_logs: Callable[[], s3.IBucket],
    log_prefix: str,
    removal_policy: RemovalPolicy,
    encryption_reason: str,
) -> s3.Bucket:
    """The data-bucket recipe every pattern here shares: the secure defaults, server access
    logs to ``access_logs()`` under ``log_prefix`` (called only when the caller's ``props`` name
    no log bucket of their own, so none is created for nothing), ``defaults`` and the caller's
    props over them through the override contract, and the SSE-S3 exemption with its reason."""
    logging: dict[str, Any] = {}
    if "server_access_logs_bucket" not in (overrides or {}):
        logging = {
            "server_access_logs_bucket": access_logs(),
            "server_access_logs_prefix": log_prefix,
        }
    bucket = s3.Bucket(
        scope,
        id,
        **consolidate_props(
            scope,
            props,
            {**secure_bucket_props(removal_policy), **logging, **defaults},
            overrides,
            owned=REMOVAL_OWNED,
            secure=SECURE_BUCKET,
        ),
    )
    exempt(bucket, encryption_reason, guard="s3_bucket_default_encryption_kms_check")
    return bucket
