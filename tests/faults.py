"""Fault injection under botocore: the Nth call of one operation fails, and the program must
either succeed with every output or fail loudly with nothing half-written visible; a retry then
gives exactly the fault-free outputs.

``Injector`` hooks every botocore client made while it is installed (as ``tests/iam.py``'s
recorder does), counts each API call by ``(service, operation)`` and, when armed with a
``Fault``, fails the one call at its position in one of three ways:

- ``refused``: before the request leaves (a ``before-call`` handler answers instead of AWS),
  with a transient error the service really sends (500, throttling, S3 SlowDown) or a dropped
  connection; nothing is applied. The program sees it as the call's final outcome, as after the
  client's own retries.
- ``lost``: the request reached moto and was applied, then the response was lost (an
  ``after-call`` handler raises ``ReadTimeoutError``): the program sees a timeout for a write
  that happened.
- ``lost-retried``: the first attempt was applied and its response lost (a ``before-send``
  handler registered after moto's raises ``ReadTimeoutError``), then botocore retries it as the
  client is configured to: a conditional write's retry meets its own first attempt.

Reads are failed ``refused`` only (losing a read's answer is the same to the program). Backoff
sleeps between botocore's attempts are skipped, so a case costs what its calls cost.

``drive`` runs a ``Scenario`` fault-free once, takes the calls it made as the list of faults
(every position of every operation, at most ``max_positions`` each, chosen by seed), and runs
each case on fresh moto state.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol

import boto3
import botocore.endpoint
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from moto import mock_aws

KINDS = ("refused", "lost", "lost-retried")
_READS = ("Get", "Head", "List", "Scan", "Query", "Describe", "BatchGet")

# What each service really answers when it is having a bad moment (code, HTTP status).
_TRANSIENT: dict[str, list[tuple[str, int]]] = {
    "dynamodb": [
        ("InternalServerError", 500),
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
    ],
    "s3": [("InternalError", 500), ("SlowDown", 503), ("ServiceUnavailable", 503)],
    "apigatewaymanagementapi": [("InternalServerError", 500), ("LimitExceededException", 429)],
    "secretsmanager": [("InternalServiceError", 500), ("ThrottlingException", 400)],
}
_DROPPED = ("connection", 0)  # a reset before any answer: a BotoCoreError, not a ClientError


def is_read(operation: str) -> bool:
    return operation.startswith(_READS)


@dataclass(frozen=True)
class Fault:
    service: str
    operation: str
    position: int  # 1 = the first call of the operation in the run
    kind: str

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}#{self.position}:{self.kind}"

    def transient(self, seed: int) -> tuple[str, int]:
        """The error a ``refused`` fault answers with: one of the service's own, by seed."""
        choices = [*_TRANSIENT.get(self.service, [("InternalFailure", 500)]), _DROPPED]
        return random.Random(f"{seed}:{self}").choice(choices)  # noqa: S311 - a test seed


def _error_response(code: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse("https://fault.invalid", status, {}, SimpleNamespace(stream=lambda: b""))
    parsed = {
        "Error": {"Code": code, "Message": "injected fault"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    return http, parsed


@dataclass
class Injector:
    seed: int = 26
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    fault: Fault | None = None
    fired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pending: threading.local = field(default_factory=threading.local)

    def _hooks(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        events = client.meta.events

        def before_call(model: Any, **_: Any) -> Any:
            with self._lock:
                self.calls[(service, model.name)] += 1
                fault = self.fault
                hit = (
                    fault is not None
                    and not self.fired
                    and (fault.service, fault.operation) == (service, model.name)
                    and self.calls[(service, model.name)] == fault.position
                )
                if hit:
                    self.fired = True
            self._pending.kind = fault.kind if hit and fault else None
            if not hit or fault is None or fault.kind != "refused":
                return None
            code, status = fault.transient(self.seed)
            if (code, status) == _DROPPED:
                raise ConnectionClosedError(endpoint_url=client.meta.endpoint_url)
            return _error_response(code, status)

        def before_send(request: Any, **_: Any) -> None:
            if getattr(self._pending, "kind", None) == "lost-retried":
                self._pending.kind = None  # the first attempt only; botocore's retry goes on
                raise ReadTimeoutError(endpoint_url=request.url)

        def after_call(**_: Any) -> None:
            if getattr(self._pending, "kind", None) == "lost":
                self._pending.kind = None
                raise ReadTimeoutError(endpoint_url=client.meta.endpoint_url)

        events.register("before-call", before_call)
        # Registered after moto's own before-send handler, so the request has been applied.
        events.register("before-send", before_send)
        events.register("after-call", after_call)

    @contextmanager
    def install(self, monkeypatch: Any) -> Iterator[Injector]:
        original = botocore.session.Session.create_client

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            self._hooks(client)
            return client

        monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
        # botocore's backoff between attempts: real time the cases need not spend.
        monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _: None))
        yield self

    @contextmanager
    def armed(self, fault: Fault | None) -> Iterator[None]:
        with self._lock:
            self.calls.clear()
            self.fault, self.fired = fault, False
        try:
            yield
        finally:
            self.fault = None


def cases(
    calls: Counter[tuple[str, str]], *, seed: int = 26, max_positions: int = 6
) -> list[Fault]:
    """Every (operation, position, kind) of a run that made ``calls``: all positions up to
    ``max_positions`` per operation (beyond that the first, the last and a seeded sample)."""
    found = []
    for (service, operation), count in sorted(calls.items()):
        positions = list(range(1, count + 1))
        if count > max_positions:
            rng = random.Random(f"{seed}:{service}.{operation}")  # noqa: S311 - a test seed
            middle = rng.sample(positions[1:-1], max_positions - 2)
            positions = sorted({1, count, *middle})
        kinds = ("refused",) if is_read(operation) else KINDS
        found += [Fault(service, operation, p, k) for p in positions for k in kinds]
    return found


class Scenario(Protocol):
    """One program on a small input. ``setup`` makes the input on fresh moto state; ``run``
    runs the program once and says whether it reported success (False: it failed loudly:
    raised, exited non-zero, answered 5xx); ``visible`` is what a reader of its outputs sees,
    normalized (no timestamps); ``half_done`` says what is wrong with what a failed run left
    (``before`` is ``visible()`` after ``setup``), or None."""

    def setup(self) -> None: ...
    def run(self) -> bool: ...
    def visible(self) -> Any: ...
    def half_done(self, state: Any, before: Any, reference: Any) -> str | None: ...


def nothing_or_everything(state: Any, before: Any, reference: Any) -> str | None:
    """The default rule: a failed run left its outputs as they were, or complete."""
    if state in (before, reference):
        return None
    return f"half-done: {state!r}\n  neither as before: {before!r}\n  nor complete: {reference!r}"


@dataclass
class Report:
    cases: list[Fault] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.cases)} cases, {len(self.violations)} violations:\n" + "\n".join(
            self.violations
        )


def drive(
    scenario: Scenario,
    injector: Injector,
    reset: Callable[[], None],
    *,
    max_positions: int = 6,
) -> Report:
    """Every fault case of ``scenario``; ``reset`` empties moto between cases."""
    reset()
    scenario.setup()
    with injector.armed(None):
        assert scenario.run(), "the fault-free run failed"
        calls = Counter(injector.calls)
    reference = scenario.visible()
    report = Report(cases(calls, seed=injector.seed, max_positions=max_positions))
    for fault in report.cases:
        reset()
        scenario.setup()
        before = scenario.visible()
        with injector.armed(fault):
            succeeded = scenario.run()
            fired = injector.fired
        state = scenario.visible()
        if not fired:
            report.violations.append(f"{fault}: never reached (the run is not deterministic)")
            continue
        if succeeded and state != reference:
            report.violations.append(f"{fault}: reported success with {state!r}, not {reference!r}")
        elif not succeeded and (problem := scenario.half_done(state, before, reference)):
            report.violations.append(f"{fault}: failed and left {problem}")
        with injector.armed(None):
            retried = scenario.run()
        if not retried:
            report.violations.append(f"{fault}: the retry after it failed")
        elif (again := scenario.visible()) != reference:
            report.violations.append(f"{fault}: the retry gave {again!r}, not {reference!r}")
    return report


@dataclass
class Harness:
    """What a fault test needs: the injector and a way to empty moto between cases."""

    injector: Injector
    reset: Callable[[], None]

    def drive(self, scenario: Scenario, *, max_positions: int = 6) -> Report:
        return drive(scenario, self.injector, self.reset, max_positions=max_positions)


@contextmanager
def harness(monkeypatch: Any, env: dict[str, str]) -> Iterator[Harness]:
    """Fake credentials and ``env``, moto, and the injector on every client made from here on
    (so the program must be imported inside, as Lambda would import it)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Clients made in other tests' imports must not be reused: a new default session.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with mock_aws() as mock, Injector().install(monkeypatch) as injector:
        yield Harness(injector, mock.reset)
