"""The compounds job under injected S3 faults (tests/faults.py): both children of a two-shard
run, every S3 call failed in turn before the request or after S3 applied it. Each shard exits 0
with all three files, or non-zero with none of them (its summary is the commit marker); the
re-run of the job gives exactly the fault-free files. Once on empty output, once over an earlier
run's files under the same input name."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from compounds import cli

from tests.faults import Fault, Harness, harness
from tests.support import FAKE_AWS_ENV

BUCKET = "faults-compounds"
INPUT = f"s3://{BUCKET}/input/library.csv"
OUTPUT = f"s3://{BUCKET}/output/"
ROWS = "id,smiles\naspirin,CC(=O)OC1=CC=CC=C1C(=O)O\nbad,not-a-smiles\nethanol,CCO\n"
OLD_ROWS = "id,smiles\nmethane,C\n"


def _shard_of(key: str) -> str:
    return key.rsplit("-", 1)[1].split(".")[0]


@dataclass
class CompoundsJob:
    earlier_run: bool = False
    shards: int = 2

    def _s3(self) -> Any:
        # The test's own client, made once: the job makes its own, as in a container.
        if not hasattr(self, "_client"):
            self._client = boto3.client("s3", region_name="us-east-1")
        return self._client

    def _put_input(self, text: str) -> None:
        self._s3().put_object(Bucket=BUCKET, Key="input/library.csv", Body=text.encode())

    def setup(self) -> None:
        self._s3().create_bucket(Bucket=BUCKET)
        if self.earlier_run:  # the same input name, other rows: an earlier run's files
            self._put_input(OLD_ROWS)
            assert self.run()
        self._put_input(ROWS)

    def run(self) -> bool:
        codes = [
            cli.main(
                [
                    *("run", "--input", INPUT, "--output", OUTPUT),
                    *("--shard-index", str(i), "--shard-count", str(self.shards)),
                ]
            )
            for i in range(self.shards)
        ]
        assert set(codes) <= {0, 1, 2}, codes
        return codes == [0] * self.shards

    def visible(self) -> dict[str, dict[str, str]]:
        """Every object under the output prefix, by shard: key -> digest."""
        s3 = self._s3()
        shards: dict[str, dict[str, str]] = {}
        for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="output/").get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
            digest = hashlib.sha256(body).hexdigest()
            shards.setdefault(_shard_of(obj["Key"]), {})[obj["Key"]] = digest
        return shards

    def half_done(self, state: Any, before: Any, reference: Any) -> str | None:
        # Each shard on its own (the other child may well have succeeded): absent, as it was,
        # or complete; never a part without its summary, nor an old summary beside a new part.
        bad = {
            shard: files
            for shard, files in state.items()
            if files not in (before.get(shard), reference.get(shard))
        }
        return f"half-written shards {bad}" if bad else None


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with harness(monkeypatch, {**FAKE_AWS_ENV, "AWS_REGION": "us-east-1"}) as fault_harness:
        yield fault_harness


@pytest.mark.parametrize(
    ("earlier_run", "shards"), [(False, 2), (True, 1)], ids=["first-run", "re-run"]
)
def test_every_s3_fault_leaves_each_shard_complete_or_absent(
    faults: Harness, earlier_run: bool, shards: int
) -> None:
    report = faults.drive(CompoundsJob(earlier_run, shards))
    # Per shard: GetObject (refused), DeleteObject of the old summary and 3 PutObject (x 3).
    assert len(report.cases) == shards * (1 + 4 * 3), str(report)
    assert report.violations == [], str(report)


def test_a_failed_rejects_upload_leaves_no_part_and_no_old_summary(faults: Harness) -> None:
    """The cases the issue found: the rejects upload fails after the part was written; on a
    re-run the old summary stayed beside the new part. Now the shard's files are all gone."""
    job = CompoundsJob(earlier_run=True)
    job.setup()
    assert "00000" in job.visible()
    with faults.injector.armed(Fault("s3", "PutObject", 2, "refused")):
        assert not job.run()
    assert "00000" not in job.visible()
    assert sorted(job.visible()["00001"]) == [
        "output/library/shards-2/part-00001.csv",
        "output/library/shards-2/rejects-00001.csv",
        "output/library/shards-2/summary-00001.json",
    ]
