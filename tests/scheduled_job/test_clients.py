"""nightly_export.clients: botocore's loader, minus the scan of every service it ships."""

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

SERVICES = ("dynamodb", "s3")
TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")


@pytest.fixture(scope="module")
def clients() -> Iterator[ModuleType]:
    with handler_package(ROOT / "lambda_src" / "scheduled_job", {}):
        yield importlib.import_module("nightly_export.clients")


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
