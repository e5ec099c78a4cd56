"""The ``$connect`` authorizer: allow a connection when it carries a valid HS256 token.

The token comes from the ``token`` query-string parameter (browsers cannot set headers on a
WebSocket) or an ``Authorization: Bearer <token>`` header. The signing key is the string of the
Secrets Manager secret ``TOKEN_SECRET_ARN``, cached for five minutes per execution environment.
A bad token gets an explicit Deny (the client sees 403) rather than an exception, so an attack
with forged tokens does not look like a broken function in the error alarm.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from .tokens import InvalidToken, verify

SECRET_CACHE_SECONDS = 300

logger = Logger()
tracer = Tracer()
metrics = Metrics()
_SECRET_ARN = os.environ["TOKEN_SECRET_ARN"]
_MAX_LIFETIME = int(os.environ.get("MAX_TOKEN_LIFETIME_SECONDS", "3600"))


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
    method_arn = str(event.get("methodArn", ""))
    token = token_from(event)
    if token is None:
        logger.info("connect refused", reason="no token")
        return policy("anonymous", "Deny", method_arn)
    try:
        subject = verify(key, token, now=now, max_lifetime=_MAX_LIFETIME)
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
    key = str(parameters.get_secret(_SECRET_ARN, max_age=SECRET_CACHE_SECONDS)).encode()
    return authorize(event, key, now=int(time.time()))
