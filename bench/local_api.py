"""``make local-api``: seconds from the command to the first successful request, and requests
per second of create + read through the local gateway, handler and moto.

The command is what ``make local-api`` runs (``python -m local api``), against an up-to-date
cdk.out (synthesized once beforehand, outside the timing, as ``make synth`` leaves it). The
figure to beat is ``sam local start-api``, which cannot start at all without Docker.

Usage: .venv/bin/python bench/local_api.py [runs] [seconds]
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx2
from common import ROOT, median, node_env

CDK_OUT = ROOT / "cdk.out"


def start() -> tuple[subprocess.Popen[str], str, str, float]:
    """Start the API; return it, its URL, its key, and the seconds until a request succeeded."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "api", "--port", "0", "--cdk-out", str(CDK_OUT)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: dict[str, str] = {}
    ready = threading.Event()

    def drain() -> None:  # also keeps the pipe from filling with the handler's logs
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("API key"):
                found["key"] = line.split()[-1]
            elif line.startswith("ready: "):
                found["url"] = line.split()[1]
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(120) or "url" not in found:
        process.kill()
        raise RuntimeError("local api did not start")
    headers = {"x-api-key": found["key"], "Authorization": "bench"}
    with httpx2.Client(base_url=found["url"], headers=headers, timeout=10) as client:
        while client.get("/items").status_code != 200:
            time.sleep(0.01)
    return process, found["url"], found["key"], time.perf_counter() - began


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def create_read_rate(url: str, key: str, seconds: float) -> tuple[int, float]:
    """Requests (a POST then a GET of what it created, in turn) per second on one connection."""
    headers = {"x-api-key": key, "Authorization": "bench"}
    requests = 0
    with httpx2.Client(base_url=url, headers=headers, timeout=10) as client:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            created = client.post("/items", json={"name": "bench", "quantity": 1})
            assert created.status_code == 201, created.text
            assert client.get(f"/items/{created.json()['id']}").status_code == 200
            requests += 2
        return requests, requests / (time.perf_counter() - began)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    env = node_env()
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from local.template import ensure_synth; from pathlib import "
            f"Path; ensure_synth(Path({str(CDK_OUT)!r}), 'ServerlessApi')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    startups = []
    for _ in range(runs):
        process, url, key, seconds_to_first = start()
        startups.append(seconds_to_first)
        stop(process)
    process, url, key, _ = start()
    try:
        requests, rate = create_read_rate(url, key, seconds)
    finally:
        stop(process)
    print(
        f"local api: command to first successful request: median {median(startups):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in startups)})"
    )
    print(
        f"local api: create+read: {rate:.0f} requests/s ({requests} requests in {seconds:.0f} s, "
        "one keep-alive connection)"
    )


if __name__ == "__main__":
    main()
