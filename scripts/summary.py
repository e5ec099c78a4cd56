"""One screen per stack from a cloud assembly: resources by type, cdk-nag findings, template size.

Usage: python scripts/summary.py [cdk.out]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def nag_findings(outdir: Path) -> Counter[str]:
    """Unacknowledged findings per stack, from the validation report cdk-nag writes on failure."""
    report_path = outdir / "validation-report.json"
    findings: Counter[str] = Counter()
    if not report_path.exists():
        return findings
    for plugin in json.loads(report_path.read_text()).get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                findings[construct["constructPath"].split("/", 1)[0]] += 1
    return findings


def summarize(outdir: Path) -> str:
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        # `make synth` removes the manifest first: a synth that failed before writing a new
        # cloud assembly leaves none, and the templates beside it are from an earlier run.
        return f"no summary: the synth did not write {manifest_path} (see the error above)"
    manifest = json.loads(manifest_path.read_text())
    findings = nag_findings(outdir)
    lines: list[str] = []
    for name, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = outdir / artifact["properties"]["templateFile"]
        template = json.loads(template_file.read_text())
        resources = template.get("Resources", {})
        types = Counter(r["Type"] for r in resources.values())
        size = template_file.stat().st_size
        lines.append(
            f"== {name}: {len(resources)} resources, {findings[name]} cdk-nag findings, "
            f"template {size / 1024:.1f} KiB (CloudFormation's limit is 1 MiB via S3)"
        )
        for resource_type, count in sorted(types.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"   {count:3d}  {resource_type}")
        outputs = sorted(template.get("Outputs", {}))
        if outputs:
            lines.append(f"   outputs: {', '.join(outputs)}")
    total = sum(findings.values())
    lines.append(
        "cdk-nag (AwsSolutions): no unacknowledged findings"
        if total == 0
        else f"cdk-nag (AwsSolutions): {total} unacknowledged findings, see "
        f"{outdir / 'validation-report.json'}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
