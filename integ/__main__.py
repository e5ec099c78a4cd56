"""``python -m integ``: the integration tests' snapshots, offline, and their run in an account.

    python -m integ check  [--stack NAME]   compare each integ app with its snapshot (offline)
    python -m integ update [--stack NAME]   rewrite the snapshots (offline; read the diff)
    python -m integ cost   [--stack NAME]   what one run costs, from the cost model (Markdown);
                                            --write-docs puts it in each pattern doc
    python -m integ run --stack NAME [cdk args...]
        for each integ app of the stack: cdk deploy (the stack under test, then its assertion
        stack, whose custom resources run the checks), read the assertion results from the
        stack outputs, then cdk destroy, whatever happened. Exit 1 when an assertion failed.

``run`` is integ-runner's normal cycle done with the pinned CDK CLI: the integ-runner the npm
registry serves today reads cloud assemblies up to schema 53 and aws-cdk-lib writes 55.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from integ.snapshots import compare, files_of, snapshot_dir, synthesize, write_snapshot

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
RUN_OUT = ROOT / "cdk.out.integ"


def check(stack: str | None) -> int:
    failed = 0
    with tempfile.TemporaryDirectory(prefix="integ-") as tmp:
        for integ_file in files_of(stack):
            differences = compare(
                synthesize(integ_file, Path(tmp) / integ_file.stem), snapshot_dir(integ_file)
            )
            for difference in differences:
                print(f"{integ_file.name}: {difference}")
            failed += bool(differences)
    if failed:
        print(f"{failed} integ snapshot(s) differ: after an intended change, make integ-update")
    return 1 if failed else 0


def update(stack: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="integ-") as tmp:
        for integ_file in files_of(stack):
            assembly = synthesize(integ_file, Path(tmp) / integ_file.stem)
            write_snapshot(assembly, snapshot_dir(integ_file))
            print(f"wrote {snapshot_dir(integ_file).relative_to(ROOT)}")
    return 0


def run(stack: str, cdk_args: Sequence[str]) -> int:
    failures: list[str] = []
    for integ_file in files_of(stack):
        out = RUN_OUT / integ_file.stem
        app = f"{sys.executable} -m integ.{integ_file.stem}"
        common = [str(CDK), "--app", app, "--output", str(out), *cdk_args]
        outputs = out / "outputs.json"
        print(f"== {integ_file.name}: deploy, assert, destroy", flush=True)
        try:
            deployed = subprocess.run(  # noqa: S603 - the pinned CLI, the project's own app
                [
                    *common,
                    "deploy",
                    "--all",
                    "--require-approval",
                    "never",
                    "--outputs-file",
                    str(outputs),
                ],
                cwd=ROOT,
                check=False,
            )
            if deployed.returncode != 0:
                failures.append(f"{integ_file.name}: cdk deploy failed")
            else:
                failures += assertion_failures(integ_file.name, outputs)
        finally:
            subprocess.run([*common, "destroy", "--all", "--force"], cwd=ROOT, check=False)  # noqa: S603
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(
        f"{stack}: {len(files_of(stack)) - len({f.split(':')[0] for f in failures})} of "
        f"{len(files_of(stack))} integ test(s) passed"
    )
    return 1 if failures else 0


def assertion_failures(name: str, outputs: Path) -> list[str]:
    """Every ``AssertionResults*`` output that is not a success, as integ-runner reads them."""
    found: list[str] = []
    results = 0
    for stack_outputs in json.loads(outputs.read_text()).values():
        for key, value in stack_outputs.items():
            if not key.startswith("AssertionResults"):
                continue
            results += 1
            result = json.loads(value)
            if result.get("status") != "success":
                found.append(f"{name}: {key}: {result.get('message', value)}")
    if results == 0:
        found.append(f"{name}: no assertion results in the stack outputs")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integ", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("check", "update", "cost", "run"))
    parser.add_argument("--stack", help="one stack's integ tests (all when omitted)")
    parser.add_argument("--write-docs", action="store_true", help="cost: update docs/<pattern>.md")
    args, cdk_args = parser.parse_known_args(argv)
    try:
        if args.command == "run":
            if not args.stack:
                parser.error("run needs --stack NAME")
            return run(args.stack, cdk_args)
        if cdk_args:
            parser.error(f"unrecognized arguments: {' '.join(cdk_args)}")
        if args.command == "cost":
            from integ.run_cost import table, write_docs

            if args.write_docs:
                for path in write_docs(ROOT / "docs"):
                    print(f"updated {path.relative_to(ROOT)}")
            else:
                print(table(args.stack))
            return 0
        return check(args.stack) if args.command == "check" else update(args.stack)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
