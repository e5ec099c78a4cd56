"""Batch jobs pattern: an AWS Batch job queue on managed compute (Fargate or EC2, Spot first)
running the ``compounds`` container as array jobs over a CSV in S3.

``BatchJobQueue`` is the reusable construct; ``BatchJobsStack`` wires it for ``cdk deploy``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import CfnOutput, Duration, Names, RemovalPolicy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from .shared import (
    ACCESS_LOGS_BY_BUCKET_POLICY,
    CONTAINER_ENDPOINTS,
    DEFAULT_LOG_RETENTION,
    ECS_AGENT_ENDPOINTS,
    FARGATE_MEMORY_MIB,
    REMOVAL_OWNED,
    SECURE_BUCKET,
    ConfigError,
    ContextConfig,
    access_logs_bucket,
    acknowledge,
    add_vpc_endpoints,
    check_props,
    consolidate_props,
    ensure_alarm_topic,
    exempt,
    exempt_bucket_extras,
    exempt_inline_policies,
    exempt_log_group,
    fargate_size_error,
    flow_logged_vpc,
    nag_text,
    secure_bucket_props,
    stack_zones,
)

DEFAULT_CONTAINER_PATH = Path(__file__).resolve().parent.parent / "containers" / "batch_job"
DEFAULT_OUTPUT_EXPIRATION = Duration.days(90)

# What Batch reports when capacity, not the job, failed. Matched in order; the first match wins.
# EC2 Spot reclaims and instance loss end with statusReason "Host EC2 (instance i-...) terminated."
# Fargate Spot reclaims with "Your Spot Task was interrupted."; image pulls and task start-up
# (ENI, secrets, log stream) fail with these container reasons when the network or ECR blips.
_RETRY_ON = (
    batch.Reason.SPOT_INSTANCE_RECLAIMED,
    batch.Reason.custom(on_status_reason="Your Spot Task was interrupted*"),
    batch.Reason.CANNOT_PULL_CONTAINER,
    batch.Reason.custom(on_reason="ResourceInitializationError*"),
)


ComputeEnvironment = batch.FargateComputeEnvironment | batch.ManagedEc2EcsComputeEnvironment


class BatchJobQueue(Construct):
    """An AWS Batch job queue on managed compute, a container job definition for array jobs,
    the bucket the job reads and writes, an optional schedule and FAILED-job notifications.

    Builds: a VPC (unless ``vpc`` is given: 2 AZs, isolated subnets, no NAT, VPC endpoints for
    S3, ECR and CloudWatch Logs, flow logs), two managed compute environments in queue order,
    Spot first and on-demand second (Fargate Spot then Fargate by default; with
    ``compute="ec2"`` EC2 Spot with ``SPOT_PRICE_CAPACITY_OPTIMIZED`` then on-demand EC2 with
    ``BEST_FIT_PROGRESSIVE``, ``instance_classes`` (default: Batch's defaults for the image's
    architecture) and ``max_vcpus`` as given, on the Amazon Linux 2023 ECS AMI), a job queue,
    an ECS job definition (the ``containers/batch_job`` image asset, or ``repository`` +
    ``tag``), the data bucket (unless ``bucket`` is given), an EventBridge rule that sends FAILED
    job state changes to the alarm topic (once per submission: array children are skipped, their
    parent fails for them), and optionally a schedule that submits the job.

    Secure defaults: the job role may read ``input/*`` and write ``output/*`` of the bucket and
    nothing else; containers run as a non-root user on a read-only root filesystem, without a
    public IP, in subnets with no route to the internet; logs go to a log group kept
    ``log_retention``. The bucket is SSE-S3 encrypted, TLS-only, blocks public access, logs
    access to a separate bucket, expires outputs after ``output_expiration`` and is RETAINed.
    Retries: up to ``retry_attempts`` for Spot reclaims and infrastructure errors; a non-zero
    exit of the job itself (its own failure, e.g. bad input) ends the job at once.

    Cost drivers: compute while jobs run (Fargate vCPU-hours and GB-hours, Spot up to 70% less;
    EC2 instances, Spot or on-demand, scaled to zero when the queue is empty); nothing runs when
    idle except the VPC endpoints of a created VPC (3 interface endpoints x 2 AZs at $0.01/hour,
    about $44/month; 6, about $88/month, with ``compute="ec2"``; the S3 gateway endpoint is
    free), the topic's KMS key ($1/month), S3 storage and log ingestion. It scales to
    ``max_vcpus`` per compute environment.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        vpc_cidr: str = "10.0.0.0/16",
        compute: str = "fargate",
        spot: bool = True,
        on_demand_fallback: bool = True,
        instance_classes: Sequence[ec2.InstanceClass] | None = None,
        max_vcpus: int = 64,
        spot_max_vcpus: int | None = None,
        priority: int = 10,
        image: ecs.ContainerImage | None = None,
        repository: ecr.IRepository | None = None,
        tag: str | None = None,
        container_path: str | Path = DEFAULT_CONTAINER_PATH,
        arm: bool = False,
        vcpus: float = 1,
        memory: Size | None = None,
        timeout: Duration | None = None,
        retry_attempts: int = 3,
        array_size: int = 1,
        bucket: s3.IBucket | None = None,
        bucket_props: Mapping[str, Any] | None = None,
        input_prefix: str = "input/",
        output_prefix: str = "output/",
        output_expiration: Duration | None = DEFAULT_OUTPUT_EXPIRATION,
        schedule: events.Schedule | None = None,
        schedule_input_key: str = "input/compounds.csv",
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """
        :param vpc: an existing VPC. Its ``vpc_subnets`` (default: private with egress) must
            reach ECR, S3 and CloudWatch Logs, through a NAT gateway or VPC endpoints.
        :param vpc_subnets: where jobs run; default the created VPC's isolated subnets.
        :param compute: ``"fargate"`` (nothing to size) or ``"ec2"`` (instance classes).
        :param spot: put a Spot compute environment first in the queue.
        :param on_demand_fallback: add an on-demand environment after the Spot one; Batch
            places jobs there when the Spot one is full or cannot provide capacity. Ignored
            (always on) when not ``spot``.
        :param instance_classes: EC2 instance classes (``compute="ec2"``); default Batch's
            current default classes for the architecture (``default_x86_64`` or
            ``default_arm64``). Give several: Spot capacity is found across many pools.
        :param max_vcpus: the ceiling of each compute environment.
        :param spot_max_vcpus: a lower ceiling for the Spot environment alone (default
            ``max_vcpus``): work beyond it goes to on-demand at once instead of waiting for Spot.
        :param priority: the queue's priority among queues sharing compute (higher first).
        :param image: any container image, instead of the asset.
        :param repository: an ECR repository to take the image from, with ``tag``.
        :param container_path: the folder built as an image asset (``containers/batch_job``).
        :param arm: run on arm64 (Graviton) instead of x86_64.
        :param vcpus: vCPUs per job (Fargate: 0.25, 0.5, 1, 2, 4, 8 or 16).
        :param memory: memory per job (default 2 GiB; Fargate needs a valid vCPU/memory pair).
        :param timeout: per attempt; a hung job is stopped (default 1 hour).
        :param retry_attempts: attempts in all (1-10) for infrastructure failures.
        :param array_size: shards of a scheduled run; the submit tool chooses its own.
        :param bucket: an existing bucket for input and output, instead of creating one.
        :param bucket_props: ``s3.Bucket`` keyword arguments merged over the defaults.
        :param input_prefix: what the job may read. :param output_prefix: what it may write.
        :param output_expiration: expire objects under ``output_prefix`` (None to keep).
        :param schedule: submit a run on this schedule (``events.Schedule.cron(...)``).
        :param schedule_input_key: the object a scheduled run processes (under
            ``input_prefix``, the only place the job may read).
        :param removal_policy: for the bucket and log groups. RETAIN by default.
        :param alarm_topic: an existing topic for FAILED jobs. If it is KMS-encrypted, its key
            policy must let ``events.amazonaws.com`` use the key (kms:GenerateDataKey*, Decrypt).
        :param alarm_email: an address to subscribe to the alarm topic.
        """
        super().__init__(scope, id)
        self.node.set_context(ACCESS_LOGS_BY_BUCKET_POLICY, True)
        self._check_props(
            compute=compute,
            retry_attempts=retry_attempts,
            array_size=array_size,
            max_vcpus=max_vcpus,
            timeout=timeout,
            vcpus=vcpus,
            memory=memory,
            input_prefix=input_prefix,
            output_prefix=output_prefix,
            schedule=schedule,
            schedule_input_key=schedule_input_key,
            image=image,
            repository=repository,
            tag=tag,
        )
        fargate = compute == "fargate"

        self.vpc: ec2.IVpc = vpc or self._vpc(
            vpc_cidr, log_retention, removal_policy, ec2_capacity=not fargate
        )
        # A created VPC has isolated subnets only; a given one is expected to have egress.
        subnets = vpc_subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            if vpc is not None
            else ec2.SubnetType.PRIVATE_ISOLATED
        )
        self.security_group = self._security_group()
        self.compute_environments = self._compute_environments(
            fargate=fargate,
            spot=spot,
            on_demand_fallback=on_demand_fallback,
            instance_classes=instance_classes,
            max_vcpus=max_vcpus,
            spot_max_vcpus=spot_max_vcpus or max_vcpus,
            subnets=subnets,
            arm=arm,
        )
        self.job_queue = self._job_queue(priority)

        check_props("bucket", bucket, "bucket_props", bucket_props)
        self.bucket: s3.IBucket = bucket or self._bucket(
            bucket_props, removal_policy, output_prefix, output_expiration
        )
        self.job_role = self._job_role()
        self._grant_job_access(input_prefix, output_prefix)
        self.log_group = self._log_group(log_retention, removal_policy)
        container = self._container(
            fargate=fargate,
            image=self._image(image, repository, tag, container_path, arm),
            arm=arm,
            vcpus=vcpus,
            memory=memory or Size.gibibytes(2),
        )
        self.job_definition = self._job_definition(
            container,
            timeout=timeout or Duration.hours(1),
            retry_attempts=retry_attempts,
            input_prefix=input_prefix,
            output_prefix=output_prefix,
        )

        self.alarm_topic = ensure_alarm_topic(
            self, "AlarmTopic", topic=alarm_topic, email=alarm_email
        )
        self.failed_rule = self._failed_jobs_rule()
        self.schedule_rule: events.Rule | None = None
        if schedule is not None:
            self.schedule_rule = self._schedule(schedule, schedule_input_key, array_size)
        exempt_inline_policies(self)

    # -- props --------------------------------------------------------------------------------

    @staticmethod
    def _check_props(
        *,
        compute: str,
        retry_attempts: int,
        array_size: int,
        max_vcpus: int,
        timeout: Duration | None,
        vcpus: float,
        memory: Size | None,
        input_prefix: str,
        output_prefix: str,
        schedule: events.Schedule | None,
        schedule_input_key: str,
        image: ecs.ContainerImage | None,
        repository: ecr.IRepository | None,
        tag: str | None,
    ) -> None:
        """Refuse a wrong value in one line that names it, before anything is built: most would
        otherwise fail only at deploy, or (a schedule key the job may not read) at every run."""
        if compute not in ("fargate", "ec2"):
            raise ConfigError(f"compute={compute!r}: expected 'fargate' or 'ec2'")
        if not 1 <= retry_attempts <= 10:
            raise ConfigError(f"retry_attempts={retry_attempts}: Batch allows 1 to 10")
        if not 1 <= array_size <= 10_000:
            raise ConfigError(f"array_size={array_size}: Batch allows 1 to 10,000")
        if max_vcpus < 1:
            raise ConfigError(f"max_vcpus={max_vcpus}: expected 1 or more")
        if timeout is not None and timeout.to_seconds() < 60:
            raise ConfigError(f"timeout={timeout.to_seconds()}s: Batch needs at least 60 seconds")
        memory_mib = (memory or Size.gibibytes(2)).to_mebibytes()
        if compute == "fargate":
            cpu_units = vcpus * 1024
            size_error = (
                fargate_size_error(int(cpu_units), int(memory_mib))
                if cpu_units == int(cpu_units)
                else "a Fargate size: 0.25, 0.5, 1, 2, 4, 8 or 16 vCPUs"
            )
            if size_error is not None:
                raise ConfigError(
                    f"vcpus={vcpus:g}, memory={memory_mib:g} MiB: expected "
                    + size_error.replace("CPU units", "CPU units (1024 per vCPU)")
                )
        elif vcpus < 1 or vcpus != int(vcpus) or memory_mib < 1:
            raise ConfigError(f"vcpus={vcpus:g}: expected a whole number of vCPUs on EC2")
        for name, prefix in (("input_prefix", input_prefix), ("output_prefix", output_prefix)):
            if not prefix.endswith("/") or prefix == "/":
                raise ConfigError(f"{name}={prefix!r}: expected a folder such as 'input/'")
        if schedule is not None and not schedule_input_key.startswith(input_prefix):
            # The job role reads only under input_prefix: every scheduled run would fail.
            raise ConfigError(
                f"schedule_input_key={schedule_input_key!r} is not under "
                f"input_prefix={input_prefix!r}, which is all the job may read"
            )
        if repository is not None and image is None and not tag:
            raise ConfigError("repository needs a tag (an immutable one, such as a git sha)")

    # -- network and compute ------------------------------------------------------------------

    def _vpc(
        self,
        cidr: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        *,
        ec2_capacity: bool,
    ) -> ec2.Vpc:
        """No NAT gateway: jobs reach only AWS services, through endpoints. A NAT gateway
        costs about as much per AZ as the three interface endpoints, and opens the internet."""
        vpc = flow_logged_vpc(
            self,
            "Vpc",
            cidr=cidr,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                ),
            ],
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        services = dict(CONTAINER_ENDPOINTS)
        if ec2_capacity:  # container instances register with ECS
            services.update(ECS_AGENT_ENDPOINTS)
        add_vpc_endpoints(self, vpc, cidr=cidr, services=services)
        return vpc

    def _security_group(self) -> ec2.SecurityGroup:
        """One security group for every job: nothing may connect to a job, and a job may reach
        AWS APIs over HTTPS and nothing else (no database, no other port)."""
        security_group = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=self.vpc,
            description="Batch jobs: no inbound; outbound HTTPS to AWS APIs",
            allow_all_outbound=False,
        )
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs")
        return security_group

    def _compute_environments(
        self,
        *,
        fargate: bool,
        spot: bool,
        on_demand_fallback: bool,
        instance_classes: Sequence[ec2.InstanceClass] | None,
        max_vcpus: int,
        spot_max_vcpus: int,
        subnets: ec2.SubnetSelection,
        arm: bool,
    ) -> list[ComputeEnvironment]:
        """Spot first, then on-demand: the queue tries them in this order for each job."""
        kinds = ([True] if spot else []) + ([False] if on_demand_fallback or not spot else [])
        created: list[ComputeEnvironment] = []
        for use_spot in kinds:
            name = "Spot" if use_spot else "OnDemand"
            common: dict[str, Any] = {
                "vpc": self.vpc,
                "vpc_subnets": subnets,
                "security_groups": [self.security_group],
                "spot": use_spot,
                "maxv_cpus": spot_max_vcpus if use_spot else max_vcpus,
            }
            environment: ComputeEnvironment
            if fargate:
                environment = batch.FargateComputeEnvironment(self, f"Fargate{name}", **common)
            else:
                environment = self._ec2_environment(
                    f"Ec2{name}", common, spot=use_spot, instance_classes=instance_classes, arm=arm
                )
            created.append(environment)
        return created

    def _ec2_environment(
        self,
        id: str,
        common: Mapping[str, Any],
        *,
        spot: bool,
        instance_classes: Sequence[ec2.InstanceClass] | None,
        arm: bool,
    ) -> batch.ManagedEc2EcsComputeEnvironment:
        """EC2 instances that Batch starts for queued jobs and stops when the queue is empty
        (0 vCPUs minimum): instance classes to size by, an AMI that stays supported, and the
        cheapest Spot pools least likely to be reclaimed."""
        classes = list(instance_classes or [])
        environment = batch.ManagedEc2EcsComputeEnvironment(
            self,
            id,
            **common,
            minv_cpus=0,
            # The ECS-optimized Amazon Linux 2023 AMI (Batch picks x86_64 or arm64 by
            # instance type), named so that it does not rest on a feature flag: AL2,
            # the fallback without it, reached end of support in June 2026. Instances
            # move to the latest version of it on each update.
            images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)],
            update_to_latest_image_version=True,
            instance_classes=classes or None,
            # Not Batch's "optimal" (C4, M4, R4: old, and x86 only, so an arm64 image
            # would wait in RUNNABLE for ever) but its current defaults for the image's
            # architecture: m6i/c6i/r6i/c7i or m6g/c6g/r6g/c7g.
            default_instance_classes=None
            if classes
            else [batch.DefaultInstanceClass.ARM64 if arm else batch.DefaultInstanceClass.X86_64],
            # Unset, not False, with default classes: CDK renders the defaults in place
            # of "optimal" then, but its validation ignores default classes and rejects
            # False with no classes (aws-cdk-lib 2.275).
            use_optimal_instance_classes=False if classes else None,
            allocation_strategy=batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
            if spot
            else batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
        )
        if environment.instance_role is not None:
            acknowledge(
                environment.instance_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonEC2ContainerServiceforEC2Role]",
                "The ECS container instance role Batch documents for EC2 compute: it "
                "lets the ECS agent register the instance and pull images; jobs get "
                "their own job role.",
            )
        return environment

    def _job_queue(self, priority: int) -> batch.JobQueue:
        """The queue jobs are submitted to; it offers each job to the compute environments in
        the order given, so Spot is tried before on-demand is paid for."""
        job_queue = batch.JobQueue(self, "JobQueue", priority=priority)
        for order, environment in enumerate(self.compute_environments, start=1):
            job_queue.add_compute_environment(environment, order)
        return job_queue

    # -- data and the job ---------------------------------------------------------------------

    def _bucket(
        self,
        overrides: Mapping[str, Any] | None,
        removal_policy: RemovalPolicy,
        output_prefix: str,
        output_expiration: Duration | None,
    ) -> s3.Bucket:
        """Where inputs are uploaded and outputs written: private, TLS-only, access-logged to a
        bucket of its own, and outputs expired so that reruns do not pile up storage."""
        secure = secure_bucket_props(removal_policy)
        if "server_access_logs_bucket" not in (overrides or {}):
            secure["server_access_logs_bucket"] = access_logs_bucket(
                self,
                "AccessLogs",
                logs_of="the data bucket",
                removal_policy=removal_policy,
                expiration=Duration.days(365),
            )
            secure["server_access_logs_prefix"] = "data/"
        rules = [
            s3.LifecycleRule(
                id="AbortIncompleteUploads",
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ]
        if output_expiration is not None:
            rules.append(
                s3.LifecycleRule(
                    id="ExpireOutputs", prefix=output_prefix, expiration=output_expiration
                )
            )
        bucket = s3.Bucket(
            self,
            "Data",
            **consolidate_props(
                self,
                "bucket_props",
                {**secure, "lifecycle_rules": rules},
                overrides,
                owned=REMOVAL_OWNED,
                secure=SECURE_BUCKET,
            ),
        )
        exempt(
            bucket,
            "Job inputs and outputs with SSE-S3 (S3's own keys), private and TLS-only: SSE-KMS "
            "would bill every read and write and need kms grants on the job role, for readers "
            "IAM already decides. bucket_props can set a KMS key.",
            guard="s3_bucket_default_encryption_kms_check",
        )
        exempt(
            bucket,
            "A working bucket: outputs are recomputed from the inputs by running the job again "
            "and expire by lifecycle; inputs are uploaded copies. Versions would pay to keep "
            "every overwritten shard (bucket_props can turn versioning on).",
            guard="s3_bucket_versioning_enabled_check",
            checkov="CKV_AWS_21",
        )
        exempt_bucket_extras(bucket, "job inputs and outputs")
        return bucket

    def _job_role(self) -> iam.Role:
        """The job's own identity, separate from the execution role that pulls the image and
        writes logs, so that what the code may do is exactly what ``_grant_job_access`` says."""
        return iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="The compounds job: read its input prefix, write its output prefix",
        )

    def _grant_job_access(self, input_prefix: str, output_prefix: str) -> None:
        """Exactly GetObject under the input prefix, PutObject and DeleteObject under the output
        prefix.

        Not ``grant_read``/``grant_put``: those add ``s3:List*``, ``s3:GetBucket*``, object
        ACL, tagging, legal-hold and retention actions the job never uses.
        """
        policy = iam.Policy(
            self,
            "JobPolicy",
            roles=[self.job_role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadInput",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{input_prefix}*")],
                ),
                # DeleteObject: a shard removes its old summary before writing (the summary is
                # its commit marker) and what it wrote when a later write fails.
                iam.PolicyStatement(
                    sid="WriteOutput",
                    actions=["s3:PutObject", "s3:DeleteObject"],
                    resources=[self.bucket.arn_for_objects(f"{output_prefix}*")],
                ),
            ],
        )
        for statement in policy.document.to_json()["Statement"]:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{nag_text(self, statement['Resource'])}]",
                "The job reads any object under its input prefix and writes one object per "
                "shard under its output prefix (deleting them again if the shard fails); keys "
                "are not known before a run, so each is a prefix/* of one bucket.",
            )
        if self.bucket.encryption_key is not None:  # a caller's SSE-KMS bucket
            self.bucket.encryption_key.grant_decrypt(self.job_role)
            self.bucket.encryption_key.grant_encrypt(self.job_role)

    def _log_group(
        self, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> logs.LogGroup:
        """A log group of the queue's own, so its retention and removal are the caller's choice
        (Batch's default group, /aws/batch/job, is shared and kept forever)."""
        log_group = logs.LogGroup(
            self, "JobLogs", retention=retention, removal_policy=removal_policy
        )
        exempt_log_group(log_group, holds="the job's logs (progress and errors, no data)")
        return log_group

    def _image(
        self,
        image: ecs.ContainerImage | None,
        repository: ecr.IRepository | None,
        tag: str | None,
        directory: str | Path,
        arm: bool,
    ) -> ecs.ContainerImage:
        """The image given, a repository's immutable tag, or ``container_path`` built as an
        asset by ``cdk deploy`` (never at synth) for the jobs' architecture."""
        if image is not None:
            return image
        if repository is not None and tag:
            return ecs.ContainerImage.from_ecr_repository(repository, tag)
        asset = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(directory),
            platform=ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64,
            exclude=["**/__pycache__", "**/.pytest_cache", "**/.venv"],
        )
        return ecs.ContainerImage.from_docker_image_asset(asset)

    def _container(
        self,
        *,
        fargate: bool,
        image: ecs.ContainerImage,
        arm: bool,
        vcpus: float,
        memory: Size,
    ) -> batch.IEcsContainerDefinition:
        """The job's container: the job role, not root, a read-only root filesystem (and on
        Fargate no public IP), and a command Batch completes from each submission's parameters."""
        # Batch substitutes Ref::<name> from the submission's parameters, so one definition
        # serves every input; the defaults point at the scheduled run's object.
        command = [
            "run",
            "--input",
            "Ref::input",
            "--output",
            "Ref::output",
            "--shard-count",
            "Ref::shards",
        ]
        common: dict[str, Any] = {
            "image": image,
            "cpu": vcpus,
            "memory": memory,
            "command": command,
            "job_role": self.job_role,
            "readonly_root_filesystem": True,
            "user": "10001",
            "environment": {"PYTHONUNBUFFERED": "1"},
            "logging": ecs.LogDriver.aws_logs(stream_prefix="compounds", log_group=self.log_group),
        }
        if fargate:
            return batch.EcsFargateContainerDefinition(
                self,
                "Container",
                **common,
                assign_public_ip=False,
                fargate_cpu_architecture=ecs.CpuArchitecture.ARM64
                if arm
                else ecs.CpuArchitecture.X86_64,
            )
        return batch.EcsEc2ContainerDefinition(self, "Container", **common)

    def _job_definition(
        self,
        container: batch.IEcsContainerDefinition,
        *,
        timeout: Duration,
        retry_attempts: int,
        input_prefix: str,
        output_prefix: str,
    ) -> batch.EcsJobDefinition:
        """Retries for what capacity did to the job (Spot reclaims, image pulls, task start-up),
        never for what the job did itself; a timeout per attempt; defaults for the parameters
        that point at the bucket's input and output prefixes."""
        bucket = self.bucket.bucket_name
        definition = batch.EcsJobDefinition(
            self,
            "JobDefinition",
            container=container,
            timeout=timeout,
            retry_attempts=retry_attempts,
            retry_strategies=[batch.RetryStrategy.of(batch.Action.RETRY, r) for r in _RETRY_ON]
            # Anything the job exits non-zero on is its own failure: retrying repeats it.
            + [batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.NON_ZERO_EXIT_CODE)],
            propagate_tags=True,
            parameters={
                "input": f"s3://{bucket}/{input_prefix}compounds.csv",
                "output": f"s3://{bucket}/{output_prefix}",
                "shards": "1",
            },
        )
        execution_policy = container.execution_role.node.try_find_child("DefaultPolicy")
        if execution_policy is not None:
            acknowledge(
                execution_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions; the image pull "
                "actions themselves are limited to the image's repository.",
            )
        return definition

    # -- notifications and the schedule -------------------------------------------------------

    def _failed_jobs_rule(self) -> events.Rule:
        """Batch reports a failed job as an EventBridge event; this rule turns each into one
        message on the alarm topic, naming the job and Batch's reason."""
        # A fixed name, so the topic's and key's policies can name this rule's ARN: the key
        # policy cannot reference the rule (the rule references the topic, the topic the key).
        name = Names.unique_resource_name(self, max_length=56) + "-failed"
        rule = events.Rule(
            self,
            "FailedJobs",
            rule_name=name,
            description="FAILED compounds jobs (not array children) to the alarm topic",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={
                    "status": ["FAILED"],
                    "jobQueue": [self.job_queue.job_queue_arn],
                    # Children of an array job carry arrayProperties.index; the parent fails
                    # once when any child fails. Matching the parent (and plain jobs) only
                    # sends one message per submission, not one per shard: a bad input in a
                    # 1,000-shard run is one e-mail, not 1,001.
                    "arrayProperties": {"index": events.Match.does_not_exist()},
                },
            ),
        )
        self._allow_publish_from(name)
        rule.add_target(
            _ConditionedSnsTopic(
                self.alarm_topic,
                events.RuleTargetInput.from_text(
                    f"Batch job {events.EventField.from_path('$.detail.jobName')} "
                    f"({events.EventField.from_path('$.detail.jobId')}) FAILED: "
                    f"{events.EventField.from_path('$.detail.statusReason')}"
                ),
            )
        )
        exempt(
            rule,
            "The target is the alarm topic itself: EventBridge retries a failed delivery for "
            "24 hours, and the failed job stays in AWS Batch's job history with its reason. A "
            "dead-letter queue for an alarm that could not be sent would be read by no one.",
            nag="Serverless-EventBusDLQ",
        )
        return rule

    def _allow_publish_from(self, rule_name: str) -> None:
        """Let EventBridge publish to the alarm topic, and use its key, for this rule only
        (aws:SourceArn and aws:SourceAccount), so no other rule or account can post alarms.
        Without the key grant every delivery fails silently (only the rule's FailedInvocations
        metric shows it). A topic passed in by ARN needs both done by its owner (docstring)."""
        principal = iam.ServicePrincipal(
            "events.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                "ArnEquals": {
                    "aws:SourceArn": Stack.of(self).format_arn(
                        service="events", resource="rule", resource_name=rule_name
                    )
                },
            },
        )
        self.alarm_topic.grant_publish(principal)

    def _schedule(self, schedule: events.Schedule, input_key: str, array_size: int) -> events.Rule:
        """An EventBridge rule, not EventBridge Scheduler: Scheduler has no Batch target of its
        own (only the universal SDK target), while the rule target sets array size, retries and
        the parameters natively."""
        rule = events.Rule(
            self, "Schedule", description="Submits the compounds job", schedule=schedule
        )
        bucket = self.bucket.bucket_name
        rule.add_target(
            targets.BatchJob(
                self.job_queue.job_queue_arn,
                self.job_queue,
                self.job_definition.job_definition_arn,
                self.job_definition,
                job_name="compounds-scheduled",
                size=array_size if array_size > 1 else None,
                event=events.RuleTargetInput.from_object(
                    {
                        "Parameters": {
                            "input": f"s3://{bucket}/{input_key}",
                            "shards": str(array_size),
                        }
                    }
                ),
                retry_attempts=4,
                max_event_age=Duration.hours(2),
            )
        )
        return rule


class BatchJobsStack(Stack):
    """Deploys one ``BatchJobQueue``. Context keys (``BatchJobs:<key>`` or ``<key>``):
    ``removal_policy`` (retain|destroy), ``alarm_email``, ``compute`` (fargate|ec2), ``spot``,
    ``max_vcpus``, ``instance_classes`` (comma-separated, e.g. ``c7g,m7g``), ``vcpus``,
    ``memory_mib``, ``timeout_minutes``, ``retry_attempts``, ``arm``, ``array_size``,
    ``schedule`` (a cron or rate expression; none by default)."""

    CONTEXT_KEYS = (
        "removal_policy",
        "alarm_email",
        "compute",
        "spot",
        "max_vcpus",
        "instance_classes",
        "arm",
        "vcpus",
        "memory_mib",
        "timeout_minutes",
        "retry_attempts",
        "array_size",
        "schedule",
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
        schedule = config.get_schedule("schedule", None, at=False)
        compute = config.get_choice("compute", "fargate", ("fargate", "ec2"))
        instance_classes = []
        for name in config.get_list("instance_classes", []):
            try:
                instance_classes.append(ec2.InstanceClass[name.upper()])
            except KeyError:
                raise config.fail(
                    "instance_classes", name, "EC2 instance classes such as c7g,m7g"
                ) from None
        vcpus = config.get_float("vcpus", 1)  # Fargate takes 0.25 and 0.5 too
        memory_mib = config.get_int("memory_mib", 2048, minimum=1)
        if compute == "fargate":
            units = vcpus * 1024
            if units not in FARGATE_MEMORY_MIB:
                sizes = ", ".join(f"{u / 1024:g}" for u in FARGATE_MEMORY_MIB)
                raise config.fail("vcpus", vcpus, f"a Fargate size, one of {sizes}")
            if fargate_size_error(int(units), memory_mib) is not None:
                allowed = FARGATE_MEMORY_MIB[int(units)]
                raise config.fail(
                    "memory_mib",
                    memory_mib,
                    f"with vcpus={vcpus:g} on Fargate, {allowed.start} to {allowed[-1]} "
                    f"in steps of {allowed.step}",
                )
        elif vcpus < 1 or vcpus != int(vcpus):
            raise config.fail(
                "vcpus", vcpus, "a whole number of vCPUs (1 or more) with compute=ec2"
            )
        queue = BatchJobQueue(
            self,
            "Compounds",
            compute=compute,
            spot=config.get_bool("spot", True),
            max_vcpus=config.get_int("max_vcpus", 64, minimum=1),
            instance_classes=instance_classes,
            arm=config.get_bool("arm", False),
            vcpus=vcpus,
            memory=Size.mebibytes(memory_mib),
            timeout=Duration.minutes(config.get_int("timeout_minutes", 60, minimum=1)),
            retry_attempts=config.get_int("retry_attempts", 3, minimum=1, maximum=10),
            array_size=config.get_int("array_size", 1, minimum=1, maximum=10_000),
            schedule=events.Schedule.expression(schedule) if schedule else None,
            removal_policy=config.removal_policy(),
            alarm_email=config.get_email(),
        )
        CfnOutput(self, "JobQueueArn", value=queue.job_queue.job_queue_arn)
        CfnOutput(self, "JobDefinitionArn", value=queue.job_definition.job_definition_arn)
        CfnOutput(self, "DataBucket", value=queue.bucket.bucket_name)
        CfnOutput(self, "LogGroup", value=queue.log_group.log_group_name)
        CfnOutput(self, "AlarmTopicArn", value=queue.alarm_topic.topic_arn)


@jsii.implements(events.IRuleTarget)
class _ConditionedSnsTopic:
    """``targets.SnsTopic`` without its grant: that one lets every EventBridge rule of any
    account publish (no condition); ``BatchJobQueue._allow_publish_from`` grants instead."""

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self._topic, self._message = topic, message

    def bind(
        self,
        rule: events_refs.IRuleRef,
        id: str | None = None,
    ) -> events.RuleTargetConfig:
        del rule, id  # the grant is the rule's own (BatchJobQueue._allow_publish_from)
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn, input=self._message, target_resource=self._topic
        )
