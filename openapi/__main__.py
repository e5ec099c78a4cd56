"""``python -m openapi [--cdk-out cdk.out] [--out docs/openapi]``: write the API documents."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.template import ROOT, Template, TemplateError

from . import chat, items, web

OUT = ROOT / "docs" / "openapi"


def documents(cdk_out: Path, *, synth: bool = True) -> dict[str, dict[str, Any]]:
    """File name -> document, from the templates in ``cdk_out``."""
    return {
        "items.json": items.build(Template.load(cdk_out, items.STACK, synth=synth)),
        "web.json": web.build(),
        "chat.asyncapi.json": chat.build(Template.load(cdk_out, chat.STACK, synth=synth)),
    }


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(prog="python -m openapi", description=__doc__)
    args.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    args.add_argument("--out", type=Path, default=OUT)
    options = args.parse_args(argv)
    try:
        written = documents(options.cdk_out)
    except TemplateError as err:
        print(f"python -m openapi: {err}", file=sys.stderr)
        return 2
    options.out.mkdir(parents=True, exist_ok=True)
    for name, document in written.items():
        (options.out / name).write_text(dump(document))
        print(f"wrote {options.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
