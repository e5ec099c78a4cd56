"""Each handler and app, run through its public entry point against moto with every AWS call
recorded (tests/iam.py), checked against the IAM policy the synthesized template gives its role:
every call must be allowed on the resource it addressed (else the first real deploy fails with
AccessDenied), and every grant must be used by some call (else it is privilege nobody needs).

Grants the runtime uses rather than the code, and so no call here records, are listed in
``RUNTIME`` with the reason.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from tests.iam import ACCOUNT, REGION, Recorder, RolePolicy, function_role, logical_id
from tests.support import (
    FAKE_AWS_ENV,
    ROOT,
    LambdaContext,
    Synth,
    create_connections_table,
    handler_package,
    rest_proxy_event,
    websocket_event,
)

RUNTIME = frozenset(
    {
        # Lambda writes the function's logs and traces with its role; the code never does.
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # Lambda's asynchronous invocation sends failed events to the on-failure destination
        # (the SQS dead-letter queue) with the function's role (shared.QueueFailureDestination).
        "sqs:SendMessage",
    }
)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """Fake credentials, moto, and a recorder on every client made from here on (so the
    handler must be imported inside the test, as Lambda would import it)."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "IamConformance")
    # Clients the handlers made in other tests' imports must not be reused: a new session.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with mock_aws(), Recorder().install(monkeypatch) as rec:
        yield rec


def _check(policy: RolePolicy, recorder: Recorder, *, needed: Mapping[str, str] = {}) -> None:
    """No call denied; no grant unused except the runtime's and ``needed`` (action: reason)."""
    assert recorder.accesses, "the scenario recorded no AWS call"
    assert policy.managed == [], f"{policy.role} has managed policies: {policy.managed}"
    assert policy.denied(recorder.accesses) == []
    unused = policy.unused(recorder.accesses, runtime=RUNTIME | set(needed))
    assert unused == [], "granted but never used:\n" + "\n".join(unused)


@contextmanager
def _import(root: Path, module: str, env: Mapping[str, str]) -> Iterator[ModuleType]:
    """The handler imported as Lambda imports it, inside the test's moto and recorder."""
    with handler_package(root, env):
        yield importlib.import_module(module)


# -- ServerlessApi: the items API ------------------------------------------------------------


def _rest_event(method: str, path: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    text = None if body is None else json.dumps(body)
    return rest_proxy_event(method, path, body=text, **extra)


def test_items_api_calls_match_its_role(synth: Synth, recorder: Recorder) -> None:
    template = synth.template_json("ServerlessApi")
    role = function_role(template, lambda p: p.get("Handler") == "items.app.lambda_handler")
    table_id = logical_id(template, "AWS::DynamoDB::Table")
    table = "items-iam"
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    env = {"TABLE_NAME": table, "POWERTOOLS_SERVICE_NAME": "items-api"}
    items_root = ROOT / "lambda_src" / "serverless_api"
    with _import(items_root, "items.app", env) as items, recorder.recording():
        handler = items.lambda_handler
        headers = {"Idempotency-Key": "k1"}
        created = handler(
            _rest_event("POST", "/items", {"name": "Widget"}, headers=headers), LambdaContext()
        )
        assert created["statusCode"] == 201, created
        item = json.loads(created["body"])
        path = f"/items/{item['id']}"
        for event in (
            _rest_event("GET", "/items", query={"limit": "10"}),
            _rest_event("GET", path),
            _rest_event("PUT", path, {"name": "Gadget", "version": item["version"]}),
            _rest_event("DELETE", path),
        ):
            reply = handler(event, LambdaContext())
            assert reply["statusCode"] < 300, reply
    policy = RolePolicy.of(template, role, {table_id: table})
    _check(policy, recorder)


# -- WebSocketApi: the chat routes (with the management API) and the authorizer --------------

CALLBACK_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"


def _ws_event(route: str, connection_id: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    return websocket_event(
        route, connection_id, None if body is None else json.dumps(body), **extra
    )


class _Gone:
    """Answers PostToConnection for one connection with 410 Gone, as API Gateway does for a
    client that went away (moto has no closed connections); other posts reach moto."""

    def __init__(self, connection_id: str) -> None:
        self.path = f"/@connections/{connection_id}"

    def __call__(self, params: dict[str, Any], **_: Any) -> Any:
        if not params["url_path"].endswith(self.path):
            return None
        error = {"Error": {"Code": "GoneException", "Message": "gone"}}
        http = type("Http", (), {"status_code": 410, "headers": {}})()
        return http, {**error, "ResponseMetadata": {"HTTPStatusCode": 410}}


def test_chat_calls_match_its_role(synth: Synth, recorder: Recorder) -> None:
    template = synth.template_json("WebSocketApi")
    role = function_role(template, lambda p: p.get("Handler") == "chat.app.lambda_handler")
    table_id = logical_id(template, "AWS::DynamoDB::Table")
    api_id = logical_id(template, "AWS::ApiGatewayV2::Api")
    function = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "chat.app.lambda_handler"
    )
    index = function["Environment"]["Variables"]["ROOM_INDEX_NAME"]
    table = "chat-iam"
    create_connections_table(table, index, region=REGION)
    env = {
        "TABLE_NAME": table,
        "ROOM_INDEX_NAME": index,
        "CALLBACK_URL": CALLBACK_URL,
        "CONNECTION_TTL_SECONDS": "7800",
        "POWERTOOLS_SERVICE_NAME": "websocket-chat",
    }
    with _import(ROOT / "lambda_src" / "websocket_api", "chat.app", env) as chat:
        management = next(
            value
            for value in vars(chat).values()
            if getattr(getattr(value, "meta", None), "service_model", None) is not None
            and value.meta.service_model.service_name == "apigatewaymanagementapi"
        )
        management.meta.events.register(
            "before-call.apigatewaymanagementapi.PostToConnection", _Gone("gone")
        )
        authorizer = {"userId": "alice", "principalId": "alice"}
        with recorder.recording():
            for connection in ("alice", "bob", "gone"):
                reply = chat.lambda_handler(
                    _ws_event("$connect", connection, authorizer=authorizer), LambdaContext()
                )
                assert reply["statusCode"] == 200, reply
                chat.lambda_handler(
                    _ws_event("join", connection, {"action": "join", "room": "lobby"}),
                    LambdaContext(),
                )
            sent = chat.lambda_handler(
                _ws_event("send", "alice", {"action": "send", "text": "hi"}),
                LambdaContext(),
            )
            assert sent["statusCode"] == 200, sent
            chat.lambda_handler(_ws_event("$disconnect", "bob"), LambdaContext())
    called = {(service, operation) for service, operation, _ in recorder.calls}
    assert ("apigatewaymanagementapi", "PostToConnection") in called
    policy = RolePolicy.of(template, role, {table_id: table, api_id: "abc123"})
    _check(policy, recorder)


def test_chat_authorizer_calls_match_its_role(synth: Synth, recorder: Recorder) -> None:
    template = synth.template_json("WebSocketApi")
    handler = "chat.authorizer.lambda_handler"
    functions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    if not functions:
        pytest.skip("the default WebSocketApi has no token authorizer function")
    variables = functions[0]["Environment"]["Variables"]
    if "TOKEN_SECRET_ARN" not in variables:
        pytest.skip("the authorizer reads no secret from AWS")
    role = function_role(template, lambda p: p.get("Handler") == handler)
    secret_id = variables["TOKEN_SECRET_ARN"]["Ref"]
    key = "k" * 64
    secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="chat-token-iam", SecretString=key
    )["ARN"]
    env = {k: v for k, v in variables.items() if isinstance(v, str)}
    env |= {"TOKEN_SECRET_ARN": secret_arn, "POWERTOOLS_SERVICE_NAME": "chat-authorizer"}
    with _import(ROOT / "lambda_src" / "websocket_api", "chat.authorizer", env) as authorizer:
        event = {
            "type": "REQUEST",
            "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/v1/$connect",
            "queryStringParameters": {"token": "not-a-token"},
            "headers": {},
            "requestContext": {"routeKey": "$connect", "connectionId": "c1"},
        }
        with recorder.recording():
            try:
                authorizer.lambda_handler(event, LambdaContext())
            except Exception as err:  # an invalid token may be refused by raising
                if "Unauthorized" not in str(err) and "Unauthorized" not in type(err).__name__:
                    raise
    policy = RolePolicy.of(template, role, {secret_id: secret_arn})
    _check(policy, recorder)


# -- ScheduledJob: the nightly export ----------------------------------------------------------


def test_nightly_export_calls_match_its_role(synth: Synth, recorder: Recorder) -> None:
    template = synth.template_json("ScheduledJob")
    handler = "nightly_export.app.lambda_handler"
    role = function_role(template, lambda p: p.get("Handler") == handler)
    function = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    )
    variables = function["Environment"]["Variables"]
    table_id = logical_id(template, "AWS::DynamoDB::Table")
    bucket_id = variables["BUCKET_NAME"]["Ref"]
    table, bucket = "orders-iam", "exports-iam"
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    created = dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(25):
        created.put_item(Item={"pk": f"order#{i:03d}", "sk": "v1", "n": i})
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    env = {k: v for k, v in variables.items() if isinstance(v, str)}
    env |= {"TABLE_NAME": table, "BUCKET_NAME": bucket, "RECORDS_PER_PART": "10"}
    export_root = ROOT / "lambda_src" / "scheduled_job"
    with _import(export_root, "nightly_export.app", env) as export, recorder.recording():
        for _ in range(2):  # the second run finds the first one's export
            export.lambda_handler({"scheduled_time": "2026-11-23T02:00:00Z"}, LambdaContext())
    policy = RolePolicy.of(template, role, {table_id: table, bucket_id: bucket})
    _check(
        policy,
        recorder,
        needed={
            "s3:GetObject": "HeadObject on the run's lock when another run holds it, to take a "
            "stale lock over; only overlapping runs get there.",
            "s3:AbortMultipartUpload": "upload_fileobj (s3transfer) aborts a multipart part "
            "upload that failed, so no orphaned parts are billed.",
        },
    )


# -- Thumbnails --------------------------------------------------------------------------------


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_thumbnails_calls_match_its_role(synth: Synth, recorder: Recorder) -> None:
    template = synth.template_json("Thumbnails")
    role = function_role(template, lambda p: "ImageUri" in p.get("Code", {}))
    function = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "ImageUri" in r["Properties"].get("Code", {})
    )
    variables = function["Environment"]["Variables"]
    source_id = logical_id(template, "AWS::S3::Bucket", "SourceBucket")
    destination_id = variables["DESTINATION_BUCKET"]["Ref"]
    source, destination = "uploads-iam", "thumbs-iam"
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (source, destination):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    records = []
    # One event with a version id (the default, versioned source bucket) and one without (a
    # caller's unversioned bucket): GetObjectVersion and GetObject.
    for name, versioned in (("cat.jpg", True), ("dog.jpg", False)):
        key = f"{variables['SOURCE_PREFIX']}{name}"
        put = s3.put_object(Bucket=source, Key=key, Body=_jpeg())
        obj = {"key": key, "size": 1, **({"versionId": put["VersionId"]} if versioned else {})}
        records.append(
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": source}, "object": obj},
            }
        )
    env = {k: v for k, v in variables.items() if isinstance(v, str)}
    env |= {"DESTINATION_BUCKET": destination}
    with _import(ROOT / "containers" / "thumbnail", "thumbnailer.app", env) as app:
        with recorder.recording():
            result = app.lambda_handler({"Records": records}, LambdaContext())
        assert result, result
    written = s3.list_objects_v2(Bucket=destination).get("Contents", [])
    assert written, "the scenario wrote no thumbnail"
    policy = RolePolicy.of(template, role, {source_id: source, destination_id: destination})
    _check(
        policy,
        recorder,
        needed={
            "s3:ListBucket": "Without it S3 answers 403 instead of 404 for an upload deleted "
            "before the function reads it, and the event would be retried into the failure queue.",
            "s3:DeleteObject": "DeleteObjects removes an object's partial set of thumbnails when "
            "one upload fails (tests/thumbnails/test_faults.py); only a failed upload gets there.",
        },
    )


# -- BatchJobs: the compounds job's task role --------------------------------------------------


def test_batch_job_calls_match_its_task_role(synth: Synth, recorder: Recorder) -> None:
    template = synth.template_json("BatchJobs")
    definition = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Batch::JobDefinition"
    )
    role = definition["ContainerProperties"]["JobRoleArn"]["Fn::GetAtt"][0]
    bucket_id = logical_id(template, "AWS::S3::Bucket", "Data")
    bucket = "compounds-iam"
    parameters = definition["Parameters"]
    resolve = {"Ref": bucket_id}

    def location(value: Any) -> str:
        # "s3://{bucket}/{prefix}..." as Fn::Join parts, with the bucket as a Ref.
        parts = value["Fn::Join"][1] if isinstance(value, dict) else [value]
        return "".join(bucket if part == resolve else str(part) for part in parts)

    source, output = location(parameters["input"]), location(parameters["output"])
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    input_key = source.removeprefix(f"s3://{bucket}/")
    s3.put_object(
        Bucket=bucket, Key=input_key, Body=b"id,smiles\naspirin,CC(=O)OC1=CC=CC=C1C(=O)O\n"
    )
    job_root = ROOT / "containers" / "batch_job"
    sys.path.insert(0, str(job_root))
    try:
        cli = importlib.import_module("compounds.cli")
        with recorder.recording():
            assert cli.main(["run", "--input", source, "--output", output]) == 0
    finally:
        sys.path.remove(str(job_root))
    policy = RolePolicy.of(template, role, {bucket_id: bucket})
    _check(policy, recorder)


# -- ContainerService: the web app -------------------------------------------------------------


def test_web_app_task_role_grants_nothing(synth: Synth) -> None:
    """The web app calls no AWS API (it imports no AWS SDK), so its task role has no policy:
    a team that adds calls adds the grants with ``service.task_role``."""
    template = synth.template_json("ContainerService")
    definition = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
    )
    role = definition["TaskRoleArn"]["Fn::GetAtt"][0]
    assert RolePolicy.of(template, role, {}).grants == []
    sources = (ROOT / "containers" / "web").rglob("*.py")
    assert not [p for p in sources if "boto3" in p.read_text() or "botocore" in p.read_text()]


def test_policy_check_catches_a_denied_and_an_unused_grant() -> None:
    """Guards the checker: a call outside the grant is denied, a grant never used is reported."""
    from tests.iam import Access

    template = {
        "Resources": {
            "T": {"Type": "AWS::DynamoDB::Table"},
            "R": {"Type": "AWS::IAM::Role", "Properties": {}},
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "R"}],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["dynamodb:GetItem", "dynamodb:Scan"],
                                "Resource": {"Fn::GetAtt": ["T", "Arn"]},
                            }
                        ]
                    },
                },
            },
        }
    }
    policy = RolePolicy.of(template, "R", {"T": "t"})
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
    used = [
        Access("dynamodb:GetItem", arn + "t", "dynamodb.GetItem"),
        Access("dynamodb:PutItem", arn + "t", "dynamodb.PutItem"),
        Access("dynamodb:GetItem", arn + "other", "dynamodb.GetItem"),
    ]
    assert policy.denied(used) == [
        f"dynamodb.GetItem: dynamodb:GetItem on {arn}other",
        f"dynamodb.PutItem: dynamodb:PutItem on {arn}t",
    ]
    assert policy.unused(used) == [f"dynamodb:Scan on {arn}t (P)"]
