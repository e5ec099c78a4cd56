"""``python -m local <mode> [options]``: see ``python -m local <mode> --help``."""

from __future__ import annotations

import importlib
import sys

MODES = ("api", "chat", "thumbnails", "web", "batch", "cron")


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        print(f"usage: python -m local {{{','.join(MODES)}}} [--help]", file=sys.stderr)
        return 2
    from .template import TemplateError

    module = importlib.import_module(f"local.{sys.argv[1]}")
    try:
        return int(module.main(sys.argv[2:]))
    except TemplateError as err:  # the template lacks what the mode needs: one line, no traceback
        print(f"python -m local {sys.argv[1]}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
