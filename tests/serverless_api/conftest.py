"""The items handler imported as Lambda does, one fake DynamoDB table, and a way to call it with
an API Gateway REST event: shared by the example tests and the property tests."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import ROOT, LambdaContext, handler_package, rest_proxy_event

TABLE = "items-test"


@pytest.fixture(scope="module")
def handler_module() -> Iterator[ModuleType]:
    """Import the handler once, the way Lambda does, with the environment the construct sets."""
    env = {
        "TABLE_NAME": TABLE,
        "POWERTOOLS_SERVICE_NAME": "items-api",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with handler_package(ROOT / "lambda_src" / "serverless_api", env):
        yield importlib.import_module("items.app")


@pytest.fixture(scope="module")
def _module_table(handler_module: ModuleType) -> Iterator[Any]:
    """One fake DynamoDB and table for the module: starting moto per test costs more than the
    tests themselves. The handler module's environment carries the fake credentials."""
    with mock_aws():
        yield boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


@pytest.fixture
def table(_module_table: Any) -> Iterator[Any]:
    """The table, empty at the start of every test."""
    yield _module_table
    with _module_table.batch_writer() as batch:
        for item in _module_table.scan(ProjectionExpression="id")["Items"]:
            batch.delete_item(Key={"id": item["id"]})


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@pytest.fixture(scope="module")
def invoke(_module_table: Any, handler_module: ModuleType) -> Any:
    """Call the handler with a REST event; the table is whatever state the caller left it in
    (property tests, which run many examples per test, keep it clean themselves)."""

    def _call(
        method: str,
        path: str,
        body: Any = None,
        *,
        raw_body: str | None = None,
        base64_encoded: bool = False,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        event = rest_proxy_event(
            method, path, body=text, base64_encoded=base64_encoded, headers=headers, query=query
        )
        result = handler_module.lambda_handler(event, LambdaContext())
        raw = result.get("body") or ""
        headers = dict(result.get("headers") or {})
        headers.update(
            {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
        )
        return Reply(result["statusCode"], json.loads(raw) if raw else None, headers)

    return _call


@pytest.fixture
def call(table: Any, invoke: Any) -> Any:
    """``invoke`` on a table that is empty at the start of the test."""
    return invoke
