"""Scheduled job pattern: EventBridge Scheduler -> Lambda, with retries, a dead-letter queue,
alarms and bounded concurrency.

``ScheduledJob`` is the generic construct (any handler, any schedule). ``TableExportJob`` uses it
for a real job: a nightly export of a DynamoDB table to S3 as gzip-compressed JSON Lines.
``ScheduledJobStack`` wires the export for ``cdk deploy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .shared import (
    ACCESS_LOGS_BY_BUCKET_POLICY,
    DEFAULT_LOG_RETENTION,
    REMOVAL_OWNED,
    S3_BUCKET_NAME,
    SECURE_BUCKET,
    SECURE_TABLE,
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
    exempt_bucket_extras,
    exempt_inline_policies,
    exempt_table_backup,
    exempt_table_key,
    nag_text,
    python_function,
    secure_bucket_props,
    secure_table_props,
)

DEFAULT_CODE_PATH = Path(__file__).resolve().parent.parent / "lambda_src" / "scheduled_job"

# Lambda's asynchronous queue keeps an event at most 6 hours; Scheduler allows 24. One value
# serves both layers, so the smaller bound applies.
_MAX_EVENT_AGE = Duration.hours(6)
DEFAULT_EXPORT_RETENTION = Duration.days(365)
DEFAULT_EXPORT_WINDOW = Duration.minutes(15)


def _daily_at_two_utc() -> scheduler.ScheduleExpression:
    return scheduler.ScheduleExpression.cron(minute="0", hour="2", time_zone=TimeZone.ETC_UTC)


class ScheduledJob(Construct):
    """A Lambda function run on a schedule by EventBridge Scheduler, with failure handling.

    Builds: the function (``shared.python_function``: python3.13 arm64, Powertools layer,
    X-Ray, JSON logs, its own role) from ``code_path`` and ``handler``, or schedules the
    ``function`` you pass (any runtime, a container image); an EventBridge Scheduler schedule
    (cron or rate) that invokes it; an encrypted TLS-only SQS dead-letter queue (unless
    ``dead_letter_queue`` is given); alarms, sent to an SNS topic, on function errors, on a
    non-empty dead-letter queue, and on failed runs Lambda could not send to that queue.

    Why EventBridge Scheduler and not a scheduled EventBridge (CloudWatch Events) rule: both
    give a target a retry policy, a maximum event age and a dead-letter queue, but only
    Scheduler reads a cron in a time zone (a 02:00 Europe/Berlin job stays at 02:00 across
    daylight saving; rules are UTC only), has a flexible time window (spread load instead of
    every job in the account firing at :00), and puts the *scheduled* time in the payload
    (``<aws.scheduler.scheduled-time>``, the same for every retry), which is what each run's
    idempotency keys on; a rule's event has the time it fired, not the nominal time. It
    scales to a million schedules per account rather than 300 rules per bus. What it costs
    over a rule (free): $1 per million invocations beyond 14 million free a month.

    Failure handling, in two layers because Scheduler invokes Lambda asynchronously:
    Scheduler retries *delivery* (``retry_attempts``, within ``max_event_age``) and sends what it
    cannot deliver to the dead-letter queue; Lambda's asynchronous invocation config retries
    *function errors* (``function_retry_attempts``, within the same ``max_event_age``) and sends
    what still fails to the same queue (an on-failure destination, with the error message).
    Either way a failed run is kept 14 days in the queue and raises the queue alarm.

    Overlap safety: ``max_concurrency`` (reserved concurrency, default 1) means at most that many
    runs execute at once; Lambda queues the rest and retries them, so a backlog after an outage
    cannot stampede the downstream. The payload carries ``scheduled_time``
    (``<aws.scheduler.scheduled-time>``), so a handler can key its work on it: a retry or a
    duplicate delivery of one scheduled run then redoes the same work instead of adding to it.

    Cost drivers: Lambda duration (memory x run time x runs); Scheduler is $1 per million
    invocations after 14 million free a month; SQS, 3 alarms ($0.10 each/month) and, when the
    construct creates the alarm topic, its KMS key (about $1/month). It does not scale with
    data: it runs as often as the schedule says, ``max_concurrency`` at a time.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code_path: str | Path | None = None,
        handler: str | None = None,
        function: lambda_.IFunction | None = None,
        description: str = "Scheduled job",
        schedule: scheduler.ScheduleExpression | None = None,
        flexible_time_window: Duration | None = None,
        enabled: bool = True,
        payload: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int = 256,
        timeout: Duration | None = None,
        max_concurrency: int | None = 1,
        retry_attempts: int = 3,
        function_retry_attempts: int = 2,
        max_event_age: Duration | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """
        :param code_path: folder holding the handler's package (the Lambda asset root).
        :param handler: e.g. ``"nightly_export.app.lambda_handler"``.
        :param function: a function of yours to schedule instead (any runtime, a container
            image), defined in the same stack; give it ``reserved_concurrent_executions``
            yourself and pass ``max_concurrency=None``. It must have no asynchronous invoke
            config yet (this construct adds one), and an imported function's role must be able
            to send to the dead-letter queue. ``environment``, ``memory_size``, ``timeout`` and
            ``log_retention`` apply only to a function the construct creates.
        :param schedule: ``ScheduleExpression.cron(..., time_zone=...)`` or ``.rate(...)``;
            daily at 02:00 UTC by default.
        :param flexible_time_window: let Scheduler start the run up to this long after the
            scheduled time (spreads load); None runs on time.
        :param enabled: False creates the schedule disabled (deploy now, switch on later).
        :param payload: extra fields sent with every run, next to ``scheduled_time``,
            ``attempt_number``, ``execution_id`` and ``schedule_arn``.
        :param timeout: function timeout (default 5 minutes; at most 15).
        :param max_concurrency: reserved concurrency, at most this many runs at once;
            None leaves it unreserved (not recommended for jobs that must not overlap).
        :param retry_attempts: Scheduler's delivery retries (0-185).
        :param function_retry_attempts: Lambda's retries of a failed run (0-2).
        :param max_event_age: how late a run may still start, for both layers (1 min - 6 h,
            default 1 hour): a run far past its time is sent to the dead-letter queue instead.
        :param dead_letter_queue: an existing queue; an encrypted one is created when not given.
            Scheduler must be able to send to it (SSE-SQS, or a KMS key it may use).
        :param removal_policy: for the log group and the created queue. RETAIN by default.
        :param alarm_topic: an existing topic for alarms; one is created when not given.
        :param alarm_email: an address to subscribe to the alarm topic (confirm by e-mail).
        """
        super().__init__(scope, id)
        age = max_event_age or Duration.hours(1)
        self._check_props(
            age=age,
            retry_attempts=retry_attempts,
            function_retry_attempts=function_retry_attempts,
            max_concurrency=max_concurrency,
            function=function,
            code_path=code_path,
            handler=handler,
            environment=environment,
        )

        self.dead_letter_queue: sqs.IQueue = dead_letter_queue or self._queue(removal_policy)
        self.function: lambda_.IFunction = (
            function
            if function is not None
            else self._function(
                code_path=code_path,
                handler=handler,
                description=description,
                environment=environment,
                memory_size=memory_size,
                timeout=timeout or Duration.minutes(5),
                max_concurrency=max_concurrency,
                log_retention=log_retention,
                removal_policy=removal_policy,
            )
        )
        self._retry_failed_runs(function_retry_attempts, age)
        self.scheduler_role = self._scheduler_role(description)
        self.schedule = self._schedule(
            schedule or _daily_at_two_utc(),
            description=description,
            enabled=enabled,
            flexible_time_window=flexible_time_window,
            payload=payload,
            retry_attempts=retry_attempts,
            max_event_age=age,
        )
        self.alarm_topic = ensure_alarm_topic(
            self, "AlarmTopic", topic=alarm_topic, email=alarm_email
        )
        self.alarms = self._alarms(description)
        exempt_inline_policies(self)

    # -- steps, in the order __init__ takes them ----------------------------------------------

    @staticmethod
    def _check_props(
        *,
        age: Duration,
        retry_attempts: int,
        function_retry_attempts: int,
        max_concurrency: int | None,
        function: lambda_.IFunction | None,
        code_path: str | Path | None,
        handler: str | None,
        environment: Mapping[str, str] | None,
    ) -> None:
        """Refuse, before anything is built, what Scheduler or Lambda would refuse at deploy
        time, and a function given both as code and as a function."""
        if not 60 <= age.to_seconds() <= _MAX_EVENT_AGE.to_seconds():
            raise ConfigError("max_event_age must be between 1 minute and 6 hours")
        if not 0 <= retry_attempts <= 185:
            raise ConfigError("retry_attempts must be between 0 and 185")
        if not 0 <= function_retry_attempts <= 2:
            raise ConfigError("function_retry_attempts must be between 0 and 2")
        if max_concurrency is not None and max_concurrency < 1:
            raise ConfigError("max_concurrency must be at least 1 (or None for unreserved)")
        if function is not None:
            if code_path is not None or handler is not None or environment:
                raise ConfigError("give either function or code_path and handler, not both")
            if max_concurrency is not None:
                raise ConfigError(
                    "max_concurrency cannot be applied to a function you pass: set its "
                    "reserved_concurrent_executions and pass max_concurrency=None"
                )
        elif code_path is None or handler is None:
            raise ConfigError("give code_path and handler (or an existing function)")

    def _queue(self, removal_policy: RemovalPolicy) -> sqs.Queue:
        """One queue for both failure layers (Scheduler's undelivered runs, Lambda's failed
        ones), so a failed run is in one place whichever layer gave up on it."""
        return dead_letter_queue(
            self,
            "DeadLetterQueue",
            of="the schedule's target and of the function's asynchronous invocations",
            removal_policy=removal_policy,
        )

    def _function(
        self,
        *,
        code_path: str | Path | None,
        handler: str | None,
        description: str,
        environment: Mapping[str, str] | None,
        memory_size: int,
        timeout: Duration,
        max_concurrency: int | None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        """The job's function when the caller gives none: the house Python function (its own
        role and log group, Powertools, X-Ray), its reserved concurrency ``max_concurrency`` so
        a backlog of runs cannot overlap beyond it."""
        # _check_props refused a function with neither code_path nor handler.
        assert code_path is not None
        assert handler is not None
        function = python_function(
            self,
            "Function",
            code_path=str(code_path),
            handler=handler,
            description=description,
            environment=dict(environment or {}),
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrency=max_concurrency,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        exempt(
            function,
            "Failed asynchronous invocations go to an on-failure destination, the "
            "DeadLetterQueue (EventInvokeConfig), which records the error with the event: "
            "what a function DLQ would keep, and more.",
            checkov="CKV_AWS_116",
        )
        if max_concurrency is None:
            exempt(
                function,
                "The caller asked for unreserved concurrency (max_concurrency=None); the "
                "schedule starts one run per period.",
                checkov="CKV_AWS_115",
            )
        return function

    def _retry_failed_runs(self, retry_attempts: int, max_event_age: Duration) -> None:
        """Function errors, the second failure layer: Lambda retries the run, then records the
        event and the error in the dead-letter queue.

        A function imported without its role (``from_function_arn``) keeps the asynchronous
        settings its owner gave it: the queue could not be granted to a role we do not know.
        The schedule still invokes it; import it with ``from_function_attributes(role=...)``
        to have its failures land in the queue too.
        """
        if self.function.role is not None:
            self.function.configure_async_invoke(
                retry_attempts=retry_attempts,
                max_event_age=max_event_age,
                on_failure=QueueFailureDestination(self.dead_letter_queue),
            )

    def _scheduler_role(self, description: str) -> iam.Role:
        """The role Scheduler invokes the function with: our own rather than the stack-wide one
        the target would create, so the grant and its acknowledgement stay inside this
        construct when it is copied. Only this account's schedules may assume it."""
        return iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description=f"{description}: EventBridge Scheduler invokes the function",
        )

    def _schedule(
        self,
        schedule: scheduler.ScheduleExpression,
        *,
        description: str,
        enabled: bool,
        flexible_time_window: Duration | None,
        payload: Mapping[str, Any] | None,
        retry_attempts: int,
        max_event_age: Duration,
    ) -> scheduler.Schedule:
        """The schedule, the first failure layer: Scheduler retries delivery and sends what it
        cannot deliver to the dead-letter queue. Every run carries its *scheduled* time (the
        same for every retry), which the handler keys its work on."""
        try:
            built = scheduler.Schedule(
                self,
                "Schedule",
                schedule=schedule,
                description=description,
                enabled=enabled,
                time_window=scheduler.TimeWindow.flexible(flexible_time_window)
                if flexible_time_window
                else scheduler.TimeWindow.off(),
                target=targets.LambdaInvoke(
                    self.function,
                    input=scheduler.ScheduleTargetInput.from_object(
                        {
                            **(payload or {}),
                            "scheduled_time": scheduler.ContextAttribute.scheduled_time,
                            "attempt_number": scheduler.ContextAttribute.attempt_number,
                            "execution_id": scheduler.ContextAttribute.execution_id,
                            "schedule_arn": scheduler.ContextAttribute.schedule_arn,
                        }
                    ),
                    retry_attempts=retry_attempts,
                    max_event_age=max_event_age,
                    dead_letter_queue=self.dead_letter_queue,
                    role=self.scheduler_role,
                ),
            )
        except RuntimeError as err:
            # Raised by aws-cdk-lib when the schedule's grant cannot reach the function.
            if "Cannot modify permission" not in str(err):
                raise
            raise ConfigError(
                "function: an imported function whose account the stack cannot know (imported "
                "by ARN into an environment-agnostic stack); import it with "
                "Function.from_function_attributes(..., same_environment=True), or with "
                "skip_permissions=True if it already lets EventBridge Scheduler invoke it"
            ) from None
        policy = self.scheduler_role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_text(self, self.function.function_arn)}:*]",
                "lambda:InvokeFunction on this one function's versions and aliases (what "
                "grant_invoke gives); no other function can be invoked.",
            )
        return built

    def _alarms(self, description: str) -> Alarms:
        """Three alarms, one per way a run can go wrong: it failed (Lambda retries it), it
        failed for good or was never delivered (it is in the queue), or it failed and could not
        even be recorded (the one way a run is lost, which the queue alarm cannot see)."""
        five_minutes = Duration.minutes(5)
        alarms = Alarms(self, self.alarm_topic)
        alarms.add(
            "FunctionErrors",
            self.function.metric_errors(period=five_minutes, statistic="Sum"),
            threshold=1,
            description=f"{description}: a run failed (exception or timeout); Lambda retries it.",
        )
        alarms.add(
            "DeadLetters",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=five_minutes, statistic="Maximum"
            ),
            threshold=1,
            description=f"{description}: a run failed for good or was never delivered; "
            "its event and error are in the dead-letter queue.",
        )
        # A caller's queue or key that refuses Lambda's message loses the run silently.
        alarms.add(
            "DeadLetterDeliveryFailures",
            self.function.metric(
                "DestinationDeliveryFailures", period=five_minutes, statistic="Sum"
            ),
            threshold=1,
            description=f"{description}: a failed run could not be sent to the dead-letter "
            "queue and is lost; check that the function's role may send to the queue.",
        )
        return alarms


class TableExportJob(Construct):
    """A nightly export of a DynamoDB table to S3 as gzip-compressed JSON Lines.

    Builds: a ``ScheduledJob`` running ``lambda_src/scheduled_job/nightly_export``, plus the
    table (unless ``table`` is given) and the export bucket with its access-log bucket (unless
    ``bucket`` is given). Each run scans the table and writes
    ``<prefix>table=<name>/dt=<date>/run=<HHMMSS>Z/part-NNNNN.jsonl.gz`` then ``_manifest.json``
    last; the location depends on the scheduled time only, so a retry or re-run overwrites.
    An S3 conditional write (``_lock``) keeps two runs of the same time from interleaving.

    Secure defaults: bucket with SSE-S3, block public access, TLS-only, versioning, server
    access logs, lifecycle (Infrequent Access after 30 days, expiry after ``retention``,
    old versions after 30 days); table on-demand, PITR, deletion protection; RETAIN for both.
    The function may Scan the one table and read/write/delete under ``prefix`` only.

    Cost drivers: the scan (half a read request unit per 4 KB item, eventually consistent, per
    run), Lambda duration (512 MB; serializing and compressing runs at tens of thousands of
    items per second per vCPU, see ``bench/scheduled_job_export.py``), S3 storage and requests.
    One function scans sequentially, so it suits tables an export finishes within the 15-minute
    Lambda limit (a few GB); beyond that use DynamoDB's native export to S3 (see the docs).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.ITable | None = None,
        table_props: Mapping[str, Any] | None = None,
        bucket: s3.IBucket | None = None,
        bucket_props: Mapping[str, Any] | None = None,
        prefix: str = "exports/",
        retention: Duration | None = DEFAULT_EXPORT_RETENTION,
        schedule: scheduler.ScheduleExpression | None = None,
        flexible_time_window: Duration | None = DEFAULT_EXPORT_WINDOW,
        records_per_part: int = 100_000,
        scan_page_size: int | None = None,
        consistent_read: bool = False,
        code_path: str | Path = DEFAULT_CODE_PATH,
        memory_size: int = 512,
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """
        :param table: the table to export; one is created (partition key ``pk``, sort key
            ``sk``) when not given.
        :param table_props: ``dynamodb.Table`` keyword arguments merged over the defaults.
        :param bucket: an existing bucket for the exports; one is created when not given.
        :param bucket_props: ``s3.Bucket`` keyword arguments merged over the defaults.
        :param prefix: key prefix of every export, ending in ``/``.
        :param retention: exports in the created bucket expire after this; None keeps them.
        :param schedule: when to export; daily at 02:00 UTC by default.
        :param flexible_time_window: see ``ScheduledJob``; 15 minutes by default.
        :param records_per_part: items per ``part-NNNNN.jsonl.gz`` file.
        :param scan_page_size: items per Scan request; None for DynamoDB's 1 MB pages.
        :param consistent_read: strongly consistent scan (twice the read units).
        :param timeout: function timeout, 10 minutes by default.
        """
        super().__init__(scope, id)
        self.node.set_context(ACCESS_LOGS_BY_BUCKET_POLICY, True)
        if not prefix.endswith("/") or prefix.startswith("/"):
            raise ConfigError(f"prefix {prefix!r} must end with '/' and not start with one")
        if records_per_part < 1:
            raise ConfigError("records_per_part must be at least 1")

        check_props("table", table, "table_props", table_props)
        check_props("bucket", bucket, "bucket_props", bucket_props)
        self.table: dynamodb.ITable = table or self._table(removal_policy, table_props)
        self.access_logs_bucket: s3.Bucket | None = (
            None if bucket else self._access_logs_bucket(removal_policy)
        )
        self.bucket: s3.IBucket = bucket or self._bucket(
            self.access_logs_bucket, removal_policy, retention, bucket_props
        )
        self.job = self._job(
            description=f"Export of a DynamoDB table to S3 ({id})",
            code_path=code_path,
            schedule=schedule,
            flexible_time_window=flexible_time_window,
            prefix=prefix,
            records_per_part=records_per_part,
            scan_page_size=scan_page_size,
            consistent_read=consistent_read,
            memory_size=memory_size,
            timeout=timeout or Duration.minutes(10),
            log_retention=log_retention,
            removal_policy=removal_policy,
            alarm_topic=alarm_topic,
            alarm_email=alarm_email,
        )
        self.function: lambda_.IFunction = self.job.function
        self._grant(prefix)

    # -- steps, in the order __init__ takes them ----------------------------------------------

    def _table(
        self, removal_policy: RemovalPolicy, overrides: Mapping[str, Any] | None
    ) -> dynamodb.Table:
        """A table to export when the caller has none (a demo, or a new app): the house
        secure defaults (on demand, PITR, deletion protection), keys ``pk`` and ``sk``."""
        table = dynamodb.Table(
            self,
            "Table",
            **consolidate_props(
                self,
                "table_props",
                {
                    "partition_key": dynamodb.Attribute(
                        name="pk", type=dynamodb.AttributeType.STRING
                    ),
                    "sort_key": dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
                    **secure_table_props(removal_policy),
                },
                overrides,
                owned=REMOVAL_OWNED,
                secure=SECURE_TABLE,
            ),
        )
        exempt_table_key(table, holds="the items the nightly job exports")
        exempt_table_backup(table, holds="the items the nightly job exports")
        return table

    def _access_logs_bucket(self, removal_policy: RemovalPolicy) -> s3.Bucket:
        """Server access logs of the created export bucket: who read or wrote which export,
        kept a year."""
        return access_logs_bucket(
            self,
            "AccessLogs",
            logs_of="the export bucket",
            removal_policy=removal_policy,
            expiration=Duration.days(365),
        )

    def _bucket(
        self,
        access_logs: s3.IBucket | None,
        removal_policy: RemovalPolicy,
        retention: Duration | None,
        overrides: Mapping[str, Any] | None,
    ) -> s3.Bucket:
        """The export bucket when the caller has none: private, TLS-only, logged, versioned (an
        overwritten or deleted export is kept 30 days), with lifecycle rules so that exports
        cost less as they age and expire after ``retention``."""
        rules = [
            s3.LifecycleRule(
                id="ExportsAge",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=Duration.days(30),
                    )
                ],
                expiration=retention,
                noncurrent_version_expiration=Duration.days(30),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            ),
            # Lock objects leave delete markers behind in a versioned bucket.
            s3.LifecycleRule(id="DeleteMarkers", expired_object_delete_marker=True),
        ]
        bucket = s3.Bucket(
            self,
            "Bucket",
            **consolidate_props(
                self,
                "bucket_props",
                {
                    **secure_bucket_props(removal_policy),
                    "versioned": True,
                    "server_access_logs_bucket": access_logs,
                    "server_access_logs_prefix": "export-bucket/",
                    "lifecycle_rules": rules,
                },
                overrides,
                owned=REMOVAL_OWNED,
                secure=SECURE_BUCKET,
            ),
        )
        exempt(
            bucket,
            "SSE-S3 (AES-256, S3's own keys), private and TLS-only: SSE-KMS would bill every "
            "export part and read, and need every reader to hold kms:Decrypt, for readers IAM "
            "already decides. bucket_props can set a KMS key.",
            guard="s3_bucket_default_encryption_kms_check",
        )
        exempt_bucket_extras(bucket, "table exports, expired by the retention lifecycle rule")
        return bucket

    def _job(
        self,
        *,
        description: str,
        code_path: str | Path,
        schedule: scheduler.ScheduleExpression | None,
        flexible_time_window: Duration | None,
        prefix: str,
        records_per_part: int,
        scan_page_size: int | None,
        consistent_read: bool,
        memory_size: int,
        timeout: Duration,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        alarm_topic: sns.ITopic | None,
        alarm_email: str | None,
    ) -> ScheduledJob:
        """The export handler on a ``ScheduledJob``, which brings the schedule, the retries,
        the dead-letter queue and the alarms; the handler is configured by its environment."""
        return ScheduledJob(
            self,
            "Job",
            code_path=code_path,
            handler="nightly_export.app.lambda_handler",
            description=description,
            schedule=schedule,
            flexible_time_window=flexible_time_window,
            environment={
                "TABLE_NAME": self.table.table_name,
                "BUCKET_NAME": self.bucket.bucket_name,
                "EXPORT_PREFIX": prefix,
                "RECORDS_PER_PART": str(records_per_part),
                "SCAN_PAGE_SIZE": str(scan_page_size or 0),
                "CONSISTENT_READ": "true" if consistent_read else "false",
                # A lock older than the timeout has a dead holder and may be taken over.
                "LOCK_TTL_SECONDS": str(int(timeout.to_seconds()) + 30),
                "POWERTOOLS_SERVICE_NAME": "table-export",
                "POWERTOOLS_METRICS_NAMESPACE": "ScheduledJob",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            memory_size=memory_size,
            timeout=timeout,
            log_retention=log_retention,
            removal_policy=removal_policy,
            alarm_topic=alarm_topic,
            alarm_email=alarm_email,
        )

    def _grant(self, prefix: str) -> None:
        """Least privilege for the export: Scan on the one table; put/get/delete under the
        prefix; list under the prefix. No other table, key or bucket is reachable."""
        function = self.function
        self.table.grant(function, "dynamodb:Scan")
        if self.table.encryption_key is not None:
            self.table.encryption_key.grant_decrypt(function)
        objects = self.bucket.arn_for_objects(f"{prefix}*")
        function.add_to_role_policy(
            iam.PolicyStatement(
                # AbortMultipartUpload: boto3 cleans up after a failed upload of a large part.
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                resources=[objects],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        )
        if self.bucket.encryption_key is not None:
            # What SSE-KMS needs to write (also multipart) and read objects; no ReEncrypt*.
            self.bucket.encryption_key.grant(function, "kms:GenerateDataKey", "kms:Decrypt")
        policy = function.role.node.try_find_child("DefaultPolicy") if function.role else None
        if policy is not None:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_text(self, self.bucket.bucket_arn)}/{prefix}*]",
                "Exports are one object per part per run under the export prefix; object "
                "access is limited to that prefix of the one bucket.",
            )


class ScheduledJobStack(Stack):
    """Deploys one ``TableExportJob``. Context keys (``ScheduledJob:<key>`` or ``<key>``):
    ``removal_policy`` (retain|destroy), ``alarm_email``, ``table_name`` (export an existing
    table), ``bucket_name`` (write to an existing bucket), ``schedule`` (a Scheduler
    expression, default ``cron(0 2 * * ? *)``), ``time_zone`` (IANA name, default UTC),
    ``flexible_window_minutes`` (0 = on time), ``export_prefix``, ``retention_days``
    (0 = keep)."""

    CONTEXT_KEYS = (
        "removal_policy",
        "alarm_email",
        "table_name",
        "bucket_name",
        "schedule",
        "time_zone",
        "flexible_window_minutes",
        "export_prefix",
        "retention_days",
    )

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        table_name = config.get_matching(
            "table_name",
            r"[A-Za-z0-9_.-]{3,255}",
            "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)",
        )
        bucket_name = config.get_matching("bucket_name", *S3_BUCKET_NAME)
        # Scheduler's flexible window is 1 to 1440 minutes; 0 means on time.
        window = config.get_int("flexible_window_minutes", 15, minimum=0, maximum=1440)
        retention_days = config.get_int("retention_days", 365, minimum=0)
        prefix = config.get_str("export_prefix", "exports/")
        if not prefix.endswith("/") or prefix.startswith("/"):
            raise config.fail("export_prefix", prefix, "a folder such as exports/ (ends with /)")
        schedule = config.get_schedule("schedule", "cron(0 2 * * ? *)", at=True)
        assert schedule is not None
        job = TableExportJob(
            self,
            "Export",
            table=dynamodb.Table.from_table_name(self, "SourceTable", table_name)
            if table_name
            else None,
            bucket=s3.Bucket.from_bucket_name(self, "ExportBucket", bucket_name)
            if bucket_name
            else None,
            prefix=prefix,
            retention=Duration.days(retention_days) if retention_days else None,
            schedule=scheduler.ScheduleExpression.expression(
                schedule, TimeZone.of(config.get_time_zone("time_zone", "UTC"))
            ),
            flexible_time_window=Duration.minutes(window) if window else None,
            removal_policy=config.removal_policy(),
            alarm_email=config.get_email(),
        )
        CfnOutput(self, "TableName", value=job.table.table_name)
        CfnOutput(self, "BucketName", value=job.bucket.bucket_name)
        CfnOutput(self, "FunctionName", value=job.function.function_name)
        CfnOutput(self, "ScheduleName", value=job.job.schedule.schedule_name)
        CfnOutput(
            self,
            "DeadLetterQueueUrl",
            value=job.job.dead_letter_queue.queue_url,
            description="Failed runs, with the error; redrive by invoking the function again",
        )
