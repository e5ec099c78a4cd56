"""What one integ run costs, from the cost model (``python -m cost``) over the integ stack's
snapshot: the stack's fixed monthly floor, prorated to the minutes the run keeps it deployed.

The minutes are estimates (an assumption, not a measurement: no run was timed here), for
deploy + assertions + destroy in one region: CloudFormation's usual times for what each stack
creates (a VPC with endpoints and an ALB whose targets must turn healthy, a Batch compute
environment, a Lightsail instance booting its blueprint), plus the assertion's own wait. The
few requests, objects and job-seconds a run uses are left out: fractions of a cent.
"""

from __future__ import annotations

from pathlib import Path

from cost.model import estimate
from cost.prices import load_price_book
from cost.profile import zero_profile
from cost.templates import from_assembly
from integ.snapshots import files_of, snapshot_dir

HOURS_PER_MONTH = 730  # the cost model's month
RUN_MINUTES = {
    "integ_batch_jobs_ec2": 30,
    "integ_batch_jobs_fargate": 20,
    "integ_container_service_fargate": 25,
    "integ_container_service_fargate_spot": 25,
    "integ_lightsail_site_wordpress": 20,
    "integ_scheduled_job_export": 5,
    "integ_serverless_api_api_key": 6,
    "integ_serverless_api_cognito": 6,
    "integ_thumbnails_pipeline": 8,
    "integ_websocket_api_cognito": 6,
    "integ_websocket_api_token": 6,
}


def run_cost(integ_file: Path, region: str = "us-east-1") -> tuple[float, int, float]:
    """(fixed USD per month of the integ stack, minutes of a run, USD of one run)."""
    snapshot = snapshot_dir(integ_file)
    stacks = [p.name.removesuffix(".template.json") for p in snapshot.glob("Integ*.template.json")]
    templates = from_assembly(snapshot, stacks)
    book = load_price_book(region)
    fixed = sum(estimate(s, t, zero_profile(), book).fixed for s, t in templates.items())
    minutes = RUN_MINUTES[integ_file.stem]
    return fixed, minutes, fixed * minutes / 60 / HOURS_PER_MONTH


def table(stack: str | None = None) -> str:
    """The Markdown rows the pattern docs quote (``python -m integ cost --stack <name>``)."""
    rows = [
        "| integ app | fixed floor while deployed | one run (deploy, assert, destroy) "
        "| cost of a run |",
        "| --- | --- | --- | --- |",
    ]
    for integ_file in files_of(stack):
        fixed, minutes, usd = run_cost(integ_file)
        rows.append(
            f"| `integ/{integ_file.name}` | ${fixed:,.2f}/month | about {minutes} min (estimate) "
            f"| ${usd:.3f} |"
        )
    return "\n".join(rows)


def write_docs(docs_dir: Path) -> list[Path]:
    """Replace each pattern doc's integ cost table (its Integration test section) with the
    current one, after a price, template or duration change (``python -m integ cost
    --write-docs``)."""
    from stacks.app import STACKS

    written = []
    for stack, cls in STACKS.items():
        doc = docs_dir / f"{cls.__module__.rsplit('.', 1)[-1]}.md"
        lines = doc.read_text().splitlines(keepends=True)
        header = table(stack).splitlines()[0]
        start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == header)
        end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
        lines[start:end] = [row + "\n" for row in table(stack).splitlines()]
        doc.write_text("".join(lines))
        written.append(doc)
    return written
