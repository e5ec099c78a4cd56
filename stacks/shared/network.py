"""Networking: the flow-logged VPC (``flow_logged_vpc``), its S3 gateway endpoint and
interface endpoints (``add_vpc_endpoints``, with ``CONTAINER_ENDPOINTS`` and
``ECS_AGENT_ENDPOINTS``), and a stack's availability zones without an account lookup
(``stack_zones``)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import ContextConfig
from .exceptions import exempt_cdk_provider, exempt_log_group


def stack_zones(stack: Stack, config: ContextConfig, key: str = "availability_zones") -> list[str]:
    """A stack's availability zones without an account lookup. A stack pinned to an account and
    region otherwise asks the account for its zones at synth (AWS credentials needed); this
    returns the zones context ``key`` names, else the first two the region offers, resolved
    by CloudFormation (``Fn::GetAZs``) as for an environment-agnostic stack. A stack overrides
    its ``availability_zones`` property with it."""
    zones = config.get_zones(key, stack.region)
    return zones or [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]


# Interface endpoints a task or job in a subnet without NAT needs to pull its image from ECR and
# to write its logs (image layers come from S3, through the gateway endpoint).
CONTAINER_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}


# What an EC2 container instance's ECS agent needs, on top, to register with its cluster.
ECS_AGENT_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
}


def flow_logged_vpc(
    scope: Construct,
    id: str,
    *,
    cidr: str,
    subnet_configuration: list[ec2.SubnetConfiguration],
    nat_gateways: int,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> ec2.Vpc:
    """A 2-AZ VPC whose flow logs (all traffic) go to a CloudWatch log group, ``FlowLogs``,
    kept for ``log_retention``. Each NAT gateway costs about $33/month plus $0.045/GB."""
    flow_logs = logs.LogGroup(
        scope, "FlowLogs", retention=log_retention, removal_policy=removal_policy
    )
    exempt_log_group(flow_logs, holds="VPC flow log records (addresses, ports, bytes)")
    vpc = ec2.Vpc(
        scope,
        id,
        ip_addresses=ec2.IpAddresses.cidr(cidr),
        max_azs=2,
        nat_gateways=nat_gateways,
        subnet_configuration=subnet_configuration,
        flow_logs={
            "All": ec2.FlowLogOptions(
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
        },
    )
    exempt_cdk_provider(
        scope,
        "Custom::VpcRestrictDefaultSGCustomResourceProvider",
        "removes every rule from the VPC's default security group at deploy",
    )
    return vpc


def add_vpc_endpoints(
    scope: Construct,
    vpc: ec2.Vpc,
    *,
    cidr: str,
    services: Mapping[str, ec2.InterfaceVpcEndpointAwsService],
    subnets: ec2.SubnetSelection | None = None,
) -> list[ec2.IVpcEndpoint]:
    """The S3 gateway endpoint (free) and an interface endpoint per service (about $7.30/month
    per AZ each), all behind one security group that admits HTTPS from ``cidr`` only (a literal,
    so reviewers and cdk-nag can read it) and sends nothing out."""
    endpoints: list[ec2.IVpcEndpoint] = [
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    ]
    security_group = ec2.SecurityGroup(
        scope,
        "EndpointSecurityGroup",
        vpc=vpc,
        description="VPC interface endpoints: HTTPS from inside the VPC",
        allow_all_outbound=False,
    )
    security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443))
    for name, service in services.items():
        endpoints.append(
            vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=subnets,
                security_groups=[security_group],
                open=False,
            )
        )
    return endpoints
