"""What the model reads from a template: every type accounted for, and every property that
changes a bill read from it, so a template change that adds cost changes the figure.

Each mutation test changes one property of a synthesized template in memory and checks the
figure moves by the amount worked out by hand from the price book.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cost.model import (
    FREE,
    GIB,
    HOURS,
    POWERTOOLS_METRICS,
    PRICERS,
    Estimate,
    estimate,
    schedule_runs_per_month,
    unpriced_types,
)
from cost.prices import load_price_book
from cost.profile import load_profile, zero_profile
from tests.support import ROOT, SELECTED, Synth

BOOK = load_price_book("us-east-1")
MEDIUM = load_profile("medium")


def of_type(tpl: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in tpl["Resources"].values() if r["Type"] == resource_type]


def meter(est: Estimate, prefix: str, kind: str | None = None) -> float:
    """Gross USD of a meter's lines (free tier left out unless asked for)."""
    return sum(
        line.usd
        for line in est.lines
        if line.meter.startswith(prefix)
        and (line.kind == kind if kind else line.kind != "free tier")
    )


def quantity(est: Estimate, prefix: str) -> float:
    return sum(
        line.quantity
        for line in est.lines
        if line.meter.startswith(prefix) and line.kind != "free tier"
    )


@pytest.mark.parametrize("stack", SELECTED)
def test_every_type_is_priced_or_free_with_a_reason(synth: Synth, stack: str) -> None:
    tpl = synth.template_json(stack)
    assert unpriced_types(tpl) == []
    for resource_type in {r["Type"] for r in tpl["Resources"].values()}:
        if resource_type in FREE:
            assert len(FREE[resource_type]) > 8, f"{resource_type}: say why it is free"
        else:
            assert resource_type in PRICERS or resource_type.startswith("Custom::")


def test_container_insights_is_read_from_the_cluster_settings(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    cluster = of_type(tpl, "AWS::ECS::Cluster")[0]["Properties"]
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]
    on = estimate("ContainerService", tpl, zero_profile(), BOOK)
    # 13 per cluster + 15 for its one service + 11 for its task family = 39 metrics x $0.30.
    assert quantity(on, "cloudwatch.metric") == 39
    assert meter(on, "cloudwatch.metric") == pytest.approx(11.70)
    cluster["ClusterSettings"] = [{"Name": "containerInsights", "Value": "disabled"}]
    off = estimate("ContainerService", tpl, zero_profile(), BOOK)
    assert meter(off, "cloudwatch.metric") == 0
    # Performance logs: 2 tasks x 43,800 minutes x 1,500 bytes = 0.1224 GiB x $0.50 = $0.06.
    assert on.fixed - off.fixed == pytest.approx(11.70 + 2 * 43_800 * 1500 / GIB * 0.50)
    cluster["ClusterSettings"] = [{"Name": "containerInsights", "Value": "enhanced"}]
    enhanced = estimate("ContainerService", tpl, zero_profile(), BOOK)
    # Enhanced: + 20 metrics for each of the 2 minimum tasks.
    assert quantity(enhanced, "cloudwatch.metric") == 39 + 40


def test_rest_detailed_metrics_are_read_from_method_settings(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    stage = of_type(tpl, "AWS::ApiGateway::Stage")[0]["Properties"]
    methods = len(of_type(tpl, "AWS::ApiGateway::Method"))
    on = estimate("ServerlessApi", tpl, MEDIUM, BOOK, free_tier=False)
    for setting in stage["MethodSettings"]:
        setting["MetricsEnabled"] = False
    off = estimate("ServerlessApi", tpl, MEDIUM, BOOK, free_tier=False)
    # 5 metrics per method without a cache (no CacheHitCount/CacheMissCount) x $0.30.
    assert quantity(on, "cloudwatch.metric") - quantity(off, "cloudwatch.metric") == 5 * methods
    assert on.total - off.total == pytest.approx(5 * methods * 0.30)


def test_websocket_detailed_metrics_are_read_from_the_stage(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("WebSocketApi"))
    stage = of_type(tpl, "AWS::ApiGatewayV2::Stage")[0]["Properties"]
    routes = len(of_type(tpl, "AWS::ApiGatewayV2::Route"))
    on = estimate("WebSocketApi", tpl, MEDIUM, BOOK)
    stage["DefaultRouteSettings"]["DetailedMetricsEnabled"] = False
    off = estimate("WebSocketApi", tpl, MEDIUM, BOOK)
    assert quantity(on, "cloudwatch.metric") - quantity(off, "cloudwatch.metric") == 5 * routes


def test_powertools_metrics_follow_the_functions_environment(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    on = estimate("ServerlessApi", tpl, MEDIUM, BOOK)
    for fn in of_type(tpl, "AWS::Lambda::Function"):
        fn["Properties"]["Environment"]["Variables"].pop("POWERTOOLS_METRICS_NAMESPACE", None)
    off = estimate("ServerlessApi", tpl, MEDIUM, BOOK)
    # items-api: 4 add_metric names + the cold-start metric.
    assert quantity(on, "cloudwatch.metric") - quantity(off, "cloudwatch.metric") == 5


@pytest.mark.parametrize(
    ("service", "source"),
    [
        ("items-api", "lambda_src/serverless_api/items/app.py"),
        ("websocket-chat", "lambda_src/websocket_api/chat/app.py"),
        ("websocket-chat-authorizer", "lambda_src/websocket_api/chat/authorizer.py"),
        ("table-export", "lambda_src/scheduled_job/nightly_export/app.py"),
        ("thumbnails", "containers/thumbnail/thumbnailer/app.py"),
    ],
)
def test_powertools_metric_counts_match_the_handler_source(service: str, source: str) -> None:
    tree = ast.parse((ROOT / source).read_text())
    names = {
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_metric"
        for kw in node.keywords
        if kw.arg == "name" and isinstance(kw.value, ast.Constant)
    }
    cold_start = "capture_cold_start_metric=True" in Path(ROOT / source).read_text()
    assert POWERTOOLS_METRICS[service] == len(names) + int(cold_start)


def test_execution_logs_are_read_from_the_logging_level(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    stage = of_type(tpl, "AWS::ApiGateway::Stage")[0]["Properties"]
    assert stage["MethodSettings"][0]["LoggingLevel"] == "ERROR"

    def with_level(level: str) -> Estimate:
        for setting in stage["MethodSettings"]:
            setting["LoggingLevel"] = level
        return estimate("ServerlessApi", tpl, MEDIUM, BOOK, free_tier=False)

    off, error, info = with_level("OFF"), with_level("ERROR"), with_level("INFO")
    # INFO: 10 M requests x 2,000 bytes = 18.63 GiB ingested x $0.50 = $9.31; ERROR logs 1%.
    gib = 10e6 * 2000 / GIB
    assert meter(info, "logs.ingest_gb") - meter(off, "logs.ingest_gb") == pytest.approx(gib * 0.5)
    assert meter(error, "logs.ingest_gb") - meter(off, "logs.ingest_gb") == pytest.approx(
        gib * 0.5 / 100
    )


def test_lifecycle_transition_to_standard_ia_is_read_from_the_bucket(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ScheduledJob"))
    bucket = next(
        r["Properties"]
        for r in of_type(tpl, "AWS::S3::Bucket")
        if any(
            rule.get("Transitions") for rule in r["Properties"]["LifecycleConfiguration"]["Rules"]
        )
    )
    with_ia = estimate("ScheduledJob", tpl, MEDIUM, BOOK)
    for rule in bucket["LifecycleConfiguration"]["Rules"]:
        rule.pop("Transitions", None)
    standard = estimate("ScheduledJob", tpl, MEDIUM, BOOK)
    # By hand: 20 GB table / 4 (gzip) = 5 GB a run, one run a day (cron 0 2 * * ? *), kept
    # 12 months (365-day expiry > the profile's 12): 5 x 30.4 x 12 = 1,824 GB at steady state.
    runs = schedule_runs_per_month("cron(0 2 * * ? *)")
    stored = 5 * runs * 12
    # (The access log bucket's few MB of records add well under a cent: hence abs=0.005.)
    assert meter(standard, "s3.storage_gb_month") == pytest.approx(stored * 0.023, abs=0.005)
    # With the rule: the first 30 days in Standard, the rest in Standard-IA at $0.0125, plus
    # one $0.00001 transition per object (an export writes 50 ~100 MB parts + a manifest).
    in_standard = stored * 30 / 30.4 / 12
    expected = in_standard * 0.023 + (stored - in_standard) * 0.0125 + runs * 51 * 0.00001
    got = sum(meter(with_ia, m) for m in ("s3.storage", "s3.standard_ia", "s3.transition"))
    assert got == pytest.approx(expected, abs=0.005)
    assert standard.total - with_ia.total == pytest.approx(stored * 0.023 - expected, abs=0.005)


def test_expiry_is_read_from_the_lifecycle_rules(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ScheduledJob"))
    before = estimate("ScheduledJob", tpl, MEDIUM, BOOK)
    for bucket in of_type(tpl, "AWS::S3::Bucket"):
        for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]:
            if rule.get("Transitions"):
                rule["ExpirationInDays"] = 182  # half a year instead of a year: half the data
    after = estimate("ScheduledJob", tpl, MEDIUM, BOOK)
    ia = meter(before, "s3.standard_ia")
    assert meter(after, "s3.standard_ia") == pytest.approx(
        ia * (182 / 30.4 - 30 / 30.4) / (12 - 30 / 30.4)
    )


def test_key_rotation_is_read_from_the_key(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    keys = of_type(tpl, "AWS::KMS::Key")
    assert keys
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys)
    rotated = estimate("ServerlessApi", tpl, zero_profile(), BOOK)
    for key in keys:
        key["Properties"]["EnableKeyRotation"] = False
    plain = estimate("ServerlessApi", tpl, zero_profile(), BOOK)
    # Steady state: $1 for the key + $1 for each of the first two rotations = $3 vs $1.
    assert rotated.fixed - plain.fixed == pytest.approx(2.0 * len(keys))


def test_billing_mode_and_provisioned_capacity_are_read_from_the_table(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    on_demand = estimate("ServerlessApi", tpl, MEDIUM, BOOK)
    assert meter(on_demand, "dynamodb.read_request_unit") > 0
    table = of_type(tpl, "AWS::DynamoDB::Table")[0]["Properties"]
    table["BillingMode"] = "PROVISIONED"
    table["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    provisioned = estimate("ServerlessApi", tpl, MEDIUM, BOOK)
    assert meter(provisioned, "dynamodb.read_request_unit") == 0
    # 5 RCU x 730 h x $0.00013 = $0.4745; 5 WCU x 730 h x $0.00065 = $2.3725.
    assert meter(provisioned, "dynamodb.rcu_hour") == pytest.approx(0.4745)
    assert meter(provisioned, "dynamodb.wcu_hour") == pytest.approx(2.3725)


def test_nat_count_and_data_processing_are_read_from_the_template(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    # Without a logs endpoint, the tasks' logs leave through the NAT gateways.
    tpl["Resources"] = {
        k: r
        for k, r in tpl["Resources"].items()
        if not (r["Type"] == "AWS::EC2::VPCEndpoint" and ".logs" in json.dumps(r))
    }
    for n in (1, 2):
        tpl["Resources"][f"Nat{n}"] = {"Type": "AWS::EC2::NatGateway", "Properties": {}}
        est = estimate("ContainerService", tpl, MEDIUM, BOOK)
        # n x 730 h x $0.045; 10 M requests x 1,000 log bytes = 9.31 GiB x $0.045, shared.
        assert meter(est, "nat.hour") == pytest.approx(n * HOURS * 0.045)
        assert meter(est, "nat.gb_processed") == pytest.approx(10e6 * 1000 / GIB * 0.045)


def test_alb_access_logs_are_stored_in_their_bucket(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    on = estimate("ContainerService", tpl, MEDIUM, BOOK, free_tier=False)
    lb = of_type(tpl, "AWS::ElasticLoadBalancingV2::LoadBalancer")[0]["Properties"]
    for attr in lb["LoadBalancerAttributes"]:
        if attr["Key"] == "access_logs.s3.enabled":
            attr["Value"] = "false"
    off = estimate("ContainerService", tpl, MEDIUM, BOOK, free_tier=False)
    # 10 M entries x 100 bytes = 0.93 GiB a month, kept 90 days (2.96 months) x $0.023.
    stored = 10e6 * 100 / GIB * 90 / 30.4
    assert meter(on, "s3.storage") - meter(off, "s3.storage") == pytest.approx(stored * 0.023)


def test_images_in_the_bootstrap_repository_are_stored(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("BatchJobs"))
    before = estimate("BatchJobs", tpl, MEDIUM, BOOK)
    # The medium profile keeps 3 GB per image: 3 x $0.10.
    assert meter(before, "ecr.storage") == pytest.approx(0.30)
    job = of_type(tpl, "AWS::Batch::JobDefinition")[0]["Properties"]
    job["ContainerProperties"]["Image"] = "public.ecr.aws/docker/library/python:3.12"
    after = estimate("BatchJobs", tpl, MEDIUM, BOOK)
    assert meter(after, "ecr.storage") == 0


def test_assumptions_are_flagged_in_the_output(synth: Synth) -> None:
    est = estimate("BatchJobs", synth.template_json("BatchJobs"), MEDIUM, BOOK)
    spot = [line for line in est.lines if line.meter.startswith("fargate_spot")]
    assert spot
    assert all(line.assumption for line in spot)
    assert any("Fargate Spot" in a for a in est.assumptions)
    assert est.to_dict()["assumptions"] == est.assumptions
