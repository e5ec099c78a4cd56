"""What a handler calls, against what its role allows.

``Recorder`` hooks every botocore client made while it is installed (``provide-client-params`` on
the client's event system, so calls made through boto3 resources, batch writers and Powertools'
own clients count too) and keeps each call as IAM sees it: the action and the ARN addressed.
``RolePolicy`` reads the statements a synthesized template attaches to one role, resolving
``Ref``/``Fn::GetAtt``/``Fn::Join``/``Fn::Sub`` with fake physical names, and says which call it
denies and which grant no call used.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import botocore.session

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"


@dataclass(frozen=True)
class Access:
    """One IAM authorization a call needs: an action on a resource ARN."""

    action: str
    resource: str
    call: str  # service.Operation, for messages


def _table_arn(name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def _dynamodb(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(operation, _table_arn(t)) for t in params["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        actions = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
            "Get": "GetItem",
        }
        return [
            (actions[kind], _table_arn(body["TableName"]))
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    arn = _table_arn(params["TableName"])
    if params.get("IndexName"):
        arn += f"/index/{params['IndexName']}"
    return [(operation, arn)]


# S3 operations whose IAM action is not the operation's own name.
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "HeadBucket": "ListBucket",
    "DeleteObjects": "DeleteObject",
}


def _s3(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    bucket = params["Bucket"]
    action = _S3_ACTIONS.get(operation, operation)
    if "Key" not in params and operation != "DeleteObjects":
        return [(action, f"arn:{PARTITION}:s3:::{bucket}")]
    if operation == "DeleteObjects":
        return [(action, _s3_object(bucket, o["Key"])) for o in params["Delete"]["Objects"]]
    if action == "GetObject" and params.get("VersionId"):
        action = "GetObjectVersion"
    return [(action, _s3_object(bucket, params["Key"]))]


def _management(operation: str, endpoint: str) -> list[tuple[str, str]]:
    # https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
    url = urlparse(endpoint)
    api_id = url.hostname.split(".")[0] if url.hostname else ""
    stage = url.path.strip("/")
    verb = {"PostToConnection": "POST", "DeleteConnection": "DELETE", "GetConnection": "GET"}
    return [(operation, f"{api_id}/{stage}/{verb[operation]}/@connections")]


def accesses(
    service: str, operation: str, params: Mapping[str, Any], endpoint: str
) -> list[Access]:
    """The IAM authorizations one API call needs. Unknown services fail loudly: a new kind of
    call must be taught here before the test can say whether the role allows it."""
    call = f"{service}.{operation}"
    if service == "dynamodb":
        pairs = [(f"dynamodb:{a}", r) for a, r in _dynamodb(operation, params)]
    elif service == "s3":
        pairs = [(f"s3:{a}", r) for a, r in _s3(operation, params)]
    elif service == "secretsmanager":
        pairs = [(f"secretsmanager:{operation}", str(params["SecretId"]))]
    elif service == "apigatewaymanagementapi":
        pairs = [
            (
                "execute-api:ManageConnections",
                f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:{path}/{params['ConnectionId']}",
            )
            for _, path in _management(operation, endpoint)
        ]
    elif service == "batch" and operation == "SubmitJob":
        pairs = [
            ("batch:SubmitJob", str(params["jobQueue"])),
            ("batch:SubmitJob", str(params["jobDefinition"])),
        ]
    else:
        raise AssertionError(f"tests/iam.py does not know the IAM action of {call}")
    return [Access(action, resource, call) for action, resource in pairs]


@dataclass
class Recorder:
    """Records, while ``active``, every call of every botocore client created after
    ``install``."""

    active: bool = False
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)

    def _hook(self, client: Any) -> Callable[..., None]:
        service = client.meta.service_model.service_name
        endpoint = client.meta.endpoint_url

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            if self.active:
                self.calls.append((service, model.name, dict(params)))
                self.accesses.extend(accesses(service, model.name, params, endpoint))

        return record

    @contextmanager
    def install(self, monkeypatch: Any) -> Iterator[Recorder]:
        original = botocore.session.Session.create_client

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("provide-client-params", self._hook(client))
            return client

        monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
        yield self

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.active = True
        try:
            yield
        finally:
            self.active = False


# -- the template side -------------------------------------------------------------------------


def _arn_of(resource_type: str, name: str) -> str:
    arns = {
        "AWS::DynamoDB::Table": _table_arn(name),
        "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
        "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
        "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
        "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{name}",
        "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
    }
    return arns.get(resource_type, f"arn:unresolved:{resource_type}:{name}")


@dataclass
class Resolver:
    """Template intrinsics to strings. ``names`` gives the physical name (what ``Ref`` returns)
    of the resources the test created; everything else resolves to a name that matches nothing
    real, so a grant on it can never pass for a grant on what the code addressed."""

    template: Mapping[str, Any]
    names: Mapping[str, str]

    def ref(self, logical_id: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        return self.names.get(logical_id, f"unresolved-{logical_id}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource_type = self.template["Resources"].get(logical_id, {}).get("Type", "?")
        name = self.ref(logical_id)
        if attribute == "Arn":
            return name if name.startswith("arn:") else _arn_of(resource_type, name)
        return f"{name}.{attribute}"

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.get_att(logical_id, attribute)
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self(p)) for p in parts)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), text)
        if "Fn::Select" in value:
            index, items = value["Fn::Select"]
            return self(items)[int(index)]
        if "Fn::Split" in value:
            separator, text = value["Fn::Split"]
            return str(self(text)).split(separator)
        return {k: self(v) for k, v in value.items()}

    def _sub(self, name: str) -> str:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.get_att(logical_id, attribute)
        return self.ref(name)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Grant:
    """One (action pattern, resource pattern) pair of an Allow statement."""

    action: str
    resource: str
    policy: str

    def allows(self, access: Access) -> bool:
        return fnmatch.fnmatchcase(access.action.lower(), self.action.lower()) and (
            fnmatch.fnmatchcase(access.resource, self.resource)
        )


@dataclass
class RolePolicy:
    role: str
    grants: list[Grant]
    managed: list[Any]

    @classmethod
    def of(cls, template: Mapping[str, Any], role: str, names: Mapping[str, str]) -> RolePolicy:
        """Every Allow of the inline and attached ``AWS::IAM::Policy`` documents of ``role``."""
        resolve = Resolver(template, names)
        resources = template["Resources"]
        documents: list[tuple[str, Any]] = [
            (f"{role}/{p['PolicyName']}", p["PolicyDocument"])
            for p in resources[role]["Properties"].get("Policies", [])
        ]
        for logical_id, resource in resources.items():
            if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            if {"Ref": role} in resource["Properties"].get("Roles", []):
                documents.append((logical_id, resource["Properties"]["PolicyDocument"]))
        grants = []
        for name, document in documents:
            for statement in document["Statement"]:
                assert statement["Effect"] == "Allow", f"{name}: only Allow statements expected"
                assert "NotAction" not in statement
                assert "NotResource" not in statement
                for action in _listed(statement["Action"]):
                    for resource in _listed(resolve(statement["Resource"])):
                        grants.append(Grant(action, str(resource), name))
        managed = list(resources[role]["Properties"].get("ManagedPolicyArns", []))
        return cls(role, grants, managed)

    def denied(self, used: list[Access]) -> list[str]:
        """The calls no grant allows: what would fail with AccessDenied on a real deploy."""
        return sorted(
            {
                f"{a.call}: {a.action} on {a.resource}"
                for a in used
                if not any(g.allows(a) for g in self.grants)
            }
        )

    def unused(self, used: list[Access], *, runtime: frozenset[str] = frozenset()) -> list[str]:
        """Grants no recorded call exercised, except the actions in ``runtime`` (used by the
        Lambda or ECS runtime rather than the code: logs, X-Ray, image pulls)."""
        return sorted(
            {
                f"{g.action} on {g.resource} ({g.policy})"
                for g in self.grants
                if g.action not in runtime and not any(g.allows(a) for a in used)
            }
        )


def function_role(template: Mapping[str, Any], match: Callable[[Mapping[str, Any]], bool]) -> str:
    """The logical id of the role of the one function whose properties ``match``."""
    roles = [
        r["Properties"]["Role"]["Fn::GetAtt"][0]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and match(r["Properties"])
    ]
    assert len(roles) == 1, f"expected one matching function, found {len(roles)}"
    return str(roles[0])


def logical_id(template: Mapping[str, Any], resource_type: str, contains: str = "") -> str:
    """The one resource of ``resource_type`` whose logical id contains ``contains``."""
    found = [
        key
        for key, r in template["Resources"].items()
        if r["Type"] == resource_type and contains in key
    ]
    assert len(found) == 1, f"expected one {resource_type} ~ {contains!r}, found {found}"
    return str(found[0])
