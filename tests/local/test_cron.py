"""``python -m local cron``: the export it writes reads back into the items it seeded."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from local.cron import generate_items
from tests.support import Synth

ITEMS = 37


def test_export_reads_back_into_the_seeded_items(synth: Synth, run_mode, tmp_path: Path):
    template = synth.template_json("ScheduledJob")
    table = next(r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    out = tmp_path / "export"

    run_mode("ScheduledJob", "cron", "--items", str(ITEMS), "--out", str(out))

    (manifest_path,) = out.rglob("_manifest.json")
    manifest = json.loads(manifest_path.read_text())
    exported = []
    for part in sorted(manifest_path.parent.glob("part-*.jsonl.gz")):
        exported += [json.loads(line) for line in gzip.decompress(part.read_bytes()).splitlines()]
    keys = [k["AttributeName"] for k in table["Properties"]["KeySchema"]]
    seeded = generate_items(table["Properties"]["KeySchema"], ITEMS)
    assert len(exported) == ITEMS
    assert sorted(exported, key=lambda i: [i[k] for k in keys]) == sorted(
        seeded, key=lambda i: [i[k] for k in keys]
    )
    assert json.dumps(manifest).count(str(ITEMS)) >= 1  # the manifest counts the same records
