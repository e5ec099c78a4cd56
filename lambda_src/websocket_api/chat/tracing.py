"""Powertools' Tracer when traces are recorded, else a stand-in with the same decorators.

Powertools' Tracer imports the X-Ray SDK even when tracing is off, and that import alone costs
about as much as boto3's (``python -X importtime``). Where traces are recorded (in Lambda with
X-Ray active, the construct's default) the real Tracer is used, patching only boto3, the one
library these handlers call out with; elsewhere (tests, local runs, POWERTOOLS_TRACE_DISABLED)
nothing is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])
_TRUE = {"1", "y", "yes", "t", "true", "on"}


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' own rule: off when POWERTOOLS_TRACE_DISABLED is true, outside Lambda, and
    under SAM local or Chalice local."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUE:
        return False
    local = environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE")
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not local


class Decorators(Protocol):
    """The part of Powertools' Tracer the handlers use."""

    def capture_method(self, method: _F) -> _F: ...

    def capture_lambda_handler(self, handler: _F) -> _F: ...


class Untraced:
    """What the handlers use of Tracer, doing nothing."""

    def capture_method(self, method: _F) -> _F:
        return method

    def capture_lambda_handler(self, handler: _F) -> _F:
        return handler


def tracer() -> Decorators:
    if not tracing_enabled():
        return Untraced()
    from aws_lambda_powertools import Tracer

    return cast(Decorators, Tracer(patch_modules=["boto3"]))
