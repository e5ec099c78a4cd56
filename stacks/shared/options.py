"""Option groups more than one construct takes, spelled once: where alarms go
(``AlarmOptions``), a Lambda handler's code and sizing (``FunctionOptions``), the network of a
VPC-bound construct (``NetworkOptions``), a container image and its architecture
(``ImageOptions``, ``Architecture``), and the image step that turns one into an
``ecs.ContainerImage`` (``container_image``).

A group is a frozen keyword-only dataclass. A field left ``None`` takes the construct's own
default, which the construct states once (``with_defaults``), so a construct's docstring is the
one place its defaults are written. A pattern-only group lives in its pattern's module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from .checks import ConfigError
from .defaults import DEFAULT_LOG_RETENTION

_Group = TypeVar("_Group")

# What an image asset never needs: byte-compiled files and local caches change the asset hash
# without changing the image.
IMAGE_ASSET_EXCLUDE = ("**/__pycache__", "**/.pytest_cache", "**/.venv")


def with_defaults(options: _Group, defaults: _Group) -> _Group:
    """``options`` with every field it left ``None`` taken from ``defaults``: the construct's
    own defaults, written once, under whatever the caller set."""
    unset = {
        f.name: getattr(defaults, f.name)
        for f in fields(options)  # type: ignore[arg-type]
        if getattr(options, f.name) is None
    }
    return replace(options, **unset)  # type: ignore[type-var]


@dataclass(frozen=True, kw_only=True)
class AlarmOptions:
    """Where the construct's alarms notify: an existing ``topic``, or a topic it creates, with
    ``email`` subscribed when given. Not both."""

    topic: sns.ITopic | None = None
    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class FunctionOptions:
    """A Lambda handler's code and sizing. ``None`` is the construct's default (its docstring
    names it); ``reserved_concurrency`` ``None`` reserves none."""

    code_path: str | Path | None = None
    memory_size: int | None = None
    timeout: Duration | None = None
    reserved_concurrency: int | None = None
    log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION
    architecture: lambda_.Architecture | None = None


@dataclass(frozen=True, kw_only=True)
class NetworkOptions:
    """The VPC a construct runs in: an existing ``vpc`` (and the ``subnets`` to use in it), or a
    flow-logged one it creates on ``vpc_cidr`` with ``nat_gateways`` (0: private subnets reach AWS
    through endpoints only)."""

    vpc: ec2.IVpc | None = None
    subnets: ec2.SubnetSelection | None = None
    vpc_cidr: str = "10.0.0.0/16"
    nat_gateways: int = 0

    def check(self, group: str = "network") -> None:
        """Refuse what would be dropped: the shape of a VPC that is not created."""
        if self.vpc is not None and (self.vpc_cidr != NetworkOptions.vpc_cidr or self.nat_gateways):
            raise ConfigError(
                f"{group}.vpc given with {group}.vpc_cidr={self.vpc_cidr!r} and "
                f"{group}.nat_gateways={self.nat_gateways}: those shape the VPC the construct "
                "creates, and none is created when vpc is given; drop them or drop vpc"
            )
        if self.vpc is None and self.subnets is not None:
            raise ConfigError(
                f"{group}.subnets given without {group}.vpc: the subnets of the VPC the "
                "construct creates are chosen by the construct; give the vpc they belong to"
            )


class Architecture(enum.StrEnum):
    """A container's CPU architecture; the image must be built for it (the default image asset
    is). An enum of our own because ``ecs.CpuArchitecture`` values cannot be compared in Python."""

    ARM64 = "arm64"
    """Graviton: about 20% cheaper than x86_64 on Fargate for the same vCPU and memory."""
    X86_64 = "x86_64"

    @property
    def cpu(self) -> ecs.CpuArchitecture:
        return (
            ecs.CpuArchitecture.ARM64 if self is Architecture.ARM64 else ecs.CpuArchitecture.X86_64
        )

    @property
    def platform(self) -> ecr_assets.Platform:
        return (
            ecr_assets.Platform.LINUX_ARM64
            if self is Architecture.ARM64
            else ecr_assets.Platform.LINUX_AMD64
        )


@dataclass(frozen=True, kw_only=True)
class ImageOptions:
    """A container image: a ready ``image``; or ``tag`` (immutable) of ``repository``; or, by
    default, ``directory`` built as an image asset by ``cdk deploy`` (never at synth) for
    ``architecture``. ``None`` fields take the construct's defaults."""

    image: ecs.ContainerImage | None = None
    repository: ecr.IRepository | None = None
    tag: str | None = None
    directory: str | Path | None = None
    architecture: Architecture | None = None

    def check(self, group: str = "image") -> None:
        if self.image is not None and (self.repository is not None or self.directory is not None):
            raise ConfigError(
                f"{group}.image given with {group}.repository or {group}.directory: the image "
                "is used as given; give one source of the image"
            )
        if (self.repository is None) != (self.tag is None) and self.image is None:
            raise ConfigError(
                f"{group}.repository={_name(self.repository)} and {group}.tag={self.tag!r}: "
                "a repository image needs both (the tag an immutable one the pipeline pushed)"
            )


def _name(value: Any) -> str:
    return "None" if value is None else "given"


def container_image(
    scope: Construct, id: str, options: ImageOptions, group: str = "image"
) -> tuple[ecs.ContainerImage, str | None]:
    """The image of ``options`` (defaults filled in) and the version it is known by: the tag;
    the asset's hash for a built directory; ``None`` for an image given whole."""
    options.check(group)
    if options.image is not None:
        return options.image, options.tag
    if options.repository is not None and options.tag:
        return ecs.ContainerImage.from_ecr_repository(options.repository, options.tag), options.tag
    if options.directory is None or options.architecture is None:
        raise ConfigError(f"{group}.directory: expected the folder of a Dockerfile")
    asset = ecr_assets.DockerImageAsset(
        scope,
        id,
        directory=str(options.directory),
        platform=Architecture(options.architecture).platform,
        exclude=list(IMAGE_ASSET_EXCLUDE),
    )
    return ecs.ContainerImage.from_docker_image_asset(asset), asset.asset_hash
