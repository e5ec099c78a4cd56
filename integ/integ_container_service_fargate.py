"""ContainerService on Fargate (the stack's default): through the internet-facing load
balancer's URL, the web app's health path answers 200, ``/version`` names the deployed version
and an unknown path is a 404. Retried for up to ten minutes: the targets must pass the ALB's
health checks first."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Duration

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.container_service import ContainerServiceStack, FargateWebService

# The test reaches the load balancer from a Lambda outside the VPC, over a public plain-HTTP
# listener: a test account has no domain to hold a certificate, and the stack lives only for the
# run. The construct refuses an internet-facing listener without a certificate unless asked, so
# the variant asks (the demo setting, never a production one).
CONTEXT: dict[str, Any] = {
    "min_capacity": 1,
    "max_capacity": 2,
    "internet_facing": True,
    "allow_plain_http": True,
}


def build_variant(outdir: str | None, capacity: str, stack_name: str, test_name: str) -> App:
    app = integ_app(outdir, {**CONTEXT, "capacity": capacity})
    stack = ContainerServiceStack(app, stack_name)
    service = stack.node.find_child("Web")
    assert isinstance(service, FargateWebService)
    checker = SmokeChecker(stack, "Smoke")  # calls nothing in AWS: only the public URL
    test = integ_test(app, test_name, stack)
    expect_passed(
        test,
        checker,
        {"check": "web", "url": service.url, "health_path": "/health"},
        wait=Duration.minutes(10),
        interval=Duration.seconds(30),
    )
    return app


def build(outdir: str | None = None) -> App:
    return build_variant(
        outdir, "fargate", "IntegContainerServiceFargate", "ContainerServiceFargate"
    )


if __name__ == "__main__":
    build().synth()
