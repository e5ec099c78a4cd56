"""Scheduled handler: export a DynamoDB table to S3 as gzip-compressed JSON Lines.

Invoked by EventBridge Scheduler with ``{"scheduled_time": "<aws.scheduler.scheduled-time>",
...}``; a manual run (backfill, re-run) sends the same shape. The output location is a function
of the scheduled time alone, so every retry or re-run of one time overwrites one export.

Configuration comes from the environment the construct sets: ``TABLE_NAME``, ``BUCKET_NAME``,
``EXPORT_PREFIX``, ``RECORDS_PER_PART``, ``SCAN_PAGE_SIZE`` (0 = DynamoDB's 1 MB pages),
``CONSISTENT_READ``, ``LOCK_TTL_SECONDS``, and Powertools' own variables.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import clients, export
from .export import InvalidInput, LockHeld
from .tracing import create_tracer

logger = Logger()
# The X-Ray SDK only when tracing is on, patching only botocore: the one library called here.
tracer = create_tracer(patch_modules=("botocore",))
metrics = Metrics()

TABLE_NAME = os.environ["TABLE_NAME"]
BUCKET_NAME = os.environ["BUCKET_NAME"]
EXPORT_PREFIX = os.environ.get("EXPORT_PREFIX", "exports/")
RECORDS_PER_PART = int(os.environ.get("RECORDS_PER_PART", "100000"))
SCAN_PAGE_SIZE = int(os.environ.get("SCAN_PAGE_SIZE", "0")) or None
CONSISTENT_READ = os.environ.get("CONSISTENT_READ", "false").lower() == "true"
LOCK_TTL_SECONDS = int(os.environ.get("LOCK_TTL_SECONDS", "960"))

# One session for both clients, so they share one model loader and one endpoint resolver.
_aws = clients.session("dynamodb", "s3")
dynamodb = _aws.client("dynamodb")
s3 = _aws.client("s3")


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        scheduled = export.parse_scheduled_time(event)
    except InvalidInput:
        # Raised, not swallowed: the failed invocation lands in the dead-letter queue with this
        # message, and nothing has been written yet.
        metrics.add_metric(name="InvalidInput", unit=MetricUnit.Count, value=1)
        logger.exception("rejected the event before writing anything")
        raise
    logger.append_keys(scheduled_time=scheduled.isoformat(), table=TABLE_NAME)
    try:
        result = export.export_table(
            dynamodb=dynamodb,
            s3=s3,
            table_name=TABLE_NAME,
            bucket=BUCKET_NAME,
            prefix=EXPORT_PREFIX,
            scheduled=scheduled,
            owner=context.aws_request_id,
            records_per_part=RECORDS_PER_PART,
            page_size=SCAN_PAGE_SIZE,
            consistent_read=CONSISTENT_READ,
            lock_ttl_seconds=LOCK_TTL_SECONDS,
        )
    except LockHeld:
        metrics.add_metric(name="LockHeld", unit=MetricUnit.Count, value=1)
        logger.exception("another run holds the lock; failing so that Lambda retries later")
        raise
    metrics.add_metric(name="ExportSucceeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RecordsExported", unit=MetricUnit.Count, value=result.records)
    logger.info("export complete", extra={"records": result.records, "parts": len(result.parts)})
    return {
        "status": "exported",
        "scheduled_time": scheduled.isoformat().replace("+00:00", "Z"),
        "location": f"s3://{BUCKET_NAME}/{result.run_prefix}",
        "records": result.records,
        "parts": len(result.parts),
    }
