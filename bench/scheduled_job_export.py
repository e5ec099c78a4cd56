"""Throughput of the export's CPU-bound part: DynamoDB items -> JSON Lines -> gzip.

Scan and S3 time depend on the account (read capacity, network); this measures what the
function itself costs per item, to size ``timeout`` and ``memory_size``. Prints figures only.

    .venv/bin/python bench/scheduled_job_export.py
"""

from __future__ import annotations

import gzip
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambda_src" / "scheduled_job"))

from nightly_export.export import item_to_json

ITEMS = 200_000
LAMBDA_MEMORY_MB = 512  # TableExportJob's default
MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally below


def item(i: int) -> dict[str, dict[str, object]]:
    """An order-like item of about 400 bytes, with the common attribute types."""
    return {
        "pk": {"S": f"customer#{i % 5000:06d}"},
        "sk": {"S": f"order#{i:09d}"},
        "status": {"S": ("placed", "paid", "shipped")[i % 3]},
        "total": {"N": f"{i % 10_000}.{i % 100:02d}"},
        "quantity": {"N": str(i % 17)},
        "gift": {"BOOL": i % 5 == 0},
        "tags": {"SS": ["priority", "eu"] if i % 2 else ["standard"]},
        "address": {
            "M": {
                "street": {"S": f"{i % 999} Example Street"},
                "city": {"S": "Berlin"},
                "postcode": {"S": f"{10000 + i % 90000}"},
            }
        },
        "lines": {"L": [{"M": {"sku": {"S": f"SKU-{j:05d}"}, "n": {"N": "1"}}} for j in range(3)]},
    }


def main() -> None:
    items = [item(i) for i in range(ITEMS)]
    raw = io.BytesIO()
    # CPU time of this process, not wall time: the figures then hold on a busy shared machine.
    start = time.process_time()
    lines = [item_to_json(it).encode() + b"\n" for it in items]
    serialize = time.process_time() - start
    for line in lines:
        raw.write(line)
    size = raw.tell()
    start = time.process_time()
    compressed = gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)
    compress = time.process_time() - start
    total = serialize + compress
    per_second = ITEMS / total
    print(
        f"items: {ITEMS:,}  JSON: {size / 1e6:.1f} MB  gzip: {len(compressed) / 1e6:.1f} MB "
        f"(ratio {size / len(compressed):.1f}x)"
    )
    print(f"serialize: {ITEMS / serialize:,.0f} items/s  ({size / 1e6 / serialize:.1f} MB/s)")
    print(f"gzip -6:   {size / 1e6 / compress:.1f} MB/s")
    print(f"together:  {per_second:,.0f} items per CPU-second")
    share = LAMBDA_MEMORY_MB / MB_PER_VCPU
    print(
        f"a {LAMBDA_MEMORY_MB} MB Lambda (~{share:.2f} vCPU): about "
        f"{per_second * share * 600 / 1e6:.1f} M items in a 10-minute timeout, "
        "before scan and upload time"
    )


if __name__ == "__main__":
    main()
