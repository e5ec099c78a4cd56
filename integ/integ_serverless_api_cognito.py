"""ServerlessApi with its Cognito user pool (the stack's default): create, read, page and
delete items through the REST API with a real API key and a Cognito ID token; a request without
the key is refused. A second app client (admin password sign-in) lets the checker sign in a
user it creates; the API's own client stays SRP-only."""

from __future__ import annotations

from aws_cdk import App
from aws_cdk import aws_cognito as cognito

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.serverless_api import ServerlessApi, ServerlessApiStack


def build(outdir: str | None = None) -> App:
    app = integ_app(outdir, {"auth": "cognito"})
    stack = ServerlessApiStack(app, "IntegServerlessApiCognito")
    api = stack.node.find_child("Items")
    assert isinstance(api, ServerlessApi)
    assert api.user_pool is not None
    client = api.user_pool.add_client(
        "SmokeClient",
        auth_flows=cognito.AuthFlow(admin_user_password=True),
        generate_secret=False,
    )
    checker = SmokeChecker(stack, "Smoke")
    checker.allow(["apigateway:GET"], [api_key_arn(stack, api)])
    checker.allow(
        [
            "cognito-idp:AdminCreateUser",
            "cognito-idp:AdminSetUserPassword",
            "cognito-idp:AdminInitiateAuth",
            "cognito-idp:AdminRespondToAuthChallenge",
            "cognito-idp:AdminDeleteUser",
        ],
        [api.user_pool.user_pool_arn],
    )
    test = integ_test(app, "ServerlessApiCognito", stack)
    expect_passed(
        test,
        checker,
        {
            "check": "items_api",
            "url": api.url,
            "api_key_id": api.api_key.key_id,
            "user_pool_id": api.user_pool.user_pool_id,
            "client_id": client.user_pool_client_id,
        },
    )
    return app


def api_key_arn(stack: ServerlessApiStack, api: ServerlessApi) -> str:
    """GetApiKey's resource: the one key (``apigateway:GET`` on ``/apikeys/<id>``)."""
    return stack.format_arn(
        service="apigateway", account="", resource="/apikeys", resource_name=api.api_key.key_id
    )


if __name__ == "__main__":
    build().synth()
