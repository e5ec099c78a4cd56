"""Say plainly when no AWS credentials can be found, before the CDK CLI says something vaguer.

``make bootstrap|deploy|diff|destroy`` run this first with the same CDK_ARGS. Without it the CLI
prints ``Unable to resolve AWS account to use`` (twice for ``cdk diff``), which does not tell a
new user what is missing or how to fix it.

Usage: python scripts/aws_credentials.py [cdk args ...]   (exit 0: found; exit 2: not found)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import botocore.exceptions
import botocore.session

HOW = (
    "provide them with `aws configure --profile <name>` or `aws sso login --profile <name>` and "
    "then `export AWS_PROFILE=<name>` (or CDK_ARGS='--profile <name>'), or export "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def profile_from_args(args: Sequence[str]) -> str | None:
    """The ``--profile`` the CDK CLI would use: ``--profile x`` or ``--profile=x``."""
    for index, arg in enumerate(args):
        if arg == "--profile" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return None


def problem(args: Sequence[str]) -> str | None:
    """Why no credentials can be used, or None when some were found (nothing is called in AWS)."""
    profile = profile_from_args(args)
    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        return f"AWS profile {profile!r} was not found in ~/.aws/config or ~/.aws/credentials"
    except botocore.exceptions.BotoCoreError as err:
        return f"AWS credentials could not be read: {err}"
    if credentials is None:
        where = f" for profile {profile!r}" if profile else ""
        return f"no AWS credentials found{where}"
    return None


def main(argv: Sequence[str]) -> int:
    message = problem(argv)
    if message is None:
        return 0
    print(f"error: {message}: {HOW}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
