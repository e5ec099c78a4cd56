"""The CDK app: one stack per pattern, cdk-nag's AwsSolutions checks over all of them.

``app.py`` (what ``cdk`` runs) and the tests both build the app here, so what the tests check is
what ``cdk deploy`` ships.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

from .batch_jobs import BatchJobsStack
from .container_service import ContainerServiceStack
from .delivery_pipeline import DeliveryPipelineStack
from .environments import ENV, load_environment
from .github_oidc import GitHubOidcStack
from .lightsail_site import LightsailSiteStack
from .scheduled_job import ScheduledJobStack
from .serverless_api import ServerlessApiStack
from .shared import (
    ACCOUNT_ID,
    REGION_NAME,
    ConfigError,
    ContextValueError,
    UnavailableHere,
    unknown_context_error,
)
from .thumbnails import ThumbnailsStack
from .websocket_api import WebSocketApiStack

ROOT = Path(__file__).resolve().parent.parent

# Stack name -> stack class. Names are stable: they are the CloudFormation stack names that
# `cdk deploy <name>` creates, listed in the README.
STACKS: dict[str, type[Stack]] = {
    "ServerlessApi": ServerlessApiStack,
    "ScheduledJob": ScheduledJobStack,
    "Thumbnails": ThumbnailsStack,
    "WebSocketApi": WebSocketApiStack,
    "ContainerService": ContainerServiceStack,
    "LightsailSite": LightsailSiteStack,
    "BatchJobs": BatchJobsStack,
}

# Delivery stacks, built only when `-c stacks=` names them: they deploy once, to the tools
# account, and need context the patterns do not (README "Deliver it").
OPT_IN: dict[str, type[Stack]] = {
    "GitHubOidc": GitHubOidcStack,
    "DeliveryPipeline": DeliveryPipelineStack,
}


# Context key: "nag" (default) runs cdk-nag's AwsSolutions pack at every synth; "all" adds the
# AWS Control Tower proactive controls (cfn-guard), which roughly double synth time, so they run
# in the tests and in `make guard` rather than on every `make synth`.
POLICY_ENGINES = "policy_engines"

# Context key: cdk-nag's compliance packs to run beside AwsSolutions, comma-separated
# (`-c compliance=hipaa,pci-dss-321`): the AWS Config conformance packs a governed account runs.
COMPLIANCE = "compliance"
COMPLIANCE_PACKS: dict[str, type[NagPack]] = {
    "serverless": ServerlessChecks,
    "nist-800-53-r5": NIST80053R5Checks,
    "nist-800-53-r4": NIST80053R4Checks,
    "hipaa": HIPAASecurityChecks,
    "pci-dss-321": PCIDSS321Checks,
}

# Context the app itself reads; every other key belongs to a stack (its CONTEXT_KEYS) or to CDK.
# ``env`` names a config/<env>.json file (stacks/environments.py).
APP_KEYS = ("account", "region", "stacks", POLICY_ENGINES, ENV, COMPLIANCE)


def context_keys() -> dict[str, frozenset[str]]:
    """Stack name -> the context keys it reads (``<Stack>:<key>`` or plain ``<key>``)."""
    return {name: frozenset(getattr(cls, "CONTEXT_KEYS", ())) for name, cls in STACKS.items()}


def cdk_json_context() -> dict[str, Any]:
    """The context block of cdk.json (feature flags and defaults), for runs without the CLI."""
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def selected_stacks(names: str | None) -> list[str]:
    """The stacks named in a comma-separated list (all of STACKS when empty, OPT_IN only when
    named), in STACKS then OPT_IN order."""
    wanted = {n.strip() for n in (names or "").split(",") if n.strip()}
    unknown = wanted - set(STACKS) - set(OPT_IN)
    if unknown:
        raise ConfigError(
            f"context stacks={names!r}: unknown stack(s) {sorted(unknown)}; "
            f"expected names from {', '.join([*STACKS, *OPT_IN])}"
        )
    return [
        name for name in [*STACKS, *OPT_IN] if name in wanted or (not wanted and name in STACKS)
    ]


def build_app(*, context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """Build every stack. Context given here is overridden by the CLI's ``-c`` and cdk.json.

    Stacks are environment-agnostic unless context sets ``account`` and ``region``; nothing
    here looks anything up in an account. Context ``stacks`` (comma-separated names) builds only
    those stacks, for a faster synth while working on one pattern. Context ``policy_engines=all``
    adds the Control Tower rules to cdk-nag (see ``POLICY_ENGINES``); context ``compliance``
    adds cdk-nag's compliance packs (see ``COMPLIANCE``).
    """
    app = App(
        context={**cdk_json_context(), **(context or {})},
        outdir=outdir,
        analytics_reporting=False,
    )
    # A config/<env>.json file is the lowest layer: it fills only what -c and cdk.json leave out.
    env_name = app.node.try_get_context(ENV)
    env_file = load_environment(str(env_name), context_keys(), APP_KEYS) if env_name else None
    from_file = env_file.apply(app) if env_file else frozenset()
    opt_in_keys = {
        name: frozenset(getattr(cls, "CONTEXT_KEYS", ())) for name, cls in OPT_IN.items()
    }
    problem = unknown_context_error(
        app.node.get_all_context(), {**context_keys(), **opt_in_keys}, APP_KEYS
    )
    if problem is not None:
        raise ConfigError(problem)
    account = _env_value(app, "account", ACCOUNT_ID, "a 12-digit AWS account id")
    region = _env_value(app, "region", REGION_NAME, "a region name such as eu-west-1")
    env = Environment(account=account, region=region) if account or region else None
    names = selected_stacks(_env_value(app, "stacks", None, ""))
    engines = str(app.node.try_get_context(POLICY_ENGINES) or "nag")
    if engines not in ("nag", "all"):
        raise ConfigError(f"context {POLICY_ENGINES}={engines!r}: expected nag or all")
    packs = compliance_packs(app.node.try_get_context(COMPLIANCE))
    for name in names:
        try:
            stack_class = STACKS.get(name) or OPT_IN[name]
            stack_class(app, name, env=env, description=f"aws-cdk reference stack: {name}")
        except ConfigError as caught:
            err = env_file.blame(caught, from_file) if env_file else caught
            # Say which stack, unless the message already names it (context <Stack>:<key>).
            named = isinstance(err, ContextValueError) or str(err).startswith("context ")
            message = str(err) if named else f"{name}: {err}"
            others = ",".join(n for n in names if n != name)
            if isinstance(err, UnavailableHere) and others:
                message += f"; to synthesize the other stacks: -c stacks={others}"
            raise type(err)(message) from caught
    add_policy_engines(app, engines, packs)
    return app


def add_policy_engines(app: App, engines: str = "nag", packs: Sequence[type[NagPack]] = ()) -> None:
    """The policy engines every synth of an app of this project runs (this one and the integ
    apps in integ/): cdk-nag's AwsSolutions pack and the compliance packs asked for, plus the
    Control Tower rules with "all"."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), *(pack(app) for pack in packs))
    if engines == "all":
        # Imported here: loading the plugin and its rules costs synth time `make synth` skips.
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

        # The plugin implements the Beta1 interface, the same shape under older type names.
        Validations.of(app).add_plugins(CfnGuardValidator())  # type: ignore[arg-type]


def compliance_packs(value: object) -> list[type[NagPack]]:
    """The packs named in context ``compliance`` (comma-separated; none when unset)."""
    names = [n.strip() for n in str(value or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in COMPLIANCE_PACKS]
    if unknown or (value not in (None, "") and not names):
        raise ConfigError(
            f"context {COMPLIANCE}={value!r}: expected a comma-separated list of "
            f"{', '.join(COMPLIANCE_PACKS)}"
        )
    return [COMPLIANCE_PACKS[n] for n in dict.fromkeys(names)]


def _env_value(app: App, key: str, pattern: re.Pattern[str] | None, expected: str) -> str | None:
    value = app.node.try_get_context(key)
    if value in (None, ""):
        return None
    if pattern is not None and not pattern.match(str(value)):
        raise ConfigError(f"context {key}={value!r}: expected {expected}")
    return str(value)
