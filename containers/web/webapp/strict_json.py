"""Request bodies as strict JSON: UTF-8 only, no NaN or Infinity, no lone surrogates, and deep
nesting refused as bad JSON rather than escaping as a ``RecursionError``.

Starlette's ``Request.json()`` is ``json.loads(bytes)``, which sniffs UTF-16 and UTF-32, accepts
Python's NaN/Infinity extension, and raises ``RecursionError`` for ``"[" * 12000``; FastAPI turns
only ``JSONDecodeError`` into a validation error. :class:`StrictJSONRoute` swaps in this parser
and refuses bodies not declared as JSON with a 415, for every route of the app.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

UNSUPPORTED_MEDIA_TYPE = "Content-Type must be application/json (UTF-8)"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(raw: bytes) -> Any:
    """The JSON value in ``raw``, or :class:`json.JSONDecodeError` (FastAPI's 'bad JSON')."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise json.JSONDecodeError("not valid UTF-8", "", err.start) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
        # A lone surrogate escape survives decoding as a str that cannot be encoded back.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError, UnicodeEncodeError) as err:
        # ValueError also covers integers over Python's 4,300-digit limit.
        raise json.JSONDecodeError(type(err).__name__, text, 0) from None
    return value


def _is_utf8_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return message.get_content_type() == "application/json" and (
        charset is None or str(charset).lower() in ("utf-8", "utf8")
    )


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """An ``APIRoute`` whose body, if it takes one, must be UTF-8 JSON declared as such."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            if takes_body and not _is_utf8_json(request.headers.get("content-type")):
                raise HTTPException(415, UNSUPPORTED_MEDIA_TYPE)
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
