"""The HTTP layer: routes, input limits, JSON errors and one JSON access-log line per request.

Every error is ``{"message": "...", ...}`` with a status that says what to fix: 400 for a body
that is not UTF-8 JSON, 404/405 for a wrong route or method, 413 for an oversized body, 415 for
a body not declared as ``application/json``, 422 (with the failing fields) for JSON of the
wrong shape, and a logged 500 with no internals for a bug.
"""

from __future__ import annotations

import json
import logging
import platform
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import logic
from .config import Settings
from .models import (
    DigestRequest,
    DigestResponse,
    ErrorResponse,
    HealthResponse,
    StatisticsRequest,
    StatisticsResponse,
    ValidationErrorResponse,
    VersionResponse,
)
from .strict_json import StrictJSONRoute

logger = logging.getLogger("webapp")

# What the OpenAPI document (app.openapi(), docs/openapi/web.json) says each route may answer
# besides its 200: every error is the app's own JSON, not FastAPI's default 422 body.
_ERROR: dict[int | str, dict[str, Any]] = {500: {"model": ErrorResponse}}
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not UTF-8 JSON"},
    413: {"model": ErrorResponse, "description": "The body is too large"},
    415: {"model": ErrorResponse, "description": "The body is not declared application/json"},
    422: {"model": ValidationErrorResponse, "description": "JSON of the wrong shape"},
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(StarletteHTTPException):
    """Raised while the app reads the body; an HTTP error so the framework's body parsing
    passes it through (it turns other exceptions into a generic 400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes")


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with a 413 before the app buffers them: by
    Content-Length when the client sends one, else by counting chunks as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"message": f"request body over {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _field(location: tuple[Any, ...]) -> str:
    # ("body", "values", 3) -> "values[3]"; the "body" prefix says nothing to the caller.
    parts = [p for p in location if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logger.info("started", extra={"version": settings.version})
        yield
        # uvicorn runs this after SIGTERM, once in-flight requests have finished (or the
        # graceful-shutdown timeout ran out): the place to flush and close clients.
        logger.info("stopped", extra={"version": settings.version})

    app = FastAPI(
        title="webapp",
        version=settings.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses=_ERROR,
    )
    # Every route parses its body with the strict parser and refuses non-JSON bodies (415).
    app.router.route_class = StrictJSONRoute
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        # The ALB's trace header ties this line to the ALB access log; else make an id up.
        request_id = request.headers.get("x-amzn-trace-id") or str(uuid.uuid4())
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["x-request-id"] = request_id
        if request.url.path != "/health":  # health checks every few seconds are noise
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"message": "request body is not valid JSON"}, status_code=400)
        details = [{"field": _field(tuple(e["loc"])), "problem": e["msg"]} for e in errors]
        return JSONResponse(
            {"message": "request body failed validation", "errors": details}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, _: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse({"message": "internal error"}, status_code=500)

    @app.get("/health")
    async def health() -> HealthResponse:
        """Liveness for the container and target-group health checks: cheap, no dependencies,
        so a slow downstream never gets healthy tasks replaced."""
        return HealthResponse(status="ok")

    @app.get("/version")
    async def version() -> VersionResponse:
        return VersionResponse(version=settings.version, python=platform.python_version())

    @app.post("/v1/statistics", responses=_BODY_ERRORS)
    async def statistics(body: StatisticsRequest) -> StatisticsResponse:
        """Count, sum, mean, median, min, max, sample stdev and p90/p99 of up to 10,000 numbers."""
        return StatisticsResponse.model_validate(logic.summarize(body.values))

    @app.post("/v1/digests", responses=_BODY_ERRORS)
    async def digests(body: DigestRequest) -> DigestResponse:
        """A hash of the UTF-8 text with a modern algorithm (no MD5 or SHA-1)."""
        hex_digest, size = logic.digest(body.text, body.algorithm)
        return DigestResponse(algorithm=body.algorithm, hex=hex_digest, bytes=size)

    return app
