"""The nightly export under injected DynamoDB and S3 faults (tests/faults.py): 7 items in 3
scan pages and 3 parts, every call failed in turn before the request or after AWS applied it.
The run succeeds with the whole export, or fails (so Lambda retries it) leaving nothing under
the run's prefix: no manifest, no part, no lock; Lambda's retry (the same request id) gives
exactly the fault-free export."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.faults import Fault, Harness, harness, nothing_or_everything
from tests.support import FAKE_AWS_ENV, ROOT, LambdaContext, handler_package

TABLE, BUCKET = "faults-orders", "faults-exports"
RUN = f"exports/table={TABLE}/dt=2026-11-23/run=020000Z/"
ENV = {
    "TABLE_NAME": TABLE,
    "BUCKET_NAME": BUCKET,
    "EXPORT_PREFIX": "exports/",
    "RECORDS_PER_PART": "3",
    "SCAN_PAGE_SIZE": "3",
    "CONSISTENT_READ": "true",
    "LOCK_TTL_SECONDS": "960",
    "POWERTOOLS_SERVICE_NAME": "table-export",
    "POWERTOOLS_METRICS_NAMESPACE": "ExportFaults",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_REGION": "us-east-1",
}


@dataclass
class NightlyExport:
    app: ModuleType

    def setup(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(7):
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"order#{i}"}, "n": {"N": str(i)}})

    def run(self) -> bool:
        try:
            # One request id for the first attempt and its retry, as Lambda's retries keep it.
            self.app.lambda_handler({"scheduled_time": "2026-11-23T02:00:00Z"}, LambdaContext())
        except Exception:  # any error fails the invocation, and Lambda retries it
            return False
        return True

    def visible(self) -> dict[str, Any]:
        """Every object under the run's prefix: the manifest without its timestamps, the
        others by digest."""
        found: dict[str, Any] = {}
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=RUN)
        for obj in listing.get("Contents", []):
            body = self.s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
            if obj["Key"].endswith("_manifest.json"):
                manifest = json.loads(body)
                found[obj["Key"]] = {
                    k: v for k, v in manifest.items() if k not in ("started_at", "finished_at")
                }
            else:
                found[obj["Key"]] = hashlib.sha256(body).hexdigest()
        return found

    def half_done(self, state: Any, before: Any, reference: Any) -> str | None:
        return nothing_or_everything(state, before, reference)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Harness, ModuleType]]:
    with harness(monkeypatch, {**FAKE_AWS_ENV, **ENV}) as fault_harness:
        for name in [m for m in sys.modules if m.split(".")[0] == "nightly_export"]:
            del sys.modules[name]
        with handler_package(ROOT / "lambda_src" / "scheduled_job", ENV):
            yield fault_harness, importlib.import_module("nightly_export.app")


def test_every_fault_leaves_the_whole_export_or_nothing(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    report = fault_harness.drive(NightlyExport(app))
    # Scan x3 and ListObjectsV2 (refused); PutObject x5 (lock, 3 parts, manifest) and
    # DeleteObject x2 (old manifest, lock), each x 3 kinds.
    assert len(report.cases) == 4 + 7 * 3, str(report)
    assert report.violations == [], str(report)


def test_a_failed_second_scan_page_leaves_no_orphan_part(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    export = NightlyExport(app)
    export.setup()
    with fault_harness.injector.armed(Fault("dynamodb", "Scan", 3, "refused")):
        assert not export.run()
    assert export.visible() == {}  # before: part-00000 (3 records) stayed, and the lock


def test_a_lock_write_applied_but_unanswered_is_our_own(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    export = NightlyExport(app)
    export.setup()
    with fault_harness.injector.armed(Fault("s3", "PutObject", 1, "lost")):
        assert export.run()  # before: LockHeld on its own lock, which then stayed
    assert f"{RUN}_manifest.json" in export.visible()
    assert f"{RUN}_lock" not in export.visible()


def test_a_failed_release_neither_fails_the_export_nor_hides_the_error(
    faults: tuple[Harness, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    fault_harness, app = faults
    export = NightlyExport(app)
    export.setup()
    # Both release attempts fail (an outage): the export is complete all the same.
    monkeypatch.setattr(app.export, "release_lock", _failing_release)
    assert export.run()
    assert f"{RUN}_manifest.json" in export.visible()
    # An export that failed keeps its own error, not the release's.
    with (
        fault_harness.injector.armed(Fault("dynamodb", "Scan", 2, "refused")),
        pytest.raises(Exception) as raised,  # noqa: PT011 - the injected error, of either kind
    ):
        app.lambda_handler({"scheduled_time": "2026-11-23T02:00:00Z"}, LambdaContext())
    assert "dynamodb" in str(raised.value).lower() or "Scan" in str(raised.value)
    assert "could not be released either" in "".join(getattr(raised.value, "__notes__", []))


def _failing_release(*_: Any) -> None:
    from botocore.exceptions import EndpointConnectionError

    raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")
