"""The compounds job's throughput: molecules per CPU-second per shard, to size ``vcpus``, the
array and ``timeout_minutes``.

    .venv/bin/python bench/batch_compounds.py [--copies 2] [--shards 1,4,16] [--rounds 3]

The input is the example library scaled up: RDKit's NCI sample (4,999 molecules, which RDKit
ships) and the named drugs, ``--copies`` times under new ids, plus the four bad rows. For each
shard count, shard 0 runs ``compounds.job.process_shard`` (the CSV reading, RDKit's parsing,
sanitization, descriptors, InChIKey; no S3) in a fresh interpreter, ``--rounds`` times, and
the median is printed:

- molecules per CPU-second (``time.process_time``: the process's own CPU, which other load on a
  shared machine disturbs less than the wall clock), per shard. The job is one single-threaded
  process, so this is the figure per vCPU: more vCPUs per job do not make a shard faster;
  a larger array does.
- the CPU share of reading the whole CSV, which every shard does whatever its size, and the
  peak RSS of the process (for ``memory_mib``).
- what that means for a library of ``--library`` molecules: CPU-hours in all, and minutes per
  child at the largest shard count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "containers" / "batch_job"

CHILD = """
import json, resource, sys, time
from pathlib import Path
from compounds.job import process_shard, read_records
text = Path(sys.argv[1]).read_text(encoding="utf-8")
count = int(sys.argv[2])
start = time.process_time()
header, records, _ = read_records(text)
total = sum(1 for _ in records)
reading = time.process_time() - start
start = time.process_time()
result = process_shard(text, shard_index=0, shard_count=count)
seconds = time.process_time() - start
print(json.dumps({
    "records": total,
    "rows": result.rows_in_shard,
    "succeeded": len(result.results),
    "rejected": len(result.rejects),
    "cpu_seconds": seconds,
    "reading_seconds": reading,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_shard(library: Path, count: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(library), str(count)],
        cwd=JOB,
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=2, help="copies of the 5,011 molecules")
    parser.add_argument("--shards", default="1,4,16", help="shard counts to run shard 0 of")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--library", type=int, default=1_000_000, help="molecules to size for")
    args = parser.parse_args()
    counts = [int(c) for c in args.shards.split(",")]

    sys.path.insert(0, str(JOB))
    from compounds.example import library  # after the path is set

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "library.csv"
        source.write_text(library(nci=4999, copies=args.copies), encoding="utf-8")
        print(f"input: {source.stat().st_size / 1e6:.1f} MB, rounds: {args.rounds}")
        print(
            f"{'shards':>6} {'rows/shard':>10} {'CPU s':>7} {'mol/CPU-s':>10} "
            f"{'reading CSV':>11} {'peak RSS':>9} {'rejected':>8}"
        )
        rates: dict[int, float] = {}
        for count in counts:
            runs = [run_shard(source, count) for _ in range(args.rounds)]
            seconds = statistics.median(r["cpu_seconds"] for r in runs)
            reading = statistics.median(r["reading_seconds"] for r in runs)
            rows = runs[0]["rows"]
            rates[count] = rows / seconds
            print(
                f"{count:>6} {rows:>10.0f} {seconds:>7.2f} {rates[count]:>10.0f} "
                f"{reading / seconds:>10.1%} {max(r['peak_rss_mib'] for r in runs):>7.0f} MiB"
                f" {runs[0]['rejected']:>8.0f}"
            )
            # Per record: reading (every child reads every record) and describing (its own).
            read_each = reading / runs[0]["records"]
            describe_each = (seconds - reading) / rows
        total = args.library
        cpu_hours = total / rates[counts[0]] / 3600
        children = counts[-1]
        child_minutes = (total * read_each + total / children * describe_each) / 60
        print(
            f"sizing: {total:,} molecules = {cpu_hours:.2f} CPU-hours at "
            f"{rates[counts[0]]:.0f} mol/CPU-s; an array of {children} (vcpus=1 each) takes "
            f"~{child_minutes:.0f} CPU-min per child, plus image pull and S3"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
