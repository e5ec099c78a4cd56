"""API Gateway's account-wide CloudWatch logging role (``api_gateway_logging_role``), through
which REST and WebSocket API stages write their execution logs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from .exceptions import acknowledge


def api_gateway_logging_role(scope: Construct) -> apigw.CfnAccount:
    """API Gateway's one logging role per account and region (REST and WebSocket APIs write
    execution logs through it), and the account setting that points at it.

    Both are RETAINed: when this stack goes, every other API in the account keeps logging.
    Make the stages depend on the returned resource. A team whose platform already sets the
    role should skip this (each pattern has a prop for that).
    """
    role = iam.Role(
        scope,
        "ApiGatewayLoggingRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            )
        ],
    )
    role.apply_removal_policy(RemovalPolicy.RETAIN)
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide API Gateway logging role; this AWS-managed policy is the one "
        "API Gateway documents for it and is limited to CloudWatch Logs.",
    )
    account = apigw.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    return account
