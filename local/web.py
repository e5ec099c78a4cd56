"""``python -m local web``: the ContainerService web app under uvicorn on 127.0.0.1, with the task
definition's environment and port, and its container health check run as ECS would run it
(every ``Interval`` seconds after ``StartPeriod``; unhealthy after ``Retries`` failures)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .runtime import HOST, parser, say
from .template import Template, TemplateError

STACK = "ContainerService"


def web_container(template: Template) -> dict[str, Any]:
    """The task definition's container that maps a port (the one the load balancer targets)."""
    for _, resource in template.of_type("AWS::ECS::TaskDefinition"):
        for container in resource["Properties"]["ContainerDefinitions"]:
            if container.get("PortMappings"):
                return dict(container)
    raise TemplateError(f"{STACK}: no container with a port mapping in the task definition")


def health_check(
    container: dict[str, Any], code: Path, env: dict[str, str], stop: threading.Event
) -> None:
    check = container.get("HealthCheck")
    if not check:
        return
    command = list(check["Command"])
    # ECS's forms: ["CMD", exe, args...] or ["CMD-SHELL", "a shell command"].
    command = ["/bin/sh", "-c", command[1]] if command[0] == "CMD-SHELL" else command[1:]
    if command[0] == "python":
        command[0] = sys.executable
    stop.wait(min(float(check.get("StartPeriod", 0)), 2.0))  # locally the app starts in a second
    status, failures = "starting", 0
    while not stop.is_set():
        try:
            ok = (
                subprocess.run(
                    command, cwd=code, env=env, timeout=float(check.get("Timeout", 5)), check=False
                ).returncode
                == 0
            )
        except subprocess.TimeoutExpired:
            ok = False
        failures = 0 if ok else failures + 1
        new = (
            "healthy" if ok else "unhealthy" if failures >= int(check.get("Retries", 3)) else status
        )
        if new != status:
            status = new
            say(f"health check ({' '.join(check['Command'][1:])}): {status}")
        stop.wait(float(check.get("Interval", 30)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    args = parser("web", __doc__.split("\n")[0], None)
    args.add_argument("--port", type=int, default=None, help="port (default: the container port)")
    options = args.parse_args(argv)
    template = Template.load(options.cdk_out, STACK)
    container = web_container(template)
    code = template.image_dir(container["Image"])
    port = (
        options.port
        if options.port is not None
        else int(container["PortMappings"][0]["ContainerPort"])
    )
    if port == 0:
        port = _free_port()  # the app and its health check read the port from PORT
    env = {**template.container_environment(container), "PORT": str(port)}
    os.environ.update(env)
    sys.path.insert(0, str(code))
    import uvicorn  # the app's own server, as the image runs it
    from webapp.__main__ import server_config
    from webapp.config import Settings

    config = server_config(Settings.from_env())
    config.host = HOST  # the image listens on every interface; locally, loopback only
    server = uvicorn.Server(config)
    stop = threading.Event()
    child_env = {**os.environ, "PYTHONPATH": str(code)}

    def announce() -> None:
        while not server.started and not stop.wait(0.05):
            pass
        if server.started:
            say(f"web app ({STACK}: container {container['Name']}, env {sorted(env)}) from {code}")
            say(f"ready: http://{HOST}:{port}/  (health: http://{HOST}:{port}/health)")
            health_check(container, code, child_env, stop)

    threading.Thread(target=announce, daemon=True).start()
    try:
        # uvicorn handles Ctrl-C and SIGTERM itself: it drains requests, runs the app's
        # shutdown, then re-raises the signal (SIGTERM ends the process with 143, as in ECS).
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    say("stopped")
    return 0
