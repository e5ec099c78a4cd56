# For type checkers only: bundling copies the one source into the asset (stacks/shared/bundling.py).
from stacks.shared.runtime.tracing import *  # noqa: F403
