"""Alarms: the encrypted SNS topic they notify (``ensure_alarm_topic``), ``Alarms``, which
wires each alarm to that topic on alarm and on recovery, and ``function_graph``, a function's
dashboard graph."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .checks import check, email_error

_FIVE_MINUTES = Duration.minutes(5)


def ensure_alarm_topic(
    scope: Construct,
    id: str,
    *,
    topic: sns.ITopic | None = None,
    email: str | None = None,
) -> sns.ITopic:
    """Return ``topic`` if given, else create an encrypted, TLS-only SNS topic for alarms.

    The topic is encrypted with a customer-managed key (about $1/month) because CloudWatch
    alarms cannot publish to a topic encrypted with the AWS-managed ``aws/sns`` key.
    """
    if topic is None:
        key = kms.Key(
            scope,
            f"{id}Key",
            description=f"Encrypts the alarm topic of {scope.node.path}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # "*" in a key policy means this key only
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
            )
        )
        # Grants let a principal hand the key on; only AWS services acting for a resource
        # (which none here needs) may create them. Control Tower's CT.KMS.PR.3 asks for this.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyGrantsExceptToAwsServices",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "BoolIfExists": {
                        "kms:GrantIsForAWSResource": "false",
                        "aws:PrincipalIsAWSService": "false",
                    }
                },
            )
        )
        topic = sns.Topic(scope, id, master_key=key, enforce_ssl=True, display_name="Alarms")
    if email:
        check("alarm_email", email, email_error(email))
        topic.add_subscription(subs.EmailSubscription(email))
    return topic


class Alarms:
    """Creates alarms that all notify one topic, on alarm and on recovery.

    Missing data is not breaching: an idle service is a healthy one.
    """

    def __init__(self, scope: Construct, topic: sns.ITopic) -> None:
        self._scope = scope
        self._action = cw_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def add(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self._scope,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    # The alarms every function and failure queue here gets, written once: a five-minute sum
    # (a maximum for a queue's depth), alarming at the first event.
    def function_errors(
        self, id: str, function: lambda_.IFunction, description: str
    ) -> cloudwatch.Alarm:
        """``function`` raised an error or timed out in a five-minute window."""
        metric = function.metric_errors(period=_FIVE_MINUTES, statistic="Sum")
        return self.add(id, metric, threshold=1, description=description)

    def function_throttles(
        self, id: str, function: lambda_.IFunction, description: str
    ) -> cloudwatch.Alarm:
        """Lambda throttled ``function`` in a five-minute window."""
        metric = function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum")
        return self.add(id, metric, threshold=1, description=description)

    def delivery_failures(
        self, id: str, function: lambda_.IFunction, description: str
    ) -> cloudwatch.Alarm:
        """Lambda could not deliver a failed asynchronous event to ``function``'s destination:
        the one way such an event is lost, which the destination's own alarm cannot see."""
        metric = function.metric(
            "DestinationDeliveryFailures", period=_FIVE_MINUTES, statistic="Sum"
        )
        return self.add(id, metric, threshold=1, description=description)

    def queue_depth(self, id: str, queue: sqs.IQueue, description: str) -> cloudwatch.Alarm:
        """A message is waiting in ``queue`` (a dead-letter or failure queue)."""
        metric = queue.metric_approximate_number_of_messages_visible(
            period=_FIVE_MINUTES, statistic="Maximum"
        )
        return self.add(id, metric, threshold=1, description=description)


def function_graph(title: str, function: lambda_.IFunction) -> cloudwatch.GraphWidget:
    """A dashboard graph of a function: invocations, errors and throttles, with p99 duration."""
    return cloudwatch.GraphWidget(
        title=title,
        left=[
            function.metric_invocations(statistic="Sum"),
            function.metric_errors(statistic="Sum"),
            function.metric_throttles(statistic="Sum"),
        ],
        right=[function.metric_duration(statistic="p99")],
    )
