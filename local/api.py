"""``python -m local api``: the items REST API on http://127.0.0.1:3000/<stage>/..., wired from
the ServerlessApi template.

Each request goes through what API Gateway does before the Lambda, in API Gateway's order: the
route and method set (``AWS::ApiGateway::Resource``/``Method``; anything else is a 403 "Missing
Authentication Token"), the method's authorizer (a Cognito authorizer needs its identity header;
its token is not verified locally, and its claims are read unverified), the API key (the
``x-api-key`` header must carry the local key printed at start), and the request validator
(required parameters, and the body against the method's JSON-schema model). Errors are rendered
with the API's own gateway responses. Then the REST proxy event is built and handed to the real
handler, whose DynamoDB table lives in an in-process moto server, created from the template.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import jsonschema

from .runtime import (
    HOST,
    Function,
    LocalHTTPServer,
    load_function,
    moto_server,
    parser,
    say,
    serve_until_stopped,
    stop_signals,
)
from .template import ACCOUNT, Template, create_table

STACK = "ServerlessApi"
DEFAULT_PORT = 3000
# API Gateway's own message and status for each response type a mode can raise.
_GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters"),
}


GATEWAY_ERRORS = _GATEWAY_ERRORS  # for the OpenAPI writer: the bodies it documents


class GatewayError(Exception):
    def __init__(self, response_type: str, validation: str = "", message: str = "") -> None:
        status, default = _GATEWAY_ERRORS[response_type]
        super().__init__(message or default)
        self.response_type, self.status = response_type, status
        self.message, self.validation = message or default, validation


@dataclass
class Method:
    resource_path: str
    http_method: str
    api_key_required: bool
    authorization: str
    identity_header: str | None
    required_params: list[str]
    body_schema: dict[str, Any] | None
    validate_body: bool
    validate_params: bool
    # Every request parameter (``querystring.limit``...) -> whether it is required, and the
    # authorizer's logical id: what the OpenAPI writer (openapi/items.py) also needs.
    parameters: dict[str, bool] = field(default_factory=dict)
    authorizer_id: str | None = None


@dataclass
class RestApi:
    """The API as the template declares it."""

    stage: str
    methods: dict[tuple[str, str], Method] = field(default_factory=dict)
    gateway_responses: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_template(cls, template: Template) -> RestApi:
        stage = str(template.props(template.one("AWS::ApiGateway::Stage")[0])["StageName"])
        api = cls(stage)
        paths = _resource_paths(template)
        for _, gateway in template.of_type("AWS::ApiGateway::GatewayResponse"):
            props = gateway["Properties"]
            body = props.get("ResponseTemplates", {}).get("application/json")
            if body:
                api.gateway_responses[props["ResponseType"]] = body
        for logical_id, _ in template.of_type("AWS::ApiGateway::Method"):
            props = template.props(logical_id)
            path = paths[_ref_id(props["ResourceId"])]
            validator = (
                template.props(_ref_id(props["RequestValidatorId"]))
                if "RequestValidatorId" in props
                else {}
            )
            model = props.get("RequestModels", {}).get("application/json")
            identity = None
            if "AuthorizerId" in props:
                source = template.props(_ref_id(props["AuthorizerId"])).get("IdentitySource", "")
                identity = str(source).removeprefix("method.request.header.") or None
            api.methods[(path, str(props["HttpMethod"]).upper())] = Method(
                resource_path=path,
                http_method=str(props["HttpMethod"]).upper(),
                api_key_required=bool(props.get("ApiKeyRequired")),
                authorization=str(props.get("AuthorizationType", "NONE")),
                identity_header=identity,
                required_params=[
                    name.removeprefix("method.request.")
                    for name, required in props.get("RequestParameters", {}).items()
                    if required
                ],
                body_schema=template.props(_ref_id(model))["Schema"] if model else None,
                validate_body=bool(validator.get("ValidateRequestBody")),
                validate_params=bool(validator.get("ValidateRequestParameters")),
                parameters={
                    name.removeprefix("method.request."): bool(required)
                    for name, required in props.get("RequestParameters", {}).items()
                },
                authorizer_id=_ref_id(props["AuthorizerId"]) if "AuthorizerId" in props else None,
            )
        return api

    def match(self, method: str, path: str) -> tuple[Method, dict[str, str]]:
        """The method for ``path`` (the stage already removed) and its path parameters."""
        segments = [s for s in path.split("/") if s]
        for (resource_path, http_method), candidate in sorted(
            self.methods.items(), key=lambda kv: kv[0][0].count("{")
        ):
            if http_method not in (method, "ANY"):
                continue
            params = _match(resource_path, segments)
            if params is not None:
                return candidate, params
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN")

    def render(self, error: GatewayError) -> tuple[int, str]:
        body = self.gateway_responses.get(error.response_type) or self.gateway_responses.get(
            "DEFAULT_4XX", '{"message": $context.error.messageString}'
        )
        replacements = {
            "$context.error.messageString": json.dumps(error.message),
            "$context.error.message": json.dumps(error.message)[1:-1],
            "$context.error.responseType": error.response_type,
            "$context.error.validationErrorString": json.dumps(error.validation)[1:-1],
        }
        for name in sorted(replacements, key=len, reverse=True):
            body = body.replace(name, replacements[name])
        return error.status, body


@functools.lru_cache(maxsize=64)
def _validator(schema: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads(schema))


def _ref_id(value: Any) -> str:
    return str(value["Ref"]) if isinstance(value, dict) else str(value)


def _resource_paths(template: Template) -> dict[str, str]:
    resources = {
        lid: template.props(lid) for lid, _ in template.of_type("AWS::ApiGateway::Resource")
    }
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]
            parent = props["ParentId"]
            base = "" if "Fn::GetAtt" in parent else path_of(_ref_id(parent))
            paths[logical_id] = f"{base}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    for logical_id, _ in template.of_type("AWS::ApiGateway::Method"):  # methods on the root
        resource = template.props(logical_id)["ResourceId"]
        if isinstance(resource, dict) and "Fn::GetAtt" in resource:
            paths[json.dumps(resource)] = "/"
    return paths


def _match(resource_path: str, segments: list[str]) -> dict[str, str] | None:
    parts = [p for p in resource_path.split("/") if p]
    params: dict[str, str] = {}
    for i, part in enumerate(parts):
        greedy = re.fullmatch(r"\{(\w+)\+\}", part)
        if greedy:
            if i >= len(segments):
                return None
            params[greedy.group(1)] = "/".join(segments[i:])
            return params
        if i >= len(segments):
            return None
        variable = re.fullmatch(r"\{(\w+)\}", part)
        if variable:
            params[variable.group(1)] = segments[i]
        elif part != segments[i]:
            return None
    return params if len(parts) == len(segments) else None


def _claims(authorization: str) -> dict[str, Any]:
    """A JWT's claims, read WITHOUT verification (locally there is no user pool to verify
    against); anything else is the fixed local user."""
    token = authorization.removeprefix("Bearer ").strip()
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {"sub": "local-user"}
    return claims if isinstance(claims, dict) else {"sub": "local-user"}


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


class Gateway:
    """API Gateway's checks in front of the function, and the proxy event between them."""

    def __init__(self, api: RestApi, function: Function, api_key: str) -> None:
        self.api, self.function, self.api_key = api, function, api_key
        self.api_id = "local"

    def handle(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            return self._handle(request)
        except GatewayError as error:
            status, body = self.api.render(error)
            headers = [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", error.response_type),
            ]
            return status, headers, body.encode()

    def _handle(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        prefix = f"/{self.api.stage}"
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        path = request.path[len(prefix) :] or "/"
        method, path_params = self.api.match(request.method, path)
        headers = {k.lower(): v for k, v in request.headers}
        claims = None
        if method.identity_header:
            value = headers.get(method.identity_header.lower(), "")
            if not value:
                raise GatewayError("UNAUTHORIZED")
            claims = _claims(value)
        if method.api_key_required and not secrets.compare_digest(
            headers.get("x-api-key", ""), self.api_key
        ):
            raise GatewayError("INVALID_API_KEY")
        query: dict[str, list[str]] = {}
        for name, value in request.query:
            query.setdefault(name, []).append(value)
        self._validate(method, request, headers, query, path_params)
        event = self._event(request, method, path, path_params, query, claims)
        response = self.function(event)
        return _http_response(response)

    def _validate(
        self,
        method: Method,
        request: Request,
        headers: dict[str, str],
        query: dict[str, list[str]],
        path_params: dict[str, str],
    ) -> None:
        if method.validate_params:
            present = {
                **{f"querystring.{k}": v for k, v in query.items()},
                **{f"header.{k}": v for k, v in headers.items()},
                **{f"path.{k}": v for k, v in path_params.items()},
            }
            missing = [
                p.split(".", 1)[1]
                for p in method.required_params
                if (p.lower() if p.startswith("header.") else p) not in present
            ]
            if missing:
                raise GatewayError(
                    "BAD_REQUEST_PARAMETERS",
                    message=f"Missing required request parameters: [{', '.join(missing)}]",
                )
        if method.validate_body and method.body_schema is not None:
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                raise GatewayError("BAD_REQUEST_BODY", "[Invalid JSON in request body]") from None
            validator = _validator(json.dumps(method.body_schema, sort_keys=True))
            problems = sorted(e.message for e in validator.iter_errors(body))
            if problems:
                raise GatewayError("BAD_REQUEST_BODY", f"[{', '.join(problems)}]")

    def _event(
        self,
        request: Request,
        method: Method,
        path: str,
        path_params: dict[str, str],
        query: dict[str, list[str]],
        claims: dict[str, Any] | None,
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            multi_headers.setdefault(name, []).append(value)
        try:
            body: str | None = request.body.decode() if request.body else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode(), True
        now = time.time()
        request_id = str(uuid.uuid4())
        headers = {k: v[-1] for k, v in multi_headers.items()}
        return {
            "resource": method.resource_path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": self.api_id,
                "resourceId": "local",
                "resourcePath": method.resource_path,
                "httpMethod": request.method,
                "path": request.path,
                "stage": self.api.stage,
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "domainName": headers.get("Host", HOST),
                "domainPrefix": "local",
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": headers.get("User-Agent"),
                    "apiKey": headers.get("x-api-key") if method.api_key_required else None,
                    "apiKeyId": "local" if method.api_key_required else None,
                },
                **({"authorizer": {"claims": claims}} if claims is not None else {}),
            },
            "body": body,
            "isBase64Encoded": encoded,
        }


def _http_response(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The proxy integration's result as an HTTP response; a malformed one is API Gateway's 502."""
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        error = json.dumps({"message": "Internal server error"}).encode()
        return 502, [("Content-Type", "application/json")], error
    headers = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values if (name, str(v)) not in headers)
    body = str(response.get("body") or "")
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    return int(response["statusCode"]), headers, raw


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# Where local-api serves the API's OpenAPI document: outside the stage, so no route of the API
# can take the path (on AWS every path outside the stage is a 403 too).
OPENAPI_PATH = "/openapi.json"


def make_server(
    gateway: Gateway, port: int, documents: dict[str, bytes] | None = None
) -> ThreadingHTTPServer:
    """The local gateway on ``port``; ``documents`` (path -> JSON, filled in once the port is
    known) are served beside the API, outside its stage."""
    served = documents if documents is not None else {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway's clients get
        # Headers and body go out in two writes: with Nagle on, the body waits for the
        # client's delayed ACK (40 ms on Linux) on every keep-alive response.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=url.path,
                query=parse_qsl(url.query, keep_blank_values=True),
                headers=list(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                source_ip=self.client_address[0],
            )
            if request.method == "GET" and request.path in served:
                status, headers = 200, [("Content-Type", "application/json")]
                body = served[request.path]
            else:
                status, headers, body = gateway.handle(request)
            self.send_response(status, _phrase(status))
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, QUERY...) goes to the gateway too, which answers it with
            # its 403 as API Gateway does, not http.server's HTML 501 (found by Schemathesis).
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # noqa: ARG002
            say(f"{self.command} {self.path} -> {code}")

    return LocalHTTPServer((HOST, port), Handler)


def main(argv: list[str] | None = None) -> int:
    args = parser("api", __doc__.split("\n")[0], DEFAULT_PORT).parse_args(argv)
    template = Template.load(args.cdk_out, STACK)
    api = RestApi.from_template(template)
    table_id, table = template.one("AWS::DynamoDB::Table")
    with moto_server() as endpoint:
        table_name = str(table["Properties"].get("TableName") or f"local-{table_id}")
        template.names[table_id] = table_name
        create_table(boto3.client("dynamodb"), table["Properties"], table_name)
        function_id = template.logical_id_in(
            next(iter(template.of_type("AWS::ApiGateway::Method")))[1]["Properties"]["Integration"],
            "AWS::Lambda::Function",
        )
        function = load_function(template, function_id)
        api_key = "local-" + secrets.token_urlsafe(24)
        gateway = Gateway(api, function, api_key)
        done = stop_signals()
        documents: dict[str, bytes] = {}
        server = make_server(gateway, args.port, documents)
        port = server.server_address[1]
        base = f"http://{HOST}:{port}/{api.stage}"
        from openapi.items import build as build_openapi  # the document of this very template

        documents[OPENAPI_PATH] = json.dumps(build_openapi(template, server=base)).encode()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        say(f"items API ({STACK}: {function_id}, table {table_name} on moto at {endpoint})")
        for (path, verb), method in sorted(api.methods.items()):
            needs = [
                n
                for n, on in (
                    ("x-api-key", method.api_key_required),
                    (method.identity_header, method.identity_header),
                )
                if on
            ]
            say(
                f"  {verb:6} {base}{path}"
                + (f"   needs: {', '.join(str(n) for n in needs)}" if needs else "")
            )
        say(f"OpenAPI document: http://{HOST}:{port}{OPENAPI_PATH}")
        say(f"API key (header x-api-key): {api_key}")
        if any(m.identity_header for m in api.methods.values()):
            say("Cognito authorizer: any Authorization value is accepted locally (not verified)")
        say(f"ready: {base}")

        def stop() -> None:
            server.shutdown()
            server.server_close()

        serve_until_stopped(done, stop)
    return 0
