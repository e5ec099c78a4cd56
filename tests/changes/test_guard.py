"""The guard itself: this run's synth against the committed baseline of the last release, and
every stateful resource of every stack retained by default."""

from __future__ import annotations

import copy
import json

from changes import acknowledged, report
from changes.classify import compare
from changes.cli import BASELINE
from changes.retain import retain_gaps
from changes.stateful import is_stateful, transient_key
from changes.templates import normalize, read_folder
from stacks.app import STACKS
from tests.support import SELECTED, Synth
from tests.support import normalize as snapshot_normalize


def _session(synth: Synth) -> dict[str, dict]:
    return {stack: synth.template_json(stack) for stack in SELECTED}


def test_no_stateful_resource_is_replaced_or_deleted_unacknowledged(synth: Synth) -> None:
    baseline = {k: v for k, v in read_folder(BASELINE).items() if k in SELECTED}
    diffs = compare(baseline, _session(synth))
    acknowledged.apply(diffs, [a for a in acknowledged.load() if a.stack in SELECTED])
    blocking = [report.line(c) for d in diffs for c in d.changes if c.blocking]
    assert not blocking, (
        "a change replaces or deletes a stateful resource of the last release:\n"
        + "\n".join(blocking)
        + "\nIf intended, record each in changes/acknowledged.json with its reason."
    )


def test_every_acknowledgement_names_a_change_of_this_synth(synth: Synth) -> None:
    baseline = {k: v for k, v in read_folder(BASELINE).items() if k in SELECTED}
    diffs = compare(baseline, _session(synth))
    stale = acknowledged.apply(diffs, [a for a in acknowledged.load() if a.stack in SELECTED])
    assert stale == [], "remove acknowledgements no change needs any more"


def test_every_released_stack_is_still_in_the_app() -> None:
    # Stack names are stable (CONVENTIONS): a stack added since the release is all adds, but
    # a released one renamed would be a second stack beside the deployed one.
    assert set(read_folder(BASELINE)) <= set(STACKS)


def test_baseline_is_normalized_as_the_snapshots_are(synth: Synth) -> None:
    stack = SELECTED[0]
    raw = synth.template_json(stack)
    assert normalize(raw) == snapshot_normalize(raw)
    assert normalize(raw) != raw  # there was an asset hash to replace
    for template in read_folder(BASELINE).values():
        assert normalize(template) == template


def test_every_stateful_resource_is_retained_by_default(synth: Synth) -> None:
    gaps = retain_gaps(_session(synth))
    assert gaps == [], "\n".join(gaps)


def test_retain_check_finds_a_table_that_would_be_deleted(synth: Synth) -> None:
    template = copy.deepcopy(synth.template_json("ServerlessApi"))
    template["Resources"]["ItemsTableE2D1F4C3"]["DeletionPolicy"] = "Delete"
    gaps = retain_gaps({"ServerlessApi": template})
    assert len(gaps) == 1
    assert gaps[0].startswith("ServerlessApi/ItemsTableE2D1F4C3 (AWS::DynamoDB::Table)")


def test_retain_check_accepts_snapshot_only_where_the_type_supports_it() -> None:
    template = {
        "Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot",
                   "UpdateReplacePolicy": "Snapshot"},
            "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Snapshot",
                      "UpdateReplacePolicy": "Snapshot"},
        }
    }  # fmt: skip
    assert [g.split(" ")[0] for g in retain_gaps({"S": template}, snapshot=True)] == ["S/Table"]
    assert len(retain_gaps({"S": template})) == 2


def test_alarm_topic_key_holds_no_data_but_a_key_encrypting_a_table_does(synth: Synth) -> None:
    template = copy.deepcopy(synth.template_json("ServerlessApi"))
    key = "ItemsAlarmTopicKeyFC563700"
    assert transient_key(template, key)
    assert not is_stateful(template, key)
    table = template["Resources"]["ItemsTableE2D1F4C3"]["Properties"]
    table["SSESpecification"] = {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::GetAtt": [key, "Arn"]},
    }
    assert is_stateful(template, key)
    assert json.dumps(retain_gaps({"ServerlessApi": template})).count(key) == 1
