"""The committed API documents (docs/openapi/) are what ``make openapi`` writes from the session's
templates, and say what the template says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.template import Template
from openapi import __main__ as writer
from openapi import chat, items, web
from tests.support import ROOT, Synth

DOCS = ROOT / "docs" / "openapi"


def _committed(name: str) -> Any:
    return json.loads((DOCS / name).read_text())


def _template(synth: Synth, stack: str) -> Template:
    synth.template_json(stack)  # skips when STACKS leaves the stack out
    return Template.load(synth.outdir, stack, synth=False)


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("items.json", lambda s: items.build(_template(s, items.STACK))),
        ("chat.asyncapi.json", lambda s: chat.build(_template(s, chat.STACK))),
        ("web.json", lambda _: web.build()),
    ],
)
def test_committed_document_is_current(synth: Synth, name: str, build: Any) -> None:
    current = writer.dump(build(synth))
    assert (DOCS / name).read_text() == current, f"docs/openapi/{name} is stale: run make openapi"


def test_every_method_of_the_template_is_an_operation(synth: Synth) -> None:
    methods = {
        (str(r["Properties"]["HttpMethod"]).lower(), r["Properties"]["ResourceId"]["Ref"])
        for r in synth.template_json(items.STACK)["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Method"
    }
    document = _committed("items.json")
    operations = [(verb, path) for path, ops in document["paths"].items() for verb in ops]
    assert len(operations) == len(methods) == 5
    assert sorted(operations) == [
        ("delete", "/items/{id}"),
        ("get", "/items"),
        ("get", "/items/{id}"),
        ("post", "/items"),
        ("put", "/items/{id}"),
    ]


def test_request_models_are_the_templates_models(synth: Synth) -> None:
    models = {
        r["Properties"]["Schema"]["title"]: r["Properties"]["Schema"]
        for r in synth.template_json(items.STACK)["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Model"
    }
    schemas = _committed("items.json")["components"]["schemas"]
    assert set(models) == {"CreateItem", "ReplaceItem"}
    for title, model in models.items():
        assert schemas[title] == {k: v for k, v in model.items() if k not in ("$schema", "title")}
    post = _committed("items.json")["paths"]["/items"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateItem"
    }


def test_every_operation_needs_the_api_key_and_the_cognito_token() -> None:
    document = _committed("items.json")
    schemes = document["components"]["securitySchemes"]
    assert schemes["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    (cognito,) = [n for n, s in schemes.items() if s.get("x-amazon-apigateway-authtype")]
    assert schemes[cognito]["name"] == "Authorization"
    assert schemes[cognito]["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    for operations in document["paths"].values():
        for operation in operations.values():
            assert operation["security"] == [{"api_key": [], cognito: []}]


def test_gateway_and_handler_error_shapes_are_documented() -> None:
    document = _committed("items.json")
    schemas = document["components"]["schemas"]
    # DEFAULT_4XX's template: {"message": $context.error.messageString, "type": "..."}
    assert schemas["GatewayError"]["required"] == ["message", "type"]
    # The handler's _error, which BAD_REQUEST_BODY's template mirrors.
    assert schemas["Error"]["required"] == ["message", "statusCode"]
    get = document["paths"]["/items/{id}"]["get"]["responses"]
    assert get["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GatewayError"
    }
    assert get["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_the_stateful_links_run_create_read_replace_delete() -> None:
    paths = _committed("items.json")["paths"]
    created = paths["/items"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in created.values()} == {
        "getItem",
        "replaceItem",
        "deleteItem",
    }
    assert all(link["parameters"] == {"id": "$response.body#/id"} for link in created.values())


def test_the_chat_document_has_an_operation_per_custom_route(synth: Synth) -> None:
    routes = {
        r["Properties"]["RouteKey"]
        for r in synth.template_json(chat.STACK)["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    document = _committed("chat.asyncapi.json")
    assert {"join", "send"} <= routes
    assert {r for r in routes if not r.startswith("$")} <= set(document["operations"])
    assert document["components"]["securitySchemes"]["token"]["in"] == "query"


def test_the_web_document_declares_the_apps_own_error_bodies() -> None:
    document = _committed("web.json")
    responses = document["paths"]["/v1/digests"]["post"]["responses"]
    assert set(responses) == {"200", "400", "413", "415", "422", "500"}
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationErrorResponse"
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
