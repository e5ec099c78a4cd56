"""Queues for what failed: ``dead_letter_queue`` (SSE-SQS, TLS-only, messages kept 14 days)
and ``QueueFailureDestination``, a Lambda on-failure destination granted only what Lambda uses."""

from __future__ import annotations

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .exceptions import exempt


def dead_letter_queue(
    scope: Construct, id: str, *, of: str, removal_policy: RemovalPolicy
) -> sqs.Queue:
    """An SQS queue for what failed every retry (``of`` says whose failures): SSE-SQS, so
    Lambda, EventBridge and Scheduler can send to it with no key policy to maintain; TLS-only;
    messages kept 14 days, SQS's maximum, for inspection and redrive. Alarm on its depth."""
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    exempt(
        queue,
        f"This queue is itself the dead-letter destination of {of}; messages are kept 14 "
        "days for inspection and redrive, and its depth raises an alarm.",
        nag="AwsSolutions-SQS3",
        guard="sqs_dlq_check",
    )
    exempt(
        queue,
        "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which this check does not "
        "recognize: a KMS key would need a key policy for every service that sends failures here.",
        checkov="CKV_AWS_27",
    )
    return queue


@jsii.implements(lambda_.IDestination)
class QueueFailureDestination:
    """An SQS on-failure destination for asynchronous invocations whose grant is what Lambda
    uses, ``sqs:SendMessage``: CDK's ``SqsDestination`` also grants ``sqs:GetQueueAttributes``
    and ``sqs:GetQueueUrl``, which nothing calls (tests/test_iam_conformance.py)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        _scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType | None = None,  # noqa: ARG002 - the interface's signature
    ) -> lambda_.DestinationConfig:
        iam.Grant.add_to_principal(
            grantee=fn, actions=["sqs:SendMessage"], resource_arns=[self._queue.queue_arn]
        )
        if self._queue.encryption_master_key is not None:
            self._queue.encryption_master_key.grant_encrypt_decrypt(fn)
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)
