"""What every integ app shares: the app (cdk.json's context, ``removal_policy=destroy``, the
project's policy engines), the smoke checker function added to the stack under test, and the
assertion that the checker answered ``passed``.

An integ app is ``integ/integ_<pattern>_<variant>.py``: a ``build(outdir)`` that returns the
app, and ``build().synth()`` when run as a script (what integ-runner and ``make integ`` run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.integ_tests_alpha import ExpectedResult, IApiCall, IntegTest
from constructs import Construct

from stacks.app import add_policy_engines, cdk_json_context
from stacks.shared import acknowledge, exempt, nag_text, python_function

ROOT = Path(__file__).resolve().parent.parent
CHECKER_CODE = ROOT / "integ" / "checker"
# Every integ stack is deployed to be destroyed: nothing it creates outlives the test's run.
INTEG_CONTEXT: dict[str, Any] = {"removal_policy": "destroy"}


def integ_app(outdir: str | None = None, context: Mapping[str, Any] | None = None) -> App:
    """An app like stacks/app.py's: cdk.json's context and feature flags, cdk-nag on every
    stack (the assertion stack too), plus ``removal_policy=destroy`` and the variant's keys."""
    app = App(
        context={**cdk_json_context(), **INTEG_CONTEXT, **(context or {})},
        outdir=outdir,
        analytics_reporting=False,
    )
    add_policy_engines(app)
    return app


class SmokeChecker(Construct):
    """The checker Lambda (``integ/checker/smoke``) in the stack under test, with only the
    grants its check needs (``allow``). Destroyed with the stack."""

    def __init__(self, scope: Construct, id: str, *, timeout: Duration | None = None) -> None:
        super().__init__(scope, id)
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            code_path=str(CHECKER_CODE),
            handler="smoke.app.lambda_handler",
            description="Integration test: the smoke checks against the deployed pattern",
            environment={},
            timeout=timeout or Duration.seconds(60),
            removal_policy=RemovalPolicy.DESTROY,
        )
        exempt(
            self.function,
            "Invoked synchronously by the integration test's assertion only, for the length "
            "of one test run; a dead-letter queue would receive nothing and a reserved "
            "concurrency would only take from the account's pool.",
            checkov=["CKV_AWS_116", "CKV_AWS_115"],
        )

    def allow(self, actions: Sequence[str], resources: Sequence[str], why: str = "") -> None:
        """Grant ``actions`` on ``resources``; a resource with a wildcard is acknowledged with
        ``why`` (required then), one finding at a time."""
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=list(resources))
        )
        role = self.function.role
        assert role is not None
        policy = role.node.find_child("DefaultPolicy")
        for resource in resources:
            spelled = nag_text(self, resource)
            if "*" in spelled:
                assert why, f"a wildcard resource needs a reason: {spelled}"
                acknowledge(policy, f"AwsSolutions-IAM5[Resource::{spelled}]", why)


def expect_passed(
    test: IntegTest,
    checker: SmokeChecker,
    event: Mapping[str, Any],
    *,
    wait: Duration | None = None,
    interval: Duration | None = None,
) -> IApiCall:
    """Invoke the checker with ``event`` and expect ``"passed"``; with ``wait``, ask again
    every ``interval`` until it passes (a check answers ``"pending"`` meanwhile) or ``wait``
    has passed."""
    call = test.assertions.invoke_function(
        function_name=checker.function.function_name,
        payload=json.dumps(dict(event)),
    )
    passed = ExpectedResult.object_like({"StatusCode": 200, "Payload": json.dumps("passed")})
    if wait is None:
        call.expect(passed)
        return call
    call.expect(passed)
    call.wait_for_assertions(total_timeout=wait, interval=interval or Duration.seconds(30))
    return call


def integ_test(app: App, name: str, stack: Stack) -> IntegTest:
    """The ``IntegTest`` for one stack: deployed, asserted, destroyed (integ-runner's cycle)."""
    return IntegTest(
        app,
        name,
        test_cases=[stack],
        diff_assets=False,
        stack_update_workflow=False,  # a new stack per run: nothing to update from
    )
