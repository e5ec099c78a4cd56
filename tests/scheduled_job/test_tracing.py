"""X-Ray tracing of the export handler: on as deployed (Tracing Active), at no import cost when
off. Each case runs in a fresh interpreter, as Lambda's init does: Powertools keeps tracer
configuration per process, so an in-process test would see the previous test's tracer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import FAKE_AWS_ENV, ROOT, TRACE_ID, traced_invocation

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
    code = (
        f"import sys; sys.path.insert(0, {str(SOURCE)!r}); import nightly_export.app; "
        "print('aws_xray_sdk.core' in sys.modules)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))},
        **FAKE_AWS_ENV,
        **ENV,
        **extra_env,
    }
    result = subprocess.run(  # noqa: S603 - our own code, in a fresh interpreter
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return bool(json.loads(result.stdout.strip().lower()))


def test_the_xray_sdk_is_imported_only_when_tracing_is_on() -> None:
    assert _xray_imported_at_init({"LAMBDA_TASK_ROOT": str(SOURCE)}) is True
    assert (
        _xray_imported_at_init(
            {"LAMBDA_TASK_ROOT": str(SOURCE), "POWERTOOLS_TRACE_DISABLED": "true"}
        )
        is False
    )
    assert _xray_imported_at_init({}) is False  # outside Lambda Powertools disables tracing
