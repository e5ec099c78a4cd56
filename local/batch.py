"""``python -m local batch --input <csv> --shards N --out <folder>``: the BatchJobs array job.

The input is put into a moto bucket at the job definition's ``input`` parameter; then ``N``
array children run as parallel processes, each the job definition's command (its ``Ref::``
parameters filled as ``submit`` fills them, ``shards`` = N) with the container's environment
plus what AWS Batch sets for an array child (``AWS_BATCH_JOB_ARRAY_INDEX``, ``AWS_BATCH_JOB_ID``
``<job>:<index>``, ...). The outputs are copied from the bucket into the folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3

from .runtime import aws_env, moto_server, parser, run_once, say
from .s3util import create_buckets, download
from .template import ROOT, Template

STACK = "BatchJobs"


def child_env(
    container: dict[str, Any],
    template: Template,
    endpoint: str,
    *,
    job_id: str,
    index: int,
    size: int,
) -> dict[str, str]:
    """An array child's environment: the container's, then Batch's own, then the moto endpoint."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - as the image's user has none
        **template.container_environment(container),
        "AWS_BATCH_JOB_ID": f"{job_id}:{index}",
        "AWS_BATCH_JOB_ATTEMPT": "1",
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
        "AWS_BATCH_JOB_ARRAY_SIZE": str(size),
        "AWS_BATCH_JQ_NAME": "local",
        "AWS_BATCH_CE_NAME": "local",
        **aws_env(endpoint),
    }


def command(container: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """The container command with each ``Ref::name`` replaced by the parameter's value."""
    return [
        parameters[arg.removeprefix("Ref::")] if arg.startswith("Ref::") else arg
        for arg in container.get("Command", [])
    ]


def main(argv: list[str] | None = None) -> int:
    args = parser("batch", __doc__.split("\n")[0], None)
    args.add_argument("--input", type=Path, required=True, help="the CSV the job takes")
    args.add_argument("--shards", type=int, default=4, help="array size (default 4)")
    args.add_argument(
        "--out", type=Path, default=ROOT / "local-out" / "batch", help="output folder"
    )
    options = args.parse_args(argv)
    if not options.input.is_file():
        args.error(f"--input must be a file, got {options.input}")
    if not 1 <= options.shards <= 10_000:
        args.error(
            f"--shards must be 1 to 10000 (AWS Batch's array size range), got {options.shards}"
        )
    template = Template.load(options.cdk_out, STACK)
    return run_once(lambda: run(template, options.input, options.shards, options.out))


def run(template: Template, input_path: Path, shards: int, out: Path) -> int:
    definition_id, definition = template.one("AWS::Batch::JobDefinition")
    props = definition["Properties"]
    container = props["ContainerProperties"]
    code = template.image_dir(container["Image"])
    with moto_server() as endpoint:
        s3 = boto3.client("s3")
        create_buckets(template, s3)
        parameters = {k: str(template.resolve(v)) for k, v in props.get("Parameters", {}).items()}
        parameters["shards"] = str(shards)
        bucket, _, key = parameters["input"].removeprefix("s3://").partition("/")
        s3.upload_file(str(input_path), bucket, key)
        argv = [sys.executable, "-m", *_entrypoint(code), *command(container, parameters)]
        job_id = str(uuid.uuid4())
        say(f"array job {job_id} ({definition_id}): {shards} children of {' '.join(argv[2:])}")
        say(f"input {input_path} -> {parameters['input']} (moto at {endpoint})")
        children = [
            subprocess.Popen(
                argv,
                cwd=code,
                env={
                    **child_env(container, template, endpoint, job_id=job_id, index=i, size=shards),
                    "PYTHONPATH": str(code),
                },
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(shards)
        ]
        failed = 0
        try:
            for index, child in enumerate(children):
                stdout, stderr = child.communicate(
                    timeout=int(props.get("Timeout", {}).get("AttemptDurationSeconds", 3600))
                )
                status = (
                    "SUCCEEDED" if child.returncode == 0 else f"FAILED (exit {child.returncode})"
                )
                failed += child.returncode != 0
                last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
                say(f"  child {index}: {status} {last}")
                if child.returncode:
                    say("    " + stderr.strip().replace("\n", "\n    "))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        output_bucket, _, prefix = parameters["output"].removeprefix("s3://").partition("/")
        files = download(s3, output_bucket, prefix, out)
        say(f"{shards - failed} of {shards} children succeeded; {len(files)} files in {out}:")
        for path in files:
            say(f"  {path}")
    return 1 if failed else 0


def _entrypoint(code: Path) -> list[str]:
    """The module the image's ENTRYPOINT runs (``python -m <module>``)."""
    for line in (code / "Dockerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            entry = json.loads(line.removeprefix("ENTRYPOINT "))
            if entry[:2] == ["python", "-m"]:
                return list(entry[2:])
    raise SystemExit(f'{code}/Dockerfile: expected ENTRYPOINT ["python", "-m", <module>]')
