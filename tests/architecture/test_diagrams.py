"""Every stack's diagram in docs/diagrams/ is current: the graph it was drawn from (recorded beside
the PNG as <Stack>.json) is the graph of the session's template. No Graphviz needed."""

from __future__ import annotations

import json

import pytest

from architecture import graph
from architecture.__main__ import STACKS, record
from local.template import Template
from stacks.app import STACKS as APP_STACKS
from tests.support import ROOT, Synth

DIAGRAMS = ROOT / "docs" / "diagrams"


def _graph(synth: Synth, stack: str) -> graph.Graph:
    synth.template_json(stack)  # skips when STACKS leaves the stack out
    return graph.build(Template.load(synth.outdir, stack, synth=False))


def test_every_stack_of_the_app_has_a_diagram() -> None:
    assert set(STACKS) == set(APP_STACKS) == {p.stem for p in DIAGRAMS.glob("*.png")}
    for stack in STACKS:
        assert (DIAGRAMS / f"{stack}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_is_drawn_from_the_current_template(synth: Synth, stack: str) -> None:
    recorded = (DIAGRAMS / f"{stack}.json").read_text()
    assert recorded == record(_graph(synth, stack)), (
        f"docs/diagrams/{stack}.png is older than its template: run make diagrams"
    )


def _edges(stack_graph: graph.Graph) -> dict[tuple[str, str], str]:
    names = {n.id: n.label for n in stack_graph.nodes.values()}
    return {(names[e["from"]], names[e["to"]]): e["label"] for e in stack_graph.to_json()["edges"]}


def test_the_items_api_reads_as_api_to_function_to_table(synth: Synth) -> None:
    edges = _edges(_graph(synth, "ServerlessApi"))
    assert edges[("Items Api", "Items Function")] == "invokes"
    assert edges[("Items Api", "Items User Pool")] == "authorizer"
    assert edges[("Items Function", "Items Table")] == "dynamodb"  # its IAM policy
    assert ("Items Table", "Items Function") not in edges


def test_an_upload_notification_is_an_edge_and_its_helper_is_left_out(synth: Synth) -> None:
    stack_graph = _graph(synth, "Thumbnails")
    functions = [n.label for n in stack_graph.nodes.values() if n.type == "AWS::Lambda::Function"]
    assert functions == ["Thumbnails Function"]  # not CDK's BucketNotificationsHandler
    edges = _edges(stack_graph)
    assert "invokes" in edges[("Thumbnails Source Bucket", "Thumbnails Function")]
    assert edges[("Thumbnails Function", "Thumbnails Destination Bucket")] == "s3"


def test_many_small_resources_of_a_kind_are_one_node_with_a_count(synth: Synth) -> None:
    template = synth.template_json("WebSocketApi")
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    (node,) = [
        n for n in _graph(synth, "WebSocketApi").nodes.values() if n.kind == "CloudWatch alarms"
    ]
    assert node.count == len(alarms) > 1


def test_references_cover_ref_getatt_and_sub() -> None:
    value = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Function", "Arn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"},
        "D": {"Fn::Sub": ["${Queue.Arn}", {"X": {"Ref": "Topic"}}]},
    }
    # ${AWS::Partition} names a pseudo parameter, no resource.
    assert sorted(graph.references(value)) == [
        "Bucket",
        "Function",
        "Queue",
        "Table",
        "Topic",
    ]


def test_labels_drop_the_hash_cdk_adds() -> None:
    assert graph.label("ItemsFunction702CF20A") == "Items Function"
    assert graph.label("Repository") == "Repository"


def test_the_recorded_graph_is_plain_sorted_json() -> None:
    data = json.loads((DIAGRAMS / "ServerlessApi.json").read_text())
    assert data["stack"] == "ServerlessApi"
    assert data["nodes"] == sorted(data["nodes"], key=lambda n: n["id"])
