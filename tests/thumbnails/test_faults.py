"""The thumbnail function under injected S3 faults (tests/faults.py): for every call it makes
on a two-image event, failed before the request or after S3 applied it, each source object is
fully thumbnailed or not at all, a failure is raised (so Lambda retries the event), and the
retry gives exactly the fault-free thumbnails."""

from __future__ import annotations

import hashlib
import importlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from PIL import Image

from tests.faults import Fault, Harness, harness
from tests.support import FAKE_AWS_ENV, ROOT, LambdaContext, handler_package

SOURCE, DESTINATION = "faults-uploads", "faults-thumbs"
ENV = {
    "DESTINATION_BUCKET": DESTINATION,
    "DESTINATION_PREFIX": "thumbnails/",
    "SOURCE_PREFIX": "uploads/",
    "WIDTHS": "32,64",
    "OUTPUT_FORMAT": "",
    "QUALITY": "85",
    "MAX_PIXELS": "50000000",
    "MAX_BYTES": str(1024 * 1024),
    "POWERTOOLS_SERVICE_NAME": "thumbnails",
    "POWERTOOLS_METRICS_NAMESPACE": "ThumbnailFaults",
    "AWS_REGION": "us-east-1",
}
NAMES = ("cat.png", "dog.jpg")


def _image(name: str) -> bytes:
    out = io.BytesIO()
    fmt = {"png": "PNG", "jpg": "JPEG"}[name.rsplit(".", 1)[1]]
    Image.new("RGB", (120, 80), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


@dataclass
class Thumbnails:
    app: ModuleType

    def setup(self) -> None:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=SOURCE)
        s3.create_bucket(Bucket=DESTINATION)
        self.records = []
        for name in NAMES:
            put = s3.put_object(Bucket=SOURCE, Key=f"uploads/{name}", Body=_image(name))
            self.records.append(
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": SOURCE},
                        "object": {
                            "key": f"uploads/{name}",
                            "size": 1,
                            "eTag": put["ETag"].strip('"'),
                        },
                    },
                }
            )

    def run(self) -> bool:
        try:
            self.app.lambda_handler({"Records": self.records}, LambdaContext())
        except self.app.RetryLater:
            return False
        return True

    def visible(self) -> dict[str, dict[str, Any]]:
        """Per source object, its thumbnails (key: digest, type, metadata)."""
        s3 = boto3.client("s3", region_name="us-east-1")
        found: dict[str, dict[str, Any]] = {}
        for obj in s3.list_objects_v2(Bucket=DESTINATION).get("Contents", []):
            got = s3.get_object(Bucket=DESTINATION, Key=obj["Key"])
            source = got["Metadata"]["source-key"]
            found.setdefault(source, {})[obj["Key"]] = (
                hashlib.sha256(got["Body"].read()).hexdigest(),
                got["ContentType"],
                sorted(got["Metadata"].items()),
            )
        return found

    def half_done(self, state: Any, before: Any, reference: Any) -> str | None:  # noqa: ARG002
        # Each object on its own: the event's other records are finished before it fails.
        partial = [k for k, thumbs in state.items() if thumbs != reference.get(k)]
        return f"a partial set of thumbnails for {partial}: {state}" if partial else None


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Harness, ModuleType]]:
    with harness(monkeypatch, {**FAKE_AWS_ENV, **ENV}) as fault_harness:
        for name in [m for m in sys.modules if m.split(".")[0] == "thumbnailer"]:
            del sys.modules[name]
        with handler_package(ROOT / "containers" / "thumbnail", ENV):
            yield fault_harness, importlib.import_module("thumbnailer.app")


def test_every_s3_fault_leaves_each_object_fully_thumbnailed_or_not_at_all(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    report = fault_harness.drive(Thumbnails(app))
    # 2 GetObject (refused) + 4 PutObject x 3 kinds.
    assert len(report.cases) == 14, str(report)
    assert report.violations == [], str(report)


def test_a_failed_second_upload_removes_the_first(faults: tuple[Harness, ModuleType]) -> None:
    """The case the issue found: the second of two uploads fails; before the fix the first
    stayed in the destination bucket."""
    fault_harness, app = faults
    scenario = Thumbnails(app)
    scenario.setup()
    with fault_harness.injector.armed(Fault("s3", "PutObject", 2, "refused")):
        assert not scenario.run()
    # cat.png's second thumbnail failed: none of its thumbnails stays; dog.jpg's are complete.
    assert list(scenario.visible()) == ["uploads/dog.jpg"]
