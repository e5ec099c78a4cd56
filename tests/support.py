"""Helpers for tests: the synthesized app, snapshot normalization, and loading handlers the
way Lambda does."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from aws_lambda_powertools.utilities import parameters

from stacks.app import selected_stacks

ROOT = Path(__file__).resolve().parent.parent

# STACKS=Name1,Name2 limits the session's synthesis (and the per-stack tests) to those stacks,
# for a quick loop while working on one pattern. CI always runs them all.
SELECTED = selected_stacks(os.environ.get("STACKS"))
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# The runtime helpers bundling copies into each handler package (stacks/shared/bundling.py).
RUNTIME_HELPERS = ROOT / "stacks" / "shared" / "runtime"


@dataclass(frozen=True)
class Synth:
    outdir: Path
    error: str | None

    def template_json(self, stack: str) -> dict[str, Any]:
        if stack not in SELECTED:
            pytest.skip(f"{stack} is not in STACKS={os.environ.get('STACKS')}")
        return dict(json.loads((self.outdir / f"{stack}.template.json").read_text()))

    def template(self, stack: str) -> Template:
        return Template.from_json(self.template_json(stack))

    def nag_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return dict(json.loads(path.read_text())) if path.exists() else {"pluginReports": []}


def synthesize(app: App, outdir: Path) -> Synth:
    """Synthesize ``app`` into ``outdir``. A policy-engine finding does not stop it: the templates
    are written before validation, so the tests that read them still run, and the finding is kept
    as ``Synth.error`` for the nag tests to report. Any other error is raised."""
    try:
        app.synth()
    except RuntimeError as err:
        if "ValidationFailed" not in str(err):
            raise
        return Synth(outdir, str(err))
    return Synth(outdir, None)


def normalize(template: dict[str, Any]) -> Any:
    """The template with asset hashes replaced, so snapshots don't change with the handler code
    or the machine; what the code looks like is the handler tests' business."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


# Fake credentials and region: nothing a handler test runs can reach a real account.
FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@dataclass(frozen=True)
class LambdaContext:
    """The fields of Lambda's context object that Powertools and the handlers read."""

    function_name: str = "handler"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:handler"
    aws_request_id: str = "req-1"


@contextmanager
def handler_package(root: Path, env: Mapping[str, str]) -> Iterator[None]:
    """Import handler code from ``root`` inside this block as Lambda would: with the environment
    its construct sets (plus ``FAKE_AWS_ENV``) and ``root`` on ``sys.path``.

    Each package finds the runtime helpers (``tracing``, ``clients``) as its own modules, as in
    the bundled asset: they are on its ``__path__`` after its own folder (``with_helpers``).

    Handlers read their configuration and create their clients at import, once per execution
    environment; so afterwards every package under ``root`` is unloaded, and the next test
    module imports it afresh with its own environment. Powertools' parameter cache (the chat
    authorizer's secret) lives in the library, not the package: it is cleared on both sides, or a
    module run after another on the same worker would read a value it never fetched.
    """
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    parameters.clear_caches()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**FAKE_AWS_ENV, **env}.items():
            mp.setenv(name, value)
        mp.syspath_prepend(str(root))
        for package in sorted(packages):
            with_helpers(importlib.import_module(package))
        yield
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[name]
    parameters.clear_caches()


def with_helpers(package: ModuleType) -> None:
    """Let a handler package import the runtime helpers from their one source, after its own
    folder (a package's ``__path__`` is where its submodules are looked for)."""
    if str(RUNTIME_HELPERS) not in package.__path__:
        package.__path__.append(str(RUNTIME_HELPERS))


def _helpers_snippet(module: str) -> str:
    """``with_helpers`` for a fresh interpreter, without importing anything of this project."""
    package = module.split(".")[0]
    return f"import {package}; {package}.__path__.append({str(RUNTIME_HELPERS)!r}); "


def imported_at_init(
    root: Path, module: str, env: Mapping[str, str], names: tuple[str, ...]
) -> dict[str, bool]:
    """Import ``module`` in a fresh interpreter (Lambda's init) with ``env`` and fake AWS
    credentials; which of the modules ``names`` it loaded, and whether its ``tracer`` is
    disabled (key ``tracer_disabled``)."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(root)!r}); {_helpers_snippet(module)}"
        f"import {module} as handler; "
        f"print(json.dumps({{**{{n: n in sys.modules for n in {names!r}}}, "
        "'tracer_disabled': handler.tracer.disabled}))"
    )
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))},
        **FAKE_AWS_ENV,
        **env,
    }
    result = subprocess.run(  # noqa: S603 - our own code, in a fresh interpreter
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def rest_proxy_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    base64_encoded: bool = False,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends the items handler (stage v1), JSON by default."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": None if query is None else dict(query),
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": "req-1",
            "stage": "v1",
            "httpMethod": method,
            "path": f"/v1{path}",
            "resourcePath": path,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def websocket_event(
    route: str, connection_id: str, body: str | None = None, **context: Any
) -> dict[str, Any]:
    """The event API Gateway sends the chat handler for ``route`` on one connection (stage v1);
    ``context`` adds to the request context (``authorizer={...}`` as $connect's authorizer set)."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection_id,
            "requestId": f"req-{connection_id}",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "stage": "v1",
            "apiId": "abc123",
            "identity": {"sourceIp": "127.0.0.1"},
            **context,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def throttled_operations(alarm: dict[str, Any], table_id: str) -> set[str]:
    """The DynamoDB operations a metric-math throttles alarm sums, after checking that each input
    is ThrottledRequests of ``table_id`` (Sum, 5 minutes) and that the sum is what alarms."""
    expression, *inputs = alarm["Metrics"]
    assert expression["ReturnData"] is True
    operations = set()
    for metric in inputs:
        stat = metric["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == (
            "AWS/DynamoDB",
            "ThrottledRequests",
        )
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
        dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        assert dims["TableName"] == {"Ref": table_id}
        operations.add(dims["Operation"])
        assert metric["Id"] in expression["Expression"]
    return operations


# A handler invoked as Lambda runs it with Tracing Active: LAMBDA_TASK_ROOT and the daemon's
# address set at init, the trace header set for the invocation. Prints the tracer's state.
_TRACED_INVOCATION = """
import json, sys, types
sys.path.insert(0, {root!r})
{helpers}
import {module} as handler
from aws_xray_sdk.core import patcher
context = types.SimpleNamespace(**json.loads({context!r}))
try:
    handler.lambda_handler(json.loads({event!r}), context)
except Exception as err:
    print("raised", type(err).__name__, file=sys.stderr)
print(json.dumps({{
    "disabled": handler.tracer.disabled,
    "provider": type(handler.tracer.provider).__module__,
    "patched": sorted(patcher._PATCHED_MODULES),
}}))
"""
TRACE_ID = "1-67891233-abcdef012345678912345678"


def traced_invocation(
    root: Path, module: str, env: Mapping[str, str], event: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``module.lambda_handler(event)`` in a fresh interpreter as deployed with X-Ray
    tracing on, with a UDP socket on 127.0.0.1 standing in for the X-Ray daemon. Returns the
    tracer's state (``disabled``, ``provider`` module, ``patched`` modules) and every segment
    document the SDK sent to the daemon."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))
        }
        child_env = {
            **inherited,
            **FAKE_AWS_ENV,
            **env,
            "LAMBDA_TASK_ROOT": str(root),
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
        }
        code = _TRACED_INVOCATION.format(
            root=str(root),
            helpers=_helpers_snippet(module),
            module=module,
            event=json.dumps(event),
            context=json.dumps(dataclasses.asdict(LambdaContext())),
        )
        result = subprocess.run(  # noqa: S603 - our own code, in a fresh interpreter
            [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        # The child has exited: everything it sent is queued on the socket already.
        daemon.settimeout(0.2)
        documents = []
        with contextlib.suppress(TimeoutError):
            while True:
                # Each packet: a JSON header line, then one segment document.
                header, document = daemon.recv(65536).decode().split("\n", 1)
                assert json.loads(header) == {"format": "json", "version": 1}
                documents.append(json.loads(document))
    return json.loads(result.stdout.strip().splitlines()[-1]), documents


def create_connections_table(table: str, index: str, region: str = "us-east-1") -> None:
    """The chat's connections table in moto as the construct defines it: keyed on the connection
    id, with the sparse room index (only joined connections carry ``room``)."""
    boto3.client("dynamodb", region_name=region).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "connectionId", "AttributeType": "S"},
            {"AttributeName": "room", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": "room", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["expires_at"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
