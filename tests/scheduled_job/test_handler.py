"""The nightly export run end to end against moto's DynamoDB and S3: what it wrote, and what a
re-run, an overlapping run or a bad event leaves behind."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support import ROOT, LambdaContext, handler_package

TABLE = "orders-test"
BUCKET = "exports-test"
PREFIX = "exports/"
SCHEDULED = "2026-11-23T02:00:00Z"
RUN = f"{PREFIX}table={TABLE}/dt=2026-11-23/run=020000Z/"


@pytest.fixture(scope="module")
def handler_module() -> Iterator[ModuleType]:
    """Import the handler once, the way Lambda does, with the environment the construct sets.

    Small parts and small scan pages, so a table of a few dozen items spans several of each.
    """
    env = {
        "TABLE_NAME": TABLE,
        "BUCKET_NAME": BUCKET,
        "EXPORT_PREFIX": PREFIX,
        "RECORDS_PER_PART": "10",
        "SCAN_PAGE_SIZE": "7",
        "LOCK_TTL_SECONDS": "660",
        "POWERTOOLS_SERVICE_NAME": "table-export",
        "POWERTOOLS_METRICS_NAMESPACE": "ScheduledJob",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with handler_package(ROOT / "lambda_src" / "scheduled_job", env):
        yield importlib.import_module("nightly_export.app")


@dataclass
class Fake:
    table: Any
    s3: Any


@pytest.fixture
def aws(
    aws_credentials: None, handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Fake]:
    with mock_aws():
        table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        # The handler's module-level clients were made outside the mock; point them at it.
        monkeypatch.setattr(
            handler_module, "dynamodb", boto3.client("dynamodb", region_name="us-east-1")
        )
        monkeypatch.setattr(handler_module, "s3", s3)
        yield Fake(table, s3)


def _fill(table: Any, count: int, *, start: int = 0) -> None:
    with table.batch_writer() as batch:
        for i in range(start, start + count):
            batch.put_item(Item={"pk": f"order#{i:04d}", "sk": "v1", "n": i})


def _run(handler_module: ModuleType, event: Any = None) -> dict[str, Any]:
    payload = {"scheduled_time": SCHEDULED} if event is None else event
    result: dict[str, Any] = handler_module.lambda_handler(payload, LambdaContext())
    return result


def _keys(s3: Any) -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _manifest(s3: Any) -> dict[str, Any]:
    body = s3.get_object(Bucket=BUCKET, Key=f"{RUN}_manifest.json")["Body"].read()
    return dict(json.loads(body))


def _exported(s3: Any) -> list[dict[str, Any]]:
    """Every record of the run, read the way a consumer should: through the manifest."""
    rows: list[dict[str, Any]] = []
    for part in _manifest(s3)["parts"]:
        raw = s3.get_object(Bucket=BUCKET, Key=part["key"])["Body"].read()
        assert hashlib.sha256(raw).hexdigest() == part["sha256"]
        lines = gzip.decompress(raw).decode().splitlines()
        assert len(lines) == part["records"]
        rows += [json.loads(line) for line in lines]
    return rows


# -- what an export writes -----------------------------------------------------------------------


def test_an_empty_table_gives_a_manifest_with_no_parts(
    aws: Fake, handler_module: ModuleType
) -> None:
    result = _run(handler_module)
    assert (result["status"], result["records"], result["parts"]) == ("exported", 0, 0)
    assert _keys(aws.s3) == [f"{RUN}_manifest.json"]
    manifest = _manifest(aws.s3)
    assert (manifest["records"], manifest["parts"]) == (0, [])
    assert manifest["scheduled_time"] == SCHEDULED


def test_a_table_bigger_than_one_scan_page_is_exported_whole(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 25)  # 4 scan pages of 7, 3 parts of 10
    scans: list[dict[str, Any]] = []
    handler_module.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.Scan", lambda params, **_: scans.append(dict(params))
    )
    result = _run(handler_module)
    assert len(scans) == 4  # the export really followed LastEvaluatedKey across pages
    assert all(call["Limit"] == 7 for call in scans)
    assert (result["records"], result["parts"]) == (25, 3)
    rows = _exported(aws.s3)
    assert sorted(r["pk"] for r in rows) == [f"order#{i:04d}" for i in range(25)]
    assert [p["records"] for p in _manifest(aws.s3)["parts"]] == [10, 10, 5]


def test_parts_are_gzip_json_lines_named_by_the_scheduled_time(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 12)
    _run(handler_module)
    assert _keys(aws.s3) == [
        f"{RUN}_manifest.json",
        f"{RUN}part-00000.jsonl.gz",
        f"{RUN}part-00001.jsonl.gz",
    ]
    head = aws.s3.head_object(Bucket=BUCKET, Key=f"{RUN}part-00000.jsonl.gz")
    assert head["ContentType"] == "application/gzip"
    assert head["Metadata"]["records"] == "10"


def test_every_dynamodb_type_becomes_plain_json_without_losing_precision(
    aws: Fake, handler_module: ModuleType
) -> None:
    aws.table.put_item(
        Item={
            "pk": "all-types",
            "sk": "v1",
            "text": "café ✓",
            "integer": 12345678901234567890123456789,
            "decimal": Decimal("0.1000000000000000000000000000000000001"),
            "flag": True,
            "nothing": None,
            "blob": b"\x00\xff",
            "tags": {"b", "a"},
            "scores": {Decimal(3), Decimal("1.5")},
            "nested": {"list": [1, "two", {"three": False}]},
        }
    )
    _run(handler_module)
    raw_line = gzip.decompress(
        aws.s3.get_object(Bucket=BUCKET, Key=f"{RUN}part-00000.jsonl.gz")["Body"].read()
    ).decode()
    (row,) = [json.loads(line, parse_float=Decimal) for line in raw_line.splitlines()]
    assert row["text"] == "café ✓"
    assert row["integer"] == 12345678901234567890123456789
    assert row["decimal"] == Decimal("0.1000000000000000000000000000000000001")
    assert (row["flag"], row["nothing"]) == (True, None)
    assert row["blob"] == "AP8="
    assert row["tags"] == ["a", "b"]
    assert row["scores"] == [Decimal("1.5"), 3]
    assert row["nested"] == {"list": [1, "two", {"three": False}]}


# -- re-runs and overlap -------------------------------------------------------------------------


def test_a_rerun_of_the_same_scheduled_time_overwrites_without_duplicates(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 25)
    _run(handler_module)
    first_keys = _keys(aws.s3)
    _run(handler_module)
    assert _keys(aws.s3) == first_keys
    rows = _exported(aws.s3)
    assert len(rows) == 25
    assert len({r["pk"] for r in rows}) == 25


def test_a_rerun_of_unchanged_data_writes_identical_bytes(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 12)
    _run(handler_module)
    first = [p["sha256"] for p in _manifest(aws.s3)["parts"]]
    _run(handler_module)
    assert [p["sha256"] for p in _manifest(aws.s3)["parts"]] == first


def test_a_rerun_after_the_table_shrank_removes_the_extra_parts(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 25)
    _run(handler_module)
    for i in range(20):
        aws.table.delete_item(Key={"pk": f"order#{i:04d}", "sk": "v1"})
    result = _run(handler_module)
    assert (result["records"], result["parts"]) == (5, 1)
    assert _keys(aws.s3) == [f"{RUN}_manifest.json", f"{RUN}part-00000.jsonl.gz"]
    assert len(_exported(aws.s3)) == 5


def test_another_scheduled_time_goes_to_its_own_location(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 3)
    _run(handler_module)
    result = _run(handler_module, {"scheduled_time": "2026-11-24T02:00:00Z"})
    assert result["location"] == f"s3://{BUCKET}/{PREFIX}table={TABLE}/dt=2026-11-24/run=020000Z/"
    assert len(_keys(aws.s3)) == 4


def test_the_payload_the_schedule_sends_is_accepted(aws: Fake, handler_module: ModuleType) -> None:
    _fill(aws.table, 2)
    event = {
        "scheduled_time": SCHEDULED,
        "attempt_number": "1",
        "execution_id": "d4a2b7c1-0000-4000-8000-000000000000",
        "schedule_arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/export",
    }
    result = _run(handler_module, event)
    assert result == {
        "status": "exported",
        "scheduled_time": SCHEDULED,
        "location": f"s3://{BUCKET}/{RUN}",
        "records": 2,
        "parts": 1,
    }


def test_a_scheduled_time_in_another_zone_is_keyed_in_utc(
    aws: Fake, handler_module: ModuleType
) -> None:
    result = _run(handler_module, {"scheduled_time": "2026-11-23T03:00:00+01:00"})
    assert result["scheduled_time"] == SCHEDULED
    assert result["location"] == f"s3://{BUCKET}/{RUN}"


def test_a_run_while_another_holds_the_lock_fails_for_a_retry_and_writes_nothing(
    aws: Fake, handler_module: ModuleType
) -> None:
    _fill(aws.table, 3)
    aws.s3.put_object(Bucket=BUCKET, Key=f"{RUN}_lock", Body=b'{"owner": "req-0"}')
    with pytest.raises(handler_module.LockHeld, match="another run of 2026-11-23T02:00:00"):
        _run(handler_module)
    assert _keys(aws.s3) == [f"{RUN}_lock"]  # the holder's lock is left alone


def test_a_lock_left_by_a_dead_run_is_taken_over(aws: Fake, handler_module: ModuleType) -> None:
    export = handler_module.export
    aws.s3.put_object(Bucket=BUCKET, Key=f"{RUN}_lock", Body=b'{"owner": "crashed"}')
    later = datetime.now(UTC) + timedelta(seconds=661)  # past LOCK_TTL_SECONDS
    result = export.export_table(
        dynamodb=handler_module.dynamodb,
        s3=aws.s3,
        table_name=TABLE,
        bucket=BUCKET,
        prefix=PREFIX,
        scheduled=export.parse_scheduled_time({"scheduled_time": SCHEDULED}),
        owner="req-2",
        lock_ttl_seconds=660,
        now=later,
    )
    assert result.run_prefix == RUN
    assert _keys(aws.s3) == [f"{RUN}_manifest.json"]  # the lock is released afterwards


class _ContendedS3:
    """S3 as a run sees it when the lock's holder releases it between our PUT and our HEAD."""

    def __init__(self, head_error: str) -> None:
        self.head_error = head_error

    def put_object(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": "PreconditionFailed"}}, "PutObject")

    def head_object(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": self.head_error}}, "HeadObject")


@pytest.mark.parametrize("code", ["404", "403"])  # 403: what S3 says without ListBucket
def test_a_lock_released_while_we_look_at_it_is_not_taken(
    handler_module: ModuleType, code: str
) -> None:
    taken = handler_module.export.acquire_lock(
        _ContendedS3(code),
        BUCKET,
        f"{RUN}_lock",
        owner="req-2",
        ttl_seconds=660,
        now=datetime.now(UTC),
    )
    assert taken is False


def test_an_s3_failure_while_taking_the_lock_is_raised(handler_module: ModuleType) -> None:
    with pytest.raises(ClientError, match="InternalError"):
        handler_module.export.acquire_lock(
            _ContendedS3("InternalError"),
            BUCKET,
            f"{RUN}_lock",
            owner="req-2",
            ttl_seconds=660,
            now=datetime.now(UTC),
        )


def test_a_failed_run_releases_the_lock_and_leaves_no_manifest(
    aws: Fake, handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(aws.table, 3)

    def broken(*_: Any, **__: Any) -> Iterator[Any]:
        raise RuntimeError("scan failed")

    monkeypatch.setattr(handler_module.export, "scan_items", broken)
    with pytest.raises(RuntimeError, match="scan failed"):
        _run(handler_module)
    assert _keys(aws.s3) == []


def test_a_failed_rerun_withdraws_the_old_manifest(
    aws: Fake, handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(aws.table, 12)
    _run(handler_module)
    real_upload = handler_module.export._upload_part
    calls = 0

    def fail_second_part(*args: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("S3 went away")
        part: dict[str, Any] = real_upload(*args)
        return part

    monkeypatch.setattr(handler_module.export, "_upload_part", fail_second_part)
    with pytest.raises(RuntimeError, match="S3 went away"):
        _run(handler_module)
    # Half-rewritten parts are never presented as a complete export.
    assert f"{RUN}_manifest.json" not in _keys(aws.s3)
    assert f"{RUN}_lock" not in _keys(aws.s3)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "scheduled_time is missing"),
        ({"scheduled_time": ""}, "scheduled_time is missing"),
        ({"scheduled_time": None}, "scheduled_time is missing"),
        ({"scheduled_time": 1732327200}, "must be an ISO 8601 string, got int"),
        ({"scheduled_time": "yesterday"}, "'yesterday' is not ISO 8601"),
        ({"scheduled_time": "2026-11-23T02:00:00"}, "has no time zone"),
        ({"scheduled_time": "<aws.scheduler.scheduled-time>"}, "is not ISO 8601"),
        (["not", "an", "object"], "event must be a JSON object"),
        # In UTC these fall outside years 1..9999: astimezone() raised OverflowError.
        ({"scheduled_time": "0001-01-01T00:00:00+01:00"}, "outside the years 1 to 9999"),
        ({"scheduled_time": "9999-12-31T23:59:59-01:00"}, "outside the years 1 to 9999"),
    ],
)
def test_bad_or_missing_scheduled_time_is_a_clear_error_and_writes_nothing(
    aws: Fake, handler_module: ModuleType, event: Any, message: str
) -> None:
    _fill(aws.table, 3)
    with pytest.raises(handler_module.InvalidInput, match=message):
        _run(handler_module, event)
    assert _keys(aws.s3) == []
