"""Properties of the compounds job's input boundary, over generated input (Hypothesis, fixed
budget, derandomized so CI sees the same cases every run):

- CSV: every physical line is the header, a blank line or part of exactly one record; every
  record lands in the results or the rejects of exactly one shard; a broken file is an
  ``InputError`` (exit 2), never another exception.
- SMILES: RDKit accepts or rejects with a one-line reason, nothing escapes; an accepted
  molecule round-trips (its canonical SMILES re-parses to the same InChIKey), and every
  spelling of one molecule gives one canonical SMILES and one InChIKey.
- The command line: any bytes as input end in exit 0 or 2, never a traceback.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from compounds.cli import main
from compounds.descriptors import DESCRIPTOR_COLUMNS, MoleculeError, describe
from compounds.example import DRUGS, nci_rows
from compounds.job import process_shard
from compounds.paths import InputError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem

# A budget of its own on top of the suite's profile (tests/conftest.py: derandomized, no deadline,
# no database).
FAST = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])

# Text a CSV line may hold: quotes, commas, SMILES characters, spaces, a tab, non-ASCII digits
# and letters. No line-break characters: those are chosen by ``csv_texts`` so lines can be counted.
FIELD_CHARS = st.sampled_from([*'"",,  \tCcNnOo()=#[]@+-123.%/\\Hl', "\u0663", "é", "\x00"])
SMILES_CHARS = st.sampled_from([*"CNOSPFIcnosp()[]=#@+-123456789.%/\\Hl*:BrClNa", "\u0663"])


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["id,smiles", "ID , SMILES ,note", "smiles,id"]))
    lines = [header]
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["valid", "valid", "random", "blank", "opens", "closes"]))
        if kind == "opens":  # a quoted field that may close on a later line, or never
            lines.append(f'q{len(lines)},"' + draw(st.text(FIELD_CHARS, max_size=5)))
        elif kind == "closes":
            lines.append(
                draw(st.text(FIELD_CHARS, max_size=5)) + draw(st.sampled_from(['"', '",C']))
            )
        elif kind == "valid":
            smiles = draw(st.sampled_from(["CCO", "c1ccccc1", "CC(=O)O", "C1CC", "N(C)(C)(C)(C)C"]))
            lines.append(f"m{len(lines)},{smiles}" + ("" if "note" not in header else ",x"))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
        else:
            lines.append(draw(st.text(FIELD_CHARS, max_size=20)))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from([ending, ""]))


def physical_lines(text: str) -> int:
    # str.splitlines splits on \n, \r\n and \r (and characters the generator never writes).
    return len(text.splitlines())


@FAST
@given(text=csv_texts(), shard_count=st.integers(1, 3))
def test_every_record_lands_once_and_every_line_is_accounted_for(
    text: str, shard_count: int
) -> None:
    try:
        shards = [
            process_shard(text, shard_index=index, shard_count=shard_count)
            for index in range(shard_count)
        ]
    except InputError as err:  # a CSV the strict reader refuses: the whole run exits 2
        message = str(err)
        assert "\n" not in message
        return
    records = shards[0].input_records
    rows = sorted(row["row"] for s in shards for row in (*s.results, *s.rejects))
    assert rows == list(range(1, records + 1))
    assert all(s.summary()["input_lines"] == physical_lines(text) for s in shards)
    for shard in shards:
        assert shard.rows_in_shard == len(shard.results) + len(shard.rejects)
        for reject in shard.rejects:
            assert reject["reason"]
            assert "\n" not in reject["reason"]
        for result in shard.results:
            assert result["id"]
            assert result["id"] == result["id"].strip()


@FAST
@given(smiles=st.text(SMILES_CHARS, max_size=30))
def test_smiles_is_accepted_and_round_trips_or_rejected_with_one_line(smiles: str) -> None:
    try:
        values = describe(smiles)
    except MoleculeError as err:
        reason = str(err)
        assert reason
        assert "\n" not in reason
        return
    assert set(values) == set(DESCRIPTOR_COLUMNS)
    again = describe(str(values["canonical_smiles"]))
    assert again["inchikey"] == values["inchikey"]
    assert again["formula"] == values["formula"]


KNOWN_GOOD = [smiles for _, _, smiles in DRUGS] + [smiles for _, _, smiles in nci_rows(300)]


@FAST
@given(smiles=st.sampled_from(KNOWN_GOOD), seed=st.integers(0, 2**31 - 1))
def test_every_spelling_of_a_molecule_gives_one_canonical_smiles_and_key(
    smiles: str, seed: int
) -> None:
    try:
        reference = describe(smiles)
    except MoleculeError:  # a few NCI records are ones RDKit refuses
        return
    mol = Chem.MolFromSmiles(smiles)
    [spelling] = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=seed)
    other = describe(spelling)
    assert other["inchikey"] == reference["inchikey"]
    assert other["canonical_smiles"] == reference["canonical_smiles"]


@settings(max_examples=40)
@given(
    data=st.binary(max_size=200) | st.text(FIELD_CHARS | st.sampled_from(["\n"])).map(str.encode)
)
def test_command_line_never_ends_in_a_traceback(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "library.csv"
        source.write_bytes(b"id,smiles\n" + data)
        code = main(["run", "--input", str(source), "--output", str(Path(folder) / "out")])
        assert code in (0, 2)
        written = sorted(p.name for p in Path(folder).rglob("*") if p.is_file())
        assert written == (
            ["library.csv", "part-00000.csv", "rejects-00000.csv", "summary-00000.json"]
            if code == 0
            else ["library.csv"]
        )


@st.composite
def sdf_texts(draw: st.DrawFn) -> str:
    """Mol blocks of real molecules, cut short or not, between random lines and ``$$$$``."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["mol", "cut", "random", "end"]))
        if kind in ("mol", "cut"):
            mol = Chem.MolFromSmiles(draw(st.sampled_from(KNOWN_GOOD[:30])))
            block = Chem.MolToMolBlock(mol)
            if kind == "cut":
                block = block[: draw(st.integers(0, len(block)))]
            parts.append(block)
        elif kind == "random":
            parts.append(draw(st.text(FIELD_CHARS, max_size=20)) + "\n")
        else:
            parts.append("$$$$\n")
    return "".join(parts)


@FAST
@given(text=sdf_texts(), shard_count=st.integers(1, 3))
def test_sdf_records_land_once_and_every_line_is_accounted_for(text: str, shard_count: int) -> None:
    shards = [
        process_shard(text, shard_index=index, shard_count=shard_count, input_format="sdf")
        for index in range(shard_count)
    ]
    rows = sorted(row["row"] for s in shards for row in (*s.results, *s.rejects))
    assert rows == list(range(1, shards[0].input_records + 1))
    assert shards[0].input_lines == physical_lines(text)
    for shard in shards:
        for result in shard.results:
            assert describe(str(result["canonical_smiles"]))["inchikey"] == result["inchikey"]


@pytest.mark.parametrize("text", ["", "\n\n", "id,smiles", "id,smiles\r\n\r\n"])
def test_inputs_without_records_account_for_their_lines(text: str) -> None:
    result = process_shard(text, shard_index=0, shard_count=1)
    assert (result.results, result.rejects, result.input_records) == ([], [], 0)
    assert result.input_lines == len(text.splitlines())
