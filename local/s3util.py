"""Local buckets: create the template's buckets in moto, and copy a prefix down to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .template import Template


def create_buckets(template: Template, s3: Any) -> dict[str, str]:
    """One moto bucket per ``AWS::S3::Bucket`` (named after its logical id, since the template
    leaves the names to CloudFormation); returns logical id -> bucket name."""
    names = {}
    for logical_id, _ in template.of_type("AWS::S3::Bucket"):
        name = f"local-{logical_id.lower()}"[:63]
        s3.create_bucket(Bucket=name)
        template.names[logical_id] = name
        names[logical_id] = name
    return names


def download(s3: Any, bucket: str, prefix: str, folder: Path) -> list[Path]:
    """Every object under ``prefix`` into ``folder``, at its key's path; returns the files."""
    written = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            path = folder / obj["Key"]
            if folder.resolve() not in path.resolve().parents:
                continue  # a key with ".." must not write outside the folder
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(path))
            written.append(path)
    return written
