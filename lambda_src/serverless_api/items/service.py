"""Business logic over the items table: plain functions of plain values, testable without an event.

Every write is conditional, so a retry, a race or a stale client never overwrites data: creates
require a new id, replaces require the version the client read, deletes require the item to
exist. An Idempotency-Key holds while its item exists: once the item is deleted, the same key
creates it afresh.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from . import strict_json
from .models import CreateItem, ReplaceItem, to_response

# Idempotency keys map to item ids in their own UUID namespace: the same key always names the
# same item, so a retried POST finds the item its first attempt wrote.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1a52-0d8e-4b7e-9a51-3c2d7e0b9f10")
_TOKEN_VERSION = 1
_DESERIALIZE = TypeDeserializer()


class ItemNotFound(Exception):
    pass


class VersionConflict(Exception):
    def __init__(self, current_version: int) -> None:
        super().__init__(f"item is at version {current_version}")
        self.current_version = current_version


class IdempotencyKeyReused(Exception):
    pass


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fingerprint(fields: CreateItem) -> str:
    return hashlib.sha256(fields.model_dump_json().encode()).hexdigest()


def _is_condition_failure(err: ClientError) -> bool:
    return bool(err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def item_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, idempotency_key))


def create_item(
    table: Any, fields: CreateItem, *, idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Store a new item. Returns ``(item, created)``; ``created`` is False on an idempotent replay.

    A replay with the same key and the same body returns the stored item; the same key with a
    different body raises :class:`IdempotencyKeyReused` and writes nothing.
    """
    now = _now()
    record: dict[str, Any] = {
        "id": item_id_for(idempotency_key),
        **fields.model_dump(exclude_none=True),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "fingerprint": _fingerprint(fields),
    }
    try:
        table.put_item(Item=record, ConditionExpression="attribute_not_exists(id)")
    except ClientError as err:
        if not _is_condition_failure(err) or idempotency_key is None:
            raise
        existing = table.get_item(Key={"id": record["id"]}, ConsistentRead=True).get("Item")
        if existing is None or existing.get("fingerprint") != record["fingerprint"]:
            raise IdempotencyKeyReused from None
        return to_response(existing), False
    return to_response(record), True


def get_item(table: Any, item_id: str) -> dict[str, Any]:
    record = table.get_item(Key={"id": item_id}, ConsistentRead=True).get("Item")
    if record is None:
        raise ItemNotFound
    return to_response(record)


def replace_item(table: Any, item_id: str, fields: ReplaceItem) -> dict[str, Any]:
    """Replace an item's fields if, and only if, it is still at ``fields.version``."""
    values = fields.model_dump(exclude={"version"})
    expires_at = values.pop("expires_at")
    names = {"#v": "version", **{f"#{k}": k for k in values}}
    update = ", ".join(f"#{k} = :{k}" for k in values)
    attribute_values: dict[str, Any] = {
        **{f":{k}": v for k, v in values.items()},
        ":expected": fields.version,
        ":one": 1,
        ":now": _now(),
    }
    expression = f"SET {update}, #v = #v + :one, updated_at = :now"
    if expires_at is None:
        expression += " REMOVE expires_at"
    else:
        expression += ", expires_at = :expires_at"
        attribute_values[":expires_at"] = expires_at
    try:
        result = table.update_item(
            Key={"id": item_id},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(id) AND #v = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as err:
        if not _is_condition_failure(err):
            raise
        # The item as it was when the condition failed: no second read, no race.
        current = err.response.get("Item")
        if not current:
            raise ItemNotFound from None
        raise VersionConflict(int(_DESERIALIZE.deserialize(current["version"]))) from None
    return to_response(result["Attributes"])


def delete_item(table: Any, item_id: str) -> None:
    try:
        table.delete_item(Key={"id": item_id}, ConditionExpression="attribute_exists(id)")
    except ClientError as err:
        if _is_condition_failure(err):
            raise ItemNotFound from None
        raise


def list_items(table: Any, *, limit: int, next_token: str | None) -> Page:
    kwargs: dict[str, Any] = {"Limit": limit}
    if next_token is not None:
        kwargs["ExclusiveStartKey"] = decode_token(next_token)
    result = table.scan(**kwargs)
    last_key = result.get("LastEvaluatedKey")
    return Page(
        items=[to_response(r) for r in result.get("Items", [])],
        next_token=encode_token(last_key) if last_key else None,
    )


def encode_token(last_key: dict[str, Any]) -> str:
    payload = json.dumps({"v": _TOKEN_VERSION, "id": str(last_key["id"])}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, str]:
    """The DynamoDB start key inside a next-token, or :class:`InvalidToken`.

    Tokens are opaque to clients but not secret: one a client builds itself can only start a
    listing at an id it could list anyway. What is checked is that it is exactly our shape.
    """
    if len(token) > 200:
        raise InvalidToken
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = strict_json.loads(raw)
    except (binascii.Error, ValueError):  # InvalidJSON is a ValueError
        raise InvalidToken from None
    if (
        not isinstance(payload, dict)
        or set(payload) != {"v", "id"}
        or type(payload["v"]) is not int  # not bool: True == 1 in Python
        or payload["v"] != _TOKEN_VERSION
        or not isinstance(payload["id"], str)
        or not is_item_id(payload["id"])
    ):
        raise InvalidToken
    return {"id": payload["id"]}


def is_item_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
