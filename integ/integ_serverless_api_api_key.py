"""ServerlessApi with API keys only (``auth=api_key``, no user pool): create, read, page and
delete items through the REST API with the stack's real API key; a request without the key is
refused before the function."""

from __future__ import annotations

from aws_cdk import App

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from integ.integ_serverless_api_cognito import api_key_arn
from stacks.serverless_api import ServerlessApi, ServerlessApiStack


def build(outdir: str | None = None) -> App:
    app = integ_app(outdir, {"auth": "api_key"})
    stack = ServerlessApiStack(app, "IntegServerlessApiApiKey")
    api = stack.node.find_child("Items")
    assert isinstance(api, ServerlessApi)
    assert api.user_pool is None
    checker = SmokeChecker(stack, "Smoke")
    checker.allow(["apigateway:GET"], [api_key_arn(stack, api)])
    test = integ_test(app, "ServerlessApiApiKey", stack)
    expect_passed(
        test, checker, {"check": "items_api", "url": api.url, "api_key_id": api.api_key.key_id}
    )
    return app


if __name__ == "__main__":
    build().synth()
