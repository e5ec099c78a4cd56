"""Helpers for tests: the synthesized app and snapshot normalization."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.app import selected_stacks

ROOT = Path(__file__).resolve().parent.parent

# STACKS=Name1,Name2 limits the session's synthesis (and the per-stack tests) to those stacks,
# for a quick loop while working on one pattern. CI always runs them all.
SELECTED = selected_stacks(os.environ.get("STACKS"))
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Synth:
    outdir: Path
    error: str | None

    def template_json(self, stack: str) -> dict[str, Any]:
        if stack not in SELECTED:
            pytest.skip(f"{stack} is not in STACKS={os.environ.get('STACKS')}")
        return dict(json.loads((self.outdir / f"{stack}.template.json").read_text()))

    def template(self, stack: str) -> Template:
        return Template.from_json(self.template_json(stack))

    def nag_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return dict(json.loads(path.read_text())) if path.exists() else {"pluginReports": []}


def normalize(template: dict[str, Any]) -> Any:
    """The template with asset hashes replaced, so snapshots don't change with the handler code
    or the machine; what the code looks like is the handler tests' business."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))
