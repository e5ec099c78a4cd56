"""One shard of the compounds job: read the CSV, describe each compound, write results.

Rows are dealt to shards round-robin (row ``i`` belongs to shard ``i % shard_count``), so every
array child reads the same input and picks its rows without coordination. Output keys depend
only on the input name, the shard count and the shard index: a retried child overwrites its own
files, and a re-run gives byte-identical output.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .formula import FormulaError, hill_formula, molecular_weight, parse_formula

REQUIRED_COLUMNS = ("id", "name", "formula")
RESULT_COLUMNS = (
    "id",
    "name",
    "formula",
    "hill_formula",
    "molecular_weight",
    "heavy_atoms",
    "hbond_acceptors",
    "element_counts",
    "rule_of_five_violations",
    "passes_screen",
)
ERROR_COLUMNS = ("row", "id", "error")
# Lipinski: at most one violation of MW <= 500 Da and <= 10 H-bond acceptors (counted, as
# Lipinski did, as N + O atoms). H-bond donors and logP need the structure, not the formula,
# so this screen checks the two rules a formula can decide.
MAX_MOLECULAR_WEIGHT = 500.0
MAX_HBOND_ACCEPTORS = 10
MAX_VIOLATIONS = 1


class InputError(ValueError):
    """The input as a whole is unusable (not a CSV with the required columns)."""


@dataclass
class ShardResult:
    shard_index: int
    shard_count: int
    rows_in_shard: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "shard_index": self.shard_index,
            "shard_count": self.shard_count,
            "rows": self.rows_in_shard,
            "succeeded": len(self.results),
            "failed": len(self.errors),
            "passed_screen": sum(1 for r in self.results if r["passes_screen"] == "true"),
        }


def describe(compound_id: str, name: str, formula: str) -> dict[str, Any]:
    """The descriptors of one compound; raises ``FormulaError`` for a bad formula."""
    counts = parse_formula(formula)
    weight = molecular_weight(counts)
    acceptors = counts.get("N", 0) + counts.get("O", 0)
    violations = int(weight > MAX_MOLECULAR_WEIGHT) + int(acceptors > MAX_HBOND_ACCEPTORS)
    return {
        "id": compound_id,
        "name": name,
        "formula": formula,
        "hill_formula": hill_formula(counts),
        "molecular_weight": f"{weight:.3f}",
        "heavy_atoms": sum(n for element, n in counts.items() if element != "H"),
        "hbond_acceptors": acceptors,
        "element_counts": json.dumps(dict(sorted(counts.items())), separators=(",", ":")),
        "rule_of_five_violations": violations,
        "passes_screen": "true" if violations <= MAX_VIOLATIONS else "false",
    }


def _rows(text: str) -> Iterator[tuple[int, dict[str, str | None]]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:  # empty input: no header, no rows
        return
    header = [name.strip().lower() for name in reader.fieldnames]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise InputError(f"input lacks column(s) {missing}; it has {header}")
    reader.fieldnames = header
    # Row numbers count data rows from 1, as a spreadsheet user reads them below the header.
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as err:
        # The reader cannot resync after this (a field over the csv module's 128 KiB limit):
        # the file is not the CSV it claims to be. Every shard reads every row, so all fail.
        raise InputError(f"not a readable CSV: {err}") from None


def check_shard(shard_index: int, shard_count: int) -> None:
    """An index at or past the count means the array size and the ``shards`` parameter
    disagree (an array of 8 submitted with shards=1 runs every row in child 0 and leaves seven
    children idle): the run is not the one asked for, so it fails instead of passing quietly."""
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise InputError(
            f"shard {shard_index} of {shard_count}: need 0 <= index < count; "
            "submit with the shards parameter equal to the array size"
        )


def process_shard(text: str, *, shard_index: int, shard_count: int) -> ShardResult:
    """Describe this shard's rows; bad rows become errors, never exceptions."""
    check_shard(shard_index, shard_count)
    result = ShardResult(shard_index, shard_count)
    for number, row in _rows(text):
        if (number - 1) % shard_count != shard_index:
            continue
        result.rows_in_shard += 1
        compound_id = (row.get("id") or "").strip()
        name = (row.get("name") or "").strip()
        formula = (row.get("formula") or "").strip()
        if None in row:  # DictReader puts surplus fields under the key None
            result.errors.append({"row": number, "id": compound_id, "error": "too many fields"})
            continue
        if not compound_id:
            result.errors.append({"row": number, "id": "", "error": "missing id"})
            continue
        try:
            result.results.append(describe(compound_id, name, formula))
        except FormulaError as err:
            result.errors.append({"row": number, "id": compound_id, "error": str(err)})
    return result


def to_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def output_keys(
    input_key: str, output_prefix: str, shard_index: int, shard_count: int
) -> dict[str, str]:
    """Deterministic keys: ``<prefix><input stem>/shards-8/part-00003.csv`` and its errors and
    summary. The shard count is in the folder because a shard holds different rows under a
    different count: a re-run with 4 shards beside an earlier one with 8 would otherwise leave
    part-00004..7 of the old run among the new files, and a reader would count rows twice."""
    stem = PurePosixPath(input_key).stem or "input"
    base = f"{output_prefix.rstrip('/')}/{stem}" if output_prefix else stem
    base = f"{base}/shards-{shard_count}"
    suffix = f"{shard_index:05d}"
    return {
        "results": f"{base}/part-{suffix}.csv",
        "errors": f"{base}/errors-{suffix}.csv",
        "summary": f"{base}/summary-{suffix}.json",
    }


def render(result: ShardResult) -> dict[str, str]:
    """The three files of a shard, by kind. Written even when empty, so a finished shard is
    always visible and a re-run replaces every file of the earlier run."""
    return {
        "results": to_csv(result.results, RESULT_COLUMNS),
        "errors": to_csv(result.errors, ERROR_COLUMNS),
        "summary": json.dumps(result.summary(), sort_keys=True) + "\n",
    }
