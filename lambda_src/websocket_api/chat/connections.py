"""Business logic over the connections table: plain functions of plain values.

One item per live connection: ``connectionId`` (key), ``userId``, ``connectedAt``,
``expires_at`` (TTL) and, once joined, ``room`` - which puts it in the sparse room index that
broadcasts query. Writes are conditional where a race could resurrect a closed connection.

The table is reached through DynamoDB's low-level client, with typed attribute values
(``{"S": ...}``, ``{"N": ...}``): a boto3 resource would write them for us, but building one
costs about a third of this handler's cold start, and the rows here hold strings and integers
only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger(child=True)

# BatchWriteItem's limit per call.
_BATCH = 25
# Unprocessed deletes (throttling) are retried this many times, with backoff, before they are
# left to TTL: a broadcast must not wait long on cleanup.
_BATCH_RETRIES = 3
_BATCH_BACKOFF_SECONDS = 0.05
# A failed post to a live connection is tried once more after this pause before it counts.
_POST_RETRY_BACKOFF_SECONDS = 0.1


class NotConnected(Exception):
    """The connection has no row: it closed, or its row expired."""


@dataclass(frozen=True)
class Table:
    """The connections table: a DynamoDB client and the table's name."""

    client: Any
    name: str


@dataclass(frozen=True)
class Connection:
    user_id: str
    room: str | None


@dataclass(frozen=True)
class Delivery:
    delivered: int
    gone: int
    failed: int


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _key(connection_id: str) -> dict[str, Any]:
    return {"connectionId": {"S": connection_id}}


def connect(table: Table, connection_id: str, user_id: str, *, now: int, ttl: int) -> None:
    """Record a new connection. A retried ``$connect`` for the same id changes nothing."""
    try:
        table.client.put_item(
            TableName=table.name,
            Item={
                **_key(connection_id),
                "userId": {"S": user_id},
                "connectedAt": {"N": str(now)},
                "expires_at": {"N": str(now + ttl)},
            },
            ConditionExpression="attribute_not_exists(connectionId)",
        )
    except ClientError as err:
        if _error_code(err) != "ConditionalCheckFailedException":
            raise


def disconnect(table: Table, connection_id: str) -> None:
    table.client.delete_item(TableName=table.name, Key=_key(connection_id))


def join(table: Table, connection_id: str, room: str) -> None:
    """Move a live connection into ``room`` (leaving any other). Never creates a row."""
    try:
        table.client.update_item(
            TableName=table.name,
            Key=_key(connection_id),
            UpdateExpression="SET room = :room",
            ConditionExpression="attribute_exists(connectionId)",
            ExpressionAttributeValues={":room": {"S": room}},
        )
    except ClientError as err:
        if _error_code(err) == "ConditionalCheckFailedException":
            raise NotConnected from None
        raise


def get(table: Table, connection_id: str) -> Connection:
    record = table.client.get_item(
        TableName=table.name,
        Key=_key(connection_id),
        ConsistentRead=True,
    ).get("Item")
    if record is None:
        raise NotConnected
    room = record.get("room")
    return Connection(user_id=record["userId"]["S"], room=None if room is None else room["S"])


def members(table: Table, index_name: str, room: str, *, now: int) -> Iterator[str]:
    """Connection ids in ``room``, all pages, skipping rows past their TTL that DynamoDB has not
    deleted yet (TTL deletion can lag by days)."""
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "IndexName": index_name,
        "KeyConditionExpression": "room = :room",
        "FilterExpression": "expires_at > :now",
        "ExpressionAttributeValues": {":room": {"S": room}, ":now": {"N": str(now)}},
        "ProjectionExpression": "connectionId",
    }
    while True:
        page = table.client.query(**kwargs)
        for item in page.get("Items", []):
            yield str(item["connectionId"]["S"])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def broadcast(
    table: Table,
    management: Any,
    index_name: str,
    room: str,
    data: bytes,
    *,
    sender_id: str,
    now: int,
    deadline: float | None = None,
) -> Delivery:
    """Post ``data`` to every connection in ``room`` except the sender.

    The member list is read whole before the first post, so a failed room query sends nothing
    (the sender's retry then reaches everyone once). A connection API Gateway reports gone
    (410) is deleted; any other failure to deliver to one connection is retried once after a
    short backoff, then logged and counted, never raised, so one bad connection cannot stop a
    message reaching the rest. Gone rows are deleted together at the end in batched writes.
    Past ``deadline`` (``time.monotonic()``; the function's own timeout less a margin) the
    members not tried yet count as failed, so the sender still gets its answer.
    """
    recipients = [c for c in members(table, index_name, room, now=now) if c != sender_id]
    delivered = failed = 0
    gone: list[str] = []
    for connection_id in recipients:
        if deadline is not None and time.monotonic() > deadline:
            failed += 1
            continue
        outcome = _post(management, connection_id, data)
        if outcome == "failed" and (deadline is None or time.monotonic() < deadline):
            time.sleep(_POST_RETRY_BACKOFF_SECONDS)
            outcome = _post(management, connection_id, data)
        if outcome == "gone":
            gone.append(connection_id)
        elif outcome == "failed":
            failed += 1
        else:
            delivered += 1
    if gone:
        _forget(table, gone)
    return Delivery(delivered=delivered, gone=len(gone), failed=failed)


def _post(management: Any, connection_id: str, data: bytes) -> str:
    """``delivered``, ``gone`` (410) or ``failed`` (anything else: throttled, 5xx, a timeout)."""
    try:
        management.post_to_connection(ConnectionId=connection_id, Data=data)
    except ClientError as err:
        if _error_code(err) == "GoneException":
            return "gone"
        logger.warning("could not deliver", connection_id=connection_id, code=_error_code(err))
        return "failed"
    except BotoCoreError as err:  # timeouts, connection resets: this member only
        logger.warning("could not deliver", connection_id=connection_id, error=str(err))
        return "failed"
    return "delivered"


def _forget(table: Table, connection_ids: list[str]) -> None:
    """Delete gone connections, 25 to a BatchWriteItem, retrying the items DynamoDB left
    unprocessed. If cleanup still fails, TTL removes the rows later: it must not fail the
    broadcast."""
    try:
        for start in range(0, len(connection_ids), _BATCH):
            requests = {
                table.name: [
                    {"DeleteRequest": {"Key": _key(connection_id)}}
                    for connection_id in connection_ids[start : start + _BATCH]
                ]
            }
            for attempt in range(_BATCH_RETRIES + 1):
                if attempt:
                    time.sleep(_BATCH_BACKOFF_SECONDS * 2 ** (attempt - 1))
                requests = table.client.batch_write_item(RequestItems=requests).get(
                    "UnprocessedItems", {}
                )
                if not requests:
                    break
            else:
                left = sum(len(r) for r in requests.values())
                logger.warning("gone connections left to TTL", count=left)
    except (ClientError, BotoCoreError):
        logger.exception("could not delete gone connections", count=len(connection_ids))
