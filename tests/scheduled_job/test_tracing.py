"""X-Ray tracing of the export handler: on as deployed (Tracing Active), at no import cost when
off. Each case runs in a fresh interpreter, as Lambda's init does: Powertools keeps tracer
configuration per process, so an in-process test would see the previous test's tracer."""

from __future__ import annotations

from tests.support import ROOT, TRACE_ID, imported_at_init, traced_invocation

SOURCE = ROOT / "lambda_src" / "scheduled_job"
ENV = {"TABLE_NAME": "items", "BUCKET_NAME": "exports", "POWERTOOLS_SERVICE_NAME": "table-export"}


def test_deployed_with_tracing_active_the_handler_is_traced_and_only_botocore_patched() -> None:
    # An event without a scheduled time is refused before any AWS call: still one traced run.
    state, documents = traced_invocation(SOURCE, "nightly_export.app", ENV, {})
    assert state == {
        "disabled": False,
        "provider": "aws_xray_sdk.core.async_recorder",
        "patched": ["botocore"],
    }
    (handler,) = [d for d in documents if d["name"] == "## lambda_handler"]
    assert handler["trace_id"] == TRACE_ID
    assert handler["annotations"]["ColdStart"] is True
    assert handler["fault"] is True  # the refusal is recorded on the trace


def _xray_imported_at_init(extra_env: dict[str, str]) -> bool:
    env = {**ENV, **extra_env}
    return imported_at_init(SOURCE, "nightly_export.app", env, ("aws_xray_sdk.core",))[
        "aws_xray_sdk.core"
    ]


def test_the_xray_sdk_is_imported_only_when_tracing_is_on() -> None:
    assert _xray_imported_at_init({"LAMBDA_TASK_ROOT": str(SOURCE)}) is True
    assert (
        _xray_imported_at_init(
            {"LAMBDA_TASK_ROOT": str(SOURCE), "POWERTOOLS_TRACE_DISABLED": "true"}
        )
        is False
    )
    assert _xray_imported_at_init({}) is False  # outside Lambda Powertools disables tracing
