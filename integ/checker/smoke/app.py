"""The smoke checker: a Lambda function in each integ stack that ``IntegTest`` invokes once the
stack is deployed. It does what only the account can (reads the API key's value, signs in a
Cognito user, signs a chat token with the stack's secret, puts objects, submits the job) and
then runs the checks of ``smoke.checks``, the same ones ``make test`` runs against the local
modes.

Event: ``{"check": "<name>", ...}`` with the values named below (the integ app passes its
stack's resource names). Returns ``"passed"``, or ``"pending"`` while what the check waits for
(a thumbnail, a job, a booting instance) has not finished, so that the assertion's waiter asks
again; a failed check raises, and the invocation's error is the assertion's message.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import secrets
import struct
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from . import checks

TOKEN_LIFETIME = 600  # seconds: the chat authorizer accepts at most an hour


def lambda_handler(event: dict[str, Any], _context: Any) -> str:
    check = str(event.get("check", ""))
    if check not in CHECKS:
        raise checks.CheckFailed(f"check {check!r}: expected one of {sorted(CHECKS)}")
    return CHECKS[check](event)


# --- ServerlessApi ---------------------------------------------------------------------------


def items_api(event: dict[str, Any]) -> str:
    key = boto3.client("apigateway").get_api_key(apiKey=event["api_key_id"], includeValue=True)
    headers = {"x-api-key": key["value"]}
    if not event.get("user_pool_id"):
        return checks.items_api(event["url"], headers)
    with cognito_user(event["user_pool_id"], event["client_id"]) as token:
        return checks.items_api(event["url"], {**headers, "Authorization": token})


# --- WebSocketApi ----------------------------------------------------------------------------


def chat(event: dict[str, Any]) -> str:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import ClientConnection, connect

    url = event["url"]

    def refused() -> int:
        try:
            with connect(url, open_timeout=checks.TIMEOUT):
                pass
        except InvalidStatus as err:
            return int(err.response.status_code)
        return 101

    if event.get("secret_arn"):
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=event["secret_arn"])
        key = str(secret["SecretString"]).encode()

        def open_socket(user: str) -> AbstractContextManager[ClientConnection]:
            token = sign_token(key, user, int(time.time()) + TOKEN_LIFETIME)
            return connect(f"{url}?token={token}", open_timeout=checks.TIMEOUT)

        return checks.chat(open_socket, refused)
    users: dict[str, str] = {}
    pool, client = event["user_pool_id"], event["client_id"]
    with cognito_user(pool, client) as first, cognito_user(pool, client) as second:
        tokens = iter((first, second))

        def open_cognito_socket(user: str) -> AbstractContextManager[ClientConnection]:
            users[user] = next(tokens)
            return connect(f"{url}?token={users[user]}", open_timeout=checks.TIMEOUT)

        # Cognito users are named by their pool (their sub), not by the check: the check's
        # "from" is the sub, so the frames are compared on the subs.
        return checks.chat(open_cognito_socket, refused, names=_subs(users))


def _subs(users: dict[str, str]) -> Callable[[str], str]:
    def name(user: str) -> str:
        payload = users[user].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["sub"])

    return name


def sign_token(key: bytes, subject: str, expires_at: int) -> str:
    """An HS256 JWT ``{"sub", "exp"}``, as the chat's own ``tokens.sign`` writes it."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = (
        f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'exp': expires_at})}"
    )
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


# --- Cognito: a user of the pool for the length of a check ------------------------------------


class cognito_user:  # noqa: N801 - used as a context manager, like open()
    """Creates a user in the pool with a random password and TOTP MFA (the pools require it),
    signs it in through the integ stack's admin client and yields its ID token; deletes the
    user on exit."""

    def __init__(self, pool_id: str, client_id: str) -> None:
        self.idp = boto3.client("cognito-idp")
        self.pool_id, self.client_id = pool_id, client_id
        self.username = f"smoke-{secrets.token_hex(6)}@example.com"

    def __enter__(self) -> str:
        password = f"Sm0ke!{secrets.token_urlsafe(18)}"
        self.idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=self.username,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": self.username},
                {"Name": "email_verified", "Value": "true"},
            ],
        )
        self.idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=self.username, Password=password, Permanent=True
        )
        answer = self._admin(
            "admin_initiate_auth",
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self.username, "PASSWORD": password},
        )
        if answer.get("ChallengeName") == "MFA_SETUP":
            association = self.idp.associate_software_token(Session=answer["Session"])
            secret = association["SecretCode"]
            verified = self.idp.verify_software_token(
                Session=association["Session"], UserCode=totp(secret)
            )
            answer = self._admin(
                "admin_respond_to_auth_challenge",
                ChallengeName="MFA_SETUP",
                ChallengeResponses={"USERNAME": self.username},
                Session=verified["Session"],
            )
        checks.expect(
            "AuthenticationResult" in answer, f"Cognito sign-in: {answer.get('ChallengeName')}"
        )
        return str(answer["AuthenticationResult"]["IdToken"])

    def _admin(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        call = getattr(self.idp, operation)
        return dict(call(UserPoolId=self.pool_id, ClientId=self.client_id, **kwargs))

    def __exit__(self, *_: object) -> None:
        self.idp.admin_delete_user(UserPoolId=self.pool_id, Username=self.username)


def totp(secret: str, at: float | None = None, digits: int = 6, step: int = 30) -> str:
    """RFC 6238 TOTP (HMAC-SHA1), as an authenticator app computes it from Cognito's secret."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


# --- Thumbnails ------------------------------------------------------------------------------


def thumbnails(event: dict[str, Any]) -> str:
    s3 = boto3.client("s3")
    key = f"{event['source_prefix']}smoke/sample.png"
    widths = [int(w) for w in str(event["widths"]).split(",")]
    expected = checks.thumbnail_keys(
        key,
        widths,
        source_prefix=event["source_prefix"],
        destination_prefix=event["destination_prefix"],
    )
    if _get(s3, event["source_bucket"], key) is None:  # the first call uploads
        s3.put_object(Bucket=event["source_bucket"], Key=key, Body=checks.sample_png())
        return checks.PENDING
    return checks.thumbnails(
        expected, lambda k: _get(s3, event["destination_bucket"], k), checks.SAMPLE_SIZE
    )


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as err:
        if err.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


# --- ContainerService and LightsailSite ------------------------------------------------------


def web(event: dict[str, Any]) -> str:
    return checks.web(event["url"], event.get("health_path", "/health"))


def reachable(event: dict[str, Any]) -> str:
    return checks.reachable(event["url"])


# --- BatchJobs -------------------------------------------------------------------------------

JOB_NAME = "smoke-compounds"
INPUT_KEY = "input/smoke.csv"
OUTPUT_PREFIX = f"output/smoke/shards-{checks.BATCH_SHARDS}/"


def batch(event: dict[str, Any]) -> str:
    s3, client = boto3.client("s3"), boto3.client("batch")
    jobs = client.list_jobs(
        jobQueue=event["job_queue"], filters=[{"name": "JOB_NAME", "values": [JOB_NAME]}]
    )["jobSummaryList"]
    if not jobs:  # the first call submits
        s3.put_object(Bucket=event["bucket"], Key=INPUT_KEY, Body=checks.batch_input())
        client.submit_job(
            jobName=JOB_NAME,
            jobQueue=event["job_queue"],
            jobDefinition=event["job_definition"],
            arrayProperties={"size": checks.BATCH_SHARDS},
            parameters={
                "input": f"s3://{event['bucket']}/{INPUT_KEY}",
                "output": f"s3://{event['bucket']}/output/",
                "shards": str(checks.BATCH_SHARDS),
            },
        )
        return checks.PENDING
    status = jobs[0]["status"]
    checks.expect(
        status != "FAILED", f"job {jobs[0]['jobId']} FAILED: {jobs[0].get('statusReason')}"
    )
    if status != "SUCCEEDED":
        return checks.PENDING
    listed = s3.list_objects_v2(Bucket=event["bucket"], Prefix=OUTPUT_PREFIX).get("Contents", [])
    texts = {o["Key"]: (_get(s3, event["bucket"], o["Key"]) or b"").decode() for o in listed}
    parts = [t for k, t in sorted(texts.items()) if k.rsplit("/", 1)[-1].startswith("part-")]
    rejects = [t for k, t in sorted(texts.items()) if k.rsplit("/", 1)[-1].startswith("rejects-")]
    return checks.batch_output(parts, rejects)


# --- ScheduledJob ----------------------------------------------------------------------------


def export(event: dict[str, Any]) -> str:
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table = dynamodb.describe_table(TableName=event["table"])["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    items = checks.export_items(table["KeySchema"], types)
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={event["table"]: requests})
    # As the schedule invokes it, with a scheduled time of now (a manual run).
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    answer = boto3.client("lambda").invoke(
        FunctionName=event["function"], Payload=json.dumps({"scheduled_time": now}).encode()
    )
    result = json.loads(answer["Payload"].read())
    checks.expect("FunctionError" not in answer, f"the export failed: {result}")
    prefix = str(result["location"]).split("/", 3)[3]
    manifest = json.loads(_get(s3, event["bucket"], f"{prefix}_manifest.json") or b"{}")
    records: list[dict[str, Any]] = []
    listed = s3.list_objects_v2(Bucket=event["bucket"], Prefix=f"{prefix}part-").get("Contents", [])
    for part in listed:
        text = gzip.decompress(_get(s3, event["bucket"], part["Key"]) or b"").decode()
        records += [json.loads(line) for line in text.splitlines() if line]
    return checks.export(manifest, records, len(items))


CHECKS: dict[str, Callable[[dict[str, Any]], str]] = {
    "items_api": items_api,
    "chat": chat,
    "thumbnails": thumbnails,
    "web": web,
    "reachable": reachable,
    "batch": batch,
    "export": export,
}
