"""Checks of configuration values, wherever they come from (CDK context or a construct's
props), and the one-line error a wrong value raises.

Each ``*_error`` function says why a value cannot work, or returns None; ``check`` turns that into
the ``ConfigError`` of a construct prop, ``ContextConfig`` (``config.py``) into that of a context
key.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from aws_cdk import Token


class ConfigError(ValueError):
    """A configuration value that cannot work, said in one line: the key, the value, and what
    is expected. ``app.py`` prints it as ``error: <message>`` and exits 2, with no traceback."""


class UnavailableHere(ConfigError):
    """A stack that cannot exist in the environment it was given (Lightsail in us-west-1). The
    app adds how to synthesize the other stacks without it."""


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


_ARN = re.compile(r"^arn:aws(-[a-z]+)*:([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$")


# An AWS account id and a region name, as the app, the environment files and the OIDC role read
# them: one spelling of each.
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION_NAME = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


_ZONE = re.compile(r"^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)([a-z])$")


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#\-]+$")


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")


# get_matching arguments for a context key naming an existing bucket (S3's naming rules).
S3_BUCKET_NAME = (
    r"(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    "an S3 bucket name (3-63 of a-z 0-9 . -)",
)


# Fargate's task sizes: CPU units -> the memory (MiB) each allows (AWS Fargate "task CPU and
# memory" table). AWS Batch on Fargate takes the same pairs, in vCPUs.
FARGATE_MEMORY_MIB: Mapping[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


def fargate_size_error(cpu_units: int, memory_mib: int) -> str | None:
    """Why Fargate refuses ``cpu_units``/``memory_mib``, or None when it takes them."""
    if cpu_units not in FARGATE_MEMORY_MIB:
        return f"a Fargate CPU size, one of {list(FARGATE_MEMORY_MIB)} CPU units"
    allowed = FARGATE_MEMORY_MIB[cpu_units]
    if memory_mib not in allowed:
        return (
            f"with {cpu_units} CPU units, Fargate memory from {allowed.start} to "
            f"{allowed[-1]} MiB in steps of {allowed.step}"
        )
    return None


def schedule_error(expression: str, *, at: bool) -> str | None:
    """Why EventBridge (``at=False``) or EventBridge Scheduler (``at=True``) would reject a
    schedule expression, or None when it is well formed."""
    expected = "cron(min hour day month weekday year), rate(N minutes|hours|days)" + (
        " or at(yyyy-mm-ddThh:mm:ss)" if at else ""
    )
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split()
        if (
            len(fields) == 6
            and all(_CRON_FIELD.match(f) for f in fields)
            and (fields[2] == "?") != (fields[4] == "?")
        ):
            return None
        return f"{expected}; a cron has 6 fields and '?' in exactly one of day or weekday"
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value >= 1 and (value == 1) != unit.endswith("s"):
            return None
        return f"{expected}; rate(1 hour) is singular, rate(2 hours) plural, and N >= 1"
    if at and _AT.match(text):
        return None
    return expected


def time_zone_error(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone, or None."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone such as UTC or Europe/Paris"
    return None


def cidr_error(cidr: str) -> str | None:
    """Why ``cidr`` is not a network in CIDR notation (host bits set included), or None."""
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as err:
        return f"a CIDR such as 203.0.113.0/24 ({err})"
    return None


def arn_error(arn: str, service: str, resource: str = "") -> str | None:
    """Why ``arn`` is not an ARN of ``service`` whose resource starts with ``resource``, or
    None. Tokens (an ARN from another construct) are accepted as they are."""
    if Token.is_unresolved(arn):
        return None
    match = _ARN.match(arn)
    if match is None or match.group(2) != service or not match.group(5).startswith(resource):
        return f"an ARN like arn:aws:{service}:<region>:<account>:{resource}..."
    return None


def origin_error(origin: str) -> str | None:
    """Why ``origin`` is not a CORS origin (scheme, host, optional port, no path), or None."""
    return (
        None
        if _ORIGIN.match(origin)
        else "origins with a scheme and no path, like https://app.example.com"
    )


def email_error(email: str) -> str | None:
    return None if _EMAIL.match(email) else "an e-mail address like ops@example.com"


def zone_error(zone: str, region: str) -> str | None:
    """Why ``zone`` is not an availability zone of ``region`` (any region if unresolved)."""
    match = _ZONE.match(zone)
    if match is None:
        return "an availability zone name like eu-west-1a"
    if not Token.is_unresolved(region) and match.group(1) != region:
        return f"an availability zone of the stack's region {region}"
    return None


def check(prop: str, value: Any, error: str | None) -> None:
    """Raise the one-line ConfigError of a construct prop when ``error`` says what is wrong."""
    if error is not None:
        raise ConfigError(f"{prop}={value!r}: expected {error}")
