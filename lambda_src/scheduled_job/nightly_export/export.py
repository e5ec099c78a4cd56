"""The export itself, in plain functions that take clients and values (no Lambda event).

Layout of one run, keyed by the scheduled time so that a re-run of the same time overwrites
instead of duplicating::

    <prefix>table=<table>/dt=2026-11-23/run=020000Z/part-00000.jsonl.gz
    <prefix>table=<table>/dt=2026-11-23/run=020000Z/part-00001.jsonl.gz
    <prefix>table=<table>/dt=2026-11-23/run=020000Z/_manifest.json   <- written last
    <prefix>table=<table>/dt=2026-11-23/run=020000Z/_lock            <- only while running

A run removes the old manifest first and writes the new one last, so "the manifest exists"
means "every part it lists is complete and from one run". Readers start from the manifest.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger(child=True)

# The C-accelerated string quoting behind json.dumps(..., ensure_ascii=False), without the
# per-call encoder set-up: strings are most of an item, so this is most of the export's CPU.
_quote: Any = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.encode_basestring

MANIFEST = "_manifest.json"
LOCK = "_lock"
PART_CONTENT_TYPE = "application/gzip"
# Parts are built on local disk beyond this size, so memory stays flat whatever the part size.
_SPOOL_BYTES = 32 * 1024 * 1024


class InvalidInput(ValueError):
    """The event cannot be exported as given; retrying it unchanged will not help."""


class LockHeld(RuntimeError):
    """Another run of the same scheduled time holds the lock, or died holding it.

    An error, not a quiet skip: with reserved concurrency 1 the usual holder is a run that
    timed out, so this invocation must fail and be retried (Lambda retries it after 1 and 3
    minutes; by then the lock has expired) rather than report a success nobody produced.
    """


@dataclass(frozen=True)
class ExportResult:
    run_prefix: str
    records: int = 0
    parts: list[dict[str, Any]] = field(default_factory=list)


def parse_scheduled_time(event: Any) -> datetime:
    """The run's scheduled time from the event, as an aware UTC datetime to the second.

    EventBridge Scheduler fills ``scheduled_time`` from ``<aws.scheduler.scheduled-time>``
    (ISO 8601, UTC). A manual run passes the same field.
    """
    if not isinstance(event, Mapping):
        raise InvalidInput("event must be a JSON object with a scheduled_time")
    raw = event.get("scheduled_time")
    if raw is None or raw == "":
        raise InvalidInput(
            "scheduled_time is missing: the schedule passes <aws.scheduler.scheduled-time>; "
            'a manual run passes e.g. {"scheduled_time": "2026-11-23T02:00:00Z"}'
        )
    if not isinstance(raw, str):
        raise InvalidInput(f"scheduled_time must be an ISO 8601 string, got {type(raw).__name__}")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"scheduled_time {raw[:64]!r} is not ISO 8601 (e.g. 2026-11-23T02:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"scheduled_time {raw!r} has no time zone; use Z or +hh:mm")
    try:
        return parsed.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        raise InvalidInput(
            f"scheduled_time {raw!r} is outside the years 1 to 9999 in UTC"
        ) from None


def run_prefix(prefix: str, table_name: str, scheduled: datetime) -> str:
    return f"{prefix}table={table_name}/dt={scheduled:%Y-%m-%d}/run={scheduled:%H%M%S}Z/"


# -- DynamoDB JSON -> plain JSON ----------------------------------------------------------------


def attribute_to_json(value: Mapping[str, Any]) -> str:
    """One DynamoDB attribute value as JSON text, numbers exactly as stored.

    Working from the low-level form keeps numbers lossless: DynamoDB's ``N`` is a decimal
    string of up to 38 digits and goes out as that JSON number, never through a float. Sets
    become sorted lists (sets have no order), binary becomes base64 text.
    """
    ((kind, data),) = value.items()
    if kind == "S":
        return str(_quote(data))
    if kind == "N":
        return str(data)
    if kind == "BOOL":
        return "true" if data else "false"
    if kind == "NULL":
        return "null"
    if kind == "B":
        return str(_quote(base64.b64encode(data).decode()))
    if kind == "SS":
        return "[" + ",".join(_quote(v) for v in sorted(data)) + "]"
    if kind == "NS":
        return "[" + ",".join(sorted(data)) + "]"
    if kind == "BS":
        return (
            "["
            + ",".join(_quote(v) for v in sorted(base64.b64encode(b).decode() for b in data))
            + "]"
        )
    if kind == "L":
        return "[" + ",".join(attribute_to_json(v) for v in data) + "]"
    if kind == "M":
        return item_to_json(data)
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_to_json(item: Mapping[str, Mapping[str, Any]]) -> str:
    return (
        "{" + ",".join(f"{_quote(k)}:{attribute_to_json(v)}" for k, v in sorted(item.items())) + "}"
    )


def scan_items(
    dynamodb: Any, table_name: str, *, page_size: int | None, consistent_read: bool
) -> Iterator[Mapping[str, Any]]:
    config = {"PageSize": page_size} if page_size else {}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table_name, ConsistentRead=consistent_read, PaginationConfig=config
    )
    for page in pages:
        yield from page.get("Items", [])


# -- the lock -----------------------------------------------------------------------------------


def _precondition_failed(err: ClientError) -> bool:
    # 409 ConditionalRequestConflict: another conditional write to the key won a race with us.
    code = err.response.get("Error", {}).get("Code")
    return code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


def _holder(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The lock object's HEAD (``Metadata.owner``, ``LastModified``, ``ETag``), None if absent."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as err:
        # S3 answers a HEAD of a missing key with 403, not 404, unless the caller may list the
        # bucket unconditionally; the construct allows listing under the prefix only. With
        # s3:GetObject granted (it is), 403 here means the lock has gone.
        if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound", "403"):
            raise
        return None


def _ours(held: Mapping[str, Any] | None, owner: str) -> bool:
    return held is not None and held.get("Metadata", {}).get("owner") == owner


def acquire_lock(
    s3: Any, bucket: str, key: str, *, owner: str, ttl_seconds: int, now: datetime
) -> bool:
    """Create the lock object only if absent (S3 conditional write); take it over only if it
    is older than ``ttl_seconds`` (longer than the function timeout, so its holder is dead)
    and only if nobody took it over first (``If-Match`` on the stale lock's ETag).

    The owner (the invocation's request id, which Lambda keeps across its retries of one event)
    is in the lock's metadata, so a lock this owner already holds is recognised as its own: a
    write S3 applied but whose answer was lost (botocore's retry then meets it as "already
    exists"), or the lock of this event's earlier attempt."""
    body = json.dumps({"owner": owner, "acquired_at": now.isoformat()}).encode()
    put = {"Bucket": bucket, "Key": key, "Body": body, "Metadata": {"owner": owner}}
    try:
        s3.put_object(**put, IfNoneMatch="*")
        return True
    except ClientError as err:
        if not _precondition_failed(err):
            if _ours(_holder(s3, bucket, key), owner):
                return True  # applied, then the answer was an error
            raise
    except BotoCoreError:
        if _ours(_holder(s3, bucket, key), owner):
            return True  # applied, then the answer was lost
        raise
    held = _holder(s3, bucket, key)
    if held is None:
        return False  # released between our two calls: that run has just finished
    if _ours(held, owner):
        return True
    age = (now - held["LastModified"]).total_seconds()
    if age < ttl_seconds:
        return False
    try:
        s3.put_object(**put, IfMatch=held["ETag"])
        return True
    except ClientError as err:
        if _precondition_failed(err):
            return _ours(_holder(s3, bucket, key), owner)
        raise


def release_lock(s3: Any, bucket: str, key: str) -> None:
    """Unconditional is safe: nobody takes a lock over before its TTL, which outlasts us. Tried
    twice (a delete is idempotent), so one lost answer does not leave the lock behind."""
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (BotoCoreError, ClientError):
        s3.delete_object(Bucket=bucket, Key=key)


# -- the export ---------------------------------------------------------------------------------


def _upload_part(
    s3: Any, bucket: str, key: str, spool: IO[bytes], records: int, scheduled: datetime
) -> dict[str, Any]:
    size = spool.tell()
    spool.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: spool.read(1024 * 1024), b""):
        digest.update(chunk)
    spool.seek(0)
    s3.upload_fileobj(
        spool,
        bucket,
        key,
        ExtraArgs={
            "ContentType": PART_CONTENT_TYPE,
            "Metadata": {"scheduled-time": scheduled.isoformat(), "records": str(records)},
        },
    )
    return {"key": key, "records": records, "bytes": size, "sha256": digest.hexdigest()}


def _write_parts(
    s3: Any,
    bucket: str,
    prefix: str,
    items: Iterator[Mapping[str, Any]],
    *,
    records_per_part: int,
    scheduled: datetime,
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    while True:
        batch = itertools.islice(items, records_per_part)
        first = next(batch, None)
        if first is None:
            return parts
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            # mtime=0: the same data gives the same bytes, so a re-run is a true overwrite.
            with gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=6, mtime=0) as zipped:
                count = 0
                for item in itertools.chain([first], batch):
                    zipped.write(item_to_json(item).encode() + b"\n")
                    count += 1
            key = f"{prefix}part-{len(parts):05d}.jsonl.gz"
            parts.append(_upload_part(s3, bucket, key, spool, count, scheduled))


def _delete_stale_parts(s3: Any, bucket: str, prefix: str, keep: set[str]) -> None:
    """Parts of an earlier run of this time that this run did not write (the table shrank)."""
    stale: list[dict[str, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}part-"
    ):
        stale += [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] not in keep]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})


def export_table(
    *,
    dynamodb: Any,
    s3: Any,
    table_name: str,
    bucket: str,
    prefix: str,
    scheduled: datetime,
    owner: str,
    records_per_part: int = 100_000,
    page_size: int | None = None,
    consistent_read: bool = False,
    lock_ttl_seconds: int = 960,
    now: datetime | None = None,
) -> ExportResult:
    """Export every item of ``table_name`` for the run scheduled at ``scheduled``."""
    if records_per_part < 1:
        raise ValueError("records_per_part must be at least 1")
    run = run_prefix(prefix, table_name, scheduled)
    lock_key = f"{run}{LOCK}"
    started = now or datetime.now(UTC)
    if not acquire_lock(
        s3, bucket, lock_key, owner=owner, ttl_seconds=lock_ttl_seconds, now=started
    ):
        raise LockHeld(
            f"another run of {scheduled.isoformat()} holds s3://{bucket}/{lock_key}; "
            f"retry after it finishes or after {lock_ttl_seconds} s (its holder then is dead)"
        )
    try:
        result = _export(
            dynamodb,
            s3,
            table_name=table_name,
            bucket=bucket,
            run=run,
            scheduled=scheduled,
            started=started,
            records_per_part=records_per_part,
            page_size=page_size,
            consistent_read=consistent_read,
        )
    except BaseException as failure:
        # Nothing half-written stays visible: no manifest, no part (an earlier run's parts lost
        # their manifest when this run began, so they are not an export any more either).
        _remove_run(s3, bucket, run, failure)
        _release_after(s3, bucket, lock_key, failure)
        raise
    _release_after(s3, bucket, lock_key, None)
    return result


def _remove_run(s3: Any, bucket: str, run: str, failure: BaseException) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=f"{run}{MANIFEST}")
        _delete_stale_parts(s3, bucket, run, set())
    except (BotoCoreError, ClientError):
        # The parts left have no manifest, so readers (who start from it) still skip them;
        # the next run of this time overwrites or deletes them.
        logger.exception("could not remove the parts of a failed export", failure=repr(failure))


def _release_after(s3: Any, bucket: str, key: str, failure: BaseException | None) -> None:
    """Release the lock; a release that fails neither fails a complete export nor hides why an
    export failed. The lock then expires after its TTL; this event's own retry (same owner)
    takes it back at once."""
    try:
        release_lock(s3, bucket, key)
    except (BotoCoreError, ClientError):
        logger.exception("could not release the lock", lock=key, export_failed=bool(failure))
        if failure is not None:
            failure.add_note(f"the lock s3://{bucket}/{key} could not be released either")


def _export(
    dynamodb: Any,
    s3: Any,
    *,
    table_name: str,
    bucket: str,
    run: str,
    scheduled: datetime,
    started: datetime,
    records_per_part: int,
    page_size: int | None,
    consistent_read: bool,
) -> ExportResult:
    # Not complete any more from here until the new manifest is written.
    s3.delete_object(Bucket=bucket, Key=f"{run}{MANIFEST}")
    items = scan_items(dynamodb, table_name, page_size=page_size, consistent_read=consistent_read)
    parts = _write_parts(
        s3, bucket, run, items, records_per_part=records_per_part, scheduled=scheduled
    )
    _delete_stale_parts(s3, bucket, run, {p["key"] for p in parts})
    records = sum(p["records"] for p in parts)
    manifest = {
        "table": table_name,
        "scheduled_time": scheduled.isoformat().replace("+00:00", "Z"),
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "format": "jsonl+gzip",
        "consistent_read": consistent_read,
        "records": records,
        "parts": parts,
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"{run}{MANIFEST}",
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    return ExportResult(run, records=records, parts=parts)
