"""Thumbnail handler vs the naive ``image.thumbnail()`` code from the AWS docs, and vs the cost
of decoding alone, on generated 12 MP (4000x3000) JPEGs, with the quality of every variant's
thumbnails measured so that a speed-up cannot come from a worse picture.

    .venv/bin/python bench/thumbnails.py [--images 12] [--rounds 3]

Two cases: the construct's default widths (160 and 640 px) and three equal-weight sizes (1024,
512 and 256 px). Every variant reads the same files, one image at a time, from bytes in memory
to bytes in memory: S3 is left out, its GET and PUTs cost the same whatever decodes the image.
Each variant runs in a fresh interpreter once per round, in a different order each round, so a
noisy neighbour on a shared machine slows every variant in turn rather than one; the figures
are medians over rounds.

Printed per variant: images per CPU-second (the process's own CPU time, which other load on the
machine disturbs less than wall time) and per wall-second, peak memory above the interpreter's
baseline (peak RSS: Pillow's pixel buffers are C allocations that tracemalloc cannot see),
thumbnails written and their size, and their quality: PSNR (dB) and SSIM of each width's
thumbnail, decoded, against a reference downscale (the full-size decode resized with Lanczos to
the same size), on luminance, averaged over the first three images.

Variants:
- ``docs`` (two-size case only): the Lambda tutorial's ``resize_image`` as written:
  ``image.thumbnail(half the size)``, then ``save``: one 2000x1500 JPEG per upload. Not the
  handler's output, so its ratio is printed apart.
- ``docs-per-width``: the naive per-size loop: the same ``resize_image`` once per width, as the
  docs' shape invites: it opens and decodes the image once per width.
- ``naive-open-once``: the best the naive code can do: open once, ``thumbnail()`` to the largest
  width, save, ``thumbnail()`` the result to the next, save, ...
- ``handler``: ``thumbnailer.imaging.render`` with the construct's defaults (quality 85,
  optimized Huffman tables), EXIF orientation, mode conversion and ICC handling included. The
  naive variants save at Pillow's default quality (75) without ``optimize``: less work.
- ``decode-floor``: open + ``draft`` + load, no resize, no encode, drafting to the largest
  width as ``draft`` allows (the smallest of 1/1, 1/2, 1/4, 1/8 DCT scales that still holds
  it): what any code that makes that largest thumbnail from the JPEG must at least pay.

The like-for-like variants' thumbnail sizes are checked equal to the handler's before anything
is printed. ``--code DIR`` measures another copy of ``containers/thumbnail`` (e.g. the previous
commit's, from ``git archive``) for before/after figures.
"""

from __future__ import annotations

import argparse
import base64
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZE = (4000, 3000)
CASES = {"two": (640, 160), "three": (1024, 512, 256)}  # largest first
VARIANTS = {
    "two": ("docs", "docs-per-width", "naive-open-once", "handler", "decode-floor"),
    "three": ("docs-per-width", "naive-open-once", "handler", "decode-floor"),
}
LIKE_FOR_LIKE = ("docs-per-width", "naive-open-once")
QUALITY_IMAGES = 3


@dataclass(frozen=True)
class Run:
    """One variant over every image, in one interpreter."""

    seconds: float
    cpu_seconds: float
    peak_mib: float
    outputs: int
    kib_written: float
    sizes: list[tuple[int, int]]  # the first image's thumbnails
    samples: list[list[str]]  # the first images' thumbnails, base64

    @classmethod
    def from_json(cls, text: str) -> Run:
        fields = json.loads(text)
        return cls(**{**fields, "sizes": [tuple(s) for s in fields["sizes"]]})


def generate(folder: Path, count: int) -> list[Path]:
    """Photo-like JPEGs with detail at every scale (a fractal, film-grain noise, thin lines and
    small text over smooth gradients): a downscale that loses detail shows in PSNR and SSIM,
    which smooth test images would hide. Saved at quality 90, ~3.3 MiB each, like a camera's."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    fractal = Image.effect_mandelbrot(SIZE, (-2.0, -1.2, 1.0, 1.05), 100)
    grain = Image.effect_noise(SIZE, 30).filter(ImageFilter.GaussianBlur(1.2))
    radial = Image.radial_gradient("L").resize(SIZE)
    paths = []
    for i in range(count):
        noise = ImageChops.offset(grain, 97 * i, 61 * i)
        linear = Image.linear_gradient("L").rotate(30 * i).resize(SIZE)
        image = Image.merge(
            "RGB",
            (
                Image.blend(ImageChops.offset(fractal, 131 * i, 0), noise, 0.3),
                Image.blend(radial, noise, 0.5),
                Image.blend(linear, fractal, 0.4),
            ),
        )
        draw = ImageDraw.Draw(image)
        for x in range(i, SIZE[0], 37):
            draw.line([(x, 0), (x + 400, SIZE[1])], fill=(255, 255, 255), width=1 + x % 3)
        for k in range(60):
            xy = ((50 + 61 * k + 13 * i) % SIZE[0], (40 + 47 * k) % SIZE[1])
            draw.text(xy, "Thumbnail quality 0123456789", fill=(0, 0, 0))
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


def _variants(widths: tuple[int, ...], code: Path) -> dict[str, Callable[[bytes], list[bytes]]]:
    """Each takes one image's bytes and returns the encoded thumbnails, largest first."""
    sys.path.insert(0, str(code))
    from PIL import Image
    from thumbnailer.config import Settings
    from thumbnailer.imaging import render

    settings = Settings(destination_bucket="bench", widths=widths)

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
        return [resize_image(data, (w, w)) for w in widths]

    def naive_open_once(data: bytes) -> list[bytes]:
        outputs = []
        with Image.open(io.BytesIO(data)) as image:
            for width in widths:
                image.thumbnail((width, width))
                out = io.BytesIO()
                image.save(out, format="JPEG")
                outputs.append(out.getvalue())
        return outputs

    def handler(data: bytes) -> list[bytes]:
        return [t.data for t in render(io.BytesIO(data), settings).thumbnails]

    def decode_floor(data: bytes) -> list[bytes]:
        with Image.open(io.BytesIO(data)) as image:
            w, h = image.size
            image.draft(None, (widths[0], round(h * widths[0] / w)))
            image.load()
        return []

    return {
        "docs": docs,
        "docs-per-width": docs_per_width,
        "naive-open-once": naive_open_once,
        "handler": handler,
        "decode-floor": decode_floor,
    }


def run_variant(case: str, variant: str, paths: list[Path], code: Path) -> Run:
    """In the child process: every file once; wall and CPU seconds, peak MiB, what was written."""
    from PIL import Image

    work = _variants(CASES[case], code)[variant]
    paths[0].read_bytes()
    baseline = _max_rss_mib()
    samples: list[list[bytes]] = []
    written = 0
    outputs = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        thumbnails = work(path.read_bytes())
        outputs += len(thumbnails)
        written += sum(len(t) for t in thumbnails)
        if len(samples) < QUALITY_IMAGES:
            samples.append(thumbnails)
    return Run(
        seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
        peak_mib=_max_rss_mib() - baseline,
        outputs=outputs,
        kib_written=written / 1024,
        sizes=[Image.open(io.BytesIO(t)).size for t in samples[0]],
        samples=[[base64.b64encode(t).decode() for t in thumbs] for thumbs in samples],
    )


def _luminance(image: Any) -> Any:
    import numpy as np

    return np.asarray(image.convert("L"), dtype=np.float64)


def _box(x: Any, k: int = 7) -> Any:
    """Mean over every k x k window (SSIM's uniform-window variant), with summed-area tables."""
    import numpy as np

    c = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def quality(thumbnail: Any, reference: Any) -> tuple[float, float]:
    """PSNR (dB) and SSIM of one thumbnail against the reference, on 8-bit luminance."""
    import numpy as np

    x, y = _luminance(thumbnail), _luminance(reference)
    mse = float(((x - y) ** 2).mean())
    psnr = 10 * np.log10(255**2 / mse) if mse else float("inf")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _box(x), _box(y)
    sxx, syy, sxy = _box(x * x) - mx * mx, _box(y * y) - my * my, _box(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(psnr), float(ssim.mean())


def measure_quality(run: Run, paths: list[Path]) -> list[tuple[float, float]]:
    """Mean (PSNR, SSIM) per thumbnail, largest first, over the sampled images."""
    from PIL import Image

    per_width: list[list[tuple[float, float]]] = []
    for path, thumbs in zip(paths, run.samples, strict=False):
        with Image.open(path) as full:
            full.load()
            for i, encoded in enumerate(thumbs):
                thumb = Image.open(io.BytesIO(base64.b64decode(encoded)))
                thumb.load()
                reference = full.resize(thumb.size, Image.Resampling.LANCZOS)
                if len(per_width) <= i:
                    per_width.append([])
                per_width[i].append(quality(thumb, reference))
    return [
        (statistics.mean(p for p, _ in scores), statistics.mean(s for _, s in scores))
        for scores in per_width
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", default=str(ROOT / "containers" / "thumbnail"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        case, variant = args.child.split(":")
        paths = sorted(Path(args.folder).glob("*.jpg"))
        print(json.dumps(asdict(run_variant(case, variant, paths, Path(args.code)))))
        return

    jobs = [f"{case}:{variant}" for case, variants in VARIANTS.items() for variant in variants]
    runs: dict[str, list[Run]] = {job: [] for job in jobs}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate(Path(tmp), args.images)
        print(
            f"generated {len(paths)} JPEGs of {SIZE[0]}x{SIZE[1]} "
            f"({sum(p.stat().st_size for p in paths) / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - start:.1f} s; {args.rounds} rounds; code {args.code}"
        )
        for round_ in range(args.rounds):
            for job in jobs[round_ % len(jobs) :] + jobs[: round_ % len(jobs)]:
                child = ["--child", job, "--folder", tmp, "--code", args.code]
                out = subprocess.run(
                    [sys.executable, __file__, *child],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[job].append(Run.from_json(out.stdout))
        scores = {job: measure_quality(results[0], paths) for job, results in runs.items()}

    for case, variants in VARIANTS.items():
        expected = runs[f"{case}:handler"][0].sizes
        for variant in LIKE_FOR_LIKE:
            if runs[f"{case}:{variant}"][0].sizes != expected:
                raise SystemExit(f"{case}:{variant} wrote {runs[case + ':' + variant][0].sizes}")
        report(case, variants, runs, scores, len(paths))


def report(
    case: str,
    variants: tuple[str, ...],
    runs: dict[str, list[Run]],
    scores: dict[str, list[tuple[float, float]]],
    images: int,
) -> None:
    def rate(variant: str) -> float:
        return images / statistics.median(r.seconds for r in runs[f"{case}:{variant}"])

    def cpu_rate(variant: str) -> float:
        return images / statistics.median(r.cpu_seconds for r in runs[f"{case}:{variant}"])

    def peak(variant: str) -> float:
        return max(r.peak_mib for r in runs[f"{case}:{variant}"])

    widths = "/".join(str(w) for w in CASES[case])
    print(f"\n{case} sizes ({widths} px wide):")
    print(
        f"{'variant':<16} {'img/cpu-s':>9} {'images/s':>8} {'peak MiB':>8} {'outputs':>7} "
        f"{'KiB out':>8}  {'PSNR dB per width':<20} {'SSIM per width':<22} sizes"
    )
    for variant in variants:
        first = runs[f"{case}:{variant}"][0]
        psnr = "/".join(f"{p:.2f}" for p, _ in scores[f"{case}:{variant}"]) or "-"
        ssim = "/".join(f"{s:.4f}" for _, s in scores[f"{case}:{variant}"]) or "-"
        sizes = " ".join(f"{w}x{h}" for w, h in first.sizes)
        print(
            f"{variant:<16} {cpu_rate(variant):>9.2f} {rate(variant):>8.2f} {peak(variant):>8.0f} "
            f"{first.outputs:>7} {first.kib_written:>8.0f}  {psnr:<20} {ssim:<22} {sizes}"
        )
    for variant in (*LIKE_FOR_LIKE, "docs"):
        if variant not in variants:
            continue
        note = "same thumbnails" if variant in LIKE_FOR_LIKE else "docs' one 2000x1500 output"
        print(
            f"handler vs {variant} ({note}): {cpu_rate('handler') / cpu_rate(variant):.2f}x "
            f"images/cpu-s, {rate('handler') / rate(variant):.2f}x images/s, "
            f"{peak('handler') / peak(variant):.2f}x peak memory"
        )
    if "decode-floor" in variants:
        print(
            f"handler CPU per image vs the decode floor: "
            f"{cpu_rate('decode-floor') / cpu_rate('handler'):.2f}x"
        )


if __name__ == "__main__":
    main()
