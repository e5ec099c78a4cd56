"""WebSocket API pattern: API Gateway (WebSocket) -> Lambda -> DynamoDB, a chat with rooms.

``WebSocketApi`` is the reusable construct; ``WebSocketApiStack`` wires it for ``cdk deploy``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from .shared import (
    DEFAULT_LOG_RETENTION,
    REMOVAL_OWNED,
    SECURE_TABLE,
    Alarms,
    ConfigError,
    ContextConfig,
    acknowledge,
    api_gateway_logging_role,
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
    nag_text,
    python_function,
    secure_table_props,
)

DEFAULT_CODE_PATH = Path(__file__).resolve().parent.parent / "lambda_src" / "websocket_api"

# The custom routes the chat handler serves; API Gateway picks one by the frame's "action".
# Anything else (no action, unknown action, not JSON) goes to $default, which answers with an
# error frame.
MESSAGE_ROUTES = ("join", "send")

# Cognito token kinds the authorizer may accept (refresh tokens are never bearer tokens).
COGNITO_TOKEN_USES = ("id", "access")

# Where chat.authorizer looks for the token. API Gateway refuses (401) a connect that lacks any
# listed source, so listing both would demand the token twice; pick one. An identity source the
# authorizer does not read would let API Gateway pass requests it then always denies.
TOKEN_IN_QUERY_STRING = "route.request.querystring.token"  # noqa: S105 - a location, not a secret
TOKEN_IN_HEADER = "route.request.header.Authorization"  # noqa: S105 - "Bearer <token>"

# The table operations the chat handler calls (what its grant allows, Query on the room index).
_TABLE_OPERATIONS = (
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.BATCH_WRITE_ITEM,
    dynamodb.Operation.QUERY,
)

# One JSON object per connect, message and disconnect: who (connection, principal, IP), what
# (event, route), the outcome (status, integration and authorizer errors) and latency. No bodies:
# chat messages are personal data.
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "connectionId": "$context.connectionId",
    "eventType": "$context.eventType",
    "routeKey": "$context.routeKey",
    "ip": "$context.identity.sourceIp",
    "principal": "$context.authorizer.principalId",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "authorizerError": "$context.authorizer.error",
    "errorMessage": "$context.error.message",
}


class ConnectAuth(enum.Enum):
    """Who may open a connection (authorization runs on ``$connect`` only, as in API Gateway)."""

    #: A Lambda authorizer verifies an HS256 token signed with a Secrets Manager secret.
    TOKEN = "token"  # noqa: S105 - the name of a mode, not a credential
    #: A Lambda authorizer verifies a Cognito user pool's id or access token against the pool's
    #: published keys (JWKS): the users who sign in to the REST API connect here too.
    COGNITO = "cognito"
    #: SigV4-signed connect requests; callers need ``execute-api:Invoke`` on
    #: ``<api>/<stage>/$connect``.
    IAM = "iam"
    #: Anyone may connect. Only for public, anonymous channels.
    NONE = "none"


class WebSocketApi(Construct):
    """A WebSocket chat API: clients connect, join a room and broadcast messages to it.

    Builds: a DynamoDB table of live connections with a ``room`` index (unless ``table`` is
    given), a Python 3.13 arm64 chat function for ``$connect``, ``$disconnect``, ``$default``,
    ``join`` and ``send``, an authorizer function and its signing secret (``auth=TOKEN``,
    unless ``token_secret`` is given) or an authorizer of an existing Cognito user pool's tokens
    (``auth=COGNITO``), a WebSocket API and stage with an access log group, the account's API
    Gateway logging role (unless ``create_cloudwatch_role=False``), alarms to an SNS topic
    (unless ``alarm_topic`` is given) and a dashboard. The functions carry PyJWT and
    cryptography, bundled at synth from ``requirements.txt`` without Docker.

    Secure defaults: ``$connect`` needs a valid, unexpired HS256 token (query string ``token``)
    signed with a generated 64-character secret, a Cognito id/access token for an accepted app
    client (``auth=COGNITO``), or SigV4 (``auth=IAM``); table on-demand with
    point-in-time recovery, encryption, TTL on ``expires_at`` so connections API Gateway never
    reported closed still expire, deletion protection and RETAIN (DESTROY only on request);
    functions with X-Ray, JSON logs kept ``log_retention``, the chat function limited to the
    item actions it uses on its table and ``execute-api:ManageConnections`` on
    ``POST @connections`` of this API's stage only; stage with throttling, JSON access logs,
    execution logs at ERROR (no message bodies) and detailed (per-route) metrics.

    Cost drivers: API Gateway connection minutes ($0.25 per million) and messages ($1 per
    million, counted in 32 KB units) - a broadcast to N members is N management-API posts, and
    Lambda time grows with N as well; DynamoDB on-demand requests; detailed metrics are custom
    CloudWatch metrics per route; CloudWatch Logs ingestion, one access-log line per connect,
    message and disconnect. Fixed: the secret ($0.40/month), the alarm topic's KMS key
    ($1/month), each when created here; alarms ($0.10 each) and the dashboard ($3/month).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.ITable | None = None,
        table_props: Mapping[str, Any] | None = None,
        room_index_name: str = "by-room",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        code_path: str | Path = DEFAULT_CODE_PATH,
        memory_size: int = 256,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        stage_name: str = "v1",
        throttle_rate_limit: float = 100,
        throttle_burst_limit: int = 200,
        auth: ConnectAuth = ConnectAuth.TOKEN,
        token_secret: secretsmanager.ISecret | None = None,
        user_pool: cognito.IUserPool | None = None,
        user_pool_client_ids: Sequence[str] = (),
        cognito_token_use: Sequence[str] = COGNITO_TOKEN_USES,
        token_identity_source: Sequence[str] = (TOKEN_IN_QUERY_STRING,),
        max_token_lifetime: Duration | None = None,
        connection_ttl: Duration | None = None,
        create_cloudwatch_role: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """
        :param table: an existing connections table. Partition key ``connectionId`` (string)
            and a global secondary index ``room_index_name`` with partition key ``room``
            (string) projecting ``expires_at``; TTL on ``expires_at``.
        :param table_props: ``dynamodb.Table`` keyword arguments merged over the defaults.
        :param removal_policy: for the table, the secret and the log groups. RETAIN by default.
        :param code_path: folder holding the ``chat`` package (the handlers).
        :param timeout: of the chat function; a broadcast posts to each member in turn, so this
            bounds the room size one message can reach (default 29 s, API Gateway's limit).
        :param throttle_rate_limit: steady-state messages per second across the stage.
        :param throttle_burst_limit: burst of messages across the stage.
        :param auth: how ``$connect`` is authorized (TOKEN, COGNITO, IAM or NONE).
        :param token_secret: an existing secret whose string is the HS256 signing key; one with
            a generated 64-character key is created when not given.
        :param user_pool: with ``auth=COGNITO``, the pool whose users may connect (e.g.
            ``ServerlessApi.user_pool``, or ``cognito.UserPool.from_user_pool_id(...)``).
        :param user_pool_client_ids: with ``auth=COGNITO``, the app clients whose tokens are
            accepted (an id token's ``aud``, an access token's ``client_id``); at least one.
        :param cognito_token_use: which Cognito tokens are accepted: ``"id"`` and/or
            ``"access"`` (both by default).
        :param token_identity_source: where API Gateway must find the token before it calls the
            authorizer (a connect without it is refused with 401 at no Lambda cost):
            ``(TOKEN_IN_QUERY_STRING,)`` (``?token=``, the default: browsers cannot set headers
            on a WebSocket) or ``(TOKEN_IN_HEADER,)`` (``Authorization: Bearer <token>``).
        :param max_token_lifetime: tokens whose ``exp`` is further away are refused, however
            validly signed (default 1 hour).
        :param connection_ttl: after this a connection row expires even if ``$disconnect``
            never ran (default 2 h 10 min: API Gateway closes every connection after 2 h).
        :param create_cloudwatch_role: create the account-wide API Gateway logging role (needed
            for execution logs); False when the account already has one configured.
        :param alarm_topic: an existing topic for alarms; one is created when not given.
        :param alarm_email: an address to subscribe to the alarm topic (confirm by e-mail).
        """
        super().__init__(scope, id)
        if alarm_email is not None:
            check("alarm_email", alarm_email, email_error(alarm_email))
        if throttle_rate_limit <= 0 or throttle_burst_limit < 1:
            raise ConfigError(
                f"throttle_rate_limit={throttle_rate_limit}, throttle_burst_limit="
                f"{throttle_burst_limit}: expected a rate above 0 and a burst of 1 or more"
            )
        if token_secret is not None and auth is not ConnectAuth.TOKEN:
            raise ConfigError(f"token_secret is only used with auth=ConnectAuth.TOKEN, not {auth}")
        _check_cognito(auth, user_pool, user_pool_client_ids, cognito_token_use)
        if auth in (ConnectAuth.TOKEN, ConnectAuth.COGNITO):
            _check_token_sources(token_identity_source)
        self._room_index_name = room_index_name

        check_props("table", table, "table_props", table_props)
        self.table: dynamodb.ITable = table or self._table(removal_policy, table_props)
        self.api = self._api()
        self.token_secret: secretsmanager.ISecret | None = None
        if auth is ConnectAuth.TOKEN:
            self.token_secret = token_secret or self._token_secret(removal_policy)
        self.stage = self._stage(
            stage_name=stage_name,
            throttle_rate_limit=throttle_rate_limit,
            throttle_burst_limit=throttle_burst_limit,
            log_retention=log_retention,
            removal_policy=removal_policy,
            create_cloudwatch_role=create_cloudwatch_role,
        )
        self.url: str = self.stage.url
        self.callback_url: str = self.stage.callback_url
        self.function = self._chat_function(
            code_path=code_path,
            memory_size=memory_size,
            timeout=timeout or Duration.seconds(29),
            reserved_concurrency=reserved_concurrency,
            connection_ttl=connection_ttl or Duration.minutes(130),
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self.authorizer_function: lambda_.Function | None = None
        if auth in (ConnectAuth.TOKEN, ConnectAuth.COGNITO):
            self.authorizer_function = self._authorizer_function(
                self._verifier_environment(
                    max_token_lifetime=max_token_lifetime or Duration.hours(1),
                    user_pool=user_pool,
                    user_pool_client_ids=user_pool_client_ids,
                    cognito_token_use=cognito_token_use,
                ),
                code_path=code_path,
                log_retention=log_retention,
                removal_policy=removal_policy,
            )
        self._add_routes(self._connect_authorizer(auth, token_identity_source))
        self.alarm_topic = ensure_alarm_topic(
            self, "AlarmTopic", topic=alarm_topic, email=alarm_email
        )
        self.alarms = self._alarms(self.alarm_topic)
        self.dashboard = self._dashboard()
        exempt_inline_policies(self)

    # -- steps, in the order __init__ runs them --------------------------------------------------

    def _table(
        self, removal_policy: RemovalPolicy, overrides: Mapping[str, Any] | None
    ) -> dynamodb.Table:
        """Who is connected and in which room: one row per connection, keyed by the id API
        Gateway gives it, with a TTL so rows of connections that never reported a disconnect
        still go, and a room index for broadcasts."""
        table = dynamodb.Table(
            self,
            "Connections",
            **consolidate_props(
                self,
                "table_props",
                {
                    "partition_key": dynamodb.Attribute(
                        name="connectionId", type=dynamodb.AttributeType.STRING
                    ),
                    "time_to_live_attribute": "expires_at",
                    **secure_table_props(removal_policy),
                },
                overrides,
                owned={
                    **REMOVAL_OWNED,
                    "partition_key": "the handler keys each row by its connectionId",
                    "sort_key": "the handler reads and deletes rows by connectionId alone",
                    "time_to_live_attribute": "the handler writes expires_at",
                },
                secure=SECURE_TABLE,
            ),
        )
        exempt_table_key(table, holds="connection ids and room names with a 2-hour TTL")
        exempt_table_backup(table, holds="connection ids and room names with a 2-hour TTL")
        # Sparse: a connection is in the index only once it has joined a room, and the index
        # holds just what a broadcast reads (the key and the expiry it filters on).
        table.add_global_secondary_index(
            index_name=self._room_index_name,
            partition_key=dynamodb.Attribute(name="room", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=["expires_at"],
        )
        return table

    def _api(self) -> apigwv2.WebSocketApi:
        """The WebSocket API. API Gateway picks a frame's route by its JSON ``action`` field, so
        the chat handler gets ``join`` and ``send`` already told apart."""
        return apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"{Stack.of(self).stack_name}-{self.node.id}",
            description="Chat WebSocket API",
            route_selection_expression="$request.body.action",
        )

    def _token_secret(self, removal_policy: RemovalPolicy) -> secretsmanager.Secret:
        """The HS256 key a backend signs connect tokens with and the authorizer checks them
        against (``auth=TOKEN`` without a caller's ``token_secret``), generated, never in code."""
        secret = secretsmanager.Secret(
            self,
            "TokenSecret",
            description="HS256 key that signs chat connect tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=removal_policy,
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "Rotating the signing key invalidates every outstanding token; rotate it manually "
            "(put-secret-value) when needed. Tokens live at most max_token_lifetime (1 h), so a "
            "rotation logs clients out for at most that long.",
        )
        exempt(
            secret,
            "Encrypted with the account's aws/secretsmanager key; only the authorizer's role "
            "may read it (IAM), and a customer-managed key would add $1/month and a key policy "
            "without narrowing who can read it.",
            checkov="CKV_AWS_149",
        )
        return secret

    def _stage(
        self,
        *,
        stage_name: str,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        create_cloudwatch_role: bool,
    ) -> apigwv2.WebSocketStage:
        """The one stage clients connect to. Throttled, because a stage's limits are what bound
        the functions' concurrency; JSON access logs and ERROR execution logs, so a failed
        connect can be explained; detailed metrics, for per-route graphs and alarms."""
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        exempt_log_group(access_logs, holds="the API's access logs (no message bodies)")
        stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            detailed_metrics_enabled=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit
            ),
            access_log_settings=_JsonAccessLogs(access_logs),
        )
        # The L2 has no execution-log settings. ERROR logs say why a connect or message failed;
        # no data trace, because frames carry personal data.
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.add_property_override("DefaultRouteSettings.LoggingLevel", "ERROR")
        cfn_stage.add_property_override("DefaultRouteSettings.DataTraceEnabled", False)

        if create_cloudwatch_role:
            # Execution logs go through the one API Gateway logging role per account and region.
            stage.node.add_dependency(api_gateway_logging_role(self))
        return stage

    def _chat_function(
        self,
        *,
        code_path: str | Path,
        memory_size: int,
        timeout: Duration,
        reserved_concurrency: int | None,
        connection_ttl: Duration,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        """One function behind every route: connect and disconnect keep the table current,
        ``join`` and ``send`` read it and post to the room's connections. It may touch only
        its table's items and this stage's connections."""
        function = python_function(
            self,
            "Chat",
            handler="chat.app.lambda_handler",
            description="Chat WebSocket routes: connect, disconnect, join, send",
            code_path=str(code_path),
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrency=reserved_concurrency,
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={
                "TABLE_NAME": self.table.table_name,
                "ROOM_INDEX_NAME": self._room_index_name,
                "CALLBACK_URL": self.callback_url,
                "CONNECTION_TTL_SECONDS": str(int(connection_ttl.to_seconds())),
                "POWERTOOLS_SERVICE_NAME": "websocket-chat",
                "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        self._exempt_synchronous_function(function, reserved_concurrency)
        self._grant_table_access(function)
        self._grant_post_to_connections(function)
        return function

    def _verifier_environment(
        self,
        *,
        max_token_lifetime: Duration,
        user_pool: cognito.IUserPool | None,
        user_pool_client_ids: Sequence[str],
        cognito_token_use: Sequence[str],
    ) -> dict[str, str]:
        """What the authorizer checks tokens against: the signing secret (``auth=TOKEN``) or the
        Cognito pool and its accepted app clients (``auth=COGNITO``)."""
        if self.token_secret is not None:
            return {
                "TOKEN_SECRET_ARN": self.token_secret.secret_arn,
                "MAX_TOKEN_LIFETIME_SECONDS": str(int(max_token_lifetime.to_seconds())),
            }
        assert user_pool is not None  # _check_cognito: auth=COGNITO comes with a pool
        # No grant: the pool's keys are public (HTTPS, no AWS call), and nothing is secret.
        return {
            "TOKEN_VERIFIER": "cognito",
            "COGNITO_USER_POOL_ID": user_pool.user_pool_id,
            "COGNITO_CLIENT_IDS": ",".join(user_pool_client_ids),
            "COGNITO_TOKEN_USE": ",".join(cognito_token_use),
        }

    def _authorizer_function(
        self,
        verifier_environment: Mapping[str, str],
        *,
        code_path: str | Path,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        """The ``$connect`` authorizer (``auth=TOKEN`` or ``COGNITO``): a function of its own, so
        that only it may read the signing secret, never the chat function. 256 MB and 5 s: it
        verifies one token, and the client's connect waits for it."""
        kind = "HS256" if self.token_secret is not None else "Cognito user pool"
        function = python_function(
            self,
            "Authorizer",
            handler="chat.authorizer.lambda_handler",
            description=f"Chat WebSocket $connect authorizer: verifies {kind} tokens",
            code_path=str(code_path),
            memory_size=256,
            timeout=Duration.seconds(5),
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={
                **verifier_environment,
                "POWERTOOLS_SERVICE_NAME": "websocket-chat-authorizer",
                "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        self._exempt_synchronous_function(function, None)
        if self.token_secret is not None:
            self._grant_secret_read(self.token_secret, function)
        return function

    def _connect_authorizer(
        self, auth: ConnectAuth, token_identity_source: Sequence[str]
    ) -> apigwv2.IWebSocketRouteAuthorizer | None:
        """How ``$connect`` is authorized: the authorizer function (TOKEN, COGNITO), SigV4
        (IAM), or not at all (NONE, returned as None)."""
        if self.authorizer_function is not None:
            return authorizers.WebSocketLambdaAuthorizer(
                "TokenAuthorizer",
                self.authorizer_function,
                identity_source=list(token_identity_source),
            )
        if auth is ConnectAuth.IAM:
            return authorizers.WebSocketIamAuthorizer()
        return None

    def _add_routes(self, connect_authorizer: apigwv2.IWebSocketRouteAuthorizer | None) -> None:
        """``$connect`` (authorized), ``$disconnect``, and the message routes ``$default``,
        ``join`` and ``send``, all to the chat function."""

        def integration(route: str) -> integrations.WebSocketLambdaIntegration:
            return integrations.WebSocketLambdaIntegration(
                f"{route.strip('$').capitalize()}Integration", self.function
            )

        connect = self.api.add_route(
            "$connect", integration=integration("$connect"), authorizer=connect_authorizer
        )
        if connect_authorizer is None:
            exempt(
                connect,
                "The caller chose anonymous connections (auth=ConnectAuth.NONE), e.g. for a "
                "public channel; the stage is still throttled and every connect is logged.",
                nag="AwsSolutions-APIG4",
                guard="api_gw_v2_authorization_type_configured_check",
            )
        routes = [self.api.add_route("$disconnect", integration=integration("$disconnect"))]
        # Two-way routes: the function's return value is the frame sent back to the sender
        # (an acknowledgement or an error), so replying to the sender costs no management call.
        for route in ("$default", *MESSAGE_ROUTES):
            routes.append(
                self.api.add_route(route, integration=integration(route), return_response=True)
            )
        for route_ in routes:
            exempt(
                route_,
                "API Gateway authorizes a WebSocket once, on $connect, and accepts an authorizer "
                "on no other route; messages can only arrive on a connection $connect allowed.",
                nag="AwsSolutions-APIG4",
                guard="api_gw_v2_authorization_type_configured_check",
            )
        exempt_invoke_permissions(self.api, "this WebSocket API (a route or the authorizer)")

    def _alarms(self, topic: sns.ITopic) -> Alarms:
        """Alarms on what users notice: failed integrations and executions, function errors and
        throttles, and table throttles, each to ``topic`` on alarm and on recovery."""
        five_minutes = Duration.minutes(5)
        alarms = Alarms(self, topic)
        alarms.add(
            "IntegrationErrors",
            self._metric("IntegrationError"),
            threshold=5,
            description="The chat API's Lambda integration failed 5 or more times in 5 minutes.",
        )
        alarms.add(
            "ExecutionErrors",
            self._metric("ExecutionError"),
            threshold=5,
            description="API Gateway failed to run 5 or more chat requests in 5 minutes.",
        )
        functions = [("Chat", "chat route function", self.function)]
        if self.authorizer_function is not None:
            functions.append(("Authorizer", "chat $connect authorizer", self.authorizer_function))
        for name, what, function in functions:
            alarms.add(
                f"{name}FunctionErrors",
                function.metric_errors(period=five_minutes, statistic="Sum"),
                threshold=1,
                description=f"The {what} raised an error.",
            )
            alarms.add(
                f"{name}FunctionThrottles",
                function.metric_throttles(period=five_minutes, statistic="Sum"),
                threshold=1,
                description=f"Lambda throttled the {what}.",
            )
        # ThrottledRequests is published per TableName *and* Operation; a metric on TableName
        # alone has no data and never alarms. Sum it over the operations the handler uses.
        alarms.add(
            "TableThrottles",
            self.table.metric_throttled_requests_for_operations(
                operations=list(_TABLE_OPERATIONS), period=five_minutes, statistic="Sum"
            ),
            threshold=1,
            description="DynamoDB throttled requests to the chat connections table.",
        )
        return alarms

    def _dashboard(self) -> cloudwatch.Dashboard:
        """One page for whoever is on call: traffic, API errors, the chat function, delivery
        (the handler's own metrics) and the state of every alarm."""
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Connections and messages",
                left=[self._metric("ConnectCount"), self._metric("MessageCount")],
            ),
            cloudwatch.GraphWidget(
                title="API errors",
                left=[
                    self._metric("ClientError"),
                    self._metric("IntegrationError"),
                    self._metric("ExecutionError"),
                ],
            ),
            function_graph("Chat function", self.function),
            cloudwatch.GraphWidget(
                title="Delivery",
                left=[
                    cloudwatch.Metric(
                        namespace="WebSocketApi",
                        metric_name=name,
                        dimensions_map={"service": "websocket-chat"},
                        statistic="Sum",
                    )
                    for name in ("MessagesDelivered", "GoneConnections", "DeliveryFailures")
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.alarms), width=24),
        )
        return dashboard

    # -- what the steps share -------------------------------------------------------------------

    def _exempt_synchronous_function(
        self, function: lambda_.Function, reserved_concurrency: int | None
    ) -> None:
        """Why the route and authorizer functions have no DLQ and, unless asked, no reserved
        concurrency (checkov's CKV_AWS_116 and CKV_AWS_115)."""
        exempt(
            function,
            "Invoked synchronously by API Gateway only (a route or the $connect authorizer): "
            "the client gets the error, so there is no asynchronous event for a DLQ to keep.",
            checkov="CKV_AWS_116",
        )
        if reserved_concurrency is None:
            exempt(
                function,
                "Concurrency is bounded by the stage's throttling (rate and burst limits); "
                "reserving concurrency would take it from every other function in the account. "
                "Set reserved_concurrency to cap the chat function as well.",
                checkov="CKV_AWS_115",
            )

    def _grant_table_access(self, function: lambda_.Function) -> None:
        """Only the item actions the chat handler uses, on the table and its room index."""
        iam.Grant.add_to_principal(
            grantee=function,
            actions=[
                "dynamodb:PutItem",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ],
            resource_arns=[self.table.table_arn],
        )
        index_arn = f"{self.table.table_arn}/index/{self._room_index_name}"
        iam.Grant.add_to_principal(
            grantee=function, actions=["dynamodb:Query"], resource_arns=[index_arn]
        )
        if self.table.encryption_key is not None:  # a caller's table with a customer key
            self.table.encryption_key.grant_encrypt_decrypt(function)

    def _grant_post_to_connections(self, function: lambda_.Function) -> None:
        """``execute-api:ManageConnections`` for POST on this API's stage, nothing wider."""
        stack = Stack.of(self)
        connections_arn = stack.format_arn(
            service="execute-api",
            resource=self.api.api_id,
            resource_name=f"{self.stage.stage_name}/POST/@connections/*",
        )
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["execute-api:ManageConnections"],
            resource_arns=[connections_arn],
        )
        policy = function.role.node.try_find_child("DefaultPolicy") if function.role else None
        if policy is not None:
            acknowledge(
                policy,
                # Spelled from the ARN itself: region and account are literals in a pinned stack.
                f"AwsSolutions-IAM5[Resource::{nag_text(self, connections_arn)}]",
                "Connection ids are created by API Gateway at run time, so the ARN ends in a "
                "wildcard; it is scoped to POST on this API's one stage.",
            )

    @staticmethod
    def _grant_secret_read(secret: secretsmanager.ISecret, function: lambda_.Function) -> None:
        """GetSecretValue only: ``grant_read`` adds DescribeSecret, which the authorizer never
        calls (tests/test_iam_conformance.py records what it does call)."""
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["secretsmanager:GetSecretValue"],
            # A secret imported by name has no full ARN: match its random suffix, as grant_read
            # does.
            resource_arns=[secret.secret_full_arn or f"{secret.secret_arn}-??????"],
        )
        if secret.encryption_key is not None:  # a caller's secret with a CMK
            secret.encryption_key.grant_decrypt(function)

    def _metric(self, name: str) -> cloudwatch.Metric:
        """An API Gateway metric of this API's stage, summed over 5 minutes."""
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={"ApiId": self.api.api_id, "Stage": self.stage.stage_name},
            period=Duration.minutes(5),
            statistic="Sum",
        )


def _check_cognito(
    auth: ConnectAuth,
    user_pool: cognito.IUserPool | None,
    client_ids: Sequence[str],
    token_uses: Sequence[str],
) -> None:
    if auth is not ConnectAuth.COGNITO:
        if user_pool is not None or client_ids:
            raise ConfigError(
                f"user_pool and user_pool_client_ids are only used with auth=ConnectAuth.COGNITO,"
                f" not {auth}"
            )
        return
    if user_pool is None or not client_ids:
        raise ConfigError(
            "auth=ConnectAuth.COGNITO needs user_pool and at least one of user_pool_client_ids"
        )
    if not token_uses or not set(token_uses) <= set(COGNITO_TOKEN_USES):
        raise ConfigError(
            f"cognito_token_use={list(token_uses)!r}: expected a non-empty subset of "
            f"{list(COGNITO_TOKEN_USES)}"
        )


def _check_token_sources(sources: Sequence[str]) -> None:
    def read_by_authorizer(source: str) -> bool:  # header names match in any case
        return source == TOKEN_IN_QUERY_STRING or source.lower() == TOKEN_IN_HEADER.lower()

    if len(sources) != 1 or not read_by_authorizer(sources[0]):
        raise ConfigError(
            f"token_identity_source={list(sources)!r}: expected ({TOKEN_IN_QUERY_STRING!r},) "
            f"or ({TOKEN_IN_HEADER!r},), the places the authorizer reads the token from"
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class _JsonAccessLogs:
    """Access log settings (an interface in aws-cdk-lib, not a struct): JSON to a log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS))


class WebSocketApiStack(Stack):
    """Deploys one ``WebSocketApi``. Context keys (``WebSocketApi:<key>`` or ``<key>``):
    ``removal_policy`` (retain|destroy), ``alarm_email``, ``throttle_rate_limit``,
    ``throttle_burst_limit``, ``auth`` (token|cognito|iam|none), ``token_source``
    (query|header, where a token is read), ``cloudwatch_role`` (true|false), and with
    ``auth=cognito``: ``cognito_user_pool_id`` and ``cognito_client_ids`` (comma-separated)."""

    CONTEXT_KEYS = (
        "removal_policy",
        "alarm_email",
        "throttle_rate_limit",
        "throttle_burst_limit",
        "auth",
        "token_source",
        "cloudwatch_role",
        "cognito_user_pool_id",
        "cognito_client_ids",
    )

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        auth = config.get_choice("auth", ConnectAuth.TOKEN.value, [a.value for a in ConnectAuth])
        sources = {"query": TOKEN_IN_QUERY_STRING, "header": TOKEN_IN_HEADER}
        token_source = config.get_choice("token_source", "query", list(sources))
        user_pool, client_ids = self._user_pool(config, ConnectAuth(auth))
        chat = WebSocketApi(
            self,
            "Chat",
            removal_policy=config.removal_policy(),
            alarm_email=config.get_email(),
            throttle_rate_limit=config.get_int("throttle_rate_limit", 100, minimum=1),
            throttle_burst_limit=config.get_int("throttle_burst_limit", 200, minimum=1),
            auth=ConnectAuth(auth),
            user_pool=user_pool,
            user_pool_client_ids=client_ids,
            token_identity_source=[sources[token_source]],
            create_cloudwatch_role=config.get_bool("cloudwatch_role", True),
        )
        CfnOutput(self, "WebSocketUrl", value=chat.url, description="wss:// URL clients connect to")
        CfnOutput(self, "CallbackUrl", value=chat.callback_url)
        CfnOutput(self, "TableName", value=chat.table.table_name)
        CfnOutput(self, "DashboardName", value=chat.dashboard.dashboard_name)
        if chat.token_secret is not None:
            CfnOutput(
                self,
                "TokenSecretArn",
                value=chat.token_secret.secret_arn,
                description="HS256 key your backend signs connect tokens with",
            )

    def _user_pool(
        self, config: ContextConfig, auth: ConnectAuth
    ) -> tuple[cognito.IUserPool | None, list[str]]:
        """With auth=cognito: the existing pool and app clients named in context."""
        if auth is not ConnectAuth.COGNITO:
            for key in ("cognito_user_pool_id", "cognito_client_ids"):
                value = config.get_optional_str(key)
                if value is not None:
                    raise config.fail(
                        key, value, f"nothing unless auth=cognito (auth={auth.value})"
                    )
            return None, []
        pool_id = config.get_user_pool_id("cognito_user_pool_id")
        if pool_id is None:
            raise config.fail(
                "cognito_user_pool_id",
                pool_id,
                "a user pool id (<region>_<id>, e.g. ServerlessApi's UserPoolId output) "
                "with auth=cognito",
            )
        client_ids = config.get_list("cognito_client_ids", [])
        if not client_ids or not all(re.fullmatch(r"[\w+]{1,128}", c) for c in client_ids):
            raise config.fail(
                "cognito_client_ids",
                ",".join(client_ids),
                "one or more app client ids (comma-separated) with auth=cognito",
            )
        return cognito.UserPool.from_user_pool_id(self, "UserPool", pool_id), client_ids
