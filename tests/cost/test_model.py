"""The cost model on hand-computed cases: every expected figure is worked out in the test."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from cost.model import Estimate, Line, estimate, schedule_runs_per_month
from cost.prices import load_price_book
from cost.profile import zero_profile
from cost.report import table

BOOK = load_price_book("us-east-1")


def api_function(memory: int = 512, arch: str = "x86_64") -> dict[str, Any]:
    """A function behind one REST method: the smallest template the API driver recognizes."""
    return {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"MemorySize": memory, "Architectures": [arch], "Timeout": 10},
            },
            "Get": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"Integration": {"Uri": {"Fn::GetAtt": ["Fn", "Arn"]}}},
            },
        }
    }


def load(requests: float, duration_ms: float) -> dict[str, float]:
    profile = zero_profile()
    profile.update(requests_per_month=requests, avg_duration_ms=duration_ms)
    return profile


def meter_total(est: Estimate, prefix: str) -> float:
    """Net USD of a meter's lines: its charge plus its free-tier deduction."""
    return sum(line.usd for line in est.lines if line.meter.startswith(prefix))


def gross(est: Estimate, prefix: str) -> float:
    return sum(
        line.usd for line in est.lines if line.meter.startswith(prefix) and line.kind != "free tier"
    )


def test_lambda_seed_case_512mb_1s_3m_requests_x86() -> None:
    est = estimate("T", api_function(512, "x86_64"), load(3_000_000, 1000), BOOK)
    # Requests: 3 M - 1 M free = 2 M billable x $0.20 per million = $0.40.
    assert meter_total(est, "lambda.request") == pytest.approx(0.40, abs=0.005)
    # Compute: 3 M x 1 s x 0.5 GB = 1.5 M GB-s; - 400 k free = 1.1 M GB-s x $0.0000166667
    # = $18.33.
    assert meter_total(est, "lambda.gb_second") == pytest.approx(18.33, abs=0.005)
    assert est.total == pytest.approx(18.73, abs=0.01)


def test_free_tier_is_its_own_line() -> None:
    est = estimate("T", api_function(), load(3_000_000, 1000), BOOK)
    free = {line.meter: line.usd for line in est.lines if line.kind == "free tier"}
    # 1 M requests x $0.20/M = $0.20; 400 k GB-s x $0.0000166667 = $6.67.
    assert free["lambda.request"] == pytest.approx(-0.20, abs=0.005)
    assert free["lambda.gb_second.x86_64"] == pytest.approx(-6.67, abs=0.005)


def test_arm64_is_cheaper_than_x86_for_the_same_load() -> None:
    x86 = estimate("T", api_function(512, "x86_64"), load(3_000_000, 1000), BOOK)
    arm = estimate("T", api_function(512, "arm64"), load(3_000_000, 1000), BOOK)
    # 1.1 M billable GB-s x $0.0000133334 = $14.67 against $18.33.
    assert meter_total(arm, "lambda.gb_second") == pytest.approx(14.67, abs=0.005)
    assert arm.total < x86.total


def test_doubling_memory_doubles_the_compute_line() -> None:
    small = estimate("T", api_function(512), load(3_000_000, 1000), BOOK, free_tier=False)
    big = estimate("T", api_function(1024), load(3_000_000, 1000), BOOK, free_tier=False)
    # 1.5 M GB-s x $0.0000166667 = $25.00; 3 M GB-s = $50.00.
    assert gross(small, "lambda.gb_second") == pytest.approx(25.00, abs=0.005)
    assert gross(big, "lambda.gb_second") == pytest.approx(2 * gross(small, "lambda.gb_second"))


def test_a_run_cannot_outlast_the_timeout() -> None:
    capped = estimate("T", api_function(), load(3_000_000, 60_000), BOOK, free_tier=False)
    # Timeout 10 s: 3 M x 10 s x 0.5 GB = 15 M GB-s x $0.0000166667 = $250.00.
    assert gross(capped, "lambda.gb_second") == pytest.approx(250.00, abs=0.01)


def test_zero_traffic_leaves_nothing_for_a_function_only_stack() -> None:
    assert estimate("T", api_function(), zero_profile(), BOOK).lines == []


def test_tiers_fill_in_order() -> None:
    rest = BOOK["apigw.rest.request"]
    # 333 M x $3.50/M = $1,165.50, then 67 M x $2.80/M = $187.60.
    assert rest.charge(400e6) == pytest.approx(1165.50 + 187.60)


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 2 * * ? *)", 30.4),
        ("rate(5 minutes)", 730 * 12),
        ("rate(1 hour)", 730),
        ("cron(0 9 ? * MON-FRI *)", 30.4 / 7),
    ],
)
def test_schedule_runs_per_month(expression: str, runs: float) -> None:
    assert schedule_runs_per_month(expression) == pytest.approx(runs)


def test_fargate_spot_is_below_on_demand() -> None:
    spot, on_demand = BOOK["fargate_spot.vcpu_hour"], BOOK["fargate.vcpu_hour.x86_64"]
    assert spot.first_rate < on_demand.first_rate
    assert BOOK["fargate_spot.gb_hour"].first_rate < BOOK["fargate.gb_hour.x86_64"].first_rate


def test_price_files_cite_a_public_page_and_a_date_for_every_price() -> None:
    eu = load_price_book("eu-west-1")
    assert set(eu.prices) == set(BOOK.prices)
    for book in (BOOK, eu):
        for price in book.prices.values():
            assert price.source.startswith("https://aws.amazon.com/"), price.meter
            assert re.fullmatch(r"20\d\d-\d\d-\d\d", price.date), price.meter
            assert price.first_rate > 0, price.meter


def test_fargate_spot_is_a_stated_assumption_and_on_demand_eu_matches_us() -> None:
    # The public Fargate page lists Europe (Ireland) Linux on-demand at the us-east-1 rates;
    # Spot has no current published rate, so it must say it is an assumption.
    eu = load_price_book("eu-west-1")
    for meter in ("vcpu_hour.x86_64", "gb_hour.x86_64", "vcpu_hour.arm64", "gb_hour.arm64"):
        assert eu[f"fargate.{meter}"].first_rate == BOOK[f"fargate.{meter}"].first_rate
    for book in (BOOK, eu):
        for meter in ("fargate_spot.vcpu_hour", "fargate_spot.gb_hour"):
            assert book[meter].assumption
    sourced = [p for p in BOOK.prices.values() if not p.assumption]
    assert len(sourced) > len(BOOK.prices) - 3


def test_template_dict_is_not_mutated_by_estimating() -> None:
    tpl = api_function()
    before = copy.deepcopy(tpl)
    estimate("T", tpl, load(1, 1), BOOK)
    assert tpl == before


def test_reserved_concurrency_caps_what_runs() -> None:
    tpl = api_function(512, "x86_64")
    tpl["Resources"]["Fn"]["Properties"]["ReservedConcurrentExecutions"] = 1
    est = estimate("T", tpl, load(5_000_000, 1000), BOOK, free_tier=False)
    # One at a time for 730 h of 1 s runs: 2,628,000 runs x 0.5 GB = 1,314,000 GB-s
    # x $0.0000166667 = $21.90, not the 5 M runs the load asks for.
    assert gross(est, "lambda.gb_second") == pytest.approx(21.90, abs=0.005)
    assert any("reserved concurrency 1" in note for note in est.notes)


def test_table_wraps_long_text_between_words() -> None:
    description = (
        "Public IPv4 addresses (load balancer nodes, NAT gateways) with a description long "
        "enough to need three lines of the table's description column"
    )
    line = Line("fixed", "m", description, 1.0, "endpoint-AZ-hour and more", 1.0, "d", "u", "why")
    est = Estimate("S", "us-east-1", "p", lines=[line], assumptions=["x " * 80])
    text = table(est)
    assert all(len(row) <= 100 for row in text.splitlines())
    words = {word for row in text.splitlines() for word in row.split()}
    assert set(description.split()) <= words  # every word whole, none cut at a column edge
    assert "* priced with a stated assumption" in text
