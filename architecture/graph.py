"""A stack's architecture as a graph, read from its synthesized template: what the picture draws.

Nodes are the resources a reader looks for (functions, APIs, tables, buckets, queues, ...), one
per resource; the many small ones of a kind (log groups, alarms, VPC endpoints) are one node
with a count. Everything else is glue between them, and becomes edges:

- a reference (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) from one drawn resource to another, or to
  the VPC through its subnets or security groups;
- an IAM policy: from what assumes the role (a function, a task, a job) to each drawn resource
  its statements name, labelled with the actions' service;
- an API method, route, integration or authorizer: from the API to what it invokes or trusts;
- an event source: an event source mapping, a Lambda permission's source, a bucket's
  notification, a listener's target group (from the source to the target).

Deploy-time helpers (the functions behind CloudFormation custom resources) are left out. No
Graphviz here: the test that the pictures are current compares this graph only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local.template import Template

# Drawn resource types -> the kind shown under the name (its icon is chosen in draw.py).
KINDS = {
    "AWS::ApiGateway::RestApi": "API Gateway REST API",
    "AWS::ApiGatewayV2::Api": "API Gateway WebSocket API",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::KMS::Key": "KMS key",
    "AWS::Cognito::UserPool": "Cognito user pool",
    "AWS::SecretsManager::Secret": "Secrets Manager secret",
    "AWS::Scheduler::Schedule": "EventBridge schedule",
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::ECR::Repository": "ECR repository",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::ECS::Service": "ECS service",
    "AWS::ECS::TaskDefinition": "ECS task definition",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Application Load Balancer",
    "AWS::EC2::VPC": "VPC",
    "AWS::Batch::ComputeEnvironment": "Batch compute environment",
    "AWS::Batch::JobQueue": "Batch job queue",
    "AWS::Batch::JobDefinition": "Batch job definition",
    "AWS::Lightsail::Instance": "Lightsail instance",
    "AWS::Lightsail::StaticIp": "Lightsail static IP",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboard",
}
# Kinds drawn as one node per stack, with their count.
GROUPED = {
    "AWS::Logs::LogGroup": "CloudWatch log groups",
    "AWS::CloudWatch::Alarm": "CloudWatch alarms",
    "AWS::Lightsail::Alarm": "Lightsail alarms",
    "AWS::EC2::VPCEndpoint": "VPC endpoints",
}
# Glue whose "caller" side is this property: edges run from it to everything else it names.
CALLER = {
    # type: (the caller's property, the edge's label)
    "AWS::ApiGateway::Method": ("RestApiId", "invokes"),
    "AWS::ApiGateway::Authorizer": ("RestApiId", "authorizer"),
    "AWS::ApiGateway::Stage": ("RestApiId", "access logs"),
    "AWS::ApiGatewayV2::Route": ("ApiId", "invokes"),
    "AWS::ApiGatewayV2::Integration": ("ApiId", "invokes"),
    "AWS::ApiGatewayV2::Authorizer": ("ApiId", "authorizer"),
    "AWS::ApiGatewayV2::Stage": ("ApiId", "access logs"),
    "AWS::Lambda::EventSourceMapping": ("EventSourceArn", "events"),
    "AWS::Lambda::Permission": ("SourceArn", "invokes"),
    "AWS::Lambda::EventInvokeConfig": ("FunctionName", "on failure"),
    "Custom::S3BucketNotifications": ("BucketName", "notifies"),
    "AWS::ElasticLoadBalancingV2::Listener": ("LoadBalancerArn", "forwards"),
}
# Glue a drawn resource sits in: it is drawn as an edge to what the glue names ("in" the VPC).
PLACEMENT = {"AWS::EC2::Subnet", "AWS::EC2::SecurityGroup"}
# Drawn, but what they reference is not drawn as edges: a dashboard names everything it shows.
SUMMARIES = {"AWS::CloudWatch::Dashboard"}
_HASH = re.compile(r"[0-9A-F]{8}$")
_SUB = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}")


@dataclass(frozen=True, order=True)
class Node:
    id: str
    kind: str
    label: str
    type: str
    count: int = 1


@dataclass
class Graph:
    stack: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def edge(self, source: str, target: str, label: str = "") -> None:
        if source != target and source in self.nodes and target in self.nodes:
            labels = self.edges.setdefault((source, target), set())
            if label:
                labels.add(label)

    def to_json(self) -> dict[str, Any]:
        """The graph as plain data, sorted: what docs/diagrams/<Stack>.json records."""
        return {
            "stack": self.stack,
            "nodes": [
                {"id": n.id, "kind": n.kind, "label": n.label, "count": n.count}
                for n in sorted(self.nodes.values())
            ],
            "edges": [
                {"from": s, "to": t, "label": ", ".join(sorted(labels))}
                for (s, t), labels in sorted(self.edges.items())
            ],
        }


def references(value: Any) -> Iterator[str]:
    """Every logical id (or pseudo parameter) that ``value`` refers to."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                yield from _SUB.findall(text)
                if not isinstance(arg, str):
                    yield from references(arg[1])
            else:
                yield from references(arg)


def label(logical_id: str) -> str:
    """``ItemsFunction702CF20A`` -> ``Items Function``: the construct path CDK hashed into it."""
    name = _HASH.sub("", logical_id) or logical_id
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


def _deploy_time(template: Template) -> set[str]:
    """Functions behind custom resources (their ``ServiceToken``): CDK's deploy-time helpers."""
    helpers: set[str] = set()
    for _, resource in template.resources.items():
        props = resource.get("Properties", {})
        if resource["Type"].startswith("Custom::") or "ServiceToken" in props:
            helpers.update(references(props.get("ServiceToken")))
    return helpers


def build(template: Template) -> Graph:
    graph = Graph(template.stack)
    helpers = _deploy_time(template)
    # Logical id -> the node it is drawn as (grouped kinds share one).
    drawn: dict[str, str] = {}
    for logical_id, resource in template.resources.items():
        type_ = resource["Type"]
        if type_ in KINDS and logical_id not in helpers:
            graph.nodes[logical_id] = Node(logical_id, KINDS[type_], label(logical_id), type_)
            drawn[logical_id] = logical_id
        elif type_ in GROUPED:
            group = type_.replace("::", "")
            drawn[logical_id] = group
            count = graph.nodes[group].count + 1 if group in graph.nodes else 1
            graph.nodes[group] = Node(group, GROUPED[type_], GROUPED[type_], type_, count)

    def targets(value: Any, seen: frozenset[str] = frozenset(), *, glue: bool = True) -> set[str]:
        """The drawn nodes ``value`` names, and (``glue``) those named by the glue it names (a
        listener's target group: the service that registers in it)."""
        found = set()
        for ref in references(value):
            if ref in drawn:
                found.add(drawn[ref])
            elif glue and ref in template.resources and ref not in seen:
                if template.resources[ref]["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup":
                    found.update(_users(ref))
                elif template.resources[ref]["Type"] in CALLER or ref in helpers:
                    continue
                else:
                    found.update(targets(template.props(ref), seen | {ref}))
        return found

    def _users(logical_id: str) -> set[str]:
        """The drawn resources whose properties name ``logical_id`` (a role, a target group)."""
        return {
            drawn[other]
            for other, resource in template.resources.items()
            if other in drawn
            and drawn[other] == other
            and logical_id in set(references(resource.get("Properties", {})))
        }

    for logical_id, resource in template.resources.items():
        type_, props = resource["Type"], resource.get("Properties", {})
        if logical_id in drawn and type_ not in SUMMARIES:
            for ref in set(references(props)):
                if ref in drawn:
                    graph.edge(drawn[logical_id], drawn[ref])
                elif template.resources.get(ref, {}).get("Type") in PLACEMENT:
                    for place in targets(template.props(ref), glue=False):
                        graph.edge(drawn[logical_id], place, "in")
        elif type_ in CALLER:
            caller, edge_label = CALLER[type_]
            rest = {k: v for k, v in props.items() if k != caller}
            for source in targets(props.get(caller), glue=False):
                for target in targets(rest):
                    graph.edge(source, target, edge_label)
        elif type_ == "AWS::IAM::Policy":
            principals = set().union(*(_users(str(r.get("Ref"))) for r in props.get("Roles", [])))
            for statement in props.get("PolicyDocument", {}).get("Statement", []):
                actions = statement.get("Action", [])
                services = sorted(
                    {a.split(":")[0] for a in ([actions] if isinstance(actions, str) else actions)}
                )
                for target in targets(statement.get("Resource")):
                    for principal in principals:
                        graph.edge(principal, target, "/".join(services))
    return graph
