"""Configuration from CDK context: ``ContextConfig``, a stack's typed and validated reads of
the keys it declares, and ``unknown_context_error``, with which the app refuses a key that no
stack reads."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from aws_cdk import RemovalPolicy
from constructs import Construct

from .checks import (
    ACCOUNT_ID,
    ConfigError,
    arn_error,
    cidr_error,
    email_error,
    origin_error,
    schedule_error,
    time_zone_error,
    zone_error,
)

# Not SNAPSHOT: CloudFormation snapshots volumes and databases, none of which a pattern here
# creates; a stack asked for it would fail to deploy.
_REMOVAL_POLICIES = {
    "retain": RemovalPolicy.RETAIN,
    "destroy": RemovalPolicy.DESTROY,
}


class ContextValueError(ConfigError):
    """A wrong context value, with the context ``name`` it was read from (``<Stack>:<key>`` or
    ``<key>``), the value and what is expected: the app names an environment file with them."""

    def __init__(
        self, message: str, *, name: str = "", value: Any = None, expected: str = ""
    ) -> None:
        super().__init__(message)
        self.name = name
        self.value = value
        self.expected = expected


_USER_POOL_ID = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9A-Za-z]+$")


class ContextConfig:
    """Typed, validated reads of CDK context for one stack.

    A key is looked up as ``<Stack>:<key>`` first, then as the plain ``<key>`` shared by
    every stack, then falls back to the default. Values from ``cdk -c`` arrive as strings;
    values from cdk.json keep their JSON type; both are accepted. A value that cannot work
    raises ConfigError naming the key, the value and what is expected.

    ``keys`` are the keys the stack declares (its ``CONTEXT_KEYS``); the app refuses context
    that no stack declares, so reading an undeclared key is a bug and raises KeyError.
    """

    def __init__(self, scope: Construct, prefix: str, keys: Collection[str] | None = None) -> None:
        self._scope = scope
        self._prefix = prefix
        self._keys = None if keys is None else frozenset(keys)
        # key -> the context name its value was read from, so an error can say where it came
        # from (an environment file names itself: stacks/environments.py).
        self._found: dict[str, str] = {}

    def _raw(self, key: str) -> Any:
        if self._keys is not None and key not in self._keys:
            raise KeyError(f"{self._prefix} reads context {key!r} but does not declare it")
        for name in (f"{self._prefix}:{key}", key):
            value = self._scope.node.try_get_context(name)
            if value is not None:
                self._found[key] = name
                return value
        return None

    def fail(self, key: str, value: Any, expected: str) -> ConfigError:
        """The error for ``key``: ``context <Stack>:<key>=<value>: expected <expected>``."""
        return ContextValueError(
            f"context {self._prefix}:{key}={value!r}: expected {expected}",
            name=self._found.get(key, f"{self._prefix}:{key}"),
            value=value,
            expected=expected,
        )

    def _checked(self, key: str, value: Any, error: str | None) -> None:
        if error is not None:
            raise self.fail(key, value, error)

    def get_str(self, key: str, default: str) -> str:
        value = self._raw(key)
        return default if value is None else str(value)

    def get_optional_str(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value in (None, "") else str(value)

    def get_choice(self, key: str, default: str, choices: Collection[str]) -> str:
        """One of ``choices`` (compared in lower case)."""
        value = self.get_str(key, default).strip().lower()
        if value not in choices:
            raise self.fail(key, value, f"one of {', '.join(choices)}")
        return value

    def get_matching(self, key: str, pattern: str, expected: str) -> str | None:
        """An optional string matching the regular expression ``pattern`` in full."""
        value = self.get_optional_str(key)
        if value is not None and not re.fullmatch(pattern, value):
            raise self.fail(key, value, expected)
        return value

    def get_int(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self._raw(key)
        if value is None:
            return default
        expected = "an integer" + (
            f" from {minimum} to {maximum}"
            if minimum is not None and maximum is not None
            else f" >= {minimum}"
            if minimum is not None
            else f" <= {maximum}"
            if maximum is not None
            else ""
        )
        if isinstance(value, bool):
            raise self.fail(key, value, expected)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self.fail(key, value, expected) from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise self.fail(key, value, expected)
        return number

    def get_float(self, key: str, default: float) -> float:
        value = self._raw(key)
        if value is None:
            return default
        try:
            number = float(str(value).strip())
        except ValueError:
            raise self.fail(key, value, "a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail(key, value, "a number")
        return number

    def get_bool(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise self.fail(key, value, "true or false")

    def get_list(self, key: str, default: list[str]) -> list[str]:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    def _get_checked_list(
        self, key: str, default: list[str], error: Callable[[str], str | None]
    ) -> list[str]:
        values = self.get_list(key, default)
        for value in values:
            problem = error(value)
            if problem is not None:
                raise self.fail(key, value, problem)
        return values

    def get_int_list(
        self, key: str, default: list[int], *, minimum: int, maximum: int
    ) -> list[int]:
        """Comma-separated integers, each from ``minimum`` to ``maximum``; at least one."""
        expected = f"comma-separated integers from {minimum} to {maximum}"
        values = self.get_list(key, [str(v) for v in default])
        numbers: list[int] = []
        for value in values:
            try:
                numbers.append(int(value))
            except ValueError:
                raise self.fail(key, value, expected) from None
            if not minimum <= numbers[-1] <= maximum:
                raise self.fail(key, value, expected)
        if not numbers:
            raise self.fail(key, ",".join(values), expected)
        return numbers

    def get_email(self, key: str = "alarm_email") -> str | None:
        value = self.get_optional_str(key)
        if value is not None:
            self._checked(key, value, email_error(value))
        return value

    def get_arn(self, key: str, service: str, resource: str = "") -> str | None:
        """An optional ARN of ``service`` whose resource part starts with ``resource``."""
        value = self.get_optional_str(key)
        if value is not None:
            self._checked(key, value, arn_error(value, service, resource))
        return value

    def get_cidrs(self, key: str, default: list[str]) -> list[str]:
        return self._get_checked_list(key, default, cidr_error)

    def get_account_ids(self, key: str) -> list[str]:
        return self._get_checked_list(
            key, [], lambda v: None if ACCOUNT_ID.match(v) else "12-digit AWS account ids"
        )

    def get_origins(self, key: str) -> list[str]:
        """CORS origins: scheme and host (and port), no path, e.g. https://app.example.com."""
        return self._get_checked_list(key, [], origin_error)

    def get_schedule(self, key: str, default: str | None, *, at: bool) -> str | None:
        """A schedule expression (EventBridge, or EventBridge Scheduler when ``at``)."""
        value = self.get_optional_str(key) or default
        if value is not None:
            self._checked(key, value, schedule_error(value, at=at))
        return value

    def get_time_zone(self, key: str, default: str) -> str:
        value = self.get_str(key, default)
        self._checked(key, value, time_zone_error(value))
        return value

    def get_user_pool_id(self, key: str) -> str | None:
        value = self.get_optional_str(key)
        if value is not None and not _USER_POOL_ID.match(value):
            raise self.fail(key, value, "a Cognito user pool id like eu-west-1_AbC123xyz")
        return value

    def get_zones(self, key: str, region: str) -> list[str] | None:
        """Availability zone names of ``region`` (two or more), or None when not set."""
        if self._raw(key) is None:
            return None
        zones = self._get_checked_list(key, [], lambda z: zone_error(z, region))
        if len(zones) < 2 or len(set(zones)) != len(zones):
            raise self.fail(key, ",".join(zones), "two or more different availability zones")
        return zones

    def removal_policy(self, key: str = "removal_policy") -> RemovalPolicy:
        value = self.get_str(key, "retain").lower()
        if value not in _REMOVAL_POLICIES:
            raise self.fail(key, value, f"one of {sorted(_REMOVAL_POLICIES)}")
        return _REMOVAL_POLICIES[value]


# Context keys that belong to the CDK rather than to a stack: feature flags (``@aws-cdk/...``),
# what the CLI injects (``aws:cdk:...``), lookups cached in cdk.context.json (``...:account=...``),
# and the few plain keys the CLI and cdk.json use.
_CDK_KEYS = frozenset({"cli-telemetry", "acknowledged-issue-numbers", "assetOutputs"})


def _is_cdk_key(key: str) -> bool:
    return (
        key in _CDK_KEYS
        or "@" in key
        or "=" in key
        or key.startswith(("aws:cdk:", "aws-cdk:", "cdk-"))
    )


def _closest(name: str, candidates: Collection[str]) -> str | None:
    """The candidate ``name`` was probably meant to be (case ignored), or None."""
    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), lowered, n=1)
    return lowered[match[0]] if match else None


def unknown_context_error(
    context: Mapping[str, Any], stack_keys: Mapping[str, Collection[str]], app_keys: Collection[str]
) -> str | None:
    """The first context key that no stack reads (a typo would be silently ignored), with the
    closest known key; None when every key is known. ``stack_keys`` maps each stack name to the
    keys it declares; ``app_keys`` are the app's own (``account``, ``region``, ``stacks``)."""
    plain = set(app_keys).union(*stack_keys.values())
    for key in sorted(context):
        if _is_cdk_key(key):
            continue
        stack, sep, name = key.partition(":")
        if not sep:
            if key not in plain:
                close = _closest(key, plain)
                hint = f"did you mean {close}? " if close else ""
                return f"context {key}: unknown key; {hint}known keys: {', '.join(sorted(plain))}"
        elif stack not in stack_keys:
            close = _closest(stack, stack_keys)
            hint = f"did you mean {close}:{name}? " if close else ""
            return f"context {key}: unknown stack {stack!r}; {hint}stacks: {', '.join(stack_keys)}"
        elif name not in stack_keys[stack]:
            known = sorted(stack_keys[stack])
            close = _closest(name, known)
            hint = f"did you mean {stack}:{close}? " if close else ""
            return f"context {key}: unknown key for {stack}; {hint}known keys: {', '.join(known)}"
    return None
