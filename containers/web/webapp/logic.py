"""The endpoints' work as plain functions of plain values: testable without HTTP."""

from __future__ import annotations

import hashlib
import math
import statistics

from .models import Algorithm


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (the value at or above ``fraction`` of the data), as CloudWatch's
    pNN statistics report it; no interpolation between data points."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "sum": math.fsum(ordered),
        "mean": statistics.fmean(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "stdev": statistics.stdev(ordered) if len(ordered) > 1 else None,
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
    }


def digest(text: str, algorithm: Algorithm) -> tuple[str, int]:
    """Hex digest of the UTF-8 encoding of ``text``, and how many bytes that was."""
    data = text.encode("utf-8")
    return hashlib.new(algorithm, data).hexdigest(), len(data)
