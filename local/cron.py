"""``python -m local cron --items N --out <folder>``: the ScheduledJob's nightly export, run once.

The table is created from the template and seeded with ``N`` generated items shaped by its key
schema; the function gets the input the schedule sends (``Target.Input``, with the scheduler's
placeholders filled for "now"), its bucket is a moto bucket, and the export it writes is copied
into the folder, under the same keys as in S3.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from .runtime import load_function, moto_server, parser, run_once, say
from .s3util import create_buckets, download
from .template import ACCOUNT, REGION, ROOT, Template, create_table

STACK = "ScheduledJob"


def generate_items(
    key_schema: list[dict[str, str]], count: int, seed: int = 7
) -> list[dict[str, Any]]:
    """``count`` items with the table's keys and a mix of attribute types, the same for a seed."""
    rng = random.Random(seed)  # noqa: S311 - test data, reproducible by design
    items = []
    for i in range(count):
        item: dict[str, Any] = {
            "name": f"item {i}",
            "quantity": rng.randint(0, 10_000),
            "active": rng.random() < 0.5,
            "tags": sorted({rng.choice(["red", "green", "blue", "new", "sale"]) for _ in range(3)}),
            "dimensions": {"w": rng.randint(1, 100), "h": rng.randint(1, 100)},
        }
        # With a sort key, ten items share each partition, as tenants' items would.
        partition = i // 10 if len(key_schema) > 1 else i
        for position, key in enumerate(key_schema):
            name = key["AttributeName"]
            item[name] = f"tenant#{partition:06d}" if position == 0 else f"item#{i:06d}"
        items.append(item)
    return items


def schedule_input(template: Template, function_id: str) -> dict[str, Any]:
    """The schedule's input for this function, its placeholders filled as for a run now."""
    for logical_id, resource in template.of_type("AWS::Scheduler::Schedule"):
        target = resource["Properties"].get("Target", {})
        if f'"{function_id}"' in json.dumps(target.get("Arn")):
            text = str(target.get("Input", "{}"))
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for placeholder, value in {
                "<aws.scheduler.scheduled-time>": now,
                "<aws.scheduler.attempt-number>": "0",
                "<aws.scheduler.execution-id>": str(uuid.uuid4()),
                "<aws.scheduler.schedule-arn>": (
                    f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{logical_id}"
                ),
            }.items():
                text = text.replace(placeholder, value)
            return dict(json.loads(text))
    return {}


def main(argv: list[str] | None = None) -> int:
    args = parser("cron", __doc__.split("\n")[0], None)
    args.add_argument("--items", type=int, default=100, help="items to seed (default 100)")
    args.add_argument("--out", type=Path, default=ROOT / "local-out" / "cron", help="export folder")
    options = args.parse_args(argv)
    if options.items < 0:
        args.error(f"--items must be 0 or more, got {options.items}")
    return run_once(
        lambda: export(Template.load(options.cdk_out, STACK), options.items, options.out)
    )


def export(template: Template, count: int, out: Path) -> int:
    with moto_server() as endpoint:
        s3 = boto3.client("s3")
        create_buckets(template, s3)
        function_id = template.logical_id_in(
            template.one("AWS::Scheduler::Schedule")[1]["Properties"]["Target"]["Arn"],
            "AWS::Lambda::Function",
        )
        env = template.props(function_id)["Environment"]["Variables"]
        table_id = template.logical_id_in(env, "AWS::DynamoDB::Table")
        table_props = template.props(table_id)
        template.names[table_id] = f"local-{table_id}"
        create_table(boto3.client("dynamodb"), table_props, f"local-{table_id}")
        table = boto3.resource("dynamodb").Table(f"local-{table_id}")
        with table.batch_writer() as batch:
            for item in generate_items(table_props["KeySchema"], count):
                batch.put_item(Item=item)
        say(f"seeded {count} items into {table.name} (moto at {endpoint})")
        function = load_function(template, function_id)
        event = schedule_input(template, function_id)
        say(f"invoking {function_id} with {json.dumps(event)}")
        result = function(event)
        say(f"result: {json.dumps(result, default=str)}")
        bucket_id = template.logical_id_in(env, "AWS::S3::Bucket")
        prefix = template.environment(function_id).get("EXPORT_PREFIX", "")
        files = download(s3, template.names[bucket_id], prefix, out)
        say(f"export files ({len(files)}) in {out}:")
        for path in files:
            say(f"  {path}")
    return 0
