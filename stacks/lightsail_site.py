"""Lightsail site pattern: a fixed-price server (WordPress by default) with a static IP.

``LightsailSite`` is the reusable construct; ``LightsailSiteStack`` wires it for ``cdk deploy``.
Lightsail has only CloudFormation (L1) resources in the CDK; this module gives them the defaults,
validation and wiring an L2 would.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import (
    Aws,
    CfnOutput,
    CfnRule,
    CfnRuleAssertion,
    Fn,
    Names,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_lightsail as lightsail
from constructs import Construct

from .shared import (
    ConfigError,
    ContextConfig,
    SecureDefault,
    UnavailableHere,
    consolidate_props,
)

DEFAULT_FIRST_BOOT_SCRIPT = (
    Path(__file__).resolve().parent.parent / "scripts" / "lightsail" / "first_boot.sh"
)

# Blueprint id -> the user its image logs in as. Ids are the active ones `aws lightsail
# get-blueprints` lists; versioned ids (wordpress_4_9_8) are retired and Lightsail rejects them.
BLUEPRINTS: Mapping[str, str] = {
    "wordpress": "bitnami",
    "lamp_8_bitnami": "bitnami",
    "nginx": "bitnami",
    "nodejs": "bitnami",
    "amazon_linux_2023": "ec2-user",
    "ubuntu_24_04": "ubuntu",
    "ubuntu_22_04": "ubuntu",
    "debian_12": "admin",
}

# Dual-stack Linux bundles (public IPv4 + IPv6), smallest first, as `aws lightsail
# get-bundles` lists them. The IPv6-only bundles (nano_ipv6_3_0 ...) have no public IPv4 and so
# cannot take a static IP (see _check_bundle); Windows bundles (*_win_3_0) do not run these
# blueprints.
BUNDLES: tuple[str, ...] = (
    "nano_3_0",
    "micro_3_0",
    "small_3_0",
    "medium_3_0",
    "large_3_0",
    "xlarge_3_0",
    "2xlarge_3_0",
    "4xlarge_3_0",
)
DATABASE_BLUEPRINTS: tuple[str, ...] = ("mysql_8_0", "postgres_16")
DATABASE_BUNDLES: tuple[str, ...] = (
    "micro_2_0",
    "small_2_0",
    "medium_2_0",
    "large_2_0",
    "micro_ha_2_0",
    "small_ha_2_0",
    "medium_ha_2_0",
    "large_ha_2_0",
)
BUCKET_BUNDLES: tuple[str, ...] = ("small_1_0", "medium_1_0", "large_1_0")

# Regions where Lightsail runs: the regions botocore's endpoint data lists for the lightsail
# service, which are also those where CloudFormation offers AWS::Lightsail::Instance (cfn-lint's
# provider schemas). The API's RegionName enum also names us-west-1, which has no endpoint.
LIGHTSAIL_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "eu-south-2",
        "ap-east-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-5",
    }
)

# Regions where CloudFormation offers AWS::Lightsail::ContactMethod, according to the resource
# data aws-cdk-lib validates templates against (@aws-cdk/core:validateAgainstDefaultRules):
# elsewhere a template with one fails synth (F3006) and would fail to deploy.
CONTACT_METHOD_REGIONS: frozenset[str] = frozenset({"us-east-1", "us-west-2", "eu-central-1"})

# Lightsail's documented rule for resource names: 2-255 characters, start and end with a letter
# or digit, letters, digits, periods, dashes and underscores in between (CloudFormation caps
# instance names at 254). Periods are refused here although Lightsail allows them: alarm,
# static IP and load balancer names derived from the instance name may not contain them.
_INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,252}[A-Za-z0-9]$")
_RESOURCE_NAME_MAX = 255
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,52}[a-z0-9]$")
_SNAPSHOT_TIME = re.compile(r"^([01][0-9]|2[0-3]):00$")
_AZ = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-[0-9])([a-z])$")
_USER_DATA_MAX_BYTES = 16 * 1024
_WEB_PORTS = (80, 443)


# What the database and bucket defaults keep secure; their props may turn it off, with a warning.
_SECURE_DATABASE = (
    SecureDefault("publicly_accessible", "reachable from the instances only", lambda v: not v),
    SecureDefault("backup_retention", "automatic daily backups kept"),
)
_SECURE_BUCKET = (
    SecureDefault("object_versioning", "versioning (an overwritten or deleted object is kept)"),
    SecureDefault(
        "access_rules",
        "private objects, no public overrides",
        lambda v: v is not None and v.object_access != "public" and not v.allow_public_overrides,
    ),
)


class LightsailSite(Construct):
    """One or more Lightsail instances serving a web site, each with a static IP.

    Builds: Lightsail instance(s) from a blueprint (WordPress by default) and bundle, in one
    availability zone of the stack's region; a static IP attached to each; a firewall that opens
    only 80 and 443 (IPv4 and IPv6), and SSH only from ``ssh_allowed_cidrs``; the automatic
    snapshot add-on; an optional first-boot script; Lightsail alarms on CPU and status checks,
    e-mailed through a Lightsail contact method when ``alarm_email`` is given. Optional, off by
    default: a managed database, a load balancer (required for more than one instance) and a
    private bucket for media. In an environment-agnostic stack, a template rule that refuses at
    deploy time a region without Lightsail (or other than a given zone's).

    Secure defaults: SSH closed to the internet (and to the browser console) unless asked for;
    IPv6-only and password logins not offered; instances, static IPs, database and bucket
    retained when the stack goes (``removal_policy``); the database private to the Lightsail
    account with backups on and a password Lightsail generates (never in the template); the
    bucket private and versioned, reachable by the site's instances only.

    Cost drivers: a fixed monthly price per bundle (micro_3_0, the default, is about $7 a month
    with 1 TB of transfer), automatic snapshots (about $0.05 per GB-month of changed data),
    and each optional piece at its own fixed price: database from about $15, load balancer
    $18, bucket from $1 a month. Static IPs are free while attached. It does not scale by
    itself: choose a bigger bundle, or more instances behind the load balancer.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        instance_name: str | None = None,
        blueprint: str = "wordpress",
        bundle: str = "micro_3_0",
        availability_zone_letter: str = "a",
        availability_zone: str | None = None,
        instance_count: int = 1,
        key_pair_name: str | None = None,
        ssh_allowed_cidrs: Sequence[str] = (),
        allow_browser_ssh: bool = False,
        ipv6: bool = True,
        auto_snapshot_time: str | None = "06:00",
        user_data_path: str | Path | None = None,
        alarm_email: str | None = None,
        use_existing_email_contact: bool = False,
        cpu_alarm_threshold: float = 80,
        database: bool = False,
        database_blueprint: str = "mysql_8_0",
        database_bundle: str = "micro_2_0",
        load_balancer: bool = False,
        health_check_path: str = "/",
        media_bucket: bool = False,
        media_bucket_name: str | None = None,
        media_bucket_bundle: str = "small_1_0",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        instance_props: Mapping[str, Any] | None = None,
        database_props: Mapping[str, Any] | None = None,
        load_balancer_props: Mapping[str, Any] | None = None,
        bucket_props: Mapping[str, Any] | None = None,
    ) -> None:
        """
        :param instance_name: the Lightsail name (unique per region in the account); derived
            from the construct path when not given. With ``instance_count`` > 1 the instances
            are ``<name>-1``, ``<name>-2``, ...
        :param blueprint: one of ``BLUEPRINTS`` (WordPress, LAMP, Nginx, Node.js, plain OS).
        :param bundle: one of ``BUNDLES`` (the instance size and its monthly price).
        :param availability_zone_letter: the zone within the stack's region (``a`` ->
            ``<region>a``); works for environment-agnostic stacks.
        :param availability_zone: a full zone name instead (``eu-west-2b``); must be in the
            stack's region when that is known at synth.
        :param instance_count: instances to run; more than one needs ``load_balancer=True``.
        :param key_pair_name: a Lightsail key pair for SSH; the region's default key otherwise.
        :param ssh_allowed_cidrs: IPv4/IPv6 CIDRs allowed to SSH in; empty keeps SSH closed.
        :param allow_browser_ssh: also open SSH to the Lightsail console's browser client
            (the ``lightsail-connect`` alias).
        :param ipv6: open the web ports to IPv6 clients too (every default bundle is dual-stack).
        :param auto_snapshot_time: daily automatic snapshot time, ``HH:00`` UTC; None to turn
            the add-on off.
        :param user_data_path: a launch script run once on first boot (for example
            ``DEFAULT_FIRST_BOOT_SCRIPT``); at most 16 KB.
        :param alarm_email: an address for alarm notifications; creates the region's Lightsail
            e-mail contact method (one per region: see ``use_existing_email_contact``).
        :param use_existing_email_contact: notify the e-mail contact method the region already
            has, instead of creating one.
        :param cpu_alarm_threshold: average CPU percent over 15 minutes that raises an alarm.
        :param database: create a Lightsail managed database (``database_blueprint``,
            ``database_bundle``).
        :param load_balancer: put a Lightsail load balancer (HTTP to port 80) in front.
        :param health_check_path: the load balancer's health check path.
        :param media_bucket: create a private Lightsail bucket the instances may use.
        :param media_bucket_name: its globally unique name; derived when not given.
        :param removal_policy: for instances, static IPs, database and bucket. RETAIN by
            default; SNAPSHOT is not supported by Lightsail resources.
        :param instance_props: ``CfnInstance`` keyword arguments merged over the defaults;
            likewise ``database_props``, ``load_balancer_props`` and ``bucket_props``.
        """
        super().__init__(scope, id)
        # Every prop is checked before anything is built, so a bad one fails synth in one line.
        region = Stack.of(self).region
        name = instance_name or Names.unique_resource_name(self, max_length=48, separator="-")
        _check_instance_name(name)
        _check_choice("blueprint", blueprint, BLUEPRINTS)
        _check_bundle(bundle)
        _check_instance_count(instance_count, load_balancer)
        ssh_ipv4, ssh_ipv6 = _split_cidrs(ssh_allowed_cidrs)
        _check_snapshot_time(auto_snapshot_time)
        _check_removal_policy(removal_policy)
        _check_alarm_contact(alarm_email, use_existing_email_contact, region)
        self.availability_zone: str = _availability_zone(
            region, availability_zone_letter, availability_zone
        )
        if Token.is_unresolved(region):
            self._check_region_at_deploy(availability_zone)
        user_data = _read_user_data(user_data_path) if user_data_path is not None else None
        self.instance_names: list[str] = _instance_names(name, instance_count)
        # Lightsail database names allow letters, digits and dashes only.
        database_name = f"{name.replace('_', '-')}-db"
        _check_derived_names(
            name,
            [f"{n}{suffix}" for n in self.instance_names for suffix in ("-ip", "-status-check")]
            + ([f"{name}-lb-unhealthy-hosts"] if load_balancer else [])
            + ([database_name] if database else []),
        )
        if database:
            _check_choice("database_blueprint", database_blueprint, DATABASE_BLUEPRINTS)
            _check_choice("database_bundle", database_bundle, DATABASE_BUNDLES)
        if media_bucket:
            _check_choice("media_bucket_bundle", media_bucket_bundle, BUCKET_BUNDLES)
        bucket_name = (
            _media_bucket_name(name, media_bucket_name, self.node.addr) if media_bucket else None
        )

        # Built in this order (instances first: everything else names them), which is also the
        # order of the template's resources.
        self.ssh_user: str = BLUEPRINTS[blueprint]
        self.instances, self.static_ips = self._instances(
            blueprint=blueprint,
            bundle=bundle,
            key_pair_name=key_pair_name,
            user_data=user_data,
            add_ons=_auto_snapshot(auto_snapshot_time),
            ports=_firewall(ipv6, ssh_ipv4, ssh_ipv6, allow_browser_ssh),
            removal_policy=removal_policy,
            overrides=instance_props,
        )
        self.instance: lightsail.CfnInstance = self.instances[0]
        self.static_ip: lightsail.CfnStaticIp = self.static_ips[0]
        self.instance_name: str = self.instance.ref
        self.ip_address: str = self.static_ip.attr_ip_address

        self.contact_method: lightsail.CfnContactMethod | None = self._contact_method(alarm_email)
        notify = bool(alarm_email) or use_existing_email_contact
        self.alarms: list[lightsail.CfnAlarm] = self._instance_alarms(cpu_alarm_threshold, notify)
        self.load_balancer: lightsail.CfnLoadBalancer | None = None
        if load_balancer:
            self.load_balancer = self._load_balancer(
                name, health_check_path, ipv6, load_balancer_props
            )
            self.alarms.append(self._unhealthy_hosts_alarm(name, self.load_balancer, notify))
        self.database: lightsail.CfnDatabase | None = None
        if database:
            self.database = self._database(
                database_name, database_blueprint, database_bundle, removal_policy, database_props
            )
        self.bucket: lightsail.CfnBucket | None = None
        if bucket_name is not None:
            self.bucket = self._bucket(
                bucket_name, media_bucket_bundle, removal_policy, bucket_props
            )
        self.connect_command: str = self._connect_command(
            key_pair_name, ssh_open=bool(ssh_ipv4 or ssh_ipv6), browser_ssh=allow_browser_ssh
        )

    def _check_region_at_deploy(self, zone: str | None) -> None:
        """An environment-agnostic stack learns its region only at deploy time, so the checks
        _availability_zone makes at synth are made there by CloudFormation, before it creates
        anything, with messages that say what to change."""
        regions = sorted(LIGHTSAIL_REGIONS)
        assertions = [
            CfnRuleAssertion(
                assert_=Fn.condition_contains(regions, Aws.REGION),
                assert_description=(
                    "Lightsail is not available in this region; deploy to one of "
                    + ", ".join(regions)
                ),
            )
        ]
        if zone is not None:
            region = zone[:-1]  # _availability_zone has checked it is <region><letter>
            assertions.append(
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(Aws.REGION, region),
                    assert_description=(
                        f"availability_zone={zone!r} is outside the stack's region; deploy "
                        f"to {region} or pass availability_zone_letter instead"
                    ),
                )
            )
        CfnRule(self, "RegionCheck", assertions=assertions)

    # -- steps --------------------------------------------------------------------------------

    def _instances(
        self,
        *,
        blueprint: str,
        bundle: str,
        key_pair_name: str | None,
        user_data: str | None,
        add_ons: list[lightsail.CfnInstance.AddOnProperty] | None,
        ports: list[lightsail.CfnInstance.PortProperty],
        removal_policy: RemovalPolicy,
        overrides: Mapping[str, Any] | None,
    ) -> tuple[list[lightsail.CfnInstance], list[lightsail.CfnStaticIp]]:
        """The servers, each with its own static IP: the address DNS points at must survive
        a stop and start (a Lightsail instance's public IP does not), and it goes only when the
        instance goes. A single instance keeps the plain ids ``Instance``/``StaticIp``."""
        instances: list[lightsail.CfnInstance] = []
        static_ips: list[lightsail.CfnStaticIp] = []
        for index, instance_name in enumerate(self.instance_names, start=1):
            suffix = "" if len(self.instance_names) == 1 else str(index)
            instance = lightsail.CfnInstance(
                self,
                f"Instance{suffix}",
                **consolidate_props(
                    self,
                    "instance_props",
                    {
                        "instance_name": instance_name,
                        "blueprint_id": blueprint,
                        "bundle_id": bundle,
                        "availability_zone": self.availability_zone,
                        "key_pair_name": key_pair_name,
                        "user_data": user_data,
                        "add_ons": add_ons,
                        "networking": lightsail.CfnInstance.NetworkingProperty(ports=ports),
                    },
                    overrides,
                    owned={
                        "instance_name": "the static IP, alarms and outputs name the instance",
                        "availability_zone": "set by availability_zone(_letter)",
                        "blueprint_id": "set by the construct's blueprint argument",
                        "bundle_id": "set by the construct's bundle argument",
                    },
                ),
            )
            instance.apply_removal_policy(removal_policy)
            static_ip = lightsail.CfnStaticIp(
                self,
                f"StaticIp{suffix}",
                static_ip_name=f"{instance_name}-ip",
                # Ref of an instance is its name: this also orders the attachment after it.
                attached_to=instance.ref,
            )
            # The address is what DNS points at: keep it as long as the instance.
            static_ip.apply_removal_policy(removal_policy)
            instances.append(instance)
            static_ips.append(static_ip)
        return instances, static_ips

    def _contact_method(self, alarm_email: str | None) -> lightsail.CfnContactMethod | None:
        """Lightsail alarms notify a contact method, not an SNS topic, and a region holds one
        e-mail contact: create it only when given an address (otherwise the alarms notify the
        region's existing one, or nobody)."""
        if not alarm_email:
            return None
        return lightsail.CfnContactMethod(
            self, "EmailContact", protocol="Email", contact_endpoint=alarm_email
        )

    def _instance_alarms(self, cpu_threshold: float, notify: bool) -> list[lightsail.CfnAlarm]:
        """Per instance: sustained high CPU (15 minutes: a burstable bundle out of credits
        slows to a crawl) and failed status checks (10 minutes: the host or the OS is down)."""
        alarms: list[lightsail.CfnAlarm] = []
        for instance, instance_name in zip(self.instances, self.instance_names, strict=True):
            suffix = instance.node.id.removeprefix("Instance")
            alarms.append(
                self._alarm(
                    f"CpuAlarm{suffix}",
                    name=f"{instance_name}-cpu",
                    resource=instance.ref,
                    metric="CPUUtilization",
                    threshold=cpu_threshold,
                    periods=3,
                    notify=notify,
                )
            )
            alarms.append(
                self._alarm(
                    f"StatusCheckAlarm{suffix}",
                    name=f"{instance_name}-status-check",
                    resource=instance.ref,
                    metric="StatusCheckFailed",
                    threshold=1,
                    periods=2,
                    notify=notify,
                )
            )
        return alarms

    def _load_balancer(
        self,
        name: str,
        health_check_path: str,
        ipv6: bool,
        overrides: Mapping[str, Any] | None,
    ) -> lightsail.CfnLoadBalancer:
        """One address in front of every instance (HTTP to port 80), which health-checks them
        and stops sending visitors to one that fails; needed for more than one instance."""
        return lightsail.CfnLoadBalancer(
            self,
            "LoadBalancer",
            **consolidate_props(
                self,
                "load_balancer_props",
                {
                    "load_balancer_name": f"{name}-lb",
                    "instance_port": 80,
                    "attached_instances": [i.ref for i in self.instances],
                    "health_check_path": health_check_path,
                    "ip_address_type": "dualstack" if ipv6 else "ipv4",
                },
                overrides,
                owned={
                    "load_balancer_name": "the unhealthy-hosts alarm names the load balancer",
                    "attached_instances": "the construct attaches the instances it creates",
                },
            ),
        )

    def _unhealthy_hosts_alarm(
        self, name: str, load_balancer: lightsail.CfnLoadBalancer, notify: bool
    ) -> lightsail.CfnAlarm:
        """An instance failing the load balancer's health check for 10 minutes: the site still
        answers, from fewer instances, so nothing else would say so."""
        return self._alarm(
            "UnhealthyHostsAlarm",
            name=f"{name}-lb-unhealthy-hosts",
            resource=load_balancer.ref,
            metric="UnhealthyHostCount",
            threshold=1,
            periods=2,
            notify=notify,
        )

    def _database(
        self,
        database_name: str,
        blueprint: str,
        bundle: str,
        removal_policy: RemovalPolicy,
        overrides: Mapping[str, Any] | None,
    ) -> lightsail.CfnDatabase:
        """A managed database beside the instances (in their zone), so that the site's data
        outlives any one server and gets backups without a cron job; private to the account,
        with a password that never appears in the template."""
        database = lightsail.CfnDatabase(
            self,
            "Database",
            **consolidate_props(
                self,
                "database_props",
                {
                    "relational_database_name": database_name,
                    "relational_database_blueprint_id": blueprint,
                    "relational_database_bundle_id": bundle,
                    "availability_zone": self.availability_zone,
                    "master_database_name": "site",
                    "master_username": "dbmasteruser",
                    # No master_user_password: Lightsail generates one and keeps it out of
                    # the template; read it with get-relational-database-master-user-password.
                    "publicly_accessible": False,
                    "backup_retention": True,
                    "preferred_backup_window": "04:00-04:30",
                    "preferred_maintenance_window": "sun:05:00-sun:05:30",
                },
                overrides,
                owned={
                    "relational_database_name": "derived from the instance name, checked at synth"
                },
                secure=_SECURE_DATABASE,
            ),
        )
        database.apply_removal_policy(removal_policy)
        return database

    def _bucket(
        self,
        bucket_name: str,
        bundle: str,
        removal_policy: RemovalPolicy,
        overrides: Mapping[str, Any] | None,
    ) -> lightsail.CfnBucket:
        """Object storage for uploads, so that media is shared by every instance and survives
        replacing one: private and versioned, readable and writable by the site's instances
        only."""
        bucket = lightsail.CfnBucket(
            self,
            "MediaBucket",
            **consolidate_props(
                self,
                "bucket_props",
                {
                    "bucket_name": bucket_name,
                    "bundle_id": bundle,
                    "object_versioning": True,
                    "access_rules": lightsail.CfnBucket.AccessRulesProperty(
                        object_access="private", allow_public_overrides=False
                    ),
                    "resources_receiving_access": [i.ref for i in self.instances],
                },
                overrides,
                owned={"bucket_name": "set by the construct's media_bucket_name argument"},
                secure=_SECURE_BUCKET,
            ),
        )
        bucket.apply_removal_policy(removal_policy)
        return bucket

    def _connect_command(
        self, key_pair_name: str | None, *, ssh_open: bool, browser_ssh: bool
    ) -> str:
        """How to get a shell, for the stack's output: the firewall decides which way works,
        so the command follows it rather than printing an ssh line that would time out."""
        key = f" -i <{key_pair_name}.pem>" if key_pair_name else " -i <region default key .pem>"
        ssh = f"ssh{key} {self.ssh_user}@{self.ip_address}"
        if ssh_open:
            return ssh
        if browser_ssh:
            return (
                f"Lightsail console > instance {self.instance_name} > Connect using SSH "
                "(browser client; SSH is closed to every other address)"
            )
        # Opening the port by hand lasts until the next deploy, which restores this firewall.
        return (
            "SSH is closed. Open it for your address: aws lightsail open-instance-public-ports "
            f"--instance-name {self.instance_name} --port-info "
            f"fromPort=22,toPort=22,protocol=tcp,cidrs=<your-ip>/32 ; then {ssh}"
        )

    def _alarm(
        self,
        id: str,
        *,
        name: str,
        resource: str,
        metric: str,
        threshold: float,
        periods: int,
        notify: bool,
    ) -> lightsail.CfnAlarm:
        """One Lightsail alarm (CloudWatch alarms cannot watch Lightsail metrics), e-mailing
        the region's contact method when ``notify``. Lightsail evaluates instance and load
        balancer metrics in 5-minute periods."""
        alarm = lightsail.CfnAlarm(
            self,
            id,
            alarm_name=name,
            monitored_resource_name=resource,
            metric_name=metric,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data="notBreaching",
            notification_enabled=notify,
            contact_protocols=["Email"] if notify else None,
            notification_triggers=["ALARM", "OK"] if notify else None,
        )
        if self.contact_method is not None:
            # An alarm naming the Email protocol fails to create until the contact exists.
            alarm.add_resource_dependency(self.contact_method, "alarms need the contact")
        return alarm


# -- validation ---------------------------------------------------------------------------------


def _check_choice(prop: str, value: str, allowed: Sequence[str] | Mapping[str, Any]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{prop}={value!r} is not a known Lightsail value; use one of {list(allowed)}"
        )


def _check_bundle(bundle: str) -> None:
    if "_ipv6_" in bundle:
        raise ConfigError(
            f"bundle={bundle!r} is IPv6-only: it has no public IPv4 address, so no static IP "
            f"can attach; use one of {list(BUNDLES)} (dual-stack)"
        )
    _check_choice("bundle", bundle, BUNDLES)


def _check_instance_name(name: str) -> None:
    if not _INSTANCE_NAME.match(name):
        raise ConfigError(
            f"instance_name={name!r}: Lightsail names are 2-254 characters, letters, digits, "
            "dashes and underscores, starting and ending with a letter or digit (periods, "
            "though Lightsail allows them, cannot appear in the alarm and static IP names "
            "derived from it)"
        )


def _check_derived_names(name: str, derived: Sequence[str]) -> None:
    """Static IP, alarm, load balancer and database names are the instance name plus a
    suffix; each must still fit Lightsail's 255-character limit."""
    for derived_name in derived:
        if len(derived_name) > _RESOURCE_NAME_MAX:
            raise ConfigError(
                f"instance_name={name!r} is too long: the name {derived_name!r} derived from it "
                f"has {len(derived_name)} characters, over Lightsail's {_RESOURCE_NAME_MAX}"
            )


def _check_snapshot_time(time: str | None) -> None:
    if time is not None and not _SNAPSHOT_TIME.match(time):
        raise ConfigError(
            f"auto_snapshot_time={time!r}: expected a whole hour in UTC, HH:00 (00:00 to 23:00)"
        )


def _check_removal_policy(removal_policy: RemovalPolicy) -> None:
    if removal_policy == RemovalPolicy.SNAPSHOT:
        raise ConfigError("removal_policy=SNAPSHOT: Lightsail resources support RETAIN or DESTROY")


def _check_alarm_contact(email: str | None, use_existing: bool, region: str) -> None:
    if email is None:
        return
    if not _EMAIL.match(email):
        raise ConfigError(f"alarm_email={email!r}: expected an e-mail address like ops@example.com")
    if use_existing:
        raise ConfigError(
            f"alarm_email={email!r} with use_existing_email_contact=True: pass one or the "
            "other (a region holds one e-mail contact method)"
        )
    if not Token.is_unresolved(region) and region not in CONTACT_METHOD_REGIONS:
        raise UnavailableHere(
            f"alarm_email={email!r}: CloudFormation creates Lightsail e-mail contacts only in "
            f"{', '.join(sorted(CONTACT_METHOD_REGIONS))}, not {region}; create it once with "
            f"'aws lightsail create-contact-method --protocol Email --contact-endpoint {email} "
            f"--region {region}' and pass use_existing_email_contact=true instead"
        )


def _check_instance_count(count: int, load_balancer: bool) -> None:
    if count < 1:
        raise ConfigError(f"instance_count={count}: expected 1 or more")
    if count > 1 and not load_balancer:
        raise ConfigError(
            f"instance_count={count}: more than one instance needs load_balancer=True, "
            "or visitors would reach only the instance their DNS record names"
        )


def _split_cidrs(cidrs: Sequence[str]) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 CIDRs apart (Lightsail keeps them in two lists), each checked."""
    if isinstance(cidrs, str):
        raise ConfigError(f"ssh_allowed_cidrs={cidrs!r}: expected a list of CIDRs, not a string")
    ipv4: list[str] = []
    ipv6: list[str] = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as err:
            raise ConfigError(f"ssh_allowed_cidrs: {cidr!r} is not a valid CIDR ({err})") from None
        if network.prefixlen == 0:
            raise ConfigError(
                f"ssh_allowed_cidrs: {cidr!r} opens SSH to the whole internet; "
                "list the addresses that need it"
            )
        (ipv4 if network.version == 4 else ipv6).append(str(network))
    return ipv4, ipv6


def _availability_zone(region: str, letter: str, zone: str | None) -> str:
    region_known = not Token.is_unresolved(region)
    if region_known and region not in LIGHTSAIL_REGIONS:
        raise UnavailableHere(
            f"region {region!r}: Lightsail is not available there; use one of "
            f"{sorted(LIGHTSAIL_REGIONS)}"
        )
    if zone is not None:
        match = _AZ.match(zone)
        if match is None:
            raise ConfigError(f"availability_zone={zone!r}: expected a zone name like eu-west-2a")
        if region_known and match.group(1) != region:
            raise ConfigError(
                f"availability_zone={zone!r} is outside the stack's region {region!r}"
            )
        return zone
    if not re.fullmatch(r"[a-f]", letter):
        raise ConfigError(f"availability_zone_letter={letter!r}: expected one letter, a to f")
    # An environment-agnostic stack learns its region at deploy time.
    return f"{region}{letter}" if region_known else Fn.join("", [Aws.REGION, letter])


def _media_bucket_name(name: str, given: str | None, addr: str) -> str:
    """The given name, or one derived from the instance name: bucket names are unique across
    all accounts, so a suffix stable for this construct (its address) keeps "blog-media" from
    colliding with everyone else's blog."""
    bucket_name = given or f"{name.lower().replace('_', '-')[:38]}-media-{addr[-8:]}"
    if not _BUCKET_NAME.match(bucket_name):
        raise ConfigError(
            f"media_bucket_name={bucket_name!r}: Lightsail bucket names are 3-54 lowercase "
            "letters, digits and dashes, starting and ending with a letter or digit"
        )
    return bucket_name


# -- pieces -------------------------------------------------------------------------------------


def _instance_names(name: str, count: int) -> list[str]:
    return [name] if count == 1 else [f"{name}-{i}" for i in range(1, count + 1)]


def _read_user_data(path: str | Path) -> str:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"user_data_path={str(path)!r}: no such file")
    data = file.read_text(encoding="utf-8")
    if len(data.encode()) > _USER_DATA_MAX_BYTES:
        raise ConfigError(f"user_data_path={str(path)!r}: larger than Lightsail's 16 KB limit")
    if not data.startswith("#!"):
        raise ConfigError(f"user_data_path={str(path)!r}: a launch script must start with #!")
    return data


def _auto_snapshot(time: str | None) -> list[lightsail.CfnInstance.AddOnProperty] | None:
    """The automatic snapshot add-on: a daily image of the disk, the only backup a Lightsail
    instance has unless the site makes its own."""
    if not time:
        return None
    return [
        lightsail.CfnInstance.AddOnProperty(
            add_on_type="AutoSnapshot",
            status="Enabled",
            auto_snapshot_add_on_request=lightsail.CfnInstance.AutoSnapshotAddOnProperty(
                snapshot_time_of_day=time
            ),
        )
    ]


def _firewall(
    ipv6: bool, ssh_ipv4: list[str], ssh_ipv6: list[str], browser_ssh: bool
) -> list[lightsail.CfnInstance.PortProperty]:
    """The instance's whole public firewall: CloudFormation replaces Lightsail's default rules
    (which open SSH to everyone) with exactly these."""
    ports = [
        lightsail.CfnInstance.PortProperty(
            protocol="tcp",
            from_port=port,
            to_port=port,
            cidrs=["0.0.0.0/0"],
            ipv6_cidrs=["::/0"] if ipv6 else [],
        )
        for port in _WEB_PORTS
    ]
    if ssh_ipv4 or ssh_ipv6 or browser_ssh:
        ports.append(
            lightsail.CfnInstance.PortProperty(
                protocol="tcp",
                from_port=22,
                to_port=22,
                cidrs=ssh_ipv4,
                ipv6_cidrs=ssh_ipv6,
                cidr_list_aliases=["lightsail-connect"] if browser_ssh else None,
            )
        )
    return ports


class LightsailSiteStack(Stack):
    """Deploys one ``LightsailSite`` with the first-boot script. Context keys
    (``LightsailSite:<key>`` or ``<key>``): ``instance_name``, ``blueprint``, ``bundle``,
    ``availability_zone_letter``, ``availability_zone``, ``instance_count``, ``key_pair_name``,
    ``ssh_allowed_cidrs`` (comma-separated), ``allow_browser_ssh``, ``auto_snapshot_time``
    (HH:00 UTC, ``off`` to disable), ``user_data`` (a path, ``none`` for no script),
    ``alarm_email``, ``use_existing_email_contact``, ``database``, ``load_balancer``,
    ``media_bucket``, ``removal_policy``."""

    CONTEXT_KEYS = (
        "instance_name",
        "blueprint",
        "bundle",
        "availability_zone_letter",
        "availability_zone",
        "instance_count",
        "key_pair_name",
        "ssh_allowed_cidrs",
        "allow_browser_ssh",
        "auto_snapshot_time",
        "user_data",
        "alarm_email",
        "use_existing_email_contact",
        "database",
        "load_balancer",
        "media_bucket",
        "removal_policy",
    )

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        # The construct checks each value (the messages name these keys, which are its props).
        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        snapshot_time = config.get_str("auto_snapshot_time", "06:00")
        user_data = config.get_str("user_data", str(DEFAULT_FIRST_BOOT_SCRIPT))
        site = LightsailSite(
            self,
            "Site",
            instance_name=config.get_optional_str("instance_name"),
            blueprint=config.get_str("blueprint", "wordpress"),
            bundle=config.get_str("bundle", "micro_3_0"),
            availability_zone_letter=config.get_str("availability_zone_letter", "a"),
            availability_zone=config.get_optional_str("availability_zone"),
            instance_count=config.get_int("instance_count", 1, minimum=1),
            key_pair_name=config.get_matching(
                "key_pair_name", r"[\w][\w.-]{0,254}", "a Lightsail key pair name"
            ),
            ssh_allowed_cidrs=config.get_list("ssh_allowed_cidrs", []),
            allow_browser_ssh=config.get_bool("allow_browser_ssh", False),
            auto_snapshot_time=None if snapshot_time.lower() == "off" else snapshot_time,
            user_data_path=None if user_data.lower() == "none" else user_data,
            alarm_email=config.get_email(),
            use_existing_email_contact=config.get_bool("use_existing_email_contact", False),
            database=config.get_bool("database", False),
            load_balancer=config.get_bool("load_balancer", False),
            media_bucket=config.get_bool("media_bucket", False),
            removal_policy=config.removal_policy(),
        )
        CfnOutput(self, "StaticIp", value=site.ip_address, description="Point DNS here")
        CfnOutput(self, "InstanceName", value=site.instance_name)
        CfnOutput(self, "Connect", value=site.connect_command, description="How to connect")
        if site.load_balancer is not None:
            CfnOutput(
                self,
                "LoadBalancerDns",
                value=f"aws lightsail get-load-balancer --load-balancer-name "
                f"{site.load_balancer.ref} --query loadBalancer.dnsName",
                description="Point DNS (CNAME) at the load balancer's name this prints",
            )
        if site.database is not None:
            CfnOutput(
                self,
                "DatabasePassword",
                value="aws lightsail get-relational-database-master-user-password "
                f"--relational-database-name {site.database.ref}",
                description="Prints the password Lightsail generated for dbmasteruser",
            )
        if site.bucket is not None:
            CfnOutput(self, "MediaBucketUrl", value=site.bucket.attr_url)
