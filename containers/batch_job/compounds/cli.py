"""``python -m compounds run --input <csv> --output <prefix>``: one shard, on S3 or local files.

Locations are ``s3://bucket/key`` or local paths, so the job runs the same on a laptop and in
AWS Batch. The shard index comes from ``AWS_BATCH_JOB_ARRAY_INDEX`` (set by Batch for array
children) unless ``--shard-index`` says otherwise; ``--shard-count`` must be the array size.

Exit codes: 0 when the shard was processed (malformed rows are reported in the errors file,
not fatal), 2 when the input itself is unusable. The job definition retries only
infrastructure failures, so a non-zero exit here ends the job instead of repeating it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .job import InputError, check_shard, output_keys, process_shard, render

LOG = logging.getLogger("compounds")
MAX_INPUT_BYTES = 512 * 1024 * 1024  # the whole CSV is read into memory; size the job to fit


def _split_s3(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise InputError(f"not an s3://bucket/key location: {url!r}")
    return bucket, key


def _s3() -> Any:
    import boto3  # only when a location is on S3: local runs need no AWS SDK configuration
    from botocore.config import Config

    # The job definition does not retry a non-zero exit (that is the job's own failure), so
    # throttling and 5xx from S3 are retried here, with backoff, before they can end the job.
    return boto3.client("s3", config=Config(retries={"mode": "standard", "total_max_attempts": 10}))


def read_input(location: str) -> str:
    if location.startswith("s3://"):
        bucket, key = _split_s3(location)
        try:
            response = _s3().get_object(Bucket=bucket, Key=key)
        except ClientError as err:
            # Without s3:ListBucket (the job role has none) a missing key is AccessDenied.
            code = err.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"):
                raise InputError(f"cannot read input {location}: {code}") from None
            raise
        if response["ContentLength"] > MAX_INPUT_BYTES:
            raise InputError(f"{location} is larger than {MAX_INPUT_BYTES} bytes")
        data: bytes = response["Body"].read()
    else:
        path = Path(location)
        if not path.is_file():
            raise InputError(f"no such input file {location}")
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # tolerate the BOM spreadsheet exports add
    except UnicodeDecodeError as err:
        raise InputError(f"{location} is not UTF-8 text: {err}") from None


def write_outputs(output: str, keys: dict[str, str], bodies: dict[str, str]) -> list[str]:
    """Write each file whole (one PutObject each), so a reader never sees a partial file."""
    written = []
    if output.startswith("s3://"):
        bucket, _ = _split_s3(output)
        client = _s3()
        for kind, key in keys.items():
            content_type = "application/json" if key.endswith(".json") else "text/csv"
            client.put_object(
                Bucket=bucket, Key=key, Body=bodies[kind].encode(), ContentType=content_type
            )
            written.append(f"s3://{bucket}/{key}")
    else:
        for kind, key in keys.items():
            path = Path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + ".tmp")
            temporary.write_text(bodies[kind], encoding="utf-8")
            temporary.replace(path)
            written.append(str(path))
    return written


def run(input_location: str, output: str, *, shard_index: int, shard_count: int) -> dict[str, Any]:
    """Process one shard end to end; returns the shard's summary with where it was written."""
    check_shard(shard_index, shard_count)  # before reading up to 512 MiB
    text = read_input(input_location)
    result = process_shard(text, shard_index=shard_index, shard_count=shard_count)
    if output.startswith("s3://"):
        _, prefix = _split_s3(output)
    else:
        prefix = output
    input_key = (
        _split_s3(input_location)[1] if input_location.startswith("s3://") else input_location
    )
    keys = output_keys(input_key, prefix, shard_index, shard_count)
    summary = result.summary()
    summary["written"] = write_outputs(output, keys, render(result))
    return summary


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compounds", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="process one shard of a compounds CSV")
    run_parser.add_argument("--input", required=True, help="s3://bucket/key.csv or a local path")
    run_parser.add_argument("--output", required=True, help="s3://bucket/prefix/ or a folder")
    run_parser.add_argument(
        "--shard-index",
        type=int,
        default=None,
        help="this shard (default: $AWS_BATCH_JOB_ARRAY_INDEX, else 0)",
    )
    run_parser.add_argument(
        "--shard-count",
        type=int,
        default=None,
        help="shards in all (default: $SHARD_COUNT, else 1)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")

    try:
        shard_index = (
            args.shard_index
            if args.shard_index is not None
            else _env_int("AWS_BATCH_JOB_ARRAY_INDEX", 0)
        )
        shard_count = (
            args.shard_count if args.shard_count is not None else _env_int("SHARD_COUNT", 1)
        )
        summary = run(args.input, args.output, shard_index=shard_index, shard_count=shard_count)
    except (InputError, ValueError) as err:
        LOG.error("input error: %s", err)
        return 2
    # One JSON line: what CloudWatch Logs Insights and the submit tool's user read.
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
