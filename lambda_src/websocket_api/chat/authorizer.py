"""The ``$connect`` authorizer: allow a connection when it carries a valid token.

The token comes from the ``token`` query-string parameter (browsers cannot set headers on a
WebSocket) or an ``Authorization: Bearer <token>`` header. ``TOKEN_VERIFIER`` picks the kind:

- ``hmac`` (default): an HS256 token your backend signs (``chat.tokens``) with the string of the
  Secrets Manager secret ``TOKEN_SECRET_ARN``, cached for five minutes per execution environment;
- ``cognito``: an id or access token of the user pool ``COGNITO_USER_POOL_ID`` issued to one of
  the app clients ``COGNITO_CLIENT_IDS`` (comma-separated), checked against the pool's JWKS
  (``chat.cognito``); no secret and no AWS permission needed.

A bad token gets an explicit Deny (the client sees 403) rather than an exception, so an attack
with forged tokens does not look like a broken function in the error alarm.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import tracing
from .tokens import InvalidToken, verify

SECRET_CACHE_SECONDS = 300

logger = Logger()
tracer = tracing.create_tracer(patch_modules=("botocore",))
metrics = Metrics()
_MAX_LIFETIME = int(os.environ.get("MAX_TOKEN_LIFETIME_SECONDS", "3600"))
VERIFIER = os.environ.get("TOKEN_VERIFIER", "hmac")
if VERIFIER == "cognito":
    # Imported only in this mode: RS256 needs cryptography, which HMAC connects never use.
    from .cognito import CognitoVerifier

    cognito = CognitoVerifier(
        user_pool_id=os.environ["COGNITO_USER_POOL_ID"],
        client_ids=[c for c in os.environ["COGNITO_CLIENT_IDS"].split(",") if c],
        token_uses=[u for u in os.environ.get("COGNITO_TOKEN_USE", "id,access").split(",") if u],
    )
elif VERIFIER == "hmac":
    from aws_lambda_powertools.utilities import parameters

    _SECRET_ARN = os.environ["TOKEN_SECRET_ARN"]
else:
    raise ValueError(f"TOKEN_VERIFIER={VERIFIER!r}: expected hmac or cognito")


def token_from(event: dict[str, Any]) -> str | None:
    """The token in the query string or in an ``Authorization: Bearer`` header, if any."""
    query = event.get("queryStringParameters") or {}
    if query.get("token"):
        return str(query["token"])
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme, _, value = str(headers.get("authorization", "")).partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def policy(principal: str, effect: str, method_arn: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}
            ],
        },
    }
    if effect == "Allow":
        # Reaches the chat function as requestContext.authorizer.userId.
        response["context"] = {"userId": principal}
    return response


def authorize(event: dict[str, Any], key: bytes, *, now: int) -> dict[str, Any]:
    """The policy for a connect carrying an HS256 token signed with ``key``."""
    return decide(event, lambda token: verify(key, token, now=now, max_lifetime=_MAX_LIFETIME))


def decide(event: dict[str, Any], check: Callable[[str], str]) -> dict[str, Any]:
    """Allow the subject ``check`` returns for the event's token; Deny when it has none or
    ``check`` refuses it (:class:`InvalidToken`). Anything else ``check`` raises propagates."""
    method_arn = str(event.get("methodArn", ""))
    token = token_from(event)
    if token is None:
        logger.info("connect refused", reason="no token")
        return policy("anonymous", "Deny", method_arn)
    try:
        subject = check(token)
    except InvalidToken as err:
        logger.info("connect refused", reason=str(err))
        metrics.add_metric(name="TokenRejected", unit=MetricUnit.Count, value=1)
        return policy("anonymous", "Deny", method_arn)
    logger.info("connect allowed", user=subject)
    return policy(subject, "Allow", method_arn)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    if VERIFIER == "cognito":
        return decide(event, lambda token: cognito.verify(token, now=int(time.time())))
    key = str(parameters.get_secret(_SECRET_ARN, max_age=SECRET_CACHE_SECONDS)).encode()
    return authorize(event, key, now=int(time.time()))
