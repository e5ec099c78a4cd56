"""JSON from untrusted bytes: one parser for every input boundary (request body, page token).

``json.loads`` alone is lenient and fragile here: it sniffs UTF-16 and UTF-32 from bytes,
accepts ``NaN`` and ``Infinity``, decodes a ``\\ud800`` escape to a lone surrogate (no character
at all: DynamoDB refuses it at write time) and raises ``RecursionError``, not ``ValueError``,
for deep nesting such as ``"[" * 12000``. Every one of those is :class:`InvalidJSON` here.
"""

from __future__ import annotations

import json
from typing import Any


class InvalidJSON(ValueError):
    """The bytes are not one UTF-8 JSON text; ``str(err)`` says why, for a 400."""


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not a JSON number")


def loads(raw: bytes) -> Any:
    """The JSON value in ``raw`` (RFC 8259: UTF-8, no NaN or Infinity), or :class:`InvalidJSON`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJSON("it is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
        # A lone surrogate escape survives decoding as a str that cannot be encoded back.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except InvalidJSON:
        raise
    except UnicodeEncodeError:
        raise InvalidJSON("a \\u escape is a lone surrogate, not a character") from None
    except (ValueError, RecursionError):
        # ValueError covers syntax and integers over Python's 4,300-digit limit.
        raise InvalidJSON("it does not parse, or nests too deeply") from None
    return value
