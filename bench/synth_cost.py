"""Synth cost: `python app.py` (every stack, policy engines included) against a floor measured in
the same run (an app with one empty stack, on the same interpreter and Node), and where the time
above the floor goes.

Phases, timed inside one fresh interpreter per run:
- import: `import stacks.app` (Python, aws_cdk and the jsii runtime starting Node);
- build: constructing every stack (`build_app`);
- synth: `app.synth()`, which runs the policy-validation plugins and writes cdk.out;
and the same app with no validation plugin at all, so the engines' own cost is the difference.

Usage: .venv/bin/python bench/synth_cost.py [runs]   (or `make bench`)
"""

from __future__ import annotations

import json
import sys
import tempfile

from common import median, node_env, python_output, time_python

FLOOR = """
import aws_cdk as cdk
app = cdk.App(outdir={outdir!r}, analytics_reporting=False)
cdk.Stack(app, "Empty")
app.synth()
"""

# `engines=False` swaps the Validations the app module uses for one that adds no plugin, so the
# same stacks synthesize without cdk-nag (or any other engine): the difference is their cost.
PHASES = """
import json, time
start = time.perf_counter()
import stacks.app as app_module
imported = time.perf_counter()
if not {engines}:
    class _NoPlugins:
        @staticmethod
        def of(_scope):
            class _Adder:
                def add_plugins(self, *plugins): pass
            return _Adder()
    app_module.Validations = _NoPlugins
app = app_module.build_app(outdir={outdir!r})
built = time.perf_counter()
try:
    app.synth()
except RuntimeError as err:
    if "ValidationFailed" not in str(err):
        raise
done = time.perf_counter()
print(json.dumps({{"import": imported - start, "build": built - imported, "synth": done - built}}))
"""


def phases(outdir: str, *, engines: bool, env: dict[str, str]) -> dict[str, float]:
    code = PHASES.format(outdir=outdir, engines=engines)
    return dict(json.loads(python_output(code, env=env).splitlines()[-1]))


def main(runs: int) -> None:
    env = node_env()
    with tempfile.TemporaryDirectory() as floor_out, tempfile.TemporaryDirectory() as app_out:
        env_app = {**env, "CDK_OUTDIR": app_out}
        # Alternate the variants so drift on a shared machine hits them alike.
        floor: list[float] = []
        full: list[float] = []
        with_engines: list[dict[str, float]] = []
        without: list[dict[str, float]] = []
        for _ in range(runs):
            floor += time_python(["-c", FLOOR.format(outdir=floor_out)], runs=1, env=env)
            full += time_python(["app.py"], runs=1, env=env_app)
            with_engines.append(phases(app_out, engines=True, env=env))
            without.append(phases(app_out, engines=False, env=env))
    floor_median, full_median = median(floor), median(full)
    print(f"synth floor (one empty stack): median {floor_median:.2f} s over {runs} runs")
    print(
        f"synth app.py (all stacks + policy engines): median {full_median:.2f} s over {runs} runs"
    )
    print(
        f"ratio app/floor: {full_median / floor_median:.2f}x "
        f"(+{full_median - floor_median:.2f} s above the floor)"
    )
    for name in ("import", "build", "synth"):
        on = median([p[name] for p in with_engines])
        off = median([p[name] for p in without])
        print(f"  phase {name:<6}: {on:.2f} s with the engines, {off:.2f} s without")
    engines_cost = median([p["synth"] for p in with_engines]) - median(
        [p["synth"] for p in without]
    )
    print(f"  policy-validation engines (on by default) add {engines_cost:.2f} s to synth")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
