"""X-Ray tracing of the chat handler and its authorizer: on as deployed (Tracing Active), at no
import cost when off. Each case runs in a fresh interpreter, as Lambda's init does: Powertools
keeps tracer configuration per process, so an in-process test would see the previous test's
tracer."""

from __future__ import annotations

import pytest

from tests.support import ROOT, TRACE_ID, imported_at_init, traced_invocation

SOURCE = ROOT / "lambda_src" / "websocket_api"
ENV = {
    "TABLE_NAME": "connections",
    "CALLBACK_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
    "TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:chat-AbCdEf",
    "POWERTOOLS_SERVICE_NAME": "websocket-chat",
}
MODULES = ["chat.app", "chat.authorizer"]


@pytest.mark.parametrize("module", MODULES)
def test_deployed_with_tracing_active_the_handler_is_traced_and_only_botocore_patched(
    module: str,
) -> None:
    # An event with no request context fails before any AWS call: still one traced run.
    state, documents = traced_invocation(SOURCE, module, ENV, {})
    assert state == {
        "disabled": False,
        "provider": "aws_xray_sdk.core.async_recorder",
        "patched": ["botocore"],
    }
    (handler,) = [d for d in documents if d["name"] == "## lambda_handler"]
    assert handler["trace_id"] == TRACE_ID
    assert handler["annotations"]["ColdStart"] is True


def _xray_imported_at_init(module: str, extra_env: dict[str, str]) -> bool:
    env = {**ENV, **extra_env}
    return imported_at_init(SOURCE, module, env, ("aws_xray_sdk.core",))["aws_xray_sdk.core"]


@pytest.mark.parametrize("module", MODULES)
def test_the_xray_sdk_is_imported_only_when_tracing_is_on(module: str) -> None:
    assert _xray_imported_at_init(module, {"LAMBDA_TASK_ROOT": str(SOURCE)}) is True
    disabled = {"LAMBDA_TASK_ROOT": str(SOURCE), "POWERTOOLS_TRACE_DISABLED": "true"}
    assert _xray_imported_at_init(module, disabled) is False
    assert _xray_imported_at_init(module, {}) is False  # outside Lambda Powertools disables it
