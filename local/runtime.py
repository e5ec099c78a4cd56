"""What every mode shares at run time: the moto server, loading a handler as Lambda would, the
command line, and a clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .template import ACCOUNT, REGION, ROOT, Template

HOST = "127.0.0.1"  # every mode binds loopback only
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

Handler = Callable[[dict[str, Any], Any], Any]


def parser(mode: str, doc: str | None, port: int | None) -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(prog=f"python -m local {mode}", description=doc)
    args.add_argument(
        "--cdk-out",
        type=Path,
        default=ROOT / "cdk.out",
        help="synthesized app (default: cdk.out; synthesized first if missing or stale)",
    )
    if port is not None:
        args.add_argument(
            "--port", type=int, default=port, help=f"port on {HOST} (default {port}; 0: any)"
        )
    return args


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def moto_server() -> Iterator[str]:
    """An in-process moto server on loopback; every boto3 client in this process (and in child
    processes given ``aws_env(url)``) talks to it instead of AWS."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
    # werkzeug writes headers and body separately: without this every keep-alive AWS call
    # waits out the client's delayed ACK (40 ms on Linux).
    MotoRequestHandler.disable_nagle_algorithm = True
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ.update(aws_env(url))
    try:
        yield url
    finally:
        server.stop()


def aws_env(endpoint: str) -> dict[str, str]:
    """Fake credentials and the moto endpoint, for this process or a child's environment."""
    return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that Powertools and the handlers read."""

    function_name: str
    memory_limit_in_mb: int = 128
    timeout_seconds: int = 3
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


@dataclass
class Function:
    """One Lambda function of the template, imported as Lambda would import it: its staged code
    on ``sys.path``, its environment set before the import. Invocations are serialized, as in
    one execution environment (Powertools' resolvers keep the current event on the instance)."""

    name: str
    handler: Handler
    memory: int
    timeout: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.name, self.memory, self.timeout)
        with self.lock:
            return self.handler(event, context)


def load_function(
    template: Template, logical_id: str, overrides: Mapping[str, str] | None = None
) -> Function:
    code, handler = template.function_code(logical_id)
    env = {**template.environment(logical_id), **(overrides or {})}
    env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon locally
    env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # metrics would flood stdout
    os.environ.update(env)
    if str(code) not in sys.path:
        sys.path.insert(0, str(code))
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    props = template.props(logical_id)
    return Function(
        name=logical_id,
        handler=getattr(module, attribute),
        memory=int(props.get("MemorySize", 128)),
        timeout=int(props.get("Timeout", 3)),
    )


def stop_signals() -> threading.Event:
    """An event that Ctrl-C (SIGINT) or SIGTERM sets; install it before printing "ready", so a
    signal that arrives right after is a clean stop, not a KeyboardInterrupt mid-print."""
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    return done


def serve_until_stopped(done: threading.Event, stop: Callable[[], None]) -> None:
    """Block until ``done`` is set (see ``stop_signals``), then call ``stop``."""
    while not done.wait(0.5):
        pass
    say("stopping ...")
    stop()
    say("stopped")


def run_once(main: Callable[[], int]) -> int:
    """Run a one-shot mode with SIGTERM treated as Ctrl-C, so ``finally`` blocks clean up."""

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        return main()
    except KeyboardInterrupt:
        say("interrupted")
        return 130


# listen() backlog of every local server: http.server's default of 5 resets a third of 32
# clients connecting at once (a test suite or a load test starting its workers together).
LISTEN_BACKLOG = 128


class LocalHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with the local modes' listen backlog."""

    request_queue_size = LISTEN_BACKLOG
