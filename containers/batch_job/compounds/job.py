"""One shard of the compounds job: read the CSV, describe each molecule, write results.

Records are dealt to shards round-robin (record ``i`` belongs to shard ``i % shard_count``), so
every array child reads the same input and picks its records without coordination. Output keys
depend only on the input name, the shard count and the shard index: a retried child overwrites
its own files, and a re-run gives byte-identical output.

Every physical line of the input is accounted for: the header, a blank line, or part of exactly
one record, and every record is in the results or the rejects of exactly one shard. The CSV
reader is strict, so an unterminated quote fails the run (exit 2) instead of swallowing the rows
after it, and a record spanning several lines (a quote that closes later, over other rows) is
rejected with its line range, never read as one compound.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .descriptors import DESCRIPTOR_COLUMNS, MoleculeError, describe, describe_block
from .paths import InputError

REQUIRED_COLUMNS = ("id", "smiles")
SDF_SUFFIXES = (".sdf", ".sd")
RESULT_COLUMNS = ("row", "line", "id", "smiles", *DESCRIPTOR_COLUMNS)
REJECT_COLUMNS = ("row", "line", "id", "smiles", "reason")
MAX_ID_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SDF_ID_ITEM = re.compile(r">.*<id>", re.IGNORECASE)


@dataclass(frozen=True)
class Record:
    """One CSV record below the header: ``row`` counts records from 1, ``line`` is the physical
    line it starts on (the header is line 1 when it is the first line), ``last_line`` where it
    ends."""

    row: int
    line: int
    last_line: int
    fields: list[str]


@dataclass
class ShardResult:
    shard_index: int
    shard_count: int
    rows_in_shard: int = 0
    input_lines: int = 0
    input_records: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "shard_index": self.shard_index,
            "shard_count": self.shard_count,
            "input_lines": self.input_lines,
            "input_records": self.input_records,
            "rows": self.rows_in_shard,
            "succeeded": len(self.results),
            "rejected": len(self.rejects),
            "passed_rule_of_five": sum(
                1 for r in self.results if r["passes_rule_of_five"] == "true"
            ),
        }


def _physical_lines(text: str) -> int:
    # The same line splitting the csv reader sees (newline="": \n, \r\n and a lone \r).
    return sum(1 for _ in io.StringIO(text, newline=""))


def read_records(text: str) -> tuple[list[str], Iterator[Record], dict[str, int]]:
    """The normalized header, the records, and counts filled in as the records are read
    (``lines``, ``blank``, ``records``). Raises ``InputError`` for a CSV the strict reader
    cannot read or whose header lacks the required columns."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    counts = {"lines": 0, "blank": 0, "records": 0, "header": 0, "spanned": 0}

    def next_record() -> tuple[list[str], int, int] | None:
        first = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return None
        except csv.Error as err:
            # Strict mode: an unterminated quote at the end of the data, text after a closing
            # quote, a field over the csv module's 128 KiB limit. The reader cannot resync, and
            # every shard reads every line, so the input as a whole is refused.
            raise InputError(f"not a readable CSV at line {first}: {err}") from None
        return fields, first, reader.line_num

    header: list[str] = []
    while not header:
        got = next_record()
        if got is None:
            counts["lines"] = reader.line_num
            return [], iter(()), counts
        fields, first, last = got
        if any(f.strip() for f in fields):
            header = [f.strip().lower() for f in fields]
            counts["header"] = last - first + 1
        else:
            counts["blank"] += last - first + 1
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise InputError(f"input lacks column(s) {missing}; it has {header[:20]}")
    repeated = sorted({c for c in REQUIRED_COLUMNS if header.count(c) > 1})
    if repeated:
        raise InputError(f"input has column(s) {repeated} more than once")

    def records() -> Iterator[Record]:
        row = 0
        while (got := next_record()) is not None:
            fields, first, last = got
            if not any(f.strip() for f in fields):
                counts["blank"] += last - first + 1
                continue
            row += 1
            counts["records"] = row
            counts["spanned"] += last - first + 1
            yield Record(row, first, last, fields)
        counts["lines"] = reader.line_num
        # Header, blank lines and record spans must add up to the file: checked so that a
        # change to the reading above cannot drop lines without failing the run.
        accounted = counts["header"] + counts["blank"] + counts["spanned"]
        total = _physical_lines(text)
        if accounted != total:
            raise InputError(f"accounted for {accounted} of the input's {total} lines")

    return header, records(), counts


def read_sdf(text: str) -> tuple[Iterator[Record], dict[str, int]]:
    """SDF records (a mol block, its data items, ``$$$$``) as ``[id, block]``: the id is the
    ``<id>`` data item if there is one, else the title line. Text after the last ``$$$$`` is a
    record too (RDKit's reader takes it) unless it is blank."""
    counts = {"lines": 0, "blank": 0, "records": 0, "header": 0, "spanned": 0}

    def record(row: int, first: int, lines: list[str]) -> Record:
        counts["records"] = row
        counts["spanned"] += len(lines)
        compound_id = lines[0].strip()
        for at, line in enumerate(lines[:-1]):
            if _SDF_ID_ITEM.match(line):
                compound_id = lines[at + 1].strip()
                break
        return Record(row, first, first + len(lines) - 1, [compound_id, "".join(lines)])

    def records() -> Iterator[Record]:
        block: list[str] = []
        row = first = number = 0
        for number, line in enumerate(io.StringIO(text, newline=""), start=1):
            if not block:
                first = number
            block.append(line)
            if line.rstrip("\r\n") == "$$$$":
                row += 1
                yield record(row, first, block)
                block = []
        if any(line.strip() for line in block):
            yield record(row + 1, first, block)
        else:
            counts["blank"] += len(block)
        counts["lines"] = number
        accounted = counts["blank"] + counts["spanned"]
        if accounted != number:
            raise InputError(f"accounted for {accounted} of the input's {number} lines")

    return records(), counts


def _reject(record: Record, compound_id: str, smiles: str, reason: str) -> dict[str, Any]:
    return {
        "row": record.row,
        "line": record.line,
        "id": compound_id,
        "smiles": smiles,
        "reason": reason,
    }


def _check_record(record: Record, width: int, compound_id: str, *, sdf: bool) -> str | None:
    """Why the record cannot be a compound, before its structure is looked at; None if it can."""
    if record.last_line != record.line and not sdf:
        return (
            f"record spans lines {record.line}-{record.last_line}: a quoted field holds a "
            "line break (an unterminated quote swallows the rows after it)"
        )
    if len(record.fields) != width:
        return f"{len(record.fields)} fields; the header has {width}"
    if not compound_id:
        return "missing id"
    if len(compound_id) > MAX_ID_LENGTH:
        return f"id longer than {MAX_ID_LENGTH} characters"
    if _CONTROL.search(compound_id):
        return "id holds a control character"
    return None


def check_shard(shard_index: int, shard_count: int) -> None:
    """An index at or past the count means the array size and the ``shards`` parameter
    disagree (an array of 8 submitted with shards=1 runs every row in child 0 and leaves seven
    children idle): the run is not the one asked for, so it fails instead of passing quietly."""
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise InputError(
            f"shard {shard_index} of {shard_count}: need 0 <= index < count; "
            "submit with the shards parameter equal to the array size"
        )


def process_shard(
    text: str, *, shard_index: int, shard_count: int, input_format: str = "csv"
) -> ShardResult:
    """Describe this shard's records; a bad record becomes a reject, never an exception.
    ``input_format`` is ``csv`` (``id`` and ``smiles`` columns) or ``sdf``."""
    check_shard(shard_index, shard_count)
    result = ShardResult(shard_index, shard_count)
    sdf = input_format == "sdf"
    if sdf:
        header = ["id", "molblock"]
        records, counts = read_sdf(text)
    else:
        header, records, counts = read_records(text)
    id_at = header.index("id") if header else 0
    structure_at = header.index("molblock" if sdf else "smiles") if header else 0
    for record in records:
        if (record.row - 1) % shard_count != shard_index:
            continue
        result.rows_in_shard += 1
        fields = record.fields
        compound_id = fields[id_at].strip() if id_at < len(fields) else ""
        structure = fields[structure_at] if structure_at < len(fields) else ""
        smiles = "" if sdf else structure.strip()
        problem = _check_record(record, len(header), compound_id, sdf=sdf)
        if problem is not None:
            # A CSV record over several lines is not what its fields claim: its SMILES may
            # hold many rows' text, so only a one-line id and SMILES are shown.
            one_line = record.last_line == record.line
            shown_id = "" if re.search(r"[\r\n]", compound_id) else compound_id[:MAX_ID_LENGTH]
            shown_smiles = smiles[:100] if one_line else ""
            result.rejects.append(_reject(record, shown_id, shown_smiles, problem))
            continue
        try:
            values = describe_block(structure) if sdf else describe(smiles)
        except MoleculeError as err:
            result.rejects.append(_reject(record, compound_id, smiles[:100], str(err)))
            continue
        result.results.append(
            {"row": record.row, "line": record.line, "id": compound_id, "smiles": smiles, **values}
        )
    result.input_lines = counts["lines"]
    result.input_records = counts["records"]
    return result


def to_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def render(result: ShardResult) -> dict[str, str]:
    """The three files of a shard, by kind. Written even when empty, so a finished shard is
    always visible and a re-run replaces every file of the earlier run."""
    return {
        "results": to_csv(result.results, RESULT_COLUMNS),
        "rejects": to_csv(result.rejects, REJECT_COLUMNS),
        "summary": json.dumps(result.summary(), sort_keys=True) + "\n",
    }
