"""Policy-engine exceptions. ``exempt`` records one exception, with one reason, for every
engine that raises it on one construct (cdk-nag, the Control Tower rules, checkov);
``acknowledge`` is its cdk-nag-only form, and ``nag_text`` spells a value as cdk-nag's finding ids
do. The ``exempt_*`` helpers are the exceptions that recur on one kind of resource in several
patterns: log groups, buckets, tables, IAM policies, invoke permissions, aws-cdk-lib's own
deploy-time functions.

cdk-nag's other packs (NIST 800-53 R4/R5, HIPAA Security, PCI DSS 3.2.1, Serverless; context
``compliance``) mostly re-ask what another engine already asks. ``CONCERNS`` is the table of
those concerns, each with its id in every engine and pack, and ``exempt`` acknowledges every
equivalent of a rule it is given: one decision, written once, answers every pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

# The id prefix CDK gives the findings of the Control Tower rules plugin
# (cdklabs.cdk-validator-cfnguard) in the validation report and in acknowledgements.
GUARD_PLUGIN = "cdk-validator-cfnguard"


# cdk-nag's pack names as its rule ids spell them (``<pack>-<rule>``); AwsSolutions is always on.
NIST_R5 = "NIST.800.53.R5"
NIST_R4 = "NIST.800.53.R4"
HIPAA = "HIPAA.Security"
PCI = "PCI.DSS.321"
SERVERLESS = "Serverless"
ALL_FOUR = (NIST_R5, NIST_R4, HIPAA, PCI)


@dataclass(frozen=True)
class Concern:
    """One concern and its rule in every engine: cdk-nag's AwsSolutions id, the Control Tower
    (cfn-guard) rule, checkov's checks, and the rule the compliance packs name ``rule`` (the
    same suffix in each pack, ``NIST.800.53.R5-<rule>``) in the packs ``packs``."""

    rule: str
    packs: tuple[str, ...]
    aws_solutions: str = ""
    guard: str = ""
    checkov: tuple[str, ...] = ()

    @property
    def pack_ids(self) -> tuple[str, ...]:
        return tuple(f"{pack}-{self.rule}" for pack in self.packs)

    @property
    def ids(self) -> frozenset[str]:
        """Every id of the concern: nag ids bare, ``guard:<rule>``, ``checkov:<check>``."""
        named = {self.aws_solutions} if self.aws_solutions else set()
        named |= {f"guard:{self.guard}"} if self.guard else set()
        return frozenset({*named, *(f"checkov:{c}" for c in self.checkov), *self.pack_ids})


# Concern -> its id in every engine. Given any one of them, exempt() acknowledges the packs' ids
# too (with the same reason), so a pack joins without a second exception per resource.
CONCERNS: dict[str, Concern] = {
    "lambda runtime pinned": Concern(
        "LambdaLatestVersion", (SERVERLESS,), aws_solutions="AwsSolutions-L1"
    ),
    "lambda outside a VPC": Concern(
        "LambdaInsideVPC", ALL_FOUR, guard="lambda_inside_vpc_check", checkov=("CKV_AWS_117",)
    ),
    "lambda without a DLQ": Concern(
        "LambdaDLQ", (NIST_R5, HIPAA, SERVERLESS), checkov=("CKV_AWS_116",)
    ),
    "lambda without reserved concurrency": Concern(
        "LambdaConcurrency", (NIST_R5, HIPAA), checkov=("CKV_AWS_115",)
    ),
    "log group on CloudWatch's key": Concern(
        "CloudWatchLogGroupEncrypted",
        ALL_FOUR,
        guard="cloudwatch_log_group_encrypted_check",
        checkov=("CKV_AWS_158",),
    ),
    "bucket without Object Lock": Concern(
        "S3BucketDefaultLockEnabled", (NIST_R4,), guard="s3_bucket_object_lock_enabled_check"
    ),
    "bucket on SSE-S3": Concern(
        "S3DefaultEncryptionKMS",
        (NIST_R5, HIPAA, PCI),
        guard="s3_bucket_default_encryption_kms_check",
        checkov=("CKV_AWS_145",),
    ),
    "bucket without versioning": Concern(
        "S3BucketVersioningEnabled",
        ALL_FOUR,
        guard="s3_bucket_versioning_enabled_check",
        checkov=("CKV_AWS_21",),
    ),
    "bucket without access logs": Concern(
        "S3BucketLoggingEnabled",
        ALL_FOUR,
        aws_solutions="AwsSolutions-S1",
        guard="s3_bucket_logging_enabled_check",
        checkov=("CKV_AWS_18",),
    ),
    "bucket without replication": Concern(
        "S3BucketReplicationEnabled", ALL_FOUR, checkov=("CKV_AWS_144",)
    ),
    "API without WAF": Concern(
        "APIGWAssociatedWithWAF", (NIST_R5, PCI), aws_solutions="AwsSolutions-APIG3"
    ),
    "API without a cache": Concern(
        "APIGWCacheEnabledAndEncrypted", ALL_FOUR, checkov=("CKV_AWS_120",)
    ),
    "API without a backend client certificate": Concern("APIGWSSLEnabled", (NIST_R5, HIPAA, PCI)),
    "secret not rotated": Concern(
        "SecretsManagerRotationEnabled", (NIST_R5, HIPAA), aws_solutions="AwsSolutions-SMG4"
    ),
    "secret on the AWS-managed key": Concern(
        "SecretsManagerUsingKMSKey", (NIST_R5, HIPAA, PCI), checkov=("CKV_AWS_149",)
    ),
    "queue that is itself a DLQ": Concern(
        "SQSRedrivePolicy",
        (SERVERLESS,),
        aws_solutions="AwsSolutions-SQS3",
        guard="sqs_dlq_check",
    ),
    "plain HTTP listener": Concern(
        "ALBHttpToHttpsRedirection",
        ALL_FOUR,
        guard="alb_http_to_https_redirection_check",
        checkov=("CKV_AWS_2", "CKV_AWS_103"),
    ),
    "listener without an ACM certificate": Concern(
        "ELBv2ACMCertificateRequired", (NIST_R5, HIPAA, PCI)
    ),
    "load balancer without WAF": Concern("ALBWAFEnabled", (NIST_R5, NIST_R4, PCI)),
    "inline IAM policy": Concern("IAMNoInlinePolicy", ALL_FOUR),
    "table outside a backup plan": Concern("DynamoDBInBackupPlan", (NIST_R5, NIST_R4, HIPAA)),
    "public subnet route to the internet": Concern(
        "VPCNoUnrestrictedRouteToIGW", (NIST_R5, HIPAA, PCI)
    ),
}


def equivalents(ids: Sequence[str]) -> list[str]:
    """The compliance packs' ids of the concerns ``ids`` name (nag ids bare, ``guard:<rule>``,
    ``checkov:<check>``), in table order, without the ones already in ``ids``."""
    given = set(ids)
    found = [
        pack_id
        for concern in CONCERNS.values()
        if concern.ids & given
        for pack_id in concern.pack_ids
    ]
    return [i for i in dict.fromkeys(found) if i not in given]


def _ids(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def exempt(
    construct: IConstruct,
    reason: str,
    *,
    nag: str | Sequence[str] = (),
    guard: str | Sequence[str] = (),
    checkov: str | Sequence[str] = (),
) -> None:
    """Record one exception, with one reason, for every policy engine that raises it on
    ``construct``: cdk-nag rules (``AwsSolutions-L1``, or one finding such as
    ``AwsSolutions-IAM5[Resource::*]``, or a compliance pack's ``NIST.800.53.R5-...``), Control
    Tower rules (the cfn-guard rule name, ``lambda_inside_vpc_check``) and checkov checks
    (``CKV_AWS_117``). Each rule's equivalents in the compliance packs (``CONCERNS``) are
    acknowledged with it, with the same reason.

    cdk-nag and Control Tower findings are acknowledged through ``Validations`` on the construct;
    checkov's skips are written into the metadata of the construct's CloudFormation resource (the
    construct itself or its ``default_child``), which is where checkov reads them. One call per
    resource and concern, so the engines' exceptions cannot drift apart.
    """
    if not reason.strip() or len(reason) < 20:
        raise ValueError(f"an exception on {construct.node.path} needs a real reason: {reason!r}")
    nag_ids, guard_ids, checkov_ids = _ids(nag), _ids(guard), _ids(checkov)
    if not (nag_ids or guard_ids or checkov_ids):
        raise ValueError(f"an exception on {construct.node.path} names no rule")
    nag_ids += equivalents(
        [*nag_ids, *(f"guard:{r}" for r in guard_ids), *(f"checkov:{c}" for c in checkov_ids)]
    )
    validations = Validations.of(construct)
    for rule in nag_ids:
        validations.acknowledge(Acknowledgment(id=rule, reason=reason))
    for rule in guard_ids:
        validations.acknowledge(Acknowledgment(id=f"{GUARD_PLUGIN}::{rule}", reason=reason))
    if checkov_ids:
        resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
        if not isinstance(resource, CfnResource):
            raise ValueError(f"{construct.node.path} has no CloudFormation resource for checkov")
        skips = (resource.get_metadata("checkov") or {}).get("skip", [])
        skips += [{"id": check, "comment": reason} for check in checkov_ids]
        resource.add_metadata("checkov", {"skip": skips})


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on one construct: ``exempt(construct, reason, nag=...)``.

    ``rule_id`` is a single rule (``AwsSolutions-L1``) or a single finding of a rule
    (``AwsSolutions-IAM5[Resource::*]``); never a whole pack.
    """
    exempt(construct, reason, nag=rule_id)


def nag_text(scope: IConstruct, value: str) -> str:
    """A string as cdk-nag spells it in a finding id: tokens become ``<Logical.Arn>``,
    ``<AWS::Region>``..., literals stay literal. Spell acknowledgements with it, so one stays
    right whether the stack is environment-agnostic or pinned to an account and region."""

    def render(part: Any) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and len(part) == 1:
            ((name, arg),) = part.items()
            if name == "Ref":
                return f"<{arg}>"
            if name == "Fn::GetAtt":
                return f"<{arg[0]}.{arg[1]}>"
            if name == "Fn::Join":
                return str(arg[0]).join(render(p) for p in arg[1])
        raise ValueError(f"cannot spell {part!r} as cdk-nag does")

    return render(Stack.of(scope).resolve(value))


def exempt_log_group(log_group: logs.ILogGroup, *, holds: str) -> None:
    """The two exceptions every log group here carries, with ``holds`` saying what it keeps.

    Not a KMS key per log group: CloudWatch Logs already encrypts every log group at rest, and a
    customer-managed key adds $1/month per key and a key policy to maintain, for logs that hold no
    secrets. Retention below a year (the pattern's ``log_retention``, 90 days by default) is
    acknowledged only when it is below a year: these are operational logs, not an audit trail.
    """
    resource = log_group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    exempt(
        log_group,
        f"Holds {holds}, never secrets; CloudWatch Logs encrypts it at rest with its own key. A "
        "customer-managed KMS key per log group would add $1/month and a key policy for no "
        "reader who could not already read the logs through IAM.",
        guard="cloudwatch_log_group_encrypted_check",
        checkov="CKV_AWS_158",
    )
    days = resource.retention_in_days
    if isinstance(days, int) and days < 365:
        exempt(
            log_group,
            f"Operational logs kept {days} days (the construct's log_retention): long enough "
            "to debug and to compare releases, not an audit trail (CloudTrail is). A team "
            "whose policy demands a year passes log_retention=RetentionDays.ONE_YEAR.",
            guard="cloudwatch_log_group_retention_period_check",
        )


def exempt_table_key(table: IConstruct, *, holds: str) -> None:
    """DynamoDB's AWS-managed key (aws/dynamodb) rather than a customer-managed one, with
    ``holds`` saying what the table keeps (checkov CKV_AWS_119)."""
    exempt(
        table,
        f"Holds {holds}, encrypted at rest with the AWS-managed key (aws/dynamodb): a "
        "customer-managed key costs $1/month plus requests and a key policy, for no reader IAM "
        "does not already stop. Pass table_props with encryption=CUSTOMER_MANAGED where "
        "policy asks.",
        checkov="CKV_AWS_119",
    )


def exempt_invoke_permissions(scope: IConstruct, invoked_by: str) -> None:
    """Acknowledge, on each ``lambda.CfnPermission`` under ``scope`` (one resource each), the
    Control Tower rule that reads a permission's ``SourceArn`` only as a literal or a plain
    reference: CDK scopes these to the API's own ARN with an ``Fn::Join`` it cannot read."""
    for child in scope.node.find_all():
        if isinstance(child, lambda_.CfnPermission):
            exempt(
                child,
                f"Lets {invoked_by} invoke the function: the principal is the API Gateway "
                "service and SourceArn is this API's own execute-api ARN (an Fn::Join, which "
                "the rule cannot evaluate), so no other API or account can invoke it.",
                guard="lambda_function_public_access_prohibited_check",
            )


def exempt_bucket_extras(bucket: s3.IBucket, holds: str) -> None:
    """Two Control Tower rules no bucket here meets, and why: S3 Object Lock (WORM retention
    that blocks the lifecycle expiry and the stack's own DESTROY option) and event
    notifications on every bucket (only a bucket something reacts to has them)."""
    exempt(
        bucket,
        f"Holds {holds}. Object Lock (write-once retention) would stop lifecycle expiry and "
        "deletion on request; versioning or re-creation covers overwrites here.",
        guard="s3_bucket_object_lock_enabled_check",
    )
    exempt(
        bucket,
        f"Holds {holds}; nothing reacts to its new objects, so an event notification would "
        "have no consumer. CloudTrail data events are the place to audit writes.",
        guard="s3_event_notifications_enabled_check",
    )
    exempt_bucket_replication(bucket, holds)


def exempt_bucket_replication(bucket: s3.IBucket, holds: str) -> None:
    """No cross-region replication (the compliance packs' S3BucketReplicationEnabled): S3
    already stores every object across three or more zones of its region."""
    exempt(
        bucket,
        f"Holds {holds}. S3 keeps each object in three or more zones of the region; a replica "
        "in a second region would double storage and transfer cost and put the data under a "
        "second region's governance. Add a replication rule where a policy asks for it.",
        checkov="CKV_AWS_144",
    )


def exempt_table_backup(table: IConstruct, *, holds: str) -> None:
    """Point-in-time recovery rather than an AWS Backup plan per table (the compliance packs'
    DynamoDBInBackupPlan), with ``holds`` saying what the table keeps."""
    exempt(
        table,
        f"Holds {holds}. Point-in-time recovery is on: any second of the last 35 days can be "
        "restored. In a governed account backup plans come from the organization's AWS Backup "
        "policy (tag-based selection, a vault the workload account cannot delete), not from a "
        "per-stack plan the stack could also delete.",
        nag=f"{NIST_R5}-DynamoDBInBackupPlan",
    )


def exempt_inline_policies(scope: IConstruct) -> None:
    """Acknowledge, on each IAM policy aws-cdk-lib's grants wrote under ``scope`` (one resource
    each), the compliance packs' rule against inline policies."""
    for child in scope.node.find_all():
        if isinstance(child, iam.CfnPolicy):
            exempt(
                child,
                "The grants of one role, written by aws-cdk-lib and scoped to this stack's own "
                "resources: created, changed and deleted with that role. A managed policy "
                "could be attached to other principals too, which is what least privilege "
                "per role avoids.",
                nag=f"{NIST_R5}-IAMNoInlinePolicy",
            )


def exempt_cdk_provider(
    scope: Construct, provider_id: str, does: str, *, function_id: str = "Handler"
) -> None:
    """The exceptions of a Lambda function aws-cdk-lib adds to the stack to run a custom
    resource at deploy time (one per stack, whoever asks for it first)."""
    provider = Stack.of(scope).node.try_find_child(provider_id)
    handler = provider.node.try_find_child(function_id) if provider is not None else None
    if handler is None:
        return
    exempt(
        handler,
        f"aws-cdk-lib's deploy-time function that {does}: CloudFormation invokes it "
        "synchronously during deploys only; it calls AWS APIs alone, so a VPC would add "
        "nothing, and with no asynchronous invocations a dead-letter queue would receive "
        "nothing; a reserved concurrency would only take from the account's pool.",
        guard="lambda_inside_vpc_check",
        checkov=["CKV_AWS_117", "CKV_AWS_116", "CKV_AWS_115"],
    )
