"""Draw a stack's graph (graph.py) as a PNG with the official AWS icons (PyPI ``diagrams``, which
runs Graphviz's ``dot``)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .graph import Graph

# Resource type -> the ``diagrams`` icon (module in diagrams.aws, class).
ICONS = {
    "AWS::ApiGateway::RestApi": ("network", "APIGateway"),
    "AWS::ApiGatewayV2::Api": ("network", "APIGateway"),
    "AWS::Lambda::Function": ("compute", "Lambda"),
    "AWS::DynamoDB::Table": ("database", "Dynamodb"),
    "AWS::S3::Bucket": ("storage", "SimpleStorageServiceS3Bucket"),
    "AWS::SQS::Queue": ("integration", "SimpleQueueServiceSqsQueue"),
    "AWS::SNS::Topic": ("integration", "SimpleNotificationServiceSnsTopic"),
    "AWS::KMS::Key": ("security", "KMS"),
    "AWS::Cognito::UserPool": ("security", "Cognito"),
    "AWS::SecretsManager::Secret": ("security", "SecretsManager"),
    "AWS::Scheduler::Schedule": ("integration", "EventbridgeScheduler"),
    "AWS::Events::Rule": ("integration", "EventbridgeRule"),
    "AWS::ECR::Repository": ("compute", "ECR"),
    "AWS::ECS::Cluster": ("compute", "ElasticContainerService"),
    "AWS::ECS::Service": ("compute", "ElasticContainerServiceService"),
    "AWS::ECS::TaskDefinition": ("compute", "ElasticContainerServiceTask"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("network", "ElbApplicationLoadBalancer"),
    "AWS::EC2::VPC": ("network", "VPC"),
    "AWS::EC2::VPCEndpoint": ("network", "Endpoint"),
    "AWS::Batch::ComputeEnvironment": ("compute", "Fargate"),
    "AWS::Batch::JobQueue": ("compute", "Batch"),
    "AWS::Batch::JobDefinition": ("compute", "Batch"),
    "AWS::Lightsail::Instance": ("compute", "Lightsail"),
    "AWS::Lightsail::StaticIp": ("compute", "EC2ElasticIpAddress"),
    "AWS::CloudWatch::Dashboard": ("management", "Cloudwatch"),
    "AWS::Logs::LogGroup": ("management", "CloudwatchLogs"),
    "AWS::CloudWatch::Alarm": ("management", "CloudwatchAlarm"),
    "AWS::Lightsail::Alarm": ("management", "CloudwatchAlarm"),
}
# Curved edges keep each label beside its arrow (the library's default, ortho, drops labels).
GRAPH_ATTR = {
    "fontsize": "20",
    "pad": "0.8",
    "nodesep": "0.6",
    "ranksep": "1.4",
    "splines": "spline",
}


def _icon(type_: str) -> Any:
    module, name = ICONS.get(type_, ("general", "General"))
    package = "diagrams.generic.blank" if module == "general" else f"diagrams.aws.{module}"
    return getattr(importlib.import_module(package), "Blank" if module == "general" else name)


def draw(graph: Graph, out: Path) -> Path:
    """Write ``out`` (a .png path) from ``graph``; returns it."""
    from diagrams import Diagram, Edge

    out.parent.mkdir(parents=True, exist_ok=True)
    with Diagram(
        f"{graph.stack} (from its synthesized template)",
        filename=str(out.with_suffix("")),
        outformat="png",
        show=False,
        direction="LR",
        graph_attr=GRAPH_ATTR,
    ):
        nodes = {}
        for node in sorted(graph.nodes.values()):
            text = f"{node.label} ({node.count})" if node.count > 1 else node.label
            if node.count == 1 and node.kind.lower() not in node.label.lower():
                text += f"\n{node.kind}"
            nodes[node.id] = _icon(node.type)(text)
        for (source, target), labels in sorted(graph.edges.items()):
            nodes[source] >> Edge(label=", ".join(sorted(labels)), fontsize="11") >> nodes[target]
    return out
