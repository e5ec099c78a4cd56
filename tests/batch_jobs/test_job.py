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
from compounds.job import describe, process_shard
from moto import mock_aws

BUCKET = "compounds-data"
INPUT_KEY = "input/library.csv"
INPUT = f"s3://{BUCKET}/{INPUT_KEY}"
OUTPUT = f"s3://{BUCKET}/output/"

# Formulas of real drugs, with their weights worked out from the table (sum of count x weight).
KNOWN = {
    "aspirin": ("C9H8O4", 180.159),
    "caffeine": ("C8H10N4O2", 194.194),
    "ibuprofen": ("C13H18O2", 206.285),
    "paracetamol": ("C8H9NO2", 151.165),
}
MALFORMED = [
    ("bad-element", "mystery", "C6Xx2"),
    ("bad-bracket", "unclosed", "Ca(OH2"),
    ("", "no id", "C6H6"),
    ("bad-empty", "no formula", ""),
]


def generated_rows(count: int) -> list[tuple[str, str, str]]:
    """Valid compounds: small organic formulas that vary from row to row, the same every run."""
    rows = []
    for n in range(count):
        formula = f"C{n % 40 + 1}H{n * 7 % 60 + 1}N{n % 6 + 1}O{n * 5 % 8 + 1}"
        rows.append((f"cmp-{n:04d}", f"compound {n}", formula))
    return rows


def to_csv(rows: list[tuple[str, str, str]], header: str = "id,name,formula") -> str:
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


def test_known_drugs_get_their_molecular_weight() -> None:
    for name, (formula, weight) in KNOWN.items():
        assert float(describe(name, name, formula)["molecular_weight"]) == pytest.approx(weight)


def test_small_drug_passes_the_screen() -> None:
    result = describe("a", "aspirin", "C9H8O4")
    assert result["hbond_acceptors"] == 4
    assert result["heavy_atoms"] == 13
    assert result["rule_of_five_violations"] == 0
    assert result["passes_screen"] == "true"


def test_one_violation_still_passes_two_fail() -> None:
    # C40H60O4: 40 x 12.011 + 60 x 1.008 + 4 x 15.999 = 604.9 > 500, 4 acceptors: one rule.
    assert describe("x", "big", "C40H60O4")["passes_screen"] == "true"
    # C40H60N6O6: over 500 Da and 12 N+O acceptors: two rules broken.
    heavy = describe("y", "bigger", "C40H60N6O6")
    assert heavy["rule_of_five_violations"] == 2
    assert heavy["passes_screen"] == "false"


def test_element_counts_are_json_in_element_order() -> None:
    assert json.loads(describe("c", "caffeine", "C8H10N4O2")["element_counts"]) == {
        "C": 8,
        "H": 10,
        "N": 4,
        "O": 2,
    }


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


def test_malformed_rows_go_to_the_errors_file_not_a_crash(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [(name, name, formula) for name, (formula, _) in KNOWN.items()]
    put_input(s3, to_csv(good + MALFORMED) + "too,many,fields,here\n")
    assert run_shard(None, 1, monkeypatch) == 0
    assert [r["id"] for r in read_csv(s3, "output/library/shards-1/part-00000.csv")] == list(KNOWN)
    errors = read_csv(s3, "output/library/shards-1/errors-00000.csv")
    assert [(e["row"], e["id"]) for e in errors] == [
        ("5", "bad-element"),
        ("6", "bad-bracket"),
        ("7", ""),
        ("8", "bad-empty"),
        ("9", "too"),
    ]
    assert "unknown or unsupported element 'Xx'" in errors[0]["error"]
    assert errors[2]["error"] == "missing id"
    assert errors[4]["error"] == "too many fields"
    summary = json.loads(get(s3, "output/library/shards-1/summary-00000.json"))
    assert summary == {
        "failed": 5,
        "passed_screen": 4,
        "rows": 9,
        "shard_count": 1,
        "shard_index": 0,
        "succeeded": 4,
    }


def test_empty_input_writes_empty_results(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, "")
    assert run_shard(0, 2, monkeypatch) == 0
    assert read_csv(s3, "output/library/shards-2/part-00000.csv") == []
    assert get(s3, "output/library/shards-2/part-00000.csv").startswith("id,name,formula,")
    assert json.loads(get(s3, "output/library/shards-2/summary-00000.json"))["rows"] == 0


def test_header_only_input_writes_empty_results(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, "id,name,formula\n")
    assert run_shard(0, 1, monkeypatch) == 0
    assert read_csv(s3, "output/library/shards-1/part-00000.csv") == []


def test_shard_beyond_the_data_succeeds_with_no_rows(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_input(s3, to_csv(generated_rows(3)))
    assert run_shard(7, 8, monkeypatch) == 0
    assert read_csv(s3, "output/library/shards-8/part-00007.csv") == []
    assert read_csv(s3, "output/library/shards-8/errors-00007.csv") == []
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
    put_input(s3, "\ufeff ID , Name ,FORMULA\nx1,water,H2O\n")
    assert run_shard(0, 1, monkeypatch) == 0
    [row] = read_csv(s3, "output/library/shards-1/part-00000.csv")
    assert (row["id"], row["molecular_weight"]) == ("x1", "18.015")


# -- input the job cannot use: exit 2 (no retry), nothing written ------------------------------


def test_missing_input_exits_2_and_writes_nothing(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_shard(0, 1, monkeypatch) == 2
    assert outputs(s3) == {}


def test_missing_columns_exit_2_and_write_nothing(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_input(s3, "id,smiles\n1,CCO\n")
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
    put_input(s3, f'id,name,formula\nx,"{"C" * 200_000}",H2O\ny,water,H2O\n')
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
        process_shard("id,name,formula\n", shard_index=-1, shard_count=2)


# -- local files ------------------------------------------------------------------------------


def test_runs_on_local_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "library.csv"
    source.write_text(to_csv([("a", "aspirin", "C9H8O4")]), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["run", "--input", str(source), "--output", str(out), "--shard-index", "0"])
    assert code == 0
    [row] = list(
        csv.DictReader((out / "library" / "shards-1" / "part-00000.csv").open(encoding="utf-8"))
    )
    assert row["molecular_weight"] == "180.159"
    assert json.loads(capsys.readouterr().out)["succeeded"] == 1
    assert not list(out.rglob("*.tmp"))
