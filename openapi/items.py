"""OpenAPI 3 for the items REST API (ServerlessApi), from its synthesized template.

What API Gateway's own export (``get-export --export-type oas30``) gives for the stage: the
resource tree and methods, each method's request parameters (``RequestParameters``, required or
not), its request model (an ``AWS::ApiGateway::Model`` schema) as a component, the API-key and
Cognito security schemes, and the bodies of the API's gateway responses. The template is read
with ``local.api.RestApi``, the reading the local gateway runs on, so the document and
``local-api`` cannot disagree.

A proxy integration declares no method responses, so what the handler answers is added here:
the item, the page of items, and its error body ``{"statusCode": N, "message": "..."}``
(``lambda_src/serverless_api/items/app.py``: ``_error``, ``service.to_response``). Schemathesis
checks each of them against the running handler (``tests/openapi``). The operations carry
``links`` (create -> read -> replace -> delete) for stateful tests and client generators.
"""

from __future__ import annotations

import json
import re
from typing import Any

from local.api import GatewayError, Method, RestApi
from local.template import Template, TemplateError

STACK = "ServerlessApi"
OPENAPI_VERSION = "3.0.1"  # what API Gateway exports
API_KEY = "api_key"  # the export's name for the x-api-key scheme
ID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# The handler's body for every request it refuses (items/app.py _error).
HANDLER_ERROR = {
    "type": "object",
    "required": ["message", "statusCode"],
    "properties": {"message": {"type": "string"}, "statusCode": {"type": "integer"}},
}
# The status API Gateway answers each gateway response type with (API Gateway developer guide,
# "Gateway response types for API Gateway"); the body is the type's template, else DEFAULT_4XX's
# or DEFAULT_5XX's.
GATEWAY_RESPONSES = {
    "400": ["BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS"],
    "401": ["UNAUTHORIZED"],
    "403": ["MISSING_AUTHENTICATION_TOKEN", "INVALID_API_KEY", "ACCESS_DENIED"],
    "429": ["THROTTLED", "QUOTA_EXCEEDED"],
    "5XX": ["DEFAULT_5XX"],
}
# Per operation of the handler: its id, success statuses and bodies, and the 4xx it answers.
_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/items"): {
        "id": "createItem",
        "ok": {"201": "Item", "200": "Item"},
        "errors": ["400", "409", "413", "415", "422"],
    },
    ("GET", "/items"): {"id": "listItems", "ok": {"200": "ItemPage"}, "errors": ["400"]},
    ("GET", "/items/{id}"): {"id": "getItem", "ok": {"200": "Item"}, "errors": ["400", "404"]},
    ("PUT", "/items/{id}"): {
        "id": "replaceItem",
        "ok": {"200": "Item"},
        "errors": ["400", "404", "409", "413", "415", "422"],
    },
    ("DELETE", "/items/{id}"): {"id": "deleteItem", "ok": {"204": None}, "errors": ["400", "404"]},
}
_DESCRIPTIONS = {
    "200": "OK",
    "201": "Created",
    "204": "Deleted",
    "400": "A parameter or the body is malformed (the gateway's validator or the handler)",
    "401": "No Cognito token (the gateway's authorizer)",
    "403": "No or a wrong API key, or no such resource (the gateway)",
    "404": "No such item",
    "409": "A stale version, or an Idempotency-Key reused with another body",
    "413": "The body is over 16 KiB",
    "415": "The body is not declared as application/json (UTF-8)",
    "422": "The body is JSON of the wrong shape",
    "429": "Throttled, or over the day's quota (the usage plan)",
    "500": "An internal error in the handler",
    "503": "The table is busy: retry after Retry-After seconds",
    "5XX": "The integration failed (the gateway)",
}
# Query parameters the handler reads, typed as it checks them (items/app.py list_items).
_QUERY_SCHEMAS = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    "next_token": {"type": "string", "minLength": 1},
}
_HEADERS = {
    ("POST", "/items"): [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "A retried POST with the same key and body returns the same item",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
        }
    ]
}
_ID_FROM_BODY = {"id": "$response.body#/id"}
_LINKS = {
    "createItem": ("getItem", "replaceItem", "deleteItem"),
    "getItem": ("replaceItem", "deleteItem"),
    "replaceItem": ("getItem", "deleteItem"),
}


def _schema(model: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema (draft 4) as an OpenAPI 3.0 schema, as the export writes it."""
    return {k: v for k, v in model.items() if k not in ("$schema", "title")}


def _shape(value: Any) -> dict[str, Any]:
    """The schema of a rendered gateway response body: its fields and their JSON types."""
    if isinstance(value, dict):
        return {
            "type": "object",
            "required": sorted(value),
            "properties": {k: _shape(v) for k, v in sorted(value.items())},
        }
    return {"type": {bool: "boolean", int: "integer", str: "string"}[type(value)]}


def _gateway_body(api: RestApi, response_type: str) -> dict[str, Any]:
    """The schema of a gateway response type's body, rendered from the API's own templates."""
    error = GatewayError("UNAUTHORIZED", validation="a problem", message="a message")
    error.response_type = response_type  # picks the template; DEFAULT_4XX when it has none
    _, body = api.render(error)
    return _shape(json.loads(body))


class _Schemas(dict[str, dict[str, Any]]):
    """Component schemas, each shape under one name: the first one's."""

    def ref(self, schema: dict[str, Any], name: str) -> dict[str, str]:
        for existing, known in self.items():
            if known == schema:
                return {"$ref": f"#/components/schemas/{existing}"}
        self[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}


def _item(create: dict[str, Any]) -> dict[str, Any]:
    """The handler's item: the fields a client sends, each one always present but
    ``expires_at``, plus the server's (items/service.py to_response)."""
    fields = {k: v for k, v in create["properties"].items()}
    return {
        "type": "object",
        "required": [
            "id",
            *sorted(k for k in fields if k != "expires_at"),
            "version",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "string", "pattern": ID_PATTERN},
            **fields,
            "version": {"type": "integer", "minimum": 1},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    }


def _parameters(method: Method) -> list[dict[str, Any]]:
    """Path parameters (always required), then the method's query and header parameters."""
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        | ({"schema": {"type": "string", "pattern": ID_PATTERN}} if name == "id" else {})
        for name in re.findall(r"\{(\w+)\+?\}", method.resource_path)
    ]
    for name, required in sorted(method.parameters.items()):
        where, _, key = name.partition(".")
        if where in ("querystring", "header"):
            parameters.append(
                {
                    "name": key,
                    "in": "query" if where == "querystring" else "header",
                    "required": required,
                    "schema": _QUERY_SCHEMAS.get(key, {"type": "string"}),
                }
            )
    return parameters + _HEADERS.get((method.http_method, method.resource_path), [])


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(
    spec: dict[str, Any], gateway: dict[str, list[dict[str, str]]], error: dict[str, str]
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, body in spec["ok"].items():
        replay = spec["id"] == "createItem" and status == "200"
        response: dict[str, Any] = {
            "description": "The item an earlier POST with this Idempotency-Key and body created"
            if replay
            else _DESCRIPTIONS[status]
        }
        if body:
            response["content"] = _json({"$ref": f"#/components/schemas/{body}"})
        if spec["id"] == "createItem":
            response["headers"] = {
                "Location": {"description": "/items/{id}", "schema": {"type": "string"}}
            }
        links = {
            f"{target[0].upper()}{target[1:]}": {
                "operationId": target,
                "parameters": _ID_FROM_BODY,
            }
            for target in _LINKS.get(spec["id"], ())
        }
        if links:
            response["links"] = links
        responses[status] = response
    for status in sorted({*spec["errors"], *gateway, "500", "503"}):
        bodies = ([error] if status in spec["errors"] or status in ("500", "503") else []) + [
            g for g in gateway.get(status, []) if g not in ([error] if status != "5XX" else [])
        ]
        unique = [b for i, b in enumerate(bodies) if b not in bodies[:i]]
        schema = unique[0] if len(unique) == 1 else {"anyOf": unique}
        response = {"description": _DESCRIPTIONS[status], "content": _json(schema)}
        if status == "503":
            response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        responses[status] = response
    return responses


def build(template: Template, *, server: str | None = None) -> dict[str, Any]:
    """The OpenAPI document of the stack's REST API; ``server`` replaces the AWS URL."""
    api = RestApi.from_template(template)
    rest_api = template.props(template.one("AWS::ApiGateway::RestApi")[0])
    schemas = _Schemas()
    error = schemas.ref(HANDLER_ERROR, "Error")
    gateway = {
        status: [schemas.ref(_gateway_body(api, t), "GatewayError") for t in types]
        for status, types in GATEWAY_RESPONSES.items()
    }
    authorizers = {
        logical_id: str(resource["Properties"]["Name"])
        for logical_id, resource in template.of_type("AWS::ApiGateway::Authorizer")
    }
    security_schemes: dict[str, Any] = {
        API_KEY: {"type": "apiKey", "name": "x-api-key", "in": "header"}
    }
    for logical_id, name in authorizers.items():
        props = template.props(logical_id)
        security_schemes[name] = {
            "type": "apiKey",
            "name": str(props["IdentitySource"]).removeprefix("method.request.header."),
            "in": "header",
            "description": "A Cognito user pool token (not verified by local-api)",
            "x-amazon-apigateway-authtype": str(props["Type"]).lower(),
        }
    paths: dict[str, dict[str, Any]] = {}
    for (path, verb), method in sorted(api.methods.items()):
        spec = _OPERATIONS.get((verb, path))
        if spec is None:
            raise TemplateError(f"{STACK}: {verb} {path} is not an operation the handler serves")
        operation: dict[str, Any] = {"operationId": spec["id"], "parameters": _parameters(method)}
        if method.body_schema is not None:
            title = str(method.body_schema.get("title") or spec["id"])
            operation["requestBody"] = {
                "required": True,
                "content": _json(schemas.ref(_schema(method.body_schema), title)),
            }
            if title == "CreateItem":
                schemas["Item"] = _item(_schema(method.body_schema))
        operation["responses"] = _responses(spec, gateway, error)
        requirement: dict[str, list[str]] = {API_KEY: []} if method.api_key_required else {}
        if method.authorizer_id in authorizers:
            requirement[authorizers[method.authorizer_id]] = []
        if requirement:
            operation["security"] = [requirement]
        paths.setdefault(path, {})[verb.lower()] = operation
    schemas["ItemPage"] = {
        "type": "object",
        "required": ["items", "next_token"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "next_token": {"type": "string", "nullable": True},
        },
    }
    variables = {
        "restApiId": {"default": "restApiId"},
        "region": {"default": "us-east-1"},
        "basePath": {"default": api.stage},
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": str(rest_api.get("Name", STACK)),
            "description": str(rest_api.get("Description", "")),
            "version": api.stage,
        },
        "servers": [
            {"url": server}
            if server
            else {
                "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{basePath}",
                "variables": variables,
            }
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": security_schemes,
        },
    }
