"""WebSocket chat: the handler's own CPU cost of a broadcast per room member, and of verifying a
connect token. Two measurements of a broadcast:

- the broadcast loop alone, with in-memory fakes for DynamoDB and the management API;
- the same with a real boto3 ``apigatewaymanagementapi`` client, so each post pays botocore's
  parameter validation, serialization, SigV4 signing and response (or 410 error) parsing; only
  the HTTP send is replaced. This is the CPU a post costs in Lambda.

Neither includes network time: in Lambda each post adds a round trip of roughly 10-30 ms.

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

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
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


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def _answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
    """The management API's answer, without the network: 410 for every tenth connection."""
    if str(request.url).endswith("0"):
        headers = {"x-amzn-ErrorType": "GoneException", "Content-Type": "application/json"}
        return AWSResponse(request.url, 410, headers, _Body(b'{"message": "gone"}'))
    return AWSResponse(request.url, 200, {}, _Body(b""))


def boto3_management() -> Any:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc123.execute-api.us-east-1.amazonaws.com/v1",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - signs requests that never leave the process
    )
    client.meta.events.register("before-send.apigatewaymanagementapi.PostToConnection", _answer)
    return client


def broadcast_seconds(size: int, runs: int, management: Any) -> float:
    table = Table(size)
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
    clients = (("in-memory fake", Management()), ("boto3 client", boto3_management()))
    for label, management in clients:
        for size in (10, 100, 1000, 10_000):
            seconds = broadcast_seconds(size, runs, management)
            print(
                f"{label:>14}: broadcast to {size:>6} members (10% gone): median "
                f"{seconds * 1000:8.2f} ms, {seconds / size * 1e6:6.1f} us per member, "
                f"over {runs} runs"
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
