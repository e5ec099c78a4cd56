"""The model on the real synthesized templates, and on deliberate changes to them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cost.cli import doc_path, doc_sections
from cost.model import FREE, PRICERS, Estimate, estimate, unpriced_types
from cost.prices import load_price_book
from cost.profile import load_profile, zero_profile
from cost.report import BEGIN, END
from cost.templates import from_assembly
from tests.support import SELECTED, Synth

BOOK = load_price_book("us-east-1")


def of_type(tpl: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in tpl["Resources"].values() if r["Type"] == resource_type]


def fixed_meter(est: Estimate, prefix: str) -> float:
    return sum(
        line.usd for line in est.lines if line.kind == "fixed" and line.meter.startswith(prefix)
    )


@pytest.mark.parametrize("stack", SELECTED)
def test_every_resource_type_is_priced_or_listed_as_free(synth: Synth, stack: str) -> None:
    tpl = synth.template_json(stack)
    assert unpriced_types(tpl) == [], (
        f"{stack} has resource types the cost model neither prices nor lists as free: add a "
        "pricer to cost.model.PRICERS or a reason to cost.model.FREE"
    )


def test_no_type_is_both_priced_and_free() -> None:
    assert set(PRICERS).isdisjoint(FREE)


@pytest.mark.parametrize("stack", SELECTED)
def test_zero_traffic_leaves_only_fixed_lines(synth: Synth, stack: str) -> None:
    # Free allowances may cover part of the floor (3 dashboards, 10 alarm metrics), never more.
    est = estimate(stack, synth.template_json(stack), zero_profile(), BOOK)
    assert {line.kind for line in est.lines} <= {"fixed", "free tier"}
    assert est.total == pytest.approx(est.fixed + est.subtotal("free tier"))
    assert 0 <= est.total <= est.fixed


@pytest.mark.parametrize("stack", SELECTED)
def test_medium_costs_at_least_the_fixed_floor(synth: Synth, stack: str) -> None:
    tpl = synth.template_json(stack)
    floor = estimate(stack, tpl, zero_profile(), BOOK)
    medium = estimate(stack, tpl, load_profile("medium"), BOOK, "medium")
    assert medium.fixed == pytest.approx(floor.fixed)
    assert medium.total >= floor.total


def test_container_service_floor_is_two_tasks_alb_and_endpoints(synth: Synth) -> None:
    est = estimate(
        "ContainerService", synth.template_json("ContainerService"), zero_profile(), BOOK
    )
    # 2 tasks x 0.5 vCPU x 730 h x $0.03238 (arm64) = $23.64; 2 x 1 GB x 730 h x $0.00356 = $5.20.
    assert fixed_meter(est, "fargate.vcpu_hour.arm64") == pytest.approx(23.64, abs=0.005)
    assert fixed_meter(est, "fargate.gb_hour.arm64") == pytest.approx(5.20, abs=0.005)
    # 3 interface endpoints x 2 AZs x 730 h x $0.01 = $43.80; the S3 gateway endpoint is free.
    assert fixed_meter(est, "vpce.interface_az_hour") == pytest.approx(43.80, abs=0.005)
    # ALB 730 h x $0.0225 = $16.43 (16.425). Without a certificate the ALB is internal (HTTPS by
    # default), so it has no public IPv4 addresses (internet-facing: 1,460 h x $0.005 = $7.30).
    assert fixed_meter(est, "alb.hour") == pytest.approx(16.425, abs=0.005)
    assert fixed_meter(est, "ec2.public_ipv4_hour") == pytest.approx(0.0, abs=0.005)


def test_more_minimum_tasks_move_the_fargate_floor(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    before = estimate("ContainerService", tpl, zero_profile(), BOOK)
    of_type(tpl, "AWS::ApplicationAutoScaling::ScalableTarget")[0]["Properties"]["MinCapacity"] = 4
    after = estimate("ContainerService", tpl, zero_profile(), BOOK)
    assert fixed_meter(after, "fargate") == pytest.approx(2 * fixed_meter(before, "fargate"))


def test_desired_count_drives_tasks_without_a_scaling_target(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    tpl["Resources"] = {
        k: r
        for k, r in tpl["Resources"].items()
        if not r["Type"].startswith("AWS::ApplicationAutoScaling::")
    }
    of_type(tpl, "AWS::ECS::Service")[0]["Properties"]["DesiredCount"] = 3
    est = estimate("ContainerService", tpl, zero_profile(), BOOK)
    # 3 tasks x 0.5 vCPU x 730 h x $0.03238 = $35.46.
    assert fixed_meter(est, "fargate.vcpu_hour.arm64") == pytest.approx(35.46, abs=0.005)


def test_fargate_spot_capacity_is_cheaper_than_on_demand(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    of_type(tpl, "AWS::ECS::TaskDefinition")[0]["Properties"]["RuntimePlatform"] = {
        "CpuArchitecture": "X86_64"
    }
    on_demand = estimate("ContainerService", tpl, zero_profile(), BOOK)
    of_type(tpl, "AWS::ECS::Service")[0]["Properties"]["CapacityProviderStrategy"] = [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
    ]
    spot = estimate("ContainerService", tpl, zero_profile(), BOOK)
    # On-demand x86: 730 vCPU-h x $0.04048 = $29.55; Spot (the stated assumption, 30% of
    # on-demand: $0.012144): 730 x $0.012144 = $8.87.
    assert fixed_meter(on_demand, "fargate.vcpu_hour.x86_64") == pytest.approx(29.55, abs=0.005)
    assert fixed_meter(spot, "fargate_spot.vcpu_hour") == pytest.approx(8.87, abs=0.005)
    assert spot.fixed < on_demand.fixed


def test_nat_gateways_add_their_hours(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ContainerService"))
    before = estimate("ContainerService", tpl, zero_profile(), BOOK)
    for az in (1, 2):
        tpl["Resources"][f"Nat{az}"] = {"Type": "AWS::EC2::NatGateway", "Properties": {}}
        tpl["Resources"][f"Eip{az}"] = {"Type": "AWS::EC2::EIP", "Properties": {}}
    after = estimate("ContainerService", tpl, zero_profile(), BOOK)
    # 2 NAT gateways x 730 h x $0.045 = $65.70, + 2 Elastic IPs x 730 h x $0.005 = $7.30.
    assert after.fixed - before.fixed == pytest.approx(65.70 + 7.30, abs=0.01)


def test_request_load_scales_tasks_by_the_request_count_target(synth: Synth) -> None:
    tpl = synth.template_json("ContainerService")
    profile = zero_profile()
    # 219 M requests a month = 5,000 a minute; the target is 1,000 per task: 5 tasks, 3 above
    # the minimum of 2, so the usage line is 3 x 0.5 vCPU x 730 h x $0.03238 = $35.46.
    profile["requests_per_month"] = 5000 * 730 * 60
    est = estimate("ContainerService", tpl, profile, BOOK)
    scaled = sum(
        line.usd
        for line in est.lines
        if line.kind == "usage" and line.meter == "fargate.vcpu_hour.arm64"
    )
    assert scaled == pytest.approx(35.46, abs=0.005)


def test_serverless_api_memory_change_doubles_compute(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    medium = load_profile("medium")
    before = estimate("ServerlessApi", tpl, medium, BOOK, free_tier=False)
    for fn in of_type(tpl, "AWS::Lambda::Function"):
        fn["Properties"]["MemorySize"] *= 2
    after = estimate("ServerlessApi", tpl, medium, BOOK, free_tier=False)

    def compute(est: Estimate) -> float:
        return sum(line.usd for line in est.lines if line.meter.startswith("lambda.gb_second"))

    # 10 M requests x 0.1 s x 0.25 GB = 250 k GB-s x $0.0000133334 (arm64) = $3.33.
    assert compute(before) == pytest.approx(3.33, abs=0.005)
    assert compute(after) == pytest.approx(2 * compute(before))


def test_serverless_api_on_x86_costs_more(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("ServerlessApi"))
    medium = load_profile("medium")
    arm = estimate("ServerlessApi", tpl, medium, BOOK, free_tier=False)
    for fn in of_type(tpl, "AWS::Lambda::Function"):
        fn["Properties"]["Architectures"] = ["x86_64"]
    x86 = estimate("ServerlessApi", tpl, medium, BOOK, free_tier=False)
    assert x86.total > arm.total


def test_lightsail_bundle_costs_its_list_price(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("LightsailSite"))
    est = estimate("LightsailSite", tpl, zero_profile(), BOOK)
    instance = [line for line in est.lines if line.meter.startswith("lightsail.instance.")]
    # micro_3_0 lists at $7.00 a month; small_3_0 at $12.00.
    assert [(line.meter, line.usd) for line in instance] == [("lightsail.instance.micro_3_0", 7.0)]
    of_type(tpl, "AWS::Lightsail::Instance")[0]["Properties"]["BundleId"] = "small_3_0"
    bigger = estimate("LightsailSite", tpl, zero_profile(), BOOK)
    assert fixed_meter(bigger, "lightsail.instance.") == 12.0


def test_lightsail_transfer_within_the_allowance_is_free(synth: Synth) -> None:
    tpl = synth.template_json("LightsailSite")
    profile = zero_profile()
    profile.update(requests_per_month=100e6, payload_kb=10)  # 954 GiB < micro's 2,048 GB
    assert not [
        line for line in estimate("LightsailSite", tpl, profile, BOOK).lines if line.kind == "usage"
    ]
    # 100 M x 30 KiB = 3e9 KiB / 2^20 = 2,861.02 GiB: 813.02 over x $0.09 = $73.17.
    profile["payload_kb"] = 30
    over = estimate("LightsailSite", tpl, profile, BOOK)
    assert over.subtotal("usage") == pytest.approx(73.17, abs=0.005)


def test_batch_work_runs_on_the_queues_first_environment(synth: Synth) -> None:
    tpl = synth.template_json("BatchJobs")
    profile = zero_profile()
    profile["batch_vcpu_hours"] = 100
    est = estimate("BatchJobs", tpl, profile, BOOK)
    spot = sum(line.usd for line in est.lines if line.meter.startswith("fargate_spot"))
    # Spot is the stated assumption (30% of x86 on-demand): 100 vCPU-h x $0.012144 + 100 x 2 GB
    # x $0.0013335 = $1.2144 + $0.2667 = $1.48.
    assert spot == pytest.approx(1.48, abs=0.005)
    assert not [line for line in est.lines if line.meter.startswith("fargate.")]


def test_doc_cost_sections_are_current(synth: Synth) -> None:
    templates = from_assembly(synth.outdir, list(SELECTED))
    for stack, section in doc_sections(templates, BOOK).items():
        text = doc_path(stack).read_text()
        assert text.count(BEGIN) == 1
        assert text.count(END) == 1
        assert section in text, f"{doc_path(stack)} cost section is stale: run `make cost-chart`"


def test_lightsail_optional_pieces_cost_their_bundles(synth: Synth) -> None:
    tpl = copy.deepcopy(synth.template_json("LightsailSite"))
    before = estimate("LightsailSite", tpl, zero_profile(), BOOK)
    tpl["Resources"].update(
        Db={
            "Type": "AWS::Lightsail::Database",
            "Properties": {"RelationalDatabaseBundleId": "micro_2_0"},
        },
        Lb={"Type": "AWS::Lightsail::LoadBalancer", "Properties": {}},
        Media={"Type": "AWS::Lightsail::Bucket", "Properties": {"BundleId": "small_1_0"}},
    )
    after = estimate("LightsailSite", tpl, zero_profile(), BOOK)
    # Database micro_2_0 $15 + load balancer $18 + bucket small_1_0 $1 = $34.
    assert after.fixed - before.fixed == pytest.approx(34.0)
