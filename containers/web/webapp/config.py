"""Settings from the environment the task definition sets; defaults suit a local run."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    version: str = "dev"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    # Below the task's stopTimeout (30 s) so in-flight requests finish before SIGKILL.
    graceful_shutdown_seconds: int = 20
    # Above the load balancer's idle timeout (60 s): otherwise the app may close a kept-alive
    # connection the ALB is about to reuse, and the client gets a 502.
    keep_alive_seconds: int = 65
    log_level: str = "INFO"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            version=env.get("APP_VERSION", cls.version),
            port=int(env.get("PORT", cls.port)),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", cls.max_body_bytes)),
            graceful_shutdown_seconds=int(
                env.get("GRACEFUL_SHUTDOWN_SECONDS", cls.graceful_shutdown_seconds)
            ),
            keep_alive_seconds=int(env.get("KEEP_ALIVE_SECONDS", cls.keep_alive_seconds)),
            log_level=env.get("LOG_LEVEL", cls.log_level).upper(),
        )
