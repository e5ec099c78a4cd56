"""Settings from the environment the construct sets, checked once per execution environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Pillow's save() names; what "preserve" maps each source format to is in imaging.py.
OUTPUT_FORMATS = ("JPEG", "PNG", "WEBP")


class ConfigError(ValueError):
    """The environment is wrong: a deploy-time mistake, so the function fails loudly at init."""


@dataclass(frozen=True)
class Settings:
    destination_bucket: str
    destination_prefix: str = "thumbnails/"
    source_prefix: str = ""
    widths: tuple[int, ...] = (160, 640)
    output_format: str | None = None  # None: keep the source's format where it can
    quality: int = 85
    max_pixels: int = 50_000_000
    max_bytes: int = 50 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.destination_bucket:
            raise ConfigError("DESTINATION_BUCKET is required")
        if not self.widths or any(w < 1 or w > 10_000 for w in self.widths):
            raise ConfigError(f"widths must be 1..10000 pixels, got {self.widths}")
        if self.output_format is not None and self.output_format not in OUTPUT_FORMATS:
            raise ConfigError(f"output format must be one of {OUTPUT_FORMATS}")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"quality must be 1..100, got {self.quality}")
        if self.max_pixels < 1 or self.max_bytes < 1:
            raise ConfigError("max_pixels and max_bytes must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            widths = tuple(sorted({int(w) for w in env.get("WIDTHS", "160,640").split(",") if w}))
            return cls(
                destination_bucket=env.get("DESTINATION_BUCKET", ""),
                destination_prefix=env.get("DESTINATION_PREFIX", "thumbnails/"),
                source_prefix=env.get("SOURCE_PREFIX", ""),
                widths=widths,
                output_format=(env.get("OUTPUT_FORMAT") or "").upper() or None,
                quality=int(env.get("QUALITY", "85")),
                max_pixels=int(env.get("MAX_PIXELS", "50000000")),
                max_bytes=int(env.get("MAX_BYTES", str(50 * 1024 * 1024))),
            )
        except ValueError as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"bad number in the environment: {err}") from err
