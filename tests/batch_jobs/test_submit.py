"""The submit tool against moto's Batch without Docker (jobs finish at once, as succeeded, or
failed when MOTO_SIMPLE_BATCH_FAIL_AFTER=0), and its polling against a scripted client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from compounds.submit import follow, main, submit
from moto import mock_aws

BUCKET = "compounds-data"
NO_DOCKER: Any = {"batch": {"use_docker": False}}


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[dict[str, Any]]:
    """A bucket, and a queue and job definition shaped like the stack's."""
    with mock_aws(config=NO_DOCKER):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        batch = boto3.client("batch", region_name="us-east-1")
        environment = batch.create_compute_environment(
            computeEnvironmentName="compounds", type="UNMANAGED", serviceRole=role
        )["computeEnvironmentArn"]
        queue = batch.create_job_queue(
            jobQueueName="compounds",
            state="ENABLED",
            priority=10,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )["jobQueueArn"]
        definition = batch.register_job_definition(
            jobDefinitionName="compounds",
            type="container",
            parameters={"shards": "1"},
            containerProperties={
                "image": "compounds:latest",
                "command": ["run", "--input", "Ref::input", "--output", "Ref::output"],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "2048"},
                ],
            },
        )["jobDefinitionArn"]
        yield {"s3": s3, "batch": batch, "queue": queue, "definition": definition}


def args(aws: dict[str, Any], csv_file: Path, *extra: str) -> list[str]:
    return [
        str(csv_file),
        "--bucket",
        BUCKET,
        "--job-queue",
        aws["queue"],
        "--job-definition",
        aws["definition"],
        "--poll-seconds",
        "0",
        *extra,
    ]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "library.csv"
    path.write_text("id,smiles\na,CC(=O)Oc1ccccc1C(=O)O\n", encoding="utf-8")
    return path


def test_uploads_the_input_under_the_input_prefix(aws: dict[str, Any], csv_file: Path) -> None:
    assert main(args(aws, csv_file), sleep=lambda _: None) == 0
    body = aws["s3"].get_object(Bucket=BUCKET, Key="input/library.csv")["Body"].read()
    assert body == csv_file.read_bytes()


def test_submits_an_array_job_with_the_shard_parameters(
    aws: dict[str, Any], csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args(aws, csv_file, "--shards", "3"), sleep=lambda _: None) == 0
    out = capsys.readouterr().out
    job_id = out.split("submitted ")[1].split()[0]
    # Where the job writes a 3-shard run of library.csv (compounds.job.output_keys).
    assert f"results under s3://{BUCKET}/output/library/shards-3/" in out
    [job] = aws["batch"].describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "SUCCEEDED"
    assert job["arrayProperties"]["size"] == 3
    assert job["parameters"] == {
        "input": f"s3://{BUCKET}/input/library.csv",
        "output": f"s3://{BUCKET}/output/",
        "shards": "3",
    }


def test_one_shard_is_a_plain_job_not_an_array(aws: dict[str, Any]) -> None:
    # Batch rejects an array size of 1; a single shard is submitted without array properties.
    job_id = submit(
        aws["batch"],
        job_queue=aws["queue"],
        job_definition=aws["definition"],
        bucket=BUCKET,
        input_key="input/library.csv",
    )
    [job] = aws["batch"].describe_jobs(jobs=[job_id])["jobs"]
    assert "arrayProperties" not in job
    assert job["parameters"]["shards"] == "1"


def test_failed_job_exits_1(
    aws: dict[str, Any], csv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    assert main(args(aws, csv_file), sleep=lambda _: None) == 1


def test_too_many_shards_is_a_usage_error(aws: dict[str, Any], csv_file: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args(aws, csv_file, "--shards", "10001"))
    assert exit_info.value.code == 2


def test_missing_file_is_a_usage_error(aws: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args(aws, tmp_path / "absent.csv"))
    assert exit_info.value.code == 2


class ScriptedBatch:
    """describe_jobs answers from a script: the states a real job passes through."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.calls = 0

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        state = self.states[min(self.calls, len(self.states) - 1)]
        self.calls += 1
        return {"jobs": [{"jobId": jobs[0], **state}]}


def test_follow_reports_each_change_once_and_stops_at_the_end() -> None:
    client = ScriptedBatch(
        [
            {"status": "RUNNABLE"},
            {"status": "RUNNABLE"},
            {"status": "RUNNING", "arrayProperties": {"statusSummary": {"RUNNING": 2}}},
            {"status": "SUCCEEDED"},
        ]
    )
    reported: list[str] = []
    slept: list[float] = []
    job = follow(client, "job-1", poll_seconds=5, sleep=slept.append, report=reported.append)
    assert job["status"] == "SUCCEEDED"
    assert reported == ["RUNNABLE", "RUNNING {'RUNNING': 2}", "SUCCEEDED"]
    assert slept == [5, 5, 5]


def test_follow_gives_up_after_its_timeout() -> None:
    client = ScriptedBatch([{"status": "RUNNABLE"}])
    with pytest.raises(TimeoutError, match="still RUNNABLE"):
        follow(client, "job-1", poll_seconds=10, timeout_seconds=30, sleep=lambda _: None)
    assert client.calls == 4  # at 0, 10, 20 and 30 seconds
