"""BatchJobs on Fargate (Spot first, on-demand fallback; the stack's default): the checker
uploads a five-compound CSV and submits it as a two-shard array job; the assertion waits until
the job succeeded and its output holds every good compound in the results and the bad one in
the rejects, once each."""

from __future__ import annotations

from aws_cdk import App, Duration

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.batch_jobs import BatchJobQueue, BatchJobsStack


def build_variant(outdir: str | None, compute: str, stack_name: str, test_name: str) -> App:
    app = integ_app(outdir, {"compute": compute})
    stack = BatchJobsStack(app, stack_name)
    queue = stack.node.find_child("Compounds")
    assert isinstance(queue, BatchJobQueue)
    checker = SmokeChecker(stack, "Smoke")
    checker.allow(
        ["batch:SubmitJob"],
        [queue.job_queue.job_queue_arn, queue.job_definition.job_definition_arn],
    )
    checker.allow(
        ["batch:ListJobs"],
        ["*"],
        "batch:ListJobs supports no resource-level permissions (the Service Authorization "
        "Reference lists no resource type for it); the checker lists its own queue's jobs.",
    )
    checker.allow(["s3:ListBucket"], [queue.bucket.bucket_arn])
    checker.allow(["s3:PutObject"], [queue.bucket.arn_for_objects("input/smoke.csv")])
    checker.allow(
        ["s3:GetObject"],
        [queue.bucket.arn_for_objects("output/smoke/*")],
        "Reads the output of the job it submitted: one part, rejects and summary file per "
        "shard under output/smoke/, in the test's own bucket (destroyed with it).",
    )
    test = integ_test(app, test_name, stack)
    expect_passed(
        test,
        checker,
        {
            "check": "batch",
            "bucket": queue.bucket.bucket_name,
            "job_queue": queue.job_queue.job_queue_arn,
            "job_definition": queue.job_definition.job_definition_arn,
        },
        wait=Duration.minutes(30),
        interval=Duration.seconds(30),
    )
    return app


def build(outdir: str | None = None) -> App:
    return build_variant(outdir, "fargate", "IntegBatchJobsFargate", "BatchJobsFargate")


if __name__ == "__main__":
    build().synth()
