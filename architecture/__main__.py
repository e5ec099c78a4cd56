"""``python -m architecture [--cdk-out cdk.out] [--out docs/diagrams] [--stack NAME]``: one PNG per
stack, drawn from its synthesized template, and beside it the graph it drew
(``<Stack>.json``), which the tests compare with the current template's (no Graphviz needed)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from local.template import ROOT, Template, TemplateError
from stacks.app import STACKS as APP_STACKS

from . import graph

OUT = ROOT / "docs" / "diagrams"
STACKS = tuple(APP_STACKS)  # every stack of the app, in its order


def record(stack_graph: graph.Graph) -> str:
    return json.dumps(stack_graph.to_json(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(prog="python -m architecture", description=__doc__)
    args.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    args.add_argument("--out", type=Path, default=OUT)
    args.add_argument("--stack", action="append", choices=STACKS, help="default: every stack")
    options = args.parse_args(argv)
    if shutil.which("dot") is None:
        print("python -m architecture: Graphviz's dot is not installed (make diagrams installs it)")
        return 2
    from .draw import draw

    for stack in options.stack or STACKS:
        try:
            stack_graph = graph.build(Template.load(options.cdk_out, stack))
        except TemplateError as err:
            print(f"python -m architecture: {err}", file=sys.stderr)
            return 2
        png = draw(stack_graph, options.out / f"{stack}.png")
        (options.out / f"{stack}.json").write_text(record(stack_graph))
        print(f"wrote {png} ({len(stack_graph.nodes)} nodes, {len(stack_graph.edges)} edges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
