"""make cost-refresh against botocore's Stubber (never AWS), the CLI's errors, the chart target."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from cost import chart, cli, refresh
from cost.prices import PRICES_DIR, load_price_book
from cost.profile import load_profile
from cost.templates import from_assembly
from tests.support import SELECTED, Synth


def product(usd: str, begin: str = "0") -> str:
    """One Price List entry in the shape get_products returns (a JSON string per product)."""
    return json.dumps(
        {
            "product": {"attributes": {}},
            "terms": {
                "OnDemand": {
                    "T1": {
                        "priceDimensions": {
                            "D1": {"beginRange": begin, "pricePerUnit": {"USD": usd}}
                        }
                    }
                }
            },
        }
    )


@pytest.fixture
def prices_copy(tmp_path: Path) -> Path:
    shutil.copy(PRICES_DIR / "us-east-1.json", tmp_path / "us-east-1.json")
    return tmp_path


def test_refresh_updates_queried_prices_from_the_price_list_api(
    prices_copy: Path, aws_credentials: None
) -> None:
    client = boto3.client("pricing", region_name="us-east-1")
    stubber = Stubber(client)
    for meter, (service, fields) in refresh.QUERIES.items():
        filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"}]
        filters += [
            {"Type": "TERM_MATCH", "Field": k, "Value": v.format(p="USE1")}
            for k, v in fields.items()
        ]
        # A later tier first, to check the first tier (beginRange 0) is the one taken.
        answer = [product("0.0000010000", begin="6000000000"), product("0.0000180000")]
        if meter == "alb.hour":
            answer = []  # the API does not know it: the price is kept and reported
        stubber.add_response(
            "get_products",
            {"PriceList": answer, "FormatVersion": "aws_v1"},
            {"ServiceCode": service, "Filters": filters, "MaxResults": 10},
        )
    with stubber:
        assert refresh.main(["--region", "us-east-1"], client=client, prices_dir=prices_copy) == 0
    stubber.assert_no_pending_responses()
    doc = json.loads((prices_copy / "us-east-1.json").read_text())
    lam = doc["prices"]["lambda.gb_second.x86_64"]
    assert lam["usd"] == 0.000018
    assert lam["refreshed"] == "AWS Price List Query API"
    # Fargate Spot was a stated assumption; a Price List answer is a published rate.
    assert doc["prices"]["fargate_spot.vcpu_hour"]["usd"] == 0.000018
    assert "assumption" not in doc["prices"]["fargate_spot.vcpu_hour"]
    assert doc["prices"]["alb.hour"]["usd"] == 0.0225
    assert "refreshed" not in doc["prices"]["alb.hour"]
    # Tiered and hand-only prices are untouched.
    assert (
        doc["prices"]["apigw.rest.request"]
        == json.loads((PRICES_DIR / "us-east-1.json").read_text())["prices"]["apigw.rest.request"]
    )


def test_refresh_without_credentials_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    assert refresh.main([], prices_dir=tmp_path) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "no AWS credentials" in out


def test_first_tier_skips_zero_and_later_tiers() -> None:
    assert refresh.first_tier_usd([product("0.0000000000"), product("0.5")]) == 0.5
    assert refresh.first_tier_usd([product("0.2", begin="100")]) is None


def test_bad_profile_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"requests_per_month": 5, "request_per_month": 7}))
    assert cli.main(["--profile", str(mine), "--cdk-out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown field 'request_per_month'" in err


def test_negative_profile_value_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"requests_per_month": -1}))
    assert cli.main(["--profile", str(mine), "--cdk-out", str(tmp_path)]) == 2


def test_unknown_region_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--region", "mars-north-1"]) == 2
    assert "region='mars-north-1'" in capsys.readouterr().err


def test_a_users_profile_is_laid_over_medium(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"requests_per_month": 42}))
    profile = load_profile(str(mine))
    assert profile["requests_per_month"] == 42
    assert profile["payload_kb"] == load_profile("medium")["payload_kb"]


def test_cli_json_prices_one_stack(synth: Synth, capsys: pytest.CaptureFixture[str]) -> None:
    if "ServerlessApi" not in SELECTED:
        pytest.skip("ServerlessApi not selected")
    args = ["--cdk-out", str(synth.outdir), "--stack", "ServerlessApi", "--profile", "medium"]
    assert cli.main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (est,) = doc["estimates"]
    assert (est["stack"], est["profile"]) == ("ServerlessApi", "medium")
    lines = est["lines"]
    assert est["total_usd"] == pytest.approx(sum(line["usd"] for line in lines), abs=0.01)
    assert {line["kind"] for line in lines} == {"fixed", "usage", "free tier"}


def test_chart_target_writes_both_pngs(synth: Synth, tmp_path: Path) -> None:
    wanted = ["ServerlessApi", "ContainerService", "LightsailSite", "BatchJobs"]
    if not set(wanted) <= set(SELECTED):
        pytest.skip("the charts need the three web stacks and BatchJobs")
    report = chart.write_charts(from_assembly(synth.outdir, wanted), tmp_path)
    for name in ("cost-web.png", "cost-batch.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(line.startswith("web: ServerlessApi is cheaper below") for line in report)
    assert any(line.startswith("batch: Lambda") for line in report)


def test_crossover_is_interpolated_on_the_log_axis() -> None:
    xs = [1.0, 10.0, 100.0]
    # a is below b at x=10 and above it at x=100.
    curves = {"a": [1.0, 4.0, 10.0], "b": [3.0, 6.0, 8.0]}
    ((low, high, x),) = chart.crossovers(xs, curves)
    # At 10: a-b = -2; at 100: +2; halfway in log10 is 10**1.5 = 31.6.
    assert (low, high) == ("a", "b")
    assert x == pytest.approx(10**1.5)


def test_lightsail_plan_sizes_up_for_the_peak() -> None:
    # 1 M requests a month at a 3x peak = 1.14 requests/s: nano (2/s) carries it.
    assert chart.lightsail_plan(1e6, 3) == ("nano_3_0", 1)
    # 10 M: 11.4 requests/s at peak: medium (20/s).
    assert chart.lightsail_plan(10e6, 3) == ("medium_3_0", 1)
    # 1 B: 1,142 requests/s at peak: four 4xlarge at 320/s each.
    assert chart.lightsail_plan(1e9, 3) == ("4xlarge_3_0", 4)


def test_lambda_batch_equivalent_cost() -> None:
    book = load_price_book("us-east-1")
    # 1,000 vCPU-h at 1,769 MB: 3.6 M s x 1.7275 GB = 6,219,141 GB-s; - 400 k free
    # = 5,819,141 x $0.0000166667 = $96.99; runs 4,000 are within the 1 M free requests.
    assert chart.lambda_batch(1000, book) == pytest.approx(96.99, abs=0.01)
