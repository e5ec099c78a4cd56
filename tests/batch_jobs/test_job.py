"""The compounds job, run in-process as the container runs it (``python -m compounds run``),
against moto S3 and local files, on generated data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from compounds.cli import main
from compounds.descriptors import MoleculeError, describe, describe_block
from compounds.example import BAD, DRUGS, library
from compounds.job import process_shard
from moto import mock_aws
from rdkit import Chem, RDConfig

BUCKET = "compounds-data"
INPUT_KEY = "input/library.csv"
INPUT = f"s3://{BUCKET}/{INPUT_KEY}"
OUTPUT = f"s3://{BUCKET}/output/"

# Real drugs with their average molecular weight (sum of IUPAC atomic weights, worked out by
# hand from the formula) and InChIKey (as PubChem lists it): values found outside RDKit.
KNOWN = {
    "aspirin": ("CC(=O)Oc1ccccc1C(=O)O", 180.159, "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"),
    "caffeine": ("Cn1c(=O)c2c(ncn2C)n(C)c1=O", 194.194, "RYYVLZVUVIJVGH-UHFFFAOYSA-N"),
    "ibuprofen": ("CC(C)Cc1ccc(cc1)C(C)C(=O)O", 206.285, "HEFNNWSXXWATRW-UHFFFAOYSA-N"),
    "paracetamol": ("CC(=O)Nc1ccc(O)cc1", 151.165, "RZVAJINKPMORJF-UHFFFAOYSA-N"),
}
MALFORMED = [
    ("bad-parse", "CC(C"),
    ("bad-valence", "CN(C)(C)(C)C"),
    ("", "CCO"),
    ("bad-empty", ""),
]


def generated_rows(count: int) -> list[tuple[str, str]]:
    """Valid molecules that vary from row to row, the same every run: alkyl chains with an
    alcohol, an amine or an acid at one end."""
    ends = ("O", "N", "C(=O)O", "c1ccccc1")
    return [(f"cmp-{n:04d}", "C" * (n % 12 + 1) + ends[n % 4]) for n in range(count)]


def to_csv(rows: list[tuple[str, str]], header: str = "id,smiles") -> str:
    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.fixture
def s3(aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put_input(s3: Any, text: str, key: str = INPUT_KEY) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode())


def get(s3: Any, key: str) -> str:
    return str(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())


def read_csv(s3: Any, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(get(s3, key))))


def outputs(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="output/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def run_shard(index: int | None, count: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """As Batch runs an array child: the index from the environment, the count from the
    job definition's ``Ref::shards`` parameter."""
    if index is None:
        monkeypatch.delenv("AWS_BATCH_JOB_ARRAY_INDEX", raising=False)
    else:
        monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", str(index))
    return int(main(["run", "--input", INPUT, "--output", OUTPUT, "--shard-count", str(count)]))


# -- descriptors ------------------------------------------------------------------------------


def test_known_drugs_get_their_molecular_weight_and_inchikey() -> None:
    for smiles, weight, key in KNOWN.values():
        values = describe(smiles)
        assert float(values["molecular_weight"]) == pytest.approx(weight, abs=0.001)
        assert values["inchikey"] == key


def test_aspirin_descriptors() -> None:
    values = describe(KNOWN["aspirin"][0])
    # Formula, Ertl's TPSA (63.6, as PubChem lists), Lipinski's counts: 1 O-H donor, 4 O.
    assert values["formula"] == "C9H8O4"
    assert values["tpsa"] == "63.60"
    assert (values["h_bond_donors"], values["h_bond_acceptors"]) == (1, 4)
    assert (values["rings"], values["heavy_atoms"], values["formal_charge"]) == (1, 13, 0)
    assert values["lipinski_violations"] == 0
    assert values["passes_rule_of_five"] == "true"
    assert 0 < float(values["qed"]) < 1


def test_one_violation_still_passes_two_fail() -> None:
    # Octadecane: 254.5 Da, logP well over 5, no N or O: one rule broken.
    one = describe("C" * 18)
    assert (one["lipinski_violations"], one["passes_rule_of_five"]) == (1, "true")
    # Tetracontane: 563.1 Da and logP over 5: two rules broken.
    two = describe("C" * 40)
    assert float(two["molecular_weight"]) == pytest.approx(40 * 12.011 + 82 * 1.008, abs=0.01)
    assert (two["lipinski_violations"], two["passes_rule_of_five"]) == (2, "false")


def test_two_spellings_of_one_molecule_give_one_canonical_smiles_and_key() -> None:
    kekule, aromatic = describe("C1=CC=CC=C1"), describe("c1ccccc1")
    assert kekule["canonical_smiles"] == aromatic["canonical_smiles"] == "c1ccccc1"
    assert kekule["inchikey"] == aromatic["inchikey"] == "UHOVQNZJYSORNB-UHFFFAOYSA-N"


def test_charged_salt_reports_its_formal_charge_per_ion() -> None:
    assert describe("CC(=O)[O-].[Na+]")["formal_charge"] == 0
    assert describe("C[N+](C)(C)C")["formal_charge"] == 1


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("CC(C", "SMILES Parse Error: extra open parentheses"),
        ("C1CC", "SMILES Parse Error: unclosed ring"),
        ("CN(C)(C)(C)C", "Explicit valence for atom # 1 N, 5"),
        ("c1cccc1", "Can't kekulize mol"),
        ("*C", "no InChI: Unsupported in this mode element '*'"),
        ("", "missing SMILES"),
        # RDKit itself would read these as other molecules: it skips non-ASCII characters
        # ("C" + Arabic-Indic three reads as methane) and stops at whitespace (the rest is a name).
        ("C\u0663", "SMILES holds '\u0663' at position 1"),
        ("CCO ethanol", "SMILES holds ' ' at position 3"),
        ("C" * 2001, "SMILES longer than 2000 characters"),
    ],
)
def test_rdkit_reason_is_the_reject_reason(smiles: str, reason: str) -> None:
    with pytest.raises(MoleculeError) as caught:
        describe(smiles)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "[" not in str(caught.value)[:1]  # RDKit's log timestamp is dropped


# -- sharding on S3 ---------------------------------------------------------------------------


def test_shards_together_cover_every_row_exactly_once(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = generated_rows(103)
    put_input(s3, to_csv(rows))
    for index in range(4):
        assert run_shard(index, 4, monkeypatch) == 0
    ids = [
        r["id"]
        for index in range(4)
        for r in read_csv(s3, f"output/library/shards-4/part-{index:05d}.csv")
    ]
    assert sorted(ids) == [row[0] for row in rows]


def test_shard_takes_every_nth_row(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = generated_rows(10)
    put_input(s3, to_csv(rows))
    assert run_shard(1, 3, monkeypatch) == 0
    ids = [r["id"] for r in read_csv(s3, "output/library/shards-3/part-00001.csv")]
    assert ids == ["cmp-0001", "cmp-0004", "cmp-0007"]


def test_malformed_rows_go_to_the_rejects_file_not_a_crash(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [(name, smiles) for name, (smiles, _, _) in KNOWN.items()]
    put_input(s3, to_csv(good + MALFORMED) + "too,many,fields\n")
    assert run_shard(None, 1, monkeypatch) == 0
    assert [r["id"] for r in read_csv(s3, "output/library/shards-1/part-00000.csv")] == list(KNOWN)
    rejects = read_csv(s3, "output/library/shards-1/rejects-00000.csv")
    assert [(e["row"], e["line"], e["id"]) for e in rejects] == [
        ("5", "6", "bad-parse"),
        ("6", "7", "bad-valence"),
        ("7", "8", ""),
        ("8", "9", "bad-empty"),
        ("9", "10", "too"),
    ]
    assert rejects[0]["reason"].startswith("SMILES Parse Error:")
    assert rejects[0]["smiles"] == "CC(C"
    assert rejects[1]["reason"].startswith("sanitization failed: Explicit valence")
    assert [e["reason"] for e in rejects[2:]] == [
        "missing id",
        "missing SMILES",
        "3 fields; the header has 2",
    ]
    summary = json.loads(get(s3, "output/library/shards-1/summary-00000.json"))
    assert summary == {
        "input_lines": 10,
        "input_records": 9,
        "passed_rule_of_five": 4,
        "rejected": 5,
        "rows": 9,
        "shard_count": 1,
        "shard_index": 0,
        "succeeded": 4,
    }


def test_empty_input_writes_empty_results(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, "")
    assert run_shard(0, 2, monkeypatch) == 0
    assert read_csv(s3, "output/library/shards-2/part-00000.csv") == []
    header = get(s3, "output/library/shards-2/part-00000.csv").splitlines()[0]
    assert header.startswith("row,line,id,smiles,canonical_smiles,inchikey,")
    assert json.loads(get(s3, "output/library/shards-2/summary-00000.json"))["rows"] == 0


def test_header_only_input_writes_empty_results(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, "id,smiles\n")
    assert run_shard(0, 1, monkeypatch) == 0
    assert read_csv(s3, "output/library/shards-1/part-00000.csv") == []


def test_shard_beyond_the_data_succeeds_with_no_rows(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_input(s3, to_csv(generated_rows(3)))
    assert run_shard(7, 8, monkeypatch) == 0
    assert read_csv(s3, "output/library/shards-8/part-00007.csv") == []
    assert read_csv(s3, "output/library/shards-8/rejects-00007.csv") == []
    summary = json.loads(get(s3, "output/library/shards-8/summary-00007.json"))
    assert (summary["rows"], summary["shard_index"]) == (0, 7)


def test_rerun_overwrites_with_identical_output(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, to_csv(generated_rows(50) + MALFORMED))
    for index in range(3):
        run_shard(index, 3, monkeypatch)
    first = outputs(s3)
    for index in range(3):  # a retried array: every child again
        run_shard(index, 3, monkeypatch)
    assert outputs(s3) == first
    assert len(first) == 9  # three files per shard, no duplicates from the second run


def test_rerun_with_another_shard_count_keeps_each_run_whole(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = generated_rows(30)
    put_input(s3, to_csv(rows))
    for count in (8, 4):
        for index in range(count):
            assert run_shard(index, count, monkeypatch) == 0
    # Each run's folder holds every row once; the 8-shard files are not mixed into the 4.
    for count in (8, 4):
        ids = [
            r["id"]
            for index in range(count)
            for r in read_csv(s3, f"output/library/shards-{count}/part-{index:05d}.csv")
        ]
        assert sorted(ids) == [row[0] for row in rows]
    assert len(outputs(s3)) == 3 * (8 + 4)


def test_header_is_case_and_space_insensitive_and_bom_tolerated(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_input(s3, "\ufeff ID , Name ,SMILES\nx1,water,O\n")
    assert run_shard(0, 1, monkeypatch) == 0
    [row] = read_csv(s3, "output/library/shards-1/part-00000.csv")
    assert (row["id"], row["molecular_weight"]) == ("x1", "18.015")


# -- input the job cannot use: exit 2 (no retry), nothing written ------------------------------


def test_missing_input_exits_2_and_writes_nothing(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_shard(0, 1, monkeypatch) == 2
    assert outputs(s3) == {}


def test_missing_columns_exit_2_and_write_nothing(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, "id,name,formula\n1,ethanol,C2H6O\n")  # the job's former input format
    assert run_shard(0, 1, monkeypatch) == 2
    assert outputs(s3) == {}


def test_binary_input_exits_2(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3.put_object(Bucket=BUCKET, Key=INPUT_KEY, Body=b"\xff\xfe\x00garbage")
    assert run_shard(0, 1, monkeypatch) == 2


def test_invalid_shard_exits_2(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, to_csv(generated_rows(3)))
    assert run_shard(0, 0, monkeypatch) == 2
    assert outputs(s3) == {}


def test_shard_index_at_or_past_the_count_exits_2_and_writes_nothing(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An array of 4 submitted with shards=3: child 3 owns no rows under any dealing, and the
    # run is not the one asked for, so the mismatch fails loudly instead of passing quietly.
    put_input(s3, to_csv(generated_rows(10)))
    assert run_shard(3, 3, monkeypatch) == 2
    assert outputs(s3) == {}


def test_field_over_the_csv_limit_exits_2_and_writes_nothing(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_input(s3, f'id,name,smiles\nx,"{"C" * 200_000}",O\ny,water,O\n')
    assert run_shard(0, 1, monkeypatch) == 2
    assert outputs(s3) == {}


def test_s3_client_retries_throttling_before_the_job_fails(aws_credentials: None) -> None:
    # A non-zero exit is not retried by Batch, so transient S3 errors are retried in-process.
    from compounds.cli import _s3

    retries = _s3().meta.config.retries
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == 10


def test_process_shard_rejects_a_negative_index() -> None:
    with pytest.raises(ValueError, match="shard -1 of 2"):
        process_shard("id,smiles\n", shard_index=-1, shard_count=2)


# -- local files ------------------------------------------------------------------------------


def test_runs_on_local_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "library.csv"
    source.write_text(to_csv([("a", KNOWN["aspirin"][0])]), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["run", "--input", str(source), "--output", str(out), "--shard-index", "0"])
    assert code == 0
    [row] = list(
        csv.DictReader((out / "library" / "shards-1" / "part-00000.csv").open(encoding="utf-8"))
    )
    assert row["molecular_weight"] == "180.159"
    assert json.loads(capsys.readouterr().out)["succeeded"] == 1
    assert not list(out.rglob("*.tmp"))


# -- the example library ----------------------------------------------------------------------


def test_example_library_file_is_what_the_generator_writes() -> None:
    shipped = Path(__file__).resolve().parents[2] / "containers/batch_job/example/library.csv"
    assert shipped.read_text(encoding="utf-8") == library()


def test_example_library_screens_with_only_its_bad_rows_rejected() -> None:
    result = process_shard(library(), shard_index=0, shard_count=1)
    assert [r["id"] for r in result.rejects] == [row[0] for row in BAD]
    assert len(result.results) == len(DRUGS) + 40
    keys = {r["id"]: r["inchikey"] for r in result.results}
    assert keys["drug-aspirin"] == KNOWN["aspirin"][2]
    # The Kekule and aromatic spellings of benzene are one molecule: one key to de-duplicate on.
    assert keys["drug-benzene-kekule"] == keys["drug-benzene-aromatic"]


def test_descriptors_match_the_reference_values_rdkit_ships_for_200_nci_molecules() -> None:
    # RDKit's test data: 200 NCI molecules with reference properties (average MW, Lipinski's
    # donor and acceptor counts, SSSR rings, rotatable bonds) stored beside each structure.
    path = Path(RDConfig.RDDataDir) / "NCI" / "first_200.props.sdf"
    blocks = path.read_text(encoding="utf-8").split("$$$$\n")[:-1]
    supplier = Chem.SDMolSupplier(str(path))
    assert len(blocks) == len(supplier) == 200
    for block, reference in zip(blocks, supplier, strict=True):
        props = reference.GetPropsAsDict()
        values = describe_block(block)
        assert float(values["molecular_weight"]) == pytest.approx(props["AMW"], abs=0.01)
        assert values["h_bond_donors"] == props["NUM_LIPINSKIHDONORS"]
        assert values["h_bond_acceptors"] == props["NUM_LIPINSKIHACCEPTORS"]
        assert values["rings"] == props["NUM_RINGS"]
        assert values["rotatable_bonds"] == props["NUM_ROTATABLEBONDS"]


# -- SDF input --------------------------------------------------------------------------------


def sdf_library() -> str:
    """The example drugs as an SDF (title = id), one record with an <id> data item instead,
    one five-bonded nitrogen, one record without a title."""
    out = io.StringIO()
    writer = Chem.SDWriter(out)
    for compound_id, _, smiles in DRUGS[:4]:
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", compound_id)
        writer.write(mol)
    tagged = Chem.MolFromSmiles("CCO")
    tagged.SetProp("id", "tagged-ethanol")
    writer.write(tagged)
    writer.flush()
    bad = Chem.MolFromSmiles("CN(C)(C)(C)C", sanitize=False)
    bad.UpdatePropertyCache(strict=False)
    text = out.getvalue()
    text += "bad-valence\n" + Chem.MolToMolBlock(bad, kekulize=False).split("\n", 1)[1] + "$$$$\n"
    text += Chem.MolToMolBlock(Chem.MolFromSmiles("CCN")) + "$$$$\n"
    return text


def test_sdf_input_screens_like_the_smiles_of_the_same_molecules(tmp_path: Path) -> None:
    source = tmp_path / "library.sdf"
    text = sdf_library()
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--input", str(source), "--output", str(out)]) == 0
    folder = out / "library" / "shards-1"
    results = list(csv.DictReader((folder / "part-00000.csv").open(encoding="utf-8")))
    expected = {i: describe(smiles)["inchikey"] for i, _, smiles in DRUGS[:4]}
    expected["tagged-ethanol"] = "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"  # ethanol, as PubChem lists it
    assert {r["id"]: r["inchikey"] for r in results} == expected
    rejects = list(csv.DictReader((folder / "rejects-00000.csv").open(encoding="utf-8")))
    assert [(r["row"], r["id"]) for r in rejects] == [("6", "bad-valence"), ("7", "")]
    assert "Explicit valence for atom # 1 N, 5" in rejects[0]["reason"]
    assert rejects[1]["reason"] == "missing id"
    summary = json.loads((folder / "summary-00000.json").read_text(encoding="utf-8"))
    assert summary["input_lines"] == len(text.splitlines())
    assert summary["input_records"] == 7
    # Each record starts on the line after the previous record's $$$$.
    ends = [n for n, line in enumerate(text.splitlines(), start=1) if line == "$$$$"]
    assert [int(r["line"]) for r in results] == [1, *[e + 1 for e in ends[:4]]]


def test_sdf_shards_cover_every_record_once() -> None:
    text = sdf_library()
    rows = [
        row["row"]
        for index in range(3)
        for result in [process_shard(text, shard_index=index, shard_count=3, input_format="sdf")]
        for row in (*result.results, *result.rejects)
    ]
    assert sorted(rows) == list(range(1, 8))


def test_sdf_text_after_the_last_record_is_a_record_unless_blank() -> None:
    text = sdf_library()
    assert (
        process_shard(text + "\n\n", shard_index=0, shard_count=1, input_format="sdf").summary()[
            "input_records"
        ]
        == 7
    )
    tail = process_shard(text + "junk\n", shard_index=0, shard_count=1, input_format="sdf")
    assert tail.input_records == 8
    assert tail.rejects[-1]["id"] == "junk"
    assert tail.rejects[-1]["reason"].startswith("RDKit could not read the mol block")
