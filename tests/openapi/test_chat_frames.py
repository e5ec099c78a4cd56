"""The chat's frame schemas (docs/openapi/chat.asyncapi.json) accept what the handler accepts and
refuse what it refuses."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from tests.support import ROOT, handler_package

DOCUMENT = json.loads((ROOT / "docs" / "openapi" / "chat.asyncapi.json").read_text())
MESSAGES = DOCUMENT["channels"]["chat"]["messages"]


@pytest.fixture(scope="module")
def frames() -> Iterator[ModuleType]:
    with handler_package(ROOT / "lambda_src" / "websocket_api", {}):
        yield importlib.import_module("chat.frames")


def _valid(action: str, frame: dict[str, Any]) -> bool:
    validator = jsonschema.Draft202012Validator(MESSAGES[action]["payload"])
    return bool(validator.is_valid(frame))


FRAMES = [
    ({"action": "join", "room": "lobby"}, True),
    ({"action": "join", "room": "a" * 64}, True),
    ({"action": "join", "room": "a" * 65}, False),
    ({"action": "join", "room": "no spaces"}, False),
    ({"action": "join"}, False),
    ({"action": "join", "room": "lobby", "as": "admin"}, False),
    ({"action": "send", "text": "hi"}, True),
    ({"action": "send", "text": "x" * 2000}, True),
    ({"action": "send", "text": "x" * 2001}, False),
    ({"action": "send", "text": ""}, False),
    ({"action": "send", "text": 5}, False),
]


@pytest.mark.parametrize(("frame", "accepted"), FRAMES, ids=[json.dumps(f)[:40] for f, _ in FRAMES])
def test_the_schema_and_the_handler_agree(
    frames: ModuleType, frame: dict[str, Any], accepted: bool
) -> None:
    assert _valid(frame["action"], frame) is accepted
    if accepted:
        assert frames.parse(json.dumps(frame)).action == frame["action"]
    else:
        with pytest.raises(frames.BadFrame):
            frames.parse(json.dumps(frame))


def test_every_action_of_the_handler_is_described(frames: ModuleType) -> None:
    assert set(frames.ACTIONS) == {"join", "send"}
    for action, (checks, _) in frames.ACTIONS.items():
        payload = MESSAGES[action]["payload"]
        assert set(payload["properties"]) == {"action", *checks}
        assert set(payload["required"]) == {"action", *checks}
