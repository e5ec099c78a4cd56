"""``python -m local batch``: an array job split 4 ways gives what one child gives."""

from __future__ import annotations

import csv
from pathlib import Path

# The job reads `id` and `smiles`; other columns (a name) ride along. Row 8 is no molecule.
COMPOUNDS = [
    ("1", "water", "O"),
    ("2", "ethanol", "CCO"),
    ("3", "aspirin", "CC(=O)OC1=CC=CC=C1C(=O)O"),
    ("4", "caffeine", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"),
    ("5", "glucose", "OCC1OC(O)C(O)C(O)C1O"),
    ("6", "benzene", "c1ccccc1"),
    ("7", "acetic acid", "CC(=O)O"),
    ("8", "not a compound", "not-smiles"),
    ("9", "methane", "C"),
]


def _rows(folder: Path, pattern: str) -> list[dict[str, str]]:
    rows = []
    for path in sorted(folder.rglob(pattern)):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return sorted(rows, key=lambda row: (row.get("id", ""), row.get("row", "")))


def test_four_shards_give_the_same_output_as_one(run_mode, tmp_path: Path):
    source = tmp_path / "compounds.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "smiles"])
        writer.writerows(COMPOUNDS)
    outputs = {}
    for shards in (1, 4):
        out = tmp_path / f"out-{shards}"
        run_mode(
            "BatchJobs", "batch", "--input", str(source), "--shards", str(shards), "--out", str(out)
        )
        assert len(list(out.rglob("part-*.csv"))) == shards
        outputs[shards] = (_rows(out, "part-*.csv"), _rows(out, "rejects-*.csv"))
    results, rejects = outputs[1]
    assert {row["id"] for row in results} == {"1", "2", "3", "4", "5", "6", "7", "9"}
    assert [row["id"] for row in rejects] == ["8"]
    assert outputs[4] == outputs[1]
