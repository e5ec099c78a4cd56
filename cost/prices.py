"""Price books: one JSON file per region in ``cost/prices/``, every price with its source page.

A price is either ``usd`` (per unit) or ``tiers`` (``[[units in the tier or null, usd], ...]``,
filled in order, the last tier unbounded). ``free_per_month`` is an always-free allowance; meters
that share one allowance (Lambda's 400,000 GB-seconds over x86_64 and arm64) name the same
``free_pool``.

Every price names its public page (``source``) and the day it was read (``date``). A figure no
public page gives today carries ``assumption``: why it is what it is. Lines priced with it say so
in every output, so an assumption is never read as a list price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_DIR = Path(__file__).parent / "prices"


class CostError(Exception):
    """A bad input to the cost model: the CLI prints it in one line and exits 2."""


@dataclass(frozen=True)
class Price:
    meter: str
    unit: str
    description: str
    tiers: tuple[tuple[float | None, float], ...]
    free_per_month: float
    free_pool: str
    source: str
    date: str
    assumption: str = ""

    def charge(self, quantity: float) -> float:
        """USD for ``quantity`` units in one month, tiers filled in order (no free tier)."""
        total, left = 0.0, quantity
        for size, usd in self.tiers:
            used = left if size is None else min(left, size)
            total += used * usd
            left -= used
            if left <= 0:
                break
        return total

    @property
    def first_rate(self) -> float:
        return self.tiers[0][1]


@dataclass(frozen=True)
class PriceBook:
    region: str
    note: str
    prices: dict[str, Price]
    lightsail_transfer_allowance_gb: dict[str, float]

    def __getitem__(self, meter: str) -> Price:
        try:
            return self.prices[meter]
        except KeyError:
            raise CostError(
                f"price file for {self.region} has no meter {meter!r}; add it to "
                f"cost/prices/{self.region}.json with its source URL and date"
            ) from None


def available_regions() -> list[str]:
    return sorted(p.stem for p in PRICES_DIR.glob("*.json"))


def parse_price_book(doc: dict[str, Any]) -> PriceBook:
    prices: dict[str, Price] = {}
    for meter, raw in doc["prices"].items():
        if "tiers" in raw:
            tiers = tuple((None if t is None else float(t), float(u)) for t, u in raw["tiers"])
        else:
            tiers = ((None, float(raw["usd"])),)
        prices[meter] = Price(
            meter=meter,
            unit=raw["unit"],
            description=raw["description"],
            tiers=tiers,
            free_per_month=float(raw.get("free_per_month", 0)),
            free_pool=raw.get("free_pool", meter),
            source=raw["source"],
            date=raw["date"],
            assumption=raw.get("assumption", ""),
        )
    return PriceBook(
        region=doc["region"],
        note=doc.get("note", ""),
        prices=prices,
        lightsail_transfer_allowance_gb={
            k: float(v) for k, v in doc.get("lightsail_transfer_allowance_gb", {}).items()
        },
    )


def load_price_book(region: str = "us-east-1", path: Path | None = None) -> PriceBook:
    file = path or PRICES_DIR / f"{region}.json"
    if not file.exists():
        raise CostError(
            f"region={region!r} has no price file; expected one of {available_regions()}"
        )
    return parse_price_book(json.loads(file.read_text()))
