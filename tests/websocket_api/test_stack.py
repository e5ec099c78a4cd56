"""Fine-grained checks of the WebSocketApi stack: the properties a reviewer would ask about."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.shared import acknowledge
from stacks.websocket_api import TOKEN_IN_HEADER, ConnectAuth, WebSocketApi, WebSocketApiStack
from tests.support import Synth, throttled_operations

STACK = "WebSocketApi"


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template(STACK)


@pytest.fixture(scope="module")
def resources(synth: Synth) -> dict[str, Any]:
    return dict(synth.template_json(STACK)["Resources"])


def _only(template: Template, type_: str) -> dict[str, Any]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return dict(next(iter(found.values())))


def _id(template: Template, type_: str, handler: str | None = None) -> str:
    """Logical id of the one resource of a type (functions: the one with ``handler``)."""
    found = template.find_resources(type_)
    if handler is not None:
        found = {k: v for k, v in found.items() if v["Properties"].get("Handler") == handler}
    (logical_id,) = found
    return str(logical_id)


def _policy_statements(resources: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return sorted(action if isinstance(action, list) else [action])


CHAT = "chat.app.lambda_handler"
AUTHORIZER = "chat.authorizer.lambda_handler"


# -- API and routes --------------------------------------------------------------------------


def test_api_routes_frames_by_their_action(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )


def test_lifecycle_default_and_custom_routes_exist(template: Template) -> None:
    routes = template.find_resources("AWS::ApiGatewayV2::Route").values()
    assert sorted(r["Properties"]["RouteKey"] for r in routes) == [
        "$connect",
        "$default",
        "$disconnect",
        "join",
        "send",
    ]


def test_every_route_invokes_the_chat_function_by_proxy(
    template: Template, resources: dict[str, Any]
) -> None:
    chat_id = _id(template, "AWS::Lambda::Function", CHAT)
    integrations = template.find_resources("AWS::ApiGatewayV2::Integration")
    for route in template.find_resources("AWS::ApiGatewayV2::Route").values():
        target = route["Properties"]["Target"]["Fn::Join"][1]
        integration = integrations[target[1]["Ref"]]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert {"Fn::GetAtt": [chat_id, "Arn"]} in integration["IntegrationUri"]["Fn::Join"][1]


def test_message_routes_reply_to_the_sender(template: Template) -> None:
    routes = template.find_resources("AWS::ApiGatewayV2::Route")
    two_way = {
        r["Properties"]["RouteKey"]
        for r in routes.values()
        if r["Properties"].get("RouteResponseSelectionExpression") == "$default"
    }
    assert two_way == {"$default", "join", "send"}
    responses = template.find_resources("AWS::ApiGatewayV2::RouteResponse").values()
    assert sorted(
        routes[r["Properties"]["RouteId"]["Ref"]]["Properties"]["RouteKey"] for r in responses
    ) == ["$default", "join", "send"]


def test_connect_needs_the_token_authorizer(template: Template) -> None:
    authorizer_id = _id(template, "AWS::ApiGatewayV2::Authorizer")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        {
            "RouteKey": "$connect",
            "AuthorizationType": "CUSTOM",
            "AuthorizerId": {"Ref": authorizer_id},
        },
    )


def test_authorizer_is_the_authorizer_function_and_needs_a_token(template: Template) -> None:
    function_id = _id(template, "AWS::Lambda::Function", AUTHORIZER)
    authorizer = _only(template, "AWS::ApiGatewayV2::Authorizer")["Properties"]
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    assert {"Fn::GetAtt": [function_id, "Arn"]} in authorizer["AuthorizerUri"]["Fn::Join"][1]


def test_only_api_gateway_for_this_api_may_invoke_the_authorizer(template: Template) -> None:
    function_id = _id(template, "AWS::Lambda::Function", AUTHORIZER)
    api_id = _id(template, "AWS::ApiGatewayV2::Api")
    permissions = [
        p["Properties"]
        for p in template.find_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    (permission,) = permissions
    assert permission["Principal"] == "apigateway.amazonaws.com"
    source = permission["SourceArn"]["Fn::Join"][1]
    assert {"Ref": api_id} in source
    assert "/authorizers/" in source


def test_token_key_is_a_generated_64_character_secret(template: Template) -> None:
    secret = _only(template, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["GenerateSecretString"] == {
        "ExcludePunctuation": True,
        "PasswordLength": 64,
    }
    assert secret["DeletionPolicy"] == "Retain"


# -- Stage -----------------------------------------------------------------------------------


def _stage(template: Template) -> dict[str, Any]:
    return dict(_only(template, "AWS::ApiGatewayV2::Stage")["Properties"])


def test_stage_auto_deploys(template: Template) -> None:
    stage = _stage(template)
    assert stage["StageName"] == "v1"
    assert stage["AutoDeploy"] is True


def test_stage_is_throttled(template: Template) -> None:
    settings = _stage(template)["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == 100
    assert settings["ThrottlingBurstLimit"] == 200


def test_stage_has_detailed_per_route_metrics(template: Template) -> None:
    assert _stage(template)["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True


def test_stage_logs_execution_errors_without_message_bodies(template: Template) -> None:
    settings = _stage(template)["DefaultRouteSettings"]
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False


def test_stage_writes_json_access_logs_to_its_log_group(template: Template) -> None:
    stage = _only(template, "AWS::ApiGatewayV2::Stage")["Properties"]
    log_group_id = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    log_group = template.find_resources("AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 90
    fields = json.loads(stage["AccessLogSettings"]["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["connectionId"] == "$context.connectionId"
    assert fields["routeKey"] == "$context.routeKey"
    assert fields["status"] == "$context.status"
    assert fields["authorizerError"] == "$context.authorizer.error"


def test_stage_waits_for_the_account_logging_role(resources: dict[str, Any]) -> None:
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")
    (account_id,) = stage["DependsOn"]
    account = resources[account_id]
    assert account["Type"] == "AWS::ApiGateway::Account"
    assert account["DeletionPolicy"] == "Retain"


# -- DynamoDB --------------------------------------------------------------------------------


def _table(template: Template) -> dict[str, Any]:
    return dict(_only(template, "AWS::DynamoDB::Table")["Properties"])


def test_table_is_keyed_by_connection_id(template: Template) -> None:
    assert _table(template)["KeySchema"] == [{"AttributeName": "connectionId", "KeyType": "HASH"}]


def test_table_is_on_demand(template: Template) -> None:
    assert _table(template)["BillingMode"] == "PAY_PER_REQUEST"


def test_table_has_point_in_time_recovery(template: Template) -> None:
    assert _table(template)["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }


def test_table_is_encrypted(template: Template) -> None:
    assert _table(template)["SSESpecification"] == {"SSEEnabled": True}


def test_stale_connections_expire_by_ttl_on_the_attribute_the_handler_writes(
    template: Template,
) -> None:
    # chat.connections.connect writes expires_at; a TTL on any other name would never expire.
    assert _table(template)["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


def test_table_has_deletion_protection(template: Template) -> None:
    assert _table(template)["DeletionProtectionEnabled"] is True


def test_table_is_retained_by_default(template: Template) -> None:
    table = _only(template, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_room_index_holds_only_what_a_broadcast_reads(template: Template) -> None:
    table = _only(template, "AWS::DynamoDB::Table")["Properties"]
    assert table["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-room",
            "KeySchema": [{"AttributeName": "room", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["expires_at"]},
        }
    ]


def test_connection_rows_outlive_the_longest_connection(template: Template) -> None:
    """API Gateway closes a connection after 2 hours; TTL must not delete a live one."""
    chat = template.find_resources("AWS::Lambda::Function")[
        _id(template, "AWS::Lambda::Function", CHAT)
    ]
    ttl = int(chat["Properties"]["Environment"]["Variables"]["CONNECTION_TTL_SECONDS"])
    assert 2 * 3600 < ttl <= 3 * 3600


# -- Lambda and IAM --------------------------------------------------------------------------


def test_functions_are_python313_arm64_traced_with_json_logs(template: Template) -> None:
    for handler in (CHAT, AUTHORIZER):
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": handler,
                "Runtime": "python3.13",
                "Architectures": ["arm64"],
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
            },
        )


def test_chat_function_posts_to_its_own_stage(template: Template) -> None:
    chat = template.find_resources("AWS::Lambda::Function")[
        _id(template, "AWS::Lambda::Function", CHAT)
    ]
    url = chat["Properties"]["Environment"]["Variables"]["CALLBACK_URL"]["Fn::Join"][1]
    assert url[0] == "https://"
    assert url[1] == {"Ref": _id(template, "AWS::ApiGatewayV2::Api")}
    assert url[-1] == "/v1"


def test_manage_connections_is_scoped_to_post_on_this_stage(
    template: Template, resources: dict[str, Any]
) -> None:
    statements = _policy_statements(resources, _id(template, "AWS::Lambda::Function", CHAT))
    (statement,) = [s for s in statements if "execute-api:ManageConnections" in _actions(s)]
    assert _actions(statement) == ["execute-api:ManageConnections"]
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":execute-api:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":",
                {"Ref": _id(template, "AWS::ApiGatewayV2::Api")},
                "/v1/POST/@connections/*",
            ],
        ]
    }


def test_chat_function_has_only_the_table_actions_it_uses(
    template: Template, resources: dict[str, Any]
) -> None:
    table_id = _id(template, "AWS::DynamoDB::Table")
    statements = _policy_statements(resources, _id(template, "AWS::Lambda::Function", CHAT))
    dynamo = {
        json.dumps(s["Resource"], sort_keys=True): _actions(s)
        for s in statements
        if any(a.startswith("dynamodb:") for a in _actions(s))
    }
    table_arn = {"Fn::GetAtt": [table_id, "Arn"]}
    index_arn = {"Fn::Join": ["", [table_arn, "/index/by-room"]]}
    assert dynamo == {
        json.dumps(table_arn, sort_keys=True): [
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        json.dumps(index_arn, sort_keys=True): ["dynamodb:Query"],
    }


def test_authorizer_can_read_the_secret_and_nothing_else(
    template: Template, resources: dict[str, Any]
) -> None:
    secret_id = _id(template, "AWS::SecretsManager::Secret")
    statements = _policy_statements(resources, _id(template, "AWS::Lambda::Function", AUTHORIZER))
    by_actions = {tuple(_actions(s)): s["Resource"] for s in statements}
    # GetSecretValue only: the authorizer never calls DescribeSecret (test_iam_conformance).
    assert by_actions[("secretsmanager:GetSecretValue",)] == {"Ref": secret_id}
    assert set(by_actions) == {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
        ("secretsmanager:GetSecretValue",),
    }


def test_no_policy_grants_a_wildcard_action(resources: dict[str, Any]) -> None:
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            assert all(not a.endswith(":*") and a != "*" for a in _actions(statement))


def test_function_roles_have_no_managed_policies(
    template: Template, resources: dict[str, Any]
) -> None:
    for handler in (CHAT, AUTHORIZER):
        function = resources[_id(template, "AWS::Lambda::Function", handler)]
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


# -- Monitoring ------------------------------------------------------------------------------


def test_alarms_cover_integration_errors_and_functions(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    metrics = sorted(
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"])
        for a in alarms
        if "MetricName" in a["Properties"]  # the table alarm is a metric-math sum, below
    )
    assert metrics == [
        ("AWS/ApiGateway", "ExecutionError"),
        ("AWS/ApiGateway", "IntegrationError"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Throttles"),
    ]


def test_table_throttles_alarm_sums_each_operation_the_handler_uses(template: Template) -> None:
    """ThrottledRequests only exists per TableName *and* Operation: an alarm on TableName alone
    would never see data."""
    table_id = _id(template, "AWS::DynamoDB::Table")
    [alarm] = [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if "Metrics" in a["Properties"]
    ]
    assert alarm["Threshold"] == 1
    assert throttled_operations(alarm, table_id) == {
        "PutItem",
        "GetItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "Query",
    }


def test_integration_error_alarm_watches_this_api_and_stage(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "IntegrationError",
            "Dimensions": [
                {"Name": "ApiId", "Value": {"Ref": _id(template, "AWS::ApiGatewayV2::Api")}},
                {"Name": "Stage", "Value": "v1"},
            ],
            "Statistic": "Sum",
            "Threshold": 5,
        },
    )


def test_lambda_error_alarms_watch_both_functions(template: Template) -> None:
    watched = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Errors"
    }
    assert watched == {
        _id(template, "AWS::Lambda::Function", CHAT),
        _id(template, "AWS::Lambda::Function", AUTHORIZER),
    }


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(template: Template) -> None:
    topic_id = _id(template, "AWS::SNS::Topic")
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]
        assert props["TreatMissingData"] == "notBreaching"


# -- Construct options (a separate small app, with cdk-nag on) ---------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """IAM auth, anonymous, a caller's table and secret with a header token, and DESTROY."""
    app = App()
    iam_stack = Stack(app, "Iam")
    WebSocketApi(iam_stack, "Chat", auth=ConnectAuth.IAM, create_cloudwatch_role=False)
    open_stack = Stack(app, "Open")
    WebSocketApi(open_stack, "Chat", auth=ConnectAuth.NONE)
    existing_stack = Stack(app, "Existing")
    table = dynamodb.Table(
        existing_stack,
        "Table",
        partition_key=dynamodb.Attribute(name="connectionId", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute="expires_at",
    )
    table.add_global_secondary_index(
        index_name="rooms",
        partition_key=dynamodb.Attribute(name="room", type=dynamodb.AttributeType.STRING),
    )
    secret = secretsmanager.Secret(existing_stack, "Key")
    acknowledge(secret, "AwsSolutions-SMG4", "A test fixture standing in for a caller's own key.")
    WebSocketApi(
        existing_stack,
        "Chat",
        table=table,
        room_index_name="rooms",
        token_secret=secret,
        token_identity_source=[TOKEN_IN_HEADER],
        stage_name="prod",
        throttle_rate_limit=5,
        throttle_burst_limit=10,
    )
    destroy_stack = Stack(app, "Destroy")
    WebSocketApi(destroy_stack, "Chat", removal_policy=RemovalPolicy.DESTROY)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding, in every mode
    return {
        "iam": Template.from_stack(iam_stack),
        "open": Template.from_stack(open_stack),
        "existing": Template.from_stack(existing_stack),
        "destroy": Template.from_stack(destroy_stack),
    }


def test_iam_auth_signs_connects_and_needs_no_authorizer(variants: dict[str, Template]) -> None:
    template = variants["iam"]
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "AWS_IAM"}
    )
    template.resource_count_is("AWS::ApiGatewayV2::Authorizer", 0)
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    template.resource_count_is("AWS::Lambda::Function", 1)


def test_the_account_logging_role_can_be_left_alone(variants: dict[str, Template]) -> None:
    variants["iam"].resource_count_is("AWS::ApiGateway::Account", 0)


def test_anonymous_mode_has_no_authorizer(variants: dict[str, Template]) -> None:
    template = variants["open"]
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "NONE"}
    )
    template.resource_count_is("AWS::ApiGatewayV2::Authorizer", 0)


def test_existing_table_and_secret_are_used(variants: dict[str, Template]) -> None:
    template = variants["existing"]
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.resource_count_is("AWS::SecretsManager::Secret", 1)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": CHAT,
            "Environment": {"Variables": Match.object_like({"ROOM_INDEX_NAME": "rooms"})},
        },
    )


def test_existing_table_grants_follow_the_index_name_and_stage(
    variants: dict[str, Template],
) -> None:
    policies = json.dumps(variants["existing"].find_resources("AWS::IAM::Policy"))
    assert '"/index/rooms"' in policies
    assert "/prod/POST/@connections/*" in policies


def test_token_can_come_from_a_header(variants: dict[str, Template]) -> None:
    variants["existing"].has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"IdentitySource": ["route.request.header.Authorization"]},
    )


def test_throttling_follows_the_props(variants: dict[str, Template]) -> None:
    settings = _stage(variants["existing"])["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (5, 10)


@pytest.mark.parametrize(
    "sources",
    [
        pytest.param([], id="none"),
        pytest.param(
            ["route.request.querystring.access_token"], id="query-string-it-does-not-read"
        ),
        pytest.param(["route.request.header.X-Token"], id="header-it-does-not-read"),
        pytest.param(
            ["route.request.querystring.token", "route.request.header.Authorization"],
            id="both-so-both-required",
        ),
    ],
)
def test_a_token_source_the_authorizer_does_not_read_is_refused(sources: list[str]) -> None:
    stack = Stack(App(), "Mistake")
    with pytest.raises(ValueError, match="token_identity_source"):
        WebSocketApi(stack, "Chat", token_identity_source=sources)


def test_the_header_source_matches_in_any_case() -> None:
    stack = Stack(App(), "Lower")
    WebSocketApi(stack, "Chat", token_identity_source=["route.request.header.authorization"])
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"IdentitySource": ["route.request.header.authorization"]},
    )


def test_destroy_removes_table_and_secret_without_deletion_protection(
    variants: dict[str, Template],
) -> None:
    template = variants["destroy"]
    table = _only(template, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    assert _only(template, "AWS::SecretsManager::Secret")["DeletionPolicy"] == "Delete"


def test_a_token_secret_without_token_auth_is_a_mistake() -> None:
    stack = Stack(App(), "Mistake")
    secret = secretsmanager.Secret(stack, "Key")
    with pytest.raises(ValueError, match="token_secret is only used with auth"):
        WebSocketApi(stack, "Chat", auth=ConnectAuth.IAM, token_secret=secret)


def test_the_stack_reads_the_token_from_a_header_when_asked() -> None:
    app = App(context={"WebSocketApi:token_source": "header"})
    stack = WebSocketApiStack(app, "WebSocketApi")
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer", {"IdentitySource": [TOKEN_IN_HEADER]}
    )


def test_the_stack_refuses_an_unknown_token_source() -> None:
    app = App(context={"WebSocketApi:token_source": "cookie"})
    with pytest.raises(ValueError, match="token_source"):
        WebSocketApiStack(app, "WebSocketApi")


# -- The bundled dependencies ------------------------------------------------------------------


def test_the_chat_asset_carries_the_arm64_wheels_and_not_the_runtime_or_layer(
    synth: Synth, template: Template
) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    keys = {
        f["Properties"]["Code"]["S3Key"] for f in functions.values() if "Handler" in f["Properties"]
    }
    (key,) = keys  # both functions share one asset
    asset = synth.outdir / f"asset.{key.removesuffix('.zip')}"
    assert (asset / "chat" / "authorizer.py").is_file()
    assert (asset / "jwt" / "api_jws.py").is_file()
    assert (asset / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so").is_file()
    (wheel,) = asset.glob("cryptography-*.dist-info/WHEEL")
    tags = [
        line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag:")
    ]
    assert tags
    assert all(t.endswith("_aarch64") and "-abi3-" in t for t in tags)
    assert list(asset.glob("_cffi_backend.cpython-313-aarch64-linux-gnu.so"))
    for provided in ("boto3", "botocore", "aws_lambda_powertools", "pydantic"):
        assert not (asset / provided).exists(), f"{provided} comes from the runtime or the layer"
    assert not (asset / "requirements.txt").exists()


# -- Cognito users ---------------------------------------------------------------------------

POOL_ID = "eu-west-1_Ab12Cd34E"


@pytest.fixture(scope="module")
def cognito_template() -> Template:
    app = App()
    stack = Stack(app, "Cognito")
    pool = cognito.UserPool.from_user_pool_id(stack, "Pool", POOL_ID)
    WebSocketApi(
        stack,
        "Chat",
        auth=ConnectAuth.COGNITO,
        user_pool=pool,
        user_pool_client_ids=["client1", "client2"],
        cognito_token_use=["id"],
        create_cloudwatch_role=False,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return Template.from_stack(stack)


def test_cognito_connects_go_through_the_authorizer_with_the_pool_and_clients(
    cognito_template: Template,
) -> None:
    cognito_template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "CUSTOM"}
    )
    cognito_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": AUTHORIZER,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "TOKEN_VERIFIER": "cognito",
                        "COGNITO_USER_POOL_ID": POOL_ID,
                        "COGNITO_CLIENT_IDS": "client1,client2",
                        "COGNITO_TOKEN_USE": "id",
                    }
                )
            },
        },
    )


def test_cognito_mode_has_no_secret_and_the_authorizer_no_aws_permission(
    cognito_template: Template,
) -> None:
    cognito_template.resource_count_is("AWS::SecretsManager::Secret", 0)
    resources = cognito_template.to_json()["Resources"]
    statements = _policy_statements(
        resources, _id(cognito_template, "AWS::Lambda::Function", AUTHORIZER)
    )
    assert {tuple(_actions(s)) for s in statements} == {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"auth": ConnectAuth.COGNITO}, "needs user_pool", id="no-pool"),
        pytest.param(
            {"auth": ConnectAuth.COGNITO, "with_pool": True}, "needs user_pool", id="no-clients"
        ),
        pytest.param(
            {"auth": ConnectAuth.COGNITO, "with_pool": True, "user_pool_client_ids": ["c"],
             "cognito_token_use": ["refresh"]},
            "cognito_token_use",
            id="refresh-tokens",
        ),
        pytest.param({"with_pool": True}, "only used with auth=ConnectAuth.COGNITO", id="token"),
    ],
)  # fmt: skip
def test_cognito_props_that_cannot_work_are_refused(kwargs: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "Mistake")
    if kwargs.pop("with_pool", False):
        kwargs["user_pool"] = cognito.UserPool.from_user_pool_id(stack, "Pool", POOL_ID)
    with pytest.raises(ValueError, match=message):
        WebSocketApi(stack, "Chat", **kwargs)


def test_the_stack_takes_a_cognito_pool_from_context() -> None:
    app = App(
        context={
            "WebSocketApi:auth": "cognito",
            "WebSocketApi:cognito_user_pool_id": POOL_ID,
            "WebSocketApi:cognito_client_ids": "abc123,def456",
        }
    )
    stack = WebSocketApiStack(app, "WebSocketApi")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": AUTHORIZER,
            "Environment": {
                "Variables": Match.object_like(
                    {"COGNITO_USER_POOL_ID": POOL_ID, "COGNITO_CLIENT_IDS": "abc123,def456"}
                )
            },
        },
    )


@pytest.mark.parametrize(
    ("context", "key"),
    [
        pytest.param({"cognito_client_ids": "abc"}, "cognito_user_pool_id=None", id="no-pool"),
        pytest.param(
            {"cognito_user_pool_id": "my-pool", "cognito_client_ids": "abc"},
            "cognito_user_pool_id='my-pool'",
            id="bad-pool",
        ),
        pytest.param({"cognito_user_pool_id": POOL_ID}, "cognito_client_ids=''", id="no-clients"),
    ],
)
def test_the_stack_refuses_an_incomplete_cognito_context(context: dict[str, str], key: str) -> None:
    app = App(
        context={
            "WebSocketApi:auth": "cognito",
            **{f"WebSocketApi:{k}": v for k, v in context.items()},
        }
    )
    with pytest.raises(ValueError, match=re.escape(f"context WebSocketApi:{key}")) as err:
        WebSocketApiStack(app, "WebSocketApi")
    assert "\n" not in str(err.value)
