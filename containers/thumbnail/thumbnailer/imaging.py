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
- JPEGs decode once, straight to a smaller scale (libjpeg's DCT scaling, ``draft``) with 2x
  headroom over the largest width; each width is then resampled (bicubic, ``reducing_gap``) from
  that or from the previous thumbnail when it is still at least twice as large: Pillow's own
  ``thumbnail()`` quality, with one decode for all widths instead of one per width.
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
# Decode JPEGs at no less than twice the largest thumbnail, and resample from no less than
# twice the target: both Image.thumbnail's defaults. Lanczos with a gap of 3 costs 15-20% more
# CPU for no visible gain (docs/thumbnails.md, Performance).
DRAFT_HEADROOM = 2.0
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

    Raises ``Rejected`` for anything that is not a usable image: unknown format, too many
    pixels, corrupt or truncated data.
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
        except (OSError, SyntaxError, ValueError) as err:
            raise Rejected("corrupt", f"{type(err).__name__}: {err}") from None
        with image:
            return _render(image, settings)


def _render(image: Image.Image, settings: Settings) -> Rendered:
    width, height = image.size
    if width < 1 or height < 1:
        raise Rejected("corrupt", f"{width}x{height} has no pixels")
    if width * height > settings.max_pixels:
        raise Rejected(
            "too_many_pixels", f"{width}x{height} is more than {settings.max_pixels} pixels"
        )
    source_format = image.format or "unknown"
    try:
        animated = bool(getattr(image, "is_animated", False))
        orientation = int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise Rejected("corrupt", f"{type(err).__name__}: {err}") from None
    transpose = _UPRIGHT.get(orientation)
    sideways = transpose in (
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
    )
    upright_w, upright_h = (height, width) if sideways else (width, height)
    out_format = choose_format(source_format, image.has_transparency_data, settings.output_format)
    icc_profile = image.info.get("icc_profile")
    source_mode = image.mode

    def target(requested: int) -> tuple[int, int]:
        # Never upscale: a width above the source's gives the source's size.
        w = min(requested, upright_w)
        return w, max(1, round(upright_h * w / upright_w))

    if source_format in ("JPEG", "MPO"):
        big_w, big_h = target(max(settings.widths))
        stored = (big_h, big_w) if sideways else (big_w, big_h)
        image.draft(None, (int(stored[0] * DRAFT_HEADROOM), int(stored[1] * DRAFT_HEADROOM)))
    try:
        image.load()
        base = _resizable(image)
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise Rejected("corrupt", f"{type(err).__name__}: {err}") from None

    thumbnails = []
    previous = base
    for requested in sorted(settings.widths, reverse=True):
        size = target(requested)
        stored = (size[1], size[0]) if sideways else size
        # Largest first, each from the one before when that is still twice as large: 160 from
        # 640 rather than from 2000. Closer than that, from the decode again (no double blur).
        source = previous if previous.width >= stored[0] * REDUCING_GAP else base
        previous = source.resize(stored, RESAMPLE, reducing_gap=REDUCING_GAP)
        thumb = previous if transpose is None else previous.transpose(transpose)
        data = _encode(thumb, out_format, settings.quality, icc_profile, source_mode)
        thumbnails.append(Thumbnail(requested, thumb.size, out_format, data))
    return Rendered(source_format, (upright_w, upright_h), animated, thumbnails)


def _family(mode: str) -> str:
    return {"L": "grey", "LA": "grey", "RGB": "rgb", "RGBA": "rgb", "P": "rgb"}.get(mode, mode)


def _resizable(image: Image.Image) -> Image.Image:
    """The first frame in a mode that resize() filters properly (not palette, not 1-bit, not
    CMYK), keeping transparency where there is any."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.has_transparency_data:
        return image.convert("RGBA")
    if image.mode in ("1", "I;16", "I;16B", "I;16L", "I", "F"):
        return _to_grey(image)
    return image.convert("RGB")


def _to_grey(image: Image.Image) -> Image.Image:
    if image.mode == "1":
        return image.convert("L")
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
