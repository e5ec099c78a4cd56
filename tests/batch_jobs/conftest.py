"""The job's package lives in its container folder, as the image lays it out; import it from
there, under its pattern-unique name ``compounds``."""

from __future__ import annotations

import sys
from pathlib import Path

JOB_ROOT = Path(__file__).resolve().parents[2] / "containers" / "batch_job"
if str(JOB_ROOT) not in sys.path:
    sys.path.insert(0, str(JOB_ROOT))
