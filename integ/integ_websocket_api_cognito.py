"""WebSocketApi with the Cognito authorizer (``auth=cognito``): two users of a user pool made
for the test connect with their ID tokens, join a room and each receives the other's message; a
connection without a token is refused with 401.

The stack takes an existing pool by id (context ``cognito_user_pool_id``), so this app builds
the construct in a stack of its own beside a pool shaped like ServerlessApi's (admin-created
users, strong passwords, TOTP MFA required) with an app client for admin password sign-in.
"""

from __future__ import annotations

from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.shared import acknowledge
from stacks.websocket_api import ConnectAuth, WebSocketApi


def build(outdir: str | None = None) -> App:
    app = integ_app(outdir)
    stack = Stack(app, "IntegWebSocketApiCognito", description="Integration test: WebSocketApi")
    pool = cognito.UserPool(
        stack,
        "UserPool",
        self_sign_up_enabled=False,
        sign_in_aliases=cognito.SignInAliases(email=True),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        password_policy=cognito.PasswordPolicy(
            min_length=12,
            require_digits=True,
            require_lowercase=True,
            require_uppercase=True,
            require_symbols=True,
        ),
        mfa=cognito.Mfa.REQUIRED,
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
        deletion_protection=False,
        removal_policy=RemovalPolicy.DESTROY,
    )
    for rule in ("AwsSolutions-COG3", "AwsSolutions-COG8"):
        acknowledge(
            pool,
            rule,
            "A pool for one test run, holding only the two users the test creates and deletes; "
            "threat protection (Cognito Plus, billed per active user) would guard nothing.",
        )
    client = pool.add_client(
        "SmokeClient",
        auth_flows=cognito.AuthFlow(admin_user_password=True),
        generate_secret=False,
    )
    chat = WebSocketApi(
        stack,
        "Chat",
        auth=ConnectAuth.COGNITO,
        user_pool=pool,
        user_pool_client_ids=[client.user_pool_client_id],
        removal_policy=RemovalPolicy.DESTROY,
    )
    checker = SmokeChecker(stack, "Smoke")
    checker.allow(
        [
            "cognito-idp:AdminCreateUser",
            "cognito-idp:AdminSetUserPassword",
            "cognito-idp:AdminInitiateAuth",
            "cognito-idp:AdminRespondToAuthChallenge",
            "cognito-idp:AdminDeleteUser",
        ],
        [pool.user_pool_arn],
    )
    test = integ_test(app, "WebSocketApiCognito", stack)
    expect_passed(
        test,
        checker,
        {
            "check": "chat",
            "url": chat.url,
            "user_pool_id": pool.user_pool_id,
            "client_id": client.user_pool_client_id,
        },
    )
    return app


if __name__ == "__main__":
    build().synth()
