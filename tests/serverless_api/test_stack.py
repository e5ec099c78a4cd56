"""Fine-grained checks of the ServerlessApi stack: the properties a reviewer would ask about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.serverless_api import ServerlessApi, ServerlessApiStack
from tests.support import Synth, throttled_operations

STACK = "ServerlessApi"


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template(STACK)


def _only(template: Template, type_: str) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    ((logical_id, resource),) = found.items()
    return logical_id, dict(resource)


def _function_policy(template: Template) -> list[dict[str, Any]]:
    """The statements of the one policy attached to the function's role."""
    _, function = _only(template, "AWS::Lambda::Function")
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": Match.array_with([{"Ref": role_id}])}}
    )
    ((_, policy),) = policies.items()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


# -- DynamoDB --------------------------------------------------------------------------------


def test_table_is_keyed_on_a_string_id(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        },
    )


def test_table_is_on_demand(template: Template) -> None:
    template.has_resource_properties("AWS::DynamoDB::Table", {"BillingMode": "PAY_PER_REQUEST"})


def test_table_has_point_in_time_recovery(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )


def test_table_is_encrypted_with_kms(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table", {"SSESpecification": {"SSEEnabled": True}}
    )


def test_table_expires_items_on_expires_at(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}},
    )


def test_table_has_deletion_protection(template: Template) -> None:
    template.has_resource_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": True})


def test_table_is_retained_by_default(template: Template) -> None:
    _, table = _only(template, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


# -- Lambda ----------------------------------------------------------------------------------


def test_function_is_python313_on_arm64(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "items.app.lambda_handler",
        },
    )


def test_function_is_traced(template: Template) -> None:
    template.has_resource_properties("AWS::Lambda::Function", {"TracingConfig": {"Mode": "Active"}})


def test_function_logs_json(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": Match.object_like({"LogFormat": "JSON"})}
    )


def test_function_uses_the_regional_powertools_layer(template: Template) -> None:
    _, function = _only(template, "AWS::Lambda::Function")
    (layer,) = function["Properties"]["Layers"]
    parts = layer["Fn::Join"][1]
    assert {"Ref": "AWS::Region"} in parts
    text = "".join(p for p in parts if isinstance(p, str))
    assert text.endswith(":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27")


def test_function_logs_are_kept_three_months(template: Template) -> None:
    _, function = _only(template, "AWS::Lambda::Function")
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_groups = template.find_resources("AWS::Logs::LogGroup")
    assert log_groups[log_group_id]["Properties"]["RetentionInDays"] == 90


def test_function_role_has_no_managed_policies(template: Template) -> None:
    _, function = _only(template, "AWS::Lambda::Function")
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template.find_resources("AWS::IAM::Role")[role_id]
    assert "ManagedPolicyArns" not in role["Properties"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_function_may_call_only_its_five_table_actions_on_its_table(template: Template) -> None:
    table_id, _ = _only(template, "AWS::DynamoDB::Table")
    (statement,) = [s for s in _function_policy(template) if "dynamodb:" in str(s["Action"])]
    assert statement["Effect"] == "Allow"
    assert sorted(_as_list(statement["Action"])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
    ]
    assert _as_list(statement["Resource"]) == [{"Fn::GetAtt": [table_id, "Arn"]}]
    assert "Condition" not in statement


def test_function_policy_has_nothing_else_but_its_logs_and_xray(template: Template) -> None:
    _, function = _only(template, "AWS::Lambda::Function")
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    others = {
        tuple(sorted(_as_list(s["Action"]))): _as_list(s["Resource"])
        for s in _function_policy(template)
        if "dynamodb:" not in str(s["Action"])
    }
    assert others == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [{"Fn::GetAtt": [log_group_id, "Arn"]}],
        # X-Ray has no resource-level permissions (the one acknowledged IAM5 finding).
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"): ["*"],
    }


# -- API Gateway -----------------------------------------------------------------------------


def _api_methods(template: Template) -> list[dict[str, Any]]:
    return [
        m["Properties"]
        for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    ]


def test_api_has_exactly_the_five_item_routes(template: Template) -> None:
    assert sorted(m["HttpMethod"] for m in _api_methods(template)) == [
        "DELETE",
        "GET",
        "GET",
        "POST",
        "PUT",
    ]


def test_every_method_needs_an_api_key(template: Template) -> None:
    assert all(m["ApiKeyRequired"] is True for m in _api_methods(template))


def test_every_method_needs_a_cognito_token_from_the_pool(template: Template) -> None:
    authorizer_id, authorizer = _only(template, "AWS::ApiGateway::Authorizer")
    pool_id, _ = _only(template, "AWS::Cognito::UserPool")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]
    for method in _api_methods(template):
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["AuthorizerId"] == {"Ref": authorizer_id}


def test_every_method_is_validated_before_the_function_runs(template: Template) -> None:
    validator_id, validator = _only(template, "AWS::ApiGateway::RequestValidator")
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    assert all(m["RequestValidatorId"] == {"Ref": validator_id} for m in _api_methods(template))


def _schemas(template: Template) -> dict[str, dict[str, Any]]:
    models = template.find_resources("AWS::ApiGateway::Model").values()
    return {m["Properties"]["Schema"]["title"]: m["Properties"]["Schema"] for m in models}


def test_create_model_requires_name_and_rejects_unknown_fields(template: Template) -> None:
    schema = _schemas(template)["CreateItem"]
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 200}


def test_replace_model_requires_name_and_version_and_rejects_unknown_fields(
    template: Template,
) -> None:
    schema = _schemas(template)["ReplaceItem"]
    assert schema["required"] == ["name", "version"]
    assert schema["additionalProperties"] is False


def test_models_bound_every_number_as_the_handler_does(template: Template) -> None:
    """Same limits as lambda_src/serverless_api/items/models.py, so the cheap check agrees with
    the authoritative one."""
    for schema in _schemas(template).values():
        for name, field in schema["properties"].items():
            if field["type"] == "integer":
                assert {"minimum", "maximum"} <= set(field), name
    replace = _schemas(template)["ReplaceItem"]["properties"]
    assert replace["quantity"] == {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}
    assert replace["expires_at"]["maximum"] == 4_102_444_800
    assert replace["version"] == {"type": "integer", "minimum": 1, "maximum": 1_000_000_000_000}


def test_post_and_put_use_their_models(template: Template) -> None:
    for verb, title_prefix in (("POST", "CreateItem"), ("PUT", "ReplaceItem")):
        template.has_resource_properties(
            "AWS::ApiGateway::Method",
            {
                "HttpMethod": verb,
                "RequestModels": {
                    "application/json": {"Ref": Match.string_like_regexp(f"{title_prefix}Model")}
                },
            },
        )


def test_stage_is_traced(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})


def test_stage_throttles_every_method_and_logs_errors_without_bodies(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": [
                {
                    "HttpMethod": "*",
                    "ResourcePath": "/*",
                    "ThrottlingRateLimit": 50,
                    "ThrottlingBurstLimit": 100,
                    "MetricsEnabled": True,
                    "LoggingLevel": "ERROR",
                    "DataTraceEnabled": False,
                }
            ]
        },
    )


def test_stage_writes_json_access_logs_to_its_log_group(template: Template) -> None:
    _, stage = _only(template, "AWS::ApiGateway::Stage")
    setting = stage["Properties"]["AccessLogSetting"]
    log_group_ids = [
        k for k in template.find_resources("AWS::Logs::LogGroup") if k.startswith("ItemsAccessLogs")
    ]
    assert len(log_group_ids) == 1
    assert f'{{"Ref": "{log_group_ids[0]}"}}' in json.dumps(setting["DestinationArn"])
    fields = json.loads(setting["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["status"] == "$context.status"
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"
    assert fields["integrationStatus"] == "$context.integration.status"


def test_access_logs_are_kept_three_months(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": 90, "LogGroupName": Match.absent()}
    )
    assert all(
        g["Properties"]["RetentionInDays"] == 90
        for g in template.find_resources("AWS::Logs::LogGroup").values()
    )


def test_usage_plan_throttles_and_sets_a_daily_quota(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 50, "BurstLimit": 100},
            "Quota": {"Limit": 10000, "Period": "DAY"},
        },
    )


def test_usage_plan_holds_the_api_key(template: Template) -> None:
    key_id, _ = _only(template, "AWS::ApiGateway::ApiKey")
    plan_id, _ = _only(template, "AWS::ApiGateway::UsagePlan")
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlanKey",
        {"KeyId": {"Ref": key_id}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": plan_id}},
    )


def test_api_key_value_is_not_in_the_template(template: Template) -> None:
    _, key = _only(template, "AWS::ApiGateway::ApiKey")
    assert "Value" not in key["Properties"]


def test_user_pool_requires_mfa_and_strong_passwords(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "MfaConfiguration": "ON",
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {"MinimumLength": 12, "RequireSymbols": True, "RequireNumbers": True}
                )
            },
        },
    )


def test_user_pool_is_retained_with_deletion_protection(template: Template) -> None:
    _, pool = _only(template, "AWS::Cognito::UserPool")
    assert pool["DeletionPolicy"] == "Retain"
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_account_logging_role_survives_stack_deletion(template: Template) -> None:
    _, account = _only(template, "AWS::ApiGateway::Account")
    assert account["DeletionPolicy"] == "Retain"


def test_stage_waits_for_the_account_logging_role(template: Template) -> None:
    account_id, _ = _only(template, "AWS::ApiGateway::Account")
    _, stage = _only(template, "AWS::ApiGateway::Stage")
    assert account_id in stage["DependsOn"]


def test_validation_errors_come_back_as_json(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "BAD_REQUEST_BODY",
            "ResponseTemplates": {
                "application/json": Match.string_like_regexp("validationErrorString")
            },
        },
    )


def test_gateway_4xx_and_5xx_come_back_as_json(template: Template) -> None:
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template.has_resource_properties(
            "AWS::ApiGateway::GatewayResponse",
            {
                "ResponseType": response_type,
                "ResponseTemplates": {
                    "application/json": Match.string_like_regexp(r"\$context\.error\.messageString")
                },
            },
        )


def test_no_cors_unless_asked(template: Template) -> None:
    assert not any(
        m["Properties"]["HttpMethod"] == "OPTIONS"
        for m in template.find_resources("AWS::ApiGateway::Method").values()
    )


# -- Monitoring ------------------------------------------------------------------------------


def _alarm(template: Template, logical_prefix: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for k, a in template.find_resources("AWS::CloudWatch::Alarm").items()
        if k.startswith(logical_prefix)
    ]
    return dict(alarm)


def test_there_are_five_alarms(template: Template) -> None:
    template.resource_count_is("AWS::CloudWatch::Alarm", 5)


def test_function_errors_alarm_on_the_first_error(template: Template) -> None:
    alarm = _alarm(template, "ItemsFunctionErrors")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert (alarm["Threshold"], alarm["Period"]) == (1, 300)


def test_function_throttles_alarm_on_the_first_throttle(template: Template) -> None:
    alarm = _alarm(template, "ItemsFunctionThrottles")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/Lambda",
        "Throttles",
        1,
    )


def test_api_5xx_alarm_counts_server_errors_on_the_stage(template: Template) -> None:
    alarm = _alarm(template, "ItemsApi5xx")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/ApiGateway",
        "5XXError",
        "Sum",
    )
    assert {d["Name"] for d in alarm["Dimensions"]} == {"ApiName", "Stage"}
    assert alarm["Threshold"] == 5


def test_latency_alarm_is_on_p99_above_one_second_for_fifteen_minutes(
    template: Template,
) -> None:
    alarm = _alarm(template, "ItemsApiLatencyP99")
    assert (alarm["MetricName"], alarm["ExtendedStatistic"]) == ("Latency", "p99")
    assert (alarm["Threshold"], alarm["Period"], alarm["EvaluationPeriods"]) == (1000, 300, 3)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_table_throttles_alarm_sums_each_operation_the_function_uses(
    template: Template,
) -> None:
    """ThrottledRequests only exists per TableName *and* Operation: an alarm on TableName alone
    would never see data."""
    table_id, _ = _only(template, "AWS::DynamoDB::Table")
    alarm = _alarm(template, "ItemsTableThrottles")
    assert alarm["Threshold"] == 1
    assert throttled_operations(alarm, table_id) == {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Scan",
    }


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(template: Template) -> None:
    topic_id, _ = _only(template, "AWS::SNS::Topic")
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]
        assert props["TreatMissingData"] == "notBreaching"


def test_alarm_topic_is_kms_encrypted(template: Template) -> None:
    key_id, _ = _only(template, "AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_alarm_topic_refuses_plain_http(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_dashboard_shows_the_api_function_table_and_alarms(template: Template) -> None:
    _, dashboard = _only(template, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("API requests and errors", "API latency", "Function", "Table", "Alarms"):
        assert f'\\"title\\":\\"{title}\\"' in body, title


# -- Construct options (a separate small app, with cdk-nag on) ---------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """The construct with what a team already has, and the non-default options; the stack with
    existing resources named by context. cdk-nag runs on all of it."""
    app = App(
        context={
            "FromContext:user_pool_id": "eu-west-1_AbCdEf123",
            "FromContext:alarm_topic_arn": "arn:aws:sns:eu-west-1:111122223333:ops-alarms",
        }
    )
    stack = Stack(app, "Variants")
    existing = dynamodb.Table(
        stack,
        "Existing",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    ServerlessApi(
        stack,
        "WithTable",
        table=existing,
        create_user_pool=False,
        cors_allowed_origins=["https://app.example.com"],
        alarm_email="ops@example.com",
    )

    destroy_stack = Stack(app, "Destroy")
    ServerlessApi(
        destroy_stack,
        "Api",
        removal_policy=RemovalPolicy.DESTROY,
        quota_per_day=None,
        throttle_rate_limit=5,
        throttle_burst_limit=10,
        table_props={"table_class": dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS},
        web_acl_arn="arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/api/abc",
    )

    existing_stack = Stack(app, "Existing")
    ServerlessApi(
        existing_stack,
        "Api",
        create_cloudwatch_role=False,
        user_pool=cognito.UserPool.from_user_pool_id(existing_stack, "Pool", "eu-west-1_AbCdEf123"),
        alarm_topic=sns.Topic.from_topic_arn(
            existing_stack, "Topic", "arn:aws:sns:eu-west-1:111122223333:ops-alarms"
        ),
    )
    from_context = ServerlessApiStack(app, "FromContext")

    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding, in every variant
    return {
        "with_table": Template.from_stack(stack),
        "destroy": Template.from_stack(destroy_stack),
        "existing": Template.from_stack(existing_stack),
        "from_context": Template.from_stack(from_context),
    }


def test_existing_table_is_used_and_none_created(variants: dict[str, Template]) -> None:
    template = variants["with_table"]
    table_id, _ = _only(template, "AWS::DynamoDB::Table")
    assert table_id.startswith("Existing")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"TABLE_NAME": {"Ref": table_id}})}},
    )


def test_existing_tables_kms_key_is_granted_to_the_function(
    variants: dict[str, Template],
) -> None:
    template = variants["with_table"]
    (key_id,) = [k for k in template.find_resources("AWS::KMS::Key") if k.startswith("Existing")]
    statements = _function_policy(template)
    assert any(
        "kms:Decrypt" in _as_list(s["Action"])
        and _as_list(s["Resource"]) == [{"Fn::GetAtt": [key_id, "Arn"]}]
        for s in statements
    )


def test_api_key_only_mode_has_no_authorizer(variants: dict[str, Template]) -> None:
    template = variants["with_table"]
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.resource_count_is("AWS::ApiGateway::Authorizer", 0)
    for method in _api_methods(template):
        assert method["AuthorizationType"] == "NONE"
        assert method["ApiKeyRequired"] is True


def test_cors_answers_preflight_for_the_allowed_origin(variants: dict[str, Template]) -> None:
    variants["with_table"].has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "OPTIONS",
            "Integration": Match.object_like(
                {
                    "IntegrationResponses": [
                        Match.object_like(
                            {
                                "ResponseParameters": Match.object_like(
                                    {
                                        "method.response.header.Access-Control-Allow-Origin": (
                                            "'https://app.example.com'"
                                        )
                                    }
                                )
                            }
                        )
                    ]
                }
            ),
        },
    )


def test_cors_origins_reach_the_function(variants: dict[str, Template]) -> None:
    variants["with_table"].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"ALLOWED_ORIGINS": "https://app.example.com"})
            }
        },
    )


def test_alarm_email_subscribes_to_the_topic(variants: dict[str, Template]) -> None:
    variants["with_table"].has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_destroy_policy_removes_table_without_deletion_protection(
    variants: dict[str, Template],
) -> None:
    _, table = _only(variants["destroy"], "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["DeletionProtectionEnabled"] is False


def test_destroy_policy_removes_the_user_pool_and_logs(variants: dict[str, Template]) -> None:
    template = variants["destroy"]
    _, pool = _only(template, "AWS::Cognito::UserPool")
    assert pool["DeletionPolicy"] == "Delete"
    assert pool["Properties"]["DeletionProtection"] == "INACTIVE"
    for log_group in template.find_resources("AWS::Logs::LogGroup").values():
        assert log_group["DeletionPolicy"] == "Delete"


def test_snapshot_removal_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="not SNAPSHOT"):
        ServerlessApi(Stack(App(), "S"), "Api", removal_policy=RemovalPolicy.SNAPSHOT)


def test_quota_can_be_turned_off(variants: dict[str, Template]) -> None:
    _, plan = _only(variants["destroy"], "AWS::ApiGateway::UsagePlan")
    assert "Quota" not in plan["Properties"]


def test_throttle_props_reach_the_stage_and_the_usage_plan(
    variants: dict[str, Template],
) -> None:
    template = variants["destroy"]
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan", {"Throttle": {"RateLimit": 5, "BurstLimit": 10}}
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": [
                Match.object_like({"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10})
            ]
        },
    )


def test_table_props_override_the_defaults(variants: dict[str, Template]) -> None:
    variants["destroy"].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableClass": "STANDARD_INFREQUENT_ACCESS",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_web_acl_is_associated_with_the_stage(variants: dict[str, Template]) -> None:
    template = variants["destroy"]
    stage_id, _ = _only(template, "AWS::ApiGateway::Stage")
    _, association = _only(template, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"].endswith(":regional/webacl/api/abc")
    assert f'"{stage_id}"' in json.dumps(association["Properties"]["ResourceArn"])


def test_existing_user_pool_authorizes_and_none_is_created(
    variants: dict[str, Template],
) -> None:
    template = variants["existing"]
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.resource_count_is("AWS::Cognito::UserPoolClient", 0)
    _, authorizer = _only(template, "AWS::ApiGateway::Authorizer")
    (provider,) = authorizer["Properties"]["ProviderARNs"]
    assert ":userpool/eu-west-1_AbCdEf123" in json.dumps(provider)


def test_existing_alarm_topic_gets_the_alarms_and_none_is_created(
    variants: dict[str, Template],
) -> None:
    template = variants["existing"]
    template.resource_count_is("AWS::SNS::Topic", 0)
    template.resource_count_is("AWS::KMS::Key", 0)
    topic = "arn:aws:sns:eu-west-1:111122223333:ops-alarms"
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [topic]


def test_account_logging_role_can_be_left_to_the_account(variants: dict[str, Template]) -> None:
    """create_cloudwatch_role=False: no account-wide role or setting, for accounts whose
    platform team already configures them."""
    template = variants["existing"]
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    template.resource_count_is("AWS::IAM::Role", 1)  # the function's own role only


def test_stack_takes_an_existing_pool_and_topic_from_context(
    variants: dict[str, Template],
) -> None:
    template = variants["from_context"]
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.resource_count_is("AWS::SNS::Topic", 0)
    _, authorizer = _only(template, "AWS::ApiGateway::Authorizer")
    assert ":userpool/eu-west-1_AbCdEf123" in json.dumps(authorizer["Properties"]["ProviderARNs"])
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"AlarmActions": ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]},
    )
