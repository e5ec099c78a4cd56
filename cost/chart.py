"""Charts from the model: which web option is cheapest at what load, and Batch against Lambda.

    python -m cost.chart [--out docs] [--cdk-out cdk.out]

Writes ``cost-web.png`` and ``cost-batch.png`` and prints where the curves cross. Each curve is
the model's estimate of the stack's own template with the request count swept, so a change to a
template moves its curve. Assumptions (printed on the charts too):
- One request load (the medium profile's 4 KB responses, 100 ms handlers), swept from 10
  thousand to 1 billion requests a month; users (Cognito) and stored data are left out because
  they do not depend on which option serves the requests.
- ContainerService scales on its own ``ALBRequestCountPerTarget`` target (requests per task per
  minute); its MaxCapacity is lifted so the curve shows the cost of serving the load.
- LightsailSite has no auto scaling: the bundle is sized by hand from ``LIGHTSAIL_CAPACITY``
  (sustained requests per second for an uncached dynamic page) at the profile's peak-to-average;
  past the largest bundle, more of them behind a Lightsail load balancer.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .model import LIGHTSAIL_CAPACITY, SECONDS, estimate
from .prices import CostError, PriceBook, load_price_book
from .profile import load_profile, zero_profile
from .templates import from_assembly, synthesize

# Lambda sized to one vCPU for batch work: 1,769 MB is where Lambda gives a full vCPU.
LAMBDA_ONE_VCPU_MB = 1769
LAMBDA_MAX_RUN_S = 900

Template = dict[str, Any]


def request_sweep(points: int = 81) -> list[float]:
    return [10 ** (4 + 5 * i / (points - 1)) for i in range(points)]


def web_profile(requests: float) -> dict[str, float]:
    profile = load_profile("medium")
    profile.update(
        requests_per_month=requests,
        monthly_active_users=0,
        table_gb_stored=0,
        kms_requests=0,
        secret_calls=0,
    )
    return profile


def lightsail_plan(requests: float, peak_to_average: float) -> tuple[str, int]:
    """The smallest bundle (and count) whose capacity carries the peak."""
    peak_rps = requests / SECONDS * peak_to_average
    for bundle, rps in LIGHTSAIL_CAPACITY.items():
        if peak_rps <= rps:
            return bundle, 1
    biggest = list(LIGHTSAIL_CAPACITY)[-1]
    return biggest, math.ceil(peak_rps / LIGHTSAIL_CAPACITY[biggest])


def lightsail_sized(template: Template, bundle: str, count: int) -> Template:
    """The site's template with its bundle set by hand (and N instances behind a balancer)."""
    sized = copy.deepcopy(template)
    resources = sized["Resources"]
    instances = [k for k, r in resources.items() if r["Type"] == "AWS::Lightsail::Instance"]
    for key in instances:
        resources[key]["Properties"]["BundleId"] = bundle
    for i in range(1, count):
        for key in instances:
            resources[f"{key}Copy{i}"] = copy.deepcopy(resources[key])
    if count > 1 and not any(
        r["Type"] == "AWS::Lightsail::LoadBalancer" for r in resources.values()
    ):
        resources["ChartLoadBalancer"] = {"Type": "AWS::Lightsail::LoadBalancer", "Properties": {}}
    return sized


def uncapped(template: Template) -> Template:
    lifted = copy.deepcopy(template)
    for res in lifted["Resources"].values():
        if res["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget":
            res["Properties"]["MaxCapacity"] = 10**9
    return lifted


def web_curves(templates: dict[str, Template], book: PriceBook) -> dict[str, list[float]]:
    xs = request_sweep()
    curves: dict[str, list[float]] = {}
    if "ServerlessApi" in templates:
        tpl = templates["ServerlessApi"]
        curves["ServerlessApi (API Gateway + Lambda + DynamoDB)"] = [
            estimate("ServerlessApi", tpl, web_profile(x), book).total for x in xs
        ]
    if "ContainerService" in templates:
        tpl = uncapped(templates["ContainerService"])
        curves["ContainerService (ALB + Fargate, scaled by its target)"] = [
            estimate("ContainerService", tpl, web_profile(x), book).total for x in xs
        ]
    if "LightsailSite" in templates:
        tpl = templates["LightsailSite"]
        values = []
        for x in xs:
            profile = web_profile(x)
            bundle, count = lightsail_plan(x, profile["peak_to_average"])
            values.append(
                estimate("LightsailSite", lightsail_sized(tpl, bundle, count), profile, book).total
            )
        curves["LightsailSite (bundle sized by hand)"] = values
    return curves


def crossovers(xs: Sequence[float], curves: dict[str, list[float]]) -> list[tuple[str, str, float]]:
    """(cheaper below, cheaper above, requests/month) wherever two curves swap order."""
    names = list(curves)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for k in range(1, len(xs)):
                before = curves[a][k - 1] - curves[b][k - 1]
                after = curves[a][k] - curves[b][k]
                if before == 0 or (before > 0) == (after > 0):
                    continue
                # Interpolate in log space between the two sampled loads.
                t = before / (before - after)
                x = 10 ** (math.log10(xs[k - 1]) + t * (math.log10(xs[k]) - math.log10(xs[k - 1])))
                low, high = (a, b) if before < 0 else (b, a)
                found.append((low, high, x))
    return sorted(found, key=lambda c: c[2])


def vcpu_sweep(points: int = 81) -> list[float]:
    return [10 ** (0 + 4 * i / (points - 1)) for i in range(points)]


def batch_curves(template: Template, book: PriceBook) -> dict[str, list[float]]:
    xs = vcpu_sweep()

    def batch(spot: bool) -> list[float]:
        tpl = copy.deepcopy(template)
        if not spot:  # the same queue with its on-demand environment first
            for res in tpl["Resources"].values():
                if res["Type"] == "AWS::Batch::ComputeEnvironment":
                    res["Properties"]["ComputeResources"]["Type"] = "FARGATE"
        out = []
        for x in xs:
            profile = zero_profile()
            profile["batch_vcpu_hours"] = x
            out.append(estimate("BatchJobs", tpl, profile, book).total)
        return out

    return {
        "BatchJobs on Fargate Spot (its template)": batch(True),
        "BatchJobs on Fargate on-demand": batch(False),
        f"Lambda, {LAMBDA_ONE_VCPU_MB} MB (1 vCPU) x86_64": [lambda_batch(x, book) for x in xs],
    }


def lambda_batch(vcpu_hours: float, book: PriceBook) -> float:
    """The same work as Lambda runs of at most 15 minutes, always-free allowances deducted."""
    gb_s = vcpu_hours * 3600 * LAMBDA_ONE_VCPU_MB / 1024
    runs = vcpu_hours * 3600 / LAMBDA_MAX_RUN_S
    compute = book["lambda.gb_second.x86_64"]
    requests = book["lambda.request"]
    return compute.charge(max(0.0, gb_s - compute.free_per_month)) + requests.charge(
        max(0.0, runs - requests.free_per_month)
    )


def _plot(
    path: Path,
    xs: Sequence[float],
    curves: dict[str, list[float]],
    *,
    title: str,
    xlabel: str,
    caption: str,
    fmt_x: Callable[[float], str],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6.2), dpi=110)
    floor = 1.0  # a log axis has no zero: within the free allowances is drawn at $1
    for name, ys in curves.items():
        ax.plot(xs, [max(y, floor) for y in ys], label=name, linewidth=2.2)
    top = max(max(ys) for ys in curves.values()) * 3
    ax.set_ylim(bottom=floor * 0.8, top=top)
    seen: set[tuple[str, str]] = set()
    for low, high, x in crossovers(xs, curves):
        pair = (min(low, high), max(low, high))
        ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        if pair in seen:
            continue  # later swaps of the same pair (bundle steps) get a line, not a label
        seen.add(pair)
        ax.annotate(
            f"{fmt_x(x)}: {high.split(' (')[0]} cheaper above",
            (x, top),
            rotation=90,
            fontsize=8,
            color="dimgrey",
            xytext=(-3, -4),
            textcoords="offset points",
            va="top",
            ha="right",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("USD per month (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.12)
    ax.legend(loc="lower right", fontsize=9)
    fig.text(0.01, 0.01, caption, fontsize=7.5, color="dimgrey", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def human(x: float) -> str:
    for size, suffix in ((1e9, " billion"), (1e6, " million"), (1e3, " thousand")):
        if x >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def write_charts(templates: dict[str, Template], out: Path, region: str = "us-east-1") -> list[str]:
    book = load_price_book(region)
    out.mkdir(parents=True, exist_ok=True)
    report: list[str] = []
    xs = request_sweep()
    web = web_curves(templates, book)
    if web:
        _plot(
            out / "cost-web.png",
            xs,
            web,
            title=f"The same web load on three stacks ({region} list prices, from the templates)",
            xlabel="requests per month (log scale)",
            caption=(
                "Medium profile per request (4 KB responses, 100 ms handlers, logs); users and "
                "stored data left out. Fargate: tasks = ceil(requests/minute / the template's "
                "request-count target), min from the template, max lifted. Lightsail: smallest "
                "bundle whose assumed capacity (cost/chart.py LIGHTSAIL_CAPACITY) carries a 3x "
                "peak; past 4xlarge, several behind a load balancer. Dotted: crossovers."
            ),
            fmt_x=lambda x: f"{human(x)}/month",
        )
        for low, high, x in crossovers(xs, web):
            report.append(
                f"web: {low.split(' (')[0]} is cheaper below {human(x)} requests/month, "
                f"{high.split(' (')[0]} above"
            )
    if "BatchJobs" in templates:
        bxs = vcpu_sweep()
        batch = batch_curves(templates["BatchJobs"], book)
        _plot(
            out / "cost-batch.png",
            bxs,
            batch,
            title=f"Batch on Fargate Spot against Lambda for the same work ({region})",
            xlabel="vCPU-hours of work per month (log scale; BatchJobs' job: 1 vCPU, 2 GB)",
            caption=(
                "Batch includes its fixed floor (interface VPC endpoints, KMS key) and runs on "
                "the queue's first compute environment. Lambda: the same vCPU-hours at 1,769 MB "
                "(one vCPU), runs of at most 15 minutes, always-free allowances deducted; no VPC. "
                "Spot prices move; the figure is a recent one. Costs under $1 are drawn at $1."
            ),
            fmt_x=lambda x: f"{x:.3g} vCPU-h",
        )
        for low, high, x in crossovers(bxs, batch):
            report.append(f"batch: {low} is cheaper below {x:.3g} vCPU-hours/month, {high} above")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cost.chart", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    parser.add_argument("--cdk-out", type=Path, help="read templates from this cloud assembly")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    wanted = ["ServerlessApi", "ContainerService", "LightsailSite", "BatchJobs"]
    try:
        templates = from_assembly(args.cdk_out, wanted) if args.cdk_out else synthesize(wanted)
        for line in write_charts(templates, args.out, args.region):
            print(line)
    except CostError as err:
        print(f"cost.chart: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out / 'cost-web.png'} and {args.out / 'cost-batch.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
