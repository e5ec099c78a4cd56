"""Per-environment configuration files: ``config/<name>.json``, selected with ``-c env=<name>``.

A file holds an environment's account, region and context keys, spelled as on the command line:
plain keys for every stack (``"removal_policy": "destroy"``) and an object per stack for its own
keys (``"ServerlessApi": {"quota_per_day": 500}`` is ``-c ServerlessApi:quota_per_day=500``).

A file is the lowest layer of context: ``-c`` (and cdk.json) override any of its values. Its keys
get the same checks as ``-c`` keys, and an error names the file:
``config/dev.json: ServerlessApi:quota_per_day='abc': expected an integer >= 0``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs import Construct

from .shared import (
    ACCOUNT_ID,
    REGION_NAME,
    ConfigError,
    ContextValueError,
    unknown_context_error,
)

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"

# The context key that selects a file.
ENV = "env"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# A file's own keys, which pin the environment rather than configure a stack.
_PLACE = ("account", "region")


@dataclass(frozen=True)
class EnvironmentFile:
    """One checked ``config/<name>.json``: where its stacks go and the context it sets."""

    name: str
    label: str  # how errors name the file: config/dev.json
    account: str
    region: str
    # Context names (``<key>``, ``<Stack>:<key>``) -> values, account and region excluded.
    context: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, scope: Construct) -> frozenset[str]:
        """Set this file's values on ``scope`` where context does not already give one (``-c``
        and cdk.json win), before ``scope`` has children; the names it set."""
        applied = set()
        for name, value in {"account": self.account, "region": self.region, **self.context}.items():
            if scope.node.try_get_context(name) is None:
                scope.node.set_context(name, value)
                applied.add(name)
        return frozenset(applied)

    def blame(self, err: ConfigError, applied: Collection[str]) -> ConfigError:
        """``err`` said as this file's, when the wrong value is one the file set."""
        if isinstance(err, ContextValueError) and err.name in applied:
            return ContextValueError(
                f"{self.label}: {err.name}={err.value!r}: expected {err.expected}",
                name=err.name,
                value=err.value,
                expected=err.expected,
            )
        return err


def environment_names(config_dir: Path | None = None) -> list[str]:
    """The environments there is a file for (in ``CONFIG_DIR`` by default), sorted."""
    return sorted(p.stem for p in (config_dir or CONFIG_DIR).glob("*.json"))


def load_environments(names: Sequence[str] | None = None) -> list[EnvironmentFile]:
    """The files of ``names`` (every file in config/ when None), in that order, each checked as
    ``-c env=<name>`` checks it: for the stacks that deploy to several environments at once."""
    # Imported here: the app imports this module, and its keys are what a file may hold.
    from .app import APP_KEYS, context_keys

    return [load_environment(n, context_keys(), APP_KEYS) for n in names or environment_names()]


def load_environment(
    name: str,
    stack_keys: Mapping[str, Collection[str]],
    app_keys: Collection[str],
    config_dir: Path | None = None,
) -> EnvironmentFile:
    """Read and check ``<config_dir>/<name>.json`` (``CONFIG_DIR`` by default): the keys it may
    hold are the app's and the stacks' (``stack_keys``, as ``unknown_context_error`` takes them)."""
    config_dir = config_dir or CONFIG_DIR
    known = environment_names(config_dir)
    if not _NAME.match(name) or name not in known:
        raise ConfigError(
            f"context {ENV}={name!r}: expected the name of a file in config/, one of "
            f"{', '.join(known) or '(none)'}"
        )
    path = config_dir / f"{name}.json"
    label = f"{config_dir.name}/{path.name}"
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{label}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected an object of context keys")
    context = _flatten(label, data, stack_keys)
    for key in (ENV, *(k for k in context if _is_cdk_key(k))):
        if key in context:
            raise ConfigError(
                f"{label}: {key}: not a key a file may set (the file is chosen by -c env; "
                "feature flags and CDK's own keys belong in cdk.json)"
            )
    problem = unknown_context_error(context, stack_keys, app_keys)
    if problem is not None:
        raise ConfigError(f"{label}: {problem.removeprefix('context ')}")
    account = _place(label, context, "account", ACCOUNT_ID, "a 12-digit AWS account id")
    region = _place(label, context, "region", REGION_NAME, "a region name such as eu-west-1")
    rest = {k: v for k, v in context.items() if k not in _PLACE}
    return EnvironmentFile(name, label, account, region, rest)


def _flatten(
    label: str, data: Mapping[str, Any], stack_keys: Mapping[str, Collection[str]]
) -> dict[str, Any]:
    """Plain keys as they are; ``{"<Stack>": {"<key>": v}}`` as ``<Stack>:<key>``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in stack_keys:
                raise ConfigError(
                    f"{label}: {key}: an object must be a stack's keys; stacks: "
                    f"{', '.join(stack_keys)}"
                )
            for name, inner in value.items():
                _scalar(label, f"{key}:{name}", inner)
                flat[f"{key}:{name}"] = inner
        else:
            _scalar(label, key, value)
            flat[key] = value
    return flat


def _scalar(label: str, key: str, value: Any) -> None:
    ok = isinstance(value, str | int | float | bool) or (
        isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)
    )
    if not ok:
        raise ConfigError(f"{label}: {key}={value!r}: expected a string, number, boolean or list")


def _place(
    label: str, context: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str
) -> str:
    value = context.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"{label}: {key}={value!r}: expected {what}")
    return value


def _is_cdk_key(key: str) -> bool:
    # The spellings unknown_context_error lets through as CDK's own (feature flags, lookups).
    return "@" in key or "=" in key or key.startswith(("aws:cdk:", "aws-cdk:", "cdk-"))
