"""The Powertools Tracer, paying for the X-Ray SDK only where traces are recorded.

``Tracer()`` imports ``aws_xray_sdk.core`` (about a third of this handler's cold start) even
when tracing is disabled, and by default patches every library the SDK knows. Here the SDK is
imported only when Powertools would trace (inside Lambda, not disabled by
``POWERTOOLS_TRACE_DISABLED``, not SAM or Chalice local), and then patches only the libraries
the handler calls through. Otherwise the Tracer runs on a provider that records nothing, so the
``@tracer.capture_*`` decorators and ``tracer.put_*`` calls work unchanged either way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class _Unrecorded(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class UnrecordedProvider(BaseProvider):
    """A tracing provider that records nothing and imports nothing."""

    @contextlib.contextmanager
    def in_subsegment(
        self,
        name: Any = None,  # noqa: ARG002  (the interface's)
        **kwargs: Any,  # noqa: ARG002
    ) -> Generator[BaseSegment, None, None]:
        yield _Unrecorded()

    # Powertools declares this one a sync context manager, but its Tracer uses `async with`.
    @contextlib.asynccontextmanager
    async def in_subsegment_async(  # type: ignore[override]
        self,
        name: Any = None,  # noqa: ARG002  (the interface's)
        **kwargs: Any,  # noqa: ARG002
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _Unrecorded()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


# Powertools' documented rule, so this module traces exactly when a plain Tracer() would: off
# when POWERTOOLS_TRACE_DISABLED is truthy (its spellings), outside Lambda (no LAMBDA_TASK_ROOT)
# and under SAM or Chalice local. tests/*/test_tracing.py checks it against Powertools' own.
_TRUTHY = frozenset({"1", "y", "yes", "t", "true", "on"})
_LOCAL_EMULATORS = ("AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE")


def tracing_enabled() -> bool:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in _TRUTHY:
        return False
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT"))
    return in_lambda and not any(os.environ.get(name) for name in _LOCAL_EMULATORS)


def create_tracer(*, patch_modules: Sequence[str]) -> Tracer:
    """An X-Ray Tracer patching only ``patch_modules`` when tracing is on; else one that
    records nothing and never imports the X-Ray SDK."""
    if tracing_enabled():
        return Tracer(patch_modules=patch_modules)
    return Tracer(disabled=True, auto_patch=False, provider=UnrecordedProvider())
