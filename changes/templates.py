"""Read a folder of synthesized templates: a cdk.out (Stage assemblies included) or a baseline.

Templates are compared per stack by file name: ``ServerlessApi.template.json`` in one folder
against the same name in the other (``assembly-Prod/Prod-Api.template.json`` for a stack in a
CDK Stage). Asset hashes are normalized as the snapshot tests normalize them
(``tests.support.normalize``), so a changed handler is not a changed resource.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SUFFIX = ".template.json"
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# What CDK adds that CloudFormation never acts on: the version-reporting resource.
IGNORED_TYPES = frozenset({"AWS::CDK::Metadata"})

Template = dict[str, Any]


class TemplateError(Exception):
    """A folder or template cannot be read; the message names it."""


def normalize(template: Any) -> Any:
    """``template`` with asset hashes replaced by ``<asset-hash>`` (the snapshots' form)."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


def read_folder(folder: Path) -> dict[str, Template]:
    """Stack name (the template's path under ``folder`` without the suffix) -> template."""
    if not folder.is_dir():
        raise TemplateError(f"{folder} is not a folder of templates (a cdk.out or a baseline)")
    found: dict[str, Template] = {}
    for path in sorted(folder.rglob(f"*{SUFFIX}")):
        name = str(path.relative_to(folder))[: -len(SUFFIX)]
        try:
            found[name] = dict(json.loads(path.read_text()))
        except (OSError, ValueError) as err:
            raise TemplateError(f"{path}: not a JSON template ({err})") from err
    return found


def resources(template: Template) -> dict[str, dict[str, Any]]:
    """The template's resources, without those CloudFormation never acts on."""
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") not in IGNORED_TYPES
    }


def write_folder(folder: Path, templates: dict[str, Template]) -> list[Path]:
    """Write ``templates`` normalized, sorted and indented (a readable diff in review)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.rglob(f"*{SUFFIX}"):
        old.unlink()
    written = []
    for name, template in sorted(templates.items()):
        path = folder / f"{name}{SUFFIX}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(normalize(template), indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written
