"""``python -m local web``: the container app on loopback with the task's environment and its
health check."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from tests.local.conftest import Mode
from tests.support import Synth


def test_app_serves_with_the_task_environment_and_turns_healthy(
    synth: Synth, start: Callable[..., Mode]
):
    (task,) = [
        r["Properties"]
        for r in synth.template_json("ContainerService")["Resources"].values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
    ]
    env = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}
    mode = start("ContainerService", "web")
    with httpx2.Client(base_url=mode.url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/version").json()["version"] == env["APP_VERSION"]
        assert client.get("/no-such-page").status_code == 404
    deadline = time.monotonic() + 30
    while not any(line.endswith(": healthy") for line in mode.lines):
        assert time.monotonic() < deadline, "\n".join(mode.lines)
        time.sleep(0.2)
