"""An example compound library, generated here: no download, no file to trust.

    python -m compounds.example example/library.csv            # 12 drugs, 40 NCI, 4 bad rows
    python -m compounds.example big.csv --nci 5000 --copies 4   # 20,000+ rows, for sizing

The named drugs are written below (a structure is a fact, not anyone's work). The NCI rows are
the NCI Open Database sample that RDKit ships in its wheel (``RDConfig.RDDataDir/NCI``,
US National Cancer Institute data, distributed with RDKit under its BSD licence); about 1 in 600
of them is a SMILES RDKit refuses, as real libraries have. The bad rows at the end show the
rejects file at work.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from rdkit import RDConfig

NCI_SAMPLE = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"

DRUGS: tuple[tuple[str, str, str], ...] = (
    ("drug-aspirin", "aspirin", "CC(=O)Oc1ccccc1C(=O)O"),
    ("drug-caffeine", "caffeine", "Cn1c(=O)c2c(ncn2C)n(C)c1=O"),
    ("drug-ibuprofen", "ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"),
    ("drug-paracetamol", "paracetamol", "CC(=O)Nc1ccc(O)cc1"),
    ("drug-metformin", "metformin", "CN(C)C(=N)N=C(N)N"),
    ("drug-nicotine", "nicotine", "CN1CCC[C@H]1c1cccnc1"),
    (
        "drug-penicillin-g",
        "benzylpenicillin",
        "CC1(C)S[C@@H]2[C@H](NC(=O)Cc3ccccc3)C(=O)N2[C@H]1C(=O)O",
    ),
    ("drug-morphine", "morphine", "CN1CC[C@]23c4c5ccc(O)c4O[C@H]2[C@@H](O)C=C[C@H]3[C@H]1C5"),
    (
        "drug-atorvastatin",
        "atorvastatin",
        "CC(C)c1c(C(=O)Nc2ccccc2)c(-c2ccccc2)c(-c2ccc(F)cc2)n1CC[C@@H](O)C[C@@H](O)CC(=O)O",
    ),
    ("drug-salt", "sodium acetate", "CC(=O)[O-].[Na+]"),
    ("drug-benzene-kekule", "benzene (Kekule form)", "C1=CC=CC=C1"),
    ("drug-benzene-aromatic", "benzene (aromatic form)", "c1ccccc1"),
)
BAD: tuple[tuple[str, str, str], ...] = (
    ("bad-parse", "unclosed branch", "CC(C"),
    ("bad-valence", "five-bonded nitrogen", "CN(C)(C)(C)C"),
    ("bad-aromatic", "five-membered ring RDKit cannot kekulize", "c1cccc1"),
    ("", "no id", "CCO"),
)


def nci_rows(count: int) -> list[tuple[str, str, str]]:
    """The first ``count`` molecules of RDKit's NCI sample, as (id, name, SMILES)."""
    rows: list[tuple[str, str, str]] = []
    with NCI_SAMPLE.open(encoding="ascii") as sample:
        for line in sample:
            if len(rows) == count:
                break
            smiles, number = line.split()
            rows.append((f"nci-{number}", "", smiles))
    return rows


def library(*, nci: int = 40, copies: int = 1) -> str:
    """The library as CSV text (``id,name,smiles``); ``copies`` > 1 repeats the molecules
    under new ids, to scale a benchmark without changing what each row costs."""
    rows = [*DRUGS, *nci_rows(nci)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("id", "name", "smiles"))
    for copy in range(copies):
        suffix = f"-{copy}" if copies > 1 else ""
        writer.writerows((f"{i}{suffix}", name, smiles) for i, name, smiles in rows)
    writer.writerows(BAD)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compounds.example", description=__doc__)
    parser.add_argument("output", type=Path, help="the CSV to write")
    parser.add_argument("--nci", type=int, default=40, help="NCI molecules (0-4999)")
    parser.add_argument("--copies", type=int, default=1, help="repeat the molecules")
    args = parser.parse_args(argv)
    if not 0 <= args.nci <= 4999 or args.copies < 1:
        parser.error("--nci must be 0-4999 and --copies at least 1")
    args.output.write_text(library(nci=args.nci, copies=args.copies), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
