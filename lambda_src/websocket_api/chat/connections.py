"""Business logic over the connections table: plain functions of plain values.

One item per live connection: ``connectionId`` (key), ``userId``, ``connectedAt``,
``expires_at`` (TTL) and, once joined, ``room`` - which puts it in the sparse room index that
broadcasts query. Writes are conditional where a race could resurrect a closed connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger(child=True)


class NotConnected(Exception):
    """The connection has no row: it closed, or its row expired."""


@dataclass(frozen=True)
class Delivery:
    delivered: int
    gone: int
    failed: int


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def connect(table: Any, connection_id: str, user_id: str, *, now: int, ttl: int) -> None:
    """Record a new connection. A retried ``$connect`` for the same id changes nothing."""
    try:
        table.put_item(
            Item={
                "connectionId": connection_id,
                "userId": user_id,
                "connectedAt": now,
                "expires_at": now + ttl,
            },
            ConditionExpression="attribute_not_exists(connectionId)",
        )
    except ClientError as err:
        if _error_code(err) != "ConditionalCheckFailedException":
            raise


def disconnect(table: Any, connection_id: str) -> None:
    table.delete_item(Key={"connectionId": connection_id})


def join(table: Any, connection_id: str, room: str) -> None:
    """Move a live connection into ``room`` (leaving any other). Never creates a row."""
    try:
        table.update_item(
            Key={"connectionId": connection_id},
            UpdateExpression="SET room = :room",
            ConditionExpression="attribute_exists(connectionId)",
            ExpressionAttributeValues={":room": room},
        )
    except ClientError as err:
        if _error_code(err) == "ConditionalCheckFailedException":
            raise NotConnected from None
        raise


def get(table: Any, connection_id: str) -> dict[str, Any]:
    record = table.get_item(Key={"connectionId": connection_id}, ConsistentRead=True).get("Item")
    if record is None:
        raise NotConnected
    return dict(record)


def members(table: Any, index_name: str, room: str, *, now: int) -> Iterator[str]:
    """Connection ids in ``room``, all pages, skipping rows past their TTL that DynamoDB has not
    deleted yet (TTL deletion can lag by days)."""
    kwargs: dict[str, Any] = {
        "IndexName": index_name,
        "KeyConditionExpression": Key("room").eq(room),
        "FilterExpression": Attr("expires_at").gt(now),
        "ProjectionExpression": "connectionId",
    }
    while True:
        page = table.query(**kwargs)
        for item in page.get("Items", []):
            yield str(item["connectionId"])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def broadcast(
    table: Any,
    management: Any,
    index_name: str,
    room: str,
    data: bytes,
    *,
    sender_id: str,
    now: int,
) -> Delivery:
    """Post ``data`` to every connection in ``room`` except the sender.

    A connection API Gateway reports gone (410) is deleted; any other failure to deliver to one
    connection is logged and counted, never raised, so one bad connection cannot stop a message
    reaching the rest. Gone rows are deleted together at the end in batched writes.
    """
    delivered = failed = 0
    gone: list[str] = []
    for connection_id in members(table, index_name, room, now=now):
        if connection_id == sender_id:
            continue
        try:
            management.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as err:
            if _error_code(err) == "GoneException":
                gone.append(connection_id)
            else:
                failed += 1
                logger.warning(
                    "could not deliver", connection_id=connection_id, code=_error_code(err)
                )
        except BotoCoreError as err:  # timeouts, connection resets: this member only
            failed += 1
            logger.warning("could not deliver", connection_id=connection_id, error=str(err))
        else:
            delivered += 1
    if gone:
        _forget(table, gone)
    return Delivery(delivered=delivered, gone=len(gone), failed=failed)


def _forget(table: Any, connection_ids: list[str]) -> None:
    """Delete gone connections, 25 to a BatchWriteItem; the batch writer retries unprocessed
    items. If cleanup still fails, TTL removes the rows later: it must not fail the broadcast."""
    try:
        with table.batch_writer() as batch:
            for connection_id in connection_ids:
                batch.delete_item(Key={"connectionId": connection_id})
    except (ClientError, BotoCoreError):
        logger.exception("could not delete gone connections", count=len(connection_ids))
