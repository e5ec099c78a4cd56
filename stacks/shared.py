"""What every pattern shares, and nothing else: configuration from context, cdk-nag
acknowledgements, the alarm topic and alarm wiring, log retention and the Powertools layer.

Copying one pattern into another CDK app means copying its module, this one, and its
handler or container folder; the pattern modules import this one relatively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct, IConstruct

DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# Powertools for AWS Lambda (Python) publishes its layer in every commercial region from this
# account. Layer version 27 is Powertools 3.23.0, the version requirements-dev.txt pins so that
# the handler tests run the library that runs in Lambda. Bump both together.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on one construct, with the reason a reviewer reads.

    ``rule_id`` is a single rule (``AwsSolutions-L1``) or a single finding of a rule
    (``AwsSolutions-IAM5[Resource::*]``); never a whole pack.
    """
    if not reason.strip() or len(reason) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a real reason, got {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


_REMOVAL_POLICIES = {
    "retain": RemovalPolicy.RETAIN,
    "destroy": RemovalPolicy.DESTROY,
    "snapshot": RemovalPolicy.SNAPSHOT,
}


class ContextConfig:
    """Typed reads of CDK context for one stack.

    A key is looked up as ``<Stack>:<key>`` first, then as the plain ``<key>`` shared by
    every stack, then falls back to the default. Values from ``cdk -c`` arrive as strings;
    values from cdk.json keep their JSON type; both are accepted.
    """

    def __init__(self, scope: Construct, prefix: str) -> None:
        self._scope = scope
        self._prefix = prefix

    def _raw(self, key: str) -> Any:
        for name in (f"{self._prefix}:{key}", key):
            value = self._scope.node.try_get_context(name)
            if value is not None:
                return value
        return None

    def _fail(self, key: str, value: Any, expected: str) -> ValueError:
        return ValueError(f"context {self._prefix}:{key}={value!r}: expected {expected}")

    def get_str(self, key: str, default: str) -> str:
        value = self._raw(key)
        return default if value is None else str(value)

    def get_optional_str(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value in (None, "") else str(value)

    def get_int(self, key: str, default: int) -> int:
        value = self._raw(key)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self._fail(key, value, "an integer") from None

    def get_bool(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise self._fail(key, value, "true or false")

    def get_list(self, key: str, default: list[str]) -> list[str]:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    def removal_policy(self, key: str = "removal_policy") -> RemovalPolicy:
        value = self.get_str(key, "retain").lower()
        if value not in _REMOVAL_POLICIES:
            raise self._fail(key, value, f"one of {sorted(_REMOVAL_POLICIES)}")
        return _REMOVAL_POLICIES[value]


def ensure_alarm_topic(
    scope: Construct,
    id: str,
    *,
    topic: sns.ITopic | None = None,
    email: str | None = None,
) -> sns.ITopic:
    """Return ``topic`` if given, else create an encrypted, TLS-only SNS topic for alarms.

    The topic is encrypted with a customer-managed key (about $1/month) because CloudWatch
    alarms cannot publish to a topic encrypted with the AWS-managed ``aws/sns`` key.
    """
    if topic is None:
        key = kms.Key(
            scope,
            f"{id}Key",
            description=f"Encrypts the alarm topic of {scope.node.path}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # "*" in a key policy means this key only
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
            )
        )
        topic = sns.Topic(scope, id, master_key=key, enforce_ssl=True, display_name="Alarms")
    if email:
        topic.add_subscription(subs.EmailSubscription(email))
    return topic


class Alarms:
    """Creates alarms that all notify one topic, on alarm and on recovery.

    Missing data is not breaching: an idle service is a healthy one.
    """

    def __init__(self, scope: Construct, topic: sns.ITopic) -> None:
        self._scope = scope
        self._action = cw_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def add(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self._scope,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm


def powertools_layer(
    scope: Construct,
    id: str,
    *,
    architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
    python: str = "python313",
    version: int = POWERTOOLS_LAYER_VERSION,
) -> lambda_.ILayerVersion:
    """The public, AWS-managed Powertools layer for the stack's region: no bundling, no Docker."""
    arch = architecture.name  # "arm64" or "x86_64", as in the layer name
    stack = Stack.of(scope)
    arn = (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{version}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, id, arn)


def python_function(
    scope: Construct,
    id: str,
    *,
    code_path: str,
    handler: str,
    description: str,
    environment: Mapping[str, str],
    memory_size: int = 256,
    timeout: Duration | None = None,
    reserved_concurrency: int | None = None,
    log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> lambda_.Function:
    """A python3.13 arm64 function with the Powertools layer, X-Ray, JSON logs in its own log
    group (``<id>Logs``), and its own role (``<id>Role``) that may write only to that log group.

    Not ``AWSLambdaBasicExecutionRole``: that managed policy lets a function write to every log
    group in the account. Callers add their own grants (``table.grant_read_data(function)``).
    """
    log_group = logs.LogGroup(
        scope, f"{id}Logs", retention=log_retention, removal_policy=removal_policy
    )
    role = iam.Role(
        scope,
        f"{id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"{description}: its log group, X-Ray, and what its construct grants",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=lambda_.Code.from_asset(code_path, exclude=["**/__pycache__"]),
        layers=[powertools_layer(scope, f"{id}Powertools")],
        memory_size=memory_size,
        timeout=timeout or Duration.seconds(10),
        reserved_concurrent_executions=reserved_concurrency,
        tracing=lambda_.Tracing.ACTIVE,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        role=role,
        environment=dict(environment),
        description=description,
    )
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Pinned to python3.13 (supported by Lambda into 2029) to match the Powertools layer "
        "(python313) and the pinned library the tests run; upgrade both together.",
    )
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is not None:
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions; X-Ray's own documentation grants them on *.",
        )
    return function


def merge_props(defaults: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Caller's overrides on top of the secure defaults (the Solutions Constructs escape hatch)."""
    return {**defaults, **(overrides or {})}
