"""Synthesized templates: from an existing cloud assembly, or by synthesizing the app here.

Synthesis runs in-process with ``stacks.app.build_app`` (as the tests do): no AWS credentials,
no Docker. A cdk-nag failure still writes the templates, so it does not stop the estimate.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .prices import CostError


def from_assembly(outdir: Path, stacks: list[str] | None = None) -> dict[str, dict[str, Any]]:
    manifest_file = outdir / "manifest.json"
    if not manifest_file.exists():
        raise CostError(f"cdk-out={str(outdir)!r} has no manifest.json; run `make synth` first")
    manifest = json.loads(manifest_file.read_text())
    found: dict[str, dict[str, Any]] = {}
    for name, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        if stacks and name not in stacks:
            continue
        found[name] = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
    missing = sorted(set(stacks or []) - set(found))
    if missing:
        raise CostError(f"stack={','.join(missing)!r} is not in {outdir}; expected {sorted(found)}")
    return found


def synthesize(stacks: list[str] | None = None) -> dict[str, dict[str, Any]]:
    from stacks.app import STACKS, build_app  # the CDK app is only needed when synthesizing

    unknown = sorted(set(stacks or []) - set(STACKS))
    if unknown:
        raise CostError(f"stack={','.join(unknown)!r} is unknown; expected one of {sorted(STACKS)}")
    with tempfile.TemporaryDirectory(prefix="cost-cdk.out-") as tmp:
        context = {"stacks": ",".join(stacks)} if stacks else {}
        app = build_app(outdir=tmp, context=context)
        try:
            app.synth()
        except RuntimeError as err:
            if "ValidationFailed" not in str(err):
                raise
        return from_assembly(Path(tmp), stacks)
