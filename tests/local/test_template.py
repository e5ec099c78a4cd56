"""The pieces of the local modes that read the template and stand in for API Gateway, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.api import GatewayError, RestApi, _match
from local.chat import _select
from local.template import Template, table_definition


@pytest.fixture
def template(tmp_path: Path) -> Template:
    resources = {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
    }
    return Template("Demo", tmp_path, resources, {"Table": "local-table", "Fn": "local-fn"})


def test_resolve_evaluates_refs_joins_and_subs_against_local_names(template):
    assert template.resolve({"Ref": "Table"}) == "local-table"
    assert template.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    joined = {"Fn::Join": ["", ["https://", {"Ref": "Table"}, ".", {"Ref": "AWS::URLSuffix"}]]}
    assert template.resolve(joined) == "https://local-table.amazonaws.com"
    assert template.resolve({"Fn::Sub": "${AWS::AccountId}:${Table}"}) == "123456789012:local-table"
    assert template.resolve({"Fn::GetAtt": ["Fn", "Arn"]}).endswith(":function:local-fn")


def test_logical_id_in_finds_the_resource_an_intrinsic_names(template):
    assert template.logical_id_in({"Fn::GetAtt": ["Fn", "Arn"]}, "AWS::Lambda::Function") == "Fn"


def test_table_definition_keeps_keys_and_indexes_only():
    props = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-x",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ContributorInsightsSpecification": {"Enabled": True},
            }
        ],
        "SSESpecification": {"SSEEnabled": True},
    }
    definition = table_definition(props, "t")
    assert definition["TableName"] == "t"
    assert set(definition["GlobalSecondaryIndexes"][0]) == {"IndexName", "KeySchema", "Projection"}
    assert "SSESpecification" not in definition


@pytest.mark.parametrize(
    ("resource", "path", "expected"),
    [
        ("/items", "/items", {}),
        ("/items/{id}", "/items/abc", {"id": "abc"}),
        ("/items/{id}", "/items", None),
        ("/items/{id}", "/items/a/b", None),
        ("/files/{proxy+}", "/files/a/b", {"proxy": "a/b"}),
    ],
)
def test_resource_paths_match_as_api_gateway_matches_them(resource, path, expected):
    assert _match(resource, [s for s in path.split("/") if s]) == expected


def test_gateway_errors_render_with_the_apis_own_templates():
    api = RestApi(
        "v1",
        gateway_responses={
            "BAD_REQUEST_BODY": '{"message": "$context.error.validationErrorString"}',
            "DEFAULT_4XX": '{"message": $context.error.messageString, "type": '
            '"$context.error.responseType"}',
        },
    )
    assert api.render(GatewayError("BAD_REQUEST_BODY", '[bad "x"]')) == (
        400,
        '{"message": "[bad \\"x\\"]"}',
    )
    assert api.render(GatewayError("INVALID_API_KEY")) == (
        403,
        '{"message": "Forbidden", "type": "INVALID_API_KEY"}',
    )


@pytest.mark.parametrize(
    ("body", "route"),
    [('{"action": "send"}', "send"), ('{"action": 3}', ""), ("not json", ""), ("[]", "")],
)
def test_route_selection_reads_the_action_of_a_frame(body, route):
    assert _select("$request.body.action", body) == route
