"""``python -m webapp``: serve the app with uvicorn, JSON logs, and a graceful SIGTERM.

ECS stops a task by deregistering it from the target group, waiting out the deregistration
delay, then sending SIGTERM and, ``stopTimeout`` later, SIGKILL. On SIGTERM uvicorn stops
accepting connections, lets in-flight requests finish for up to ``graceful_shutdown_seconds``
(less than the stop timeout) and runs the app's shutdown, then re-raises SIGTERM to exit
(status 143, which ECS reports as stopped by a signal).
"""

from __future__ import annotations

import json
import logging
import logging.config
from typing import Any

import uvicorn

from .app import create_app
from .config import Settings

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so CloudWatch Logs Insights can query the fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING"},  # the app logs requests itself
        },
    }


def server_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        # All interfaces: in a task, the port is reachable only from the ALB's security group.
        host="0.0.0.0",  # noqa: S104
        port=settings.port,
        # Trust X-Forwarded-* from any peer: only the load balancer can reach the task.
        proxy_headers=True,
        forwarded_allow_ips="*",
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        server_header=False,
        access_log=False,
        log_config=logging_config(settings.log_level),
    )


def main() -> None:
    uvicorn.Server(server_config(Settings.from_env())).run()


if __name__ == "__main__":
    main()
