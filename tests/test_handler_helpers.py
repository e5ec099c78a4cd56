"""<handler>.clients: botocore's loader, minus the scan of every service it ships.

Each handler folder carries its own copy of clients.py and tracing.py (a folder is copied into
other apps on its own), so every copy of the loader is tested here, and the copies of both must
stay identical (tracing.py is tested by each handler's test_tracing.py).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import create_loader

from tests.support import ROOT, handler_package

TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")
# (asset root, package, the services its handler creates clients for)
COPIES = [
    ("serverless_api", "items", ("dynamodb",)),
    ("scheduled_job", "nightly_export", ("dynamodb", "s3")),
    ("websocket_api", "chat", ("dynamodb", "apigatewaymanagementapi")),
]
SERVICES = ("dynamodb", "s3")


@pytest.mark.parametrize("helper", ["clients.py", "tracing.py"])
def test_every_handler_carries_the_same_copy(helper: str) -> None:
    copies = {(ROOT / "lambda_src" / r / p / helper).read_text() for r, p, _ in COPIES}
    assert len(copies) == 1


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
