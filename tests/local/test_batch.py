"""``python -m local batch``: an array job split 4 ways gives what one child gives."""

from __future__ import annotations

import csv
from pathlib import Path

# Both the formula and the SMILES column, so the test holds whichever the job reads.
COMPOUNDS = [
    ("1", "water", "H2O", "O"),
    ("2", "ethanol", "C2H6O", "CCO"),
    ("3", "aspirin", "C9H8O4", "CC(=O)OC1=CC=CC=C1C(=O)O"),
    ("4", "caffeine", "C8H10N4O2", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"),
    ("5", "glucose", "C6H12O6", "OCC1OC(O)C(O)C(O)C1O"),
    ("6", "benzene", "C6H6", "c1ccccc1"),
    ("7", "acetic acid", "C2H4O2", "CC(=O)O"),
    ("8", "not a compound", "Qq", "not-smiles"),
    ("9", "methane", "CH4", "C"),
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
        writer.writerow(["id", "name", "formula", "smiles"])
        writer.writerows(COMPOUNDS)
    outputs = {}
    for shards in (1, 4):
        out = tmp_path / f"out-{shards}"
        run_mode(
            "BatchJobs", "batch", "--input", str(source), "--shards", str(shards), "--out", str(out)
        )
        assert len(list(out.rglob("part-*.csv"))) == shards
        outputs[shards] = (_rows(out, "part-*.csv"), _rows(out, "errors-*.csv"))
    results, errors = outputs[1]
    assert len(results) + len(errors) == len(COMPOUNDS)
    assert {row["id"] for row in results} >= {"1", "2", "3"}
    assert outputs[4] == outputs[1]
