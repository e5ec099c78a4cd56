#!/usr/bin/env python3
"""Entry point for the CDK CLI (see cdk.json): synthesizes every stack of stacks/app.py.

A configuration error is printed as one line, ``error: <what is wrong>``, with exit code 2 and
no traceback; ``CDK_APP_DEBUG=1`` shows the traceback as well.
"""

import os
import sys

from stacks.app import build_app
from stacks.shared import ConfigError

EXIT_CONFIG_ERROR = 2


def _one_line(err: BaseException) -> str:
    """The message of an error, without the JavaScript stack jsii appends to its own."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    message = next((line for line in lines if not line.startswith("at ")), repr(err))
    return message.removeprefix("Error: ").removeprefix("ValidationError: ")


def main() -> int:
    try:
        app = build_app()
    except ConfigError as err:
        if os.environ.get("CDK_APP_DEBUG") == "1":
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except RuntimeError as err:
        # Raised inside aws-cdk-lib (jsii): its own validation of a value we passed on.
        if os.environ.get("CDK_APP_DEBUG") == "1":
            raise
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    try:
        app.synth()
    except RuntimeError as err:
        # cdk-nag and CloudFormation validation print their report first; the rest is noise.
        if os.environ.get("CDK_APP_DEBUG") == "1":
            raise
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
