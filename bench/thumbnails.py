"""Thumbnail handler vs the naive code from the AWS docs, on 24 generated 4000x3000 JPEGs.

    .venv/bin/python bench/thumbnails.py [--images 24]

Each variant runs in a fresh interpreter over the same files, one image at a time, from bytes in
memory to bytes in memory (no S3: that cost is the same for both). Printed per variant: images
per second, and peak memory above the interpreter's baseline (peak RSS after imports and reading
one input, subtracted from peak RSS at the end: Pillow's pixel buffers are C allocations that
tracemalloc cannot see).

Variants:
- ``docs``: the tutorial's ``resize_image``: ``image.thumbnail(half the size)`` and ``save``:
  one 2000x1500 JPEG per upload.
- ``docs-at-our-widths``: the same ``thumbnail()`` code run once per configured width (reopening
  the image each time, as the docs' shape invites), for output equal to the handler's.
- ``handler``: ``thumbnailer.imaging.render`` with the construct's defaults (160 and 640 px):
  one decode at reduced scale (``draft``), then ``resize(reducing_gap=3)`` per width, EXIF
  orientation, mode conversion and ICC handling included.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (160, 640)
SIZE = (4000, 3000)
VARIANTS = ("docs", "docs-at-our-widths", "handler")


def generate(folder: Path, count: int) -> list[Path]:
    """Photo-like JPEGs: smooth gradients with noise, so they compress like camera output."""
    from PIL import Image

    paths = []
    base_r = Image.linear_gradient("L").resize(SIZE)
    base_g = Image.radial_gradient("L").resize(SIZE)
    for i in range(count):
        noise = Image.effect_noise(SIZE, 20 + i)
        image = Image.merge("RGB", (base_r, base_g, noise.rotate(i * 15)))
        path = folder / f"photo-{i:02d}.jpg"
        image.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def _max_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage's ru_maxrss: after fork+exec
    the latter can still report the parent's peak (here: the generator's)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_variant(variant: str, paths: list[Path]) -> dict[str, float]:
    """In the child process: process every file once; seconds and peak MiB."""
    sys.path.insert(0, str(ROOT / "containers" / "thumbnail"))
    from PIL import Image
    from thumbnailer.config import Settings
    from thumbnailer.imaging import render

    settings = Settings(destination_bucket="bench", widths=WIDTHS)

    def docs(data: bytes) -> int:
        # From the Lambda tutorial "Using an Amazon S3 trigger to create thumbnail images".
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(tuple(x / 2 for x in image.size))  # type: ignore[arg-type]
            out = io.BytesIO()
            image.save(out, format="JPEG")
            return 1

    def docs_at_our_widths(data: bytes) -> int:
        for width in WIDTHS:
            with Image.open(io.BytesIO(data)) as image:
                image.thumbnail((width, width))
                image.save(io.BytesIO(), format="JPEG")
        return len(WIDTHS)

    def handler(data: bytes) -> int:
        return len(render(io.BytesIO(data), settings).thumbnails)

    work = {"docs": docs, "docs-at-our-widths": docs_at_our_widths, "handler": handler}[variant]
    paths[0].read_bytes()
    baseline = _max_rss_mib()
    start = time.perf_counter()
    outputs = sum(work(path.read_bytes()) for path in paths)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": _max_rss_mib() - baseline, "outputs": outputs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        paths = sorted(Path(args.folder).glob("*.jpg"))
        print(json.dumps(run_variant(args.child, paths)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate(Path(tmp), args.images)
        print(
            f"generated {len(paths)} JPEGs of {SIZE[0]}x{SIZE[1]} "
            f"({sum(p.stat().st_size for p in paths) / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        results = {}
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, "--folder", tmp],
                check=True,
                capture_output=True,
                text=True,
            )
            results[variant] = json.loads(out.stdout)

    print(f"{'variant':<20} {'images/s':>9} {'peak MiB':>9} {'outputs':>8}")
    for variant, r in results.items():
        rate = len(paths) / r["seconds"]
        print(f"{variant:<20} {rate:>9.2f} {r['peak_mib']:>9.0f} {int(r['outputs']):>8}")
    docs, ours = results["docs"], results["handler"]
    same = results["docs-at-our-widths"]
    print(
        f"handler vs docs: {docs['seconds'] / ours['seconds']:.1f}x images/s, "
        f"{ours['peak_mib'] / docs['peak_mib']:.2f}x peak memory"
    )
    print(
        f"handler vs docs-at-our-widths: {same['seconds'] / ours['seconds']:.1f}x images/s, "
        f"{ours['peak_mib'] / same['peak_mib']:.2f}x peak memory"
    )


if __name__ == "__main__":
    main()
