"""BatchJobs on EC2 (``compute=ec2``, Spot first with on-demand fallback): the same array job
and output checks as the Fargate variant; the wait is longer since instances start first."""

from __future__ import annotations

from aws_cdk import App

from integ.integ_batch_jobs_fargate import build_variant


def build(outdir: str | None = None) -> App:
    return build_variant(outdir, "ec2", "IntegBatchJobsEc2", "BatchJobsEc2")


if __name__ == "__main__":
    build().synth()
