"""Business logic over the items table: plain functions of plain values, testable without an event.

Every write is conditional, so a retry, a race or a stale client never overwrites data: creates
require a new id, replaces require the version the client read, deletes require the item to
exist. A write whose answer was lost (a timeout, a dropped connection, a 5xx, or botocore's
retry meeting its own first attempt) is recognised: creates and replaces store the request's
own token (``last_write``), read back to tell; a delete that finds the item gone is done.
An Idempotency-Key holds while its item exists: once the item is deleted, the same key
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
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from . import strict_json

if TYPE_CHECKING:  # pydantic is imported by the write routes only: reads never pay for it
    from .models import CreateItem, ReplaceItem

# Idempotency keys map to item ids in their own UUID namespace: the same key always names the
# same item, so a retried POST finds the item its first attempt wrote.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1a52-0d8e-4b7e-9a51-3c2d7e0b9f10")
_TOKEN_VERSION = 1
_DESERIALIZE = TypeDeserializer()
_SERIALIZE = TypeSerializer()


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


class OutcomeUnknown(Exception):
    """A write failed in a way that may have applied it (a timeout, a dropped connection, a
    5xx), and reading the item back to tell failed too. ``item_id`` is where to look before
    retrying a create that had no Idempotency-Key."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"the write to item {item_id} may have been applied")
        self.item_id = item_id


@dataclass(frozen=True)
class Table:
    """The items table through DynamoDB's low-level client. A boto3 resource would spare the
    (de)serializing below, but building one costs about as much again as the client at every
    cold start."""

    client: Any
    name: str


def _to_dynamodb(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZE.serialize(v) for k, v in values.items()}


def _from_dynamodb(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZE.deserialize(v) for k, v in record.items()}


def _key(item_id: str) -> dict[str, Any]:
    return {"id": {"S": item_id}}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


def to_response(record: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB record (numbers as Decimal) as the JSON the API returns."""
    item: dict[str, Any] = {
        "id": record["id"],
        "name": record["name"],
        "description": record.get("description", ""),
        "quantity": int(record.get("quantity", 0)),
        "tags": list(record.get("tags", [])),
        "version": int(record["version"]),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    if record.get("expires_at") is not None:
        item["expires_at"] = int(record["expires_at"])
    return item


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fingerprint(fields: CreateItem) -> str:
    return hashlib.sha256(fields.model_dump_json().encode()).hexdigest()


def _is_condition_failure(err: ClientError) -> bool:
    return bool(err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _retried(err: ClientError) -> bool:
    """botocore retried the call: an earlier attempt may have been applied, its answer lost."""
    return bool(err.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))


def _maybe_applied(err: Exception) -> bool:
    """A failure after which the write may have happened: no answer at all, or a 5xx (DynamoDB
    documents that a request answered InternalServerError may have succeeded)."""
    if isinstance(err, BotoCoreError):
        return True
    if not isinstance(err, ClientError):
        return False
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500


def _read_back(table: Table, item_id: str, failure: Exception) -> dict[str, Any] | None:
    """The item as stored now, to tell whether a failed write was applied."""
    try:
        return _get(table, item_id)
    except (BotoCoreError, ClientError):
        raise OutcomeUnknown(item_id) from failure


def _new_write() -> str:
    """A token for one request's write, stored with the item (``last_write``), so that the
    request recognises its own write when the answer to it was lost."""
    return str(uuid.uuid4())


def item_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, idempotency_key))


def create_item(
    table: Table, fields: CreateItem, *, idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Store a new item. Returns ``(item, created)``; ``created`` is False on an idempotent replay.

    A replay with the same key and the same body returns the stored item; the same key with a
    different body raises :class:`IdempotencyKeyReused` and writes nothing.
    """
    now = _now()
    write = _new_write()
    record: dict[str, Any] = {
        "id": item_id_for(idempotency_key),
        **fields.model_dump(exclude_none=True),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "fingerprint": _fingerprint(fields),
        "last_write": write,
    }
    try:
        table.client.put_item(
            TableName=table.name,
            Item=_to_dynamodb(record),
            ConditionExpression="attribute_not_exists(id)",
        )
    except (BotoCoreError, ClientError) as err:
        condition_failed = isinstance(err, ClientError) and _is_condition_failure(err)
        if not condition_failed and not _maybe_applied(err):
            raise
        # Either the id exists (a replay, or our own first attempt that botocore retried), or
        # the write may have been applied: the stored item says which.
        existing = _read_back(table, record["id"], err)
        if existing is not None and existing.get("last_write") == write:
            return to_response(existing), True
        if not condition_failed:
            raise
        if idempotency_key is None:
            raise
        if existing is None or existing.get("fingerprint") != record["fingerprint"]:
            raise IdempotencyKeyReused from None
        return to_response(existing), False
    return to_response(record), True


def _get(table: Table, item_id: str) -> dict[str, Any] | None:
    record = table.client.get_item(TableName=table.name, Key=_key(item_id), ConsistentRead=True)
    return _from_dynamodb(record["Item"]) if "Item" in record else None


def get_item(table: Table, item_id: str) -> dict[str, Any]:
    record = _get(table, item_id)
    if record is None:
        raise ItemNotFound
    return to_response(record)


def replace_item(table: Table, item_id: str, fields: ReplaceItem) -> dict[str, Any]:
    """Replace an item's fields if, and only if, it is still at ``fields.version``."""
    values = fields.model_dump(exclude={"version"})
    expires_at = values.pop("expires_at")
    names = {"#v": "version", **{f"#{k}": k for k in values}}
    update = ", ".join(f"#{k} = :{k}" for k in values)
    write = _new_write()
    attribute_values: dict[str, Any] = {
        **{f":{k}": v for k, v in values.items()},
        ":expected": fields.version,
        ":one": 1,
        ":now": _now(),
        ":write": write,
    }
    expression = f"SET {update}, #v = #v + :one, updated_at = :now, last_write = :write"
    if expires_at is None:
        expression += " REMOVE expires_at"
    else:
        expression += ", expires_at = :expires_at"
        attribute_values[":expires_at"] = expires_at
    try:
        result = table.client.update_item(
            TableName=table.name,
            Key=_key(item_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(id) AND #v = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_dynamodb(attribute_values),
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except (BotoCoreError, ClientError) as err:
        if isinstance(err, ClientError) and _is_condition_failure(err):
            # The item as it was when the condition failed: no second read, no race.
            current = err.response.get("Item")
            if not current:
                raise ItemNotFound from None
            stored = _from_dynamodb(current)
            if stored.get("last_write") == write:  # our own first attempt, retried by botocore
                return to_response(stored)
            raise VersionConflict(int(stored["version"])) from None
        if not _maybe_applied(err):
            raise
        stored_now = _read_back(table, item_id, err)
        if stored_now is not None and stored_now.get("last_write") == write:
            return to_response(stored_now)
        raise
    return to_response(_from_dynamodb(result["Attributes"]))


def delete_item(table: Table, item_id: str) -> None:
    try:
        table.client.delete_item(
            TableName=table.name, Key=_key(item_id), ConditionExpression="attribute_exists(id)"
        )
    except (BotoCoreError, ClientError) as err:
        if isinstance(err, ClientError) and _is_condition_failure(err):
            if _retried(err):
                return  # an earlier attempt deleted it; its answer was lost
            raise ItemNotFound from None
        if _maybe_applied(err) and _read_back(table, item_id, err) is None:
            return  # gone: whether by this request or just before it, the item is deleted
        raise


def list_items(table: Table, *, limit: int, next_token: str | None) -> Page:
    kwargs: dict[str, Any] = {"TableName": table.name, "Limit": limit}
    if next_token is not None:
        kwargs["ExclusiveStartKey"] = _to_dynamodb(decode_token(next_token))
    result = table.client.scan(**kwargs)
    last_key = result.get("LastEvaluatedKey")
    return Page(
        items=[to_response(_from_dynamodb(r)) for r in result.get("Items", [])],
        next_token=encode_token(_from_dynamodb(last_key)) if last_key else None,
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
