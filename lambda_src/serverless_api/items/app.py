"""REST items service: ``POST/GET /items``, ``GET/PUT/DELETE /items/{id}``.

Every error is a JSON body ``{"statusCode": N, "message": "..."}`` with a 4xx status that says
what to fix; nothing escapes to API Gateway as a 502. Configuration comes from the environment
the construct sets: ``TABLE_NAME``, ``ALLOWED_ORIGINS``, and Powertools' own variables.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    RequestEntityTooLargeError,
    ServiceError,
    ServiceUnavailableError,
)
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from . import clients, service, strict_json
from .tracing import create_tracer

if TYPE_CHECKING:
    from pydantic import BaseModel

MAX_BODY_BYTES = 16 * 1024
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}

logger = Logger()
# The X-Ray SDK only when tracing is on, patching only botocore: the one library called here.
tracer = create_tracer(patch_modules=("botocore",))
metrics = Metrics()
# Short timeouts and few retries: a slow DynamoDB call fails inside the function's 10 s budget as
# a JSON 503 the client can retry, instead of a Lambda timeout that API Gateway turns into a 5xx
# with no body. Worst case: 3 attempts x (1 s connect + 2 s read) plus standard-mode backoff.
_DYNAMODB_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 3}
)
table = service.Table(
    clients.session("dynamodb").client("dynamodb", config=_DYNAMODB_CONFIG),
    os.environ["TABLE_NAME"],
)

_origins = [o for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o]
app = APIGatewayRestResolver(
    cors=CORSConfig(allow_origin=_origins[0], extra_origins=_origins[1:], max_age=300)
    if _origins
    else None,
)

Model = TypeVar("Model", bound="BaseModel")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"statusCode": status, "message": message}),
        headers=headers,
    )


def _require_json_content_type() -> None:
    """415 unless the body is declared UTF-8 JSON. API Gateway checks its request model only
    against JSON bodies, so a body sent as anything else reaches the function unchecked.
    No Content-Type at all passes: API Gateway validates such a body as JSON too."""
    value = app.current_event.headers.get("Content-Type")
    if value is None:
        return
    media_type, *params = (part.strip().lower() for part in value.split(";"))
    charsets = [p.partition("=")[2].strip('" ') for p in params if p.startswith("charset")]
    if media_type != "application/json" or any(c not in ("utf-8", "utf8") for c in charsets):
        raise ServiceError(415, f"Content-Type must be application/json (UTF-8), not {value!r}")


def _parse(model: type[Model]) -> Model:
    """The request body as ``model``, or a 4xx that names the problem."""
    from pydantic import ValidationError  # imported with the models, by the write routes only

    _require_json_content_type()
    body = app.current_event.body or ""
    try:
        raw = (
            base64.b64decode(body, validate=True)
            if app.current_event.is_base64_encoded
            else body.encode()
        )
    except (binascii.Error, ValueError):
        raise BadRequestError("body is marked base64 but is not valid base64") from None
    if len(raw) > MAX_BODY_BYTES:
        raise RequestEntityTooLargeError(f"body exceeds {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise BadRequestError("a JSON body is required")
    try:
        data = strict_json.loads(raw)
    except strict_json.InvalidJSON as err:
        raise BadRequestError(f"body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise BadRequestError("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()
        )
        raise ServiceError(422, f"invalid item: {problems}") from None


def _not_found(item_id: str) -> ServiceError:
    # Not NotFoundError: the resolver routes that to the unknown-route handler below.
    return ServiceError(404, f"item {item_id} not found")


ID_ERROR = "id must be a UUID such as 3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f"


def _item_id(item_id: str) -> str:
    if not service.is_item_id(item_id):
        raise BadRequestError(ID_ERROR)
    return item_id


def _query_params(allowed: set[str]) -> dict[str, str]:
    params = dict(app.current_event.query_string_parameters or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequestError(f"unknown query parameter(s): {', '.join(unknown)}")
    return params


@app.post("/items")
@tracer.capture_method
def create_item() -> Response[str]:
    from .models import CreateItem  # pydantic: only the write routes pay for importing it

    fields = _parse(CreateItem)
    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get(
        "idempotency-key"
    )
    # Printable ASCII, as an HTTP structured-field string: a lone surrogate (a directly invoked
    # function can be sent one) would make the key's uuid5() raise.
    if key is not None and not (1 <= len(key) <= 128 and key.isascii() and key.isprintable()):
        raise BadRequestError("Idempotency-Key must be 1 to 128 printable ASCII characters")
    try:
        item, created = service.create_item(table, fields, idempotency_key=key)
    except service.IdempotencyKeyReused:
        raise ServiceError(409, "Idempotency-Key was already used with a different body") from None
    if created:
        metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201 if created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(item),
        headers={"Location": f"/items/{item['id']}"},
    )


@app.get("/items")
@tracer.capture_method
def list_items() -> dict[str, Any]:
    params = _query_params({"limit", "next_token"})
    limit_text = params.get("limit", str(DEFAULT_PAGE_SIZE))
    # isascii: str.isdigit() also accepts superscripts (int() fails) and non-ASCII digits.
    if not (limit_text.isascii() and limit_text.isdigit()) or not (
        1 <= int(limit_text) <= MAX_PAGE_SIZE
    ):
        raise BadRequestError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    try:
        page = service.list_items(table, limit=int(limit_text), next_token=params.get("next_token"))
    except service.InvalidToken:
        raise BadRequestError("next_token is not a token this API issued") from None
    return {"items": page.items, "next_token": page.next_token}


@app.get("/items/<item_id>")
@tracer.capture_method
def get_item(item_id: str) -> dict[str, Any]:
    try:
        return service.get_item(table, _item_id(item_id))
    except service.ItemNotFound:
        raise _not_found(item_id) from None


@app.put("/items/<item_id>")
@tracer.capture_method
def replace_item(item_id: str) -> dict[str, Any]:
    from .models import ReplaceItem

    item_id = _item_id(item_id)
    fields = _parse(ReplaceItem)
    try:
        item = service.replace_item(table, item_id, fields)
    except service.ItemNotFound:
        raise _not_found(item_id) from None
    except service.VersionConflict as conflict:
        metrics.add_metric(name="VersionConflict", unit=MetricUnit.Count, value=1)
        raise ServiceError(
            409,
            f"version {fields.version} is stale: item is at version "
            f"{conflict.current_version}; GET it and retry",
        ) from None
    return item


@app.delete("/items/<item_id>")
@tracer.capture_method
def delete_item(item_id: str) -> Response[str]:
    try:
        service.delete_item(table, _item_id(item_id))
    except service.ItemNotFound:
        raise _not_found(item_id) from None
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


# Every route: its path segments ("<name>" = a path parameter) and methods, for telling 400
# from 405 from 404 when the resolver finds no route; and what each parameter must be.
_ROUTES: dict[tuple[str, ...], set[str]] = {
    ("items",): {"GET", "POST"},
    ("items", "<item_id>"): {"GET", "PUT", "DELETE"},
}
_PATH_PARAMETERS = {"item_id": ID_ERROR}


def _unmatched(method: str, path: str) -> Response[str]:
    """The answer for a request no route took: 400 if a route has this shape and method, so
    only a path parameter can have failed (the resolver's pattern for one refuses control
    characters, ``?#"\\``, a backtick, emoji...); 405 with ``Allow`` for a known shape and an
    unknown method; else 404."""
    parts = [p for p in path.split("/") if p]
    for shape, methods in _ROUTES.items():
        if len(shape) != len(parts) or any(
            s != p for s, p in zip(shape, parts, strict=True) if not s.startswith("<")
        ):
            continue
        if method in methods:
            return _error(400, "; ".join(_PATH_PARAMETERS[s[1:-1]] for s in shape if s[0] == "<"))
        return _error(405, "method not allowed", {"Allow": ", ".join(sorted(methods))})
    return _error(404, f"no route for {method} {path}")


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _unmatched(app.current_event.http_method.upper(), app.current_event.path)


def exact_path(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The resolver anchors route patterns with ``$``, which also matches before a final
    newline: ``/items/<id>%0A`` would act on ``<id>``. Such a path takes no route."""
    path = resolver.current_event.path
    if path.endswith("\n"):
        return _unmatched(resolver.current_event.http_method.upper(), path)
    return next_middleware(resolver)


app.use(middlewares=[exact_path])


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(exc: Exception) -> Response[str]:
    """Map every error to a JSON response: the resolver's own 4xx, throttling, or a 500."""
    if isinstance(exc, ServiceError):
        return _error(exc.status_code, str(exc.msg))
    if isinstance(exc, service.OutcomeUnknown):
        # The write may have been applied: say where, so a create without an Idempotency-Key
        # is looked up (GET) before it is sent again, instead of made twice.
        logger.warning("a write's outcome is unknown", exc_info=exc)
        metrics.add_metric(name="TableUnavailable", unit=MetricUnit.Count, value=1)
        return _error(
            503,
            f"the table did not answer; item {exc.item_id} may have been written: "
            "GET it before retrying",
            {"Retry-After": "1", "Location": f"/items/{exc.item_id}"},
        )
    throttled = isinstance(exc, ClientError) and (
        exc.response["Error"]["Code"] in _THROTTLED
        # A 5xx (InternalServerError, ServiceUnavailable) after the client's retries is
        # DynamoDB's transient trouble, not a bug in this code: "retry", not the bug alarm.
        or int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    )
    if throttled or isinstance(exc, (BotocoreConnectionError, HTTPClientError)):
        # Throttled, or unreachable or slower than the client's timeouts: a 503 says "retry".
        # Conditional writes make a retried PUT or DELETE safe, and an Idempotency-Key a POST.
        logger.warning("DynamoDB is unavailable", exc_info=exc)
        metrics.add_metric(name="TableUnavailable", unit=MetricUnit.Count, value=1)
        unavailable = ServiceUnavailableError("the table is busy; retry with backoff")
        return _error(unavailable.status_code, str(unavailable.msg), {"Retry-After": "1"})
    logger.exception("unhandled error")
    metrics.add_metric(name="UnhandledError", unit=MetricUnit.Count, value=1)
    return _error(500, "internal error")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return app.resolve(event, context)
    except Exception:  # an event the resolver cannot even parse must still not become a 502
        logger.exception("could not resolve event")
        return {
            "statusCode": 400,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"statusCode": 400, "message": "malformed request"}),
        }
