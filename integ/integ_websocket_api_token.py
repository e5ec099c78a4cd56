"""WebSocketApi with its token authorizer (the stack's default): two users connect with HS256
tokens signed with the stack's own secret, join a room and each receives the other's message;
a connection without a token is refused with 401."""

from __future__ import annotations

from aws_cdk import App

from integ.harness import SmokeChecker, expect_passed, integ_app, integ_test
from stacks.websocket_api import WebSocketApi, WebSocketApiStack


def build(outdir: str | None = None) -> App:
    app = integ_app(outdir, {"auth": "token"})
    stack = WebSocketApiStack(app, "IntegWebSocketApiToken")
    chat = stack.node.find_child("Chat")
    assert isinstance(chat, WebSocketApi)
    assert chat.token_secret is not None
    checker = SmokeChecker(stack, "Smoke")
    checker.allow(["secretsmanager:GetSecretValue"], [chat.token_secret.secret_arn])
    test = integ_test(app, "WebSocketApiToken", stack)
    expect_passed(
        test,
        checker,
        {"check": "chat", "url": chat.url, "secret_arn": chat.token_secret.secret_arn},
    )
    return app


if __name__ == "__main__":
    build().synth()
