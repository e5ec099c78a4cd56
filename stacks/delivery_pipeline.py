"""Delivery on AWS: a CDK Pipelines ``CodePipeline`` in a tools account that tests every commit
of one branch, synthesizes the app and deploys it to each environment of config/ in order, with a
manual approval before the ones that need it (prod).

``DeliveryPipeline`` is the construct (the pipeline, its source and synth step, and
``add_environment``); ``EnvironmentStage`` is one environment's stacks, configured by its file;
``DeliveryPipelineStack`` wires them for ``cdk deploy DeliveryPipeline -c stacks=DeliveryPipeline``.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    CfnResource,
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    Stage,
    pipelines,
)
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .environments import EnvironmentFile
from .shared import (
    ACCESS_LOGS_BY_BUCKET_POLICY,
    DEFAULT_LOG_RETENTION,
    ConfigError,
    ContextConfig,
    access_logs_bucket,
    exempt,
    exempt_bucket_extras,
    exempt_log_group,
    secure_bucket_props,
)

ROOT = Path(__file__).resolve().parent.parent
# The CDK CLI the pipeline's own steps install: the version package.json pins for `make`.
CDK_CLI_VERSION = str(json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"])
# The README's set-up and test command (`make test` sets up first), then the synth the
# pipeline deploys from; `make synth` writes cdk.out, the step's output.
TEST_COMMAND = "make test"
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
_BRANCH = re.compile(r"^(?!/)(?!.*(?:\.\.|//|@\{))[A-Za-z0-9._/-]{1,255}(?<![/.])$")


class EnvironmentStage(Stage):
    """One environment: the app's pattern stacks, in the file's account and region, each with
    its usual name (one environment per account and region), configured by the file's context
    below ``-c``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment: EnvironmentFile,
        stacks: Mapping[str, type[Stack]],
    ) -> None:
        super().__init__(
            scope, id, env=Environment(account=environment.account, region=environment.region)
        )
        environment.apply(self)
        for name, stack_class in stacks.items():
            stack_class(self, name, stack_name=name, description=f"aws-cdk reference stack: {name}")


class DeliveryPipeline(Construct):
    """A self-updating CDK pipeline: source from a CodeStar (CodeConnections) connection to
    GitHub, a synth step that runs the README's set-up and test commands and then ``cdk synth``,
    and the environments added with ``add_environment``, in order.

    Secure defaults: ``cross_account_keys`` (a KMS key, rotated yearly, encrypts the artifact
    bucket so each environment's account reads only through the CDK bootstrap roles it trusts
    the tools account with), no Docker in the synth step, no credentials in the build (each
    deploy assumes the target account's bootstrap roles), change sets so a deploy is reviewable.

    Cost: CodePipeline V2 bills per action-minute (the first 100 a month free), CodeBuild per
    build-minute of the synth and asset steps (``make test`` on a medium Linux instance takes a
    few minutes), plus the KMS key ($1/month) and the artifact bucket's storage. Prices: the
    AWS CodePipeline and CodeBuild pricing pages; durations are assumptions.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: str,
        connection_arn: str,
        branch: str = "main",
        synth_args: Sequence[str] = (),
        compute_type: codebuild.ComputeType = codebuild.ComputeType.MEDIUM,
        cli_version: str = CDK_CLI_VERSION,
    ) -> None:
        super().__init__(scope, id)
        self.node.set_context(ACCESS_LOGS_BY_BUCKET_POLICY, True)
        if not _REPOSITORY.match(repository):
            raise ConfigError(f"repository={repository!r}: expected owner/name, no wildcards")
        if not _BRANCH.match(branch):
            raise ConfigError(f"branch={branch!r}: expected a branch name such as main")
        self.source = pipelines.CodePipelineSource.connection(
            repository, branch, connection_arn=connection_arn
        )
        synth = pipelines.ShellStep(
            "Synth",
            input=self.source,
            commands=[
                TEST_COMMAND,
                f"make synth CDK_ARGS={shlex.quote(shlex.join(synth_args))}",
            ],
            primary_output_directory="cdk.out",
        )
        self.artifact_bucket = self._artifact_bucket()
        self.log_group = logs.LogGroup(
            self, "BuildLogs", retention=DEFAULT_LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        exempt_log_group(self.log_group, holds="the pipeline's build and test output")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=synth,
            artifact_bucket=self.artifact_bucket,
            cross_account_keys=True,
            enable_key_rotation=True,
            pipeline_type=codepipeline.PipelineType.V2,
            cli_version=cli_version,
            use_change_sets=True,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=compute_type,
                ),
                timeout=Duration.minutes(60),
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
                ),
            ),
        )

    def _artifact_bucket(self) -> s3.Bucket:
        """What the stages pass between them (the source, the cloud assembly, assets): a KMS key
        of its own, rotated yearly, that the target accounts' bootstrap roles are granted (the
        cross-account keys of CDK Pipelines), versions kept 30 days, access logged."""
        key = kms.Key(
            self,
            "ArtifactsKey",
            enable_key_rotation=True,
            description="CDK pipeline artifacts, read cross-account by the deploy roles",
            removal_policy=RemovalPolicy.RETAIN,
        )
        logs_bucket = access_logs_bucket(
            self,
            "ArtifactsAccessLogs",
            logs_of="the pipeline's artifact bucket",
            removal_policy=RemovalPolicy.RETAIN,
            expiration=Duration.days(365),
        )
        bucket = s3.Bucket(
            self,
            "Artifacts",
            **{
                **secure_bucket_props(RemovalPolicy.RETAIN),
                "encryption": s3.BucketEncryption.KMS,
                "encryption_key": key,
                "bucket_key_enabled": True,
                "versioned": True,
                "server_access_logs_bucket": logs_bucket,
                "server_access_logs_prefix": "artifacts/",
                "lifecycle_rules": [
                    s3.LifecycleRule(
                        id="ExpireOldArtifacts",
                        expiration=Duration.days(90),
                        noncurrent_version_expiration=Duration.days(30),
                        abort_incomplete_multipart_upload_after=Duration.days(1),
                    )
                ],
            },
        )
        exempt_bucket_extras(bucket, "the pipeline's artifacts (sources, cloud assemblies)")
        return bucket

    def add_environment(self, stage: Stage, *, approve: bool) -> None:
        """Deploy ``stage`` after the environments added before it; when ``approve``, only once
        someone approves it in the CodePipeline console."""
        pre: list[pipelines.Step] = (
            [pipelines.ManualApprovalStep(f"Approve{stage.stage_name}")] if approve else []
        )
        self.pipeline.add_stage(stage, pre=pre)

    def build(self) -> None:
        """Build the pipeline once every environment is added, and record the exceptions of
        what CDK Pipelines generated."""
        self.pipeline.build_pipeline()
        for policy in self.pipeline.node.find_all():
            if isinstance(policy, iam.Policy):
                nag, checkov = _wildcard_findings(policy)
                if not nag and not checkov:
                    continue
                exempt(
                    policy,
                    "Grants CDK Pipelines generates for one step's role: s3 Get*/List*/"
                    "DeleteObject*/Abort* on this pipeline's artifact bucket and its objects, "
                    "kms GenerateDataKey*/ReEncrypt* on its key, the step's own CodeBuild log "
                    "group and report groups, and for the self-update and asset steps "
                    "cloudformation:DescribeStacks, codebuild builds and this account's CDK "
                    "bootstrap roles, which CDK names only at deploy time.",
                    nag=nag,
                    checkov=checkov,
                )
        # CDK Pipelines spells the deploy actions' role ARNs with Fn::Join around
        # AWS::Partition, which cfn-lint would have as Fn::Sub; the value is the same.
        cfn_pipeline = self.pipeline.pipeline.node.default_child
        assert isinstance(cfn_pipeline, CfnResource)
        cfn_pipeline.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3703"]}})
        exempt(
            self.artifact_bucket.encryption_key or self.artifact_bucket,
            "The key policy's first statement is KMS's default, delegating the key to this "
            "account's IAM policies (kms:* for the account root, CreateGrant included); no "
            "principal outside the account gets more than Decrypt/DescribeKey (the target "
            "accounts' deploy roles).",
            guard="kms_create_grant_aws_service_check",
        )


def _wildcard_findings(policy: iam.Policy) -> tuple[list[str], list[str]]:
    """The AwsSolutions-IAM5 finding ids of ``policy``'s wildcards (as cdk-nag spells them),
    and checkov's CKV_AWS_111 when a statement writes to ``*``."""
    document = Stack.of(policy).resolve(policy.document)
    nag: set[str] = set()
    writes_anywhere = False
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if not isinstance(resources, list) else resources
        nag |= {f"AwsSolutions-IAM5[Action::{a}]" for a in actions if "*" in a}
        spelled = [_nag_spelling(r) for r in resources]
        nag |= {f"AwsSolutions-IAM5[Resource::{r}]" for r in spelled if "*" in r}
        if "*" in resources and any(
            not a.split(":")[-1].startswith(("Describe", "Get", "List", "BatchGet"))
            for a in actions
        ):
            writes_anywhere = True
    return sorted(nag), ["CKV_AWS_111"] if writes_anywhere else []


def _nag_spelling(value: Any) -> str:
    """A resolved value as cdk-nag spells it in a finding id (``shared.nag_text``'s rules)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        if name == "Ref":
            return f"<{arg}>"
        if name == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if name == "Fn::Join":
            return str(arg[0]).join(_nag_spelling(p) for p in arg[1])
        if name == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}]+)\}", r"<\1>", arg)
    raise ValueError(f"cannot spell {value!r} as cdk-nag does")


class DeliveryPipelineStack(Stack):
    """Deploys a ``DeliveryPipeline`` to the tools account (``-c account= -c region=``), with one
    stage per environment file. Context keys (``DeliveryPipeline:<key>``): ``connection_arn``
    (required: a CodeStar/CodeConnections connection to GitHub), ``repository`` (owner/name,
    required), ``branch`` (default main), ``environments`` (in deploy order, default dev,prod),
    ``approve`` (environments that wait for a manual approval, default prod), ``stage_stacks``
    (the pattern stacks each stage deploys, default all)."""

    CONTEXT_KEYS = (
        "connection_arn",
        "repository",
        "branch",
        "environments",
        "approve",
        "stage_stacks",
    )

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        # Imported here: the app imports this module, and the stages are the app's stacks.
        from .app import STACKS
        from .environments import ENV, load_environments

        if self.node.try_get_context(ENV) is not None:
            raise ConfigError(
                f"context {ENV}={self.node.try_get_context(ENV)!r}: the pipeline deploys every "
                "environment with its own file; leave env out with -c stacks=DeliveryPipeline"
            )
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        connection_arn = self._required(config, "connection_arn")
        if not re.fullmatch(
            r"arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:"
            r"connection/[0-9a-f-]{36}",
            connection_arn,
        ):
            raise config.fail(
                "connection_arn",
                connection_arn,
                "an ARN like arn:aws:codeconnections:<region>:<account>:connection/<uuid>",
            )
        repository = self._required(config, "repository")
        if not _REPOSITORY.match(repository):
            raise config.fail("repository", repository, "owner/name, one repository, no wildcards")
        branch = config.get_str("branch", "main")
        if not _BRANCH.match(branch):
            raise config.fail("branch", branch, "a branch name such as main")
        names = config.get_list("environments", ["dev", "prod"])
        environments = load_environments(names)
        places = [(e.account, e.region) for e in environments]
        if len(set(places)) != len(places):
            raise config.fail(
                "environments", ",".join(names), "environments in different accounts or regions"
            )
        approve = config.get_list("approve", [n for n in ("prod",) if n in names])
        if not set(approve) <= set(names):
            raise config.fail("approve", ",".join(approve), f"some of {', '.join(names)}")
        wanted = config.get_list("stage_stacks", list(STACKS))
        if not wanted or not set(wanted) <= set(STACKS):
            raise config.fail("stage_stacks", ",".join(wanted), f"some of {', '.join(STACKS)}")
        stacks = {name: STACKS[name] for name in STACKS if name in wanted}

        pipeline = DeliveryPipeline(
            self,
            "Delivery",
            repository=repository,
            connection_arn=connection_arn,
            branch=branch,
            synth_args=self._synth_args(config, connection_arn, repository, branch),
        )
        for environment in environments:
            stage = EnvironmentStage(
                self,
                environment.name.title().replace("-", ""),
                environment=environment,
                stacks=stacks,
            )
            pipeline.add_environment(stage, approve=environment.name in approve)
        pipeline.build()
        CfnOutput(self, "PipelineName", value=pipeline.pipeline.pipeline.pipeline_name)

    @staticmethod
    def _required(config: ContextConfig, key: str) -> str:
        value = config.get_optional_str(key)
        if value is None:
            raise config.fail(key, None, "a value (the DeliveryPipeline needs it)")
        return value

    def _synth_args(
        self, config: ContextConfig, connection_arn: str, repository: str, branch: str
    ) -> list[str]:
        """The context this synth was given, for the pipeline's own synth: it must build the
        same pipeline (each value was checked above, so none needs more than shell quoting)."""
        args = ["-c", "stacks=DeliveryPipeline"]
        for key in ("account", "region"):
            value = self.node.try_get_context(key)
            if value:
                args += ["-c", f"{key}={value}"]
        values = {
            "connection_arn": connection_arn,
            "repository": repository,
            "branch": branch,
            **{
                key: ",".join(config.get_list(key, []))
                for key in ("environments", "approve", "stage_stacks")
                if config.get_list(key, [])
            },
        }
        for key, value in values.items():
            args += ["-c", f"DeliveryPipeline:{key}={value}"]
        return args
