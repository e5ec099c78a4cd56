"""Serverless API pattern: API Gateway (REST) -> Lambda -> DynamoDB.

``ServerlessApi`` is the reusable construct; ``ServerlessApiStack`` wires it for ``cdk deploy``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .shared import (
    DEFAULT_LOG_RETENTION,
    REMOVAL_OWNED,
    SECURE_TABLE,
    Alarms,
    ConfigError,
    ContextConfig,
    SecureDefault,
    acknowledge,
    api_gateway_logging_role,
    arn_error,
    check,
    check_props,
    consolidate_props,
    email_error,
    ensure_alarm_topic,
    exempt,
    exempt_inline_policies,
    exempt_invoke_permissions,
    exempt_log_group,
    exempt_table_backup,
    exempt_table_key,
    function_graph,
    origin_error,
    python_function,
    secure_table_props,
)

DEFAULT_CODE_PATH = Path(__file__).resolve().parent.parent / "lambda_src" / "serverless_api"

# One JSON object per request: enough to trace a complaint to a request id, an API key, a user
# and whatever failed (validation, authorizer or integration), without request bodies.
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "apiKeyId": "$context.identity.apiKeyId",
    "user": "$context.authorizer.claims.sub",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}

_S = apigw.JsonSchemaType
_ITEM_FIELDS = {
    "name": apigw.JsonSchema(type=_S.STRING, min_length=1, max_length=200),
    "description": apigw.JsonSchema(type=_S.STRING, max_length=2000),
    "quantity": apigw.JsonSchema(type=_S.INTEGER, minimum=0, maximum=1_000_000_000),
    "tags": apigw.JsonSchema(
        type=_S.ARRAY,
        max_items=20,
        unique_items=True,
        items=apigw.JsonSchema(type=_S.STRING, min_length=1, max_length=50),
    ),
    "expires_at": apigw.JsonSchema(type=_S.INTEGER, minimum=0, maximum=4_102_444_800),
}

# What the user pool's defaults (_user_pool) keep secure; user_pool_props may turn them off, with
# a warning.
_SECURE_USER_POOL = (
    SecureDefault("mfa", "multi-factor sign-in required", lambda v: v == cognito.Mfa.REQUIRED),
    SecureDefault(
        "self_sign_up_enabled", "admin-only sign-up (nobody signs themselves up)", lambda v: not v
    ),
    SecureDefault("deletion_protection", "deletion protection (the pool cannot be deleted)"),
)

# The handler's calls and nothing else (lambda_src/serverless_api/items/service.py): no batch,
# query, stream or describe actions, which grant_read_write_data() would add.
_TABLE_OPERATIONS = {
    "dynamodb:GetItem": dynamodb.Operation.GET_ITEM,
    "dynamodb:PutItem": dynamodb.Operation.PUT_ITEM,
    "dynamodb:UpdateItem": dynamodb.Operation.UPDATE_ITEM,
    "dynamodb:DeleteItem": dynamodb.Operation.DELETE_ITEM,
    "dynamodb:Scan": dynamodb.Operation.SCAN,
}


class ServerlessApi(Construct):
    """A REST API in front of a Lambda function that stores items in a DynamoDB table.

    Builds: a DynamoDB table (unless ``table`` is given), a Python 3.13 arm64 function using
    the public Powertools layer, a regional REST API with JSON-schema request validation, an API
    key and usage plan, a Cognito user-pool authorizer, alarms to an SNS topic and a dashboard.

    Secure defaults: table on-demand with point-in-time recovery, KMS encryption, TTL on
    ``expires_at``, deletion protection and RETAIN (DESTROY only when ``removal_policy`` says so);
    function with X-Ray tracing, JSON logs kept ``log_retention``, and only the five item actions
    it calls (Get/Put/Update/DeleteItem, Scan) on the one table; API with access logs (JSON),
    execution logs at ERROR (no bodies: they may hold personal data), tracing, metrics,
    stage-wide method throttling, and every method needing both an API key and a Cognito token.
    Pass ``create_user_pool=False`` (and no ``user_pool``) for API-key-only access.

    Cost drivers: API Gateway requests (about $3.50 per million), Lambda duration (256 MB arm64
    by default), DynamoDB on-demand requests and storage, plus fixed items: one KMS key for the
    alarm topic (about $1/month), the alarms ($0.10 each/month) and the dashboard ($3/month).
    It scales with traffic; the usage plan and stage throttling cap how fast.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.ITable | None = None,
        table_props: Mapping[str, Any] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        code_path: str | Path = DEFAULT_CODE_PATH,
        memory_size: int = 256,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        stage_name: str = "v1",
        throttle_rate_limit: float = 50,
        throttle_burst_limit: int = 100,
        quota_per_day: int | None = 10_000,
        cors_allowed_origins: Sequence[str] | None = None,
        user_pool: cognito.IUserPool | None = None,
        create_user_pool: bool = True,
        user_pool_props: Mapping[str, Any] | None = None,
        web_acl_arn: str | None = None,
        create_cloudwatch_role: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
        latency_p99_threshold: Duration | None = None,
    ) -> None:
        """
        :param table: an existing table to use instead of creating one. Its partition key
            must be ``id`` (string); the function gets the five item actions on it (and use of
            its KMS key, if it has one) and nothing else. Its backups, TTL and deletion
            protection stay the owner's business.
        :param table_props: ``dynamodb.Table`` keyword arguments merged over the defaults.
        :param removal_policy: for the table, user pool and log groups: RETAIN (default) or
            DESTROY, which also turns deletion protection off. SNAPSHOT is refused.
        :param code_path: folder holding the ``items`` package (the handler).
        :param quota_per_day: requests per API key per day; None for no quota.
        :param cors_allowed_origins: origins allowed by CORS; None or empty disables CORS.
        :param user_pool: an existing Cognito user pool whose tokens the API accepts.
        :param create_user_pool: create a user pool when ``user_pool`` is not given.
        :param user_pool_props: ``cognito.UserPool`` keyword arguments merged over the defaults.
        :param web_acl_arn: a WAFv2 web ACL (REGIONAL scope) to associate with the stage.
        :param create_cloudwatch_role: create the account-wide API Gateway logging role (needed
            once per account and region for execution logs); False when the account has one.
        :param alarm_topic: an existing topic for alarms; one is created when not given.
        :param alarm_email: an address to subscribe to the alarm topic (confirm by e-mail).
        :param latency_p99_threshold: p99 API latency that raises an alarm (default 1 s).
        """
        super().__init__(scope, id)
        if removal_policy == RemovalPolicy.SNAPSHOT:
            # CloudFormation snapshots none of these resources: the stack would fail to deploy.
            raise ConfigError(
                "removal_policy: DynamoDB tables, log groups and user pools support RETAIN or "
                "DESTROY, not SNAPSHOT (the table has point-in-time recovery instead)"
            )
        origins = list(cors_allowed_origins or [])
        for origin in origins:
            check("cors_allowed_origins", origin, origin_error(origin))
        if alarm_email is not None:
            check("alarm_email", alarm_email, email_error(alarm_email))
        if web_acl_arn is not None:
            check("web_acl_arn", web_acl_arn, arn_error(web_acl_arn, "wafv2", "regional/webacl/"))
        if throttle_rate_limit <= 0 or throttle_burst_limit < 1:
            raise ConfigError(
                f"throttle_rate_limit={throttle_rate_limit}, throttle_burst_limit="
                f"{throttle_burst_limit}: expected a rate above 0 and a burst of 1 or more"
            )
        if quota_per_day is not None and quota_per_day < 1:
            raise ConfigError(f"quota_per_day={quota_per_day}: expected 1 or more, or None")

        check_props("table", table, "table_props", table_props)
        check_props("user_pool", user_pool, "user_pool_props", user_pool_props)
        if not create_user_pool and user_pool_props:
            raise ConfigError(
                "create_user_pool=False and user_pool_props given together: no user pool is "
                "created for the props to configure; drop one of them"
            )
        self.table: dynamodb.ITable = table or self._table(removal_policy, table_props)
        self.function: lambda_.Function = self._function(
            code_path,
            origins,
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrency=reserved_concurrency,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self._grant_table_access()

        self.user_pool: cognito.IUserPool | None = user_pool
        self.user_pool_client: cognito.UserPoolClient | None = None
        if user_pool is None and create_user_pool:
            self.user_pool, self.user_pool_client = self._user_pool(removal_policy, user_pool_props)

        self.api: apigw.RestApi = self._rest_api(
            stage_name=stage_name,
            throttle_rate_limit=throttle_rate_limit,
            throttle_burst_limit=throttle_burst_limit,
            log_retention=log_retention,
            removal_policy=removal_policy,
            origins=origins,
        )
        self._json_error_responses()
        if create_cloudwatch_role:
            self._execution_logging_role()
        self.url: str = self.api.url
        self._add_routes()
        self.api_key: apigw.IApiKey = self._usage_plan(
            throttle_rate_limit, throttle_burst_limit, quota_per_day
        )
        self._web_acl(web_acl_arn)

        self.alarm_topic: sns.ITopic = ensure_alarm_topic(
            self, "AlarmTopic", topic=alarm_topic, email=alarm_email
        )
        self.alarms: Alarms = self._alarms(
            self.alarm_topic, latency_p99_threshold or Duration.seconds(1)
        )
        self.dashboard: cloudwatch.Dashboard = self._dashboard()
        exempt_inline_policies(self)

    # -- steps --------------------------------------------------------------------------------

    def _table(
        self, removal_policy: RemovalPolicy, overrides: Mapping[str, Any] | None
    ) -> dynamodb.Table:
        """The items table, keyed on ``id`` as the handler expects, with the shared secure
        defaults (on-demand, point-in-time recovery, deletion protection) and TTL on
        ``expires_at`` so that expiring items cost nothing to delete."""
        table = dynamodb.Table(
            self,
            "Table",
            **consolidate_props(
                self,
                "table_props",
                {
                    "partition_key": dynamodb.Attribute(
                        name="id", type=dynamodb.AttributeType.STRING
                    ),
                    "time_to_live_attribute": "expires_at",
                    **secure_table_props(removal_policy),
                },
                overrides,
                owned={
                    **REMOVAL_OWNED,
                    "partition_key": "the handler reads and writes items by id (a string)",
                    "sort_key": "the handler gets, updates and deletes items by id alone",
                    "time_to_live_attribute": "the handler writes expires_at",
                },
                secure=SECURE_TABLE,
            ),
        )
        exempt_table_key(table, holds="the API's items")
        exempt_table_backup(table, holds="the API's items")
        return table

    def _function(
        self,
        code_path: str | Path,
        origins: list[str],
        *,
        memory_size: int,
        timeout: Duration | None,
        reserved_concurrency: int | None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        """The handler (``items.app``), told the table and the CORS origins it may echo through
        its environment; the policy exceptions say why it needs no dead-letter queue and, by
        default, no reserved concurrency."""
        function = python_function(
            self,
            "Function",
            code_path=str(code_path),
            handler="items.app.lambda_handler",
            description="Items REST API handler",
            environment={
                "TABLE_NAME": self.table.table_name,
                "ALLOWED_ORIGINS": ",".join(origins),
                "POWERTOOLS_SERVICE_NAME": "items-api",
                "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApi",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrency=reserved_concurrency,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        exempt(
            function,
            "Invoked synchronously by API Gateway only: the caller gets the error, so there is "
            "no asynchronous event for a dead-letter queue to keep.",
            checkov="CKV_AWS_116",
        )
        if reserved_concurrency is None:
            exempt(
                function,
                "Concurrency is bounded by the stage's throttling (rate and burst limits) and "
                "the usage plan; reserving concurrency would take it from every other function "
                "in the account. Set reserved_concurrency to cap it here as well.",
                checkov="CKV_AWS_115",
            )
        return function

    def _grant_table_access(self) -> None:
        """Least privilege: the five item actions the handler calls, on this table only (not
        grant_read_write_data(), which adds batch, query and stream actions), and use of the
        table's KMS key when a caller's table has one."""
        self.table.grant(self.function, *_TABLE_OPERATIONS)
        if self.table.encryption_key is not None:  # a caller's table with its own KMS key
            self.table.encryption_key.grant_encrypt_decrypt(self.function)
            role = self.function.role
            assert role is not None  # python_function always gives the function its own role
            for action in ("kms:ReEncrypt*", "kms:GenerateDataKey*"):
                acknowledge(
                    role.node.find_child("DefaultPolicy"),
                    f"AwsSolutions-IAM5[Action::{action}]",
                    "Granted on the table's own KMS key only: these are the action families the "
                    "aws/dynamodb key policy grants, and what DynamoDB needs to use a "
                    "customer-managed table key on the function's behalf.",
                )

    def _user_pool(
        self, removal_policy: RemovalPolicy, overrides: Mapping[str, Any] | None
    ) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        """Who may call the API: admin-created users with strong passwords and MFA, and an app
        client without a secret (a browser or mobile app cannot keep one) using SRP, so the
        password never crosses the wire."""
        defaults: dict[str, Any] = {
            "self_sign_up_enabled": False,
            "sign_in_aliases": cognito.SignInAliases(email=True),
            "account_recovery": cognito.AccountRecovery.EMAIL_ONLY,
            "password_policy": cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            "mfa": cognito.Mfa.REQUIRED,
            "mfa_second_factor": cognito.MfaSecondFactor(otp=True, sms=False),
            "deletion_protection": removal_policy != RemovalPolicy.DESTROY,
            "removal_policy": removal_policy,
        }
        pool = cognito.UserPool(
            self,
            "UserPool",
            **consolidate_props(
                self,
                "user_pool_props",
                defaults,
                overrides,
                owned=REMOVAL_OWNED,
                secure=_SECURE_USER_POOL,
            ),
        )
        for rule in ("AwsSolutions-COG3", "AwsSolutions-COG8"):
            acknowledge(
                pool,
                rule,
                "Threat protection needs the Cognito Plus plan, billed per monthly active user; "
                "MFA is required and sign-up is admin-only instead. Opt in via user_pool_props.",
            )
        client = pool.add_client(
            "ApiClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            generate_secret=False,
        )
        return pool, client

    def _rest_api(
        self,
        *,
        stage_name: str,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        origins: list[str],
    ) -> apigw.RestApi:
        """The REST API and its one stage: throttled stage-wide (the backstop behind the usage
        plan), traced, with metrics, JSON access logs and execution logs at ERROR without bodies,
        which may hold personal data. No stage cache (the exemption says why)."""
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        exempt_log_group(access_logs, holds="the API's access logs (no bodies, no API keys)")
        api = apigw.RestApi(
            self,
            "Api",
            description="Items REST API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            cloud_watch_role=False,  # shared.api_gateway_logging_role, when asked for
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=origins,
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=["Content-Type", "Authorization", "X-Api-Key", "Idempotency-Key"],
                max_age=Duration.minutes(5),
            )
            if origins
            else None,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS)),
            ),
        )
        exempt(
            api.deployment_stage,
            "No stage cache: items change on every write and reads are per caller, so a cache "
            "would serve stale items; it also costs from $14/month. Throttling protects the "
            "backend instead.",
            checkov="CKV_AWS_120",
        )
        exempt(
            api.deployment_stage,
            "No client certificate for the backend: the only integration is this stack's Lambda "
            "function, invoked through the Lambda API with IAM (SigV4), not an HTTP backend "
            "that would have to verify the caller is API Gateway.",
            nag="NIST.800.53.R5-APIGWSSLEnabled",
        )
        return api

    def _json_error_responses(self) -> None:
        """Errors raised by API Gateway itself (validation, auth, throttling) as JSON, like the
        handler's own, so a client parses one error format; a bad body says what was wrong."""
        self.api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            templates={
                "application/json": '{"statusCode": 400, "message": '
                '"$context.error.validationErrorString"}'
            },
        )
        for name, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.api.add_gateway_response(
                name,
                type=response_type,
                templates={
                    "application/json": '{"message": $context.error.messageString, '
                    '"type": "$context.error.responseType"}'
                },
            )

    def _execution_logging_role(self) -> None:
        """Execution logs go through the one API Gateway logging role per account and region;
        created in the order RestApi's own role option uses: API, account setting, stage."""
        account = api_gateway_logging_role(self)
        account.node.add_dependency(self.api.node.default_child)
        self.api.deployment_stage.node.add_dependency(account)

    def _add_routes(self) -> None:
        """The five item routes, each needing an API key and (unless the caller chose API-key
        only) a Cognito token; API Gateway validates bodies and parameters first, so bad
        requests never reach, or bill, the function."""
        integration = apigw.LambdaIntegration(self.function, allow_test_invoke=False)
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        create_model, replace_model = self._models()
        authorizer: apigw.IAuthorizer | None = None
        if self.user_pool is not None:
            authorizer = apigw.CognitoUserPoolsAuthorizer(
                self, "Authorizer", cognito_user_pools=[self.user_pool]
            )

        def method(
            resource: apigw.IResource,
            verb: str,
            *,
            model: apigw.IModel | None = None,
            parameters: dict[str, bool] | None = None,
        ) -> apigw.Method:
            created = resource.add_method(
                verb,
                integration,
                api_key_required=True,
                authorizer=authorizer,
                authorization_type=(
                    apigw.AuthorizationType.COGNITO if authorizer else apigw.AuthorizationType.NONE
                ),
                request_validator=validator,
                request_models={"application/json": model} if model else None,
                request_parameters=parameters,
            )
            if authorizer is None:
                for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                    acknowledge(
                        created,
                        rule,
                        "The caller chose API-key-only access (create_user_pool=False and no "
                        "user_pool): every method still requires an API key under a usage plan.",
                    )
            exempt_invoke_permissions(created, "this REST API method")
            return created

        items = self.api.root.add_resource("items")
        method(items, "POST", model=create_model)
        method(
            items,
            "GET",
            parameters={
                "method.request.querystring.limit": False,
                "method.request.querystring.next_token": False,
            },
        )
        item = items.add_resource("{id}")
        path_id = {"method.request.path.id": True}
        method(item, "GET", parameters=path_id)
        method(item, "PUT", model=replace_model, parameters=path_id)
        method(item, "DELETE", parameters=path_id)

    def _models(self) -> tuple[apigw.Model, apigw.Model]:
        """JSON schemas for the create and replace bodies: the handler's rules (field types,
        lengths, no unknown fields; a replace names the version it replaces) enforced at the
        edge."""
        create_model = self.api.add_model(
            "CreateItemModel",
            content_type="application/json",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="CreateItem",
                type=_S.OBJECT,
                required=["name"],
                additional_properties=False,
                properties=_ITEM_FIELDS,
            ),
        )
        replace_model = self.api.add_model(
            "ReplaceItemModel",
            content_type="application/json",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="ReplaceItem",
                type=_S.OBJECT,
                required=["name", "version"],
                additional_properties=False,
                properties={
                    **_ITEM_FIELDS,
                    "version": apigw.JsonSchema(
                        type=_S.INTEGER, minimum=1, maximum=1_000_000_000_000
                    ),
                },
            ),
        )
        return create_model, replace_model

    def _usage_plan(
        self, rate_limit: float, burst_limit: int, quota_per_day: int | None
    ) -> apigw.IApiKey:
        """The default client's API key under a usage plan: throttling and a daily quota per
        key, so that one leaked or buggy client cannot spend the whole API's capacity."""
        plan = self.api.add_usage_plan(
            "UsagePlan",
            description="Throttle and quota per API key",
            throttle=apigw.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
            quota=apigw.QuotaSettings(limit=quota_per_day, period=apigw.Period.DAY)
            if quota_per_day
            else None,
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        # API Gateway generates the key's value; it never appears in the template.
        key = self.api.add_api_key("ApiKey", description="Default client key of the items API")
        plan.add_api_key(key)
        return key

    def _web_acl(self, web_acl_arn: str | None) -> None:
        """The caller's WAF web ACL on the stage, when given; without one, the acknowledgement
        says what bounds abuse instead."""
        if web_acl_arn:
            wafv2.CfnWebACLAssociation(
                self,
                "WebAcl",
                resource_arn=self.api.deployment_stage.stage_arn,
                web_acl_arn=web_acl_arn,
            )
        else:
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG3",
                "WAF is opt-in (web_acl_arn) because a web ACL costs $5/month plus rules and "
                "requests; API keys, the usage plan and throttling bound abuse without it.",
            )

    def _alarms(self, topic: sns.ITopic, latency_p99: Duration) -> Alarms:
        """What an operator must hear about: the function failing or throttled, the API
        answering 5XX or slowly, and DynamoDB throttling, each to the alarm topic."""
        five_minutes = Duration.minutes(5)
        stage = self.api.deployment_stage
        alarms = Alarms(self, topic)
        alarms.add(
            "FunctionErrors",
            self.function.metric_errors(period=five_minutes, statistic="Sum"),
            threshold=1,
            description="The items function raised errors (unhandled exceptions or timeouts).",
        )
        alarms.add(
            "FunctionThrottles",
            self.function.metric_throttles(period=five_minutes, statistic="Sum"),
            threshold=1,
            description="Lambda throttled the items function: raise concurrency or the limit.",
        )
        alarms.add(
            "Api5xx",
            stage.metric_server_error(period=five_minutes, statistic="Sum"),
            threshold=5,
            description="The items API returned 5 or more 5XX responses in 5 minutes.",
        )
        alarms.add(
            "ApiLatencyP99",
            stage.metric_latency(period=five_minutes, statistic="p99"),
            threshold=latency_p99.to_milliseconds(),
            evaluation_periods=3,
            description=f"p99 latency of the items API above {latency_p99.to_milliseconds()} ms "
            "for 15 minutes.",
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        # ThrottledRequests is published per TableName *and* Operation; a metric on TableName
        # alone has no data and never alarms. Sum it over the operations the function uses.
        alarms.add(
            "TableThrottles",
            self.table.metric_throttled_requests_for_operations(
                operations=list(_TABLE_OPERATIONS.values()), period=five_minutes, statistic="Sum"
            ),
            threshold=1,
            description="DynamoDB throttled requests to the items table.",
        )
        return alarms

    def _dashboard(self) -> cloudwatch.Dashboard:
        """One page for the whole request path (API, function, table) and the alarms' state,
        which is where someone answering an alarm starts."""
        stage = self.api.deployment_stage
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    stage.metric_count(statistic="Sum"),
                    stage.metric_client_error(statistic="Sum"),
                    stage.metric_server_error(statistic="Sum"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API latency",
                left=[stage.metric_latency(statistic="p50"), stage.metric_latency(statistic="p99")],
            ),
            function_graph("Function", self.function),
            cloudwatch.GraphWidget(
                title="Table",
                left=[
                    self.table.metric_consumed_read_capacity_units(statistic="Sum"),
                    self.table.metric_consumed_write_capacity_units(statistic="Sum"),
                ],
                right=[
                    self.table.metric_throttled_requests_for_operations(
                        operations=list(_TABLE_OPERATIONS.values()), statistic="Sum"
                    )
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.alarms), width=24),
        )
        return dashboard


class ServerlessApiStack(Stack):
    """Deploys one ``ServerlessApi``. Context keys (``ServerlessApi:<key>`` or ``<key>``):
    ``removal_policy`` (retain|destroy), ``alarm_email``, ``throttle_rate_limit``,
    ``throttle_burst_limit``, ``quota_per_day`` (0 = none), ``cors_allowed_origins``
    (comma-separated), ``auth`` (cognito|api_key), ``user_pool_id`` (an existing pool instead of
    a new one), ``alarm_topic_arn`` (an existing topic instead of a new one), ``web_acl_arn``,
    ``cloudwatch_role`` (true|false)."""

    CONTEXT_KEYS = (
        "removal_policy",
        "alarm_email",
        "throttle_rate_limit",
        "throttle_burst_limit",
        "quota_per_day",
        "cors_allowed_origins",
        "auth",
        "user_pool_id",
        "alarm_topic_arn",
        "web_acl_arn",
        "cloudwatch_role",
    )

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        auth = config.get_choice("auth", "cognito", ("cognito", "api_key"))
        user_pool_id = config.get_user_pool_id("user_pool_id")
        if user_pool_id and auth != "cognito":
            raise config.fail("user_pool_id", user_pool_id, "no user pool with auth=api_key")
        topic_arn = config.get_arn("alarm_topic_arn", "sns")
        rate_limit = config.get_int("throttle_rate_limit", 50, minimum=1)
        burst_limit = config.get_int("throttle_burst_limit", 100, minimum=1)
        api = ServerlessApi(
            self,
            "Items",
            removal_policy=config.removal_policy(),
            alarm_email=config.get_email(),
            throttle_rate_limit=rate_limit,
            throttle_burst_limit=burst_limit,
            quota_per_day=config.get_int("quota_per_day", 10_000, minimum=0) or None,
            cors_allowed_origins=config.get_origins("cors_allowed_origins"),
            create_user_pool=auth == "cognito",
            # Imported by id/ARN: no lookup, so synth still needs no AWS account.
            user_pool=cognito.UserPool.from_user_pool_id(self, "UserPool", user_pool_id)
            if user_pool_id
            else None,
            alarm_topic=sns.Topic.from_topic_arn(self, "AlarmTopic", topic_arn)
            if topic_arn
            else None,
            web_acl_arn=config.get_arn("web_acl_arn", "wafv2", "regional/webacl/"),
            create_cloudwatch_role=config.get_bool("cloudwatch_role", True),
        )
        CfnOutput(self, "ApiUrl", value=api.url, description="Base URL of the items API")
        CfnOutput(
            self,
            "ApiKeyId",
            value=api.api_key.key_id,
            description="aws apigateway get-api-key --include-value --api-key <id>",
        )
        CfnOutput(self, "TableName", value=api.table.table_name)
        CfnOutput(self, "DashboardName", value=api.dashboard.dashboard_name)
        if api.user_pool is not None:
            CfnOutput(self, "UserPoolId", value=api.user_pool.user_pool_id)
        if api.user_pool_client is not None:
            CfnOutput(self, "UserPoolClientId", value=api.user_pool_client.user_pool_client_id)
