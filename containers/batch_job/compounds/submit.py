"""Upload a compounds CSV, submit it as an array job and follow it to the end.

    python -m compounds.submit --bucket <DataBucket> --job-queue <JobQueueArn> \\
        --job-definition <JobDefinitionArn> --shards 4 compounds.csv

The stack's outputs give the bucket, queue and definition. The input goes to ``input/<name>``
and results appear under ``output/<stem>/shards-<N>/`` (a part, rejects and summary file per
shard).
Exit status: 0 when the job succeeded, 1 when it failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3

from .paths import safe_stem

TERMINAL = ("SUCCEEDED", "FAILED")
MAX_ARRAY_SIZE = 10_000  # Batch's limit on array job size


def upload(s3: Any, bucket: str, path: Path, input_prefix: str = "input/") -> str:
    key = f"{input_prefix}{path.name}"
    s3.upload_file(str(path), bucket, key)
    return key


def submit(
    batch: Any,
    *,
    job_queue: str,
    job_definition: str,
    bucket: str,
    input_key: str,
    output_prefix: str = "output/",
    shards: int = 1,
) -> str:
    """Submit the job; an array job when ``shards`` > 1. Returns the job id."""
    if not 1 <= shards <= MAX_ARRAY_SIZE:
        raise ValueError(f"shards must be 1..{MAX_ARRAY_SIZE}, got {shards}")
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"compounds-{Path(input_key).stem}")[:128]
    request: dict[str, Any] = {
        "jobName": name,
        "jobQueue": job_queue,
        "jobDefinition": job_definition,
        "parameters": {
            "input": f"s3://{bucket}/{input_key}",
            "output": f"s3://{bucket}/{output_prefix}",
            "shards": str(shards),
        },
    }
    if shards > 1:  # Batch needs an array size of at least 2
        request["arrayProperties"] = {"size": shards}
    return str(batch.submit_job(**request)["jobId"])


def follow(
    batch: Any,
    job_id: str,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 24 * 3600,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Poll until the job ends; reports each status change (and array progress)."""
    waited = 0.0
    last = ""
    while True:
        job: dict[str, Any] = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        status = job["status"]
        progress = job.get("arrayProperties", {}).get("statusSummary")
        line = status + (f" {progress}" if progress else "")
        if line != last:
            report(line)
            last = line
        if status in TERMINAL:
            return job
        if waited >= timeout_seconds:
            raise TimeoutError(f"job {job_id} still {status} after {timeout_seconds} s")
        sleep(poll_seconds)
        waited += poll_seconds


def main(argv: Sequence[str] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> int:
    parser = argparse.ArgumentParser(prog="python -m compounds.submit", description=__doc__)
    parser.add_argument("csv", type=Path, help="the local compounds CSV (id,smiles) to upload")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--job-queue", required=True, help="name or ARN")
    parser.add_argument("--job-definition", required=True, help="name, name:revision or ARN")
    parser.add_argument("--shards", type=int, default=1, help="array size (1 = a single job)")
    parser.add_argument("--poll-seconds", type=float, default=15.0)
    parser.add_argument("--no-follow", action="store_true", help="submit and exit")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        parser.error(f"no such file {args.csv}")
    if not 1 <= args.shards <= MAX_ARRAY_SIZE:
        parser.error(f"--shards must be 1..{MAX_ARRAY_SIZE}")

    s3 = boto3.client("s3")
    batch = boto3.client("batch")
    key = upload(s3, args.bucket, args.csv)
    print(f"uploaded s3://{args.bucket}/{key}")
    job_id = submit(
        batch,
        job_queue=args.job_queue,
        job_definition=args.job_definition,
        bucket=args.bucket,
        input_key=key,
        shards=args.shards,
    )
    print(f"submitted {job_id}")
    if args.no_follow:
        return 0
    job = follow(batch, job_id, poll_seconds=args.poll_seconds, sleep=sleep)
    if job["status"] == "SUCCEEDED":
        stem = safe_stem(key)
        print(f"results under s3://{args.bucket}/output/{stem}/shards-{args.shards}/")
        return 0
    print(f"failed: {job.get('statusReason', 'no reason given')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
