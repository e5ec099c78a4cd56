"""ContainerService on Fargate Spot above an on-demand base (``capacity=fargate_spot``): the
same checks as the Fargate variant, through the load balancer's URL."""

from __future__ import annotations

from aws_cdk import App

from integ.integ_container_service_fargate import build_variant


def build(outdir: str | None = None) -> App:
    return build_variant(
        outdir, "fargate_spot", "IntegContainerServiceFargateSpot", "ContainerServiceFargateSpot"
    )


if __name__ == "__main__":
    build().synth()
