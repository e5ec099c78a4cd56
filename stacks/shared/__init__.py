"""What every pattern shares, and nothing else, one module per concern:

- ``checks``: checks of configuration values (``ConfigError``, ``check``, the ``*_error`` checks);
- ``config``: configuration from CDK context (``ContextConfig``, ``unknown_context_error``);
- ``exceptions``: policy-engine exemptions: ``exempt``, ``acknowledge``, ``exempt_*``, ``nag_text``;
- ``defaults``: log retention and ``merge_props``;
- ``props``: the override contract, ``check_props`` and ``consolidate_props``;
- ``alarms``: the alarm topic, alarm wiring and a function's dashboard graph;
- ``bundling``: Lambda code and its pinned dependencies, bundled without Docker;
- ``functions``: the house Lambda function, its Powertools layer, role and log group;
- ``queues``: the dead-letter queue and the Lambda on-failure destination;
- ``storage``: the secure table and bucket defaults and the access-log bucket;
- ``options``: the option groups several constructs take, and the container image step;
- ``network``: the flow-logged VPC, its endpoints and a stack's availability zones;
- ``apigateway``: API Gateway's account-wide logging role.

Every public name is re-exported here, so pattern modules import ``from .shared import ...``
whatever module holds it. Copying one pattern into another CDK app means copying its module,
this folder, and its handler or container folder; the pattern modules import this package
relatively.
"""

from __future__ import annotations

from .alarms import (
    Alarms,
    ensure_alarm_topic,
    function_graph,
)
from .apigateway import api_gateway_logging_role
from .bundling import (
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON,
    REQUIREMENTS,
    bundle_cache_dir,
    code_hash,
    install_dependencies,
    lambda_code,
)
from .bundling import _WheelsAndSources as _WheelsAndSources  # bench/lambda_bundling.py
from .checks import (
    ACCOUNT_ID,
    FARGATE_MEMORY_MIB,
    REGION_NAME,
    S3_BUCKET_NAME,
    ConfigError,
    UnavailableHere,
    arn_error,
    check,
    cidr_error,
    email_error,
    fargate_size_error,
    origin_error,
    schedule_error,
    time_zone_error,
    zone_error,
)
from .config import (
    ContextConfig,
    ContextValueError,
    unknown_context_error,
)
from .defaults import (
    DEFAULT_LOG_RETENTION,
    merge_props,
)
from .exceptions import (
    CONCERNS,
    GUARD_PLUGIN,
    acknowledge,
    exempt,
    exempt_bucket_extras,
    exempt_bucket_replication,
    exempt_cdk_provider,
    exempt_inline_policies,
    exempt_invoke_permissions,
    exempt_log_group,
    exempt_table_backup,
    exempt_table_key,
    nag_text,
)
from .functions import (
    POWERTOOLS_LAYER_ACCOUNT,
    POWERTOOLS_LAYER_VERSION,
    function_role_and_logs,
    powertools_environment,
    powertools_layer,
    python_function,
)
from .network import (
    CONTAINER_ENDPOINTS,
    ECS_AGENT_ENDPOINTS,
    add_vpc_endpoints,
    flow_logged_vpc,
    stack_zones,
)
from .options import (
    IMAGE_ASSET_EXCLUDE,
    AlarmOptions,
    Architecture,
    FunctionOptions,
    ImageOptions,
    NetworkOptions,
    container_image,
    with_defaults,
)
from .props import (
    REMOVAL_OWNED,
    SECURE_BUCKET,
    SECURE_TABLE,
    SecureDefault,
    check_props,
    consolidate_props,
)
from .queues import (
    QueueFailureDestination,
    dead_letter_queue,
)
from .storage import (
    ACCESS_LOGS_BY_BUCKET_POLICY,
    access_logs_bucket,
    house_table,
    logged_bucket,
    secure_bucket_props,
    secure_table_props,
)

__all__ = [
    "ACCESS_LOGS_BY_BUCKET_POLICY",
    "ACCOUNT_ID",
    "CONCERNS",
    "CONTAINER_ENDPOINTS",
    "DEFAULT_LOG_RETENTION",
    "ECS_AGENT_ENDPOINTS",
    "FARGATE_MEMORY_MIB",
    "GUARD_PLUGIN",
    "IMAGE_ASSET_EXCLUDE",
    "LAMBDA_PLATFORM",
    "LAMBDA_PYTHON",
    "POWERTOOLS_LAYER_ACCOUNT",
    "POWERTOOLS_LAYER_VERSION",
    "REGION_NAME",
    "REMOVAL_OWNED",
    "REQUIREMENTS",
    "S3_BUCKET_NAME",
    "SECURE_BUCKET",
    "SECURE_TABLE",
    "AlarmOptions",
    "Alarms",
    "Architecture",
    "ConfigError",
    "ContextConfig",
    "ContextValueError",
    "FunctionOptions",
    "ImageOptions",
    "NetworkOptions",
    "QueueFailureDestination",
    "SecureDefault",
    "UnavailableHere",
    "access_logs_bucket",
    "acknowledge",
    "add_vpc_endpoints",
    "api_gateway_logging_role",
    "arn_error",
    "bundle_cache_dir",
    "check",
    "check_props",
    "cidr_error",
    "code_hash",
    "consolidate_props",
    "container_image",
    "dead_letter_queue",
    "email_error",
    "ensure_alarm_topic",
    "exempt",
    "exempt_bucket_extras",
    "exempt_bucket_replication",
    "exempt_cdk_provider",
    "exempt_inline_policies",
    "exempt_invoke_permissions",
    "exempt_log_group",
    "exempt_table_backup",
    "exempt_table_key",
    "fargate_size_error",
    "flow_logged_vpc",
    "function_graph",
    "function_role_and_logs",
    "house_table",
    "install_dependencies",
    "lambda_code",
    "logged_bucket",
    "merge_props",
    "nag_text",
    "origin_error",
    "powertools_environment",
    "powertools_layer",
    "python_function",
    "schedule_error",
    "secure_bucket_props",
    "secure_table_props",
    "stack_zones",
    "time_zone_error",
    "unknown_context_error",
    "with_defaults",
    "zone_error",
]
