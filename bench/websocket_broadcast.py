"""WebSocket chat: the handler's own CPU cost of a broadcast per room member, and of verifying a
connect token, with in-memory fakes for DynamoDB and the management API (so no network time:
in Lambda each post adds a round trip of roughly 10-30 ms on top of these figures).

Usage: .venv/bin/python bench/websocket_broadcast.py [runs]
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from common import ROOT, median

sys.path.insert(0, str(ROOT / "lambda_src" / "websocket_api"))
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "websocket-chat")

from botocore.exceptions import ClientError
from chat import connections, tokens

GONE = ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")


class Batch:
    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def delete_item(self, **_: Any) -> None:
        return None


class Table:
    """One room of ``size`` members, returned in 1,000-member pages like a 1 MB query page."""

    def __init__(self, size: int) -> None:
        self.ids = [f"conn-{i:06}" for i in range(size)]

    def query(self, **kwargs: Any) -> dict[str, Any]:
        start = int(kwargs.get("ExclusiveStartKey", {}).get("n", 0))
        page: dict[str, Any] = {
            "Items": [{"connectionId": cid} for cid in self.ids[start : start + 1000]]
        }
        if start + 1000 < len(self.ids):
            page["LastEvaluatedKey"] = {"n": start + 1000}
        return page

    def batch_writer(self) -> Batch:
        return Batch()


class Management:
    """Every tenth connection is gone."""

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:  # noqa: N803, ARG002
        if ConnectionId.endswith("0"):
            raise GONE


def broadcast_seconds(size: int, runs: int) -> float:
    table, management = Table(size), Management()
    data = b'{"type": "message", "room": "lobby", "from": "alice", "text": "hello"}'
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        connections.broadcast(
            table, management, "by-room", "lobby", data, sender_id="conn-000001", now=0
        )
        times.append(time.perf_counter() - start)
    return float(median(times))


def main(runs: int) -> None:
    for size in (10, 100, 1000, 10_000):
        seconds = broadcast_seconds(size, runs)
        print(
            f"broadcast to {size:>6} members (10% gone): median {seconds * 1000:8.2f} ms, "
            f"{seconds / size * 1e6:6.1f} us per member, over {runs} runs"
        )
    key = b"k" * 64
    now = int(time.time())
    token = tokens.sign(key, "alice", now + 600)
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        tokens.verify(key, token, now=now, max_lifetime=3600)
    print(f"verify one HS256 token: {(time.perf_counter() - start) / n * 1e6:.1f} us")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
