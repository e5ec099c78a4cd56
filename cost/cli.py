"""``python -m cost``: price every stack from its synthesized template, offline.

python -m cost                              every stack, profiles small, medium and large
python -m cost --stack ServerlessApi --profile medium --json
python -m cost --profile my-usage.json      a user's own profile (fields over medium)
python -m cost --cdk-out cdk.out            read an existing assembly instead of synthesizing
python -m cost --write-docs                 regenerate the cost sections of docs/<pattern>.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from . import report
from .chart import write_charts
from .model import Estimate, estimate
from .prices import CostError, PriceBook, available_regions, load_price_book
from .profile import available_profiles, load_profile, zero_profile
from .templates import from_assembly, synthesize

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
DOC_PROFILES = ("small", "medium", "large")


def doc_path(stack: str, docs_dir: Path = DOCS_DIR) -> Path:
    """docs/<pattern>.md for a stack: ``WebSocketApi`` is ``websocket_api.md``."""
    for path in sorted(docs_dir.glob("*.md")):
        if path.stem.replace("_", "") == stack.lower():
            return path
    return docs_dir / (re.sub(r"(?<!^)(?=[A-Z])", "_", stack).lower() + ".md")


def doc_sections(templates: dict[str, dict[str, Any]], book: PriceBook) -> dict[str, str]:
    sections = {}
    for stack, template in templates.items():
        floor = estimate(stack, template, zero_profile(), book, "zero traffic")
        by_profile = [
            estimate(stack, template, load_profile(name), book, name) for name in DOC_PROFILES
        ]
        sections[stack] = report.doc_section(floor, by_profile)
    return sections


def write_docs(templates: dict[str, dict[str, Any]], book: PriceBook, docs_dir: Path) -> list[Path]:
    written = []
    for stack, section in doc_sections(templates, book).items():
        path = doc_path(stack, docs_dir)
        if not path.exists():
            continue
        text = path.read_text()
        new = report.replace_section(text, section)
        if new != text:
            path.write_text(new)
            written.append(path)
    return written


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cost", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", help="stack name (repeat or comma-separate)")
    parser.add_argument(
        "--profile",
        action="append",
        help=f"built-in {available_profiles()} or a JSON file; default: small, medium, large",
    )
    parser.add_argument("--region", default="us-east-1", help=f"price file: {available_regions()}")
    parser.add_argument("--cdk-out", type=Path, help="read templates from this cloud assembly")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--verbose", action="store_true", help="show which resources each line covers"
    )
    parser.add_argument("--no-free-tier", action="store_true", help="ignore always-free allowances")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="regenerate the cost blocks of docs/<pattern>.md and the charts docs/cost-*.png",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    stacks = [s for arg in args.stack or [] for s in arg.split(",") if s] or None
    book = load_price_book(args.region)
    profiles = args.profile or list(DOC_PROFILES)
    loaded = [(name, load_profile(name)) for name in profiles]  # refuse a bad profile before synth
    templates = from_assembly(args.cdk_out, stacks) if args.cdk_out else synthesize(stacks)
    if args.write_docs:
        for path in write_docs(templates, load_price_book("us-east-1"), DOCS_DIR):
            print(f"updated {path}")
        for line in write_charts(templates, DOCS_DIR):
            print(line)
        print(f"wrote {DOCS_DIR / 'cost-web.png'} and {DOCS_DIR / 'cost-batch.png'}")
        return 0
    estimates: list[Estimate] = [
        estimate(stack, template, profile, book, Path(name).stem, free_tier=not args.no_free_tier)
        for stack, template in templates.items()
        for name, profile in loaded
    ]
    if args.json:
        print(
            json.dumps({"note": book.note, "estimates": [e.to_dict() for e in estimates]}, indent=2)
        )
    else:
        print(textwrap.fill(book.note, 100, initial_indent="# ", subsequent_indent="# ") + "\n")
        for est in estimates:
            print(report.table(est, verbose=args.verbose) + "\n")
    return 1 if any(e.unpriced for e in estimates) else 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except CostError as err:
        print(f"cost: {err}", file=sys.stderr)
        return 2
