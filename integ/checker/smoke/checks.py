"""What every integration test asserts, written once against plain endpoints and values.

The same functions run in two places: in ``make test`` against the local modes on 127.0.0.1
(``tests/local/test_smoke.py``), and in the account, called by the checker Lambda
(``smoke.app``) that each integ app's ``IntegTest`` invokes. Each check returns ``PASSED`` (or
``PENDING`` when what it waits for has not arrived yet) and raises ``CheckFailed`` naming what
was expected and what came back. Standard library only (plus ``websockets`` for the chat), so
it runs in the checker's zip as it runs here.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import struct
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

PASSED = "passed"
PENDING = "pending"
TIMEOUT = 10.0  # seconds per request or frame: an answer slower than this is a failure
MAX_PAGES = 100  # a list that pages on past this never ends


class CheckFailed(AssertionError):
    """The deployed (or local) pattern did not behave as the check expects."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def http(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: float = TIMEOUT,
) -> tuple[int, dict[str, str], bytes]:
    """One request; an HTTP error status is an answer, not an exception."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310 - http(s) URLs the caller gives
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def _json(status: int, raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise CheckFailed(
            f"{what}: HTTP {status} with a body that is not JSON: {raw[:200]!r}"
        ) from None


# --- ServerlessApi: the items API ------------------------------------------------------------


def items_api(base_url: str, headers: Mapping[str, str]) -> str:
    """Create, read, page through and delete items with the caller's credentials (an API key,
    and a Cognito ID token where the API has an authorizer); then the same request without the
    API key is refused before the function. ``base_url`` ends with the stage (``.../v1``)."""
    base = base_url.rstrip("/")
    run = secrets.token_hex(4)
    ids: list[str] = []
    for n in range(3):
        status, response_headers, raw = http(
            "POST",
            f"{base}/items",
            headers=headers,
            body={"name": f"smoke {run} {n}", "quantity": n},
        )
        expect(status == 201, f"POST /items: expected 201, got {status}: {raw[:300]!r}")
        item = _json(status, raw, "POST /items")
        expect(
            (item.get("name"), item.get("quantity"), item.get("version"))
            == (f"smoke {run} {n}", n, 1),
            f"POST /items: the created item is {item}",
        )
        location = {k.lower(): v for k, v in response_headers.items()}.get("location")
        expect(location == f"/items/{item['id']}", f"POST /items: Location {location!r}")
        status, _, raw = http("GET", f"{base}/items/{item['id']}", headers=headers)
        expect(status == 200, f"GET /items/<id>: expected 200, got {status}: {raw[:300]!r}")
        expect(
            _json(status, raw, "GET /items/<id>") == item, "GET /items/<id>: not what was created"
        )
        ids.append(item["id"])
    seen = _page_through(base, headers, limit=2)
    expect(set(ids) <= set(seen), f"GET /items (limit=2, paged): {set(ids) - set(seen)} missing")
    expect(len(seen) == len(set(seen)), "GET /items (paged): an item appears on two pages")
    for item_id in ids:
        status, _, raw = http("DELETE", f"{base}/items/{item_id}", headers=headers)
        expect(status == 204, f"DELETE /items/<id>: expected 204, got {status}: {raw[:300]!r}")
        status, _, _ = http("GET", f"{base}/items/{item_id}", headers=headers)
        expect(status == 404, f"GET /items/<id> after DELETE: expected 404, got {status}")
    keyless = {k: v for k, v in headers.items() if k.lower() != "x-api-key"}
    status, _, raw = http("POST", f"{base}/items", headers=keyless, body={"name": "no key"})
    expect(
        status == 403, f"POST /items without x-api-key: expected 403, got {status}: {raw[:200]!r}"
    )
    return PASSED


def _page_through(base: str, headers: Mapping[str, str], *, limit: int) -> list[str]:
    seen: list[str] = []
    token = ""
    for _ in range(MAX_PAGES):
        query = f"?limit={limit}" + (f"&next_token={urllib.parse.quote(token)}" if token else "")
        status, _, raw = http("GET", f"{base}/items{query}", headers=headers)
        expect(status == 200, f"GET /items{query}: expected 200, got {status}: {raw[:300]!r}")
        page = _json(status, raw, "GET /items")
        expect(len(page["items"]) <= limit, f"GET /items: {len(page['items'])} items > {limit}")
        seen += [item["id"] for item in page["items"]]
        token = page.get("next_token") or ""
        if not token:
            return seen
    raise CheckFailed(f"GET /items: still a next_token after {MAX_PAGES} pages")


# --- WebSocketApi: the chat ------------------------------------------------------------------


class Socket(Protocol):
    """What the chat check needs of a connection (``websockets.sync.client.ClientConnection``)."""

    def send(self, message: str) -> None: ...

    def recv(self, timeout: float | None = None) -> str | bytes: ...


def chat(
    connect: Callable[[str], AbstractContextManager[Socket]],
    refused: Callable[[], int],
    names: Callable[[str], str] = str,
) -> str:
    """Two users connect with their tokens, join one room and each sees the other's message;
    a connection without a token is refused with 401. ``connect(user)`` opens a socket for a
    user; ``refused()`` tries to connect without a token and returns the HTTP status;
    ``names(user)`` is the sender the chat names in frames (the token's subject)."""
    room = f"smoke-{secrets.token_hex(4)}"
    with connect("smoke-alice") as alice, connect("smoke-bob") as bob:
        for user, socket in (("smoke-alice", alice), ("smoke-bob", bob)):
            reply = _call(socket, {"action": "join", "room": room})
            expect(reply == {"type": "joined", "room": room}, f"{user} join: {reply}")
        reply = _call(alice, {"action": "send", "text": "hello from alice"})
        expect(reply.get("delivered") == 1, f"alice send: expected delivered=1, got {reply}")
        frame = json.loads(bob.recv(timeout=TIMEOUT))
        expect(
            (frame.get("from"), frame.get("text"), frame.get("room"))
            == (names("smoke-alice"), "hello from alice", room),
            f"bob received {frame}",
        )
        reply = _call(bob, {"action": "send", "text": "hello from bob"})
        expect(reply.get("delivered") == 1, f"bob send: expected delivered=1, got {reply}")
        frame = json.loads(alice.recv(timeout=TIMEOUT))
        expect(frame.get("from") == names("smoke-bob"), f"alice received {frame}")
    status = refused()
    expect(status == 401, f"connect without a token: expected 401, got {status}")
    return PASSED


def _call(socket: Socket, frame: dict[str, Any]) -> dict[str, Any]:
    socket.send(json.dumps(frame))
    return dict(json.loads(socket.recv(timeout=TIMEOUT)))


# --- Thumbnails ------------------------------------------------------------------------------

SAMPLE_SIZE = (1200, 800)


def sample_png(width: int = SAMPLE_SIZE[0], height: int = SAMPLE_SIZE[1]) -> bytes:
    """A valid RGB PNG of the given size (a gradient), written without an imaging library."""
    row = bytes(b for x in range(width) for b in (x % 256, 128, 255 - x % 256))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG, read from its header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(data):
            marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[at + 5 : at + 9])
                return int(width), int(height)
            at += 2 + length
    raise CheckFailed(f"not a PNG or JPEG: {data[:16]!r}")


def thumbnail_keys(
    key: str, widths: Iterable[int], *, source_prefix: str, destination_prefix: str
) -> dict[str, int]:
    """Destination key -> width for every thumbnail of the source ``key``."""
    relative = key.removeprefix(source_prefix)
    return {f"{destination_prefix}{w}/{relative}": w for w in widths}


def thumbnails(
    expected: Mapping[str, int], fetch: Callable[[str], bytes | None], source: tuple[int, int]
) -> str:
    """Every expected thumbnail exists, at its width (never upscaled) and the source's aspect
    ratio; ``PENDING`` while one is still missing. ``fetch(key)`` is None for a missing key."""
    for key, width in sorted(expected.items()):
        data = fetch(key)
        if data is None:
            return PENDING
        want_w = min(width, source[0])
        want = (want_w, round(source[1] * want_w / source[0]))
        got = image_size(data)
        expect(abs(got[0] - want[0]) <= 1 and abs(got[1] - want[1]) <= 1, f"{key}: {got} != {want}")
    return PASSED


# --- ContainerService: the web app behind its load balancer ----------------------------------


def web(base_url: str, health_path: str = "/health") -> str:
    """The health path answers 200, ``/version`` names a version, an unknown path is a 404."""
    base = base_url.rstrip("/")
    status, _, raw = http("GET", f"{base}{health_path}")
    expect(status == 200, f"GET {health_path}: expected 200, got {status}: {raw[:200]!r}")
    status, _, raw = http("GET", f"{base}/version")
    expect(status == 200, f"GET /version: expected 200, got {status}: {raw[:200]!r}")
    expect(bool(_json(status, raw, "GET /version").get("version")), f"GET /version: {raw[:200]!r}")
    status, _, _ = http("GET", f"{base}/no-such-page-{secrets.token_hex(4)}")
    expect(status == 404, f"GET an unknown path: expected 404, got {status}")
    return PASSED


def reachable(url: str) -> str:
    """The URL answers 200 (LightsailSite: the blueprint's web server on port 80)."""
    try:
        status, _, raw = http("GET", url)
    except OSError:  # not listening yet: the instance is still booting
        return PENDING
    expect(status == 200, f"GET {url}: expected 200, got {status}: {raw[:200]!r}")
    return PASSED


# --- BatchJobs: the compounds array job ------------------------------------------------------

# id, name, SMILES; the last is no molecule, so it must come back as a reject.
COMPOUNDS = (
    ("smoke-1", "water", "O"),
    ("smoke-2", "ethanol", "CCO"),
    ("smoke-3", "aspirin", "CC(=O)OC1=CC=CC=C1C(=O)O"),
    ("smoke-4", "caffeine", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"),
    ("smoke-5", "not a compound", "not-smiles"),
)
BATCH_SHARDS = 2


def batch_input() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "smiles"])
    writer.writerows(COMPOUNDS)
    return out.getvalue().encode()


def batch_output(parts: Sequence[str], rejects: Sequence[str]) -> str:
    """One part and one rejects file per shard; every good compound in the results, the bad
    one in the rejects, none twice."""
    expect(len(parts) == BATCH_SHARDS, f"{len(parts)} part files, expected {BATCH_SHARDS}")
    expect(len(rejects) == BATCH_SHARDS, f"{len(rejects)} rejects files, expected {BATCH_SHARDS}")
    results = [row["id"] for text in parts for row in csv.DictReader(io.StringIO(text))]
    rejected = [row["id"] for text in rejects for row in csv.DictReader(io.StringIO(text))]
    expect(sorted(results) == ["smoke-1", "smoke-2", "smoke-3", "smoke-4"], f"results {results}")
    expect(rejected == ["smoke-5"], f"rejects {rejected}")
    return PASSED


# --- ScheduledJob: the nightly table export --------------------------------------------------

EXPORT_ITEMS = 25


def export_items(
    key_schema: Sequence[Mapping[str, str]], types: Mapping[str, str]
) -> list[dict[str, Any]]:
    """``EXPORT_ITEMS`` DynamoDB items (wire format) shaped by the table's key schema."""
    items = []
    for n in range(EXPORT_ITEMS):
        item: dict[str, Any] = {"payload": {"S": f"smoke item {n}"}}
        for key in key_schema:
            name = key["AttributeName"]
            kind = types.get(name, "S")
            item[name] = {"N": str(n)} if kind == "N" else {"S": f"smoke-{n:04d}"}
        items.append(item)
    return items


def export(manifest: Mapping[str, Any], records: Sequence[Mapping[str, Any]], expected: int) -> str:
    """The export's manifest and its parts count the same records as were seeded."""
    expect(manifest.get("records") == expected, f"manifest counts {manifest.get('records')}")
    expect(len(records) == expected, f"{len(records)} records in the parts, expected {expected}")
    return PASSED
