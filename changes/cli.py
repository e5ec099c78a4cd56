"""``python -m changes``: what a deploy would replace or delete, offline, from two synths.

python -m changes OLD_DIR NEW_DIR           two folders of templates (cdk.out, a baseline)
python -m changes changes/baseline cdk.out  against the last release (acknowledged.json applies)
python -m changes --base v1.4.0             synthesize a git ref and the working tree, compare
python -m changes --base HEAD~3 --to HEAD   two git refs
python -m changes --write-baseline          rewrite changes/baseline at a release

Exit 1 when a stateful resource is replaced, deleted or orphaned without an acknowledgement;
2 on a usage error (one line); else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from . import acknowledged, report
from .classify import StackDiff, compare, dumps
from .offline import finish_synth, repo_root, start_synth, two_synths
from .templates import Template, TemplateError, read_folder, write_folder

BASELINE = Path(__file__).resolve().parent / "baseline"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m changes", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="OLD_DIR NEW_DIR")
    parser.add_argument("--base", help="git ref to synthesize and compare against")
    parser.add_argument("--to", help="with --base: a second ref instead of the working tree")
    parser.add_argument("--stacks", help="comma-separated stack (template) names to compare")
    parser.add_argument(
        "--ack",
        type=Path,
        help="acknowledgements file (default: changes/acknowledged.json "
        "when OLD_DIR is the committed baseline, else none)",
    )
    parser.add_argument("--all", action="store_true", help="list every change, not one screen")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--write-baseline", action="store_true", help="rewrite changes/baseline")
    parser.add_argument(
        "--cdk-out", type=Path, help="with --write-baseline: take the templates from here"
    )
    return parser.parse_args(argv)


def _selected(templates: dict[str, Template], stacks: str | None) -> dict[str, Template]:
    if not stacks:
        return templates
    wanted = {s.strip() for s in stacks.split(",") if s.strip()}
    unknown = sorted(wanted - set(templates))
    if unknown:
        raise TemplateError(f"--stacks={stacks!r}: {unknown} not among {sorted(templates)}")
    return {k: v for k, v in templates.items() if k in wanted}


def write_baseline(cdk_out: Path | None) -> int:
    """The baseline from ``cdk_out`` or a fresh synth of the working tree; no acknowledgements."""
    if cdk_out is not None:
        templates = read_folder(cdk_out)
    else:
        root = repo_root(Path.cwd())
        with tempfile.TemporaryDirectory(prefix="changes-baseline-") as tmp:
            out = Path(tmp)
            for warning in finish_synth(start_synth(root, root, out, []), "the working tree", out):
                print(warning, file=sys.stderr)
            templates = read_folder(out)
    if not templates:
        raise TemplateError("no templates to write: the synth produced none")
    for path in write_folder(BASELINE, templates):
        print(f"wrote {path}")
    acknowledged.FILE.write_text(json.dumps(acknowledged.EMPTY, indent=2) + "\n")
    print(f"emptied {acknowledged.FILE}: a new release starts with nothing acknowledged")
    return 0


def show(
    diffs: list[StackDiff], acks: list[acknowledged.Acknowledgement], args: argparse.Namespace
) -> int:
    stale = acknowledged.apply(diffs, acks)
    if args.json:
        print(dumps(diffs))
    else:
        for diff in diffs:
            print(report.table(diff, everything=args.all) + "\n")
        print(report.verdict_line(diffs, stale))
    return 1 if any(c.blocking for d in diffs for c in d.changes) else 0


def run(args: argparse.Namespace) -> int:
    if args.write_baseline:
        return write_baseline(args.cdk_out)
    if args.base is not None:
        if args.folders:
            raise TemplateError("give either OLD_DIR NEW_DIR or --base, not both")
        root = repo_root(Path.cwd())
        context = [f"stacks={args.stacks}"] if args.stacks else []
        with two_synths(root, args.base, args.to, context) as (old_out, new_out, warnings):
            for warning in warnings:
                print(warning, file=sys.stderr)
            diffs = compare(read_folder(old_out), read_folder(new_out))
        print(f"# {args.base} -> {args.to or 'working tree'}\n")
        return show(diffs, acknowledged.load(args.ack) if args.ack else [], args)
    if len(args.folders) != 2:
        raise TemplateError("expected OLD_DIR NEW_DIR (two folders of templates), or --base REF")
    old_dir, new_dir = args.folders
    old = _selected(read_folder(old_dir), args.stacks)
    new = _selected(read_folder(new_dir), args.stacks)
    if not old and not new:
        raise TemplateError(f"no *.template.json in {old_dir} or {new_dir}")
    ack_file = args.ack or (acknowledged.FILE if old_dir.resolve() == BASELINE else None)
    return show(compare(old, new), acknowledged.load(ack_file) if ack_file else [], args)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except TemplateError as err:
        print(f"changes: {err}", file=sys.stderr)
        return 2
