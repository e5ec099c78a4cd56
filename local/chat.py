"""``python -m local chat``: the chat on ws://127.0.0.1:3001/<stage>, wired from the WebSocketApi
template.

A connection runs what API Gateway runs: ``$connect``'s authorizer (when the route has one; a
missing identity source is a 401 without calling it, a Deny a 403), then the ``$connect``
route; each frame is routed by the API's route selection expression (``$request.body.action``)
to its route or ``$default``, and a two-way route's response goes back to the sender; a closed
socket runs ``$disconnect``. The functions' ``post_to_connection`` reach the sockets through a
local management endpoint (the callback URL in their environment is pointed at it), which answers
410 GoneException for a connection that is gone, as AWS does.

Tokens: the stack's token secret is created in moto with a random value; ``python -m local chat
token --user alice`` (or GET http://127.0.0.1:3001/token?user=alice) mints one with the chat's
own ``tokens.sign``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import boto3
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .runtime import (
    HOST,
    LISTEN_BACKLOG,
    Function,
    LocalHTTPServer,
    load_function,
    moto_server,
    parser,
    say,
)
from .template import ACCOUNT, REGION, Template, create_table

STACK = "WebSocketApi"
DEFAULT_PORT = 3001
TOKEN_LIFETIME_SECONDS = 3600


@dataclass
class Route:
    key: str
    function: Function
    two_way: bool
    authorizer: Function | None = None
    identity_sources: list[str] = field(default_factory=list)


@dataclass
class Connection:
    id: str
    socket: ServerConnection
    connected_at: int
    source_ip: str
    authorizer: dict[str, Any] | None


class Chat:
    """API Gateway's WebSocket side: routes, the authorizer, and the management API."""

    def __init__(self, stage: str, routes: dict[str, Route], selection: str) -> None:
        self.stage, self.routes, self.selection = stage, routes, selection
        self.connections: dict[str, Connection] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.mint: Callable[[str], str] | None = None

    # -- events ------------------------------------------------------------------------------
    def _context(self, route: str, event_type: str, connection_id: str, **extra: Any) -> Any:
        now = time.time()
        return {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection_id,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "messageDirection": "IN",
            "stage": self.stage,
            "requestTimeEpoch": int(now * 1000),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "domainName": HOST,
            "apiId": "local",
            **extra,
        }

    async def _invoke(self, function: Function, event: dict[str, Any]) -> Any:
        return await asyncio.to_thread(function, event)

    # -- $connect ----------------------------------------------------------------------------
    async def process_request(self, socket: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/token":
            return self._token(socket, url.query)
        if url.path.rstrip("/") != f"/{self.stage}":
            return socket.respond(404, "Not Found\n")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            # Not a handshake: running $connect would record a connection that never opens.
            return socket.respond(426, "Upgrade Required\n")
        headers = {k: v for k, v in request.headers.raw_items()}
        query = parse_qsl(url.query, keep_blank_values=True)
        connection_id = secrets.token_urlsafe(12)
        source_ip = str(socket.remote_address[0])
        context = self._context(
            "$connect",
            "CONNECT",
            connection_id,
            connectedAt=int(time.time() * 1000),
            identity={"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
        )
        event: dict[str, Any] = {
            "headers": headers,
            "multiValueHeaders": {k: request.headers.get_all(k) for k in headers},
            "queryStringParameters": dict(query) or None,
            "multiValueQueryStringParameters": {k: v for k, v in parse_qs(url.query).items()}
            or None,
            "stageVariables": None,
            "isBase64Encoded": False,
        }
        route = self.routes.get("$connect")
        authorizer_context = None
        if route and route.authorizer:
            if not all(
                _identity(source, headers, dict(query)) for source in route.identity_sources
            ):
                return socket.respond(401, "Unauthorized\n")
            arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/{self.stage}/$connect"
            decision = await self._invoke(
                route.authorizer,
                {**event, "type": "REQUEST", "methodArn": arn, "requestContext": context},
            )
            statements = decision.get("policyDocument", {}).get("Statement", [])
            if not statements or any(s.get("Effect") != "Allow" for s in statements):
                return socket.respond(403, "Forbidden\n")
            authorizer_context = {
                "principalId": decision.get("principalId"),
                **(decision.get("context") or {}),
            }
            context["authorizer"] = authorizer_context
        if route:
            response = await self._invoke(route.function, {**event, "requestContext": context})
            if not 200 <= int((response or {}).get("statusCode", 200)) < 300:
                return socket.respond(int(response["statusCode"]), "Connection refused\n")
        self.connections[connection_id] = Connection(
            connection_id, socket, context["connectedAt"], source_ip, authorizer_context
        )
        socket.local_connection_id = connection_id  # type: ignore[attr-defined]
        return None

    def _token(self, socket: ServerConnection, query: str) -> Response:
        user = dict(parse_qsl(query)).get("user", "")
        if self.mint is None:
            return socket.respond(501, "this stack's token source cannot be minted locally\n")
        try:
            return socket.respond(200, self.mint(user) + "\n")
        except ValueError as err:
            return socket.respond(400, f"{err}\n")

    # -- frames and $disconnect --------------------------------------------------------------
    async def handler(self, socket: ServerConnection) -> None:
        connection_id: str = socket.local_connection_id  # type: ignore[attr-defined]
        connection = self.connections[connection_id]
        try:
            async for message in socket:
                await self._message(connection, message)
        except ConnectionClosed:
            pass
        finally:
            self.connections.pop(connection_id, None)
            route = self.routes.get("$disconnect")
            if route:
                code = socket.close_code or 1006
                context = self._context(
                    "$disconnect",
                    "DISCONNECT",
                    connection_id,
                    connectedAt=connection.connected_at,
                    disconnectStatusCode=code,
                    identity={"sourceIp": connection.source_ip},
                )
                if connection.authorizer:
                    context["authorizer"] = connection.authorizer
                await self._invoke(
                    route.function,
                    {"requestContext": context, "headers": {}, "isBase64Encoded": False},
                )

    async def _message(self, connection: Connection, message: str | bytes) -> None:
        body = message if isinstance(message, str) else message.decode(errors="replace")
        route = self.routes.get(_select(self.selection, body)) or self.routes.get("$default")
        if route is None:
            await connection.socket.send(
                json.dumps({"message": "Forbidden", "connectionId": connection.id})
            )
            return
        context = self._context(
            route.key,
            "MESSAGE",
            connection.id,
            messageId=secrets.token_urlsafe(8),
            connectedAt=connection.connected_at,
            identity={"sourceIp": connection.source_ip},
        )
        if connection.authorizer:
            context["authorizer"] = connection.authorizer
        event = {"requestContext": context, "body": body, "isBase64Encoded": False}
        try:
            response = await self._invoke(route.function, event)
        except Exception as err:
            say(f"{route.key}: function failed: {err!r}")
            await connection.socket.send(
                json.dumps({"message": "Internal server error", "connectionId": connection.id})
            )
            return
        if route.two_way and isinstance(response, dict) and response.get("body") is not None:
            await connection.socket.send(str(response["body"]))

    # -- the management API ------------------------------------------------------------------
    def post(self, connection_id: str, data: bytes) -> bool:
        connection = self.connections.get(connection_id)
        if connection is None or self.loop is None:
            return False
        try:
            text = data.decode()
        except UnicodeDecodeError:
            payload: str | bytes = data
        else:
            payload = text
        future = asyncio.run_coroutine_threadsafe(connection.socket.send(payload), self.loop)
        try:
            future.result(timeout=5)
        except (ConnectionClosed, TimeoutError):
            return False
        return True

    def close(self, connection_id: str) -> bool:
        connection = self.connections.get(connection_id)
        if connection is None or self.loop is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.socket.close(), self.loop).result(timeout=5)
        return True


def _identity(source: str, headers: dict[str, str], query: dict[str, str]) -> bool:
    if source.startswith("route.request.querystring."):
        return bool(query.get(source.removeprefix("route.request.querystring.")))
    if source.startswith("route.request.header."):
        name = source.removeprefix("route.request.header.").lower()
        return any(k.lower() == name and v for k, v in headers.items())
    return True  # stage variables and context sources are always present locally


def _select(expression: str, body: str) -> str:
    """The route key ``$request.body.<path>`` picks from a frame, or "" for ``$default``."""
    if not expression.startswith("$request.body."):
        return ""
    try:
        value: Any = json.loads(body)
    except ValueError:
        return ""
    for part in expression.removeprefix("$request.body.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def management_server(chat: Chat) -> ThreadingHTTPServer:
    """``POST|GET|DELETE /<stage>/@connections/<id>``, as ``apigatewaymanagementapi`` calls it."""
    prefix = f"/{chat.stage}/@connections/"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # see local.api: no 40 ms delayed-ACK stall per post

        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if status == 410:
                self.send_header("x-amzn-ErrorType", "GoneException")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _id(self) -> str | None:
            path = urlsplit(self.path).path
            return path.removeprefix(prefix) if path.startswith(prefix) else None

        def _gone(self) -> None:
            self._reply(410, {"__type": "GoneException", "message": "Connection is gone"})

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            connection_id = self._id()
            if connection_id is None:
                self._reply(404, {"message": "Not Found"})
            elif chat.post(connection_id, data):
                self._reply(200)
            else:
                self._gone()

        def do_GET(self) -> None:
            connection = chat.connections.get(self._id() or "")
            if connection is None:
                self._gone()
                return
            self._reply(
                200,
                {
                    "connectedAt": time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(connection.connected_at / 1000)
                    ),
                    "identity": {"sourceIp": connection.source_ip},
                },
            )

        def do_DELETE(self) -> None:
            if chat.close(self._id() or ""):
                self._reply(204)
            else:
                self._gone()

        def log_message(self, *_: Any) -> None:
            pass

    return LocalHTTPServer((HOST, 0), Handler)


def _integration_function(template: Template, route_props: dict[str, Any]) -> str:
    integration_id = template.logical_id_in(route_props["Target"], "AWS::ApiGatewayV2::Integration")
    return template.logical_id_in(
        template.props(integration_id)["IntegrationUri"], "AWS::Lambda::Function"
    )


def _create_secrets(template: Template) -> dict[str, str]:
    """Each secret of the stack, created in moto with a random value of its generated shape."""
    values = {}
    client = boto3.client("secretsmanager")
    for logical_id, resource in template.of_type("AWS::SecretsManager::Secret"):
        generate = resource["Properties"].get("GenerateSecretString", {})
        alphabet = string.ascii_letters + string.digits
        if not generate.get("ExcludePunctuation"):
            alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
        value = "".join(
            secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32)))
        )
        arn = client.create_secret(Name=f"local-{logical_id}", SecretString=value)["ARN"]
        template.names[logical_id] = arn
        values[logical_id] = value
    return values


def serve_chat(template: Template, port: int) -> int:
    api_id, api = template.one("AWS::ApiGatewayV2::Api", {"ProtocolType": "WEBSOCKET"})
    stage = str(template.one("AWS::ApiGatewayV2::Stage")[1]["Properties"]["StageName"])
    with moto_server() as endpoint:
        for table_id, table in template.of_type("AWS::DynamoDB::Table"):
            template.names[table_id] = f"local-{table_id}"
            create_table(boto3.client("dynamodb"), table["Properties"], f"local-{table_id}")
        secret_values = _create_secrets(template)
        chat = Chat(stage, {}, str(api["Properties"].get("RouteSelectionExpression", "")))
        management = management_server(chat)
        callback = f"http://{HOST}:{management.server_address[1]}/{stage}"
        template.names[api_id] = "local"
        functions: dict[str, Function] = {}

        def function(logical_id: str) -> Function:
            if logical_id not in functions:
                # An environment value built from the API itself is its callback URL.
                overrides = {
                    name: callback
                    for name, value in template.props(logical_id)
                    .get("Environment", {})
                    .get("Variables", {})
                    .items()
                    if f'"{api_id}"' in json.dumps(value)
                }
                functions[logical_id] = load_function(template, logical_id, overrides)
            return functions[logical_id]

        two_way = {
            template.logical_id_in(r["Properties"]["RouteId"], "AWS::ApiGatewayV2::Route")
            for _, r in template.of_type("AWS::ApiGatewayV2::RouteResponse")
        }
        authorizer_ids = []
        for route_id, resource in template.of_type("AWS::ApiGatewayV2::Route"):
            props = resource["Properties"]
            route = Route(
                props["RouteKey"],
                function(_integration_function(template, props)),
                route_id in two_way,
            )
            if "AuthorizerId" in props:
                authorizer_id = template.logical_id_in(
                    props["AuthorizerId"], "AWS::ApiGatewayV2::Authorizer"
                )
                authorizer = template.props(authorizer_id)
                function_id = template.logical_id_in(
                    authorizer["AuthorizerUri"], "AWS::Lambda::Function"
                )
                route.authorizer = function(function_id)
                route.identity_sources = list(authorizer.get("IdentitySource", []))
                authorizer_ids.append(function_id)
            chat.routes[route.key] = route
        chat.mint = _minter(template, authorizer_ids, secret_values)
        return asyncio.run(_serve(chat, management, port, endpoint))


def _minter(
    template: Template, authorizer_ids: list[str], secret_values: dict[str, str]
) -> Callable[[str], str] | None:
    """Tokens signed as the stack's authorizer expects: with its secret, by its own module."""
    for function_id in authorizer_ids:
        variables = template.props(function_id).get("Environment", {}).get("Variables", {})
        for secret_id, value in secret_values.items():
            if any(f'"{secret_id}"' in json.dumps(v) for v in variables.values()):
                _, handler = template.function_code(function_id)
                package = handler.split(".")[0]
                tokens = importlib.import_module(f"{package}.tokens")
                key = value.encode()
                return lambda user: str(
                    tokens.sign(key, user, int(time.time()) + TOKEN_LIFETIME_SECONDS)
                )
    return None


async def _serve(chat: Chat, management: ThreadingHTTPServer, port: int, endpoint: str) -> int:
    import signal

    chat.loop = asyncio.get_running_loop()
    threading.Thread(target=management.serve_forever, daemon=True).start()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        chat.loop.add_signal_handler(signum, stop.set)
    async with serve(
        chat.handler, HOST, port, process_request=chat.process_request, backlog=LISTEN_BACKLOG
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        routes = ", ".join(sorted(chat.routes))
        say(f"chat ({STACK}: routes {routes}; DynamoDB on moto at {endpoint})")
        say(
            f"management endpoint (the functions' callback URL): http://{HOST}:{management.server_address[1]}/{chat.stage}"
        )
        if chat.mint:
            say(f"token for a user: python -m local chat token --user alice --port {bound}")
            say(f"connect: ws://{HOST}:{bound}/{chat.stage}?token=<token>")
        say(f"ready: ws://{HOST}:{bound}/{chat.stage}")
        await stop.wait()
        say("stopping ...")
        server.close()
    management.shutdown()
    management.server_close()
    say("stopped")
    return 0


def token(argv: list[str]) -> int:
    args = parser(
        "chat token", "Print a connect token for a user of a running local chat.", DEFAULT_PORT
    )
    args.add_argument("--user", required=True)
    options = args.parse_args(argv)
    # Quoted: a space, "+", "&" or "=" in the name must reach the minter as typed, not split
    # the query (--user "a&admin=1" would otherwise mint a token for "a").
    query = urlencode({"user": options.user})
    url = f"http://{HOST}:{options.port}/token?{query}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(response.read().decode().strip())
    except urllib.error.HTTPError as err:
        reason = err.read().decode().strip() or err.reason
        print(f"error: --user {options.user!r}: {reason}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[2:] if argv is None else argv)
    if argv[:1] == ["token"]:
        return token(argv[1:])
    args = parser("chat", __doc__.split("\n")[0], DEFAULT_PORT).parse_args(argv)
    return serve_chat(Template.load(args.cdk_out, STACK), args.port)
