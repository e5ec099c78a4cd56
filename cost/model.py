"""The cost model: a synthesized CloudFormation template + a usage profile + a price book.

Every resource type is either priced here (``PRICERS``) or listed as free with the reason
(``FREE``); anything else is reported as unpriced, and the tests fail on it, so a resource a
template gains cannot be silently left out. Pricers read the properties that drive the bill
(memory, architecture and timeout, task size and count, capacity mix, endpoints per zone,
bundles...) and turn them into metered quantities; ``estimate`` turns those into lines.

Assumptions worth knowing (also printed by the CLI):
- A month is 730 hours. Free allowances are per account; each stack is priced as if alone in it.
- Fargate services scale on their ``ALBRequestCountPerTarget`` target: tasks = ceil(average
  requests per minute / target), clamped to the scalable target's Min/MaxCapacity. A CPU target
  cannot be turned into requests without a load test, so the request target is the one used.
- Lambda functions are classified by what invokes them (REST method, WebSocket route or
  authorizer, S3 notification, schedule); functions nothing invokes are deploy-time custom
  resource handlers and cost nothing that shows.
- Bytes are GiB (2^30) and KiB (2^10), as AWS meters them and its worked examples compute.
- KMS keys with rotation on are priced at steady state (after the second rotation).
- Quantities no template or page gives (Container Insights' metric count, access and execution
  log record sizes, the share of requests that fail) are module constants, and every estimate
  that uses one lists it under ``Estimate.assumptions``.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .prices import PriceBook

HOURS = 730.0
# AWS meters data in binary units (its pages say "GB"; its worked examples divide by 1,024).
GIB = float(2**30)
KB_PER_GB = float(2**20)
SECONDS = HOURS * 3600
MINUTES = HOURS * 60
# X-Ray's default sampling rule: the first request each second, then 5% of the rest.
XRAY_RESERVOIR_PER_MONTH = SECONDS
XRAY_RATE = 0.05
# Lightsail automatic snapshots are incremental; assume the stored total is half the disk.
SNAPSHOT_SHARE_OF_DISK = 0.5
LIGHTSAIL_DISK_GB = {
    "nano_3_0": 20,
    "micro_3_0": 40,
    "small_3_0": 60,
    "medium_3_0": 80,
    "large_3_0": 160,
    "xlarge_3_0": 320,
    "2xlarge_3_0": 640,
    "4xlarge_3_0": 1280,
}

# Bundle: sustained requests/second an uncached WordPress page on it serves (a rough figure
# from the bundle's vCPUs and burst baseline; measure your own app and change this table).
# Lightsail does not scale, so the bundle must carry the peak (profile ``peak_to_average``).
LIGHTSAIL_CAPACITY: dict[str, float] = {
    "nano_3_0": 2,
    "micro_3_0": 5,
    "small_3_0": 10,
    "medium_3_0": 20,
    "large_3_0": 40,
    "xlarge_3_0": 80,
    "2xlarge_3_0": 160,
    "4xlarge_3_0": 320,
}

Resource = dict[str, Any]
Profile = dict[str, float]


@dataclass(frozen=True)
class Usage:
    """A metered quantity for one month, from one resource."""

    meter: str
    quantity: float
    fixed: bool
    source: str


@dataclass(frozen=True)
class Line:
    kind: str  # "fixed" | "usage" | "free tier"
    meter: str
    description: str
    quantity: float
    unit: str
    usd: float
    detail: str
    source_url: str
    assumption: str = ""  # why the price is not a list price (empty when it is one)


@dataclass
class Estimate:
    stack: str
    region: str
    profile: str
    lines: list[Line] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def subtotal(self, kind: str) -> float:
        return sum(line.usd for line in self.lines if line.kind == kind)

    @property
    def fixed(self) -> float:
        return self.subtotal("fixed")

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "profile": self.profile,
            "fixed_usd": round(self.fixed, 2),
            "usage_usd": round(self.subtotal("usage"), 2),
            "free_tier_usd": round(self.subtotal("free tier"), 2),
            "total_usd": round(self.total, 2),
            "lines": [asdict(line) for line in self.lines],
            "unpriced_types": self.unpriced,
            "notes": self.notes,
            "assumptions": self.assumptions,
        }


def refs(value: Any, logical_id: str) -> bool:
    """Whether a property value refers to ``logical_id`` (Ref, GetAtt or inside a Sub/Join)."""
    text = json.dumps(value)
    return (
        f'{{"Ref": "{logical_id}"}}' in text
        or f'["{logical_id}",' in text
        or f'"{logical_id}.' in text
        or f"${{{logical_id}" in text
    )


class Template:
    """Read-only helpers over a template's resources, shared by the pricers."""

    def __init__(self, template: dict[str, Any], profile: Profile) -> None:
        self.resources: dict[str, Resource] = template.get("Resources", {})
        self.profile = profile
        self.notes: list[str] = []
        self.assumptions: list[str] = []
        self._drivers: dict[str, Driver] = {}
        self._tasks: dict[str, tuple[float, float]] = {}
        self._s3: dict[str, S3Use] = {}

    def assume(self, text: str) -> None:
        """A quantity the template cannot give, stated once in the output as an assumption."""
        if text not in self.assumptions:
            self.assumptions.append(text)

    def tasks(self, svc: str) -> tuple[float, float]:
        """(minimum, needed) running tasks of an ECS service, computed once."""
        if svc not in self._tasks:
            self._tasks[svc] = _task_count(self, svc, self.props(svc))
        return self._tasks[svc]

    def s3(self, bucket: str) -> S3Use:
        if bucket not in self._s3:
            self._s3[bucket] = _s3_use(self, bucket, self.props(bucket))
        return self._s3[bucket]

    def of_type(self, resource_type: str) -> dict[str, Resource]:
        return {k: r for k, r in self.resources.items() if r.get("Type") == resource_type}

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties", {}))

    def referrers(self, logical_id: str, resource_type: str) -> dict[str, Resource]:
        return {
            k: r
            for k, r in self.of_type(resource_type).items()
            if refs(r.get("Properties", {}), logical_id)
        }

    def driver(self, function_id: str) -> Driver:
        if function_id not in self._drivers:
            self._drivers[function_id] = lambda_driver(self, function_id)
        return self._drivers[function_id]

    def functions_using(self, logical_id: str) -> list[str]:
        """Functions whose environment names ``logical_id`` (how handlers find their table)."""
        return [
            fn
            for fn, r in self.of_type("AWS::Lambda::Function").items()
            if refs(r.get("Properties", {}).get("Environment", {}), logical_id)
        ]

    def request_log_gb(self) -> float:
        """Log GB one request writes into each log group it passes, times the monthly requests."""
        return self.profile["requests_per_month"] * self.profile["log_bytes_per_request"] / GIB


@dataclass(frozen=True)
class Driver:
    """What makes a Lambda function run: invocations a month and seconds per invocation."""

    kind: str
    invocations: float
    seconds: float


def schedule_runs_per_month(expression: str) -> float:
    """Runs a month of a Scheduler ``rate()``/``cron()``/``at()`` expression (cron: the common
    shapes: fixed minute and hour daily, hourly, or every N minutes)."""
    rate = re.fullmatch(r"rate\((\d+)\s+(minute|hour|day)s?\)", expression.strip())
    if rate:
        per = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}[rate.group(2)]
        return SECONDS / (int(rate.group(1)) * per)
    if expression.startswith("at("):
        return 1.0
    cron = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not cron:
        return 0.0
    minute, hour, dom, _month, dow, *_ = cron.group(1).split() + ["*"] * 6
    per_hour = 60.0 if minute == "*" else len(minute.split(","))
    step = re.fullmatch(r"(?:\*|0)/(\d+)", minute)
    if step:
        per_hour = 60.0 / int(step.group(1))
    hours_a_day = 24.0 if hour == "*" else len(hour.split(","))
    days = 30.4
    if dom not in ("*", "?"):
        days = float(len(dom.split(",")))
    elif dow not in ("*", "?"):
        days = 30.4 / 7 * len(dow.split(","))
    return per_hour * hours_a_day * days


def lambda_driver(tpl: Template, fn: str) -> Driver:
    p = tpl.profile
    for sched in tpl.of_type("AWS::Scheduler::Schedule").values():
        props = sched.get("Properties", {})
        if refs(props.get("Target", {}).get("Arn"), fn):
            runs = schedule_runs_per_month(str(props.get("ScheduleExpression", "")))
            return Driver("schedule", runs, p["export_duration_s"])
    for method in tpl.of_type("AWS::ApiGateway::Method").values():
        if refs(method.get("Properties", {}).get("Integration", {}), fn):
            return Driver("rest api", p["requests_per_month"], p["avg_duration_ms"] / 1000)
    if tpl.referrers(fn, "AWS::ApiGatewayV2::Authorizer"):
        return Driver("websocket authorizer", p["ws_connections"], p["ws_duration_ms"] / 1000)
    if tpl.referrers(fn, "AWS::ApiGatewayV2::Integration"):
        events = 2 * p["ws_connections"] + p["ws_messages_in"]
        return Driver("websocket routes", events, p["ws_duration_ms"] / 1000)
    for perm in tpl.referrers(fn, "AWS::Lambda::Permission").values():
        if perm["Properties"].get("Principal") == "s3.amazonaws.com":
            return Driver("s3 upload", p["images_per_month"], p["thumbnail_duration_ms"] / 1000)
    return Driver("deploy-time custom resource", 0.0, 0.0)


# ---------------------------------------------------------------------------------- pricers
Pricer = Callable[[Template, str, Resource], list[Usage]]


def _arch(value: Any) -> str:
    text = json.dumps(value).lower()
    return "arm64" if "arm64" in text else "x86_64"


def _retention_months(tpl: Template, days: Any) -> float:
    months = tpl.profile["months_of_data"]
    if isinstance(days, int | float) and days > 0:
        return min(months, days / 30.4)
    return months


def lambda_function(tpl: Template, fn: str, res: Resource) -> list[Usage]:
    props = res.get("Properties", {})
    memory_gb = float(props.get("MemorySize", 128)) / 1024
    arch = _arch(props.get("Architectures", ["x86_64"]))
    timeout = float(props.get("Timeout", 3))
    drv = tpl.driver(fn)
    seconds = min(drv.seconds, timeout)  # a run cannot outlast the timeout
    invocations = drv.invocations
    reserved = props.get("ReservedConcurrentExecutions")
    if isinstance(reserved, int | float) and seconds > 0:
        # Reserved concurrency caps how much can run: N at a time for the whole month.
        ceiling = reserved * SECONDS / seconds
        if invocations > ceiling:
            tpl.notes.append(
                f"{fn}: reserved concurrency {reserved} caps it at {ceiling:,.0f} runs a month; "
                f"the other {invocations - ceiling:,.0f} are throttled and not priced"
            )
            invocations = ceiling
    what = f"{fn}: {drv.kind}, {props.get('MemorySize', 128)} MB {arch}, {seconds:g} s"
    out = [
        Usage("lambda.request", invocations, False, what),
        Usage(f"lambda.gb_second.{arch}", invocations * seconds * memory_gb, False, what),
    ]
    env = props.get("Environment", {}).get("Variables", {})
    if "POWERTOOLS_METRICS_NAMESPACE" in env and invocations > 0:
        out.append(powertools_metrics(tpl, fn, env, drv, invocations))
    if props.get("TracingConfig", {}).get("Mode") == "Active":
        sampled = min(
            invocations,
            XRAY_RESERVOIR_PER_MONTH + XRAY_RATE * max(0.0, invocations - SECONDS),
        )
        out.append(Usage("xray.trace", sampled, False, f"{fn}: 1/s + 5% sampling"))
    return out


# Custom metrics each handler's Powertools ``Metrics`` publishes, by POWERTOOLS_SERVICE_NAME:
# its distinct ``add_metric`` names, + 1 for the cold-start metric where the handler captures
# it. tests/cost/test_coverage.py counts them again from the handler source.
POWERTOOLS_METRICS: dict[str, int] = {
    "items-api": 5,
    "websocket-chat": 6,
    "websocket-chat-authorizer": 1,
    "table-export": 5,
    "thumbnails": 4,
}
POWERTOOLS_METRICS_UNKNOWN = 5


def powertools_metrics(
    tpl: Template, fn: str, env: dict[str, Any], drv: Driver, invocations: float
) -> Usage:
    """Powertools writes EMF, so each metric name (x its dimensions) is a custom metric.

    CloudWatch prorates a metric by the hours it receives data: a nightly job's metrics are
    billed for the hours its runs publish them, a request-driven handler's for the month.
    """
    service = str(env.get("POWERTOOLS_SERVICE_NAME", fn))
    count = POWERTOOLS_METRICS.get(service)
    if count is None:
        count = POWERTOOLS_METRICS_UNKNOWN
        tpl.assume(f"{fn}: Powertools service {service!r} is not counted; {count} metrics assumed")
    share = 1.0 if drv.kind != "schedule" else min(HOURS, invocations) / HOURS
    what = f"{fn}: {count} Powertools metrics, {share:.0%} of the hours"
    # A scheduled job publishes whatever the traffic: its metrics are part of the fixed floor.
    return Usage("cloudwatch.metric", count * share, drv.kind == "schedule", what)


def log_group(tpl: Template, lg: str, res: Resource) -> list[Usage]:
    p = tpl.profile
    gb = 0.0
    per_event = p["log_bytes_per_request"] / GIB
    for fn, r in tpl.of_type("AWS::Lambda::Function").items():
        if refs(r.get("Properties", {}).get("LoggingConfig", {}), lg):
            drv = tpl.driver(fn)
            gb += p["log_gb_ingested"] if drv.kind == "schedule" else drv.invocations * per_event
    if tpl.referrers(lg, "AWS::EC2::FlowLog"):
        gb += p["flow_log_gb"]
    for stage_type in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
        for stage in tpl.referrers(lg, stage_type).values():
            events = (
                p["requests_per_month"]
                if stage_type == "AWS::ApiGateway::Stage"
                else 2 * p["ws_connections"] + p["ws_messages_in"]
            )
            del stage
            gb += events * per_event
    if tpl.referrers(lg, "AWS::ECS::TaskDefinition"):
        gb += tpl.request_log_gb()
    if tpl.referrers(lg, "AWS::Batch::JobDefinition"):
        gb += p["log_gb_ingested"]
    months = _retention_months(tpl, res.get("Properties", {}).get("RetentionInDays"))
    what = f"{lg}: {gb:.3g} GB/month kept {months:.3g} months"
    return [
        Usage("logs.ingest_gb", gb, False, what),
        Usage("logs.storage_gb_month", gb * months, False, what),
    ]


def dynamodb_table(tpl: Template, table: str, res: Resource) -> list[Usage]:
    p = tpl.profile
    props = res.get("Properties", {})
    indexes = len(props.get("GlobalSecondaryIndexes", []))
    write_units = max(1.0, math.ceil(p["item_kb"]))
    reads = writes = 0.0
    for fn in tpl.functions_using(table):
        drv = tpl.driver(fn)
        if drv.kind == "rest api":
            reads += drv.invocations * p["reads_per_request"]
            writes += drv.invocations * p["writes_per_request"] * write_units
        elif drv.kind == "websocket routes":
            writes += 2 * p["ws_connections"] * write_units  # put on connect, delete on disconnect
            reads += p["ws_messages_in"]  # one query of the room per message
        elif drv.kind == "schedule":
            # A full scan, eventually consistent: half a read unit per 4 KB.
            reads += drv.invocations * p["table_gb_stored"] * KB_PER_GB / 4 * 0.5
    # Each global secondary index repeats the writes.
    writes *= 1 + indexes
    out: list[Usage] = []
    what = f"{table}: {props.get('BillingMode', 'PROVISIONED')}"
    if props.get("BillingMode") == "PAY_PER_REQUEST":
        out += [
            Usage("dynamodb.read_request_unit", reads, False, what),
            Usage("dynamodb.write_request_unit", writes, False, what),
        ]
    else:
        throughput = props.get("ProvisionedThroughput", {})
        out += [
            Usage(
                "dynamodb.rcu_hour",
                float(throughput.get("ReadCapacityUnits", 0)) * HOURS,
                True,
                what,
            ),
            Usage(
                "dynamodb.wcu_hour",
                float(throughput.get("WriteCapacityUnits", 0)) * HOURS,
                True,
                what,
            ),
        ]
    out.append(Usage("dynamodb.storage_gb_month", p["table_gb_stored"], False, what))
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        out.append(Usage("dynamodb.pitr_gb_month", p["table_gb_stored"], False, f"{table}: PITR"))
    return out


def _expiry_months(tpl: Template, props: dict[str, Any]) -> float:
    days = [
        rule.get("ExpirationInDays")
        for rule in props.get("LifecycleConfiguration", {}).get("Rules", [])
        if rule.get("Status") == "Enabled" and rule.get("ExpirationInDays")
    ]
    return _retention_months(tpl, min(days) if days else None)


# Bytes one S3 server access log record takes (about 25 space-separated fields), and one ALB
# access log entry once gzipped: both are assumptions, the logs' sizes are not published.
S3_ACCESS_LOG_RECORD_BYTES = 350
ALB_ACCESS_LOG_ENTRY_BYTES = 100


@dataclass(frozen=True)
class S3Use:
    role: str
    gb: float  # stored at steady state (the profile's months, or the lifecycle expiry)
    puts: float
    gets: float
    objects_per_month: float  # new objects a month (what lifecycle transitions move)


def _s3_use(tpl: Template, bucket: str, props: dict[str, Any]) -> S3Use:
    """Storage and requests by the bucket's role, found from what refers to it."""
    p = tpl.profile
    months = _expiry_months(tpl, props)
    gb = puts = gets = objects = 0.0
    role = "unused"
    if tpl.referrers(bucket, "Custom::S3BucketNotifications"):
        role = "uploads"
        gb = p["images_per_month"] * p["image_mb"] / 1024 * months
        puts, gets = p["images_per_month"], p["images_per_month"]
        objects = puts
    for fn in tpl.functions_using(bucket):
        drv = tpl.driver(fn)
        env = tpl.props(fn).get("Environment", {}).get("Variables", {})
        if drv.kind == "s3 upload":
            widths = len(str(env.get("WIDTHS", "1")).split(","))
            role = f"thumbnails ({widths} widths)"
            thumbs = p["images_per_month"] * widths
            gb = thumbs * p["thumbnail_kb"] / KB_PER_GB * months
            puts = objects = thumbs
        elif drv.kind == "schedule":
            role = "exports"
            per_run = p["table_gb_stored"] / max(p["export_compression"], 1.0)
            gb = per_run * drv.invocations * months
            puts = drv.invocations * (2 + math.ceil(per_run * 10))  # lock, manifest, ~100 MB parts
            objects = drv.invocations * (1 + math.ceil(per_run * 10))
    for jd in tpl.referrers(bucket, "AWS::Batch::JobDefinition"):
        del jd
        role = "batch input and output"
        gb = p["s3_gb_stored"] + p["batch_output_gb"] * min(months, 3.0)
        puts = gets = objects = p["batch_vcpu_hours"] * 10
    # A log bucket stores one record per request to each bucket (or load balancer) logging to it.
    log_bytes = 0.0
    for src, res in tpl.of_type("AWS::S3::Bucket").items():
        if src != bucket and refs(res.get("Properties", {}).get("LoggingConfiguration"), bucket):
            use = tpl.s3(src)
            log_bytes += (use.puts + use.gets) * S3_ACCESS_LOG_RECORD_BYTES
            tpl.assume(
                f"an S3 server access log record is {S3_ACCESS_LOG_RECORD_BYTES} bytes "
                "(delivery is free; the log bucket pays storage)"
            )
    for lb, res in tpl.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").items():
        attrs = {
            a.get("Key"): a.get("Value")
            for a in res.get("Properties", {}).get("LoadBalancerAttributes", [])
        }
        if attrs.get("access_logs.s3.enabled") == "true" and refs(
            attrs.get("access_logs.s3.bucket"), bucket
        ):
            log_bytes += p["requests_per_month"] * ALB_ACCESS_LOG_ENTRY_BYTES
            tpl.assume(
                f"an ALB access log entry is {ALB_ACCESS_LOG_ENTRY_BYTES} bytes gzipped "
                f"({lb}: delivery is free; the log bucket pays storage)"
            )
    if log_bytes:
        role = "access logs"
        gb += log_bytes / GIB * months
        records = log_bytes / min(S3_ACCESS_LOG_RECORD_BYTES, ALB_ACCESS_LOG_ENTRY_BYTES)
        delivered = min(HOURS * 12, records)  # log objects land every few minutes at most
        puts += delivered
        objects += delivered
    return S3Use(role, gb, puts, gets, objects)


def _ia_transition_days(props: dict[str, Any]) -> float | None:
    """Days after which an enabled lifecycle rule moves current objects to STANDARD_IA."""
    days = [
        float(t["TransitionInDays"])
        for rule in props.get("LifecycleConfiguration", {}).get("Rules", [])
        if rule.get("Status") == "Enabled"
        for t in rule.get("Transitions", [])
        if t.get("StorageClass") == "STANDARD_IA" and "TransitionInDays" in t
    ]
    return min(days) if days else None


def s3_bucket(tpl: Template, bucket: str, res: Resource) -> list[Usage]:
    props = res.get("Properties", {})
    use = tpl.s3(bucket)
    what = f"{bucket}: {use.role}"
    out = [
        Usage("s3.put_request", use.puts, False, what),
        Usage("s3.get_request", use.gets, False, what),
    ]
    ia_after = _ia_transition_days(props)
    if ia_after is None:
        return [Usage("s3.storage_gb_month", use.gb, False, what), *out]
    # Objects stay in Standard for ia_after days, then sit in Standard-IA until they expire.
    months = _expiry_months(tpl, props)
    standard_share = min(1.0, ia_after / 30.4 / months) if months else 1.0
    ia_gb = use.gb * (1 - standard_share)
    expiry = months * 30.4
    if ia_gb and expiry - ia_after < 30:
        # Standard-IA bills at least 30 days for each object.
        ia_gb *= 30 / (expiry - ia_after)
    moved = use.objects_per_month if ia_gb else 0.0
    label = f"{what}, Standard-IA after {ia_after:g} days"
    return [
        Usage("s3.storage_gb_month", use.gb * standard_share, False, label),
        Usage("s3.standard_ia_gb_month", ia_gb, False, label),
        Usage("s3.transition_ia_request", moved, False, label),
        *out,
    ]


def _az_count(subnets: Any) -> int:
    return len(subnets) if isinstance(subnets, list) else 2


def vpc_endpoint(tpl: Template, ep: str, res: Resource) -> list[Usage]:
    props = res.get("Properties", {})
    if props.get("VpcEndpointType", "Gateway") != "Interface":
        return []  # gateway endpoints (S3, DynamoDB) have no charge
    azs = _az_count(props.get("SubnetIds"))
    service = json.dumps(props.get("ServiceName", "")).split(".")[-1].strip('"]} ')
    out = [Usage("vpce.interface_az_hour", azs * HOURS, True, f"{ep}: {service}, {azs} AZs")]
    if service == "logs":  # task and job logs reach CloudWatch through this endpoint
        p = tpl.profile
        gb = p["log_gb_ingested"] + (
            tpl.request_log_gb() if tpl.of_type("AWS::ECS::Service") else 0
        )
        out.append(Usage("vpce.gb_processed", gb, False, f"{ep}: logs"))
    return out


def _endpoint_services(tpl: Template) -> set[str]:
    return {
        json.dumps(r.get("Properties", {}).get("ServiceName", "")).split(".")[-1].strip('"]} ')
        for r in tpl.of_type("AWS::EC2::VPCEndpoint").values()
    }


def nat_gateway(tpl: Template, nat: str, res: Resource) -> list[Usage]:
    """Hours, and the bytes private tasks send to AWS services that have no VPC endpoint."""
    del res
    p = tpl.profile
    endpoints = _endpoint_services(tpl)
    gb = 0.0
    if "logs" not in endpoints:
        gb += p["log_gb_ingested"] if tpl.of_type("AWS::Batch::JobDefinition") else 0.0
        gb += tpl.request_log_gb() if tpl.of_type("AWS::ECS::Service") else 0.0
    if "s3" not in endpoints and tpl.of_type("AWS::Batch::JobDefinition"):
        gb += p["s3_gb_stored"] + p["batch_output_gb"]
    share = gb / max(1, len(tpl.of_type("AWS::EC2::NatGateway")))
    return [
        Usage("nat.hour", HOURS, True, nat),
        Usage("nat.gb_processed", share, False, f"{nat}: logs and S3 without an endpoint"),
    ]


def elastic_ip(tpl: Template, eip: str, res: Resource) -> list[Usage]:
    del tpl, res
    return [Usage("ec2.public_ipv4_hour", HOURS, True, f"{eip}: Elastic IP")]


def _egress(tpl: Template, source: str, gb: float) -> Usage:
    del tpl
    return Usage("transfer.out_gb", gb, False, source)


def load_balancer(tpl: Template, lb: str, res: Resource) -> list[Usage]:
    p = tpl.profile
    props = res.get("Properties", {})
    if props.get("Type", "application") != "application":
        tpl.notes.append(f"{lb}: {props.get('Type')} load balancer priced as an ALB")
    azs = _az_count(props.get("Subnets"))
    out = [Usage("alb.hour", HOURS, True, lb)]
    if props.get("Scheme", "internet-facing") == "internet-facing":
        out.append(
            Usage("ec2.public_ipv4_hour", azs * HOURS, True, f"{lb}: one IPv4 per AZ ({azs})")
        )
    rps = p["requests_per_month"] / SECONDS
    new_connections = rps / max(p["requests_per_connection"], 1.0)
    gb_per_hour = p["requests_per_month"] * p["payload_kb"] / KB_PER_GB / HOURS
    lcu = max(new_connections / 25, gb_per_hour / 1.0)
    out.append(Usage("alb.lcu_hour", lcu * HOURS, False, f"{lb}: {lcu:.3g} LCU"))
    out.append(
        _egress(tpl, f"{lb}: responses", p["requests_per_month"] * p["payload_kb"] / KB_PER_GB)
    )
    return out


def _task_def(tpl: Template, props: dict[str, Any]) -> dict[str, Any]:
    return next(
        (tpl.props(k) for k in tpl.of_type("AWS::ECS::TaskDefinition") if refs(props, k)), {}
    )


def _task_count(tpl: Template, svc: str, props: dict[str, Any]) -> tuple[float, float]:
    """(minimum, needed) tasks: the scaling target's bounds and its request-count target."""
    p = tpl.profile
    desired = float(props.get("DesiredCount", 1))
    low, high, per_task = desired, desired, 0.0
    for target in tpl.referrers(svc, "AWS::ApplicationAutoScaling::ScalableTarget"):
        tprops = tpl.props(target)
        low, high = float(tprops["MinCapacity"]), float(tprops["MaxCapacity"])
        for policy in tpl.referrers(target, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
            cfg = policy["Properties"].get("TargetTrackingScalingPolicyConfiguration", {})
            metric = cfg.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
            if metric == "ALBRequestCountPerTarget":
                per_task = float(cfg["TargetValue"])  # requests per task per minute
    needed = low
    if per_task:
        needed = max(low, float(math.ceil(p["requests_per_month"] / MINUTES / per_task)))
        if needed > high:
            tpl.notes.append(
                f"{svc}: the load needs {needed:g} tasks at {per_task:g} requests/task/minute, "
                f"above MaxCapacity {high:g}; priced at {high:g} (the service would saturate)"
            )
            needed = high
    elif p["requests_per_month"]:
        tpl.notes.append(f"{svc}: no request-count scaling target; priced at {low:g} tasks")
    return low, needed


def ecs_service(tpl: Template, svc: str, res: Resource) -> list[Usage]:
    """Fargate tasks: task size from the task definition, count from the scaling target."""
    props = res.get("Properties", {})
    task_def = _task_def(tpl, props)
    vcpu = float(task_def.get("Cpu", 256)) / 1024
    mem_gb = float(task_def.get("Memory", 512)) / 1024
    arch = _arch(task_def.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64"))
    low, needed = tpl.tasks(svc)
    strategy = props.get("CapacityProviderStrategy") or [
        {"CapacityProvider": "FARGATE", "Weight": 1}
    ]
    weights = {s["CapacityProvider"]: float(s.get("Weight", 0)) for s in strategy}
    spot_share = weights.get("FARGATE_SPOT", 0.0) / (sum(weights.values()) or 1.0)
    out: list[Usage] = []
    for count, fixed, label in ((low, True, "minimum"), (needed - low, False, "scaled out")):
        hours = count * HOURS
        what = f"{svc}: {count:g} tasks ({label}) x {vcpu:g} vCPU/{mem_gb:g} GB {arch}"
        if spot_share < 1:
            on_demand = hours * (1 - spot_share)
            out.append(Usage(f"fargate.vcpu_hour.{arch}", on_demand * vcpu, fixed, what))
            out.append(Usage(f"fargate.gb_hour.{arch}", on_demand * mem_gb, fixed, what))
        if spot_share > 0:
            spot = hours * spot_share
            out.append(Usage("fargate_spot.vcpu_hour", spot * vcpu, fixed, what + " (Spot)"))
            out.append(Usage("fargate_spot.gb_hour", spot * mem_gb, fixed, what + " (Spot)"))
    return out


# Container Insights (ECS) publishes custom metrics per dimension set. Counted from the ECS
# metrics list in the Container Insights documentation; the exact set moves, so an assumption.
CONTAINER_INSIGHTS_METRICS = {"cluster": 13, "service": 15, "task family": 11}
# Enhanced observability adds task- and container-level metrics for every running task.
CONTAINER_INSIGHTS_ENHANCED_PER_TASK = 20
# Performance log events Container Insights ingests (one per task a minute): an assumption.
CONTAINER_INSIGHTS_LOG_BYTES_PER_TASK_MINUTE = 1500


def ecs_cluster(tpl: Template, cluster: str, res: Resource) -> list[Usage]:
    """Free, unless Container Insights is on: then metrics and performance logs are billed."""
    settings = {
        s.get("Name"): str(s.get("Value", "")).lower()
        for s in res.get("Properties", {}).get("ClusterSettings", [])
    }
    mode = settings.get("containerInsights", "disabled")
    if mode not in ("enabled", "enhanced"):
        return []
    services = [k for k in tpl.of_type("AWS::ECS::Service") if refs(tpl.props(k), cluster)]
    families = {json.dumps(_task_def(tpl, tpl.props(k)).get("Family", k)) for k in services}
    m = CONTAINER_INSIGHTS_METRICS
    metrics = float(m["cluster"]) + m["service"] * len(services) + m["task family"] * len(families)
    low = sum(tpl.tasks(k)[0] for k in services)
    needed = sum(tpl.tasks(k)[1] for k in services)
    if mode == "enhanced":
        metrics += CONTAINER_INSIGHTS_ENHANCED_PER_TASK * low
    tpl.assume(
        f"Container Insights publishes {m['cluster']} metrics per cluster, {m['service']} per "
        f"service, {m['task family']} per task family (+{CONTAINER_INSIGHTS_ENHANCED_PER_TASK} "
        f"per task when enhanced) and {CONTAINER_INSIGHTS_LOG_BYTES_PER_TASK_MINUTE} bytes of "
        "performance log per task a minute"
    )
    what = f"{cluster}: Container Insights {mode}, {len(services)} service(s)"
    per_task_gb = CONTAINER_INSIGHTS_LOG_BYTES_PER_TASK_MINUTE * MINUTES / GIB
    return [
        Usage("cloudwatch.metric", float(metrics), True, what),
        Usage("logs.ingest_gb", low * per_task_gb, True, what + ": performance logs"),
        Usage("logs.ingest_gb", (needed - low) * per_task_gb, False, what + ": performance logs"),
    ]


BOOTSTRAP_IMAGES = "cdk-hnb659fds-container-assets"


def container_image(tpl: Template, definition: str, res: Resource) -> list[Usage]:
    """An image CDK pushed to the bootstrap ECR repository is stored there (no lifecycle rule)."""
    props = res.get("Properties", {})
    images = [c.get("Image") for c in props.get("ContainerDefinitions", [])]
    images.append(props.get("ContainerProperties", {}).get("Image"))
    if not any(BOOTSTRAP_IMAGES in json.dumps(i) for i in images if i):
        return []
    tpl.assume(
        "each image in the CDK bootstrap ECR repository is ecr_gb_stored GB; that repository "
        "keeps every image a deploy pushed until you expire them"
    )
    return [
        Usage(
            "ecr.storage_gb_month",
            tpl.profile["ecr_gb_stored"],
            False,
            f"{definition}: image in the bootstrap repository",
        )
    ]


def batch_compute_environment(tpl: Template, ce: str, res: Resource) -> list[Usage]:
    """The profile's batch vCPU-hours run on the first compute environment of the queue."""
    p = tpl.profile
    for queue in tpl.referrers(ce, "AWS::Batch::JobQueue").values():
        order = sorted(queue["Properties"]["ComputeEnvironmentOrder"], key=lambda o: o["Order"])
        if not refs(order[0]["ComputeEnvironment"], ce):
            return []  # a fallback: on-demand capacity only when Spot has none
    kind = res.get("Properties", {}).get("ComputeResources", {}).get("Type", "FARGATE")
    gb_per_vcpu = 2.0
    arch = "x86_64"
    for jd in tpl.of_type("AWS::Batch::JobDefinition").values():
        cp = jd["Properties"].get("ContainerProperties", {})
        req = {r["Type"]: float(r["Value"]) for r in cp.get("ResourceRequirements", [])}
        if req.get("VCPU"):
            gb_per_vcpu = req.get("MEMORY", 2048) / 1024 / req["VCPU"]
        arch = _arch(cp.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64"))
        break
    vcpu_hours = p["batch_vcpu_hours"]
    what = f"{ce}: {kind}, {gb_per_vcpu:g} GB per vCPU"
    if kind == "FARGATE_SPOT":
        return [
            Usage("fargate_spot.vcpu_hour", vcpu_hours, False, what),
            Usage("fargate_spot.gb_hour", vcpu_hours * gb_per_vcpu, False, what),
        ]
    if kind != "FARGATE":
        tpl.notes.append(f"{ce}: {kind} compute priced at Fargate on-demand rates (no EC2 table)")
    return [
        Usage(f"fargate.vcpu_hour.{arch}", vcpu_hours, False, what),
        Usage(f"fargate.gb_hour.{arch}", vcpu_hours * gb_per_vcpu, False, what),
    ]


def rest_api(tpl: Template, api: str, res: Resource) -> list[Usage]:
    del res
    p = tpl.profile
    return [
        Usage("apigw.rest.request", p["requests_per_month"], False, api),
        _egress(tpl, f"{api}: responses", p["requests_per_month"] * p["payload_kb"] / KB_PER_GB),
    ]


def http_or_websocket_api(tpl: Template, api: str, res: Resource) -> list[Usage]:
    p = tpl.profile
    if res.get("Properties", {}).get("ProtocolType") == "HTTP":
        return [
            Usage("apigw.http.request", p["requests_per_month"], False, api),
            _egress(
                tpl, f"{api}: responses", p["requests_per_month"] * p["payload_kb"] / KB_PER_GB
            ),
        ]
    out_messages = p["ws_messages_in"] * p["ws_fanout"]
    units = max(1.0, math.ceil(p["ws_message_kb"] / 32))  # metered in 32 KB increments
    return [
        Usage("apigw.ws.message", (p["ws_messages_in"] + out_messages) * units, False, api),
        Usage("apigw.ws.connection_minute", p["ws_connection_minutes"], False, api),
        _egress(tpl, f"{api}: pushed messages", out_messages * p["ws_message_kb"] / KB_PER_GB),
    ]


# Detailed metrics a REST stage publishes per method (4XXError, 5XXError, CacheHitCount,
# CacheMissCount, Count, IntegrationLatency, Latency) and a WebSocket stage per route
# (ClientError, ExecutionError, IntegrationError, IntegrationLatency, MessageCount): the API
# Gateway developer guide's metric lists.
REST_METHOD_METRICS = 7
WEBSOCKET_ROUTE_METRICS = 5
# Execution log bytes per logged request, and the share of requests that log at ERROR level
# (failures only): assumptions, API Gateway does not publish either.
EXECUTION_LOG_BYTES = 2000
ERROR_SHARE = 0.01
EXECUTION_LOG_NOTE = (
    f"API Gateway execution logs: {EXECUTION_LOG_BYTES} bytes per logged request; at ERROR "
    f"level {ERROR_SHARE:.0%} of requests log; the log group API Gateway creates never expires"
)


def _execution_logs(tpl: Template, stage: str, level: str, events: float) -> list[Usage]:
    level = level.upper()
    if level not in ("INFO", "ERROR") or not events:
        return []
    logged = events * (1.0 if level == "INFO" else ERROR_SHARE)
    gb = logged * EXECUTION_LOG_BYTES / GIB
    tpl.assume(EXECUTION_LOG_NOTE)
    what = f"{stage}: execution logs at {level}"
    return [
        Usage("logs.ingest_gb", gb, False, what),
        Usage("logs.storage_gb_month", gb * tpl.profile["months_of_data"], False, what),
    ]


def rest_stage(tpl: Template, stage: str, res: Resource) -> list[Usage]:
    """Cache cluster hours, detailed metrics (MethodSettings MetricsEnabled) and execution logs."""
    props = res.get("Properties", {})
    out: list[Usage] = []
    if props.get("CacheClusterEnabled"):
        size = str(props.get("CacheClusterSize", "0.5"))
        out.append(Usage(f"apigw.cache_hour.{size}", HOURS, True, f"{stage}: {size} GB cache"))
    settings = props.get("MethodSettings", [])
    requests = tpl.profile["requests_per_month"]
    if any(m.get("MetricsEnabled") for m in settings) and requests:
        api = props.get("RestApiId")
        methods = [
            k
            for k, r in tpl.of_type("AWS::ApiGateway::Method").items()
            if json.dumps(r.get("Properties", {}).get("RestApiId")) == json.dumps(api)
        ]
        # CacheHitCount and CacheMissCount come only from a stage with a cache.
        per_method = REST_METHOD_METRICS - (0 if props.get("CacheClusterEnabled") else 2)
        metrics = per_method * max(1, len(methods))
        out.append(
            Usage(
                "cloudwatch.metric",
                float(metrics),
                False,
                f"{stage}: detailed metrics, {len(methods)} methods x {per_method}",
            )
        )
    level = next((str(m.get("LoggingLevel", "OFF")) for m in settings if "LoggingLevel" in m), "")
    out += _execution_logs(tpl, stage, level, requests)
    return out


def websocket_stage(tpl: Template, stage: str, res: Resource) -> list[Usage]:
    """Detailed route metrics (DefaultRouteSettings DetailedMetricsEnabled) and execution logs."""
    p = tpl.profile
    route = res.get("Properties", {}).get("DefaultRouteSettings", {})
    events = 2 * p["ws_connections"] + p["ws_messages_in"]
    out: list[Usage] = []
    if route.get("DetailedMetricsEnabled") and events:
        routes = len(tpl.of_type("AWS::ApiGatewayV2::Route"))
        out.append(
            Usage(
                "cloudwatch.metric",
                float(WEBSOCKET_ROUTE_METRICS * max(1, routes)),
                False,
                f"{stage}: detailed metrics, {routes} routes x {WEBSOCKET_ROUTE_METRICS}",
            )
        )
    out += _execution_logs(tpl, stage, str(route.get("LoggingLevel", "OFF")), events)
    return out


def _fixed(meter: str, count: float = 1.0) -> Pricer:
    def pricer(tpl: Template, logical_id: str, res: Resource) -> list[Usage]:
        del tpl, res
        return [Usage(meter, count, True, logical_id)]

    return pricer


def alarm(tpl: Template, al: str, res: Resource) -> list[Usage]:
    del tpl
    props = res.get("Properties", {})
    metrics = [m for m in props.get("Metrics", []) if "MetricStat" in m] or [props]
    high_res = any(
        float(m.get("Period", m.get("MetricStat", {}).get("Period", 60))) < 60 for m in metrics
    )
    meter = "cloudwatch.alarm_high_resolution" if high_res else "cloudwatch.alarm"
    return [Usage(meter, float(len(metrics)), True, f"{al}: {len(metrics)} metric(s)")]


def kms_key(tpl: Template, key: str, res: Resource) -> list[Usage]:
    """$1 a month, plus $1 a month for each of the first two rotations (later ones are free).

    Priced at steady state, after the second rotation: what the key costs from then on. In its
    first rotation period it costs $1 a month; between the first and second rotation, $2.
    """
    props = res.get("Properties", {})
    out = [
        Usage("kms.key_month", 1.0, True, key),
        Usage("kms.request", tpl.profile["kms_requests"], False, key),
    ]
    if props.get("EnableKeyRotation"):
        days = props.get("RotationPeriodInDays", 365)
        out.append(
            Usage(
                "kms.rotation_month",
                2.0,
                True,
                f"{key}: rotated every {days} days; steady state from day {2 * int(days)}",
            )
        )
        tpl.assume(
            "KMS keys are priced at steady state, after their second automatic rotation "
            "($3 a month each; $1 in the first rotation period, $2 in the second)"
        )
    return out


def secret(tpl: Template, sec: str, res: Resource) -> list[Usage]:
    del res
    return [
        Usage("secretsmanager.secret_month", 1.0, True, sec),
        Usage("secretsmanager.api_call", tpl.profile["secret_calls"], False, sec),
    ]


def schedule(tpl: Template, sched: str, res: Resource) -> list[Usage]:
    runs = schedule_runs_per_month(str(res.get("Properties", {}).get("ScheduleExpression", "")))
    del tpl
    return [Usage("scheduler.invocation", runs, True, f"{sched}: {runs:.3g} runs")]


def ecr_repository(tpl: Template, repo: str, res: Resource) -> list[Usage]:
    del res
    return [Usage("ecr.storage_gb_month", tpl.profile["ecr_gb_stored"], False, repo)]


def user_pool(tpl: Template, pool: str, res: Resource) -> list[Usage]:
    tier = str(res.get("Properties", {}).get("UserPoolTier", "ESSENTIALS")).lower()
    return [
        Usage(f"cognito.mau.{tier}", tpl.profile["monthly_active_users"], False, f"{pool}: {tier}")
    ]


def lightsail_instance(tpl: Template, inst: str, res: Resource) -> list[Usage]:
    p = tpl.profile
    props = res.get("Properties", {})
    bundle = str(props.get("BundleId"))
    out = [Usage(f"lightsail.instance.{bundle}", 1.0, True, f"{inst}: {bundle}")]
    if any(a.get("AddOnType") == "AutoSnapshot" for a in props.get("AddOns", [])):
        gb = LIGHTSAIL_DISK_GB.get(bundle, 40) * SNAPSHOT_SHARE_OF_DISK
        out.append(Usage("lightsail.snapshot_gb_month", gb, True, f"{inst}: daily snapshots"))
    peak_rps = p["requests_per_month"] / SECONDS * p["peak_to_average"]
    capacity = LIGHTSAIL_CAPACITY.get(bundle, 0.0)
    if peak_rps > capacity:
        tpl.notes.append(
            f"{inst}: the load peaks at {peak_rps:.3g} requests/s, above the {capacity:g}/s "
            f"assumed for {bundle} (cost/model.py LIGHTSAIL_CAPACITY): size the bundle up by hand"
        )
    # Transfer beyond the bundle's allowance; instances behind one load balancer pool it.
    out.append(
        Usage(
            "lightsail.transfer_gb",
            p["requests_per_month"] * p["payload_kb"] / KB_PER_GB,
            False,
            f"{inst}: responses",
        )
    )
    return out


def lightsail_static_ip(tpl: Template, ip: str, res: Resource) -> list[Usage]:
    del tpl
    if res.get("Properties", {}).get("AttachedTo"):
        return []  # free while attached to an instance
    return [Usage("lightsail.static_ip_unattached_hour", HOURS, True, ip)]


def lightsail_database(tpl: Template, db: str, res: Resource) -> list[Usage]:
    del tpl
    bundle = res.get("Properties", {}).get("RelationalDatabaseBundleId")
    return [Usage(f"lightsail.database.{bundle}", 1.0, True, f"{db}: {bundle}")]


def lightsail_bucket(tpl: Template, bucket: str, res: Resource) -> list[Usage]:
    del tpl
    bundle = res.get("Properties", {}).get("BundleId")
    return [Usage(f"lightsail.bucket.{bundle}", 1.0, True, f"{bucket}: {bundle}")]


PRICERS: dict[str, Pricer] = {
    "AWS::Lambda::Function": lambda_function,
    "AWS::Logs::LogGroup": log_group,
    "AWS::DynamoDB::Table": dynamodb_table,
    "AWS::S3::Bucket": s3_bucket,
    "AWS::EC2::VPCEndpoint": vpc_endpoint,
    "AWS::EC2::NatGateway": nat_gateway,
    "AWS::EC2::EIP": elastic_ip,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": load_balancer,
    "AWS::ECS::Service": ecs_service,
    "AWS::Batch::ComputeEnvironment": batch_compute_environment,
    "AWS::ApiGateway::RestApi": rest_api,
    "AWS::ApiGatewayV2::Api": http_or_websocket_api,
    "AWS::ApiGateway::Stage": rest_stage,
    "AWS::ApiGatewayV2::Stage": websocket_stage,
    "AWS::ECS::Cluster": ecs_cluster,
    "AWS::ECS::TaskDefinition": container_image,
    "AWS::Batch::JobDefinition": container_image,
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::CloudWatch::Dashboard": _fixed("cloudwatch.dashboard"),
    "AWS::KMS::Key": kms_key,
    "AWS::SecretsManager::Secret": secret,
    "AWS::Scheduler::Schedule": schedule,
    "AWS::ECR::Repository": ecr_repository,
    "AWS::Cognito::UserPool": user_pool,
    "AWS::Lightsail::Instance": lightsail_instance,
    "AWS::Lightsail::StaticIp": lightsail_static_ip,
    "AWS::Lightsail::Alarm": _fixed("lightsail.alarm"),
    "AWS::Lightsail::Database": lightsail_database,
    "AWS::Lightsail::LoadBalancer": _fixed("lightsail.load_balancer"),
    "AWS::Lightsail::Bucket": lightsail_bucket,
}

_PRICED_ELSEWHERE = "no charge of its own; priced through "
FREE: dict[str, str] = {
    "AWS::IAM::Role": "IAM has no charge",
    "AWS::IAM::Policy": "IAM has no charge",
    "AWS::IAM::ManagedPolicy": "IAM has no charge",
    "AWS::EC2::VPC": "no charge for a VPC",
    "AWS::EC2::Subnet": "no charge for a subnet",
    "AWS::EC2::RouteTable": "no charge for a route table",
    "AWS::EC2::Route": "no charge for a route",
    "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::InternetGateway": "no charge for an internet gateway (egress is priced)",
    "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EC2::SecurityGroup": "no charge for security groups",
    "AWS::EC2::SecurityGroupIngress": "no charge for security groups",
    "AWS::EC2::SecurityGroupEgress": "no charge for security groups",
    "AWS::EC2::FlowLog": _PRICED_ELSEWHERE + "its log group (flow_log_gb)",
    "AWS::Lambda::Permission": "no charge",
    "AWS::Lambda::EventInvokeConfig": "no charge",
    "AWS::SNS::Topic": "no charge for a topic; alarm e-mails stay within SNS's 1,000 free",
    "AWS::SNS::TopicPolicy": "no charge",
    "AWS::SNS::Subscription": "no charge; alarm e-mails stay within SNS's 1,000 free",
    "AWS::SQS::Queue": "no charge for a queue; a dead-letter queue sees only failures, "
    "far below SQS's 1 M free requests",
    "AWS::SQS::QueuePolicy": "no charge",
    "AWS::S3::BucketPolicy": "no charge",
    "AWS::ECS::ClusterCapacityProviderAssociations": "no charge",
    "AWS::ApplicationAutoScaling::ScalableTarget": _PRICED_ELSEWHERE
    + "the ECS service's task count",
    "AWS::ApplicationAutoScaling::ScalingPolicy": _PRICED_ELSEWHERE
    + "the ECS service's task count",
    "AWS::ElasticLoadBalancingV2::Listener": _PRICED_ELSEWHERE + "the load balancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": _PRICED_ELSEWHERE + "the load balancer",
    "AWS::Batch::JobQueue": _PRICED_ELSEWHERE + "its first compute environment",
    "AWS::Events::Rule": "AWS service events on the default bus are free",
    "AWS::ApiGateway::Account": "no charge",
    "AWS::ApiGateway::ApiKey": "no charge",
    "AWS::ApiGateway::Authorizer": "no charge (a Cognito authorizer)",
    "AWS::ApiGateway::Deployment": "no charge",
    "AWS::ApiGateway::GatewayResponse": "no charge",
    "AWS::ApiGateway::Method": _PRICED_ELSEWHERE + "the REST API's requests",
    "AWS::ApiGateway::Model": "no charge",
    "AWS::ApiGateway::RequestValidator": "no charge",
    "AWS::ApiGateway::Resource": "no charge",
    "AWS::ApiGateway::UsagePlan": "no charge",
    "AWS::ApiGateway::UsagePlanKey": "no charge",
    "AWS::ApiGatewayV2::Authorizer": _PRICED_ELSEWHERE + "the authorizer function",
    "AWS::ApiGatewayV2::Integration": _PRICED_ELSEWHERE + "the API's messages",
    "AWS::ApiGatewayV2::Route": _PRICED_ELSEWHERE + "the API's messages",
    "AWS::ApiGatewayV2::RouteResponse": "no charge",
    "AWS::ApiGatewayV2::Deployment": "no charge",
    "AWS::Cognito::UserPoolClient": _PRICED_ELSEWHERE + "the user pool's MAUs",
    "AWS::CDK::Metadata": "CDK bookkeeping, not a cloud resource",
}
# Lambda-backed custom resources run once per deploy; their function is priced (at ~0).
CUSTOM_PREFIX = "Custom::"


def is_free(resource_type: str) -> bool:
    return resource_type in FREE or resource_type.startswith(CUSTOM_PREFIX)


def unpriced_types(template: dict[str, Any]) -> list[str]:
    types = {r.get("Type", "") for r in template.get("Resources", {}).values()}
    return sorted(t for t in types if t not in PRICERS and not is_free(t))


def usages(template: dict[str, Any], profile: Profile) -> tuple[list[Usage], Template]:
    tpl = Template(template, profile)
    out: list[Usage] = []
    for logical_id, res in sorted(tpl.resources.items()):
        pricer = PRICERS.get(res.get("Type", ""))
        if pricer:
            out += pricer(tpl, logical_id, res)
    return out, tpl


def _lines_for(
    meter: str, items: list[Usage], book: PriceBook, free_left: dict[str, float]
) -> Iterable[Line]:
    if meter == "lightsail.transfer_gb":
        return []  # handled by _lightsail_transfer
    price = book[meter]
    quantity = sum(u.quantity for u in items)
    gross = price.charge(quantity)
    if gross < 0.005:
        return []
    fixed = all(u.fixed for u in items)
    detail = "; ".join(sorted({u.source for u in items}))
    lines = [
        Line(
            "fixed" if fixed else "usage",
            meter,
            price.description,
            quantity,
            price.unit,
            gross,
            detail,
            price.source,
            price.assumption,
        )
    ]
    free = min(quantity, free_left.get(price.free_pool, price.free_per_month))
    if free > 0:
        free_left[price.free_pool] = free_left.get(price.free_pool, price.free_per_month) - free
        net = price.charge(quantity - free)
        lines.append(
            Line(
                "free tier",
                meter,
                f"{price.description}: always-free allowance",
                -free,
                price.unit,
                net - gross,
                f"first {price.free_per_month:,.0f} {price.unit}s a month free (per account)",
                price.source,
                price.assumption,
            )
        )
    return lines


def _lightsail_transfer(items: list[Usage], all_usages: list[Usage], book: PriceBook) -> list[Line]:
    gb = sum(u.quantity for u in items)
    allowance = sum(
        book.lightsail_transfer_allowance_gb.get(u.meter.removeprefix("lightsail.instance."), 0)
        for u in all_usages
        if u.meter.startswith("lightsail.instance.")
    )
    over = max(0.0, gb - allowance)
    price = book["lightsail.transfer_overage_gb"]
    if price.charge(over) < 0.005:
        return []
    return [
        Line(
            "usage",
            price.meter,
            price.description,
            over,
            price.unit,
            price.charge(over),
            f"{gb:,.0f} GB out, {allowance:,.0f} GB included in the bundles",
            price.source,
            price.assumption,
        )
    ]


# Meters whose free allowance is used first when two share one pool: the dearer rate.
def _free_order(meter: str, book: PriceBook) -> tuple[str, float]:
    price = book.prices.get(meter)
    return (price.free_pool if price else meter, -(price.first_rate if price else 0.0))


def estimate(
    stack: str,
    template: dict[str, Any],
    profile: Profile,
    book: PriceBook,
    profile_name: str = "custom",
    free_tier: bool = True,
) -> Estimate:
    found, tpl = usages(template, profile)
    # Fixed and usage quantities of one meter (minimum tasks, scaled-out tasks) stay apart.
    by_meter: dict[tuple[str, bool], list[Usage]] = defaultdict(list)
    for u in found:
        by_meter[(u.meter, u.fixed)].append(u)
    result = Estimate(stack, book.region, profile_name, unpriced=unpriced_types(template))
    result.notes = tpl.notes
    free_left: dict[str, float] = {}
    if not free_tier:
        free_left = {p.free_pool: 0.0 for p in book.prices.values()}
    for key in sorted(by_meter, key=lambda k: (*_free_order(k[0], book), not k[1])):
        if key[0] == "lightsail.transfer_gb":
            result.lines += _lightsail_transfer(by_meter[key], found, book)
        else:
            result.lines += _lines_for(key[0], by_meter[key], book, free_left)
    order = {"fixed": 0, "usage": 1, "free tier": 2}
    result.lines.sort(key=lambda line: (order[line.kind], -abs(line.usd), line.meter))
    priced_by_assumption = {
        f"{line.description}: {line.assumption}" for line in result.lines if line.assumption
    }
    result.assumptions = tpl.assumptions + sorted(priced_by_assumption)
    return result
