"""The runtime helpers (stacks/shared/runtime: clients.py, tracing.py): one source, copied into
each handler package of the asset by bundling; and <handler>.clients, botocore's loader minus the
scan of every service it ships, as each handler imports it (tracing.py is tested by each
handler's test_tracing.py).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_lambda_powertools import Tracer
from botocore.exceptions import UnknownServiceError
from botocore.loaders import create_loader

from stacks import shared
from stacks.shared.bundling import asset_files, handler_packages, helper_files
from tests.support import ROOT, RUNTIME_HELPERS, handler_package

TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")
# (asset root, package, the services its handler creates clients for)
COPIES = [
    ("serverless_api", "items", ("dynamodb",)),
    ("scheduled_job", "nightly_export", ("dynamodb", "s3")),
    ("websocket_api", "chat", ("dynamodb", "apigatewaymanagementapi")),
]
SERVICES = ("dynamodb", "s3")
EMULATORS = ("AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE")
TRUTHY_OR_NOT = ("true", "TRUE", "1", "yes", "on", "false", "0", "off", "No")


HELPERS = ["clients.py", "tracing.py"]


def test_the_helpers_have_one_source() -> None:
    assert [p.name for p in helper_files()] == HELPERS
    assert all(p.parent == RUNTIME_HELPERS for p in helper_files())


@pytest.mark.parametrize(("root", "package"), [(r, p) for r, p, _ in COPIES])
def test_no_handler_package_holds_its_own_copy(root: str, package: str) -> None:
    code = ROOT / "lambda_src" / root
    assert [p.name for p in handler_packages(code)] == [package]
    assert not [h for h in HELPERS if (code / package / h).exists()]
    bundled = dict(asset_files(code))
    assert {h: bundled[f"{package}/{h}"] for h in HELPERS} == {
        h: RUNTIME_HELPERS / h for h in HELPERS
    }


def _folder(root: Path) -> Path:
    (root / "hello").mkdir(parents=True)
    (root / "hello" / "__init__.py").write_text("")
    (root / "hello" / "app.py").write_text("from . import clients, tracing\n")
    return root


def test_a_copy_in_a_handler_package_fails_synth_in_one_line(tmp_path: Path) -> None:
    code = _folder(tmp_path / "fn")
    (code / "hello" / "tracing.py").write_text("# an old copy\n")
    with pytest.raises(ValueError, match=r"hello/tracing.py: a copy of the runtime helper") as err:
        shared.lambda_code(Stack(App(outdir=str(tmp_path / "out")), "S"), code)
    assert "\n" not in str(err.value)


def test_the_bundled_asset_holds_the_helpers_and_its_hash_follows_them(tmp_path: Path) -> None:
    code = _folder(tmp_path / "fn")
    app = App(outdir=str(tmp_path / "out"))
    stack = Stack(app, "S")
    lambda_.Function(
        stack,
        "Fn",
        code=shared.lambda_code(stack, code),
        handler="hello.app.handler",
        runtime=lambda_.Runtime.PYTHON_3_13,
    )
    app.synth()
    (staged,) = (tmp_path / "out").glob("asset.*")
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*.py")) == [
        "hello/__init__.py",
        "hello/app.py",
        "hello/clients.py",
        "hello/tracing.py",
    ]
    for helper in HELPERS:
        assert (staged / "hello" / helper).read_bytes() == (RUNTIME_HELPERS / helper).read_bytes()
    before = shared.code_hash(code)
    # The hash covers the helpers' bytes: here a helper seen as changed (by its read) changes it.
    original = Path.read_bytes

    def changed(path: Path) -> bytes:
        data = original(path)
        return data + b"#" if path == RUNTIME_HELPERS / "tracing.py" else data

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "read_bytes", changed)
        assert shared.code_hash(code) != before


TRACE_ENVS = [
    {},
    {"LAMBDA_TASK_ROOT": "/var/task"},
    *({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": v} for v in TRUTHY_OR_NOT),
    {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},
    {"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"},
    {"POWERTOOLS_TRACE_DISABLED": "false"},
]


@pytest.mark.parametrize("env", TRACE_ENVS, ids=[json.dumps(e) for e in TRACE_ENVS])
def test_tracing_is_on_exactly_when_powertools_would_trace(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", *EMULATORS):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with handler_package(ROOT / "lambda_src" / "serverless_api", {}):
        tracing = importlib.import_module("items.tracing")
        # Powertools' own (private) rule, read here only to check the public one against it.
        assert tracing.tracing_enabled() is not Tracer._is_tracer_disabled()


@pytest.fixture(scope="module", params=COPIES, ids=[p for _, p, _ in COPIES])
def clients(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    root, package, _ = request.param
    with handler_package(ROOT / "lambda_src" / root, {}):
        yield importlib.import_module(f"{package}.clients")


@pytest.mark.parametrize("type_name", TYPES)
def test_it_knows_what_botocore_knows_of_the_named_services(
    clients: ModuleType, type_name: str
) -> None:
    stock = create_loader()
    named = clients.NamedServicesLoader(SERVICES, None)
    expected = [s for s in stock.list_available_services(type_name) if s in SERVICES]
    assert named.list_available_services(type_name) == expected
    assert named.search_paths == stock.search_paths
    for service in expected:
        assert named.load_service_model(service, type_name) == stock.load_service_model(
            service, type_name
        )


def test_the_named_services_make_working_clients(clients: ModuleType) -> None:
    aws = clients.session(*SERVICES)
    dynamodb = aws.client("dynamodb", region_name="us-east-1")
    assert dynamodb.meta.service_model.service_name == "dynamodb"
    assert dynamodb.can_paginate("query")


def test_another_service_is_unknown(clients: ModuleType) -> None:
    with pytest.raises(UnknownServiceError):
        clients.session(*SERVICES).client("sqs", region_name="us-east-1")


def test_aws_data_path_is_searched_first(
    clients: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model under AWS_DATA_PATH wins over botocore's own, as with a stock session."""
    custom = tmp_path / "dynamodb" / "2012-08-10"
    custom.mkdir(parents=True)
    (custom / "paginators-1.json").write_text(json.dumps({"pagination": {}}))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    dynamodb = clients.session(*SERVICES).client("dynamodb", region_name="us-east-1")
    assert not dynamodb.can_paginate("query")
