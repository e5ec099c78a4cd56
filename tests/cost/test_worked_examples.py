"""AWS's own worked examples from its public pricing pages, run through the model.

Each test quotes the example's inputs and published total, builds the smallest template the
model prices the same way, and asserts the published figure to the cent. Where an example uses
a rate rounded differently from the price book, the test prices with the example's own rate
(and checks the book's rate rounds to it), so what is tested is the model's arithmetic: units,
free allowances and tiers.

Found and asserted: Lambda (Example 1), X-Ray (Example 1), CloudWatch's always-free list, and
API Gateway REST (the first REST example, from the page's European Sovereign Cloud edition,
in euros; its US-dollar twin is asserted too, but its figure comes from a secondary summary).

Searched for and not found as published text (so not asserted here; see the report of issue
23), with the queries tried in the stored pages and docs corpora:
- API Gateway WebSocket: "API Gateway WebSocket pricing example messages connection minutes
  total", "... chat application 1,000 clients connected messages per minute", "aws.eu pricing
  examples WebSocket", "amazonaws.cn API Gateway pricing example WebSocket". Every edition of
  the page found is cut off before its examples (a secondary transcript confirms the page has
  one, at $1.00 per million messages and $0.25 per million connection minutes, without its
  inputs or total).
- DynamoDB on-demand: "DynamoDB on-demand pricing example write request units monthly bill",
  "aws.eu ... on-demand example", "amazonaws.cn ... example", "... 80 million writes and 1
  billion reads". Only the key-terms sections (and a retired provisioned-capacity FAQ example)
  were found.
- Fargate: "AWS Fargate pricing example tasks vCPU GB per hour total", "Total vCPU charges = #
  of Tasks x # vCPUs x price per CPU-second ...", the example rate "0.000011244". The page's
  example rates ($0.000011244 per vCPU-second, $0.000001235 per GB-second) are quoted by
  others, its inputs and totals by no stored source.
- CloudWatch (beyond the free tier): "Amazon CloudWatch pricing example custom metrics
  dashboards alarms monthly charges".
- S3: "Amazon S3 pricing example storage requests data transfer monthly", "S3 FAQ storage
  example 100GB 15 days March 100TB 16 days". Found only the FAQ's storage example with 2011
  rates (a third-party copy) and its S3 Express One Zone examples, which price a storage class
  and per-GB upload/retrieval charges no stack uses.
- NAT gateway: "NAT gateway pricing example data processed per GB hourly charge", "NAT Gateway
  Hourly Charge: ... 1 GB data went through the NAT gateway". Only third-party examples.
- PrivateLink: "AWS PrivateLink pricing example interface endpoint". The page's text found has
  no worked example (it gives tiered data-processing rates: $0.01/GB for the first PB a month,
  which is what the book prices; the lower tiers start at 1 PB).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from cost.model import Estimate, Line, estimate
from cost.prices import PriceBook, load_price_book
from cost.profile import zero_profile

BOOK = load_price_book("us-east-1")


def with_rate(book: PriceBook, meter: str, usd: float) -> PriceBook:
    price = dataclasses.replace(book[meter], tiers=((None, usd),))
    return dataclasses.replace(book, prices={**book.prices, meter: price})


def net(est: Estimate, prefix: str) -> float:
    """A meter's charge plus its free-tier deduction, in USD."""
    return sum(line.usd for line in est.lines if line.meter.startswith(prefix))


def api_function(memory_mb: int, tracing: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"MemorySize": memory_mb, "Architectures": ["x86_64"], "Timeout": 900}
    if tracing:
        props["TracingConfig"] = {"Mode": "Active"}
    return {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": props},
            "Get": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"Integration": {"Uri": {"Fn::GetAtt": ["Fn", "Arn"]}}},
            },
        }
    }


def test_lambda_example_1_512mb_3m_requests_1s() -> None:
    # https://aws.amazon.com/lambda/pricing/ "Example 1" (US East (N. Virginia)): "If you
    # allocated 512MB of memory to your function, executed it 3 million times in one month, and
    # it ran for 1 second each time": "1,500,000 GB-s - 400,000 free tier GB-s = 1,100,000 GB-s",
    # "Monthly compute charges = 1,100,000 * $0.00001667 = $18.34", "3M requests - 1M free tier
    # requests = 2M", "Monthly request charges = 2M * $0.2/M = $0.40", "Total charges = $18.34 +
    # $0.40 = $18.74 per month". The example applies both always-free allowances, and prices
    # compute at $0.00001667, the book's $0.0000166667 rounded to the cent-per-100k.
    assert round(BOOK["lambda.gb_second.x86_64"].first_rate, 8) == 0.00001667
    book = with_rate(BOOK, "lambda.gb_second.x86_64", 0.00001667)
    profile = zero_profile()
    profile.update(requests_per_month=3_000_000, avg_duration_ms=1000)
    est = estimate("Example", api_function(512), profile, book)
    assert round(net(est, "lambda.gb_second"), 2) == 18.34
    assert round(net(est, "lambda.request"), 2) == 0.40
    assert round(net(est, "lambda."), 2) == 18.74


def test_xray_example_1_2000_requests_an_hour_10_percent_sampled() -> None:
    # https://aws.amazon.com/xray/pricing/ "Example 1" (quoted from the page's German and Chinese
    # editions, https://aws.amazon.com/de/xray/pricing/ and https://aws.amazon.com/cn/xray/pricing/,
    # which carry the same figures): "an application that receives 2,000 incoming requests per
    # hour and you're using a sampling rate of 10%": traces recorded = 2,000 x 24 h x 31 days x
    # 10% = 148,800; billable = 148,800 - 100,000 free = 48,800; "48,800 traces * $0.000005 =
    # $0.24". The free tier is applied. (The example's retrieval line is $0 inside the free
    # 1,000,000, and its Insights line prices a feature no stack turns on.)
    recorded = 2_000 * 24 * 31 * 0.10
    price = BOOK["xray.trace"]
    assert price.free_per_month == 100_000
    billable = recorded - price.free_per_month
    assert round(price.charge(billable), 2) == 0.24
    # And through a template: a traced function whose sampled traces are the example's 148,800.
    # The model samples 1/s + 5% (X-Ray's default rule); at 2,000 requests an hour (< 1 a
    # second) every request is recorded, so feed it the example's recorded count as requests.
    profile = zero_profile()
    profile.update(requests_per_month=recorded, avg_duration_ms=100)
    est = estimate("Example", api_function(128, tracing=True), profile, BOOK)
    assert round(net(est, "xray.trace"), 2) == 0.24


@pytest.mark.parametrize(
    ("meter", "free"),
    [
        ("cloudwatch.dashboard", 3),
        ("cloudwatch.alarm", 10),
        ("cloudwatch.metric", 10),
        ("logs.ingest_gb", 5),
    ],
)
def test_cloudwatch_always_free_allowances(meter: str, free: float) -> None:
    # https://aws.amazon.com/cloudwatch/pricing/ "Free tier": "10 Metrics (of Custom Metrics and
    # Detailed Monitoring Metrics)", "3 Custom Dashboards referencing up to 50 metrics each per
    # month", "10 Alarm metrics (only applicable to Standard resolution alarms ...)", "5 GB Data
    # (ingestion, archive storage, and data scanned by Logs Insights queries)".
    for region in ("us-east-1", "eu-west-1"):
        assert load_price_book(region)[meter].free_per_month == free


def test_cloudwatch_three_dashboards_and_ten_alarms_cost_nothing() -> None:
    # The same free tier through the model: 3 dashboards and 10 single-metric alarms are free;
    # a fourth dashboard is $3.00 and an eleventh alarm $0.10 (the page's list prices).
    def template(dashboards: int, alarms: int) -> dict[str, Any]:
        resources: dict[str, Any] = {
            f"Dash{i}": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}}
            for i in range(dashboards)
        }
        resources.update(
            {
                f"Alarm{i}": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 60}}
                for i in range(alarms)
            }
        )
        return {"Resources": resources}

    assert estimate("T", template(3, 10), zero_profile(), BOOK).total == pytest.approx(0.0)
    over = estimate("T", template(4, 11), zero_profile(), BOOK)
    assert round(over.total, 2) == 3.10


def rest_api_template() -> dict[str, Any]:
    return {"Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}}}}


def gross(est: Estimate, meter: str) -> Line:
    """The meter's charge line before any free-tier deduction."""
    return next(line for line in est.lines if line.meter == meter and line.kind != "free tier")


def test_api_gateway_rest_example_5m_calls_3kb_eur_edition() -> None:
    # https://aws.eu/api-gateway/pricing (the API Gateway pricing page's AWS European Sovereign
    # Cloud edition, in euros), "Pricing examples", "REST APIs", first example: "An
    # edge-optimised or regional API receives five million API calls per month, with each API
    # call returning responses of 3 kilobytes (KB) in size with no caching." "Amazon API
    # Gateway API call charges = 5 million * €3.6514/million = €18.25", "Total size of data
    # transfers = 3 KB * 5 million = 15 million/KB = 14.3 GB", "Amazon API Gateway data
    # transfer charges = 14.3 GB * €0.07723233 = €1.10", "Total Amazon API Gateway charges =
    # €18.25 + €1.10 = €19.35".
    # The example ignores two free allowances: API Gateway's 12-month free tier (which the model
    # never applies) and the always-free 100 GB a month of data transfer out (which it does), so
    # it is priced with free_tier=False. The euro rates are injected (the book is in USD).
    book = with_rate(BOOK, "apigw.rest.request", 3.6514e-6)
    book = with_rate(book, "transfer.out_gb", 0.07723233)
    profile = zero_profile()
    profile.update(requests_per_month=5_000_000, payload_kb=3)
    est = estimate("Example", rest_api_template(), profile, book, free_tier=False)
    calls, transfer = gross(est, "apigw.rest.request"), gross(est, "transfer.out_gb")
    # 15 million KB is 14.3 GB only in binary units (2^20 KB a GB): the page uses GiB, as the
    # model does (10^6 KB a GB would give 15.0 GB).
    assert round(transfer.quantity, 1) == 14.3
    assert round(transfer.usd, 2) == 1.10
    # The call line: 5 x 3.6514 = 18.257, which the page prints as €18.25 -- it drops the
    # third decimal instead of rounding -- so the model, rounding, shows €18.26 and a total
    # of €19.36, one cent above the published €19.35. The difference is the page's
    # truncation, not a rate or unit: cutting the model's own lines to the cent as the page
    # does gives the published figures exactly.
    assert round(calls.usd, 2) == 18.26
    assert round(est.total, 2) == 19.36

    def cut(usd: float) -> float:
        return math.floor(usd * 100 + 1e-9) / 100

    assert cut(calls.usd) == 18.25
    assert cut(transfer.usd) == 1.10
    assert round(cut(calls.usd) + cut(transfer.usd), 2) == 19.35


def test_api_gateway_rest_example_5m_calls_3kb_usd_book_rates() -> None:
    # The same example in US dollars at the book's own us-east-1 rates ($3.50 per million
    # calls, $0.09 per GB out): 5M x $3.50/M = $17.50, 14.3 GB x $0.09 = $1.29, $18.79. The
    # US edition (https://aws.amazon.com/api-gateway/pricing/) was not found as stored text
    # past its free-tier section; $18.79 for "5M REST API calls with 3 KB responses" is quoted
    # from a secondary summary of it (https://awsforengineers.com/blog/aws-api-gateway-pricing-
    # explained), so this asserts the model against that figure, not against AWS's text. It
    # too ignores the 100 GB always-free data transfer out.
    assert BOOK["apigw.rest.request"].first_rate == 3.5e-6
    assert BOOK["transfer.out_gb"].first_rate == 0.09
    profile = zero_profile()
    profile.update(requests_per_month=5_000_000, payload_kb=3)
    est = estimate("Example", rest_api_template(), profile, BOOK, free_tier=False)
    assert round(gross(est, "apigw.rest.request").usd, 2) == 17.50
    assert round(gross(est, "transfer.out_gb").usd, 2) == 1.29
    assert round(est.total, 2) == 18.79
    # With the free allowance the model applies by default, the 14.3 GB fall inside it.
    assert round(estimate("Example", rest_api_template(), profile, BOOK).total, 2) == 17.50
