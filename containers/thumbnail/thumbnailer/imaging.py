"""Decode one image and render its thumbnails: plain Pillow, no AWS, testable on bytes.

What the naive ``Image.open(path); image.thumbnail(size); image.save(path)`` gets wrong, and
what this does instead:

- Phone photos are stored sideways with an EXIF Orientation tag: thumbnails are rotated upright.
- CMYK, palette, 16-bit and transparent images cannot be saved as JPEG as they are: they are
  converted (transparency flattened onto white) before encoding.
- Animated GIF/WebP and multi-picture JPEGs (MPO, most phone cameras): the first frame only.
- A small file can claim billions of pixels (a decompression bomb): the size in the header is
  checked against ``max_pixels`` before anything is decoded.
- Only the image decoders we need are enabled, so an upload can't reach Pillow's rarer parsers.
- JPEGs decode once, straight to a smaller scale (libjpeg's DCT scaling, ``draft``: 1/2, 1/4
  or 1/8) that still holds the largest width (``_dct_scale`` says how much headroom each scale
  needs); the largest width is resampled from that (bicubic), each smaller one from the
  previous thumbnail when that is at least twice as large: one decode for all widths, and each
  resize a small one. bench/thumbnails.py measures the quality (PSNR, SSIM against a Lanczos
  downscale of the full image) as well as the speed.
- Whatever the image causes (a corrupt file, odd EXIF, a thumbnail beyond JPEG's or WebP's
  dimension limit, any error Pillow raises on it) is ``Rejected``: never an exception that would
  make Lambda retry what can only fail again.
- EXIF (GPS position, camera serial numbers) is not copied to thumbnails; ICC colour profiles are.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO, cast

from PIL import ExifTags, Image, UnidentifiedImageError

from .config import Settings

# Decoders allowed to parse uploads; everything else is "not an image" to us. (JPEG includes
# MPO, the multi-picture JPEG of many phone cameras.)
INPUT_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")
# Source format -> thumbnail format when the caller does not choose one. GIF becomes PNG: a
# still first frame looks better without GIF's 256-colour palette.
_PRESERVED = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# The first extension is the one appended to keys; any of them already names the format.
EXTENSIONS = {"JPEG": ("jpg", "jpeg"), "PNG": ("png",), "WEBP": ("webp",)}

# EXIF Orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIDEWAYS = (
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
)
# The largest side each output format can encode (libjpeg, libwebp; PNG's is 2**31 - 1).
MAX_DIMENSION = {"JPEG": 65_500, "WEBP": 16_383, "PNG": 2**31 - 1}
# resize() reduces by a whole factor (a cheap box average) to no less than twice the target
# before resampling, as Image.thumbnail does; a smaller thumbnail is made from the previous one
# when that is at least this much larger. Bicubic is Image.thumbnail's filter; Lanczos costs
# about 55% more CPU per resize (docs/thumbnails.md, Performance).
REDUCING_GAP = 2.0
RESAMPLE = Image.Resampling.BICUBIC


class Rejected(Exception):
    """This object can never become a thumbnail; retrying will not help. ``reason`` is a short
    label for logs and metrics, ``detail`` says what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Thumbnail:
    width: int  # the configured width: it names the output key
    size: tuple[int, int]  # what was written: never larger than the source
    format: str
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extensions(self) -> tuple[str, ...]:
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class Rendered:
    source_format: str
    source_size: tuple[int, int]  # upright (after EXIF orientation)
    animated: bool
    thumbnails: list[Thumbnail]


def choose_format(source_format: str, has_alpha: bool, chosen: str | None) -> str:
    if chosen:
        return chosen
    return _PRESERVED.get(source_format, "PNG" if has_alpha else "JPEG")


def render(source: IO[bytes], settings: Settings) -> Rendered:
    """Thumbnails of the image in ``source`` at each of ``settings.widths``.

    Raises ``Rejected`` for anything the image itself causes, and nothing else: rendering is a
    pure function of the bytes, so a failure would fail the same way on every retry. That covers
    an unknown format, too many pixels, corrupt or truncated data, odd EXIF, and thumbnails
    beyond an output format's dimension limits; Pillow signals those with many exception types
    (OSError, ValueError, SyntaxError, EOFError, struct.error, OverflowError, ...), so every one
    is caught here. The one exception is ``MemoryError``: that is the function's memory size
    (``max_pixels`` keeps an image within it), a deployment fault to alarm on, not a rejection.
    """
    with warnings.catch_warnings():
        # Pillow's own bomb check only warns below twice its limit; make it an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(source, formats=INPUT_FORMATS)
        except UnidentifiedImageError as err:
            raise Rejected("not_an_image", str(err)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise Rejected("too_many_pixels", str(err)) from None
        except MemoryError:
            raise
        except Exception as err:  # any type: see the docstring
            raise Rejected("corrupt", _describe(err)) from None
        with image:
            try:
                return _render(image, settings)
            except (Rejected, MemoryError):
                raise
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                raise Rejected("too_many_pixels", str(err)) from None
            except Exception as err:  # any type: see the docstring
                raise Rejected("corrupt", _describe(err)) from None


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:500]


def _render(image: Image.Image, settings: Settings) -> Rendered:
    width, height = image.size
    if width < 1 or height < 1:
        raise Rejected("corrupt", f"{width}x{height} has no pixels")
    if width * height > settings.max_pixels:
        raise Rejected(
            "too_many_pixels", f"{width}x{height} is more than {settings.max_pixels} pixels"
        )
    source_format = image.format or "unknown"
    animated = bool(getattr(image, "is_animated", False))
    transpose = _upright(image)
    sideways = transpose in _SIDEWAYS
    upright_w, upright_h = (height, width) if sideways else (width, height)
    out_format = choose_format(source_format, image.has_transparency_data, settings.output_format)

    def target(requested: int) -> tuple[int, int]:
        # Never upscale: a width above the source's gives the source's size.
        w = min(requested, upright_w)
        return w, max(1, round(upright_h * w / upright_w))

    widths = sorted(settings.widths, reverse=True)
    _check_dimensions(out_format, [target(w) for w in widths])
    icc_profile = image.info.get("icc_profile")
    source_mode = image.mode

    def stored(size: tuple[int, int]) -> tuple[int, int]:
        return (size[1], size[0]) if sideways else size

    box = None
    if source_format in ("JPEG", "MPO"):
        # ``box``: the part of the smaller decode that maps exactly onto the source (its last
        # row and column may be partial).
        scale = _dct_scale(image.size, stored(target(widths[0])))
        drafted = image.draft(None, (width // scale, height // scale))
        box = drafted[1] if drafted else None
    image.load()
    base = _resizable(image)

    thumbnails = []
    previous = base
    for requested in widths:
        size = stored(target(requested))
        # Largest first, each from the one before when that is at least twice as large (640
        # from 1280, 160 from 640): each step a small bicubic resize of few pixels instead of a
        # large one from the decode. Closer than 2x, from the decode again (no double blur).
        if previous is not base and previous.width >= size[0] * REDUCING_GAP:
            previous = previous.resize(size, RESAMPLE)
        else:
            previous = base.resize(size, RESAMPLE, box=box, reducing_gap=REDUCING_GAP)
        thumb = previous if transpose is None else previous.transpose(transpose)
        data = _encode(thumb, out_format, settings.quality, icc_profile, source_mode)
        thumbnails.append(Thumbnail(requested, thumb.size, out_format, data))
    return Rendered(source_format, (upright_w, upright_h), animated, thumbnails)


def _dct_scale(size: tuple[int, int], largest: tuple[int, int]) -> int:
    """The JPEG decode scale (1/1, 1/2, 1/4 or 1/8: libjpeg's DCT scaling, ``draft``) for a
    largest thumbnail of ``largest`` pixels, from what bench/thumbnails.py measures against a
    Lanczos downscale of the full decode:

    - 1/4 and 1/8 (2x2 and 1x1 inverse DCTs) act like a box filter: they need the 2x headroom
      ``Image.thumbnail`` gives them (without it, 1 to 3 dB PSNR lost at 256 to 640 px);
    - 1/2 (a 4x4 inverse DCT) is a better low-pass: used down to 1x headroom, it costs 0.5 dB at
      1024 px from 12 MP and saves the full-size decode and a 4x resize (2x faster).
    """

    def fits(headroom: int) -> int:
        most = min(size[0] // (largest[0] * headroom), size[1] // (largest[1] * headroom))
        return next((s for s in (8, 4, 2) if most >= s), 1)

    return max(fits(2), min(fits(1), 2))


def _upright(image: Image.Image) -> Image.Transpose | None:
    """The transpose that makes the image upright, from EXIF Orientation, as Pillow's
    ``ImageOps.exif_transpose`` reads it; ``None`` when there is none to apply.

    The tag can hold anything (a float +inf, a string, a list, a rational 6/0), and the EXIF
    block can be malformed: neither stops a thumbnail. Such an image is shown as stored, which
    is what browsers do with an orientation they cannot read."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
        return _UPRIGHT.get(value)
    except Exception:  # any type: EXIF is optional metadata, the pixels are still good
        return None


def _check_dimensions(out_format: str, sizes: list[tuple[int, int]]) -> None:
    """Before decoding: a thumbnail one side of which the output format cannot hold (a 1x70000
    image is 1x70000 at every width) can never be written."""
    limit = MAX_DIMENSION[out_format]
    for w, h in sizes:
        if w > limit or h > limit:
            raise Rejected(
                "too_large_for_format", f"a {w}x{h} thumbnail is over {out_format}'s {limit} px"
            )


def _family(mode: str) -> str:
    return {"L": "grey", "LA": "grey", "RGB": "rgb", "RGBA": "rgb", "P": "rgb"}.get(mode, mode)


def _resizable(image: Image.Image) -> Image.Image:
    """The first frame in a mode that resize() filters properly (not palette, not 1-bit, not
    CMYK), keeping transparency where there is any."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.has_transparency_data:
        return image.convert("RGBA")
    if image.mode in ("1", "I", "F") or image.mode.startswith("I;16"):
        return _to_grey(image)
    return image.convert("RGB")


def _to_grey(image: Image.Image) -> Image.Image:
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16"):
        # Pillow computes no extrema for every 16-bit layout (I;16B among them); 32-bit "I"
        # holds each of them exactly.
        image = image.convert("I")
    # Scale 16/32-bit samples into 0..255 rather than clipping everything above 255 to white.
    low, high = cast(tuple[float, float], image.getextrema())  # one band: (min, max)
    span = float(high - low) or 1.0
    return image.convert("F").point(lambda v: (v - low) * 255.0 / span).convert("L")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on a white background: JPEG has no alpha channel."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode(
    image: Image.Image, out_format: str, quality: int, icc: bytes | None, source_mode: str
) -> bytes:
    if out_format == "JPEG":
        if image.mode in ("LA", "RGBA"):
            image = _flatten(image)
        options: dict[str, object] = {"quality": quality, "optimize": True}
    elif out_format == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if image.mode == "LA" else "RGB")
        options = {"quality": quality, "method": 4}
    else:
        options = {"compress_level": 6}
    # A profile describes the source's colour space (CMYK, grey, RGB): keep it only if the
    # thumbnail is still in that space.
    if icc and _family(image.mode) == _family(source_mode):
        options["icc_profile"] = icc
    out = io.BytesIO()
    image.save(out, format=out_format, **options)
    return out.getvalue()
