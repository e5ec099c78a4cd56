"""What every pattern shares, and nothing else: configuration from context, cdk-nag
acknowledgements, the alarm topic and alarm wiring, log retention, the Powertools layer and the
house Lambda, the dead-letter queue, the secure bucket defaults and access-log bucket, the
flow-logged VPC and its endpoints, and API Gateway's account-wide logging role.

Copying one pattern into another CDK app means copying its module, this one, and its
handler or container folder; the pattern modules import this one relatively.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zoneinfo
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    AssetHashType,
    BundlingOptions,
    CfnResource,
    DockerImage,
    Duration,
    Fn,
    ILocalBundling,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# Powertools for AWS Lambda (Python) publishes its layer in every commercial region from this
# account. Layer version 27 is Powertools 3.23.0, the version requirements-dev.txt pins so that
# the handler tests run the library that runs in Lambda. Bump both together.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27


# The id prefix CDK gives the findings of the Control Tower rules plugin
# (cdklabs.cdk-validator-cfnguard) in the validation report and in acknowledgements.
GUARD_PLUGIN = "cdk-validator-cfnguard"


def _ids(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def exempt(
    construct: IConstruct,
    reason: str,
    *,
    nag: str | Sequence[str] = (),
    guard: str | Sequence[str] = (),
    checkov: str | Sequence[str] = (),
) -> None:
    """Record one exception, with one reason, for every policy engine that raises it on
    ``construct``: cdk-nag rules (``AwsSolutions-L1``, or one finding such as
    ``AwsSolutions-IAM5[Resource::*]``), Control Tower rules (the cfn-guard rule name,
    ``lambda_inside_vpc_check``) and checkov checks (``CKV_AWS_117``).

    cdk-nag and Control Tower findings are acknowledged through ``Validations`` on the construct;
    checkov's skips are written into the metadata of the construct's CloudFormation resource (the
    construct itself or its ``default_child``), which is where checkov reads them. One call per
    resource and concern, so the engines' exceptions cannot drift apart.
    """
    if not reason.strip() or len(reason) < 20:
        raise ValueError(f"an exception on {construct.node.path} needs a real reason: {reason!r}")
    nag_ids, guard_ids, checkov_ids = _ids(nag), _ids(guard), _ids(checkov)
    if not (nag_ids or guard_ids or checkov_ids):
        raise ValueError(f"an exception on {construct.node.path} names no rule")
    validations = Validations.of(construct)
    for rule in nag_ids:
        validations.acknowledge(Acknowledgment(id=rule, reason=reason))
    for rule in guard_ids:
        validations.acknowledge(Acknowledgment(id=f"{GUARD_PLUGIN}::{rule}", reason=reason))
    if checkov_ids:
        resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
        if not isinstance(resource, CfnResource):
            raise ValueError(f"{construct.node.path} has no CloudFormation resource for checkov")
        skips = (resource.get_metadata("checkov") or {}).get("skip", [])
        skips += [{"id": check, "comment": reason} for check in checkov_ids]
        resource.add_metadata("checkov", {"skip": skips})


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on one construct: ``exempt(construct, reason, nag=...)``.

    ``rule_id`` is a single rule (``AwsSolutions-L1``) or a single finding of a rule
    (``AwsSolutions-IAM5[Resource::*]``); never a whole pack.
    """
    exempt(construct, reason, nag=rule_id)


def nag_text(scope: IConstruct, value: str) -> str:
    """A string as cdk-nag spells it in a finding id: tokens become ``<Logical.Arn>``,
    ``<AWS::Region>``..., literals stay literal. Spell acknowledgements with it, so one stays
    right whether the stack is environment-agnostic or pinned to an account and region."""

    def render(part: Any) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and len(part) == 1:
            ((name, arg),) = part.items()
            if name == "Ref":
                return f"<{arg}>"
            if name == "Fn::GetAtt":
                return f"<{arg[0]}.{arg[1]}>"
            if name == "Fn::Join":
                return str(arg[0]).join(render(p) for p in arg[1])
        raise ValueError(f"cannot spell {part!r} as cdk-nag does")

    return render(Stack.of(scope).resolve(value))


def stack_zones(stack: Stack, config: ContextConfig, key: str = "availability_zones") -> list[str]:
    """A stack's availability zones without an account lookup. A stack pinned to an account and
    region otherwise asks the account for its zones at synth (AWS credentials needed); this
    returns the zones context ``key`` names, else the first two the region offers, resolved
    by CloudFormation (``Fn::GetAZs``) as for an environment-agnostic stack. A stack overrides
    its ``availability_zones`` property with it."""
    zones = config.get_zones(key, stack.region)
    return zones or [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]


# Not SNAPSHOT: CloudFormation snapshots volumes and databases, none of which a pattern here
# creates; a stack asked for it would fail to deploy.
_REMOVAL_POLICIES = {
    "retain": RemovalPolicy.RETAIN,
    "destroy": RemovalPolicy.DESTROY,
}


class ConfigError(ValueError):
    """A configuration value that cannot work, said in one line: the key, the value, and what
    is expected. ``app.py`` prints it as ``error: <message>`` and exits 2, with no traceback."""


class UnavailableHere(ConfigError):
    """A stack that cannot exist in the environment it was given (Lightsail in us-west-1). The
    app adds how to synthesize the other stacks without it."""


# -- validation of values (context and construct props alike) -----------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_ARN = re.compile(r"^arn:aws(-[a-z]+)*:([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ZONE = re.compile(r"^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)([a-z])$")
_USER_POOL_ID = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9A-Za-z]+$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#\-]+$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")

# get_matching arguments for a context key naming an existing bucket (S3's naming rules).
S3_BUCKET_NAME = (
    r"(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    "an S3 bucket name (3-63 of a-z 0-9 . -)",
)

# Fargate's task sizes: CPU units -> the memory (MiB) each allows (AWS Fargate "task CPU and
# memory" table). AWS Batch on Fargate takes the same pairs, in vCPUs.
FARGATE_MEMORY_MIB: Mapping[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


def fargate_size_error(cpu_units: int, memory_mib: int) -> str | None:
    """Why Fargate refuses ``cpu_units``/``memory_mib``, or None when it takes them."""
    if cpu_units not in FARGATE_MEMORY_MIB:
        return f"a Fargate CPU size, one of {list(FARGATE_MEMORY_MIB)} CPU units"
    allowed = FARGATE_MEMORY_MIB[cpu_units]
    if memory_mib not in allowed:
        return (
            f"with {cpu_units} CPU units, Fargate memory from {allowed.start} to "
            f"{allowed[-1]} MiB in steps of {allowed.step}"
        )
    return None


def schedule_error(expression: str, *, at: bool) -> str | None:
    """Why EventBridge (``at=False``) or EventBridge Scheduler (``at=True``) would reject a
    schedule expression, or None when it is well formed."""
    expected = "cron(min hour day month weekday year), rate(N minutes|hours|days)" + (
        " or at(yyyy-mm-ddThh:mm:ss)" if at else ""
    )
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split()
        if (
            len(fields) == 6
            and all(_CRON_FIELD.match(f) for f in fields)
            and (fields[2] == "?") != (fields[4] == "?")
        ):
            return None
        return f"{expected}; a cron has 6 fields and '?' in exactly one of day or weekday"
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value >= 1 and (value == 1) != unit.endswith("s"):
            return None
        return f"{expected}; rate(1 hour) is singular, rate(2 hours) plural, and N >= 1"
    if at and _AT.match(text):
        return None
    return expected


def time_zone_error(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone, or None."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone such as UTC or Europe/Paris"
    return None


def cidr_error(cidr: str) -> str | None:
    """Why ``cidr`` is not a network in CIDR notation (host bits set included), or None."""
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as err:
        return f"a CIDR such as 203.0.113.0/24 ({err})"
    return None


def arn_error(arn: str, service: str, resource: str = "") -> str | None:
    """Why ``arn`` is not an ARN of ``service`` whose resource starts with ``resource``, or
    None. Tokens (an ARN from another construct) are accepted as they are."""
    if Token.is_unresolved(arn):
        return None
    match = _ARN.match(arn)
    if match is None or match.group(2) != service or not match.group(5).startswith(resource):
        return f"an ARN like arn:aws:{service}:<region>:<account>:{resource}..."
    return None


def origin_error(origin: str) -> str | None:
    """Why ``origin`` is not a CORS origin (scheme, host, optional port, no path), or None."""
    return (
        None
        if _ORIGIN.match(origin)
        else "origins with a scheme and no path, like https://app.example.com"
    )


def email_error(email: str) -> str | None:
    return None if _EMAIL.match(email) else "an e-mail address like ops@example.com"


def zone_error(zone: str, region: str) -> str | None:
    """Why ``zone`` is not an availability zone of ``region`` (any region if unresolved)."""
    match = _ZONE.match(zone)
    if match is None:
        return "an availability zone name like eu-west-1a"
    if not Token.is_unresolved(region) and match.group(1) != region:
        return f"an availability zone of the stack's region {region}"
    return None


def check(prop: str, value: Any, error: str | None) -> None:
    """Raise the one-line ConfigError of a construct prop when ``error`` says what is wrong."""
    if error is not None:
        raise ConfigError(f"{prop}={value!r}: expected {error}")


class ContextConfig:
    """Typed, validated reads of CDK context for one stack.

    A key is looked up as ``<Stack>:<key>`` first, then as the plain ``<key>`` shared by
    every stack, then falls back to the default. Values from ``cdk -c`` arrive as strings;
    values from cdk.json keep their JSON type; both are accepted. A value that cannot work
    raises ConfigError naming the key, the value and what is expected.

    ``keys`` are the keys the stack declares (its ``CONTEXT_KEYS``); the app refuses context
    that no stack declares, so reading an undeclared key is a bug and raises KeyError.
    """

    def __init__(self, scope: Construct, prefix: str, keys: Collection[str] | None = None) -> None:
        self._scope = scope
        self._prefix = prefix
        self._keys = None if keys is None else frozenset(keys)

    def _raw(self, key: str) -> Any:
        if self._keys is not None and key not in self._keys:
            raise KeyError(f"{self._prefix} reads context {key!r} but does not declare it")
        for name in (f"{self._prefix}:{key}", key):
            value = self._scope.node.try_get_context(name)
            if value is not None:
                return value
        return None

    def fail(self, key: str, value: Any, expected: str) -> ConfigError:
        """The error for ``key``: ``context <Stack>:<key>=<value>: expected <expected>``."""
        return ConfigError(f"context {self._prefix}:{key}={value!r}: expected {expected}")

    # Kept for the callers that predate ``fail``.
    _fail = fail

    def _checked(self, key: str, value: Any, error: str | None) -> None:
        if error is not None:
            raise self.fail(key, value, error)

    def get_str(self, key: str, default: str) -> str:
        value = self._raw(key)
        return default if value is None else str(value)

    def get_optional_str(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value in (None, "") else str(value)

    def get_choice(self, key: str, default: str, choices: Collection[str]) -> str:
        """One of ``choices`` (compared in lower case)."""
        value = self.get_str(key, default).strip().lower()
        if value not in choices:
            raise self.fail(key, value, f"one of {', '.join(choices)}")
        return value

    def get_matching(self, key: str, pattern: str, expected: str) -> str | None:
        """An optional string matching the regular expression ``pattern`` in full."""
        value = self.get_optional_str(key)
        if value is not None and not re.fullmatch(pattern, value):
            raise self.fail(key, value, expected)
        return value

    def get_int(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self._raw(key)
        if value is None:
            return default
        expected = "an integer" + (
            f" from {minimum} to {maximum}"
            if minimum is not None and maximum is not None
            else f" >= {minimum}"
            if minimum is not None
            else f" <= {maximum}"
            if maximum is not None
            else ""
        )
        if isinstance(value, bool):
            raise self.fail(key, value, expected)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self.fail(key, value, expected) from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise self.fail(key, value, expected)
        return number

    def get_float(self, key: str, default: float) -> float:
        value = self._raw(key)
        if value is None:
            return default
        try:
            number = float(str(value).strip())
        except ValueError:
            raise self.fail(key, value, "a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail(key, value, "a number")
        return number

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
        raise self.fail(key, value, "true or false")

    def get_list(self, key: str, default: list[str]) -> list[str]:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    def _get_checked_list(
        self, key: str, default: list[str], error: Callable[[str], str | None]
    ) -> list[str]:
        values = self.get_list(key, default)
        for value in values:
            problem = error(value)
            if problem is not None:
                raise self.fail(key, value, problem)
        return values

    def get_int_list(
        self, key: str, default: list[int], *, minimum: int, maximum: int
    ) -> list[int]:
        """Comma-separated integers, each from ``minimum`` to ``maximum``; at least one."""
        expected = f"comma-separated integers from {minimum} to {maximum}"
        values = self.get_list(key, [str(v) for v in default])
        numbers: list[int] = []
        for value in values:
            try:
                numbers.append(int(value))
            except ValueError:
                raise self.fail(key, value, expected) from None
            if not minimum <= numbers[-1] <= maximum:
                raise self.fail(key, value, expected)
        if not numbers:
            raise self.fail(key, ",".join(values), expected)
        return numbers

    def get_email(self, key: str = "alarm_email") -> str | None:
        value = self.get_optional_str(key)
        if value is not None:
            self._checked(key, value, email_error(value))
        return value

    def get_arn(self, key: str, service: str, resource: str = "") -> str | None:
        """An optional ARN of ``service`` whose resource part starts with ``resource``."""
        value = self.get_optional_str(key)
        if value is not None:
            self._checked(key, value, arn_error(value, service, resource))
        return value

    def get_cidrs(self, key: str, default: list[str]) -> list[str]:
        return self._get_checked_list(key, default, cidr_error)

    def get_account_ids(self, key: str) -> list[str]:
        return self._get_checked_list(
            key, [], lambda v: None if _ACCOUNT.match(v) else "12-digit AWS account ids"
        )

    def get_origins(self, key: str) -> list[str]:
        """CORS origins: scheme and host (and port), no path, e.g. https://app.example.com."""
        return self._get_checked_list(key, [], origin_error)

    def get_schedule(self, key: str, default: str | None, *, at: bool) -> str | None:
        """A schedule expression (EventBridge, or EventBridge Scheduler when ``at``)."""
        value = self.get_optional_str(key) or default
        if value is not None:
            self._checked(key, value, schedule_error(value, at=at))
        return value

    def get_time_zone(self, key: str, default: str) -> str:
        value = self.get_str(key, default)
        self._checked(key, value, time_zone_error(value))
        return value

    def get_user_pool_id(self, key: str) -> str | None:
        value = self.get_optional_str(key)
        if value is not None and not _USER_POOL_ID.match(value):
            raise self.fail(key, value, "a Cognito user pool id like eu-west-1_AbC123xyz")
        return value

    def get_zones(self, key: str, region: str) -> list[str] | None:
        """Availability zone names of ``region`` (two or more), or None when not set."""
        if self._raw(key) is None:
            return None
        zones = self._get_checked_list(key, [], lambda z: zone_error(z, region))
        if len(zones) < 2 or len(set(zones)) != len(zones):
            raise self.fail(key, ",".join(zones), "two or more different availability zones")
        return zones

    def removal_policy(self, key: str = "removal_policy") -> RemovalPolicy:
        value = self.get_str(key, "retain").lower()
        if value not in _REMOVAL_POLICIES:
            raise self.fail(key, value, f"one of {sorted(_REMOVAL_POLICIES)}")
        return _REMOVAL_POLICIES[value]


# Context keys that belong to the CDK rather than to a stack: feature flags (``@aws-cdk/...``),
# what the CLI injects (``aws:cdk:...``), lookups cached in cdk.context.json (``...:account=...``),
# and the few plain keys the CLI and cdk.json use.
_CDK_KEYS = frozenset({"cli-telemetry", "acknowledged-issue-numbers", "assetOutputs"})


def _is_cdk_key(key: str) -> bool:
    return (
        key in _CDK_KEYS
        or "@" in key
        or "=" in key
        or key.startswith(("aws:cdk:", "aws-cdk:", "cdk-"))
    )


def _closest(name: str, candidates: Collection[str]) -> str | None:
    """The candidate ``name`` was probably meant to be (case ignored), or None."""
    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), lowered, n=1)
    return lowered[match[0]] if match else None


def unknown_context_error(
    context: Mapping[str, Any], stack_keys: Mapping[str, Collection[str]], app_keys: Collection[str]
) -> str | None:
    """The first context key that no stack reads (a typo would be silently ignored), with the
    closest known key; None when every key is known. ``stack_keys`` maps each stack name to the
    keys it declares; ``app_keys`` are the app's own (``account``, ``region``, ``stacks``)."""
    plain = set(app_keys).union(*stack_keys.values())
    for key in sorted(context):
        if _is_cdk_key(key):
            continue
        stack, sep, name = key.partition(":")
        if not sep:
            if key not in plain:
                close = _closest(key, plain)
                hint = f"did you mean {close}? " if close else ""
                return f"context {key}: unknown key; {hint}known keys: {', '.join(sorted(plain))}"
        elif stack not in stack_keys:
            close = _closest(stack, stack_keys)
            hint = f"did you mean {close}:{name}? " if close else ""
            return f"context {key}: unknown stack {stack!r}; {hint}stacks: {', '.join(stack_keys)}"
        elif name not in stack_keys[stack]:
            known = sorted(stack_keys[stack])
            close = _closest(name, known)
            hint = f"did you mean {stack}:{close}? " if close else ""
            return f"context {key}: unknown key for {stack}; {hint}known keys: {', '.join(known)}"
    return None


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
        # Grants let a principal hand the key on; only AWS services acting for a resource
        # (which none here needs) may create them. Control Tower's CT.KMS.PR.3 asks for this.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyGrantsExceptToAwsServices",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "BoolIfExists": {
                        "kms:GrantIsForAWSResource": "false",
                        "aws:PrincipalIsAWSService": "false",
                    }
                },
            )
        )
        topic = sns.Topic(scope, id, master_key=key, enforce_ssl=True, display_name="Alarms")
    if email:
        check("alarm_email", email, email_error(email))
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


def function_graph(title: str, function: lambda_.IFunction) -> cloudwatch.GraphWidget:
    """A dashboard graph of a function: invocations, errors and throttles, with p99 duration."""
    return cloudwatch.GraphWidget(
        title=title,
        left=[
            function.metric_invocations(statistic="Sum"),
            function.metric_errors(statistic="Sum"),
            function.metric_throttles(statistic="Sum"),
        ],
        right=[function.metric_duration(statistic="p99")],
    )


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


def exempt_log_group(log_group: logs.ILogGroup, *, holds: str) -> None:
    """The two exceptions every log group here carries, with ``holds`` saying what it keeps.

    Not a KMS key per log group: CloudWatch Logs already encrypts every log group at rest, and a
    customer-managed key adds $1/month per key and a key policy to maintain, for logs that hold no
    secrets. Retention below a year (the pattern's ``log_retention``, 90 days by default) is
    acknowledged only when it is below a year: these are operational logs, not an audit trail.
    """
    resource = log_group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    exempt(
        log_group,
        f"Holds {holds}, never secrets; CloudWatch Logs encrypts it at rest with its own key. A "
        "customer-managed KMS key per log group would add $1/month and a key policy for no "
        "reader who could not already read the logs through IAM.",
        guard="cloudwatch_log_group_encrypted_check",
        checkov="CKV_AWS_158",
    )
    days = resource.retention_in_days
    if isinstance(days, int) and days < 365:
        exempt(
            log_group,
            f"Operational logs kept {days} days (the construct's log_retention): long enough "
            "to debug and to compare releases, not an audit trail (CloudTrail is). A team "
            "whose policy demands a year passes log_retention=RetentionDays.ONE_YEAR.",
            guard="cloudwatch_log_group_retention_period_check",
        )


def function_role_and_logs(
    scope: Construct,
    id: str,
    *,
    role_description: str,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> tuple[iam.Role, logs.LogGroup]:
    """A function's own log group (``<id>Logs``) and its own role (``<id>Role``), which may
    write only to that log group. Not ``AWSLambdaBasicExecutionRole``: that managed policy lets
    a function write to every log group in the account."""
    log_group = logs.LogGroup(
        scope, f"{id}Logs", retention=log_retention, removal_policy=removal_policy
    )
    role = iam.Role(
        scope,
        f"{id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group.grant_write(role)
    exempt_log_group(log_group, holds="the function's own logs (requests, errors, metrics)")
    return role, log_group


# -- Lambda code and its pinned dependencies ------------------------------------------------------

# What every house function runs on (python_function): the wheels bundled for it must match.
LAMBDA_PLATFORM = "manylinux2014_aarch64"
LAMBDA_PYTHON = "3.13"
REQUIREMENTS = "requirements.txt"
_SKIPPED = ("__pycache__", ".pyc", ".pytest_cache", ".mypy_cache")
# Wheels for the Lambda platform only, whatever this machine is; no .pyc for this machine's
# Python (Lambda's 3.13 would not use them, and they would make bundles differ).
_PIP_INSTALL = (
    *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
    *("--no-compile", "--only-binary=:all:", "--implementation", "cp"),
    *("--platform", LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON),
)


def bundle_cache_dir() -> Path:
    """Where installed dependencies are kept between synths, one folder per lock hash:
    ``$CDK_BUNDLE_CACHE``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)/aws-cdk-reference/bundles."""
    explicit = os.environ.get("CDK_BUNDLE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aws-cdk-reference" / "bundles"


def _source_files(code_path: Path) -> list[Path]:
    return sorted(
        p
        for p in code_path.rglob("*")
        if p.is_file()
        and not any(part.endswith(_SKIPPED) for part in p.relative_to(code_path).parts)
    )


def _lock_hash(requirements: Path) -> str:
    """The install's identity: the pinned requirements and the platform they are for."""
    digest = hashlib.sha256(f"{LAMBDA_PLATFORM}|cp{LAMBDA_PYTHON}\n".encode())
    digest.update(requirements.read_bytes())
    return digest.hexdigest()


def code_hash(code_path: Path) -> str:
    """The asset's identity, the same on every machine: the lock hash and every source file's
    relative path and bytes (not mtimes or absolute paths, which differ between checkouts)."""
    digest = hashlib.sha256(_lock_hash(code_path / REQUIREMENTS).encode())
    for path in _source_files(code_path):
        digest.update(path.relative_to(code_path).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _pip_failure(requirements: Path, stderr: str) -> ValueError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    missing = [line for line in lines if "No matching distribution found for" in line]
    if missing:
        package = missing[-1].rsplit("for", 1)[-1].strip()
        return ValueError(
            f"{requirements}: no {LAMBDA_PLATFORM} wheel for CPython {LAMBDA_PYTHON} of "
            f"{package!r}; pin a version that publishes one (wheels only: no compilers, no "
            "Docker at synth)"
        )
    last = lines[-1] if lines else "no output"
    return ValueError(f"{requirements}: pip could not install it for {LAMBDA_PLATFORM}: {last}")


def install_dependencies(requirements: Path, cache: Path | None = None) -> Path:
    """The wheels of ``requirements`` for the Lambda platform, installed once per lock hash
    into the cache and reused by every later synth; a folder to copy into the asset.

    Wheels only (``--only-binary=:all:``) for ``LAMBDA_PLATFORM`` and CPython
    ``LAMBDA_PYTHON``: nothing is compiled and nothing runs in Docker. A package with no such
    wheel is a one-line ``ValueError`` naming it.
    """
    target = (cache or bundle_cache_dir()) / _lock_hash(requirements)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside the cache and renamed into place: a concurrent synth (pytest-xdist, two
    # terminals) sees a complete folder or none.
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, the file is the project's own
            [*_PIP_INSTALL, "--target", str(staging), "-r", str(requirements)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise _pip_failure(requirements, result.stderr)
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts for this machine
        try:
            staging.rename(target)
        except OSError:  # another process won the race; its folder is as good as ours
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)  # the cache and cdk.out are usually on one disk
    except OSError:
        shutil.copy2(source, destination)


@jsii.implements(ILocalBundling)
class _WheelsAndSources:
    """CDK local bundling (no Docker): the asset is the installed wheels plus the sources."""

    def __init__(self, code_path: Path, cache: Path | None = None) -> None:
        self._code_path = code_path
        self._cache = cache

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        installed = install_dependencies(self._code_path / REQUIREMENTS, self._cache)
        shutil.copytree(installed, output_dir, dirs_exist_ok=True, copy_function=_link_or_copy)
        for path in _source_files(self._code_path):
            relative = path.relative_to(self._code_path)
            if relative.as_posix() == REQUIREMENTS:
                continue
            destination = Path(output_dir) / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        return True


@functools.cache
def _bundling(code_path: Path) -> BundlingOptions:
    # One object per folder: CDK hashes the options and caches bundles by them within a run.
    return BundlingOptions(
        image=DockerImage.from_registry("unused-local-bundling-only"),
        local=_WheelsAndSources(code_path),
    )


def lambda_code(scope: Construct, code_path: str | Path) -> lambda_.Code:
    """A zip asset of ``code_path``. When the folder carries a pinned ``requirements.txt``, its
    wheels for the Lambda platform are bundled in (see ``install_dependencies``), with a
    content hash of the lock and the sources so the asset is the same on every machine.

    CDK bundles only the stacks the CLI selected (``cdk deploy A`` skips B's bundles); the wheels
    are installed here first, in Python, so a missing wheel fails synth with one line.
    """
    path = Path(code_path).resolve()
    if not (path / REQUIREMENTS).is_file():
        return lambda_.Code.from_asset(str(path), exclude=["**/__pycache__"])
    if Stack.of(scope).bundling_required:
        install_dependencies(path / REQUIREMENTS)
    return lambda_.Code.from_asset(
        str(path),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=code_hash(path),
        bundling=_bundling(path),
    )


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
    A ``requirements.txt`` in ``code_path`` is bundled for the function's platform
    (``lambda_code``); boto3 and Powertools come from the runtime and the layer, not from it.
    """
    role, log_group = function_role_and_logs(
        scope,
        id,
        role_description=f"{description}: its log group, X-Ray, and what its construct grants",
        log_retention=log_retention,
        removal_policy=removal_policy,
    )
    function = lambda_.Function(
        scope,
        id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=lambda_code(scope, code_path),
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
    exempt(
        function,
        "The function reaches only AWS APIs (over TLS, authorized by its role), nothing in a "
        "private network; in a VPC it would need a NAT gateway (~$33/month) or an endpoint per "
        "service (~$15/month each) and would gain no protection.",
        guard="lambda_inside_vpc_check",
        checkov="CKV_AWS_117",
    )
    exempt(
        function,
        "The environment holds resource names and settings only, never secrets (those stay in "
        "Secrets Manager or SSM and are read at run time); Lambda encrypts it at rest with "
        "its service key.",
        checkov="CKV_AWS_173",
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


def exempt_invoke_permissions(scope: IConstruct, invoked_by: str) -> None:
    """Acknowledge, on each ``lambda.CfnPermission`` under ``scope`` (one resource each), the
    Control Tower rule that reads a permission's ``SourceArn`` only as a literal or a plain
    reference: CDK scopes these to the API's own ARN with an ``Fn::Join`` it cannot read."""
    for child in scope.node.find_all():
        if isinstance(child, lambda_.CfnPermission):
            exempt(
                child,
                f"Lets {invoked_by} invoke the function: the principal is the API Gateway "
                "service and SourceArn is this API's own execute-api ARN (an Fn::Join, which "
                "the rule cannot evaluate), so no other API or account can invoke it.",
                guard="lambda_function_public_access_prohibited_check",
            )


def merge_props(defaults: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Caller's overrides on top of the secure defaults (the Solutions Constructs escape hatch)."""
    return {**defaults, **(overrides or {})}


# -- DynamoDB ----------------------------------------------------------------------------------


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


# -- Queues ----------------------------------------------------------------------------------


def dead_letter_queue(
    scope: Construct, id: str, *, of: str, removal_policy: RemovalPolicy
) -> sqs.Queue:
    """An SQS queue for what failed every retry (``of`` says whose failures): SSE-SQS, so
    Lambda, EventBridge and Scheduler can send to it with no key policy to maintain; TLS-only;
    messages kept 14 days, SQS's maximum, for inspection and redrive. Alarm on its depth."""
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    exempt(
        queue,
        f"This queue is itself the dead-letter destination of {of}; messages are kept 14 "
        "days for inspection and redrive, and its depth raises an alarm.",
        nag="AwsSolutions-SQS3",
        guard="sqs_dlq_check",
    )
    exempt(
        queue,
        "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which this check does not "
        "recognize: a KMS key would need a key policy for every service that sends failures here.",
        checkov="CKV_AWS_27",
    )
    return queue


@jsii.implements(lambda_.IDestination)
class QueueFailureDestination:
    """An SQS on-failure destination for asynchronous invocations whose grant is what Lambda
    uses, ``sqs:SendMessage``: CDK's ``SqsDestination`` also grants ``sqs:GetQueueAttributes``
    and ``sqs:GetQueueUrl``, which nothing calls (tests/test_iam_conformance.py)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        _scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType | None = None,  # noqa: ARG002 - the interface's signature
    ) -> lambda_.DestinationConfig:
        iam.Grant.add_to_principal(
            grantee=fn, actions=["sqs:SendMessage"], resource_arns=[self._queue.queue_arn]
        )
        if self._queue.encryption_master_key is not None:
            self._queue.encryption_master_key.grant_encrypt_decrypt(fn)
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


# -- S3 ----------------------------------------------------------------------------------------

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
        **merge_props(
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


def exempt_bucket_extras(bucket: s3.IBucket, holds: str) -> None:
    """Two Control Tower rules no bucket here meets, and why: S3 Object Lock (WORM retention
    that blocks the lifecycle expiry and the stack's own DESTROY option) and event
    notifications on every bucket (only a bucket something reacts to has them)."""
    exempt(
        bucket,
        f"Holds {holds}. Object Lock (write-once retention) would stop lifecycle expiry and "
        "deletion on request; versioning or re-creation covers overwrites here.",
        guard="s3_bucket_object_lock_enabled_check",
    )
    exempt(
        bucket,
        f"Holds {holds}; nothing reacts to its new objects, so an event notification would "
        "have no consumer. CloudTrail data events are the place to audit writes.",
        guard="s3_event_notifications_enabled_check",
    )


# -- VPC ---------------------------------------------------------------------------------------

# Interface endpoints a task or job in a subnet without NAT needs to pull its image from ECR and
# to write its logs (image layers come from S3, through the gateway endpoint).
CONTAINER_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}
# What an EC2 container instance's ECS agent needs, on top, to register with its cluster.
ECS_AGENT_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
}


def flow_logged_vpc(
    scope: Construct,
    id: str,
    *,
    cidr: str,
    subnet_configuration: list[ec2.SubnetConfiguration],
    nat_gateways: int,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> ec2.Vpc:
    """A 2-AZ VPC whose flow logs (all traffic) go to a CloudWatch log group, ``FlowLogs``,
    kept for ``log_retention``. Each NAT gateway costs about $33/month plus $0.045/GB."""
    flow_logs = logs.LogGroup(
        scope, "FlowLogs", retention=log_retention, removal_policy=removal_policy
    )
    exempt_log_group(flow_logs, holds="VPC flow log records (addresses, ports, bytes)")
    vpc = ec2.Vpc(
        scope,
        id,
        ip_addresses=ec2.IpAddresses.cidr(cidr),
        max_azs=2,
        nat_gateways=nat_gateways,
        subnet_configuration=subnet_configuration,
        flow_logs={
            "All": ec2.FlowLogOptions(
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
        },
    )
    exempt_cdk_provider(
        scope,
        "Custom::VpcRestrictDefaultSGCustomResourceProvider",
        "removes every rule from the VPC's default security group at deploy",
    )
    return vpc


def exempt_cdk_provider(
    scope: Construct, provider_id: str, does: str, *, function_id: str = "Handler"
) -> None:
    """The exceptions of a Lambda function aws-cdk-lib adds to the stack to run a custom
    resource at deploy time (one per stack, whoever asks for it first)."""
    provider = Stack.of(scope).node.try_find_child(provider_id)
    handler = provider.node.try_find_child(function_id) if provider is not None else None
    if handler is None:
        return
    exempt(
        handler,
        f"aws-cdk-lib's deploy-time function that {does}: CloudFormation invokes it "
        "synchronously during deploys only; it calls AWS APIs alone, so a VPC would add "
        "nothing, and with no asynchronous invocations a dead-letter queue would receive "
        "nothing; a reserved concurrency would only take from the account's pool.",
        guard="lambda_inside_vpc_check",
        checkov=["CKV_AWS_117", "CKV_AWS_116", "CKV_AWS_115"],
    )


def add_vpc_endpoints(
    scope: Construct,
    vpc: ec2.Vpc,
    *,
    cidr: str,
    services: Mapping[str, ec2.InterfaceVpcEndpointAwsService],
    subnets: ec2.SubnetSelection | None = None,
) -> list[ec2.IVpcEndpoint]:
    """The S3 gateway endpoint (free) and an interface endpoint per service (about $7.30/month
    per AZ each), all behind one security group that admits HTTPS from ``cidr`` only (a literal,
    so reviewers and cdk-nag can read it) and sends nothing out."""
    endpoints: list[ec2.IVpcEndpoint] = [
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    ]
    security_group = ec2.SecurityGroup(
        scope,
        "EndpointSecurityGroup",
        vpc=vpc,
        description="VPC interface endpoints: HTTPS from inside the VPC",
        allow_all_outbound=False,
    )
    security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443))
    for name, service in services.items():
        endpoints.append(
            vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=subnets,
                security_groups=[security_group],
                open=False,
            )
        )
    return endpoints


# -- API Gateway -------------------------------------------------------------------------------


def api_gateway_logging_role(scope: Construct) -> apigw.CfnAccount:
    """API Gateway's one logging role per account and region (REST and WebSocket APIs write
    execution logs through it), and the account setting that points at it.

    Both are RETAINed: when this stack goes, every other API in the account keeps logging.
    Make the stages depend on the returned resource. A team whose platform already sets the
    role should skip this (each pattern has a prop for that).
    """
    role = iam.Role(
        scope,
        "ApiGatewayLoggingRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            )
        ],
    )
    role.apply_removal_policy(RemovalPolicy.RETAIN)
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide API Gateway logging role; this AWS-managed policy is the one "
        "API Gateway documents for it and is limited to CloudWatch Logs.",
    )
    account = apigw.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    return account
