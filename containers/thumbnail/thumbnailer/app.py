"""S3 ObjectCreated -> thumbnails in another bucket.

For each record of the event: read the object once (streamed into a spool that stays in memory
up to 32 MiB, then spills to /tmp), render every configured width, and write each thumbnail to
``DESTINATION_BUCKET`` under ``DESTINATION_PREFIX<width>/<key relative to SOURCE_PREFIX>``,
with metadata naming its source.

Two kinds of failure, handled differently:

- The record or the object can never become a thumbnail (a malformed record, an object empty,
  too large, not an image, a decompression bomb, corrupt, beyond the output format's size
  limits, deleted or replaced since the event; anything decoding or encoding it raises):
  logged once with the reason, counted in the ``ObjectsSkipped`` metric, and not retried:
  retrying cannot help and would only end in the failure queue.
- Anything else (S3 throttling, a network error, S3 refusing access): the other records of the
  event are still processed, then the invocation fails so Lambda retries it; after the last
  retry the event goes to the on-failure queue. Writes overwrite the same keys with the same
  bytes, so a retry or a duplicate S3 event is harmless. When one thumbnail of an object fails
  to upload, the ones already written for it are deleted: an object is fully thumbnailed or
  not at all, never half (a reader may take "the 160 px thumbnail exists" to mean they all do).

Configuration (set by the construct): ``DESTINATION_BUCKET``, ``DESTINATION_PREFIX``,
``SOURCE_PREFIX``, ``WIDTHS`` (comma-separated), ``OUTPUT_FORMAT`` (JPEG|PNG|WEBP, empty to keep
the source's), ``QUALITY``, ``MAX_PIXELS``, ``MAX_BYTES``, and Powertools' own variables.
"""

from __future__ import annotations

import hashlib
import posixpath
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from .config import Settings
from .imaging import Rejected, Rendered, render

READ_CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 32 * 1024 * 1024
_GONE = {"NoSuchKey", "NoSuchVersion", "404"}
_REPLACED = {"PreconditionFailed", "412"}
# S3's limits: a key is at most 1024 bytes of UTF-8; user metadata at most 2 KB in all.
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048

logger = Logger()
metrics = Metrics()
SETTINGS = Settings.from_env()
s3 = boto3.client("s3")


class RetryLater(Exception):
    """Some records failed for reasons a retry may fix; Lambda retries the whole event."""


@dataclass(frozen=True)
class SourceObject:
    bucket: str
    key: str
    size: int | None
    etag: str | None
    version_id: str | None


def parse_record(record: object) -> SourceObject:
    """The object a record is about. S3 URL-encodes keys in events (spaces as ``+``, UTF-8 as
    ``%XX``); the real key is what GetObject needs. Anything else than the shape S3 sends (a
    missing or null part, a number where a string belongs) is ``Rejected``: the same record
    would be malformed on every retry."""
    if not isinstance(record, dict):
        raise Rejected("malformed_record", f"a record is an object, not {type(record).__name__}")
    event_name = record.get("eventName")
    if record.get("eventSource") != "aws:s3" or not (
        isinstance(event_name, str) and event_name.startswith("ObjectCreated:")
    ):
        raise Rejected("not_object_created", f"{event_name!r} is not ours")
    s3_part = record.get("s3")
    bucket = s3_part.get("bucket") if isinstance(s3_part, dict) else None
    obj = s3_part.get("object") if isinstance(s3_part, dict) else None
    if not isinstance(bucket, dict) or not isinstance(obj, dict):
        raise Rejected("malformed_record", "s3.bucket and s3.object must be objects")
    name, key = bucket.get("name"), obj.get("key")
    size, etag, version_id = obj.get("size"), obj.get("eTag"), obj.get("versionId")
    if not (isinstance(name, str) and name and isinstance(key, str) and key):
        raise Rejected("malformed_record", "s3.bucket.name and s3.object.key must be strings")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise Rejected("malformed_record", f"s3.object.size {size!r} is not a byte count")
    for field, value in (("eTag", etag), ("versionId", version_id)):
        # Both go into request headers and metadata, which must be printable ASCII.
        if value is not None and not (isinstance(value, str) and value.isascii()):
            raise Rejected("malformed_record", f"s3.object.{field} {value!r} is not ASCII")
        if isinstance(value, str) and not value.isprintable():
            raise Rejected("malformed_record", f"s3.object.{field} {value!r} is not printable")
    key = unquote_plus(key)
    try:
        (name + key).encode()
    except UnicodeEncodeError:  # a lone surrogate, "\ud800" in the JSON: not an S3 key
        raise Rejected("malformed_record", "bucket name or key is not valid Unicode") from None
    return SourceObject(
        bucket=name,
        key=key,
        size=size,
        etag=etag or None,
        version_id=version_id or None,
    )


def record_key(record: object) -> str:
    """The record's object key as the event spells it, for logs; ``?`` when there is none."""
    s3_part = record.get("s3") if isinstance(record, dict) else None
    obj = s3_part.get("object") if isinstance(s3_part, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    return key if isinstance(key, str) else "?"


def destination_key(
    settings: Settings, source_key: str, width: int, extensions: Sequence[str]
) -> str:
    """``<destination prefix><width>/<source key without the source prefix>``, plus ``.<ext>``
    when the key's own extension does not name the output format: ``uploads/a/b.png`` gives
    ``thumbnails/160/a/b.png``, and ``uploads/a/b.tiff`` gives ``thumbnails/160/a/b.tiff.jpg``.

    The extension is appended, never swapped: ``b.jpg``, ``b.jpeg``, ``b.JPG`` and ``b.tiff`` are
    four different uploads and keep four different thumbnails."""
    relative = source_key[len(settings.source_prefix) :]
    if posixpath.splitext(relative)[1][1:].lower() not in extensions:
        relative = f"{relative}.{extensions[0]}"
    return f"{settings.destination_prefix}{width}/{relative}"


def check_before_download(settings: Settings, source: SourceObject) -> None:
    if source.bucket == settings.destination_bucket and source.key.startswith(
        settings.destination_prefix
    ):
        # The construct never lets this happen; this guard stops a hand-made loop anyway.
        raise Rejected("own_output", "the object is one of our own thumbnails")
    if not source.key.startswith(settings.source_prefix):
        raise Rejected("outside_prefix", f"key is not under {settings.source_prefix!r}")
    if source.size == 0:
        raise Rejected("empty", "zero-byte object")
    if source.size is not None and source.size > settings.max_bytes:
        raise Rejected("too_large", f"{source.size} bytes is over {settings.max_bytes}")


def download(client: Any, source: SourceObject, max_bytes: int) -> IO[bytes]:
    """The object's bytes in a spool, read once in chunks; the exact version the event is about
    (VersionId, or the ETag as a precondition when the bucket is not versioned)."""
    request: dict[str, str] = {"Bucket": source.bucket, "Key": source.key}
    if source.version_id:
        request["VersionId"] = source.version_id
    elif source.etag:
        request["IfMatch"] = source.etag
    try:
        response = client.get_object(**request)
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code"))
        if code in _GONE:
            raise Rejected("gone", "deleted before we read it") from None
        if code in _REPLACED:
            raise Rejected(
                "replaced", "overwritten since the event; its own event follows"
            ) from None
        raise
    body = response["Body"]
    try:
        length = int(response.get("ContentLength") or 0)
        if length == 0:
            raise Rejected("empty", "zero-byte object")
        if length > max_bytes:
            raise Rejected("too_large", f"{length} bytes is over {max_bytes}")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        copied = 0
        for chunk in body.iter_chunks(READ_CHUNK):
            copied += len(chunk)
            if copied > max_bytes:  # never trust ContentLength alone with memory and /tmp
                spool.close()
                raise Rejected("too_large", f"more than {max_bytes} bytes")
            spool.write(chunk)
        spool.seek(0)
        return spool
    finally:
        body.close()


def source_metadata(source: SourceObject, rendered: Rendered) -> dict[str, str]:
    """What links a thumbnail to its source, within S3's limits on user metadata: ASCII only
    (the key is percent-encoded, as in the event) and 2 KB in all. A key too long to fit once
    encoded is replaced by its SHA-256; the thumbnail's own key still mirrors it."""
    metadata = {
        "source-bucket": source.bucket,
        "source-key": quote(source.key, safe="/"),
        "source-width": str(rendered.source_size[0]),
        "source-height": str(rendered.source_size[1]),
    }
    if source.etag:
        metadata["source-etag"] = source.etag
    if source.version_id:
        metadata["source-version-id"] = source.version_id
    # Room for the two thumbnail-* entries each PUT adds (5-digit sizes at most).
    if _metadata_bytes(metadata) + 2 * len("thumbnail-height12345") > MAX_METADATA_BYTES:
        del metadata["source-key"]
        metadata["source-key-sha256"] = hashlib.sha256(source.key.encode()).hexdigest()
    return metadata


def _metadata_bytes(metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())


def write_thumbnails(
    client: Any, settings: Settings, source: SourceObject, rendered: Rendered
) -> list[str]:
    keys = [
        destination_key(settings, source.key, thumb.width, thumb.extensions)
        for thumb in rendered.thumbnails
    ]
    # Checked before the first PUT, so an object is either fully thumbnailed or not at all.
    too_long = [k for k in keys if len(k.encode()) > MAX_KEY_BYTES]
    if too_long:
        raise Rejected("key_too_long", f"{too_long[0]!r} is over S3's {MAX_KEY_BYTES} bytes")
    metadata = source_metadata(source, rendered)
    attempted: list[str] = []
    try:
        for key, thumb in zip(keys, rendered.thumbnails, strict=True):
            # Counted before the call: a PUT whose response was lost may still have been stored.
            attempted.append(key)
            client.put_object(
                Bucket=settings.destination_bucket,
                Key=key,
                Body=thumb.data,
                ContentType=thumb.content_type,
                Metadata={
                    **metadata,
                    "thumbnail-width": str(thumb.size[0]),
                    "thumbnail-height": str(thumb.size[1]),
                },
            )
    except Exception:
        _remove(client, settings.destination_bucket, attempted)
        raise
    return keys


def _remove(client: Any, bucket: str, keys: list[str]) -> None:
    """Undo a partial set of thumbnails, so the object is either fully thumbnailed or not at
    all while its event waits for Lambda's retry (or for good, after the last one). If this
    fails too it is logged (``ThumbnailCleanupFailed``) and the retry's writes replace the set."""
    try:
        errors = client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        ).get("Errors", [])
    except Exception:
        logger.exception("could not remove a partial set of thumbnails", extra={"keys": keys})
        errors = keys
    if errors:
        logger.error("a partial set of thumbnails is left", extra={"errors": errors})
        metrics.add_metric(name="ThumbnailCleanupFailed", unit=MetricUnit.Count, value=1)


def process(client: Any, settings: Settings, record: object) -> list[str]:
    """Thumbnails for one record; the keys written. Raises ``Rejected`` to skip the object."""
    source = parse_record(record)
    check_before_download(settings, source)
    with download(client, source, settings.max_bytes) as spool:
        rendered = render(spool, settings)
    written = write_thumbnails(client, settings, source, rendered)
    logger.info(
        "thumbnails written",
        extra={
            "source_key": source.key,
            "source_format": rendered.source_format,
            "source_size": rendered.source_size,
            "animated": rendered.animated,
            "thumbnails": written,
        },
    )
    return written


def handle_event(event: object, *, settings: Settings, client: Any) -> dict[str, Any]:
    """Every record of the event, each on its own: one record's failure never stops the others.

    Returns ``{"written": [thumbnail keys], "skipped": [{"key", "reason"}]}`` when every record
    was either thumbnailed or rejected (rejections are logged once, with their reason, and
    counted in ``ObjectsSkipped``). When any record failed for a reason a retry may fix (S3
    throttling, a network error), the others are still finished, then ``RetryLater`` names the
    failed keys, so that Lambda retries the event: the records that succeeded are rewritten
    with the same bytes and the rejected ones are rejected again.
    """
    records = event.get("Records") if isinstance(event, dict) else None
    if records is None:
        records = []  # s3:TestEvent, sent when notifications are set up
    written: list[str] = []
    skipped: list[dict[str, str]] = []
    failed: list[str] = []
    if not isinstance(records, list):
        records = [records]  # rejected as one malformed record below
    for record in records:
        key = record_key(record)
        try:
            written += process(client, settings, record)
        except Rejected as rejected:
            logger.warning(
                "object skipped",
                extra={"key": key, "reason": rejected.reason, "detail": rejected.detail},
            )
            skipped.append({"key": key, "reason": rejected.reason})
        except Exception:
            logger.exception("object failed; the event will be retried", extra={"key": key})
            failed.append(key)
    metrics.add_metric(name="ThumbnailsWritten", unit=MetricUnit.Count, value=len(written))
    metrics.add_metric(name="ObjectsSkipped", unit=MetricUnit.Count, value=len(skipped))
    metrics.add_metric(name="ObjectsFailed", unit=MetricUnit.Count, value=len(failed))
    if failed:
        raise RetryLater(f"{len(failed)} of {len(records)} objects failed: {failed}")
    return {"written": written, "skipped": skipped}


# The context is unused here but part of Lambda's signature; the Powertools decorators read it.
@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    return handle_event(event, settings=SETTINGS, client=s3)
