"""The local modes' start-and-stop fixture, for the contract tests that run against them."""

from tests.local.conftest import start

__all__ = ["start"]
