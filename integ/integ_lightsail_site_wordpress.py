"""LightsailSite with its default WordPress blueprint: the instance's HTTP port, at its static
IP, answers 200 once the blueprint has booted (retried for up to twenty minutes). Not run
locally: no local mode boots a Lightsail image."""

from __future__ import annotations

from aws_cdk import App, Duration

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.lightsail_site import LightsailSite, LightsailSiteStack


def build(outdir: str | None = None) -> App:
    app = integ_app(outdir)
    stack = LightsailSiteStack(app, "IntegLightsailSite")
    site = stack.node.find_child("Site")
    assert isinstance(site, LightsailSite)
    checker = SmokeChecker(stack, "Smoke")  # calls nothing in AWS: only the public address
    test = integ_test(app, "LightsailSite", stack)
    expect_passed(
        test,
        checker,
        {"check": "reachable", "url": f"http://{site.ip_address}/"},
        wait=Duration.minutes(20),
        interval=Duration.seconds(30),
    )
    return app


if __name__ == "__main__":
    build().synth()
