"""X-Ray tracing of the items handler: on as deployed (Tracing Active), at no import cost when
off. Each case runs in a fresh interpreter, as Lambda's init does: Powertools keeps tracer
configuration per process, so an in-process test would see the previous test's tracer."""

from __future__ import annotations

from tests.support import ROOT, TRACE_ID, imported_at_init, traced_invocation

SOURCE = ROOT / "lambda_src" / "serverless_api"
ENV = {"TABLE_NAME": "items", "POWERTOOLS_SERVICE_NAME": "items-api"}
UNKNOWN_ROUTE = {
    "path": "/nothing-here",
    "httpMethod": "GET",
    "headers": {},
    "requestContext": {"requestId": "req-1", "stage": "v1"},
    "body": None,
}


def test_deployed_with_tracing_active_the_handler_is_traced_and_only_botocore_patched() -> None:
    state, documents = traced_invocation(SOURCE, "items.app", ENV, UNKNOWN_ROUTE)
    assert state == {
        "disabled": False,
        "provider": "aws_xray_sdk.core.async_recorder",
        "patched": ["botocore"],
    }
    (handler,) = [d for d in documents if d["name"] == "## lambda_handler"]
    assert handler["trace_id"] == TRACE_ID
    assert handler["annotations"]["ColdStart"] is True
    assert handler["annotations"]["Service"] == "items-api"


def _imported_after_init(extra_env: dict[str, str]) -> dict[str, bool]:
    loaded = imported_at_init(
        SOURCE, "items.app", {**ENV, **extra_env}, ("aws_xray_sdk.core", "pydantic")
    )
    return {
        "xray": loaded["aws_xray_sdk.core"],
        "pydantic": loaded["pydantic"],
        "disabled": loaded["tracer_disabled"],
    }


def test_with_tracing_disabled_init_never_imports_the_xray_sdk_or_pydantic() -> None:
    for extra in (
        {"LAMBDA_TASK_ROOT": str(SOURCE), "POWERTOOLS_TRACE_DISABLED": "true"},
        {},  # outside Lambda: Powertools disables tracing itself
    ):
        assert _imported_after_init(extra) == {"xray": False, "pydantic": False, "disabled": True}


def test_with_tracing_on_init_imports_the_xray_sdk() -> None:
    assert _imported_after_init({"LAMBDA_TASK_ROOT": str(SOURCE)}) == {
        "xray": True,
        "pydantic": False,
        "disabled": False,
    }
