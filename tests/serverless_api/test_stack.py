"""Fine-grained checks of the ServerlessApi stack: the properties a reviewer would ask about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.serverless_api import ServerlessApi
from tests.support import Synth

STACK = "ServerlessApi"


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


# -- DynamoDB --------------------------------------------------------------------------------


def test_table_is_on_demand_with_pitr_encryption_and_ttl(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "DeletionProtectionEnabled": True,
        },
    )


def test_table_is_retained_by_default(template: Template) -> None:
    table = _only(template, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


# -- Lambda ----------------------------------------------------------------------------------


def test_function_is_python313_arm64_traced_with_json_logs(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "items.app.lambda_handler",
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
        },
    )


def test_function_uses_the_regional_powertools_layer(template: Template) -> None:
    function = _only(template, "AWS::Lambda::Function")
    (layer,) = function["Properties"]["Layers"]
    parts = layer["Fn::Join"][1]
    assert {"Ref": "AWS::Region"} in parts
    text = "".join(p for p in parts if isinstance(p, str))
    assert text.endswith(":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27")


def test_function_logs_are_kept_three_months(template: Template) -> None:
    function = _only(template, "AWS::Lambda::Function")
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_groups = template.find_resources("AWS::Logs::LogGroup")
    assert log_groups[log_group_id]["Properties"]["RetentionInDays"] == 90


def test_function_role_has_no_managed_policies(resources: dict[str, Any]) -> None:
    function = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function")
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


def test_function_policy_is_least_privilege(resources: dict[str, Any]) -> None:
    """Table data actions on the table only, log writes on its log group only, X-Ray on *."""
    function = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function")
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    table_id = next(k for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table")
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert statement["Effect"] == "Allow"
        assert not any(a.endswith("*") and ":" not in a for a in actions)
        assert "dynamodb:*" not in actions
        resources_ = statement["Resource"]
        resources_ = resources_ if isinstance(resources_, list) else [resources_]
        if all(a.startswith("xray:") for a in actions):
            assert resources_ == ["*"]
        elif any(a.startswith("dynamodb:") for a in actions):
            assert all(a.startswith("dynamodb:") for a in actions)
            assert "dynamodb:DeleteTable" not in actions
            assert resources_[0] == {"Fn::GetAtt": [table_id, "Arn"]}
            # The only other resource is the table's own index ARN pattern, if any.
            assert all(table_id in str(r) for r in resources_)
        else:
            assert sorted(actions) == ["logs:CreateLogStream", "logs:PutLogEvents"]
            assert resources_ != ["*"]


# -- API Gateway -----------------------------------------------------------------------------


def test_every_method_needs_an_api_key_a_token_and_validation(template: Template) -> None:
    methods = {
        k: v
        for k, v in template.find_resources("AWS::ApiGateway::Method").items()
        if v["Properties"]["HttpMethod"] != "OPTIONS"
    }
    assert sorted(m["Properties"]["HttpMethod"] for m in methods.values()) == [
        "DELETE",
        "GET",
        "GET",
        "POST",
        "PUT",
    ]
    for method in methods.values():
        props = method["Properties"]
        assert props["ApiKeyRequired"] is True
        assert props["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert "RequestValidatorId" in props


def test_validator_checks_bodies_and_parameters(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
    )


def test_create_model_rejects_unknown_fields_and_requires_name(template: Template) -> None:
    models = [
        m["Properties"]["Schema"]
        for m in template.find_resources("AWS::ApiGateway::Model").values()
    ]
    by_title = {m["title"]: m for m in models}
    assert by_title["CreateItem"]["additionalProperties"] is False
    assert by_title["CreateItem"]["required"] == ["name"]
    assert by_title["ReplaceItem"]["required"] == ["name", "version"]
    assert by_title["CreateItem"]["properties"]["name"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
    }


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


def test_stage_has_tracing_metrics_throttling_and_json_access_logs(template: Template) -> None:
    stage = _only(template, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["TracingEnabled"] is True
    destination = json.dumps(stage["AccessLogSetting"]["DestinationArn"])
    access_log_group = next(
        k for k in template.find_resources("AWS::Logs::LogGroup") if k.startswith("ItemsAccessLogs")
    )
    assert f'{{"Ref": "{access_log_group}"}}' in destination
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["status"] == "$context.status"
    assert fields["integrationStatus"] == "$context.integration.status"
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "LoggingLevel": "ERROR",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 100,
            "ThrottlingRateLimit": 50,
        }
    ]


def test_usage_plan_throttles_and_sets_a_daily_quota(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 50, "BurstLimit": 100},
            "Quota": {"Limit": 10000, "Period": "DAY"},
        },
    )
    template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)


def test_api_key_value_is_not_in_the_template(template: Template) -> None:
    key = _only(template, "AWS::ApiGateway::ApiKey")
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


def test_account_logging_role_survives_stack_deletion(template: Template) -> None:
    account = _only(template, "AWS::ApiGateway::Account")
    assert account["DeletionPolicy"] == "Retain"


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


# -- Monitoring ------------------------------------------------------------------------------


def test_alarms_cover_function_api_and_table(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    metrics = sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms)
    assert metrics == [
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/DynamoDB", "ThrottledRequests"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
    ]


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(template: Template) -> None:
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]
        assert props["TreatMissingData"] == "notBreaching"


def test_latency_alarm_is_on_p99_above_one_second(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Latency",
            "ExtendedStatistic": "p99",
            "Threshold": 1000,
            "EvaluationPeriods": 3,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def test_alarm_topic_is_kms_encrypted_and_tls_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
    )
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
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_dashboard_exists(template: Template) -> None:
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


# -- Construct options (a separate small app, with cdk-nag on) ---------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """The construct with a caller's table, API-key-only access, DESTROY and CORS."""
    app = App()
    stack = Stack(app, "Variants")
    existing = dynamodb.Table(
        stack,
        "Existing",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
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
    ServerlessApi(destroy_stack, "Api", removal_policy=RemovalPolicy.DESTROY, quota_per_day=None)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding, API-key-only mode included
    return {"with_table": Template.from_stack(stack), "destroy": Template.from_stack(destroy_stack)}


def test_existing_table_is_used_and_none_created(variants: dict[str, Template]) -> None:
    variants["with_table"].resource_count_is("AWS::DynamoDB::Table", 1)


def test_api_key_only_mode_has_no_authorizer(variants: dict[str, Template]) -> None:
    template = variants["with_table"]
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.resource_count_is("AWS::ApiGateway::Authorizer", 0)
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {"HttpMethod": "GET", "AuthorizationType": "NONE", "ApiKeyRequired": True},
    )


def test_cors_reaches_preflight_and_the_function(variants: dict[str, Template]) -> None:
    template = variants["with_table"]
    template.has_resource_properties(
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
    template.has_resource_properties(
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
    template = variants["destroy"]
    table = _only(template, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["DeletionProtectionEnabled"] is False


def test_quota_can_be_turned_off(variants: dict[str, Template]) -> None:
    plan = _only(variants["destroy"], "AWS::ApiGateway::UsagePlan")
    assert "Quota" not in plan["Properties"]
