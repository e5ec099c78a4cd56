"""The web app's modules imported from containers/web, shared by the example and property tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.support import ROOT

APP_DIR = ROOT / "containers" / "web"


@pytest.fixture(scope="module")
def webapp() -> Iterator[dict[str, ModuleType]]:
    """The app's modules, imported from containers/web the way the image's PYTHONPATH does."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(APP_DIR))
        yield {
            name: importlib.import_module(f"webapp.{name}")
            for name in ("app", "config", "healthcheck", "models", "__main__")
        }
    for name in [m for m in sys.modules if m == "webapp" or m.startswith("webapp.")]:
        del sys.modules[name]
