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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

MAX_FRAME_BYTES = 8 * 1024
MAX_TEXT_CHARS = 2000

Room = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class BadFrame(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class JoinFrame(_Frame):
    """``{"action": "join", "room": "lobby"}``: move this connection into a room."""

    action: Literal["join"]
    room: Room


class SendFrame(_Frame):
    """``{"action": "send", "text": "hi"}``: broadcast to the others in this connection's room."""

    action: Literal["send"]
    text: Text


ACTIONS: dict[str, type[JoinFrame] | type[SendFrame]] = {"join": JoinFrame, "send": SendFrame}


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
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the interpreter's stack (about 1,500 levels on
        # 3.11) is bad input like any other, whatever MAX_FRAME_BYTES allows. UnicodeDecodeError
        # is a ValueError.
        raise BadFrame(400, "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadFrame(400, "frame must be a JSON object")
    expected = ", ".join(sorted(ACTIONS))
    if "action" not in data:
        raise BadFrame(400, f'frame has no "action": expected one of {expected}')
    action = data["action"]
    model = ACTIONS.get(action) if isinstance(action, str) else None
    if model is None:
        raise BadFrame(400, f"unknown action {action!r}: expected one of {expected}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'frame'}: {e['msg']}" for e in err.errors()
        )
        raise BadFrame(422, f"invalid {action} frame: {problems}") from None


def error(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "status": status, "message": message}
