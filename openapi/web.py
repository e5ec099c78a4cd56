"""OpenAPI 3 for the ContainerService web app: FastAPI's own schema of the app (``app.openapi()``),
built from the app's source with its default settings, as the container serves it at
``/openapi.json``."""

from __future__ import annotations

import sys
from typing import Any

from local.template import ROOT

APP_ROOT = ROOT / "containers" / "web"


def build(*, server: str | None = None) -> dict[str, Any]:
    if str(APP_ROOT) not in sys.path:
        sys.path.insert(0, str(APP_ROOT))
    from webapp.app import create_app
    from webapp.config import Settings

    document = dict(create_app(Settings()).openapi())
    if server:
        document["servers"] = [{"url": server}]
    return document
