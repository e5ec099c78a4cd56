"""Planted changes on the real synthesized templates (and on a one-table app, for what a
construct id does): each gets the verdict CloudFormation would give it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb

from changes import report
from changes.classify import Change, Verdict, classify, compare, diff_paths
from tests.support import Synth

TABLE = "ItemsTableE2D1F4C3"
POOL = "ItemsUserPool7399E87D"


def planted(synth: Synth, stack: str, plant: Callable[[dict[str, Any]], None]) -> list[Change]:
    """The changes from ``stack``'s template to a copy that ``plant`` mutated."""
    before = synth.template_json(stack)
    after = copy.deepcopy(before)
    plant(after["Resources"])
    changes = compare({stack: before}, {stack: after})[0].changes
    for change in changes:  # shown with -s: the lines the closing note quotes
        print(report.line(change))
    return changes


def only(changes: list[Change]) -> Change:
    assert len(changes) == 1, changes
    return changes[0]


@pytest.fixture(scope="module")
def table_app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One table, as three versions of an app: as released, with its construct id renamed,
    and with a new partition key."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("table-app")), analytics_reporting=False)
    for stack, construct_id, key in (
        ("Released", "Items", "id"),
        ("RenamedId", "Records", "id"),
        ("NewKey", "Items", "pk"),
    ):
        dynamodb.Table(
            cdk.Stack(app, stack),
            construct_id,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
    assembly = app.synth()
    return {s.stack_name: dict(s.template) for s in assembly.stacks}


def test_renamed_table_construct_id_orphans_the_table_and_adds_an_empty_one(
    table_app: dict[str, dict[str, Any]],
) -> None:
    changes = classify("App", table_app["Released"], table_app["RenamedId"])
    by_verdict = {c.verdict: c for c in changes}
    assert set(by_verdict) == {Verdict.ORPHAN, Verdict.ADD}
    removed, added = by_verdict[Verdict.ORPHAN], by_verdict[Verdict.ADD]
    assert removed.logical_id.startswith("Items")
    assert removed.blocking
    assert added.logical_id.startswith("Records")
    assert not added.destructive
    assert f"as new {added.logical_id}" in " ".join(removed.notes)


def test_renamed_construct_id_without_retain_deletes_the_table(
    table_app: dict[str, dict[str, Any]],
) -> None:
    released = copy.deepcopy(table_app["Released"])
    for resource in released["Resources"].values():
        resource["DeletionPolicy"] = "Delete"
    removed = [
        c for c in classify("App", released, table_app["RenamedId"]) if c.verdict is not Verdict.ADD
    ]
    assert [(c.verdict, c.stateful) for c in removed] == [(Verdict.DELETE, True)]


def test_new_partition_key_in_the_construct_replaces_the_table(
    table_app: dict[str, dict[str, Any]],
) -> None:
    change = only(classify("App", table_app["Released"], table_app["NewKey"]))
    assert change.verdict is Verdict.REPLACE
    assert change.destructive
    assert change.paths[0] == "Properties.KeySchema"


def test_changed_table_partition_key_replaces_the_table(synth: Synth) -> None:
    def plant(resources: dict[str, Any]) -> None:
        props = resources[TABLE]["Properties"]
        props["KeySchema"][0]["AttributeName"] = "pk"
        props["AttributeDefinitions"][0]["AttributeName"] = "pk"

    change = only(planted(synth, "ServerlessApi", plant))
    assert (change.logical_id, change.verdict, change.stateful) == (TABLE, Verdict.REPLACE, True)
    assert change.paths == ("Properties.KeySchema", "Properties.AttributeDefinitions")
    assert change.blocking


def test_bucket_name_replaces_the_bucket(synth: Synth) -> None:
    bucket = "ThumbnailsSourceBucket712A0F9A"

    def plant(resources: dict[str, Any]) -> None:
        resources[bucket]["Properties"]["BucketName"] = "my-photos"

    change = only(planted(synth, "Thumbnails", plant))
    assert (change.logical_id, change.verdict, change.paths) == (
        bucket,
        Verdict.REPLACE,
        ("Properties.BucketName",),
    )
    assert change.blocking


@pytest.mark.parametrize(
    ("prop", "value"),
    [("UsernameAttributes", ["email", "phone_number"]), ("AliasAttributes", ["email"])],
)
def test_user_pool_sign_in_aliases_replace_the_pool(synth: Synth, prop: str, value: Any) -> None:
    def plant(resources: dict[str, Any]) -> None:
        props = resources[POOL]["Properties"]
        props.pop("UsernameAttributes")
        props[prop] = value

    change = only(planted(synth, "ServerlessApi", plant))
    assert (change.logical_id, change.verdict, change.stateful) == (POOL, Verdict.REPLACE, True)
    assert change.paths[0] in ("Properties.UsernameAttributes", "Properties.AliasAttributes")


def test_key_spec_replaces_a_key_that_encrypts_a_table(synth: Synth) -> None:
    key = "ItemsAlarmTopicKeyFC563700"

    def plant(resources: dict[str, Any]) -> None:
        resources[TABLE]["Properties"]["SSESpecification"] = {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Fn::GetAtt": [key, "Arn"]},
        }

    before = synth.template_json("ServerlessApi")
    encrypting = copy.deepcopy(before)
    plant(encrypting["Resources"])
    spec = copy.deepcopy(encrypting)
    spec["Resources"][key]["Properties"]["KeySpec"] = "RSA_2048"
    change = only(classify("ServerlessApi", encrypting, spec))
    print(report.line(change))
    assert (change.logical_id, change.verdict, change.paths) == (
        key,
        Verdict.REPLACE,
        ("Properties.KeySpec",),
    )
    assert change.blocking


def test_key_spec_of_the_alarm_topic_key_replaces_it_without_blocking(synth: Synth) -> None:
    key = "ItemsAlarmTopicKeyFC563700"

    def plant(resources: dict[str, Any]) -> None:
        resources[key]["Properties"]["KeySpec"] = "RSA_2048"

    change = only(planted(synth, "ServerlessApi", plant))
    assert (change.verdict, change.stateful, change.blocking) == (Verdict.REPLACE, False, False)


def test_removed_log_group_is_orphaned_and_a_removed_alarm_deleted(synth: Synth) -> None:
    logs, alarm = "ItemsFunctionLogs015C1122", "ItemsApi5xx7553F75B"

    def plant(resources: dict[str, Any]) -> None:
        del resources[logs], resources[alarm]

    changes = {c.logical_id: c for c in planted(synth, "ServerlessApi", plant)}
    assert (changes[logs].verdict, changes[logs].blocking) == (Verdict.ORPHAN, True)
    assert (changes[alarm].verdict, changes[alarm].blocking) == (Verdict.DELETE, False)


def test_a_tag_and_an_alarm_threshold_are_in_place_changes(synth: Synth) -> None:
    def plant(resources: dict[str, Any]) -> None:
        resources[TABLE]["Properties"]["Tags"] = [{"Key": "team", "Value": "orders"}]
        resources["ItemsApi5xx7553F75B"]["Properties"]["Threshold"] = 50

    changes = planted(synth, "ServerlessApi", plant)
    assert sorted((c.logical_id, c.verdict, c.paths) for c in changes) == [
        ("ItemsApi5xx7553F75B", Verdict.MODIFY, ("Properties.Threshold",)),
        (TABLE, Verdict.MODIFY, ("Properties.Tags",)),
    ]
    assert not any(c.destructive or c.widening for c in changes)


def test_new_handler_code_and_metadata_are_not_changes(synth: Synth) -> None:
    def plant(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            resource.setdefault("Metadata", {})["aws:cdk:path"] = "moved"
            code = resource.get("Properties", {}).get("Code", {})
            if isinstance(code.get("S3Key"), str):
                code["S3Key"] = "f" * 64 + ".zip"

    assert planted(synth, "ServerlessApi", plant) == []


def test_an_asset_hash_alone_still_counts_where_it_replaces_a_stateful_resource(
    synth: Synth,
) -> None:
    bucket = "ThumbnailsSourceBucket712A0F9A"
    before = copy.deepcopy(synth.template_json("Thumbnails"))
    before["Resources"][bucket]["Properties"]["BucketName"] = "a" * 64
    after = copy.deepcopy(before)
    after["Resources"][bucket]["Properties"]["BucketName"] = "b" * 64
    change = only(compare({"T": before}, {"T": after})[0].changes)
    assert (change.logical_id, change.verdict, change.notes[-1]) == (
        bucket,
        Verdict.REPLACE,
        "asset hash only",
    )


def test_a_new_grant_and_an_open_port_come_right_after_destructive_changes(synth: Synth) -> None:
    group = "WebLoadBalancerSecurityGroupAAB6BB02"
    policy = next(
        lid
        for lid, r in synth.template_json("ContainerService")["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy"
    )

    def plant(resources: dict[str, Any]) -> None:
        resources[group]["Properties"]["SecurityGroupIngress"].append(
            {"CidrIp": "0.0.0.0/0", "FromPort": 22, "ToPort": 22, "IpProtocol": "tcp"}
        )
        resources[policy]["Properties"]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        )
        resources["Repository71B74A19"]["Properties"]["RepositoryName"] = "web"
        resources[group]["Properties"].setdefault("Tags", []).append({"Key": "a", "Value": "b"})

    changes = report.ordered(planted(synth, "ContainerService", plant))
    assert [c.logical_id for c in changes][:1] == ["Repository71B74A19"]
    widened = {c.logical_id: c.widening for c in changes[1:3]}
    assert widened[group] == ("opens tcp:22 0.0.0.0/0",)
    assert widened[policy] == ("allows +1 (s3:*)",)


def test_an_added_condition_narrows_a_grant(synth: Synth) -> None:
    stack = synth.template_json("ContainerService")
    policy = next(lid for lid, r in stack["Resources"].items() if r["Type"] == "AWS::IAM::Policy")

    def plant(resources: dict[str, Any]) -> None:
        for statement in resources[policy]["Properties"]["PolicyDocument"]["Statement"]:
            statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}

    change = only(planted(synth, "ContainerService", plant))
    assert (change.verdict, change.widening) == (Verdict.MODIFY, ())


def test_paths_compare_intrinsics_as_json() -> None:
    old = {"A": {"Ref": "X"}, "B": [1, {"C": 2}], "D": {"Fn::Join": ["", ["a", "b"]]}}
    new = {"A": {"Ref": "Y"}, "B": [1, {"C": 3}], "D": {"Fn::Join": ["", ["a", "b"]]}}
    assert diff_paths(old, new) == [("A",), ("B", "1", "C")]


def test_report_leads_with_the_stateful_and_folds_the_quiet_rest(
    synth: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    def plant(resources: dict[str, Any]) -> None:
        for lid, resource in list(resources.items()):
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                resource["Properties"]["Threshold"] = 99
            if lid == TABLE:
                resource["Properties"]["KeySchema"][0]["AttributeName"] = "pk"

    before = synth.template_json("ServerlessApi")
    after = copy.deepcopy(before)
    plant(after["Resources"])
    diff = compare({"ServerlessApi": before}, {"ServerlessApi": after})[0]
    alarms = sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in before["Resources"].values())
    monkeypatch.setattr(report, "MAX_ROWS", 2)
    lines = report.table(diff).splitlines()
    assert lines[0] == (
        f"== ServerlessApi: 1 replace, {alarms} modify; "
        "1 stateful replaced/deleted, 1 not acknowledged"
    )
    assert lines[1].startswith("REPLACE  stateful ItemsTableE2D1F4C3")
    assert lines[2].startswith("MODIFY")
    assert lines[4] == f"... {alarms - 2} more in-place changes and adds (--all)"
    assert len(lines) == 5


def test_cli_exit_codes(tmp_path: Path, synth: Synth) -> None:
    from changes.cli import main

    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "ServerlessApi.template.json").write_text(
            (synth.outdir / "ServerlessApi.template.json").read_text()
        )
    assert main([str(old), str(new)]) == 0
    text = (new / "ServerlessApi.template.json").read_text()
    (new / "ServerlessApi.template.json").write_text(text.replace('"expires_at"', '"ttl"', 1))
    assert main([str(old), str(new)]) == 0  # TTL attribute: in place
    moved = text.replace(TABLE, "ItemsRecords0000AAAA")
    (new / "ServerlessApi.template.json").write_text(moved)
    assert main([str(old), str(new)]) == 1
    ack = tmp_path / "ack.json"
    entry = {
        "stack": "ServerlessApi",
        "logical_id": TABLE,
        "verdict": "orphan",
        "reason": "moved to the new Records table, exported first",
    }
    ack.write_text(json.dumps({"acknowledged": [entry]}))
    assert main([str(old), str(new), "--ack", str(ack)]) == 0
    assert main([str(old), str(tmp_path / "missing")]) == 2
