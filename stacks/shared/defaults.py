"""What every pattern starts from, and how a caller changes it: the retention of every log
group here (``DEFAULT_LOG_RETENTION``) and ``merge_props``, the caller's overrides over the
secure defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_logs as logs

DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


def merge_props(defaults: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Caller's overrides on top of the secure defaults (the Solutions Constructs escape hatch)."""
    return {**defaults, **(overrides or {})}
