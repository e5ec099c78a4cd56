"""Client frames: what a client may send, parsed strictly, and the frames the service sends.

A frame is a JSON object whose ``action`` picks the route (API Gateway's route selection
expression is ``$request.body.action``). Wrong types are rejected, not coerced, and unknown
fields are rejected, not ignored. Every rejection is a :class:`BadFrame` whose message tells
the client what to fix; no input, however deeply nested, ends in another exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

MAX_FRAME_BYTES = 8 * 1024
MAX_TEXT_CHARS = 2000
_ROOM = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch: "$" would allow a final "\n"

# Two frames of one or two string fields: checked here rather than by pydantic models, whose
# import alone costs the chat function's cold start about half a boto3 import.


class BadFrame(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class JoinFrame:
    """``{"action": "join", "room": "lobby"}``: move this connection into a room."""

    room: str
    action: Literal["join"] = "join"


@dataclass(frozen=True)
class SendFrame:
    """``{"action": "send", "text": "hi"}``: broadcast to the others in this connection's room."""

    text: str
    action: Literal["send"] = "send"


def _room(value: Any) -> str | None:
    if not isinstance(value, str):
        return "Input should be a valid string"
    if not _ROOM.fullmatch(value):
        return "should be 1-64 characters of A-Z a-z 0-9 _ -"
    return None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return "Input should be a valid string"
    if not 1 <= len(value) <= MAX_TEXT_CHARS:
        return f"should be 1-{MAX_TEXT_CHARS} characters"
    return None


# action -> (field -> its check, the frame built from the checked fields). Strict: no
# coercion (5 is not "5"), and unknown fields are rejected, not ignored.
_Checks = Mapping[str, Callable[[Any], str | None]]
ACTIONS: dict[str, tuple[_Checks, Callable[..., JoinFrame | SendFrame]]] = {
    "join": ({"room": _room}, JoinFrame),
    "send": ({"text": _text}, SendFrame),
}


def _problems(data: dict[str, Any], checks: _Checks) -> list[str]:
    problems = []
    for name, check in checks.items():
        why = check(data[name]) if name in data else "Field required"
        if why:
            problems.append(f"{name}: {why}")
    extra = [key for key in data if key != "action" and key not in checks]
    return problems + [f"{key}: Extra inputs are not permitted" for key in extra]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _strict_json(raw: bytes) -> Any:
    """JSON as the items API and the web app read it (their ``strict_json``): UTF-8 only (no
    UTF-16/32 sniffing), no NaN or Infinity, and no ``\\ud800`` escape, which decodes to a lone
    surrogate: no character, and a frame nobody in the room could be sent as UTF-8."""
    value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError on a surrogate
    return value


def parse(body: str | None, *, is_base64: bool = False) -> JoinFrame | SendFrame:
    """The frame in a message body, or :class:`BadFrame`."""
    text = body or ""
    try:
        raw = base64.b64decode(text, validate=True) if is_base64 else text.encode()
    except (binascii.Error, ValueError):
        raise BadFrame(400, "frame is not valid base64") from None
    if len(raw) > MAX_FRAME_BYTES:
        raise BadFrame(413, f"frame exceeds {MAX_FRAME_BYTES} bytes")
    try:
        data = _strict_json(raw)
    except (ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the interpreter's stack (about 1,500 levels on
        # 3.11) is bad input like any other, whatever MAX_FRAME_BYTES allows. UnicodeDecodeError
        # and UnicodeEncodeError are ValueErrors.
        raise BadFrame(400, "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadFrame(400, "frame must be a JSON object")
    expected = ", ".join(sorted(ACTIONS))
    if "action" not in data:
        raise BadFrame(400, f'frame has no "action": expected one of {expected}')
    action = data["action"]
    spec = ACTIONS.get(action) if isinstance(action, str) else None
    if spec is None:
        raise BadFrame(400, f"unknown action {action!r}: expected one of {expected}")
    checks, build = spec
    problems = _problems(data, checks)
    if problems:
        raise BadFrame(422, f"invalid {action} frame: {'; '.join(problems)}")
    return build(**{name: data[name] for name in checks})


def error(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "status": status, "message": message}
