"""Issue 16's defects in the compounds job, and their classes: rows lost to a quote, unusable
locations and arguments that ended in a traceback, derived names that left the output folder.
Each case exits 2 with one line, or accounts for every input line; none writes elsewhere."""

from __future__ import annotations

import csv
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
import pytest
from compounds.cli import main
from compounds.job import process_shard
from compounds.paths import output_keys
from moto import mock_aws

from tests.batch_jobs.conftest import JOB_ROOT

BUCKET = "compounds-data"


def library(rows: int, *, replace: dict[int, str] | None = None) -> str:
    """``id,smiles`` with ``rows`` valid rows numbered from 1; ``replace`` swaps whole lines."""
    lines = ["id,smiles"]
    for n in range(1, rows + 1):
        lines.append((replace or {}).get(n, f"{n},{'C' * (n % 9 + 1)}O"))
    return "\n".join(lines) + "\n"


@pytest.fixture
def s3(aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# -- 2: every input line accounted for, or exit 2 ---------------------------------------------


def test_unterminated_quote_fails_the_run_instead_of_losing_the_rows_after_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The corpus case: row 10 opens a quote that never closes. The lenient reader took rows
    # 11-100 into that field and reported rows: 10 with exit 0.
    source = tmp_path / "library.csv"
    source.write_text(library(100, replace={10: '10,"unterminated name,CCO'}), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--input", str(source), "--output", str(out)]) == 2
    assert not out.exists()
    [message] = errors_logged(caplog)
    assert "not a readable CSV at line 11" in message


def test_quote_closing_rows_later_is_one_reject_naming_the_lines_it_spans() -> None:
    # A quote that does close, nine rows on: a valid CSV record over ten lines. It is not read
    # as one compound (the rows inside it would vanish); it is rejected with its line range.
    text = library(30, replace={10: '10,"opens here', 19: 'closes here",CCO'})
    result = process_shard(text, shard_index=0, shard_count=1)
    [reject] = result.rejects
    assert (reject["row"], reject["line"], reject["id"]) == (10, 11, "10")
    assert reject["reason"].startswith("record spans lines 11-20: a quoted field holds")
    assert len(result.results) == 30 - 10  # rows 1-9 and 20-30; 11-18 are inside the record
    assert result.summary()["input_lines"] == 31


def test_every_line_is_a_header_blank_or_part_of_one_record_across_shards() -> None:
    text = "\r\n\r\nid,smiles\r\n" + "".join(f"m{n},C{'C' * n}O\r\n\r\n" for n in range(20))
    text += 'q,"C\r\nC"\r\n'  # a quoted line break inside a SMILES: one record, two lines
    lines = len(text.splitlines())
    rows: list[int] = []
    spans = 0
    for index in range(3):
        result = process_shard(text, shard_index=index, shard_count=3)
        assert result.summary()["input_lines"] == lines
        for row in (*result.results, *result.rejects):
            rows.append(row["row"])
            spans += 2 if row["id"] == "q" else 1
    assert sorted(rows) == list(range(1, 22))  # every record in exactly one shard's files
    blank = 2 + 20
    assert 1 + blank + spans == lines


# -- 7: an unusable location or argument is exit 2 and one line --------------------------------


def test_bucket_without_a_key_is_one_line_and_exit_2_not_a_traceback(tmp_path: Path) -> None:
    # The corpus case, as the container runs it: botocore's ParamValidationError escaped.
    run = subprocess.run(  # noqa: S603 - the test's own interpreter and fixed arguments
        [sys.executable, "-m", "compounds", "run", "--input", f"s3://{BUCKET}", "--output", "o"],
        cwd=JOB_ROOT,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr
    assert f"expected s3://{BUCKET}/<key of the CSV>" in run.stderr
    assert not (JOB_ROOT / "o").exists()


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--input", "s3://", "is not a valid S3 bucket name"),
        ("--input", f"s3://{BUCKET}/", "<key of the CSV>"),
        ("--input", f"s3://{BUCKET}/input/", "<key of the CSV>"),
        ("--input", "s3://Upper_Case/key.csv", "is not a valid S3 bucket name"),
        ("--input", "s3://ab/key.csv", "is not a valid S3 bucket name"),
        ("--input", "s3://a..b/key.csv", "is not a valid S3 bucket name"),
        ("--input", f"s3://{BUCKET}/input/../secret.csv", "'.' and '..' are not allowed"),
        ("--input", f"s3://{BUCKET}/{'k' * 1000}.csv", "key longer than"),
        ("--input", "https://example.com/library.csv", "expected s3://bucket/key"),
        ("--input", "", "empty, or holds a control character"),
        ("--input", "library\x00.csv", "empty, or holds a control character"),
        ("--output", "s3://", "is not a valid S3 bucket name"),
        ("--output", f"s3://{BUCKET}/output/../input/", "'.' and '..' are not allowed"),
        ("--output", "ftp://host/out", "expected s3://bucket/key"),
        ("--shard-index", "\u0663", "expected a whole number"),  # Arabic-Indic 3: int() takes it
        ("--shard-index", "-1", "expected a whole number"),
        ("--shard-count", "1_0", "expected a whole number"),  # int() reads 10
        ("--shard-count", " 2", "expected a whole number"),
        ("--shard-count", "0", "need 0 <= index < count"),
    ],
)
def test_unusable_location_or_argument_exits_2_with_one_line(
    flag: str,
    value: str,
    expected: str,
    tmp_path: Path,
    s3: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = tmp_path / "library.csv"
    source.write_text(library(3), encoding="utf-8")
    argv = {"--input": str(source), "--output": f"s3://{BUCKET}/output/"}
    argv[flag] = value
    assert main(["run", *(item for pair in argv.items() for item in pair)]) == 2
    [message] = errors_logged(caplog)
    assert expected in message
    assert "\n" not in message
    assert keys(s3) == []


@pytest.mark.parametrize("value", ["\u0663", "3 ", "x", "1e3", "+1"])
def test_array_index_from_the_environment_is_checked_like_the_flag(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "library.csv"
    source.write_text(library(3), encoding="utf-8")
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", value)
    argv = ["run", "--input", str(source), "--output", str(tmp_path / "out"), "--shard-count", "4"]
    assert main(argv) == 2
    [message] = errors_logged(caplog)
    assert message.startswith("input error: AWS_BATCH_JOB_ARRAY_INDEX=")
    assert not (tmp_path / "out").exists()


def test_missing_bucket_is_exit_2(s3: Any, tmp_path: Path) -> None:
    argv = ["run", "--input", "s3://no-such-bucket/input/x.csv", "--output", str(tmp_path)]
    assert main(argv) == 2


def test_output_bucket_that_does_not_exist_is_exit_2(s3: Any, tmp_path: Path) -> None:
    source = tmp_path / "library.csv"
    source.write_text(library(3), encoding="utf-8")
    assert main(["run", "--input", str(source), "--output", "s3://no-such-bucket/out/"]) == 2


def test_local_output_that_is_a_file_is_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "library.csv"
    source.write_text(library(3), encoding="utf-8")
    assert main(["run", "--input", str(source), "--output", str(source)]) == 2
    assert source.read_text(encoding="utf-8") == library(3)


def test_input_that_is_a_folder_is_exit_2(tmp_path: Path) -> None:
    assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "out")]) == 2


# -- 8: derived names stay under the output prefix --------------------------------------------

HOSTILE_NAMES = [
    "...csv",  # the corpus case: stem ".."
    "..csv",
    ".csv",
    "....csv",
    "..",
    "../../etc.csv",
    "..\\..\\windows.csv",
    "a/b/../...csv",
    "line\nbreak.csv",
    "\u202egnp.csv",  # right-to-left override
    "",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_output_keys_never_leave_the_prefix(name: str) -> None:
    for prefix in ("output/", "output", "out/nested/", ""):
        for key in output_keys(name, prefix, 3, 8).values():
            assert key.startswith(prefix)
            parts = PurePosixPath(key).parts
            assert not {".", ".."} & set(parts)
            assert len(parts) == len(PurePosixPath(prefix).parts) + 3  # stem/shards-8/file
            assert "\n" not in key


def test_input_named_dot_dot_dot_csv_writes_inside_the_local_output_folder(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in" / "...csv"
    source.parent.mkdir()
    source.write_text(library(5), encoding="utf-8")
    out = tmp_path / "work" / "out"
    assert main(["run", "--input", str(source), "--output", str(out)]) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != source]
    assert len(written) == 3
    assert all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert not (tmp_path / "work" / "shards-1").exists()


def test_input_named_dot_dot_dot_csv_writes_under_the_s3_output_prefix(
    s3: Any, tmp_path: Path
) -> None:
    s3.put_object(Bucket=BUCKET, Key="input/...csv", Body=library(5).encode())
    argv = ["run", "--input", f"s3://{BUCKET}/input/...csv", "--output", f"s3://{BUCKET}/output/"]
    assert main(argv) == 0
    written = sorted(k for k in keys(s3) if k != "input/...csv")
    assert written == [
        "output/csv/shards-1/part-00000.csv",
        "output/csv/shards-1/rejects-00000.csv",
        "output/csv/shards-1/summary-00000.json",
    ]
    body = s3.get_object(Bucket=BUCKET, Key=written[0])["Body"].read().decode()
    assert len(list(csv.DictReader(io.StringIO(body)))) == 5
    summary = s3.get_object(Bucket=BUCKET, Key=written[2])["Body"].read()
    assert json.loads(summary)["succeeded"] == 5
