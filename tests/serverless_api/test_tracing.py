"""X-Ray tracing of the items handler: on as deployed (Tracing Active), at no import cost when
off. Each case runs in a fresh interpreter, as Lambda's init does: Powertools keeps tracer
configuration per process, so an in-process test would see the previous test's tracer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import FAKE_AWS_ENV, ROOT, TRACE_ID, traced_invocation

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
    code = (
        f"import sys; sys.path.insert(0, {str(SOURCE)!r}); import items.app as app; "
        "import json; print(json.dumps({'xray': 'aws_xray_sdk.core' in sys.modules, "
        "'pydantic': 'pydantic' in sys.modules, 'disabled': app.tracer.disabled}))"
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
    return dict(json.loads(result.stdout))


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
