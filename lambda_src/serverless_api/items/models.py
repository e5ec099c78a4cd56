"""Request and response shapes. Strict: wrong types are rejected, not coerced; unknown
fields are rejected, not ignored, so a client's typo never silently drops data."""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

# The API Gateway request models (stacks/serverless_api.py) mirror these limits, so most bad
# bodies are refused before the function runs; this is the authority either way.
MAX_DESCRIPTION = 2000
MAX_TAGS = 20
MAX_QUANTITY = 1_000_000_000
# Upper bounds on every number: DynamoDB numbers hold 38 digits, so an unbounded integer from a
# client would fail the write with a 500 instead of a 422.
MAX_EXPIRES_AT = 4_102_444_800  # 2100-01-01T00:00:00Z
MAX_VERSION = 1_000_000_000_000


class ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)] = ""
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)] = 0
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = Field(default_factory=list)
    expires_at: Annotated[int, Field(le=MAX_EXPIRES_AT)] | None = Field(
        default=None, description="Epoch seconds after which DynamoDB TTL may delete the item."
    )

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        if len(set(tags)) != len(tags):
            raise ValueError("tags must be unique")
        return tags

    @field_validator("expires_at")
    @classmethod
    def _in_future(cls, value: int | None) -> int | None:
        if value is not None and value <= int(time.time()):
            raise ValueError("expires_at must be in the future (epoch seconds)")
        return value


class CreateItem(ItemFields):
    """Body of ``POST /items``."""


class ReplaceItem(ItemFields):
    """Body of ``PUT /items/{id}``: the full item plus the version the client last read."""

    version: Annotated[int, Field(ge=1, le=MAX_VERSION)]
