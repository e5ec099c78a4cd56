"""``make cost-refresh``: update the price files from the AWS Price List Query API.

    python -m cost.refresh [--region us-east-1 ...]

Needs AWS credentials (any identity allowed ``pricing:GetProducts``); without them it says so in
one line and exits 2. It refreshes the single-rate meters listed in ``QUERIES`` (first tier,
on-demand), stamps each with today's date and ``"refreshed": "AWS Price List Query API"`` (an
answer replaces an ``assumption``: it is a published rate), and leaves tiered and hand-only
prices (Lightsail bundles, free allowances) as they are. The Price List API answers only from
us-east-1 (and two other regions), whatever region is priced.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .prices import PRICES_DIR

# Usage-type prefixes the Price List uses for each region.
USAGE_PREFIX = {"us-east-1": "USE1", "eu-west-1": "EU"}

# meter: (service code, {field: value}); "{p}" is the region's usage-type prefix.
QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "lambda.request": ("AWSLambda", {"group": "AWS-Lambda-Requests"}),
    "lambda.gb_second.x86_64": ("AWSLambda", {"group": "AWS-Lambda-Duration"}),
    "lambda.gb_second.arm64": ("AWSLambda", {"group": "AWS-Lambda-Duration-ARM"}),
    "fargate.vcpu_hour.x86_64": ("AmazonECS", {"usagetype": "{p}-Fargate-vCPU-Hours:perCPU"}),
    "fargate.gb_hour.x86_64": ("AmazonECS", {"usagetype": "{p}-Fargate-GB-Hours"}),
    "fargate.vcpu_hour.arm64": ("AmazonECS", {"usagetype": "{p}-Fargate-ARM-vCPU-Hours:perCPU"}),
    "fargate.gb_hour.arm64": ("AmazonECS", {"usagetype": "{p}-Fargate-ARM-GB-Hours"}),
    "fargate_spot.vcpu_hour": (
        "AmazonECS",
        {"usagetype": "{p}-SpotUsage-Fargate-vCPU-Hours:perCPU"},
    ),
    "fargate_spot.gb_hour": ("AmazonECS", {"usagetype": "{p}-SpotUsage-Fargate-GB-Hours"}),
    "alb.hour": ("AWSELB", {"usagetype": "{p}-LoadBalancerUsage"}),
    "alb.lcu_hour": ("AWSELB", {"usagetype": "{p}-LCUUsage"}),
    "nat.hour": ("AmazonEC2", {"usagetype": "{p}-NatGateway-Hours"}),
    "vpce.interface_az_hour": ("AmazonVPC", {"usagetype": "{p}-VpcEndpoint-Hours"}),
    "ec2.public_ipv4_hour": ("AmazonVPC", {"usagetype": "{p}-PublicIPv4:InUseAddress"}),
}


class NoCredentials(Exception):
    pass


def first_tier_usd(price_list: list[str]) -> float | None:
    """The on-demand rate of the first tier (beginRange 0) of the first product that has one."""
    for item in price_list:
        product = json.loads(item)
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                if str(dimension.get("beginRange", "0")) == "0":
                    usd = dimension.get("pricePerUnit", {}).get("USD")
                    if usd is not None and float(usd) > 0:
                        return float(usd)
    return None


def refresh_book(doc: dict[str, Any], client: Any, today: str) -> tuple[list[str], list[str]]:
    """Update ``doc`` in place; return (refreshed meters, meters the API did not answer)."""
    region = doc["region"]
    prefix = USAGE_PREFIX.get(region, "")
    refreshed, missing = [], []
    for meter, (service, fields) in QUERIES.items():
        entry = doc["prices"].get(meter)
        if entry is None or "tiers" in entry:
            continue
        filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
        filters += [
            {"Type": "TERM_MATCH", "Field": k, "Value": v.format(p=prefix)}
            for k, v in fields.items()
        ]
        response = client.get_products(ServiceCode=service, Filters=filters, MaxResults=10)
        usd = first_tier_usd(response.get("PriceList", []))
        if usd is None:
            missing.append(meter)
            continue
        entry.update(usd=usd, date=today, refreshed="AWS Price List Query API")
        # A Price List answer is a published rate: it replaces a stated assumption (Spot).
        entry.pop("assumption", None)
        refreshed.append(meter)
    return refreshed, missing


def pricing_client() -> Any:
    import boto3

    session = boto3.Session()
    if session.get_credentials() is None:
        raise NoCredentials
    return session.client("pricing", region_name="us-east-1")


def main(argv: list[str] | None = None, client: Any = None, prices_dir: Path = PRICES_DIR) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cost.refresh", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--region", action="append", help="default: every price file")
    args = parser.parse_args(argv)
    regions = args.region or sorted(p.stem for p in prices_dir.glob("*.json"))
    try:
        client = client or pricing_client()
    except NoCredentials:
        print("cost-refresh: no AWS credentials found; the price files were left as they are")
        return 2
    today = datetime.now(UTC).date().isoformat()
    for region in regions:
        path = prices_dir / f"{region}.json"
        doc = json.loads(path.read_text())
        refreshed, missing = refresh_book(doc, client, today)
        path.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"{region}: refreshed {len(refreshed)} prices; not found (kept): {missing or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
