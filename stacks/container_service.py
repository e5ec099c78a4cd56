"""Container service pattern: an ECR repository, and a web service on ECS behind an ALB.

``ContainerRepository`` and ``FargateWebService`` are the reusable constructs;
``ContainerServiceStack`` wires them for ``cdk deploy``. The app the service runs by default is
``containers/web/`` (built as a Docker image asset at deploy time, never at synth).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnMapping,
    CfnOutput,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk.region_info import RegionInfo
from constructs import Construct, IDependable

from .shared import (
    CONTAINER_ENDPOINTS,
    DEFAULT_LOG_RETENTION,
    ECS_AGENT_ENDPOINTS,
    FARGATE_MEMORY_MIB,
    REMOVAL_OWNED,
    Alarms,
    ConfigError,
    ContextConfig,
    SecureDefault,
    access_logs_bucket,
    acknowledge,
    add_vpc_endpoints,
    arn_error,
    check,
    cidr_error,
    consolidate_props,
    ensure_alarm_topic,
    exempt,
    exempt_inline_policies,
    exempt_log_group,
    fargate_size_error,
    flow_logged_vpc,
    stack_zones,
)

DEFAULT_IMAGE_DIRECTORY = Path(__file__).resolve().parent.parent / "containers" / "web"
# The default image's health check: its own probe module (the slim image has no curl).
DEFAULT_HEALTH_CHECK_COMMAND = ("CMD", "python", "-m", "webapp.healthcheck")
_ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


class Capacity(enum.StrEnum):
    """Where the tasks run."""

    FARGATE = "fargate"
    """Fargate on-demand: no instances to manage, the price of a task is fixed."""
    FARGATE_SPOT = "fargate_spot"
    """Fargate Spot (up to 70% cheaper, may be interrupted) above an on-demand base."""
    EC2 = "ec2"
    """EC2 instances of an Auto Scaling group that ECS scales (a capacity provider)."""


class Architecture(enum.StrEnum):
    """The tasks' CPU architecture; the image must be built for it (the default image asset is).

    An enum of our own because ``ecs.CpuArchitecture`` values cannot be compared in Python.
    """

    ARM64 = "arm64"
    """Graviton: about 20% cheaper than x86_64 on Fargate for the same vCPU and memory."""
    X86_64 = "x86_64"


# What ContainerRepository keeps secure; repository_props may turn it off, with a warning.
_SECURE_REPOSITORY = (
    SecureDefault("image_scan_on_push", "images scanned for known CVEs on push"),
    SecureDefault(
        "image_tag_mutability",
        "immutable tags (a tag names one image forever)",
        lambda v: v == ecr.TagMutability.IMMUTABLE,
    ),
)


class ContainerRepository(Construct):
    """A private ECR repository for one team's images.

    Secure defaults: scan on push, immutable tags (a tag names one image forever, so a deploy
    of ``v1.4.2`` is repeatable and auditable), encryption at rest (AES-256 with AWS-managed keys,
    or KMS with ``encryption_key``), lifecycle rules (untagged images expire after
    ``untagged_expiry``, only the last ``keep_tagged_images`` tagged images are kept), RETAIN.
    ``pull_account_ids`` lets other accounts pull (and nothing else) through the resource policy.

    Cost drivers: storage ($0.10/GB-month; the lifecycle rules bound it) and data transfer out of
    the region. Basic scanning on push is free; a KMS key, if given, bills its API calls.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        keep_tagged_images: int = 30,
        untagged_expiry: Duration | None = None,
        pull_account_ids: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        repository_props: Mapping[str, Any] | None = None,
    ) -> None:
        """
        :param repository_name: a fixed name; CloudFormation generates one when not given.
        :param encryption_key: a KMS key to encrypt images with; AES-256 (AWS-managed) if None.
        :param keep_tagged_images: how many tagged images to keep (the newest ones).
        :param untagged_expiry: age at which untagged images are deleted (default 7 days).
        :param pull_account_ids: AWS account ids allowed to pull images (e.g. a prod account).
        :param removal_policy: RETAIN by default. With DESTROY the images are deleted too.
        :param repository_props: ``ecr.Repository`` keyword arguments merged over the defaults.
        """
        super().__init__(scope, id)
        if keep_tagged_images < 1:
            raise ConfigError(f"keep_tagged_images={keep_tagged_images}: expected 1 or more")
        self.repository = self._repository(
            repository_name, encryption_key, removal_policy, repository_props
        )
        self._expire_images(keep_tagged_images, untagged_expiry or Duration.days(7))
        self._allow_pulls(pull_account_ids)
        self.repository_uri: str = self.repository.repository_uri
        self.repository_arn: str = self.repository.repository_arn

    def _repository(
        self,
        name: str | None,
        encryption_key: kms.IKey | None,
        removal_policy: RemovalPolicy,
        overrides: Mapping[str, Any] | None,
    ) -> ecr.Repository:
        """Scanned on push (a known CVE shows up before the image runs), immutable tags (a
        deploy of ``v1.4.2`` is repeatable and auditable), encrypted at rest."""
        repository = ecr.Repository(
            self,
            "Repository",
            **consolidate_props(
                self,
                "repository_props",
                {
                    "repository_name": name,
                    "image_scan_on_push": True,
                    "image_tag_mutability": ecr.TagMutability.IMMUTABLE,
                    "encryption": ecr.RepositoryEncryption.KMS
                    if encryption_key
                    else ecr.RepositoryEncryption.AES_256,
                    "encryption_key": encryption_key,
                    "removal_policy": removal_policy,
                    # ECR refuses to delete a repository that holds images; DESTROY means both.
                    "empty_on_delete": removal_policy == RemovalPolicy.DESTROY,
                },
                overrides,
                owned={
                    **REMOVAL_OWNED,
                    "repository_name": "set by the construct's repository_name argument",
                    "encryption_key": "set by the construct's encryption_key argument",
                    "encryption": "follows the construct's encryption_key argument",
                    "empty_on_delete": "follows the construct's removal_policy argument",
                },
                secure=_SECURE_REPOSITORY,
            ),
        )
        if encryption_key is None:
            exempt(
                repository,
                "Images are encrypted at rest with AES-256 under ECR's own keys; they hold "
                "code, not data, and pulls are authorized by IAM. A KMS key (encryption_key) "
                "adds $1/month plus a call per layer pulled.",
                checkov="CKV_AWS_136",
            )
        return repository

    def _expire_images(self, keep_tagged_images: int, untagged_expiry: Duration) -> None:
        """Lifecycle rules that bound the storage bill: every push and failed build leaves
        layers behind, and only the newest tagged images are ever rolled back to."""
        # Lower priority numbers are evaluated first; the rule on all tagged images goes last.
        self.repository.add_lifecycle_rule(
            description="Expire untagged images (superseded pushes, failed builds)",
            rule_priority=1,
            tag_status=ecr.TagStatus.UNTAGGED,
            max_image_age=untagged_expiry,
        )
        self.repository.add_lifecycle_rule(
            description=f"Keep the newest {keep_tagged_images} tagged images",
            rule_priority=2,
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=["*"],
            max_image_count=keep_tagged_images,
        )

    def _allow_pulls(self, account_ids: Sequence[str]) -> None:
        """Pull and nothing else for other accounts (e.g. production deploying what CI built
        in a tooling account), through the repository's resource policy."""
        for account in account_ids:
            self.repository.grant_pull(iam.AccountPrincipal(account))

    def image(self, tag: str) -> ecs.ContainerImage:
        """The image with ``tag`` in this repository, for a task definition."""
        return ecs.ContainerImage.from_ecr_repository(self.repository, tag)


class FargateWebService(Construct):
    """A containerized web service on ECS behind an Application Load Balancer.

    Builds: a VPC (unless ``vpc`` or ``cluster`` is given: 2 AZs, public subnets for an
    internet-facing ALB or NAT gateways, private *isolated* subnets for the tasks, VPC flow logs),
    an ECS cluster with Container Insights (unless ``cluster`` is given), an ALB, and a service of
    ``min_capacity`` to ``max_capacity`` tasks running ``image`` (by default ``containers/web``
    built as a Docker image asset, which ``cdk deploy`` builds and pushes; or ``repository`` +
    ``image_tag``).

    Network default: no NAT gateway. The tasks have no public IP and no route to the internet;
    they reach ECR, CloudWatch Logs (and Secrets Manager/SSM when ``secrets`` are given) through
    interface VPC endpoints and S3 (image layers) through a gateway endpoint. That is the most
    closed layout that works, and each interface endpoint costs about $7.30/month per AZ (about
    $44/month for the three defaults in two AZs). ``nat_gateways=1`` instead gives the tasks
    outbound internet (about $33/month per gateway plus $0.045/GB) and creates no endpoints.

    Secure defaults: arm64 (Graviton) tasks, read-only root filesystem, a task role with no
    permissions (grant what the app needs with ``service.task_role``), secrets injected by ECS
    from Secrets Manager or SSM (the execution role can read only those), task security group
    open only to the ALB on the container port, ALB that drops invalid headers, redirects HTTP to
    HTTPS with a TLS 1.2+/1.3 policy when ``certificate`` is given, and logs access to an
    encrypted (SSE-S3), TLS-only, private bucket; deployments roll back automatically
    (circuit breaker) when new tasks fail their health checks; logs kept ``log_retention``;
    alarms on 5XX (ALB and targets), unhealthy hosts and CPU.

    HTTPS by default: the ALB is internet-facing when a ``certificate`` is given, and internal
    (reachable from the VPC only) when none is. An internet-facing ALB without a certificate
    would serve plain HTTP to the internet, so it is refused unless ``allow_plain_http=True``
    (a demo setting) says so explicitly.

    Cost drivers: the tasks (vCPU and GB-hours; 2 x 0.5 vCPU/1 GB arm64 is about $29/month on
    demand, Spot up to 70% less), the ALB (about $16/month plus LCUs), the VPC endpoints (above),
    Container Insights metrics, log ingestion and storage. It scales out on CPU and on requests
    per target, between ``min_capacity`` and ``max_capacity``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc | None = None,
        cluster: ecs.ICluster | None = None,
        nat_gateways: int = 0,
        vpc_cidr: str = "10.0.0.0/16",
        task_subnets: ec2.SubnetSelection | None = None,
        image: ecs.ContainerImage | None = None,
        repository: ContainerRepository | ecr.IRepository | None = None,
        image_tag: str | None = None,
        image_directory: str | Path = DEFAULT_IMAGE_DIRECTORY,
        architecture: Architecture = Architecture.ARM64,
        cpu: int = 512,
        memory_mib: int = 1024,
        container_port: int = 8080,
        health_check_path: str = "/health",
        health_check_command: Sequence[str] = DEFAULT_HEALTH_CHECK_COMMAND,
        container_user: str = "10001:10001",
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, ecs.Secret] | None = None,
        capacity: Capacity = Capacity.FARGATE,
        on_demand_base: int = 1,
        spot_weight: int = 3,
        instance_type: ec2.InstanceType | None = None,
        max_instances: int = 4,
        min_capacity: int = 2,
        max_capacity: int = 10,
        cpu_target_percent: float = 60,
        requests_per_target: int = 1000,
        certificate: acm.ICertificate | None = None,
        internet_facing: bool | None = None,
        allow_plain_http: bool = False,
        allowed_cidrs: Sequence[str] = ("0.0.0.0/0",),
        web_acl_arn: str | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_expiry: Duration | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """
        :param vpc: an existing VPC; its subnets must let the tasks reach ECR and CloudWatch Logs
            (NAT or endpoints). Ignored when ``cluster`` is given (the cluster's VPC is used).
        :param cluster: an existing cluster. For the Fargate capacities it must have the Fargate
            capacity providers enabled; for ``Capacity.EC2`` it must be an ``ecs.Cluster``.
        :param nat_gateways: for a new VPC: 0 (default) puts tasks in isolated subnets with VPC
            endpoints; 1 or more gives them NAT egress and no endpoints.
        :param task_subnets: where the tasks run; default the private (or isolated) subnets.
            Fargate tasks placed in public subnets get a public IP, their only way out there.
        :param image: any container image; overrides ``repository``/``image_tag`` and the asset.
        :param repository: a repository (e.g. a ``ContainerRepository`` CI pushes to) ...
        :param image_tag: ... and the tag to run from it (required with ``repository``).
        :param image_directory: the Docker build context of the default image asset.
        :param architecture: ARM64 (Graviton) or X86_64, for the tasks, instances and image.
        :param cpu: task vCPU units (1024 = 1 vCPU); ``memory_mib`` must suit it on Fargate.
        :param health_check_command: the container health check (Docker ``CMD`` form); the
            default runs the default image's probe, so set it when you bring another image.
        :param container_user: the non-root ``uid:gid`` the container runs as (the default
            image's own ``USER``); set it to the user your image expects.
        :param environment: plain settings for the container (never secrets).
        :param secrets: ``ecs.Secret.from_secrets_manager(...)`` / ``from_ssm_parameter(...)``
            by environment variable name; only the execution role can read them, at task start.
        :param capacity: FARGATE, FARGATE_SPOT (with ``on_demand_base`` on-demand tasks and
            Spot weighted ``spot_weight`` : 1 above it) or EC2 (an Auto Scaling group of
            ``instance_type``, up to ``max_instances``, that ECS scales).
        :param min_capacity: minimum tasks (2: one per AZ, so losing an AZ is survivable).
        :param certificate: an ACM certificate; adds HTTPS on 443 and redirects 80 to it.
        :param internet_facing: the ALB's scheme; by default internet-facing with a
            ``certificate`` (or ``allow_plain_http``), internal without one.
        :param allow_plain_http: a demo setting: allow an internet-facing ALB without a
            certificate, serving plain HTTP on port 80. Never for production traffic.
        :param allowed_cidrs: who may reach the ALB; the default is the whole internet.
        :param web_acl_arn: a WAFv2 web ACL (REGIONAL) to associate with the ALB.
        :param access_logs_bucket: an existing bucket (SSE-S3) for the ALB access logs.
        :param access_logs_expiry: how long the created access-log bucket keeps logs (90 days).
        :param removal_policy: for the log groups and the access-log bucket. RETAIN by default.
        :param alarm_topic: an existing topic for alarms; one is created when not given.
        :param alarm_email: an address to subscribe to the alarm topic (confirm by e-mail).
        """
        super().__init__(scope, id)
        self._protect = removal_policy != RemovalPolicy.DESTROY
        self._check_props(
            image=image,
            repository=repository,
            image_tag=image_tag,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            nat_gateways=nat_gateways,
            cpu=cpu,
            memory_mib=memory_mib,
            allowed_cidrs=allowed_cidrs,
            web_acl_arn=web_acl_arn,
        )
        internet_facing = self._scheme(internet_facing, certificate, allow_plain_http)
        arm = Architecture(architecture) == Architecture.ARM64

        self.vpc, self.task_subnets, endpoints = self._network(
            vpc=vpc,
            cluster=cluster,
            cidr=vpc_cidr,
            nat_gateways=nat_gateways,
            task_subnets=task_subnets,
            ec2_capacity=capacity == Capacity.EC2,
            public_subnets=internet_facing or nat_gateways > 0,
            secrets=bool(secrets),
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self.cluster: ecs.ICluster = cluster or self._cluster()

        self.log_group = self._log_group(log_retention, removal_policy)
        self.task_role = self._task_role()
        self.task_definition = self._task_definition(capacity, cpu, memory_mib, arm)
        container_image, version = self._image(image, repository, image_tag, image_directory, arm)
        self.container = self._container(
            container_image,
            version=version,
            port=container_port,
            user=container_user,
            memory_mib=memory_mib,
            environment=environment,
            secrets=secrets,
            health_check_command=health_check_command,
        )

        self.capacity_provider_strategies = self._capacity(
            capacity, on_demand_base, spot_weight, instance_type, max_instances, arm
        )
        self.service: ecs.BaseService = self._service(capacity, desired_count=min_capacity)
        self._start_after_prerequisites(endpoints)
        self._grant_execution_role_acknowledgement()

        self.load_balancer = self._load_balancer(internet_facing, allowed_cidrs, certificate)
        self.target_group = self._target_group(container_port, health_check_path)
        self.listener = self._listeners(certificate, internet_facing)
        self.service.attach_to_application_target_group(self.target_group)
        self.access_logs_bucket = access_logs_bucket or self._access_logs_bucket(
            removal_policy, access_logs_expiry or Duration.days(90)
        )
        self._log_access(self.access_logs_bucket, prefix="alb")
        if web_acl_arn:
            self._associate_web_acl(web_acl_arn)
        else:
            self._exempt_web_acl(internet_facing)
        scheme = "https" if certificate else "http"
        self.url: str = f"{scheme}://{self.load_balancer.load_balancer_dns_name}"

        self.scaling = self._scaling(
            min_capacity, max_capacity, cpu_target_percent, requests_per_target
        )
        self.alarm_topic = ensure_alarm_topic(
            self, "AlarmTopic", topic=alarm_topic, email=alarm_email
        )
        self.alarms = self._alarms(self.alarm_topic)
        exempt_inline_policies(self)

    # -- props --------------------------------------------------------------------------------

    @staticmethod
    def _check_props(
        *,
        image: ecs.ContainerImage | None,
        repository: ContainerRepository | ecr.IRepository | None,
        image_tag: str | None,
        min_capacity: int,
        max_capacity: int,
        nat_gateways: int,
        cpu: int,
        memory_mib: int,
        allowed_cidrs: Sequence[str],
        web_acl_arn: str | None,
    ) -> None:
        """Refuse a wrong value in one line that names it, before anything is built (a missing
        ``image_tag`` would otherwise silently deploy the default image instead)."""
        if repository is not None and image is None and not image_tag:
            raise ConfigError("image_tag is required with repository (tags are immutable)")
        if not 1 <= min_capacity <= max_capacity:
            raise ConfigError(
                f"min_capacity={min_capacity}, max_capacity={max_capacity}: "
                "expected 1 <= min_capacity <= max_capacity"
            )
        if nat_gateways < 0:
            raise ConfigError(f"nat_gateways={nat_gateways}: expected 0 or more")
        # The task definition is Fargate-compatible whatever the capacity.
        check("memory_mib", memory_mib, fargate_size_error(cpu, memory_mib))
        for cidr in allowed_cidrs:
            check("allowed_cidrs", cidr, cidr_error(cidr))
        if web_acl_arn is not None:
            check("web_acl_arn", web_acl_arn, arn_error(web_acl_arn, "wafv2", "regional/webacl/"))

    @staticmethod
    def _scheme(
        internet_facing: bool | None, certificate: acm.ICertificate | None, allow_plain_http: bool
    ) -> bool:
        """Internet-facing only over HTTPS, unless plain HTTP was asked for by name: a
        production deploy cannot serve HTTP to the internet by accident."""
        if internet_facing is None:
            return certificate is not None or allow_plain_http
        if internet_facing and certificate is None and not allow_plain_http:
            raise ConfigError(
                "internet_facing=True without a certificate would serve plain HTTP to the "
                "internet: pass a certificate, internet_facing=False, or allow_plain_http=True "
                "(a demo setting)"
            )
        return internet_facing

    # -- network ------------------------------------------------------------------------------

    def _network(
        self,
        *,
        vpc: ec2.IVpc | None,
        cluster: ecs.ICluster | None,
        cidr: str,
        nat_gateways: int,
        task_subnets: ec2.SubnetSelection | None,
        ec2_capacity: bool,
        public_subnets: bool,
        secrets: bool,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> tuple[ec2.IVpc, ec2.SubnetSelection | None, list[ec2.IVpcEndpoint]]:
        """The VPC, the tasks' subnets, and the VPC endpoints the tasks must wait for.

        A given cluster brings its VPC, and a given VPC its own way out (NAT or endpoints):
        both are used as they are. Only a VPC created here gets a default for the task subnets
        (isolated without NAT, private with it) and, without NAT, the endpoints that are the
        tasks' only way to ECR and CloudWatch Logs.
        """
        if cluster is not None:
            return cluster.vpc, task_subnets, []
        if vpc is not None:
            return vpc, task_subnets, []
        created = self._vpc(cidr, nat_gateways, public_subnets, log_retention, removal_policy)
        if task_subnets is None:
            task_subnets = ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                if nat_gateways
                else ec2.SubnetType.PRIVATE_ISOLATED
            )
        endpoints: list[ec2.IVpcEndpoint] = []
        if not nat_gateways:
            endpoints = self._endpoints(
                created, cidr=cidr, ec2_capacity=ec2_capacity, secrets=secrets
            )
        return created, task_subnets, endpoints

    def _vpc(
        self,
        cidr: str,
        nat_gateways: int,
        public_subnets: bool,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> ec2.Vpc:
        """Two zones, public subnets for an internet-facing ALB (and NAT gateways) only, and the
        tasks in subnets of their own that have no route to the internet unless NAT gateways
        were asked for. Without an internet-facing ALB or NAT the public subnets are only
        reserved (no subnets, no internet gateway), so the tasks' subnets keep their CIDRs."""
        vpc = flow_logged_vpc(
            self,
            "Vpc",
            cidr=cidr,
            nat_gateways=nat_gateways,
            subnet_configuration=[
                # Only the ALB (and NAT gateways, with their own Elastic IPs) live here: nothing
                # launched into these subnets gets a public IP unless it asks for one.
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                    reserved=not public_subnets,
                ),
                ec2.SubnetConfiguration(
                    name="Tasks",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                    if nat_gateways
                    else ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=22,
                ),
            ],
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        for subnet in vpc.public_subnets:
            exempt(
                subnet.node.find_child("DefaultRoute"),
                "The route of a public subnet, which holds only the internet-facing ALB (and "
                "NAT gateways): nothing launched here gets a public IP, and the tasks run in "
                "subnets of their own without this route.",
                nag="NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
            )
        return vpc

    def _selected_task_subnets(self) -> ec2.SelectedSubnets:
        """The subnets the tasks run in (the VPC's default selection when none was given)."""
        selection = self.task_subnets or ec2.SubnetSelection()
        return self.vpc.select_subnets(
            availability_zones=selection.availability_zones,
            one_per_az=selection.one_per_az,
            subnet_filters=selection.subnet_filters,
            subnet_group_name=selection.subnet_group_name,
            subnets=selection.subnets,
            subnet_type=selection.subnet_type,
        )

    def _endpoints(
        self, vpc: ec2.Vpc, *, cidr: str, ec2_capacity: bool, secrets: bool
    ) -> list[ec2.IVpcEndpoint]:
        """What tasks in isolated subnets need: image pulls, logs, and (when used) secrets;
        container instances also need the ECS control-plane endpoints to register."""
        services = dict(CONTAINER_ENDPOINTS)
        if secrets:
            services["SecretsManager"] = ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER
            services["Ssm"] = ec2.InterfaceVpcEndpointAwsService.SSM
        if ec2_capacity:
            services.update(ECS_AGENT_ENDPOINTS)
        return add_vpc_endpoints(
            self,
            vpc,
            cidr=cidr,
            services=services,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )

    def _cluster(self) -> ecs.Cluster:
        """A cluster of this service's own, with Container Insights (per-task CPU, memory and
        network, for finding the task that misbehaves) and the Fargate capacity providers that
        the FARGATE and FARGATE_SPOT strategies name."""
        return ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            enable_fargate_capacity_providers=True,
        )

    # -- the task -----------------------------------------------------------------------------

    def _log_group(
        self, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> logs.LogGroup:
        """A log group of the service's own, so its retention and removal are the caller's
        choice (the awslogs driver would otherwise create one that is kept forever)."""
        log_group = logs.LogGroup(self, "Logs", retention=retention, removal_policy=removal_policy)
        exempt_log_group(log_group, holds="the web app's logs (requests, errors)")
        return log_group

    def _task_role(self) -> iam.Role:
        """The app's own identity, empty: least privilege starts at nothing, and the caller
        grants what the app needs (``service.task_role``, ``bucket.grant_read(...)``)."""
        return iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="The web app's own permissions: none until its construct grants some",
        )

    def _task_definition(
        self, capacity: Capacity, cpu: int, memory_mib: int, arm: bool
    ) -> ecs.TaskDefinition:
        """One task definition for every capacity: awsvpc networking gives each task its own
        network interface and security group, so the ALB targets tasks by IP either way."""
        return ecs.TaskDefinition(
            self,
            "TaskDefinition",
            compatibility=ecs.Compatibility.EC2_AND_FARGATE
            if capacity == Capacity.EC2
            else ecs.Compatibility.FARGATE,
            network_mode=ecs.NetworkMode.AWS_VPC,
            cpu=str(cpu),
            memory_mib=str(memory_mib),
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64 if arm else ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            task_role=self.task_role,
        )

    def _image(
        self,
        image: ecs.ContainerImage | None,
        repository: ContainerRepository | ecr.IRepository | None,
        tag: str | None,
        directory: str | Path,
        arm: bool,
    ) -> tuple[ecs.ContainerImage, str]:
        """The image and the version the app reports on /version (the tag, or asset hash)."""
        if image is not None:
            return image, tag or "unknown"
        if repository is not None and tag:
            repo = (
                repository.repository if isinstance(repository, ContainerRepository) else repository
            )
            return ecs.ContainerImage.from_ecr_repository(repo, tag), tag
        asset = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(directory),
            platform=ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64,
            exclude=["**/__pycache__", "**/.pytest_cache", "**/.venv"],
        )
        return ecs.ContainerImage.from_docker_image_asset(asset), asset.asset_hash

    def _container(
        self,
        image: ecs.ContainerImage,
        *,
        version: str,
        port: int,
        user: str,
        memory_mib: int,
        environment: Mapping[str, str] | None,
        secrets: Mapping[str, ecs.Secret] | None,
        health_check_command: Sequence[str],
    ) -> ecs.ContainerDefinition:
        """The app's container, as locked down as a web app allows: not root, a read-only root
        filesystem, a hard memory limit, its own health check, secrets injected by ECS."""
        container = self.task_definition.add_container(
            "web",
            image=image,
            essential=True,
            port_mappings=[ecs.PortMapping(container_port=port, name="http")],
            readonly_root_filesystem=True,
            # Not root, whatever the image says; the default is the web image's own USER.
            user=user,
            # A hard limit: a leaking app is killed and replaced, not left to starve the task.
            memory_limit_mib=memory_mib,
            environment={"PORT": str(port), "APP_VERSION": version, **(environment or {})},
            secrets=dict(secrets or {}),
            health_check=ecs.HealthCheck(
                command=list(health_check_command),
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(15),
            ),
            # More than the app's graceful-shutdown time (20 s) between SIGTERM and SIGKILL.
            stop_timeout=Duration.seconds(30),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="web",
                log_group=self.log_group,
                # A full log buffer must not block the app's writes (and stall requests).
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
            ),
        )
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The environment holds non-secret settings only (port, version, the caller's plain "
            "config); secrets go through the secrets prop, injected by ECS at task start.",
        )
        return container

    # -- capacity and the service -------------------------------------------------------------

    def _capacity(
        self,
        capacity: Capacity,
        on_demand_base: int,
        spot_weight: int,
        instance_type: ec2.InstanceType | None,
        max_instances: int,
        arm: bool,
    ) -> list[ecs.CapacityProviderStrategy]:
        """Where ECS places the tasks: the service names capacity providers rather than a
        launch type, so Fargate Spot and an EC2 Auto Scaling group are one prop away."""
        if capacity == Capacity.FARGATE:
            return [ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)]
        if capacity == Capacity.FARGATE_SPOT:
            return [
                ecs.CapacityProviderStrategy(
                    capacity_provider="FARGATE", base=on_demand_base, weight=1
                ),
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=spot_weight),
            ]
        if not isinstance(self.cluster, ecs.Cluster):
            raise ConfigError("Capacity.EC2 needs an ecs.Cluster (to add the capacity provider)")
        provider = self._instances(self.cluster, instance_type, max_instances, arm)
        return [
            ecs.CapacityProviderStrategy(
                capacity_provider=provider.capacity_provider_name, base=0, weight=1
            )
        ]

    def _instances(
        self,
        cluster: ecs.Cluster,
        instance_type: ec2.InstanceType | None,
        max_instances: int,
        arm: bool,
    ) -> ecs.AsgCapacityProvider:
        """An Auto Scaling group of ECS-optimized AL2023 instances that ECS scales (managed
        scaling) and drains before terminating (managed draining)."""
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="ECS container instances: register with the cluster, pull, log",
        )
        group = autoscaling.AutoScalingGroup(
            self,
            "Instances",
            vpc=self.vpc,
            vpc_subnets=self.task_subnets,
            launch_template=self._launch_template(role, instance_type, arm),
            min_capacity=0,
            max_capacity=max_instances,
        )
        acknowledge(
            group,
            "AwsSolutions-AS3",
            "ECS managed scaling launches and terminates these instances; ECS service events and "
            "the service's alarms report what matters, per-instance notifications would be noise.",
        )
        provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=group,
            enable_managed_scaling=True,
            enable_managed_termination_protection=True,
            enable_managed_draining=True,
            target_capacity_percent=100,
        )
        cluster.add_asg_capacity_provider(provider)
        self._acknowledge_agent_policy(role)
        return provider

    def _launch_template(
        self, role: iam.IRole, instance_type: ec2.InstanceType | None, arm: bool
    ) -> ec2.LaunchTemplate:
        """Hardened container instances: IMDSv2 only, with a hop limit that keeps the awsvpc
        tasks away from the instance's credentials, and an encrypted root volume."""
        security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=self.vpc,
            description="ECS container instances (tasks have their own security group)",
        )
        return ec2.LaunchTemplate(
            self,
            "InstanceTemplate",
            instance_type=instance_type or ec2.InstanceType("t4g.medium" if arm else "t3.medium"),
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(
                hardware_type=ecs.AmiHardwareType.ARM if arm else ecs.AmiHardwareType.STANDARD
            ),
            user_data=ec2.UserData.for_linux(),
            role=role,
            security_group=security_group,
            require_imdsv2=True,
            http_put_response_hop_limit=1,  # tasks (awsvpc) cannot reach the instance's role
            detailed_monitoring=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        30, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
        )

    def _acknowledge_agent_policy(self, role: iam.IRole) -> None:
        """The wildcards CDK writes into the container instances' ECS agent policy, each
        explained, so that cdk-nag's IAM5 stays meaningful for the rest of the stack."""
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                "CDK's ECS agent policy: ecs:DiscoverPollEndpoint and ecr:GetAuthorizationToken "
                "have no resource-level permissions, ecs:Poll/StartTelemetrySession are limited "
                "to this cluster by condition, logs:* write-only calls are for the agent's own "
                "logs; the tasks' logs go through their execution role.",
            )
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Action::ecs:Submit*]",
                "CDK's ECS agent policy: ecs:Submit* is the agent's three state-change calls "
                "(attachment, container, task), on this cluster only.",
            )

    def _service(self, capacity: Capacity, *, desired_count: int) -> ecs.BaseService:
        """Deployments that never run fewer tasks than before (100% to 200% healthy) and roll
        themselves back (circuit breaker) when new tasks fail their health checks, so a bad
        image never takes the site down."""
        service_props: dict[str, Any] = {
            "cluster": self.cluster,
            "task_definition": self.task_definition,
            "desired_count": desired_count,
            "vpc_subnets": self.task_subnets,
            # Tasks in public subnets (a VPC without private ones) have no NAT: only a public IP
            # lets them reach ECR and CloudWatch Logs. Their security group still admits only
            # the ALB. EC2 (awsvpc) tasks cannot have one; their VPC needs NAT or endpoints.
            "assign_public_ip": capacity != Capacity.EC2
            and self._selected_task_subnets().has_public,
            "capacity_provider_strategies": self.capacity_provider_strategies,
            "circuit_breaker": ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            "min_healthy_percent": 100,
            "max_healthy_percent": 200,
            "health_check_grace_period": Duration.seconds(60),
            "propagate_tags": ecs.PropagatedTagSource.SERVICE,
        }
        if capacity == Capacity.EC2:
            return ecs.Ec2Service(self, "Service", **service_props)
        return ecs.FargateService(self, "Service", **service_props)

    def _start_after_prerequisites(self, endpoints: Sequence[ec2.IVpcEndpoint]) -> None:
        """Orderings CloudFormation cannot know from references.

        Without them the first tasks can start before the VPC endpoints (or the NAT route)
        exist, or before the execution role's policy lets them pull, and fail; three failed
        tasks trip the circuit breaker and fail the first deploy. And ECS refuses a service
        whose capacity providers are not yet associated with the cluster.
        """
        prerequisites: list[IDependable] = [
            self._selected_task_subnets().internet_connectivity_established,
            *endpoints,
            # The whole cluster construct: ClusterCapacityProviderAssociations is its child.
            self.cluster,
        ]
        if self.task_definition.execution_role is not None:
            # The role construct, so its DefaultPolicy too (the ARN reference is the role only).
            prerequisites.append(self.task_definition.execution_role)
        # On the CfnService only: its security group and scaling target need not wait.
        self.service.node.find_child("Service").node.add_dependency(*prerequisites)

    def _grant_execution_role_acknowledgement(self) -> None:
        """The one wildcard in the execution role CDK builds, explained for cdk-nag."""
        role = self.task_definition.execution_role
        policy = role.node.try_find_child("DefaultPolicy") if role else None
        if policy is not None:
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions (AWS documents it "
                "on *); image pulls, logs and secret reads are scoped to their resources.",
            )

    # -- the load balancer --------------------------------------------------------------------

    def _load_balancer(
        self,
        internet_facing: bool,
        allowed_cidrs: Sequence[str],
        certificate: acm.ICertificate | None,
    ) -> elbv2.ApplicationLoadBalancer:
        """The service's only entry point, reachable from ``allowed_cidrs`` on the listener
        ports alone, and hardened against request smuggling (invalid headers dropped,
        defensive desync mitigation)."""
        security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=self.vpc,
            description="Web ALB: listener ports from allowed CIDRs; out to the tasks only",
            # CDK opens egress to the tasks' port when they register; nothing else goes out.
            allow_all_outbound=False,
        )
        ports = [443, 80] if certificate else [80]
        for cidr in allowed_cidrs:
            for port in ports:
                security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port))
        if "0.0.0.0/0" in allowed_cidrs:
            exempt(
                security_group,
                "A web service: the ALB accepts HTTP(S) from any address that can route to it "
                "(the internet only when internet-facing; allowed_cidrs narrows it); with a "
                "certificate port 80 only redirects to HTTPS; the tasks accept traffic from "
                "this ALB only.",
                nag="AwsSolutions-EC23",
                checkov="CKV_AWS_260",
            )
        return elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            internet_facing=internet_facing,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
            if internet_facing
            else self.task_subnets,
            security_group=security_group,
            drop_invalid_header_fields=True,
            # Like the data, the entry point outlives a `cdk destroy` unless DESTROY was asked for.
            deletion_protection=self._protect,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.DEFENSIVE,
            idle_timeout=Duration.seconds(60),
        )

    def _target_group(self, port: int, health_check_path: str) -> elbv2.ApplicationTargetGroup:
        """Tasks registered by IP (awsvpc), checked often enough that a broken task leaves
        the rotation within a minute, and drained quickly on deploys."""
        return elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=self.vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            # Longer than the slowest request, shorter than ECS's default 300 s wait per deploy.
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )

    def _listeners(
        self, certificate: acm.ICertificate | None, internet_facing: bool
    ) -> elbv2.ApplicationListener:
        """HTTPS (TLS 1.2+) with a certificate, port 80 then only redirecting to it; plain
        HTTP without one (an internal ALB, or ``allow_plain_http``). The listener that forwards
        to the tasks is returned."""
        alb = self.load_balancer
        if certificate:
            listener = alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
                default_target_groups=[self.target_group],
            )
            redirect = alb.add_listener(
                "HttpRedirect",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=elbv2.ListenerAction.redirect(
                    protocol="HTTPS", port="443", permanent=True
                ),
            )
            exempt(
                redirect,
                "Port 80 answers every request with a permanent redirect to HTTPS on 443 and "
                "forwards nothing, so it has no content to protect with a certificate.",
                nag="NIST.800.53.R5-ELBv2ACMCertificateRequired",
            )
            return listener
        listener = alb.add_listener(
            "Http",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_target_groups=[self.target_group],
        )
        exempt(
            listener,
            "Plain HTTP on port 80 because no certificate was given: "
            + (
                "the caller asked for it by name (allow_plain_http, a demo setting) on an "
                "internet-facing ALB."
                if internet_facing
                else "the ALB is internal, reachable from inside the VPC only."
            )
            + " With a certificate port 80 only redirects to HTTPS 443.",
            nag="NIST.800.53.R5-ELBv2ACMCertificateRequired",
            guard="alb_http_to_https_redirection_check",
            checkov=["CKV_AWS_2", "CKV_AWS_103"],
        )
        return listener

    def _access_logs_bucket(self, removal_policy: RemovalPolicy, expiry: Duration) -> s3.Bucket:
        """Who called what and how it was answered, kept ``access_logs_expiry``: the record a
        security review or an incident asks for, which the ALB keeps nowhere else."""
        return access_logs_bucket(
            self,
            "AccessLogs",
            logs_of="the load balancer",
            removal_policy=removal_policy,
            expiration=expiry,
            # ELB log delivery is not documented to honour an s3:TlsVersion condition; the
            # bucket stays TLS-only (aws:SecureTransport) without one.
            bucket_props={"minimum_tls_version": None},
        )

    def _log_access(self, bucket: s3.IBucket, prefix: str) -> None:
        """``log_access_logs`` for environment-agnostic stacks too.

        ELB writes access logs as a regional AWS account in regions opened before August 2022
        and as the ``logdelivery.elasticloadbalancing`` service in newer ones. CDK's helper
        needs the region at synth; here a mapping picks the account at deploy time.
        """
        stack = Stack.of(self)
        alb = self.load_balancer
        alb.set_attribute("access_logs.s3.enabled", "true")
        alb.set_attribute("access_logs.s3.bucket", bucket.bucket_name)
        alb.set_attribute("access_logs.s3.prefix", prefix)
        objects = bucket.arn_for_objects(f"{prefix}/AWSLogs/{Aws.ACCOUNT_ID}/*")
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                principals=[iam.ServicePrincipal(_ELB_LOG_DELIVERY)],
                resources=[objects],
            )
        )
        if not Token.is_unresolved(stack.region):
            account = RegionInfo.get(stack.region).elbv2_account
            if account:
                bucket.add_to_resource_policy(
                    iam.PolicyStatement(
                        actions=["s3:PutObject"],
                        principals=[iam.AccountPrincipal(account)],
                        resources=[objects],
                    )
                )
        else:
            mapping = CfnMapping(
                self,
                "ElbLogAccount",
                mapping={
                    r.name: {"account": r.elbv2_account or "none"} for r in RegionInfo.regions
                },
            )
            account = mapping.find_in_map(Aws.REGION, "account")
            has_account = CfnCondition(
                self,
                "RegionHasElbLogAccount",
                expression=Fn.condition_not(Fn.condition_equals(account, "none")),
            )
            # In newer regions the statement names this account instead: harmless (a bucket
            # policy granting its own account delegates to IAM) and keeps the policy valid.
            principal = Fn.condition_if(has_account.logical_id, account, Aws.ACCOUNT_ID)
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["s3:PutObject"],
                    principals=[iam.AccountPrincipal(principal.to_string())],
                    resources=[objects],
                )
            )
        policy = bucket.policy
        if policy is not None:
            alb.node.add_dependency(policy)

    def _exempt_web_acl(self, internet_facing: bool) -> None:
        """No web ACL was given: a team's WAF rules are its own (and shared across services)."""
        exempt(
            self.load_balancer,
            "No web ACL was given (web_acl_arn): "
            + (
                "the ALB answers the internet, and WAF rules (rate limits, managed rule "
                "groups, from about $5/month per ACL plus $1 per rule) are the team's to choose "
                "and share across services, usually through Firewall Manager; pass web_acl_arn."
                if internet_facing
                else "the ALB is internal, reachable from inside the VPC only; pass "
                "web_acl_arn to filter that traffic too."
            ),
            nag="NIST.800.53.R5-ALBWAFEnabled",
        )

    def _associate_web_acl(self, web_acl_arn: str) -> None:
        """The caller's WAF rules (rate limits, managed rule groups) in front of the ALB; a web
        ACL is shared across services, so it is associated here rather than created."""
        wafv2.CfnWebACLAssociation(
            self,
            "WebAcl",
            resource_arn=self.load_balancer.load_balancer_arn,
            web_acl_arn=web_acl_arn,
        )

    # -- scaling and alarms -------------------------------------------------------------------

    def _scaling(
        self,
        min_capacity: int,
        max_capacity: int,
        cpu_target_percent: float,
        requests_per_target: int,
    ) -> ecs.ScalableTaskCount:
        """Two target-tracking policies, whichever asks for more tasks wins: CPU for work that
        is heavy per request, requests per target for many light ones. Out fast (1 minute),
        in slowly (5 minutes), so a burst does not flap the task count."""
        scaling = self.service.auto_scale_task_count(
            min_capacity=min_capacity, max_capacity=max_capacity
        )
        scaling.scale_on_cpu_utilization(
            "CpuScaling",
            target_utilization_percent=cpu_target_percent,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )
        scaling.scale_on_request_count(
            "RequestScaling",
            requests_per_target=requests_per_target,
            target_group=self.target_group,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )
        return scaling

    def _alarms(self, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        """What a user would notice, at the ALB (5XX of its own or of the app, tasks failing
        their health checks), and the sign that scaling has hit its ceiling (CPU high)."""
        alarms = Alarms(self, topic)
        five_minutes = Duration.minutes(5)
        alarms.add(
            "LoadBalancer5xx",
            self.load_balancer.metrics.http_code_elb(
                elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_minutes, statistic="Sum"
            ),
            threshold=10,
            description="The ALB answered 5XX itself (no healthy target, timeouts, bad gateway)",
        )
        alarms.add(
            "Target5xx",
            self.target_group.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_minutes, statistic="Sum"
            ),
            threshold=10,
            description="The app answered 5XX (a bug or a failing dependency)",
        )
        alarms.add(
            "UnhealthyHosts",
            self.target_group.metrics.unhealthy_host_count(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=3,
            description="Tasks failing the target-group health check for 3 minutes",
        )
        alarms.add(
            "HighCpu",
            self.service.metric_cpu_utilization(period=five_minutes, statistic="Average"),
            threshold=85,
            evaluation_periods=3,
            description="Service CPU above 85% for 15 minutes (scaling at its maximum?)",
        )
        return alarms.alarms


class ContainerServiceStack(Stack):
    """A repository for CI-built images and the web service, deployable alone.

    By default the service runs ``containers/web`` built from source at deploy time. With context
    ``image_tag`` it runs that tag from the stack's repository instead (push it first).
    """

    CONTEXT_KEYS = (
        "removal_policy",
        "alarm_email",
        "capacity",
        "architecture",
        "keep_tagged_images",
        "pull_account_ids",
        "certificate_arn",
        "internet_facing",
        "allow_plain_http",
        "image_tag",
        "cpu",
        "memory_mib",
        "nat_gateways",
        "min_capacity",
        "max_capacity",
        "allowed_cidrs",
        "web_acl_arn",
        "availability_zones",
    )

    @property
    def availability_zones(self) -> list[str]:
        """Never looked up in an account, even when the stack is pinned (shared.stack_zones)."""
        return self._zones

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        self._zones = stack_zones(self, config)
        removal_policy = config.removal_policy()
        capacity = Capacity(
            config.get_choice("capacity", Capacity.FARGATE.value, [c.value for c in Capacity])
        )
        architecture = Architecture(
            config.get_choice(
                "architecture", Architecture.ARM64.value, [a.value for a in Architecture]
            )
        )
        cpu = config.get_int("cpu", 512)
        memory_mib = config.get_int("memory_mib", 1024)
        if cpu not in FARGATE_MEMORY_MIB:
            raise config.fail("cpu", cpu, f"one of {', '.join(map(str, FARGATE_MEMORY_MIB))}")
        size_error = fargate_size_error(cpu, memory_mib)
        if size_error is not None:
            raise config.fail("memory_mib", memory_mib, size_error)
        min_capacity = config.get_int("min_capacity", 2, minimum=1)
        max_capacity = config.get_int("max_capacity", 10, minimum=1)
        if max_capacity < min_capacity:
            raise config.fail("max_capacity", max_capacity, f">= min_capacity ({min_capacity})")

        repository = ContainerRepository(
            self,
            "Repository",
            keep_tagged_images=config.get_int("keep_tagged_images", 30, minimum=1),
            pull_account_ids=config.get_account_ids("pull_account_ids"),
            removal_policy=removal_policy,
        )
        certificate_arn = config.get_arn("certificate_arn", "acm", "certificate/")
        # Internet-facing with a certificate, internal without one; plain HTTP to the internet
        # only by name (a demo setting), refused otherwise with a one-line error.
        allow_plain_http = config.get_bool("allow_plain_http", False)
        facing = config.get_optional_str("internet_facing")
        internet_facing = None if facing is None else config.get_bool("internet_facing", False)
        if internet_facing and not certificate_arn and not allow_plain_http:
            raise config.fail(
                "internet_facing",
                facing,
                "a certificate_arn with it (HTTPS), or allow_plain_http=true for a plain-HTTP demo",
            )
        image_tag = config.get_matching(
            "image_tag", r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "an image tag (A-Z a-z 0-9 _ . -)"
        )
        service = FargateWebService(
            self,
            "Web",
            repository=repository if image_tag else None,
            image_tag=image_tag,
            architecture=architecture,
            cpu=cpu,
            memory_mib=memory_mib,
            capacity=capacity,
            # Each NAT gateway sits in one of the VPC's two zones.
            nat_gateways=config.get_int("nat_gateways", 0, minimum=0, maximum=2),
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
            if certificate_arn
            else None,
            internet_facing=internet_facing,
            allow_plain_http=allow_plain_http,
            allowed_cidrs=config.get_cidrs("allowed_cidrs", ["0.0.0.0/0"]),
            web_acl_arn=config.get_arn("web_acl_arn", "wafv2", "regional/webacl/"),
            removal_policy=removal_policy,
            alarm_email=config.get_email(),
        )
        CfnOutput(self, "Url", value=service.url)
        CfnOutput(self, "RepositoryUri", value=repository.repository_uri)
        CfnOutput(self, "ClusterName", value=service.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=service.service.service_name)
        CfnOutput(self, "LogGroupName", value=service.log_group.log_group_name)
        CfnOutput(self, "AccessLogsBucket", value=service.access_logs_bucket.bucket_name)
