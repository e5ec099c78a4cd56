"""boto3 clients made without botocore's scan of every service it ships.

Before it loads a model (the service, its endpoint rules, later its paginators), botocore's
loader lists every service directory on its search path - about 450, read one by one - only to
check that the name asked for is among them. That scan is about a fifth of the CPU it takes to
create this handler's clients at cold start (``bench/cold_start.py``). The handler names its
services in code, so the loader here checks just those; everything else (search paths, including
``AWS_DATA_PATH``, model loading, the error for an unknown name) is botocore's own.

Self-contained so that the handler folder can be copied on its own.
"""

from __future__ import annotations

import os

import boto3
import botocore.session
from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, instance_cache


class NamedServicesLoader(Loader):  # type: ignore[misc]  # botocore ships no types
    """botocore's loader, knowing only ``services`` (those with data of the type asked for)."""

    def __init__(self, services: tuple[str, ...], extra_search_paths: list[str] | None) -> None:
        super().__init__(extra_search_paths=extra_search_paths)
        self._services = services

    @instance_cache  # type: ignore[untyped-decorator]
    def list_available_services(self, type_name: str) -> list[str]:
        available = []
        for service in self._services:
            try:
                self.list_api_versions(service, type_name)
            except DataNotFoundError:
                continue
            available.append(service)
        return sorted(available)


def session(*services: str) -> boto3.Session:
    """A boto3 session (its own, not boto3's default) that can create clients for ``services``."""
    core = botocore.session.get_session()
    # What botocore.loaders.create_loader does with the data_path setting (AWS_DATA_PATH).
    data_path = core.get_config_variable("data_path")
    extra = (
        [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
        if data_path
        else None
    )
    core.register_component("data_loader", NamedServicesLoader(services, extra))
    return boto3.Session(botocore_session=core)
