"""AsyncAPI 3 for the chat's WebSocket frames (WebSocketApi), from its synthesized template and the
handler's frame rules.

From the template: the API's routes and its route selection expression (which field of a frame
picks the route), the ``$connect`` authorizer's identity source (the token), and the stage. From
the handler (``lambda_src/websocket_api/chat/frames.py``): each action's fields and limits, and
the frames the service sends back. A template route the handler has no action for is an error.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from local.template import ROOT, Template, TemplateError

STACK = "WebSocketApi"
ASYNCAPI_VERSION = "3.0.0"
HANDLER_ROOT = ROOT / "lambda_src" / "websocket_api"


def _frames() -> Any:
    if str(HANDLER_ROOT) not in sys.path:
        sys.path.insert(0, str(HANDLER_ROOT))
    return importlib.import_module("chat.frames")


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required if required is not None else list(properties),
        "properties": properties,
    }


def _client_frames(frames: Any) -> dict[str, dict[str, Any]]:
    """One JSON schema per action the handler accepts; strict, as ``frames.parse`` is."""
    fields = {
        "room": {"type": "string", "pattern": f"^{frames._ROOM.pattern}$"},
        "text": {"type": "string", "minLength": 1, "maxLength": frames.MAX_TEXT_CHARS},
    }
    schemas = {}
    for action, (checks, _) in sorted(frames.ACTIONS.items()):
        missing = sorted(set(checks) - set(fields))
        if missing:
            raise TemplateError(f"{STACK}: action {action!r} has fields {missing} not described")
        schemas[action] = _object(
            {"action": {"const": action}, **{name: fields[name] for name in checks}}
        )
    return schemas


def _server_frames(frames: Any) -> dict[str, dict[str, Any]]:
    """What the service sends: route responses to the sender, and room messages to the others
    (chat/app.py on_join, on_send, and frames.error)."""
    room = {"type": "string"}
    return {
        "joined": _object({"type": {"const": "joined"}, "room": room}),
        "sent": _object(
            {
                "type": {"const": "sent"},
                "room": room,
                "delivered": {"type": "integer", "minimum": 0},
            }
        ),
        "error": _object(
            {
                "type": {"const": "error"},
                "status": {"type": "integer", "enum": [400, 409, 410, 413, 422, 503]},
                "message": {"type": "string"},
            }
        ),
        "message": _object(
            {
                "type": {"const": "message"},
                "room": room,
                "from": {"type": "string"},
                "text": {"type": "string", "maxLength": frames.MAX_TEXT_CHARS},
                "sentAt": {"type": "string", "format": "date-time"},
            }
        ),
    }


def build(template: Template, *, server: str | None = None) -> dict[str, Any]:
    api_id, api = template.one("AWS::ApiGatewayV2::Api", {"ProtocolType": "WEBSOCKET"})
    selection = str(api["Properties"]["RouteSelectionExpression"])
    stage = str(template.props(template.one("AWS::ApiGatewayV2::Stage")[0])["StageName"])
    routes = {
        str(props["RouteKey"]): props
        for props in (
            template.props(lid) for lid, _ in template.of_type("AWS::ApiGatewayV2::Route")
        )
    }
    frames = _frames()
    client = _client_frames(frames)
    custom = sorted(key for key in routes if not key.startswith("$"))
    unknown = [key for key in custom if key not in client]
    if unknown:
        raise TemplateError(f"{STACK}: routes {unknown} have no action in chat/frames.py")
    query: list[str] = []
    connect = routes.get("$connect", {})
    if "AuthorizerId" in connect:
        sources = template.props(str(connect["AuthorizerId"]["Ref"])).get("IdentitySource", [])
        query = [
            s.removeprefix("route.request.querystring.") for s in sources if "querystring" in s
        ]
    field = selection.removeprefix("$request.body.")
    messages: dict[str, Any] = {}
    for name, schema in {**client, **_server_frames(frames)}.items():
        messages[name] = {
            "name": name,
            "contentType": "application/json",
            "payload": schema,
        }
    channel_ref = {"$ref": "#/channels/chat"}

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/channels/chat/messages/{name}"}

    operations: dict[str, Any] = {}
    for action in sorted(client):
        routed = action if action in routes else "$default"
        operations[action] = {
            "action": "send",
            "channel": channel_ref,
            "summary": f"route {routed} ({selection} == {action!r}), answered to the sender",
            "messages": [ref(action)],
            "reply": {
                "channel": channel_ref,
                "messages": [
                    ref(r)
                    for r in ("joined", "sent", "error")
                    if r == {"join": "joined", "send": "sent"}.get(action) or r == "error"
                ],
            },
        }
    operations["receiveMessage"] = {
        "action": "receive",
        "channel": channel_ref,
        "summary": "a send from another member of this connection's room",
        "messages": [ref("message")],
    }
    host, _, pathname = (server or "").partition("/")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": str(api["Properties"].get("Name", api_id)),
            "version": stage,
            "description": (
                f"{api['Properties'].get('Description', '')}: frames are JSON objects (UTF-8, "
                f"at most {frames.MAX_FRAME_BYTES} bytes, strict: no unknown fields, no NaN, no "
                f"lone surrogates) whose {field!r} field picks the route; a bad frame is answered "
                "with an error frame and changes nothing."
            ),
        },
        "servers": {
            "aws": {
                "host": host or "{apiId}.execute-api.{region}.amazonaws.com",
                "protocol": "wss" if not server else "ws",
                "pathname": f"/{pathname or stage}",
                **(
                    {}
                    if server
                    else {
                        "variables": {
                            "apiId": {"default": "apiId"},
                            "region": {"default": "us-east-1"},
                        }
                    }
                ),
                **({"security": [{"$ref": "#/components/securitySchemes/token"}]} if query else {}),
            }
        },
        "channels": {
            "chat": {
                "address": "/",
                "messages": messages,
                **(
                    {
                        "bindings": {
                            "ws": {
                                "query": _object({n: {"type": "string"} for n in query}),
                            }
                        }
                    }
                    if query
                    else {}
                ),
            }
        },
        "operations": operations,
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "httpApiKey",
                    "name": query[0],
                    "in": "query",
                    "description": "A connect token signed with the stack's secret "
                    "(`python -m local chat token --user <name>` locally)",
                }
            }
            if query
            else {}
        },
    }
