"""Request and response bodies. Unknown fields are refused, so a typo is a 422, not a no-op."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_VALUES = 10_000
MAX_TEXT_CHARS = 32_768


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatisticsRequest(_Strict):
    values: Annotated[list[float], Field(min_length=1, max_length=MAX_VALUES)]

    @field_validator("values")
    @classmethod
    def _finite(cls, values: list[float]) -> list[float]:
        for index, value in enumerate(values):
            if not math.isfinite(value):
                raise ValueError(f"values[{index}] is not a finite number")
        return values


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
