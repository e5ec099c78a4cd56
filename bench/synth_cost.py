"""Synth cost: `python app.py` (every stack, cdk-nag included) against a floor measured in the
same run: an app with one empty stack, on the same interpreter and Node. The floor is mostly
jsii's start-up; what the app costs above it is ours.

Usage: .venv/bin/python bench/synth_cost.py [runs]   (or `make bench`)
"""

from __future__ import annotations

import sys
import tempfile

from common import median, node_env, time_python

FLOOR = """
import aws_cdk as cdk
app = cdk.App(outdir={outdir!r}, analytics_reporting=False)
cdk.Stack(app, "Empty")
app.synth()
"""


def main(runs: int) -> None:
    env = node_env()
    with tempfile.TemporaryDirectory() as floor_out, tempfile.TemporaryDirectory() as app_out:
        env_app = {**env, "CDK_OUTDIR": app_out}
        # Alternate the two so drift on a shared machine hits both alike.
        floor: list[float] = []
        full: list[float] = []
        for _ in range(runs):
            floor += time_python(["-c", FLOOR.format(outdir=floor_out)], runs=1, env=env)
            full += time_python(["app.py"], runs=1, env=env_app)
    floor_median, full_median = median(floor), median(full)
    print(f"synth floor (one empty stack): median {floor_median:.2f} s over {runs} runs")
    print(f"synth app.py (all stacks + cdk-nag): median {full_median:.2f} s over {runs} runs")
    print(
        f"ratio app/floor: {full_median / floor_median:.2f}x "
        f"(+{full_median - floor_median:.2f} s above the floor)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
