"""ScheduledJob's nightly table export: the checker seeds the table, invokes the export
function with the input the schedule sends (a scheduled time of now), and reads the export back
from the bucket: its manifest and its parts hold every seeded item."""

from __future__ import annotations

from aws_cdk import App

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.scheduled_job import ScheduledJobStack, TableExportJob

EXPORT_PREFIX = "exports/"


def build(outdir: str | None = None) -> App:
    app = integ_app(outdir, {"export_prefix": EXPORT_PREFIX})
    stack = ScheduledJobStack(app, "IntegScheduledJobExport")
    job = stack.node.find_child("Export")
    assert isinstance(job, TableExportJob)
    checker = SmokeChecker(stack, "Smoke")
    checker.allow(["dynamodb:DescribeTable", "dynamodb:BatchWriteItem"], [job.table.table_arn])
    checker.allow(["lambda:InvokeFunction"], [job.function.function_arn])
    checker.allow(["s3:ListBucket"], [job.bucket.bucket_arn])
    checker.allow(
        ["s3:GetObject"],
        [job.bucket.arn_for_objects(f"{EXPORT_PREFIX}*")],
        "Reads back the export it asked for; its key holds the run's date and time, so the "
        "checker may read the export prefix (the test's own bucket, destroyed with it).",
    )
    test = integ_test(app, "ScheduledJobExport", stack)
    expect_passed(
        test,
        checker,
        {
            "check": "export",
            "table": job.table.table_name,
            "function": job.function.function_name,
            "bucket": job.bucket.bucket_name,
        },
    )
    return app


if __name__ == "__main__":
    build().synth()
