"""Chat over a WebSocket: ``$connect``, ``$disconnect``, and ``join`` / ``send`` / ``$default``.

A client connects (with a token, checked by ``chat.authorizer``), sends
``{"action": "join", "room": "lobby"}``, then ``{"action": "send", "text": "hi"}``; everyone
else in the room receives ``{"type": "message", ...}``. The sender gets an acknowledgement or
an error frame ``{"type": "error", "status": N, "message": "..."}`` as the route's response, and
a bad frame changes nothing. Configuration comes from the environment the construct sets:
``TABLE_NAME``, ``ROOM_INDEX_NAME``, ``CALLBACK_URL``, ``CONNECTION_TTL_SECONDS``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError

from . import clients, connections, frames, tracing

_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}

logger = Logger()
tracer = tracing.create_tracer(patch_modules=("botocore",))
metrics = Metrics()
_aws = clients.session("dynamodb", "apigatewaymanagementapi")
# Short timeouts and few attempts, so retries fit inside the function's 29 s (API Gateway's
# limit): the library's defaults (60 s reads, up to 5 attempts with backoff) asked for ~47 s
# of backoff alone for 30 throttled members. A post is one attempt of at most 1 s + 1 s, tried
# once more by the broadcast; past the deadline below the rest count as failed.
_DYNAMODB_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 3}
)
_POST_CONFIG = Config(
    connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 1}
)
# Room left after the last post for cleaning up gone connections and answering the sender.
_DEADLINE_MARGIN_SECONDS = 5.0
# A client, not a boto3 resource: the resource layer costs a tenth of the cold start more.
table = connections.Table(
    _aws.client("dynamodb", config=_DYNAMODB_CONFIG), os.environ["TABLE_NAME"]
)
# The stage's own https:// callback URL (not the event's domain), so posting keeps working
# behind a custom domain name.
management = _aws.client(
    "apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"], config=_POST_CONFIG
)
ROOM_INDEX_NAME = os.environ.get("ROOM_INDEX_NAME", "by-room")
CONNECTION_TTL_SECONDS = int(os.environ.get("CONNECTION_TTL_SECONDS", "7800"))


def _reply(frame: dict[str, Any]) -> dict[str, Any]:
    """A route response: API Gateway sends ``body`` to the sender (the routes are two-way)."""
    return {"statusCode": 200, "body": json.dumps(frame)}


@tracer.capture_method
def on_connect(connection_id: str, user_id: str) -> dict[str, Any]:
    connections.connect(
        table, connection_id, user_id, now=int(time.time()), ttl=CONNECTION_TTL_SECONDS
    )
    metrics.add_metric(name="Connections", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


@tracer.capture_method
def on_disconnect(connection_id: str) -> dict[str, Any]:
    connections.disconnect(table, connection_id)
    return {"statusCode": 200}


@tracer.capture_method
def on_join(connection_id: str, frame: frames.JoinFrame) -> dict[str, Any]:
    connections.join(table, connection_id, frame.room)
    return {"type": "joined", "room": frame.room}


@tracer.capture_method
def on_send(
    connection_id: str, frame: frames.SendFrame, deadline: float | None = None
) -> dict[str, Any]:
    sender = connections.get(table, connection_id)
    room = sender.room
    if room is None:
        raise frames.BadFrame(409, 'join a room first: {"action": "join", "room": "<name>"}')
    message = {
        "type": "message",
        # One id per message: a member that receives it twice (a post whose answer was lost
        # is retried) can tell it is the same message.
        "id": str(uuid.uuid4()),
        "room": room,
        "from": sender.user_id,
        "text": frame.text,
        "sentAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    delivery = connections.broadcast(
        table,
        management,
        ROOM_INDEX_NAME,
        room,
        json.dumps(message).encode(),
        sender_id=connection_id,
        now=int(time.time()),
        deadline=deadline,
    )
    metrics.add_metric(name="MessagesDelivered", unit=MetricUnit.Count, value=delivery.delivered)
    metrics.add_metric(name="GoneConnections", unit=MetricUnit.Count, value=delivery.gone)
    metrics.add_metric(name="DeliveryFailures", unit=MetricUnit.Count, value=delivery.failed)
    # What happened, for the sender: reached, gone (closed connections, now forgotten) and
    # failed (live connections that could not be reached, after one retry).
    return {
        "type": "sent",
        "room": room,
        "id": message["id"],
        "delivered": delivery.delivered,
        "gone": delivery.gone,
        "failed": delivery.failed,
    }


def on_message(
    connection_id: str, event: dict[str, Any], deadline: float | None = None
) -> dict[str, Any]:
    """Every non-lifecycle route: the action in the frame decides, so ``$default`` and the custom
    routes behave the same even for a frame API Gateway routed to ``$default``."""
    try:
        frame = frames.parse(event.get("body"), is_base64=bool(event.get("isBase64Encoded")))
        if isinstance(frame, frames.JoinFrame):
            return _reply(on_join(connection_id, frame))
        return _reply(on_send(connection_id, frame, deadline))
    except frames.BadFrame as bad:
        metrics.add_metric(name="BadFrames", unit=MetricUnit.Count, value=1)
        logger.info("bad frame", status=bad.status, reason=bad.message)
        return _reply(frames.error(bad.status, bad.message))
    except connections.NotConnected:
        return _reply(frames.error(410, "this connection is closed; reconnect"))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in _THROTTLED:
            raise  # a bug or an outage: let it reach the error alarms
        logger.warning("DynamoDB throttled the request", exc_info=err)
        return _reply(frames.error(503, "the service is busy; retry with backoff"))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event["requestContext"]
    connection_id = str(request["connectionId"])
    route = request.get("routeKey")
    logger.append_keys(connection_id=connection_id, route=route)
    if route == "$connect":
        # The token authorizer's subject, else the SigV4 caller (auth=IAM), else anonymous.
        user_id = (
            (request.get("authorizer") or {}).get("userId")
            or (request.get("identity") or {}).get("userArn")
            or "anonymous"
        )
        return on_connect(connection_id, str(user_id))
    if route == "$disconnect":
        return on_disconnect(connection_id)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = (
        time.monotonic() + remaining() / 1000 - _DEADLINE_MARGIN_SECONDS if remaining else None
    )
    return on_message(connection_id, event, deadline)
