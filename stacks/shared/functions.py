"""The house Lambda function (``python_function``): python3.13 on arm64, the Powertools layer,
X-Ray, JSON logs in its own log group and its own role that may write only there; and two of its
parts on their own (``powertools_layer``, ``function_role_and_logs``) for a function built
otherwise."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .bundling import lambda_code
from .defaults import DEFAULT_LOG_RETENTION
from .exceptions import acknowledge, exempt, exempt_log_group

# Powertools for AWS Lambda (Python) publishes its layer in every commercial region from this
# account. Layer version 27 is Powertools 3.23.0, the version requirements-dev.txt pins so that
# the handler tests run the library that runs in Lambda. Bump both together.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"


POWERTOOLS_LAYER_VERSION = 27


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


def powertools_environment(service: str, namespace: str, level: str = "INFO") -> dict[str, str]:
    """The Powertools settings every handler here reads: its service name (in logs and traces,
    and the metrics' service dimension), its metrics namespace and its log level."""
    return {
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": namespace,
        "POWERTOOLS_LOG_LEVEL": level,
    }
