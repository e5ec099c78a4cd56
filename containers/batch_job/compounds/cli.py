"""``python -m compounds run --input <csv> --output <prefix>``: one shard, on S3 or local files.

Locations are ``s3://bucket/key`` or local paths, so the job runs the same on a laptop and in
AWS Batch. The input is a CSV with ``id`` and ``smiles`` columns, or an SDF if its name ends
in ``.sdf`` or ``.sd``. The shard index comes from ``AWS_BATCH_JOB_ARRAY_INDEX`` (set by Batch
for array children) unless ``--shard-index`` says otherwise; ``--shard-count`` (else
``$SHARD_COUNT``, else 1) must be the array size.

Exit codes: 0 when the shard was processed (rows RDKit cannot use are reported in the rejects
file, not fatal); 2 when the input, the output location or an argument is unusable (one line
on stderr, nothing written); 1 when AWS failed after the client's retries (one line; what
the shard had written is removed again). The job definition retries only infrastructure
failures, so a non-zero exit ends the job instead of repeating it. A shard's summary is written
last: readers take a shard as done when its summary exists.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from .job import SDF_SUFFIXES, check_shard, process_shard, render
from .paths import InputError, output_keys

LOG = logging.getLogger("compounds")
MAX_INPUT_BYTES = 512 * 1024 * 1024  # the whole CSV is read into memory; size the job to fit
MAX_KEY_BYTES = 1024  # S3's limit on a key
# S3's bucket naming rules (general purpose buckets): 3-63 of a-z, 0-9, '.', '-'.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
_CONTROL_OR_NUL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_ASCII_INT = re.compile(r"[0-9]{1,9}", re.ASCII)  # int() would take "٣", " 3", "+3" and "1_0"
# What S3 answers when a location cannot be used as given: the job's fault, not AWS's.
_UNUSABLE = ("NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidBucketName", "404", "403")


@dataclass(frozen=True)
class Location:
    """``bucket`` is None for a local path, held in ``key``."""

    text: str
    bucket: str | None
    key: str


def parse_location(text: str, *, role: str) -> Location:
    """An ``s3://bucket/key`` URL or a local path, checked before anything is read or written.
    An input needs a key; an output's key is a prefix and may be empty (the bucket's root).
    ``.`` and ``..`` segments are refused in S3 keys: S3 stores them literally, but the
    console and ``aws s3 sync`` read them as a path, outside the folder they appear in."""
    if not text or _CONTROL_OR_NUL.search(text):
        raise InputError(f"--{role} {text!r}: empty, or holds a control character")
    if not text.startswith("s3://"):
        if _SCHEME.match(text):
            raise InputError(f"--{role} {text!r}: expected s3://bucket/key or a local path")
        return Location(text, None, text)
    bucket, _, key = text.removeprefix("s3://").partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InputError(f"--{role} {text!r}: {bucket!r} is not a valid S3 bucket name")
    if role == "input" and (not key or key.endswith("/")):
        raise InputError(f"--{role} {text!r}: expected s3://{bucket}/<key of the CSV>")
    if len(key.encode()) > MAX_KEY_BYTES - 100:  # room for the derived names under a prefix
        raise InputError(f"--{role} {text!r}: key longer than {MAX_KEY_BYTES - 100} bytes")
    if any(part in (".", "..") for part in key.split("/")):
        raise InputError(f"--{role} {text!r}: '.' and '..' are not allowed in the key")
    return Location(text, bucket, key)


def _s3() -> Any:
    import boto3  # only when a location is on S3: local runs need no AWS SDK configuration
    from botocore.config import Config

    # The job definition does not retry a non-zero exit (that is the job's own failure), so
    # throttling and 5xx from S3 are retried here, with backoff, before they can end the job.
    return boto3.client("s3", config=Config(retries={"mode": "standard", "total_max_attempts": 10}))


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def read_input(location: Location, client: Any = None) -> str:
    if location.bucket is not None:
        try:
            response = (client or _s3()).get_object(Bucket=location.bucket, Key=location.key)
        except ClientError as err:
            # Without s3:ListBucket (the job role has none) a missing key is AccessDenied.
            if _code(err) in _UNUSABLE:
                raise InputError(f"cannot read input {location.text}: {_code(err)}") from None
            raise
        except ParamValidationError as err:
            raise InputError(f"cannot read input {location.text}: {err}") from None
        if response["ContentLength"] > MAX_INPUT_BYTES:
            raise InputError(f"{location.text} is larger than {MAX_INPUT_BYTES} bytes")
        data: bytes = response["Body"].read()
    else:
        path = Path(location.key)
        try:
            if not path.is_file():
                raise InputError(f"no such input file {location.text}")
            if path.stat().st_size > MAX_INPUT_BYTES:
                raise InputError(f"{location.text} is larger than {MAX_INPUT_BYTES} bytes")
            data = path.read_bytes()
        except OSError as err:
            raise InputError(f"cannot read input {location.text}: {err.strerror}") from None
    try:
        return data.decode("utf-8-sig")  # tolerate the BOM spreadsheet exports add
    except UnicodeDecodeError as err:
        raise InputError(f"{location.text} is not UTF-8 text: {err}") from None


def write_outputs(
    output: Location, keys: dict[str, str], bodies: dict[str, str], client: Any = None
) -> list[str]:
    """Write each file whole (one PutObject each), the summary last: the summary is the shard's
    commit marker. The old summary goes first, so a re-run that fails half-way never leaves an
    earlier run's summary beside its own new part; and when any step fails, all of the shard's
    files are removed (this run's, including a PUT whose answer was lost, and an earlier run's
    that are no longer committed), so a failed shard (exit 1 or 2) leaves nothing behind."""
    order = [kind for kind in keys if kind != "summary"] + ["summary"]
    if output.bucket is not None:
        return _write_s3(client or _s3(), output, keys, bodies, order)
    return _write_local(output, keys, bodies, order)


def _write_s3(
    client: Any, output: Location, keys: dict[str, str], bodies: dict[str, str], order: list[str]
) -> list[str]:
    bucket = output.bucket
    try:
        client.delete_object(Bucket=bucket, Key=keys["summary"])
        for kind in order:
            key = keys[kind]
            content_type = "application/json" if key.endswith(".json") else "text/csv"
            client.put_object(
                Bucket=bucket, Key=key, Body=bodies[kind].encode(), ContentType=content_type
            )
    except ClientError as err:
        _remove_s3(client, output, keys)
        if _code(err) in _UNUSABLE:
            raise InputError(f"cannot write output {output.text}: {_code(err)}") from None
        raise
    except BaseException:
        _remove_s3(client, output, keys)
        raise
    return [f"s3://{bucket}/{keys[kind]}" for kind in keys]


def _remove_s3(client: Any, output: Location, keys: dict[str, str]) -> None:
    """Best effort, the summary first: if a delete fails too, the shard has no summary, so what
    is left of it is still not a committed result."""
    for kind in sorted(keys, key=lambda k: k != "summary"):
        try:
            client.delete_object(Bucket=output.bucket, Key=keys[kind])
        except (BotoCoreError, ClientError) as err:
            LOG.error("could not remove s3://%s/%s: %s", output.bucket, keys[kind], err)


def _write_local(
    output: Location, keys: dict[str, str], bodies: dict[str, str], order: list[str]
) -> list[str]:
    root = Path(output.key).resolve()
    paths = {kind: Path(key) for kind, key in keys.items()}
    for path in paths.values():
        if not path.resolve().is_relative_to(root):  # output_keys already confines the names
            raise InputError(f"output {path} would leave the folder {output.text}")
    try:
        paths["summary"].unlink(missing_ok=True)
        for kind in order:
            path = paths[kind]
            temporary = path.with_suffix(path.suffix + ".tmp")
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(bodies[kind], encoding="utf-8")
            temporary.replace(path)
    except OSError as err:
        for kind in sorted(paths, key=lambda k: k != "summary"):
            with contextlib.suppress(OSError):
                paths[kind].unlink(missing_ok=True)
        raise InputError(f"cannot write output {err.filename}: {err.strerror}") from None
    return [str(paths[kind]) for kind in keys]


def run(input_location: str, output: str, *, shard_index: int, shard_count: int) -> dict[str, Any]:
    """Process one shard end to end; returns the shard's summary with where it was written."""
    check_shard(shard_index, shard_count)  # before reading up to 512 MiB
    source = parse_location(input_location, role="input")
    target = parse_location(output, role="output")
    keys = output_keys(source.key, target.key, shard_index, shard_count)
    # One client for the read and the writes, made only when a location is on S3.
    client = _s3() if source.bucket is not None or target.bucket is not None else None
    text = read_input(source, client)
    input_format = "sdf" if source.key.lower().endswith(SDF_SUFFIXES) else "csv"
    result = process_shard(
        text, shard_index=shard_index, shard_count=shard_count, input_format=input_format
    )
    summary = result.summary()
    summary["input"] = source.text
    summary["written"] = write_outputs(target, keys, render(result), client)
    return summary


def _ascii_int(name: str, value: str) -> int:
    if not _ASCII_INT.fullmatch(value):
        raise InputError(f"{name}={value!r}: expected a whole number 0-999999999 in ASCII digits")
    return int(value)


def _from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return _ascii_int(name, value) if value else default


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m compounds", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run_parser = commands.add_parser("run", help="process one shard of a compounds CSV")
    run_parser.add_argument(
        "--input", required=True, help="s3://bucket/key.csv or a local path (.sdf: SDF)"
    )
    run_parser.add_argument("--output", required=True, help="s3://bucket/prefix/ or a folder")
    run_parser.add_argument(
        "--shard-index", help="this shard (default: $AWS_BATCH_JOB_ARRAY_INDEX, else 0)"
    )
    run_parser.add_argument("--shard-count", help="shards in all (default: $SHARD_COUNT, else 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")

    try:
        shard_index = (
            _ascii_int("--shard-index", args.shard_index)
            if args.shard_index is not None
            else _from_env("AWS_BATCH_JOB_ARRAY_INDEX", 0)
        )
        shard_count = (
            _ascii_int("--shard-count", args.shard_count)
            if args.shard_count is not None
            else _from_env("SHARD_COUNT", 1)
        )
        summary = run(args.input, args.output, shard_index=shard_index, shard_count=shard_count)
    except InputError as err:
        LOG.error("input error: %s", err)
        return 2
    except (BotoCoreError, ClientError) as err:
        # Throttling and 5xx were retried by the client; what is left is not the input's fault
        # and repeating the job would not help either. One line, for the log and the alarm.
        LOG.error("AWS error: %s", str(err).replace("\n", " "))
        return 1
    # One JSON line: what CloudWatch Logs Insights and the submit tool's user read.
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
