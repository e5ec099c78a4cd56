"""Drug-likeness descriptors of one molecule, from its SMILES, by RDKit.

The chemistry is RDKit's: parsing, sanitization (valence, aromaticity), the descriptors, the
canonical SMILES and the InChIKey. This module only checks the text before RDKit sees it, turns
RDKit's log and exceptions into a one-line reason, and formats the numbers.
"""

from __future__ import annotations

import re
from typing import Final

from rdkit import Chem, rdBase
from rdkit.Chem import QED, rdMolDescriptors

# Average molecular weight: RDKit defines it in Python (a lambda), which its stubs do not show.
from rdkit.Chem.Descriptors import MolWt  # type: ignore[attr-defined]

MAX_SMILES_LENGTH: Final = 2000
MAX_BLOCK_LENGTH: Final = 200_000
MAX_REASON_LENGTH: Final = 300
# Lipinski's rule of five (Lipinski et al., 1997), on his own donor (N-H + O-H) and acceptor
# (N + O) counts, which is what the h_bond_donors/h_bond_acceptors columns report.
MAX_MOLECULAR_WEIGHT: Final = 500.0
MAX_CLOGP: Final = 5.0
MAX_DONORS: Final = 5
MAX_ACCEPTORS: Final = 10
MAX_VIOLATIONS: Final = 1

DESCRIPTOR_COLUMNS: Final = (
    "canonical_smiles",
    "inchikey",
    "formula",
    "molecular_weight",
    "clogp",
    "tpsa",
    "h_bond_donors",
    "h_bond_acceptors",
    "rotatable_bonds",
    "rings",
    "heavy_atoms",
    "formal_charge",
    "qed",
    "lipinski_violations",
    "passes_rule_of_five",
)

# RDKit stops reading a SMILES at whitespace (the rest is the molecule's name) and skips
# characters outside ASCII ("C\u0663" reads as methane), so anything but printable ASCII would be
# accepted as a different molecule than the one written. Checked before RDKit sees the text.
_SMILES_TEXT = re.compile(r"[!-~]+", re.ASCII)
_LOG_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d\] (?:ERROR: |WARNING: )?")


class MoleculeError(ValueError):
    """A SMILES that RDKit cannot turn into a sanitized molecule, with RDKit's reason."""


def _reason(log: str, fallback: str) -> str:
    """RDKit's log as one line: timestamps dropped, the parser's caret drawing left out, and
    its closing "Failed parsing SMILES ..." echo too (the rejects file holds the SMILES)."""
    lines = [_LOG_PREFIX.sub("", line).strip().rstrip(":") for line in log.splitlines()]
    kept = [
        line
        for line in lines
        if line and not set(line) <= {"~", "^"} and "Failed parsing SMILES" not in line
    ]
    parse_errors = [line for line in kept if line.startswith("SMILES Parse Error:")]
    reason = "; ".join(parse_errors or kept) or fallback
    return reason if len(reason) <= MAX_REASON_LENGTH else reason[: MAX_REASON_LENGTH - 3] + "..."


def check_smiles_text(smiles: str) -> None:
    if not smiles:
        raise MoleculeError("missing SMILES")
    if len(smiles) > MAX_SMILES_LENGTH:
        raise MoleculeError(f"SMILES longer than {MAX_SMILES_LENGTH} characters")
    match = _SMILES_TEXT.match(smiles)
    end = match.end() if match else 0
    if end != len(smiles):
        raise MoleculeError(
            f"SMILES holds {smiles[end]!r} at position {end}: only printable ASCII, no spaces"
        )


def molecule(smiles: str) -> Chem.Mol:
    """Parse and sanitize; raises ``MoleculeError`` with RDKit's reason."""
    check_smiles_text(smiles)
    # BlockLogs keeps RDKit's messages off stderr (a bad row is data, not a job error);
    # CaptureErrorLog still hands them to us for the reason.
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as log:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        raise MoleculeError(_reason(log.messages, "RDKit could not parse the SMILES"))
    with rdBase.BlockLogs():
        try:
            Chem.SanitizeMol(mol)
        except Chem.MolSanitizeException as err:
            raise MoleculeError(f"sanitization failed: {err}".strip()) from None
    if mol.GetNumAtoms() == 0:
        raise MoleculeError("no atoms")
    return mol


def inchikey(mol: Chem.Mol) -> str:
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as log:
        inchi = Chem.MolToInchi(mol)
        key = Chem.InchiToInchiKey(inchi) if inchi else ""
    if not key:
        raise MoleculeError("no InChI: " + _reason(log.messages, "InChI refused the structure"))
    return str(key)


def molecule_from_block(block: str) -> Chem.Mol:
    """Parse and sanitize one SDF record (a mol block and its data items); explicit hydrogens
    are removed, as the SMILES parser does, so both formats give one answer."""
    if len(block) > MAX_BLOCK_LENGTH:
        raise MoleculeError(f"SDF record longer than {MAX_BLOCK_LENGTH} characters")
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as log:
        try:
            mol = Chem.MolFromMolBlock(block, sanitize=False, removeHs=False)
        except (RuntimeError, ValueError) as err:  # some malformed blocks raise, not log
            raise MoleculeError(f"RDKit could not read the mol block: {err}") from None
    if mol is None:
        raise MoleculeError(_reason(log.messages, "RDKit could not read the mol block"))
    with rdBase.BlockLogs():
        try:
            Chem.SanitizeMol(mol)
            mol = Chem.RemoveHs(mol)
        except (RuntimeError, ValueError) as err:  # MolSanitizeException is a ValueError
            raise MoleculeError(f"sanitization failed: {err}".strip()) from None
    if mol.GetNumAtoms() == 0:
        raise MoleculeError("no atoms")
    return mol


def describe(smiles: str) -> dict[str, str | int]:
    """The descriptor columns of one molecule given as SMILES (see ``describe_mol``)."""
    return describe_mol(molecule(smiles))


def describe_block(block: str) -> dict[str, str | int]:
    """The descriptor columns of one molecule given as an SDF record (see ``describe_mol``)."""
    return describe_mol(molecule_from_block(block))


def describe_mol(mol: Chem.Mol) -> dict[str, str | int]:
    """The descriptor columns of one sanitized molecule. Raises ``MoleculeError`` for a
    structure InChI cannot represent (query atoms, over 1,024 atoms): a row without an
    InChIKey cannot be de-duplicated. ``describe`` and ``describe_block`` raise it too for
    input RDKit cannot parse or sanitize."""
    key = inchikey(mol)
    try:
        with rdBase.BlockLogs():
            weight: float = MolWt(mol)
            clogp = rdMolDescriptors.CalcCrippenDescriptors(mol)[0]  # Wildman-Crippen logP
            donors = rdMolDescriptors.CalcNumLipinskiHBD(mol)
            acceptors = rdMolDescriptors.CalcNumLipinskiHBA(mol)
            qed = QED.qed(mol)
            values: dict[str, str | int] = {
                "canonical_smiles": Chem.MolToSmiles(mol),
                "inchikey": key,
                "formula": rdMolDescriptors.CalcMolFormula(mol),
                "molecular_weight": f"{weight:.3f}",
                "clogp": f"{clogp:.3f}",
                "tpsa": f"{rdMolDescriptors.CalcTPSA(mol):.2f}",
                "h_bond_donors": donors,
                "h_bond_acceptors": acceptors,
                "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(mol),
                "rings": rdMolDescriptors.CalcNumRings(mol),
                "heavy_atoms": mol.GetNumHeavyAtoms(),
                "formal_charge": Chem.GetFormalCharge(mol),
                "qed": f"{qed:.3f}",
            }
    except (RuntimeError, ValueError) as err:  # RDKit's C++ errors arrive as these
        raise MoleculeError(f"descriptors failed: {err}") from None
    violations = (
        int(weight > MAX_MOLECULAR_WEIGHT)
        + int(clogp > MAX_CLOGP)
        + int(donors > MAX_DONORS)
        + int(acceptors > MAX_ACCEPTORS)
    )
    values["lipinski_violations"] = violations
    values["passes_rule_of_five"] = "true" if violations <= MAX_VIOLATIONS else "false"
    return values
