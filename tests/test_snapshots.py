"""Each stack's whole template against its snapshot (asset hashes normalized).

After an intended change: `make snapshot-update`, then read the diff before committing it.
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import SELECTED, Synth, normalize


@pytest.mark.parametrize("stack", SELECTED)
def test_template_matches_snapshot(synth: Synth, stack: str, snapshot: SnapshotAssertion) -> None:
    assert normalize(synth.template_json(stack)) == snapshot(extension_class=JSONSnapshotExtension)


def test_normalize_replaces_asset_hashes_only() -> None:
    digest = "ab" * 32
    template = {"Code": {"S3Key": f"{digest}.zip"}, "Name": "items-" + "c" * 10}
    assert normalize(template) == {
        "Code": {"S3Key": "<asset-hash>.zip"},
        "Name": "items-cccccccccc",
    }
