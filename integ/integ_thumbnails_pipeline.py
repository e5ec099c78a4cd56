"""Thumbnails: the checker puts a generated 1200x800 PNG under the source prefix, and the
assertion waits until every configured width's thumbnail is in the destination bucket at its
width and the source's aspect ratio (S3 notification, container-image Lambda, Pillow)."""

from __future__ import annotations

from aws_cdk import App, Duration

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.thumbnails import ThumbnailPipeline, ThumbnailsStack

SOURCE_PREFIX, DESTINATION_PREFIX, WIDTHS = "uploads/", "thumbnails/", "160,640"
SAMPLE_KEY = f"{SOURCE_PREFIX}smoke/sample.png"  # what smoke.app.thumbnails uploads


def build(outdir: str | None = None) -> App:
    app = integ_app(
        outdir,
        {
            "source_prefix": SOURCE_PREFIX,
            "destination_prefix": DESTINATION_PREFIX,
            "widths": WIDTHS,
        },
    )
    stack = ThumbnailsStack(app, "IntegThumbnails")
    pipeline = stack.node.find_child("Thumbnails")
    assert isinstance(pipeline, ThumbnailPipeline)
    checker = SmokeChecker(stack, "Smoke")
    # ListBucket so that a thumbnail not written yet is a 404, not a 403.
    checker.allow(
        ["s3:ListBucket"],
        [pipeline.source_bucket.bucket_arn, pipeline.destination_bucket.bucket_arn],
    )
    checker.allow(
        ["s3:GetObject", "s3:PutObject"], [pipeline.source_bucket.arn_for_objects(SAMPLE_KEY)]
    )
    checker.allow(
        ["s3:GetObject"],
        [pipeline.destination_bucket.arn_for_objects(f"{DESTINATION_PREFIX}*")],
        "Reads the thumbnails of its own upload, one per width under the destination prefix, "
        "in the test's own bucket (destroyed with it).",
    )
    test = integ_test(app, "Thumbnails", stack)
    expect_passed(
        test,
        checker,
        {
            "check": "thumbnails",
            "source_bucket": pipeline.source_bucket.bucket_name,
            "destination_bucket": pipeline.destination_bucket.bucket_name,
            "source_prefix": SOURCE_PREFIX,
            "destination_prefix": DESTINATION_PREFIX,
            "widths": WIDTHS,
        },
        wait=Duration.minutes(5),
        interval=Duration.seconds(15),
    )
    return app


if __name__ == "__main__":
    build().synth()
