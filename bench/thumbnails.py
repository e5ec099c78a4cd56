"""Thumbnail handler vs the naive ``image.thumbnail()`` code from the AWS docs, on 24 generated
4000x3000 JPEGs.

    .venv/bin/python bench/thumbnails.py [--images 24] [--rounds 3]

Every variant reads the same files, one image at a time, from bytes in memory to bytes in memory:
S3 is left out, its GET and PUTs cost the same whatever decodes the image. Each variant runs in a
fresh interpreter once per round, in a different order each round, so a noisy neighbour on a
shared machine slows every variant in turn rather than one; the figures are medians over rounds.

Printed per variant: images per second (median wall clock, and the range over rounds), images
per CPU-second (the process's own CPU time, which other load on the machine disturbs less), peak
memory above the interpreter's baseline (peak RSS after imports and reading one input, subtracted
from peak RSS at the end: Pillow's pixel buffers are C allocations that tracemalloc cannot see),
thumbnails written, and their total size.

Variants, the first as reference and the other two doing exactly the handler's work:
- ``docs``: the tutorial's ``resize_image`` as written: ``image.thumbnail(half the size)``, then
  ``save``: one 2000x1500 JPEG per upload. Not the same output as the handler (one large image
  instead of two small ones), so its ratio is printed apart from the others.
- ``docs-per-width``: the same ``resize_image``, called once per configured width (160 and 640),
  as the docs' shape invites: it opens and decodes the image once per width.
- ``naive-open-once``: the best the naive code can do: open once, ``thumbnail(640)``, save,
  ``thumbnail(160)`` on the result, save.
- ``handler``: ``thumbnailer.imaging.render`` with the construct's defaults (160 and 640 px,
  quality 85, optimized Huffman tables): one decode at reduced scale (``draft``), then a resize per
  width, with EXIF orientation, mode conversion and ICC handling included. The naive variants save
  at Pillow's default quality (75) without ``optimize``: less work than the handler does.

The like-for-like variants' thumbnail sizes are checked equal to the handler's before anything
is printed.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (160, 640)
SIZE = (4000, 3000)
VARIANTS = ("docs", "docs-per-width", "naive-open-once", "handler")
LIKE_FOR_LIKE = ("docs-per-width", "naive-open-once")


@dataclass(frozen=True)
class Run:
    """One variant over every image, in one interpreter."""

    seconds: float
    cpu_seconds: float
    peak_mib: float
    outputs: int
    kib_written: float
    sizes: list[tuple[int, int]]  # the first image's thumbnails

    @classmethod
    def from_json(cls, text: str) -> Run:
        fields = json.loads(text)
        return cls(**{**fields, "sizes": [tuple(s) for s in fields["sizes"]]})


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


def _variants() -> dict[str, Callable[[bytes], list[bytes]]]:
    """Each takes one image's bytes and returns the encoded thumbnails."""
    sys.path.insert(0, str(ROOT / "containers" / "thumbnail"))
    from PIL import Image
    from thumbnailer.config import Settings
    from thumbnailer.imaging import render

    settings = Settings(destination_bucket="bench", widths=WIDTHS)

    def resize_image(data: bytes, size: tuple[float, float] | None) -> bytes:
        # The Lambda tutorial "Using an Amazon S3 trigger to create thumbnail images", with
        # bytes in place of /tmp paths; ``size`` None is its own "half the size".
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(size or tuple(x / 2 for x in image.size))  # type: ignore[arg-type]
            out = io.BytesIO()
            image.save(out, format="JPEG")
            return out.getvalue()

    def docs(data: bytes) -> list[bytes]:
        return [resize_image(data, None)]

    def docs_per_width(data: bytes) -> list[bytes]:
        return [resize_image(data, (w, w)) for w in sorted(WIDTHS, reverse=True)]

    def naive_open_once(data: bytes) -> list[bytes]:
        outputs = []
        with Image.open(io.BytesIO(data)) as image:
            for width in sorted(WIDTHS, reverse=True):
                image.thumbnail((width, width))
                out = io.BytesIO()
                image.save(out, format="JPEG")
                outputs.append(out.getvalue())
        return outputs

    def handler(data: bytes) -> list[bytes]:
        return [t.data for t in render(io.BytesIO(data), settings).thumbnails]

    return {
        "docs": docs,
        "docs-per-width": docs_per_width,
        "naive-open-once": naive_open_once,
        "handler": handler,
    }


def run_variant(variant: str, paths: list[Path]) -> Run:
    """In the child process: every file once; wall and CPU seconds, peak MiB, what was written."""
    from PIL import Image

    work = _variants()[variant]
    paths[0].read_bytes()
    baseline = _max_rss_mib()
    sizes: list[tuple[int, int]] = []
    written = 0
    outputs = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        thumbnails = work(path.read_bytes())
        outputs += len(thumbnails)
        written += sum(len(t) for t in thumbnails)
        if not sizes:
            sizes = [Image.open(io.BytesIO(t)).size for t in thumbnails]
    return Run(
        seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
        peak_mib=_max_rss_mib() - baseline,
        outputs=outputs,
        kib_written=written / 1024,
        sizes=sizes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        paths = sorted(Path(args.folder).glob("*.jpg"))
        print(json.dumps(asdict(run_variant(args.child, paths))))
        return

    runs: dict[str, list[Run]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate(Path(tmp), args.images)
        print(
            f"generated {len(paths)} JPEGs of {SIZE[0]}x{SIZE[1]} "
            f"({sum(p.stat().st_size for p in paths) / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - start:.1f} s; {args.rounds} rounds"
        )
        for round_ in range(args.rounds):
            order = VARIANTS[round_ % len(VARIANTS) :] + VARIANTS[: round_ % len(VARIANTS)]
            for variant in order:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--folder", tmp],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[variant].append(Run.from_json(out.stdout))

    expected = runs["handler"][0].sizes
    for variant in LIKE_FOR_LIKE:
        if runs[variant][0].sizes != expected:
            raise SystemExit(f"{variant} wrote {runs[variant][0].sizes}, not {expected}")

    def rate(variant: str) -> float:
        return len(paths) / statistics.median(r.seconds for r in runs[variant])

    def cpu_rate(variant: str) -> float:
        return len(paths) / statistics.median(r.cpu_seconds for r in runs[variant])

    def peak(variant: str) -> float:
        return max(r.peak_mib for r in runs[variant])

    print(
        f"{'variant':<16} {'images/s':>8} {'(range)':>13} {'img/cpu-s':>9} {'peak MiB':>8} "
        f"{'outputs':>7} {'KiB out':>8}  sizes of the first image's thumbnails"
    )
    for variant, results in runs.items():
        rates = [len(paths) / r.seconds for r in results]
        spread = f"{min(rates):.2f}-{max(rates):.2f}"
        sizes = " ".join(f"{w}x{h}" for w, h in results[0].sizes)
        print(
            f"{variant:<16} {rate(variant):>8.2f} {spread:>13} {cpu_rate(variant):>9.2f} "
            f"{peak(variant):>8.0f} {results[0].outputs:>7} "
            f"{results[0].kib_written:>8.0f}  {sizes}"
        )
    for variant in (*LIKE_FOR_LIKE, "docs"):
        note = "same thumbnails" if variant in LIKE_FOR_LIKE else "docs' one 2000x1500 output"
        print(
            f"handler vs {variant} ({note}): {rate('handler') / rate(variant):.2f}x images/s, "
            f"{cpu_rate('handler') / cpu_rate(variant):.2f}x images/cpu-s, "
            f"{peak('handler') / peak(variant):.2f}x peak memory"
        )


if __name__ == "__main__":
    main()
