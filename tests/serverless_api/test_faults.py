"""The items API under injected DynamoDB faults (tests/faults.py). A client makes a create
without Idempotency-Key, a create with one, a list, a replace, a delete and a read, retrying
each request once when it is answered 503 (as the 503's Retry-After invites). For every call
the handler makes, failed before the request or after DynamoDB applied it, every request must
end with the answer it would have had without the fault (never 500, never a 409 against the
client's own update or a 404 against its own delete), every 5xx must carry Retry-After, and
the table must end exactly as without the fault: no duplicate item, no lost write."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.faults import Fault, Harness, harness
from tests.support import FAKE_AWS_ENV, ROOT, LambdaContext, handler_package, rest_proxy_event

TABLE = "faults-items"
ENV = {
    "TABLE_NAME": TABLE,
    "POWERTOOLS_SERVICE_NAME": "items-api",
    "POWERTOOLS_METRICS_NAMESPACE": "ItemsFaults",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_REGION": "us-east-1",
}


def _headers(reply: dict[str, Any]) -> dict[str, str]:
    """A REST proxy reply's headers (Powertools answers in ``multiValueHeaders``)."""
    multi = {k: ", ".join(v) for k, v in (reply.get("multiValueHeaders") or {}).items()}
    return {**multi, **(reply.get("headers") or {})}


@dataclass
class ItemsClient:
    app: ModuleType
    wrong: list[str] = field(default_factory=list)
    ran: bool = False

    def setup(self) -> None:
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.wrong, self.ran = [], False

    def _call(self, expected: int, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """One request, retried once on 503; records any answer other than ``expected``."""
        for _attempt in range(2):
            text = None if body is None else json.dumps(body)
            event = rest_proxy_event(method, path, body=text, **kw)
            reply = self.app.lambda_handler(event, LambdaContext())
            status = reply["statusCode"]
            if status >= 500 and "Retry-After" not in _headers(reply):
                self.wrong.append(f"{method} {path}: {status} without Retry-After")
            if status != 503:
                break
        if status != expected:
            self.wrong.append(f"{method} {path}: {status} {reply.get('body')}, not {expected}")
            return None
        return json.loads(reply["body"]) if reply.get("body") else None

    def run(self) -> bool:
        # The client retries each request itself (above); run again, it has nothing left to do.
        if self.ran:
            return not self.wrong
        self.ran = True
        first = self._call(201, "POST", "/items", {"name": "first"})
        keyed = self._call(
            201, "POST", "/items", {"name": "keyed"}, headers={"Idempotency-Key": "k1"}
        )
        self._call(200, "GET", "/items", query={"limit": "10"})
        if first is not None:
            path = f"/items/{first['id']}"
            self._call(200, "PUT", path, {"name": "first, renamed", "version": 1})
            self._call(200, "GET", path)
        if keyed is not None:
            self._call(204, "DELETE", f"/items/{keyed['id']}")
        return not self.wrong

    def visible(self) -> list[tuple[str, int]]:
        """The table's items as (name, version), ids and timestamps aside."""
        items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
        return sorted((i["name"]["S"], int(i["version"]["N"])) for i in items)

    def half_done(self, state: Any, before: Any, reference: Any) -> str | None:  # noqa: ARG002
        # The client retried: any wrong answer is a fault that reached it.
        return f"answers {self.wrong}, table {state}"


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Harness, ModuleType]]:
    with harness(monkeypatch, {**FAKE_AWS_ENV, **ENV}) as fault_harness:
        for name in [m for m in sys.modules if m.split(".")[0] == "items"]:
            del sys.modules[name]
        with handler_package(ROOT / "lambda_src" / "serverless_api", ENV):
            yield fault_harness, importlib.import_module("items.app")


def test_every_dynamodb_fault_is_answered_as_if_it_had_not_happened(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    report = fault_harness.drive(ItemsClient(app))
    # Scan and GetItem (refused); PutItem x2, UpdateItem, DeleteItem (x 3 kinds).
    assert len(report.cases) == 2 + 4 * 3, str(report)
    assert report.violations == [], str(report)


@pytest.mark.parametrize(
    ("fault", "was"),
    [
        (Fault("dynamodb", "PutItem", 1, "lost"), "500, and the client's retry a duplicate"),
        (Fault("dynamodb", "UpdateItem", 1, "lost-retried"), "409 against its own update"),
        (Fault("dynamodb", "DeleteItem", 1, "lost-retried"), "404 against its own delete"),
    ],
    ids=["create-without-key", "update", "delete"],
)
def test_a_write_applied_but_unanswered_is_recognised(
    faults: tuple[Harness, ModuleType], fault: Fault, was: str
) -> None:
    fault_harness, app = faults
    client = ItemsClient(app)
    client.setup()
    with fault_harness.injector.armed(fault):
        assert client.run(), f"{client.wrong} (before the fix: {was})"
    assert client.visible() == [("first, renamed", 2)]


def test_an_internal_server_error_is_a_503_with_retry_after(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    ItemsClient(app).setup()
    fault_harness.injector.seed = 0
    fault = Fault("dynamodb", "Scan", 1, "refused")
    while fault.transient(fault_harness.injector.seed) != ("InternalServerError", 500):
        fault_harness.injector.seed += 1
    with fault_harness.injector.armed(fault):
        reply = app.lambda_handler(
            rest_proxy_event("GET", "/items", query={"limit": "10"}), LambdaContext()
        )
    assert (reply["statusCode"], _headers(reply).get("Retry-After")) == (503, "1")
