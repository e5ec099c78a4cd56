"""Request and response bodies. Unknown fields are refused, so a typo is a 422, not a no-op."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

MAX_VALUES = 10_000
# Keeps every result finite: 10,000 values this size sum to at most 1e304, far below the
# largest float (1.8e308); near that limit the sum and the deviation would overflow.
MAX_MAGNITUDE = 1e300
MAX_TEXT_CHARS = 32_768


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _in_range(value: float) -> float:
    if not math.isfinite(value):
        raise PydanticCustomError("finite_number", "not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise PydanticCustomError("out_of_range", "outside -1e300..1e300")
    return value


# Strict: JSON numbers only; true, false and "1.5" are refused, not read as numbers.
Number = Annotated[float, Field(strict=True), AfterValidator(_in_range)]


class StatisticsRequest(_Strict):
    values: Annotated[list[Number], Field(min_length=1, max_length=MAX_VALUES)]


class StatisticsResponse(BaseModel):
    count: int
    sum: float
    mean: float
    median: float
    min: float
    max: float
    stdev: float | None = Field(description="Sample standard deviation; null for one value")
    p90: float
    p99: float


Algorithm = Literal["sha256", "sha512", "sha3_256", "blake2b"]


class DigestRequest(_Strict):
    text: Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
    algorithm: Algorithm = "sha256"


class DigestResponse(BaseModel):
    algorithm: Algorithm
    hex: str
    bytes: int


class VersionResponse(BaseModel):
    version: str
    python: str


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ErrorResponse(BaseModel):
    """Every error the app answers: 400, 404, 405, 413, 415, 500 (app.py's handlers)."""

    message: str


class FieldProblem(BaseModel):
    field: str
    problem: str


class ValidationErrorResponse(ErrorResponse):
    """A 422: JSON of the wrong shape, with each failing field (not FastAPI's ``detail``)."""

    errors: list[FieldProblem]
