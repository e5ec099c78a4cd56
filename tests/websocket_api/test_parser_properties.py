"""Property tests of the chat's input boundary: the frame parser and the token parsers.

Properties: any input ends in a value or the parser's own rejection (BadFrame, InvalidToken),
never another exception; deep nesting is rejected by design, with the size caps lifted; an
accepted input round-trips; only the canonical spelling of a token verifies.
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import ROOT, handler_package

KEY = b"k" * 64
NOW = 1_800_000_000
HOUR = 3600
# A budget of its own on top of the suite's profile (tests/conftest.py: derandomized, no deadline,
# no database).
PROPERTY = settings(max_examples=200)


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ModuleType, ModuleType]]:
    with handler_package(ROOT / "lambda_src" / "websocket_api", {}):
        yield importlib.import_module("chat.frames"), importlib.import_module("chat.tokens")


@pytest.fixture(scope="module")
def frames(chat: tuple[ModuleType, ModuleType]) -> ModuleType:
    return chat[0]


@pytest.fixture(scope="module")
def tokens(chat: tuple[ModuleType, ModuleType]) -> ModuleType:
    return chat[1]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def _nested(depth: int, kind: str) -> str:
    return ("[" * depth) if kind == "open" else ('{"a":' * depth + "1" + "}" * depth)


# -- frames ------------------------------------------------------------------------------------


def _parse_or_reject(frames: ModuleType, body: str | None, *, is_base64: bool = False) -> Any:
    try:
        return frames.parse(body, is_base64=is_base64)
    except frames.BadFrame as err:
        bad = err
    assert bad.status in {400, 413, 422}
    assert bad.message
    return None


@PROPERTY
@given(body=st.one_of(st.none(), st.text(), st.binary().map(lambda b: b.decode("latin-1"))))
def test_any_text_body_is_a_frame_or_a_bad_frame(frames: ModuleType, body: str | None) -> None:
    _parse_or_reject(frames, body)


@PROPERTY
@given(raw=st.binary(max_size=4096), garble=st.booleans())
def test_any_base64_body_is_a_frame_or_a_bad_frame(
    frames: ModuleType, raw: bytes, garble: bool
) -> None:
    body = base64.b64encode(raw).decode()
    _parse_or_reject(frames, body + ("*" if garble else ""), is_base64=True)


@PROPERTY
@given(value=JSON_VALUES, action=st.sampled_from(["join", "send", "leave", 1, None]))
def test_any_json_document_is_a_frame_or_a_bad_frame(
    frames: ModuleType, value: Any, action: Any
) -> None:
    document = value if not isinstance(value, dict) else {**value, "action": action}
    _parse_or_reject(frames, json.dumps(document))


@PROPERTY
@given(depth=st.integers(min_value=1, max_value=200_000), kind=st.sampled_from(["open", "obj"]))
def test_deep_nesting_is_a_400_even_with_the_size_cap_lifted(
    frames: ModuleType, monkeypatch_module: pytest.MonkeyPatch, depth: int, kind: str
) -> None:
    monkeypatch_module.setattr(frames, "MAX_FRAME_BYTES", 10**7)
    with pytest.raises(frames.BadFrame) as bad:
        frames.parse(_nested(depth, kind))
    assert bad.value.status == 400  # a nested array or object is never a frame


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


ROOMS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
TEXTS = st.text(min_size=1, max_size=2000)


@PROPERTY
@given(room=ROOMS, text=TEXTS)
def test_valid_frames_round_trip(frames: ModuleType, room: str, text: str) -> None:
    joined = frames.parse(json.dumps({"action": "join", "room": room}))
    assert (joined.action, joined.room) == ("join", room)
    sent = frames.parse(
        base64.b64encode(json.dumps({"action": "send", "text": text}).encode()).decode(),
        is_base64=True,
    )
    assert (sent.action, sent.text) == ("send", text)


# -- HS256 tokens ------------------------------------------------------------------------------


def _verify_or_reject(tokens: ModuleType, token: str) -> str | None:
    try:
        return str(tokens.verify(KEY, token, now=NOW, max_lifetime=HOUR))
    except tokens.InvalidToken as err:
        reason = str(err)
    assert reason
    return None


SEGMENTS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@PROPERTY
@given(token=st.one_of(st.text(), st.lists(SEGMENTS, max_size=4).map(".".join)))
def test_any_string_is_a_subject_or_an_invalid_token(tokens: ModuleType, token: str) -> None:
    assert _verify_or_reject(tokens, token) is None  # nothing random is signed with KEY


@PROPERTY
@given(header=JSON_VALUES, claims=JSON_VALUES, signature=st.binary(max_size=64))
def test_any_json_header_and_claims_are_an_invalid_token(
    tokens: ModuleType, header: Any, claims: Any, signature: bytes
) -> None:
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), signature]
    assert _verify_or_reject(tokens, ".".join(_b64url(p) for p in parts)) is None


@PROPERTY
@given(depth=st.integers(min_value=1, max_value=100_000), kind=st.sampled_from(["open", "obj"]))
def test_a_deeply_nested_header_is_an_invalid_token_even_with_the_size_cap_lifted(
    tokens: ModuleType, monkeypatch_module: pytest.MonkeyPatch, depth: int, kind: str
) -> None:
    """The header is parsed before the signature is checked: anyone can send one."""
    monkeypatch_module.setattr(tokens, "MAX_TOKEN_CHARS", 10**7)
    token = f"{_b64url(_nested(depth, kind).encode())}.{_b64url(b'{}')}.{_b64url(b'x' * 32)}"
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(KEY, token, now=NOW, max_lifetime=HOUR)


SUBJECTS = st.from_regex(r"[A-Za-z0-9_.@:+-]{1,128}", fullmatch=True)


@PROPERTY
@given(subject=SUBJECTS, lifetime=st.integers(min_value=1, max_value=HOUR))
def test_signed_tokens_round_trip(tokens: ModuleType, subject: str, lifetime: int) -> None:
    token = tokens.sign(KEY, subject, NOW + lifetime)
    assert tokens.verify(KEY, token, now=NOW, max_lifetime=HOUR) == subject


@PROPERTY
@given(subject=SUBJECTS, part=st.integers(min_value=0, max_value=2), spare=st.integers(1, 3))
def test_only_the_canonical_spelling_of_a_token_verifies(
    tokens: ModuleType, subject: str, part: int, spare: int
) -> None:
    """Flipping the spare low bits of a part's last character leaves its bytes unchanged, so a
    lenient decoder accepts the new spelling; this one must not."""
    token = tokens.sign(KEY, subject, NOW + 60)
    parts = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare_bits = {2: 4, 3: 2}.get(len(parts[part]) % 4)  # chars in the last group -> spare bits
    if spare_bits is None:
        return  # a part of whole 3-byte groups has no spare bits, so no second spelling
    last = alphabet.index(parts[part][-1])
    parts[part] = parts[part][:-1] + alphabet[last ^ (spare % (1 << spare_bits) or 1)]
    respelled = ".".join(parts)
    assert base64.urlsafe_b64decode(respelled.split(".")[part] + "==") == (
        base64.urlsafe_b64decode(token.split(".")[part] + "==")
    )
    with pytest.raises(tokens.InvalidToken, match="canonical"):
        tokens.verify(KEY, respelled, now=NOW, max_lifetime=HOUR)


def test_one_hs256_signature_has_one_spelling(tokens: ModuleType) -> None:
    """32 signature bytes are 43 characters whose last carries 2 spare bits: four spellings of
    one signature, five with a padded one. PyJWT 2.15.1 refuses the spare-bit ones but still
    accepts the padded one (why the module checks canonical form itself); only the token as
    signed passes here."""
    token = tokens.sign(KEY, "alice", NOW + 60)
    head, _, signature = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    base = alphabet.index(signature[-1]) & ~3
    spellings = [f"{head}.{signature[:-1]}{alphabet[base | bits]}" for bits in range(4)]
    padded = f"{token}="
    assert token in spellings
    spellings.append(padded)

    def pyjwt_accepts(spelling: str) -> bool:
        try:
            jwt.decode(spelling, KEY, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.DecodeError:
            return False
        return True

    assert [s for s in spellings if pyjwt_accepts(s)] == [token, padded]
    assert [s for s in spellings if _verify_or_reject(tokens, s) == "alice"] == [token]
