"""Where a shard's files go: names derived from the input, confined to the output prefix.

No RDKit here: the submit tool, which runs on a laptop, names the same folder the job writes.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_UNSAFE_NAME = re.compile(r"[^\w.-]")


class InputError(ValueError):
    """The input or an argument as a whole is unusable: exit 2, nothing written."""


def safe_stem(input_key: str) -> str:
    """The input's file name without its extension, as one safe path segment: characters other
    than letters, digits, ``.``, ``-`` and ``_`` become ``-``, leading dots go (``...csv`` has
    the stem ``..``, which would climb out of the output folder), and nothing left is
    ``input``."""
    name = PurePosixPath(input_key.replace("\\", "/")).name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = _UNSAFE_NAME.sub("-", stem).lstrip(".")[:100]
    return stem or "input"


def output_keys(
    input_key: str, output_prefix: str, shard_index: int, shard_count: int
) -> dict[str, str]:
    """Deterministic keys: ``<prefix><input stem>/shards-8/part-00003.csv`` and its rejects and
    summary. The shard count is in the folder because a shard holds different rows under a
    different count: a re-run with 4 shards beside an earlier one with 8 would otherwise leave
    part-00004..7 of the old run among the new files, and a reader would count rows twice."""
    prefix = output_prefix.rstrip("/")
    base = f"{prefix}/{safe_stem(input_key)}" if prefix else safe_stem(input_key)
    base = f"{base}/shards-{shard_count}"
    suffix = f"{shard_index:05d}"
    keys = {
        "results": f"{base}/part-{suffix}.csv",
        "rejects": f"{base}/rejects-{suffix}.csv",
        "summary": f"{base}/summary-{suffix}.json",
    }
    for key in keys.values():
        derived = PurePosixPath(key[len(prefix) :].lstrip("/")).parts
        if not key.startswith(prefix) or any(part in (".", "..") for part in derived):
            raise InputError(f"output key {key!r} would leave the output prefix {output_prefix!r}")
    return keys
