"""chat.tracing: Powertools' Tracer where traces are recorded, nothing imported elsewhere."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.support import ROOT, handler_package

CHAT = ROOT / "lambda_src" / "websocket_api"


@pytest.fixture(scope="module")
def tracing() -> Iterator[ModuleType]:
    with handler_package(CHAT, {}):
        yield importlib.import_module("chat.tracing")


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_follows_powertools_rule(
    tracing: ModuleType, environ: dict[str, str], enabled: bool
) -> None:
    assert tracing.tracing_enabled(environ) is enabled


def test_the_stand_in_leaves_functions_as_they_are(tracing: ModuleType) -> None:
    def handler(event: object, context: object) -> str:
        return "ok"

    untraced = tracing.Untraced()
    assert untraced.capture_lambda_handler(handler) is handler
    assert untraced.capture_method(handler) is handler


@pytest.mark.parametrize("module", ["chat.app", "chat.authorizer"])
def test_handlers_import_neither_the_xray_sdk_nor_pydantic_when_tracing_is_off(module: str) -> None:
    """What keeps their cold start within 2x a bare boto3 import (bench/cold_start.py)."""
    code = (
        f"import sys; sys.path.insert(0, {str(CHAT)!r}); import {module}; "
        "print(sorted(m for m in ('aws_xray_sdk.core', 'pydantic') if m in sys.modules))"
    )
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "t",
        "CALLBACK_URL": "https://example.com/v1",
        "TOKEN_SECRET_ARN": "arn",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
