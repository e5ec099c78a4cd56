"""Thumbnail pipeline: S3 upload -> Lambda (container image, Pillow) -> thumbnails in S3.

``ThumbnailPipeline`` is the reusable construct; ``ThumbnailsStack`` wires it for ``cdk deploy``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from .shared import (
    ACCESS_LOGS_BY_BUCKET_POLICY,
    DEFAULT_LOG_RETENTION,
    REMOVAL_OWNED,
    S3_BUCKET_NAME,
    SECURE_BUCKET,
    Alarms,
    ConfigError,
    ContextConfig,
    QueueFailureDestination,
    access_logs_bucket,
    acknowledge,
    check_props,
    consolidate_props,
    dead_letter_queue,
    ensure_alarm_topic,
    exempt,
    exempt_bucket_replication,
    exempt_cdk_provider,
    exempt_inline_policies,
    function_role_and_logs,
    nag_text,
    secure_bucket_props,
)

DEFAULT_CODE_PATH = Path(__file__).resolve().parent.parent / "containers" / "thumbnail"
DEFAULT_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp")
OUTPUT_FORMATS = ("JPEG", "PNG", "WEBP")
# The id CDK gives the one Lambda per stack that writes S3 bucket notification configurations.
_NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


class ThumbnailPipeline(Construct):
    """Thumbnails of every image uploaded under a prefix of one bucket, written to another.

    Builds: a source bucket and a destination bucket (unless given), a bucket for their server
    access logs (unless given, or no bucket is created), a Lambda function from the container
    image in ``containers/thumbnail`` (Pillow; arm64), S3 ObjectCreated notifications for
    ``source_prefix`` and each of ``suffixes`` (both cases), an encrypted SQS queue receiving
    events that still fail after Lambda's retries, and alarms on function errors and throttles,
    failed events and failed deliveries to the queue.

    Secure defaults: the function reads objects under ``source_prefix`` of the source bucket
    only and writes objects under ``destination_prefix`` of the destination bucket only; the two
    buckets must differ, so the function can never trigger itself. Created buckets are
    encrypted (SSE-S3), block all public access, deny non-TLS (and TLS < 1.2) requests, write
    server access logs, abort incomplete multipart uploads, and are retained unless
    ``removal_policy`` says otherwise; the source bucket is versioned (old versions expire after
    ``noncurrent_version_expiration``). The queue is encrypted and TLS-only. The function has
    its own role, JSON logs kept ``log_retention``, and X-Ray tracing; the handler rejects
    decompression bombs (``max_pixels``) and oversized files (``max_bytes``).

    Cost drivers: Lambda duration (``memory_size`` MB arm64 per image, roughly 0.1-0.5 s for a
    12 MP JPEG at the default widths), S3 storage and requests (one GET per upload, one PUT per
    width), ECR storage of the image, and fixed items: the alarms ($0.10 each/month) and the
    alarm topic's KMS key (about $1/month). It scales with uploads: one invocation per object,
    concurrency capped only by ``reserved_concurrency`` (if set) and the account.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source_bucket: s3.IBucket | None = None,
        source_bucket_props: Mapping[str, Any] | None = None,
        destination_bucket: s3.IBucket | None = None,
        destination_bucket_props: Mapping[str, Any] | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_retention: Duration | None = None,
        noncurrent_version_expiration: Duration | None = None,
        source_prefix: str = "uploads/",
        suffixes: Sequence[str] = DEFAULT_SUFFIXES,
        destination_prefix: str = "thumbnails/",
        widths: Sequence[int] = (160, 640),
        output_format: str | None = None,
        quality: int = 85,
        max_pixels: int = 50_000_000,
        max_bytes: int = 50 * 1024 * 1024,
        code_path: str | Path = DEFAULT_CODE_PATH,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        memory_size: int = 1024,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
        retry_attempts: int = 2,
        max_event_age: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """
        :param source_bucket: an existing bucket whose uploads get thumbnails. Its own
            encryption, logging and policies are the caller's; a KMS key given with
            ``Bucket.from_bucket_attributes(encryption_key=...)`` gets kms:Decrypt granted.
        :param source_bucket_props: ``s3.Bucket`` keyword arguments merged over the defaults.
        :param destination_bucket: an existing bucket for the thumbnails (not the source).
        :param destination_bucket_props: ``s3.Bucket`` keyword arguments merged over the defaults.
        :param access_logs_bucket: where created buckets write server access logs; a bucket is
            created for them when not given. An imported bucket's policy must already admit
            ``logging.s3.amazonaws.com`` (CDK can only add that to a bucket it creates).
        :param access_logs_retention: how long created access logs are kept (default 365 days).
        :param noncurrent_version_expiration: how long replaced or deleted originals are kept in
            the created source bucket (default 30 days).
        :param source_prefix: only keys under it trigger the function ("" for the whole bucket).
        :param suffixes: file name endings that trigger it; each is matched in lower and upper
            case (S3 filters are case-sensitive). No suffix may end with another.
        :param destination_prefix: thumbnails go to ``<destination_prefix><width>/<key>``.
        :param widths: thumbnail widths in pixels; height keeps the aspect ratio, never upscaled.
        :param output_format: JPEG, PNG or WEBP for every thumbnail; None keeps the source's
            format (GIF becomes PNG, others JPEG, or PNG when transparent).
        :param quality: JPEG/WebP quality (1-100).
        :param max_pixels: images with more pixels are skipped (decompression-bomb guard).
        :param max_bytes: larger objects are skipped without being read.
        :param code_path: folder with the Dockerfile (default ``containers/thumbnail``).
        :param memory_size: function memory in MB; CPU share grows with it.
        :param timeout: per invocation (default 60 s).
        :param reserved_concurrency: cap on concurrent executions, so an upload burst cannot
            use up the account's concurrency. Throttled S3 events wait and are retried by Lambda
            for up to ``max_event_age``. None (default): no cap.
        :param retry_attempts: Lambda's retries of a failed event (0-2) before the queue.
        :param max_event_age: how long Lambda keeps retrying or queueing an event (default 6 h).
        :param removal_policy: for created buckets, the queue and log groups. RETAIN by default;
            DESTROY fails on buckets that still hold objects (empty them first).
        :param log_retention: how long the function's logs are kept.
        :param alarm_topic: an existing topic for alarms; one is created when not given.
        :param alarm_email: an address to subscribe to the alarm topic (confirm by e-mail).
        """
        super().__init__(scope, id)
        self.node.set_context(ACCESS_LOGS_BY_BUCKET_POLICY, True)
        widths = sorted(set(widths))
        if not widths or any(w < 1 or w > 10_000 for w in widths):
            raise ConfigError(f"widths must be 1..10000 pixels, got {widths}")
        if output_format is not None and output_format.upper() not in OUTPUT_FORMATS:
            raise ConfigError(f"output_format must be one of {OUTPUT_FORMATS} or None")
        if not 128 <= memory_size <= 10_240:
            raise ConfigError(f"memory_size={memory_size}: Lambda allows 128 to 10240 MB")
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ConfigError(
                f"reserved_concurrency={reserved_concurrency}: expected 1 or more, or None"
            )
        if not 0 <= retry_attempts <= 2:
            raise ConfigError("retry_attempts must be 0, 1 or 2 (Lambda's limit)")
        filters = _suffix_filters(suffixes)

        check_props("source_bucket", source_bucket, "source_bucket_props", source_bucket_props)
        check_props(
            "destination_bucket",
            destination_bucket,
            "destination_bucket_props",
            destination_bucket_props,
        )
        # Created by the first bucket step that needs it (``_logs_bucket``), if none is given.
        self.access_logs_bucket: s3.IBucket | None = access_logs_bucket
        self.source_bucket: s3.IBucket = source_bucket or self._source_bucket(
            source_bucket_props,
            noncurrent_version_expiration=noncurrent_version_expiration or Duration.days(30),
            removal_policy=removal_policy,
            access_logs_retention=access_logs_retention,
        )
        self.destination_bucket: s3.IBucket = destination_bucket or self._destination_bucket(
            destination_bucket_props,
            removal_policy=removal_policy,
            access_logs_retention=access_logs_retention,
        )
        if _same_bucket(self, self.source_bucket, self.destination_bucket):
            raise ConfigError(
                "source and destination must be different buckets: writing thumbnails where "
                "uploads trigger the function risks an invocation loop"
            )

        self.failure_queue = self._failure_queue(removal_policy)
        self.function = self._function(
            code_path=Path(code_path),
            architecture=architecture,
            memory_size=memory_size,
            timeout=timeout or Duration.seconds(60),
            reserved_concurrency=reserved_concurrency,
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment=self._environment(
                source_prefix=source_prefix,
                destination_prefix=destination_prefix,
                widths=widths,
                output_format=output_format,
                quality=quality,
                max_pixels=max_pixels,
                max_bytes=max_bytes,
            ),
        )
        self._send_failures_to_queue(retry_attempts, max_event_age or Duration.hours(6))
        self._grant_access(source_prefix, destination_prefix)
        self._notifications(filters, source_prefix)
        self.alarm_topic = ensure_alarm_topic(
            self, "AlarmTopic", topic=alarm_topic, email=alarm_email
        )
        self.alarms = self._alarms(self.alarm_topic)
        exempt_inline_policies(self)

    # -- steps, in the order __init__ takes them ----------------------------------------------

    def _source_bucket(
        self,
        overrides: Mapping[str, Any] | None,
        *,
        noncurrent_version_expiration: Duration,
        removal_policy: RemovalPolicy,
        access_logs_retention: Duration | None,
    ) -> s3.Bucket:
        """The uploads bucket when the caller has none: versioned, so an overwritten or deleted
        original can be recovered (and thumbnails rendered again) until its old version
        expires."""
        bucket = self._bucket(
            "SourceBucket",
            {
                "versioned": True,
                "lifecycle_rules": [
                    s3.LifecycleRule(
                        id="AbortIncompleteUploads",
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    ),
                    s3.LifecycleRule(
                        id="ExpireOldVersions",
                        noncurrent_version_expiration=noncurrent_version_expiration,
                        expired_object_delete_marker=True,
                    ),
                ],
            },
            overrides,
            removal_policy,
            access_logs_retention,
        )
        self._exempt_bucket(
            bucket,
            "the original uploads",
            events="Its ObjectCreated notifications (which invoke the function) are written by "
            "CDK's Custom::S3BucketNotifications resource at deploy, which this rule cannot "
            "see in the bucket's own properties.",
        )
        return bucket

    def _destination_bucket(
        self,
        overrides: Mapping[str, Any] | None,
        *,
        removal_policy: RemovalPolicy,
        access_logs_retention: Duration | None,
    ) -> s3.Bucket:
        """The thumbnails bucket when the caller has none: a bucket of its own, so the
        function's writes can never trigger it; not versioned, as thumbnails are derived data."""
        bucket = self._bucket(
            "DestinationBucket",
            {
                # Thumbnails can be rendered again from the originals: no versions to pay for.
                "lifecycle_rules": [
                    s3.LifecycleRule(
                        id="AbortIncompleteUploads",
                        abort_incomplete_multipart_upload_after=Duration.days(1),
                    )
                ],
            },
            overrides,
            removal_policy,
            access_logs_retention,
        )
        self._exempt_bucket(
            bucket,
            "thumbnails rendered from the originals",
            events="Nothing reacts to new thumbnails: an event notification would have no "
            "consumer. CloudTrail data events are the place to audit writes.",
        )
        exempt(
            bucket,
            "Thumbnails are derived data, rendered again from the versioned originals; "
            "versioning them would pay to keep every overwritten rendition.",
            guard="s3_bucket_versioning_enabled_check",
            checkov="CKV_AWS_21",
        )
        return bucket

    def _failure_queue(self, removal_policy: RemovalPolicy) -> sqs.Queue:
        """Where an upload's event lands when every retry failed, with the error: the record
        of which uploads have no thumbnails, for a redrive once the cause is fixed."""
        return dead_letter_queue(
            self,
            "FailureQueue",
            of="the function's failed asynchronous events",
            removal_policy=removal_policy,
        )

    def _environment(
        self,
        *,
        source_prefix: str,
        destination_prefix: str,
        widths: Sequence[int],
        output_format: str | None,
        quality: int,
        max_pixels: int,
        max_bytes: int,
    ) -> dict[str, str]:
        """The handler's whole configuration, read once per execution environment at init."""
        return {
            "DESTINATION_BUCKET": self.destination_bucket.bucket_name,
            "DESTINATION_PREFIX": destination_prefix,
            "SOURCE_PREFIX": source_prefix,
            "WIDTHS": ",".join(str(w) for w in widths),
            "OUTPUT_FORMAT": (output_format or "").upper(),
            "QUALITY": str(quality),
            "MAX_PIXELS": str(max_pixels),
            "MAX_BYTES": str(max_bytes),
            "POWERTOOLS_SERVICE_NAME": "thumbnails",
            "POWERTOOLS_METRICS_NAMESPACE": "ThumbnailPipeline",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    def _function(
        self,
        *,
        code_path: Path,
        architecture: lambda_.Architecture,
        memory_size: int,
        timeout: Duration,
        reserved_concurrency: int | None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        environment: dict[str, str],
    ) -> lambda_.DockerImageFunction:
        """The function, from a container image: Pillow and its codecs are native code, built
        for the function's architecture; its own role and log group, JSON logs, X-Ray."""
        role, log_group = function_role_and_logs(
            self,
            "Function",
            role_description="Thumbnail function: read uploads, write thumbnails",
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        # Compare names: jsii hands out a new Architecture object on every access.
        platform = (
            ecr_assets.Platform.LINUX_ARM64
            if architecture.name == lambda_.Architecture.ARM_64.name
            else ecr_assets.Platform.LINUX_AMD64
        )
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            # An image asset: hashed at synth, built by `cdk deploy` (Docker needed there only).
            code=lambda_.DockerImageCode.from_image_asset(str(code_path), platform=platform),
            architecture=architecture,
            memory_size=memory_size,
            timeout=timeout,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            environment=environment,
            description="Renders thumbnails of uploaded images",
        )
        self._exempt_function(function, capped=reserved_concurrency is not None)
        return function

    def _send_failures_to_queue(self, retry_attempts: int, max_event_age: Duration) -> None:
        """S3 invokes the function asynchronously: Lambda retries a failed event, then records
        it with its error in the failure queue rather than dropping it."""
        self.function.configure_async_invoke(
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            on_failure=QueueFailureDestination(self.failure_queue),
        )

    def _grant_access(self, source_prefix: str, destination_prefix: str) -> None:
        """Read on the source prefix, write on the destination prefix, nothing else: no
        s3:GetObject on thumbnails, no s3:PutObject or s3:DeleteObject on originals (DeleteObject
        on thumbnails only, to remove a partial set)."""
        source_objects = self.source_bucket.arn_for_objects(f"{source_prefix}*")
        destination_objects = self.destination_bucket.arn_for_objects(f"{destination_prefix}*")
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[source_objects]
            )
        )
        # Without ListBucket, S3 answers 403 instead of 404 for an object deleted before the
        # function reads it, and the event would be retried into the failure queue.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[self.source_bucket.bucket_arn]
            )
        )
        # DeleteObject: a partial set of an object's thumbnails is removed when one upload fails.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:DeleteObject"], resources=[destination_objects]
            )
        )
        # Buckets encrypted with a KMS key: decrypt what we read, encrypt what we write.
        if self.source_bucket.encryption_key is not None:
            self.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[self.source_bucket.encryption_key.key_arn],
                )
            )
        if self.destination_bucket.encryption_key is not None:
            self.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey"],
                    resources=[self.destination_bucket.encryption_key.key_arn],
                )
            )
        policy = self.function.role.node.try_find_child("DefaultPolicy")  # type: ignore[union-attr]
        if policy is None:
            return
        for resource, why in (
            (source_objects, f"the objects under the source prefix {source_prefix!r}"),
            (destination_objects, f"writing under the destination prefix {destination_prefix!r}"),
        ):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_text(self, resource)}]",
                f"Scoped to {why}: the uploads are not known in advance; no other bucket or "
                "prefix is reachable.",
            )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions; X-Ray's own documentation grants them on *.",
        )

    def _notifications(self, filters: Sequence[str], source_prefix: str) -> None:
        """One ObjectCreated notification per suffix (S3 filters are case-sensitive and take one
        suffix each), all under the source prefix. CDK writes them at deploy time with a
        Lambda of its own, one per stack, whose exceptions are recorded here."""
        for suffix in filters:
            self.source_bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(self.function),
                s3.NotificationKeyFilter(prefix=source_prefix or None, suffix=suffix),
            )
        self._acknowledge_notifications_handler()
        exempt_cdk_provider(
            self,
            _NOTIFICATIONS_HANDLER_ID,
            "writes the source bucket's notification configuration",
            function_id="Resource",
        )

    def _alarms(self, topic: sns.ITopic) -> Alarms:
        """One alarm per way an upload can end without thumbnails: the function failed, was
        throttled, gave up on the event (it is in the queue), or could not even record that."""
        five_minutes = Duration.minutes(5)
        alarms = Alarms(self, topic)
        alarms.add(
            "FunctionErrors",
            self.function.metric_errors(period=five_minutes, statistic="Sum"),
            threshold=1,
            description="The thumbnail function failed (S3 errors, timeouts, out of memory or "
            "bugs); Lambda retries, then sends the event to the failure queue.",
        )
        alarms.add(
            "FunctionThrottles",
            self.function.metric_throttles(period=five_minutes, statistic="Sum"),
            threshold=1,
            description="Lambda throttled the thumbnail function; events wait and are retried "
            "until max_event_age. Raise reserved_concurrency or the account limit.",
        )
        alarms.add(
            "FailedEvents",
            self.failure_queue.metric_approximate_number_of_messages_visible(
                period=five_minutes, statistic="Maximum"
            ),
            threshold=1,
            description="Uploads without thumbnails: events that failed every retry are in the "
            "failure queue. Fix the cause, then redrive or re-invoke them.",
        )
        alarms.add(
            "FailureDeliveryErrors",
            cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="DestinationDeliveryFailures",
                dimensions_map={"FunctionName": self.function.function_name},
                period=five_minutes,
                statistic="Sum",
            ),
            threshold=1,
            description="Lambda could not deliver failed events to the failure queue: those "
            "uploads have no thumbnails and no record of it but this alarm and the logs.",
        )
        return alarms

    # -- helpers of the steps ---------------------------------------------------------------

    def _bucket(
        self,
        id: str,
        defaults: Mapping[str, Any],
        overrides: Mapping[str, Any] | None,
        removal_policy: RemovalPolicy,
        access_logs_retention: Duration | None,
    ) -> s3.Bucket:
        """A bucket with the house secure defaults, logging to the access-logs bucket unless
        the caller's props name another, then ``defaults`` and the caller's props over them."""
        props = {"SourceBucket": "source_bucket_props"}.get(id, "destination_bucket_props")
        logging: dict[str, Any] = {}
        if "server_access_logs_bucket" not in (overrides or {}):
            logging = {
                "server_access_logs_bucket": self._logs_bucket(
                    removal_policy, access_logs_retention
                ),
                "server_access_logs_prefix": f"{id}/",
            }
        return s3.Bucket(
            self,
            id,
            **consolidate_props(
                self,
                props,
                {
                    **secure_bucket_props(removal_policy),
                    **logging,
                    **defaults,
                },
                overrides,
                owned=REMOVAL_OWNED,
                secure=SECURE_BUCKET,
            ),
        )

    def _logs_bucket(self, removal_policy: RemovalPolicy, retention: Duration | None) -> s3.IBucket:
        """The given access-logs bucket, or one created on first use: one for both buckets, and
        none at all when every bucket is the caller's."""
        if self.access_logs_bucket is None:
            bucket = access_logs_bucket(
                self,
                "AccessLogs",
                logs_of="the pipeline's buckets",
                removal_policy=removal_policy,
                expiration=retention or Duration.days(365),
            )
            self.access_logs_bucket = bucket
        return self.access_logs_bucket

    def _exempt_bucket(self, bucket: s3.IBucket, holds: str, *, events: str) -> None:
        """The policy findings a created bucket is exempt from, each with the reason."""
        exempt(
            bucket,
            f"Holds {holds} with SSE-S3 (S3's own keys), private and TLS-only: SSE-KMS would "
            "bill every upload and read, and the function would need kms:Decrypt, for readers "
            "IAM already decides. The bucket props can set a KMS key.",
            guard="s3_bucket_default_encryption_kms_check",
        )
        exempt(
            bucket,
            f"Holds {holds}, deleted on request or by lifecycle rules; Object Lock (write-once "
            "retention) would make both impossible.",
            guard="s3_bucket_object_lock_enabled_check",
        )
        exempt(bucket, events, guard="s3_event_notifications_enabled_check")
        exempt_bucket_replication(bucket, holds)

    def _exempt_function(self, function: lambda_.DockerImageFunction, *, capped: bool) -> None:
        """The policy findings the function is exempt from, each with the reason."""
        exempt(
            function,
            "The function reaches only S3 (over TLS, authorized by its role), nothing in a "
            "private network; in a VPC it would need a NAT gateway (~$33/month) or endpoints "
            "and would gain no protection.",
            guard="lambda_inside_vpc_check",
            checkov="CKV_AWS_117",
        )
        exempt(
            function,
            "The environment holds bucket names, prefixes and image settings, never secrets; "
            "Lambda encrypts it at rest with its service key.",
            checkov="CKV_AWS_173",
        )
        exempt(
            function,
            "Failed S3 events go to an on-failure destination, the FailureQueue "
            "(EventInvokeConfig), which records the error with the event: what a function DLQ "
            "would keep, and more.",
            checkov="CKV_AWS_116",
        )
        if not capped:
            exempt(
                function,
                "No cap by default (reserved_concurrency sets one): a burst of uploads should "
                "be rendered at once, and reserving concurrency would take it from every other "
                "function in the account.",
                checkov="CKV_AWS_115",
            )

    def _acknowledge_notifications_handler(self) -> None:
        """CDK writes bucket notification configurations with one small Lambda per stack (its
        permissions on each bucket are scoped policies, added per bucket)."""
        handler = Stack.of(self).node.try_find_child(_NOTIFICATIONS_HANDLER_ID)
        role = handler.node.try_find_child("Role") if handler is not None else None
        if role is None:
            return
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's own bucket-notifications handler (a deploy-time custom resource); its role is "
            "not configurable and this AWS-managed policy only allows writing its logs.",
        )


def _suffix_filters(suffixes: Sequence[str]) -> list[str]:
    """Each suffix in lower and upper case; S3 rejects overlapping filters at deploy time, so
    catch them here (``.jpg`` and ``jpg`` would overlap)."""
    variants = sorted({v for s in suffixes for v in (s.lower(), s.upper())})
    if not variants or any(not s for s in variants):
        raise ConfigError("suffixes must be non-empty strings")
    for a in variants:
        for b in variants:
            if a != b and a.endswith(b):
                raise ConfigError(f"suffixes {a!r} and {b!r} overlap; S3 would reject them")
    return variants


def _same_bucket(scope: IConstruct, a: s3.IBucket, b: s3.IBucket) -> bool:
    """True when both are surely one bucket: the same object, the same literal name, or names
    that resolve to the same reference (``from_bucket_name(..., bucket.bucket_name)``). Two
    names only known at deploy time (parameters, imports) cannot be compared here; the handler
    refuses to process its own output in that case."""
    if a is b:
        return True
    stack = Stack.of(scope)
    return bool(stack.resolve(a.bucket_name) == stack.resolve(b.bucket_name))


class ThumbnailsStack(Stack):
    """Deploys one ``ThumbnailPipeline``. Context keys (``Thumbnails:<key>`` or ``<key>``):
    ``removal_policy`` (retain|destroy), ``alarm_email``, ``source_bucket_name`` and
    ``destination_bucket_name`` (existing buckets; created when not set), ``source_prefix``,
    ``destination_prefix``, ``widths`` (comma-separated), ``output_format`` (JPEG|PNG|WEBP;
    empty keeps the source's), ``memory_size``, ``reserved_concurrency`` (0 = no cap)."""

    CONTEXT_KEYS = (
        "removal_policy",
        "alarm_email",
        "source_bucket_name",
        "destination_bucket_name",
        "source_prefix",
        "destination_prefix",
        "widths",
        "output_format",
        "memory_size",
        "reserved_concurrency",
    )

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        source_name = config.get_matching("source_bucket_name", *S3_BUCKET_NAME)
        destination_name = config.get_matching("destination_bucket_name", *S3_BUCKET_NAME)
        prefixes: dict[str, str] = {}
        for key, default in (("source_prefix", "uploads/"), ("destination_prefix", "thumbnails/")):
            prefixes[key] = config.get_str(key, default)
            if prefixes[key].startswith("/"):
                raise config.fail(
                    key, prefixes[key], "a key prefix such as uploads/ (no leading /)"
                )
        output_format = config.get_optional_str("output_format")
        if output_format is not None and output_format.upper() not in OUTPUT_FORMATS:
            raise config.fail("output_format", output_format, f"one of {', '.join(OUTPUT_FORMATS)}")
        pipeline = ThumbnailPipeline(
            self,
            "Thumbnails",
            source_bucket=s3.Bucket.from_bucket_name(self, "ExistingSource", source_name)
            if source_name
            else None,
            destination_bucket=s3.Bucket.from_bucket_name(
                self, "ExistingDestination", destination_name
            )
            if destination_name
            else None,
            source_prefix=prefixes["source_prefix"],
            destination_prefix=prefixes["destination_prefix"],
            widths=config.get_int_list("widths", [160, 640], minimum=1, maximum=10_000),
            output_format=output_format,
            # Lambda's memory: 128 MB to 10,240 MB.
            memory_size=config.get_int("memory_size", 1024, minimum=128, maximum=10_240),
            reserved_concurrency=config.get_int("reserved_concurrency", 0, minimum=0) or None,
            removal_policy=config.removal_policy(),
            alarm_email=config.get_email(),
        )
        CfnOutput(
            self,
            "SourceBucketName",
            value=pipeline.source_bucket.bucket_name,
            description="Upload images here (under the source prefix)",
        )
        CfnOutput(self, "DestinationBucketName", value=pipeline.destination_bucket.bucket_name)
        CfnOutput(self, "FunctionName", value=pipeline.function.function_name)
        CfnOutput(self, "FailureQueueUrl", value=pipeline.failure_queue.queue_url)
