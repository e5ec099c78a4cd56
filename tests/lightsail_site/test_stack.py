"""Fine-grained checks of the LightsailSite stack and construct: what a reviewer would ask about."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack, Validations
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.lightsail_site import DEFAULT_FIRST_BOOT_SCRIPT, LightsailSite, LightsailSiteStack
from tests.support import Synth
from tests.test_cfn_lint import _describe, _run_cfn_lint

STACK = "LightsailSite"


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template(STACK)


def _only(template: Template, type_: str) -> dict[str, Any]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return dict(next(iter(found.values())))


def _instance_id(template: Template) -> str:
    (logical_id,) = template.find_resources("AWS::Lightsail::Instance")
    return str(logical_id)


def _ports(instance: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    return {p["FromPort"]: p for p in instance["Properties"]["Networking"]["Ports"]}


# -- the deployed stack (defaults) -----------------------------------------------------------


def test_instance_runs_wordpress_on_the_micro_bundle(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lightsail::Instance", {"BlueprintId": "wordpress", "BundleId": "micro_3_0"}
    )


def test_instance_is_in_zone_a_of_the_deploy_region(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lightsail::Instance",
        {"AvailabilityZone": {"Fn::Join": ["", [{"Ref": "AWS::Region"}, "a"]]}},
    )


def test_static_ip_is_attached_to_the_instance(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lightsail::StaticIp", {"AttachedTo": {"Ref": _instance_id(template)}}
    )


def test_firewall_opens_only_http_and_https_to_ipv4_and_ipv6(template: Template) -> None:
    ports = _ports(_only(template, "AWS::Lightsail::Instance"))
    assert sorted(ports) == [80, 443]
    for port, rule in ports.items():
        assert rule["Protocol"] == "tcp"
        assert rule["ToPort"] == port
        assert rule["Cidrs"] == ["0.0.0.0/0"]
        assert rule["Ipv6Cidrs"] == ["::/0"]


def test_automatic_snapshots_are_on_at_six_utc(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lightsail::Instance",
        {
            "AddOns": [
                {
                    "AddOnType": "AutoSnapshot",
                    "Status": "Enabled",
                    "AutoSnapshotAddOnRequest": {"SnapshotTimeOfDay": "06:00"},
                }
            ]
        },
    )


def test_first_boot_script_is_the_instance_user_data(template: Template) -> None:
    instance = _only(template, "AWS::Lightsail::Instance")
    assert instance["Properties"]["UserData"] == DEFAULT_FIRST_BOOT_SCRIPT.read_text()


def test_instance_and_static_ip_are_retained(template: Template) -> None:
    for type_ in ("AWS::Lightsail::Instance", "AWS::Lightsail::StaticIp"):
        resource = _only(template, type_)
        assert resource["DeletionPolicy"] == "Retain", type_
        assert resource["UpdateReplacePolicy"] == "Retain", type_


def test_cpu_and_status_check_alarms_watch_the_instance(template: Template) -> None:
    instance = {"Ref": _instance_id(template)}
    template.has_resource_properties(
        "AWS::Lightsail::Alarm",
        {
            "MetricName": "CPUUtilization",
            "MonitoredResourceName": instance,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 80,
            "EvaluationPeriods": 3,
        },
    )
    template.has_resource_properties(
        "AWS::Lightsail::Alarm",
        {
            "MetricName": "StatusCheckFailed",
            "MonitoredResourceName": instance,
            "Threshold": 1,
        },
    )
    template.resource_count_is("AWS::Lightsail::Alarm", 2)


def test_alarms_do_not_notify_without_an_email(template: Template) -> None:
    template.resource_count_is("AWS::Lightsail::ContactMethod", 0)
    for alarm in template.find_resources("AWS::Lightsail::Alarm").values():
        assert alarm["Properties"]["NotificationEnabled"] is False
        assert "ContactProtocols" not in alarm["Properties"]


def test_deploy_checks_the_region_offers_lightsail(template: Template) -> None:
    """The stack is environment-agnostic: CloudFormation checks the region before creating."""
    rules = {
        name: rule for name, rule in template.to_json()["Rules"].items() if "RegionCheck" in name
    }
    (rule,) = rules.values()
    (assertion,) = rule["Assertions"]
    regions, region = assertion["Assert"]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"}
    assert {"us-east-1", "eu-west-2", "ap-southeast-2", "sa-east-1"} <= set(regions)
    assert not {"us-west-1", "me-south-1", "af-south-1"} & set(regions)
    assert "Lightsail is not available in this region" in assertion["AssertDescription"]


def test_optional_pieces_are_off_by_default(template: Template) -> None:
    for type_ in (
        "AWS::Lightsail::Database",
        "AWS::Lightsail::LoadBalancer",
        "AWS::Lightsail::Bucket",
    ):
        template.resource_count_is(type_, 0)


def test_outputs_give_the_ip_the_name_and_how_to_connect(template: Template) -> None:
    outputs = template.find_outputs("*")
    assert outputs["StaticIp"]["Value"] == {
        "Fn::GetAtt": [next(iter(template.find_resources("AWS::Lightsail::StaticIp"))), "IpAddress"]
    }
    assert outputs["InstanceName"]["Value"] == {"Ref": _instance_id(template)}
    connect = "".join(
        part for part in outputs["Connect"]["Value"]["Fn::Join"][1] if isinstance(part, str)
    )
    assert "SSH is closed" in connect
    assert "bitnami@" in connect


# -- options, in a small App with cdk-nag on ------------------------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """Everything on (in eu-central-1, where CloudFormation can create the e-mail contact): SSH
    allow-list, e-mail alarms, two instances behind a load balancer,
    database and media bucket; and a plain-OS instance without snapshots, DESTROY."""
    app = App()
    full = Stack(app, "Full", env=Environment(region="eu-central-1"))
    LightsailSite(
        full,
        "Site",
        instance_name="shop",
        availability_zone="eu-central-1b",
        ssh_allowed_cidrs=["203.0.113.0/24", "2001:db8::/32"],
        allow_browser_ssh=True,
        key_pair_name="ops",
        alarm_email="ops@example.com",
        instance_count=2,
        load_balancer=True,
        database=True,
        media_bucket=True,
    )
    plain = Stack(app, "Plain")
    LightsailSite(
        plain,
        "Site",
        instance_name="box",
        blueprint="ubuntu_24_04",
        bundle="nano_3_0",
        ipv6=False,
        auto_snapshot_time=None,
        removal_policy=RemovalPolicy.DESTROY,
        use_existing_email_contact=True,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding
    return {"full": Template.from_stack(full), "plain": Template.from_stack(plain)}


def test_ssh_is_open_only_to_the_allow_list(variants: dict[str, Template]) -> None:
    for instance in variants["full"].find_resources("AWS::Lightsail::Instance").values():
        ssh = _ports(instance)[22]
        assert ssh["ToPort"] == 22
        assert ssh["Cidrs"] == ["203.0.113.0/24"]
        assert ssh["Ipv6Cidrs"] == ["2001:db8::/32"]
        assert ssh["CidrListAliases"] == ["lightsail-connect"]


def test_full_zone_name_is_used_as_given(variants: dict[str, Template]) -> None:
    variants["full"].has_resource_properties(
        "AWS::Lightsail::Instance", {"AvailabilityZone": "eu-central-1b", "KeyPairName": "ops"}
    )


def test_each_instance_gets_its_own_static_ip(variants: dict[str, Template]) -> None:
    template = variants["full"]
    instances = sorted(template.find_resources("AWS::Lightsail::Instance"))
    attached = sorted(
        ip["Properties"]["AttachedTo"]["Ref"]
        for ip in template.find_resources("AWS::Lightsail::StaticIp").values()
    )
    assert len(instances) == 2
    assert attached == instances


def test_instances_are_numbered_when_more_than_one(variants: dict[str, Template]) -> None:
    names = sorted(
        i["Properties"]["InstanceName"]
        for i in variants["full"].find_resources("AWS::Lightsail::Instance").values()
    )
    assert names == ["shop-1", "shop-2"]


def test_alarm_email_creates_a_contact_the_alarms_notify(variants: dict[str, Template]) -> None:
    template = variants["full"]
    contact = template.find_resources(
        "AWS::Lightsail::ContactMethod",
        {"Properties": {"Protocol": "Email", "ContactEndpoint": "ops@example.com"}},
    )
    (contact_id,) = contact
    alarms = template.find_resources("AWS::Lightsail::Alarm")
    assert len(alarms) == 5  # CPU and status check per instance, unhealthy hosts
    for alarm in alarms.values():
        assert alarm["Properties"]["ContactProtocols"] == ["Email"]
        assert alarm["Properties"]["NotificationEnabled"] is True
        assert alarm["Properties"]["NotificationTriggers"] == ["ALARM", "OK"]
        assert alarm["DependsOn"] == [contact_id]


def test_load_balancer_fronts_every_instance(variants: dict[str, Template]) -> None:
    template = variants["full"]
    instances = [{"Ref": i} for i in sorted(template.find_resources("AWS::Lightsail::Instance"))]
    template.has_resource_properties(
        "AWS::Lightsail::LoadBalancer",
        {
            "InstancePort": 80,
            "AttachedInstances": Match.array_with(instances),
            "HealthCheckPath": "/",
            "IpAddressType": "dualstack",
        },
    )
    lb_id = next(iter(template.find_resources("AWS::Lightsail::LoadBalancer")))
    template.has_resource_properties(
        "AWS::Lightsail::Alarm",
        {"MetricName": "UnhealthyHostCount", "MonitoredResourceName": {"Ref": lb_id}},
    )


def test_database_is_private_backed_up_and_has_no_password_in_template(
    variants: dict[str, Template],
) -> None:
    database = _only(variants["full"], "AWS::Lightsail::Database")
    props = database["Properties"]
    assert props["RelationalDatabaseBlueprintId"] == "mysql_8_0"
    assert props["RelationalDatabaseBundleId"] == "micro_2_0"
    assert props["AvailabilityZone"] == "eu-central-1b"
    assert props["PubliclyAccessible"] is False
    assert props["BackupRetention"] is True
    assert "MasterUserPassword" not in props
    assert database["DeletionPolicy"] == "Retain"


def test_database_name_drops_underscores_lightsail_refuses() -> None:
    app = App()
    stack = Stack(app, "Db")
    site = LightsailSite(stack, "Site", instance_name="my_shop", database=True)
    assert site.database is not None
    assert stack.resolve(site.database.relational_database_name) == "my-shop-db"


def test_media_bucket_name_can_be_given() -> None:
    app = App()
    stack = Stack(app, "Bucket")
    site = LightsailSite(
        stack, "Site", instance_name="shop", media_bucket=True, media_bucket_name="shop-assets"
    )
    assert site.bucket is not None
    assert site.bucket.bucket_name == "shop-assets"


def test_media_bucket_is_private_versioned_and_for_the_instances(
    variants: dict[str, Template],
) -> None:
    template = variants["full"]
    bucket = _only(template, "AWS::Lightsail::Bucket")
    props = bucket["Properties"]
    assert re.fullmatch(r"shop-media-[0-9a-f]{8}", props["BucketName"]), props["BucketName"]
    assert props["AccessRules"] == {"GetObject": "private", "AllowPublicOverrides": False}
    assert props["ObjectVersioning"] is True
    instances = sorted(template.find_resources("AWS::Lightsail::Instance"))
    assert sorted(r["Ref"] for r in props["ResourcesReceivingAccess"]) == instances
    assert bucket["DeletionPolicy"] == "Retain"


def test_plain_os_without_ipv6_or_snapshots(variants: dict[str, Template]) -> None:
    instance = _only(variants["plain"], "AWS::Lightsail::Instance")
    props = instance["Properties"]
    assert props["BlueprintId"] == "ubuntu_24_04"
    assert "AddOns" not in props
    assert "UserData" not in props
    assert all(rule["Ipv6Cidrs"] == [] for rule in _ports(instance).values())
    assert sorted(_ports(instance)) == [80, 443]


def test_existing_email_contact_is_notified_without_creating_one(
    variants: dict[str, Template],
) -> None:
    template = variants["plain"]
    template.resource_count_is("AWS::Lightsail::ContactMethod", 0)
    template.has_resource_properties(
        "AWS::Lightsail::Alarm", {"ContactProtocols": ["Email"], "NotificationEnabled": True}
    )


def test_destroy_removes_instance_and_static_ip(variants: dict[str, Template]) -> None:
    for type_ in ("AWS::Lightsail::Instance", "AWS::Lightsail::StaticIp"):
        assert _only(variants["plain"], type_)["DeletionPolicy"] == "Delete"


def test_every_option_is_cfn_lint_clean(variants: dict[str, Template], tmp_path: Path) -> None:
    """cfn-lint knows Lightsail's enums and name patterns: the optional pieces must pass too."""
    paths = []
    for name, template in variants.items():
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps(template.to_json()))
        paths.append(path)
    findings = [_describe(f) for f in _run_cfn_lint(paths)]
    assert findings == [], "\n".join(findings)


def _connect(**props: Any) -> str:
    app = App()
    stack = Stack(app, "Connect")
    site = LightsailSite(stack, "Site", instance_name="blog", **props)
    resolved = stack.resolve(site.connect_command)
    return "".join(p for p in resolved["Fn::Join"][1] if isinstance(p, str))


def test_connect_is_an_ssh_command_when_ssh_is_allowed() -> None:
    assert _connect(ssh_allowed_cidrs=["203.0.113.7/32"], key_pair_name="ops").startswith(
        "ssh -i <ops.pem> bitnami@"
    )


def test_connect_points_to_the_console_for_browser_ssh_only() -> None:
    assert "Connect using SSH (browser client" in _connect(allow_browser_ssh=True)


def test_connect_names_the_os_user_of_the_blueprint() -> None:
    assert "ec2-user@" in _connect(blueprint="amazon_linux_2023", ssh_allowed_cidrs=["::1/128"])


# -- invalid props fail at synth, naming the bad value -----------------------------------------


def _build(region: str | None = None, **props: Any) -> None:
    app = App()
    stack = Stack(app, "Invalid", env=Environment(region=region) if region else None)
    LightsailSite(stack, "Site", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"blueprint": "wordpress_4_9_8"}, "blueprint='wordpress_4_9_8' is not a known"),
        ({"bundle": "tiny_1_0"}, "bundle='tiny_1_0' is not a known"),
        ({"bundle": "nano_ipv6_3_0"}, "bundle='nano_ipv6_3_0' is IPv6-only"),
        ({"ssh_allowed_cidrs": ["10.0.0.300/32"]}, "'10.0.0.300/32' is not a valid CIDR"),
        ({"ssh_allowed_cidrs": ["10.0.0.1/24"]}, "'10.0.0.1/24' is not a valid CIDR"),
        ({"ssh_allowed_cidrs": ["0.0.0.0/0"]}, "'0.0.0.0/0' opens SSH to the whole internet"),
        ({"ssh_allowed_cidrs": "203.0.113.0/24"}, "expected a list of CIDRs"),
        ({"instance_name": "-site"}, "instance_name='-site'"),
        ({"instance_name": "my site"}, "instance_name='my site'"),
        ({"instance_name": "a"}, "instance_name='a'"),
        ({"instance_name": "x" * 255}, "Lightsail names are 2-254 characters"),
        ({"instance_name": "www.example.com"}, "instance_name='www.example.com'"),
        ({"auto_snapshot_time": "6:30"}, "auto_snapshot_time='6:30'"),
        ({"auto_snapshot_time": "24:00"}, "auto_snapshot_time='24:00'"),
        ({"availability_zone_letter": "z"}, "availability_zone_letter='z'"),
        ({"availability_zone": "westeurope"}, "availability_zone='westeurope'"),
        ({"instance_count": 2}, "instance_count=2: more than one instance needs load_balancer"),
        ({"instance_count": 0}, "instance_count=0"),
        ({"database": True, "database_bundle": "nano_2_0"}, "database_bundle='nano_2_0'"),
        ({"database": True, "database_blueprint": "oracle"}, "database_blueprint='oracle'"),
        ({"media_bucket": True, "media_bucket_name": "Media_Bucket"}, "'Media_Bucket'"),
        ({"removal_policy": RemovalPolicy.SNAPSHOT}, "removal_policy=SNAPSHOT"),
        ({"user_data_path": "no/such/script.sh"}, "user_data_path='no/such/script.sh'"),
        ({"alarm_email": "ops.example.com"}, "alarm_email='ops.example.com': expected an e-mail"),
        (
            {"alarm_email": "ops@example.com", "use_existing_email_contact": True},
            "pass one or the other",
        ),
        ({"instance_name": "x" * 250}, "has 263 characters, over Lightsail's 255"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_invalid_prop_fails_naming_the_value(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _build(**props)


def test_zone_outside_the_region_fails() -> None:
    with pytest.raises(ValueError, match=r"'us-east-1a' is outside the stack's region 'eu-west-2'"):
        _build(region="eu-west-2", availability_zone="us-east-1a")


def test_region_without_lightsail_fails() -> None:
    with pytest.raises(ValueError, match=r"region 'me-south-1': Lightsail is not available"):
        _build(region="me-south-1")


def test_zone_in_an_environment_agnostic_stack_is_checked_at_deploy() -> None:
    app = App()
    stack = Stack(app, "Agnostic")
    LightsailSite(stack, "Site", instance_name="blog", availability_zone="eu-west-2b")
    rules = Template.from_stack(stack).to_json()["Rules"]
    (rule,) = (r for name, r in rules.items() if "RegionCheck" in name)
    zone_check = rule["Assertions"][1]
    assert zone_check["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-2"]}
    assert "availability_zone='eu-west-2b' is outside" in zone_check["AssertDescription"]


def test_concrete_region_needs_no_deploy_time_check() -> None:
    app = App()
    stack = Stack(app, "Concrete", env=Environment(region="eu-west-2"))
    LightsailSite(stack, "Site", instance_name="blog", availability_zone="eu-west-2b")
    rules = Template.from_stack(stack).to_json().get("Rules", {})
    assert not [name for name in rules if "RegionCheck" in name]


@pytest.mark.parametrize("region", ["sa-east-1", "eu-south-2", "ap-east-1", "ap-southeast-5"])
def test_newer_lightsail_regions_are_accepted(region: str) -> None:
    _build(region=region, instance_name="blog")


def test_largest_dual_stack_bundle_is_accepted() -> None:
    _build(instance_name="big", bundle="4xlarge_3_0")


def test_concrete_region_gives_a_literal_zone() -> None:
    app = App()
    stack = Stack(app, "Concrete", env=Environment(region="eu-central-1"))
    site = LightsailSite(stack, "Site", availability_zone_letter="c")
    assert site.availability_zone == "eu-central-1c"


def test_user_data_without_shebang_fails(tmp_path: Path) -> None:
    script = tmp_path / "setup.sh"
    script.write_text("apt-get update\n")
    with pytest.raises(ValueError, match="must start with #!"):
        _build(user_data_path=script)


def test_user_data_over_16_kb_fails(tmp_path: Path) -> None:
    script = tmp_path / "big.sh"
    script.write_text("#!/bin/bash\n" + "#" * 16 * 1024)
    with pytest.raises(ValueError, match="larger than Lightsail's 16 KB limit"):
        _build(user_data_path=script)


# -- the stack's context keys ----------------------------------------------------------------


def _stack(**context: str) -> Template:
    app = App(context={f"{STACK}:{key}": value for key, value in context.items()})
    return Template.from_stack(LightsailSiteStack(app, STACK))


def test_context_can_notify_the_regions_existing_contact() -> None:
    template = _stack(use_existing_email_contact="true")
    template.resource_count_is("AWS::Lightsail::ContactMethod", 0)
    template.has_resource_properties(
        "AWS::Lightsail::Alarm", {"ContactProtocols": ["Email"], "NotificationEnabled": True}
    )


def test_bad_context_value_fails_synth_naming_it() -> None:
    with pytest.raises(ValueError, match=re.escape("blueprint='wordpres' is not a known")):
        _stack(blueprint="wordpres")
