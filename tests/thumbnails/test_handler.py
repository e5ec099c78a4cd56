"""The thumbnail handler run against moto's S3 with images generated here by Pillow: what it
writes to the destination bucket, what it skips, and what it leaves for Lambda to retry."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import struct
import tempfile
import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any, cast
from urllib.parse import quote_plus, unquote

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image, ImageCms, ImageFile, ImageOps

from tests.support import ROOT, LambdaContext, handler_package

SOURCE = "uploads-source"
DESTINATION = "thumbnails-destination"
ENV = {
    "DESTINATION_BUCKET": DESTINATION,
    "DESTINATION_PREFIX": "thumbnails/",
    "SOURCE_PREFIX": "uploads/",
    "WIDTHS": "160,640",
    "OUTPUT_FORMAT": "",
    "QUALITY": "85",
    "MAX_PIXELS": "50000000",
    "MAX_BYTES": str(50 * 1024 * 1024),
    "POWERTOOLS_SERVICE_NAME": "thumbnails",
    "POWERTOOLS_METRICS_NAMESPACE": "ThumbnailPipeline",
}


@pytest.fixture(scope="module")
def handler() -> Iterator[ModuleType]:
    """Import the handler the way the image's CMD does, with the environment the construct sets."""
    with handler_package(ROOT / "containers" / "thumbnail", ENV):
        yield importlib.import_module("thumbnailer.app")


@pytest.fixture
def s3(aws_credentials: None, handler: ModuleType) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=SOURCE)
        client.create_bucket(Bucket=DESTINATION)
        yield client


@pytest.fixture
def settings(handler: ModuleType) -> Any:
    return handler.SETTINGS


# -- helpers ---------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def photo(size: tuple[int, int] = (1200, 800), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: enough structure to check orientation and colour."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image.convert(mode) if mode != "RGB" else image


def upload(s3: Any, key: str, data: bytes, bucket: str = SOURCE) -> dict[str, Any]:
    """Put an object and return the S3 event record for it, keys URL-encoded as S3 sends them."""
    response = s3.put_object(Bucket=bucket, Key=key, Body=data)
    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": len(data),
        "eTag": response["ETag"].strip('"'),
    }
    if "VersionId" in response:
        obj["versionId"] = response["VersionId"]
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": obj},
    }


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def written(s3: Any) -> dict[str, dict[str, Any]]:
    """Every object in the destination bucket: its image, content type and metadata."""
    found = {}
    for item in s3.list_objects_v2(Bucket=DESTINATION).get("Contents", []):
        response = s3.get_object(Bucket=DESTINATION, Key=item["Key"])
        data = response["Body"].read()
        image = Image.open(io.BytesIO(data))
        image.load()
        found[item["Key"]] = {
            "image": image,
            "content_type": response["ContentType"],
            "metadata": response["Metadata"],
        }
    return found


def run(handler: ModuleType, s3: Any, settings: Any, *records: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler.handle_event(event(*records), settings=settings, client=s3)
    return result


def near(pixel: Any, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


# -- the ordinary case -----------------------------------------------------------------------


def test_jpeg_upload_gives_a_jpeg_per_width_keeping_the_aspect_ratio(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    record = upload(s3, "uploads/cat.jpg", encode(photo((1200, 800)), "JPEG"))
    result = run(handler, s3, settings, record)
    out = written(s3)
    assert sorted(out) == ["thumbnails/160/cat.jpg", "thumbnails/640/cat.jpg"]
    assert out["thumbnails/160/cat.jpg"]["image"].size == (160, 107)
    assert out["thumbnails/640/cat.jpg"]["image"].size == (640, 427)
    for thumb in out.values():
        assert thumb["image"].format == "JPEG"
        assert thumb["content_type"] == "image/jpeg"
    assert sorted(result["written"]) == sorted(out)
    assert result["skipped"] == []


def test_thumbnail_metadata_names_its_source(handler: ModuleType, s3: Any, settings: Any) -> None:
    record = upload(s3, "uploads/cat.jpg", encode(photo((1200, 800)), "JPEG"))
    run(handler, s3, settings, record)
    metadata = written(s3)["thumbnails/160/cat.jpg"]["metadata"]
    assert metadata == {
        "source-bucket": SOURCE,
        "source-key": "uploads/cat.jpg",
        "source-etag": record["s3"]["object"]["eTag"],
        "source-width": "1200",
        "source-height": "800",
        "thumbnail-width": "160",
        "thumbnail-height": "107",
    }


def test_lambda_handler_reads_its_settings_from_the_environment(
    handler: ModuleType, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module-level client was made before moto started; moto intercepts it all the same.
    record = upload(s3, "uploads/a.png", encode(photo((800, 400)), "PNG"))
    result = handler.lambda_handler(event(record), LambdaContext())
    assert sorted(result["written"]) == ["thumbnails/160/a.png", "thumbnails/640/a.png"]
    assert sorted(written(s3)) == ["thumbnails/160/a.png", "thumbnails/640/a.png"]


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("uploads/holiday photo.jpg", "holiday photo.jpg"),  # space arrives as "+"
        ("uploads/a+b.jpg", "a+b.jpg"),  # a real "+" arrives as "%2B"
        ("uploads/café/naïve 写真.jpg", "café/naïve 写真.jpg"),  # UTF-8 arrives as %XX
        ("uploads/2024/06/01/deep/nested.jpg", "2024/06/01/deep/nested.jpg"),
        ("uploads/dots.in.name.JPG", "dots.in.name.JPG"),
    ],
)
def test_url_encoded_and_nested_keys_map_to_the_same_path_under_each_width(
    handler: ModuleType, s3: Any, settings: Any, key: str, expected: str
) -> None:
    record = upload(s3, key, encode(photo((400, 300)), "JPEG"))
    run(handler, s3, settings, record)
    assert sorted(written(s3)) == [f"thumbnails/160/{expected}", f"thumbnails/640/{expected}"]


def test_unicode_source_key_is_percent_encoded_in_ascii_metadata(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    key = "uploads/café/naïve 写真.jpg"
    run(handler, s3, settings, upload(s3, key, encode(photo((400, 300)), "JPEG")))
    metadata = written(s3)["thumbnails/160/café/naïve 写真.jpg"]["metadata"]
    assert metadata["source-key"].isascii()
    assert unquote(metadata["source-key"]) == key


def test_uploads_differing_only_in_extension_keep_separate_thumbnails(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    # Four different objects: swapping extensions would give them all thumbnails/*/a.jpg.
    keys = ["uploads/a.jpg", "uploads/a.jpeg", "uploads/a.JPG", "uploads/a.tiff"]
    records = [
        upload(
            s3, key, encode(photo((400 + 100 * i, 300)), "TIFF" if key.endswith("f") else "JPEG")
        )
        for i, key in enumerate(keys)
    ]
    run(handler, s3, settings, *records)
    out = written(s3)
    sources = {k: v["metadata"]["source-key"] for k, v in out.items() if "/160/" in k}
    assert sources == {
        "thumbnails/160/a.jpg": "uploads/a.jpg",
        "thumbnails/160/a.jpeg": "uploads/a.jpeg",
        "thumbnails/160/a.JPG": "uploads/a.JPG",
        "thumbnails/160/a.tiff.jpg": "uploads/a.tiff",
    }
    assert len(out) == 8


def test_key_too_long_for_s3_once_prefixed_is_skipped_before_any_write(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    key = "uploads/" + "é" * 505 + ".jpg"  # 1022 bytes: a valid key; 1029 under thumbnails/640/
    assert len(key.encode()) <= 1024
    result = run(handler, s3, settings, upload(s3, key, encode(photo((400, 300)), "JPEG")))
    assert _skipped(result) == ["key_too_long"]
    assert written(s3) == {}


def test_source_key_too_long_for_metadata_is_linked_by_its_hash(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    # 912 bytes of UTF-8, 2,712 characters percent-encoded: over S3's 2 KB of user metadata,
    # which real S3 (unlike moto) enforces by refusing the PUT.
    key = "uploads/" + "写" * 300 + ".jpg"
    run(handler, s3, settings, upload(s3, key, encode(photo((400, 300)), "JPEG")))
    metadata = written(s3)[f"thumbnails/160/{key.removeprefix('uploads/')}"]["metadata"]
    assert "source-key" not in metadata
    assert metadata["source-key-sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert sum(len(k) + len(v) for k, v in metadata.items()) <= 2048
    assert all(v.isascii() for v in metadata.values())


def test_every_record_of_an_event_is_processed(handler: ModuleType, s3: Any, settings: Any) -> None:
    records = [
        upload(s3, f"uploads/batch/{i}.jpg", encode(photo((300 + i * 10, 200)), "JPEG"))
        for i in range(3)
    ]
    result = run(handler, s3, settings, *records)
    assert len(result["written"]) == 6
    assert sorted(written(s3)) == sorted(
        f"thumbnails/{w}/batch/{i}.jpg" for w in (160, 640) for i in range(3)
    )


# -- image content ---------------------------------------------------------------------------


def test_exif_orientation_is_applied_so_thumbnails_are_upright(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    # Stored 600x300, red left / blue right, tagged "rotate 90 degrees clockwise to display":
    # upright it is 300x600 with red on top.
    exif = Image.Exif()
    exif[0x0112] = 6
    record = upload(s3, "uploads/phone.jpg", encode(photo((600, 300)), "JPEG", exif=exif))
    run(handler, s3, settings, record)
    thumb = written(s3)["thumbnails/160/phone.jpg"]["image"]
    assert thumb.size == (160, 320)
    assert near(thumb.getpixel((80, 40)), (255, 0, 0))
    assert near(thumb.getpixel((80, 280)), (0, 0, 255))


def _quadrants(size: tuple[int, int]) -> Image.Image:
    """Four colours, one per quadrant: no rotation or flip of it looks like another."""
    w, h = size
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, w // 2, h // 2))
    image.paste((0, 160, 0), (w // 2, 0, w, h // 2))
    image.paste((0, 0, 255), (0, h // 2, w // 2, h))
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_the_upright_image(
    handler: ModuleType, s3: Any, settings: Any, orientation: int, fmt: str
) -> None:
    """Pillow's ImageOps.exif_transpose is the oracle. At 160 pixels a 1800x900 JPEG is decoded
    at half scale (draft), where a sideways image's stored width and height are swapped."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = _quadrants((1800, 900))
    key = f"uploads/o{orientation}.{fmt.lower()}"
    small = dataclasses.replace(settings, widths=(160,))
    run(handler, s3, small, upload(s3, key, encode(stored, fmt, exif=exif)))
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(encode(stored, fmt, exif=exif))))
    image = written(s3)[key.replace("uploads/", "thumbnails/160/")]["image"]
    w, h = upright.size
    assert image.size == (160, round(h * 160 / w))
    for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
        expected = cast(tuple[int, int, int], upright.getpixel((int(w * fx), int(h * fy))))
        actual = image.getpixel((int(image.width * fx), int(image.height * fy)))
        assert near(actual, expected, tolerance=60), (fx, fy, actual, expected)


def test_exif_and_gps_are_not_copied_to_thumbnails(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD
    record = upload(s3, "uploads/where.jpg", encode(photo((600, 400)), "JPEG", exif=exif))
    run(handler, s3, settings, record)
    thumb = written(s3)["thumbnails/640/where.jpg"]["image"]
    assert "exif" not in thumb.info
    assert len(thumb.getexif()) == 0


def test_icc_colour_profile_is_kept(handler: ModuleType, s3: Any, settings: Any) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(photo((500, 300)), "JPEG", icc_profile=profile)
    run(handler, s3, settings, upload(s3, "uploads/icc.jpg", data))
    assert written(s3)["thumbnails/160/icc.jpg"]["image"].info["icc_profile"] == profile


def test_cmyk_jpeg_becomes_an_rgb_jpeg(handler: ModuleType, s3: Any, settings: Any) -> None:
    data = encode(photo((500, 300), "CMYK"), "JPEG")
    run(handler, s3, settings, upload(s3, "uploads/print.jpg", data))
    thumb = written(s3)["thumbnails/160/print.jpg"]["image"]
    assert thumb.mode == "RGB"
    assert near(thumb.getpixel((20, 50)), (255, 0, 0), tolerance=60)


def test_palette_png_with_transparency_saved_as_jpeg_is_flattened_on_white(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    image = Image.new("P", (400, 200), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    image.paste(1, (0, 0, 200, 200))  # left half red, right half index 0 = transparent
    data = encode(image, "PNG", transparency=0)
    jpeg_settings = dataclasses.replace(settings, output_format="JPEG")
    run(handler, s3, jpeg_settings, upload(s3, "uploads/logo.png", data))
    out = written(s3)["thumbnails/160/logo.png.jpg"]
    assert out["content_type"] == "image/jpeg"
    assert out["image"].mode == "RGB"
    assert near(out["image"].getpixel((20, 40)), (255, 0, 0))
    assert near(out["image"].getpixel((140, 40)), (255, 255, 255))


def test_rgba_png_keeps_its_alpha_when_the_format_is_preserved(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    image.paste((0, 128, 0, 255), (0, 0, 200, 200))
    run(handler, s3, settings, upload(s3, "uploads/sticker.png", encode(image, "PNG")))
    out = written(s3)["thumbnails/160/sticker.png"]
    assert out["content_type"] == "image/png"
    assert out["image"].mode == "RGBA"
    assert out["image"].getpixel((140, 40))[3] == 0
    assert out["image"].getpixel((20, 40))[3] == 255


def test_rgba_png_saved_as_jpeg_is_flattened_on_white(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    image.paste((0, 128, 0, 255), (0, 0, 200, 200))
    jpeg_settings = dataclasses.replace(settings, output_format="JPEG")
    run(handler, s3, jpeg_settings, upload(s3, "uploads/sticker.png", encode(image, "PNG")))
    thumb = written(s3)["thumbnails/160/sticker.png.jpg"]["image"]
    assert near(thumb.getpixel((140, 40)), (255, 255, 255))
    assert near(thumb.getpixel((20, 40)), (0, 128, 0))


def test_animated_gif_gives_a_still_png_of_the_first_frame(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    frames = [Image.new("RGB", (300, 200), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    run(handler, s3, settings, upload(s3, "uploads/anim.gif", data))
    out = written(s3)
    assert sorted(out) == ["thumbnails/160/anim.gif.png", "thumbnails/640/anim.gif.png"]
    thumb = out["thumbnails/160/anim.gif.png"]["image"]
    assert thumb.format == "PNG"
    assert not getattr(thumb, "is_animated", False)
    assert near(thumb.convert("RGB").getpixel((10, 10)), (255, 0, 0))


def test_animated_webp_gives_a_still_webp_of_the_first_frame(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    frames = [Image.new("RGB", (300, 200), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    run(handler, s3, settings, upload(s3, "uploads/anim.webp", data))
    thumb = written(s3)["thumbnails/160/anim.webp"]
    assert thumb["content_type"] == "image/webp"
    assert not getattr(thumb["image"], "is_animated", False)
    assert near(thumb["image"].convert("RGB").getpixel((10, 10)), (255, 0, 0))


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    image = Image.new("I;16", (400, 200), 1000)
    image.paste(60000, (200, 0, 400, 200))
    run(handler, s3, settings, upload(s3, "uploads/scan.png", encode(image, "PNG")))
    thumb = written(s3)["thumbnails/160/scan.png"]["image"].convert("L")
    dark, bright = thumb.getpixel((20, 40)), thumb.getpixel((140, 40))
    assert isinstance(dark, int)
    assert isinstance(bright, int)
    assert dark < 20
    assert bright > 235


# -- configuration ---------------------------------------------------------------------------


def test_widths_are_configurable_and_never_upscale(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    custom = dataclasses.replace(settings, widths=(64, 300, 5000))
    run(handler, s3, custom, upload(s3, "uploads/small.jpg", encode(photo((1000, 500)), "JPEG")))
    sizes = {k: v["image"].size for k, v in written(s3).items()}
    assert sizes == {
        "thumbnails/64/small.jpg": (64, 32),
        "thumbnails/300/small.jpg": (300, 150),
        "thumbnails/5000/small.jpg": (1000, 500),
    }


@pytest.mark.parametrize(
    ("chosen", "extension", "content_type"),
    [
        ("WEBP", "jpg.webp", "image/webp"),
        ("PNG", "jpg.png", "image/png"),
        ("JPEG", "jpg", "image/jpeg"),
    ],
)
def test_output_format_can_be_chosen(
    handler: ModuleType,
    s3: Any,
    settings: Any,
    chosen: str,
    extension: str,
    content_type: str,
) -> None:
    custom = dataclasses.replace(settings, output_format=chosen)
    run(handler, s3, custom, upload(s3, "uploads/x.jpg", encode(photo((400, 300)), "JPEG")))
    out = written(s3)[f"thumbnails/160/x.{extension}"]
    assert out["content_type"] == content_type
    assert out["image"].format == chosen


@pytest.mark.parametrize(
    ("source_format", "key", "expected_key", "expected_format"),
    [
        ("PNG", "uploads/a.png", "thumbnails/160/a.png", "PNG"),
        ("WEBP", "uploads/a.webp", "thumbnails/160/a.webp", "WEBP"),
        ("TIFF", "uploads/a.tiff", "thumbnails/160/a.tiff.jpg", "JPEG"),
        ("BMP", "uploads/a.bmp", "thumbnails/160/a.bmp.jpg", "JPEG"),
    ],
)
def test_source_format_is_preserved_where_it_suits_thumbnails(
    handler: ModuleType,
    s3: Any,
    settings: Any,
    source_format: str,
    key: str,
    expected_key: str,
    expected_format: str,
) -> None:
    run(handler, s3, settings, upload(s3, key, encode(photo((400, 300)), source_format)))
    assert written(s3)[expected_key]["image"].format == expected_format


def test_settings_reject_a_bad_environment(handler: ModuleType) -> None:
    config = importlib.import_module("thumbnailer.config")
    with pytest.raises(config.ConfigError, match="widths"):
        config.Settings.from_env({**ENV, "WIDTHS": "0,100"})
    with pytest.raises(config.ConfigError, match="number"):
        config.Settings.from_env({**ENV, "QUALITY": "high"})
    with pytest.raises(config.ConfigError, match="output format"):
        config.Settings.from_env({**ENV, "OUTPUT_FORMAT": "gif"})
    with pytest.raises(config.ConfigError, match="DESTINATION_BUCKET"):
        config.Settings.from_env({**ENV, "DESTINATION_BUCKET": ""})


# -- objects that are skipped, not retried ---------------------------------------------------


def _skipped(result: dict[str, Any]) -> list[str]:
    return [s["reason"] for s in result["skipped"]]


def test_zero_byte_object_is_skipped(handler: ModuleType, s3: Any, settings: Any) -> None:
    result = run(handler, s3, settings, upload(s3, "uploads/empty.jpg", b""))
    assert _skipped(result) == ["empty"]
    assert written(s3) == {}


def test_non_image_is_skipped(handler: ModuleType, s3: Any, settings: Any) -> None:
    data = b"%PDF-1.7\n" + b"not an image " * 100
    result = run(handler, s3, settings, upload(s3, "uploads/report.jpg", data))
    assert _skipped(result) == ["not_an_image"]
    assert written(s3) == {}


def test_formats_outside_the_allow_list_are_not_parsed(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    # Pillow can read ICO, but nothing outside the allow-list reaches a decoder here.
    data = encode(photo((64, 64)), "ICO")
    result = run(handler, s3, settings, upload(s3, "uploads/favicon.png", data))
    assert _skipped(result) == ["not_an_image"]


def test_truncated_jpeg_is_skipped_as_corrupt(handler: ModuleType, s3: Any, settings: Any) -> None:
    data = encode(photo((800, 600)), "JPEG")
    result = run(handler, s3, settings, upload(s3, "uploads/cut.jpg", data[: len(data) // 2]))
    assert _skipped(result) == ["corrupt"]
    assert written(s3) == {}


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few dozen bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_beyond_pillows_limit_is_skipped(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    data = _png_header_only(100_000, 100_000)  # 10 gigapixels in 79 bytes
    assert len(data) < 100
    result = run(handler, s3, settings, upload(s3, "uploads/bomb.png", data))
    assert _skipped(result) == ["too_many_pixels"]
    assert written(s3) == {}


def test_image_over_the_configured_pixel_limit_is_skipped_before_decoding(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    strict = dataclasses.replace(settings, max_pixels=1_000_000)
    data = _png_header_only(2_000, 1_000)  # 2 MP: under Pillow's limit, over ours
    result = run(handler, s3, strict, upload(s3, "uploads/big.png", data))
    assert _skipped(result) == ["too_many_pixels"]
    assert written(s3) == {}


def test_object_over_the_size_limit_is_skipped_without_reading_it(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    class NoReads:
        def get_object(self, **_: Any) -> Any:
            raise AssertionError("an oversized object must not be downloaded")

    small = dataclasses.replace(settings, max_bytes=1000)
    record = upload(s3, "uploads/huge.jpg", encode(photo((800, 600)), "JPEG"))
    result = handler.handle_event(event(record), settings=small, client=NoReads())
    assert _skipped(result) == ["too_large"]


def test_a_large_object_is_read_once_in_chunks_into_a_spool_that_spills_to_disk(
    handler: ModuleType, s3: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One copy of the object, never two: chunks go straight into the spool, which moves to
    /tmp past SPOOL_IN_MEMORY (shrunk here from 32 MiB) and is closed once rendered."""
    spools: list[Any] = []
    spooled = tempfile.SpooledTemporaryFile

    def spy(*args: Any, **kwargs: Any) -> Any:
        spool = spooled(*args, **kwargs)
        if kwargs.get("max_size") == 64 * 1024:  # the handler's, not moto's own storage
            spools.append(spool)
        return spool

    monkeypatch.setattr(handler, "SPOOL_IN_MEMORY", 64 * 1024)
    monkeypatch.setattr(handler, "READ_CHUNK", 16 * 1024)
    monkeypatch.setattr(handler.tempfile, "SpooledTemporaryFile", spy)
    noisy = Image.effect_noise((1000, 800), 60).convert("RGB")
    data = encode(noisy, "JPEG", quality=95)
    assert len(data) > 4 * 64 * 1024
    run(handler, s3, settings, upload(s3, "uploads/large.jpg", data))
    (spool,) = spools
    assert spool._rolled  # on disk, not in memory
    assert spool.closed
    assert written(s3)["thumbnails/640/large.jpg"]["metadata"]["source-width"] == "1000"


def test_size_limit_holds_when_the_event_has_no_size(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    small = dataclasses.replace(settings, max_bytes=1000)
    record = upload(s3, "uploads/huge.jpg", encode(photo((800, 600)), "JPEG"))
    del record["s3"]["object"]["size"]
    result = run(handler, s3, small, record)
    assert _skipped(result) == ["too_large"]
    assert written(s3) == {}


def test_object_deleted_before_processing_is_skipped(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    record = upload(s3, "uploads/gone.jpg", encode(photo((300, 200)), "JPEG"))
    s3.delete_object(Bucket=SOURCE, Key="uploads/gone.jpg")
    result = run(handler, s3, settings, record)
    assert _skipped(result) == ["gone"]


def test_object_replaced_since_the_event_is_left_to_its_own_event(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    old = upload(s3, "uploads/same.jpg", encode(photo((300, 200)), "JPEG"))
    new = upload(s3, "uploads/same.jpg", encode(photo((500, 200)), "JPEG"))
    result = run(handler, s3, settings, old)
    assert _skipped(result) == ["replaced"]
    assert written(s3) == {}
    run(handler, s3, settings, new)
    assert written(s3)["thumbnails/640/same.jpg"]["metadata"]["source-width"] == "500"


def test_versioned_bucket_reads_the_exact_version_of_the_event(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    s3.put_bucket_versioning(Bucket=SOURCE, VersioningConfiguration={"Status": "Enabled"})
    first = upload(s3, "uploads/v.jpg", encode(photo((300, 200)), "JPEG"))
    upload(s3, "uploads/v.jpg", encode(photo((500, 200)), "JPEG"))
    run(handler, s3, settings, first)
    metadata = written(s3)["thumbnails/640/v.jpg"]["metadata"]
    assert metadata["source-width"] == "300"
    assert metadata["source-version-id"] == first["s3"]["object"]["versionId"]


def test_own_output_never_triggers_more_thumbnails(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    record = upload(
        s3, "thumbnails/160/cat.jpg", encode(photo((160, 100)), "JPEG"), bucket=DESTINATION
    )
    result = run(handler, s3, settings, record)
    assert _skipped(result) == ["own_output"]
    assert sorted(written(s3)) == ["thumbnails/160/cat.jpg"]


def test_keys_outside_the_source_prefix_are_skipped(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    result = run(handler, s3, settings, upload(s3, "other/x.jpg", encode(photo(), "JPEG")))
    assert _skipped(result) == ["outside_prefix"]
    assert written(s3) == {}


def test_s3_test_event_and_other_event_types_do_nothing(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": SOURCE}
    assert handler.handle_event(test_event, settings=settings, client=s3) == {
        "written": [],
        "skipped": [],
    }
    removed = upload(s3, "uploads/x.jpg", encode(photo(), "JPEG"))
    removed["eventName"] = "ObjectRemoved:Delete"
    assert _skipped(run(handler, s3, settings, removed)) == ["not_object_created"]
    assert written(s3) == {}


# -- failures that are retried ---------------------------------------------------------------


class FlakyPuts:
    """An S3 client whose PutObject is throttled for keys containing ``fail``."""

    def __init__(self, client: Any, fail: str) -> None:
        self._client = client
        self._fail = fail

    def get_object(self, **kwargs: Any) -> Any:
        return self._client.get_object(**kwargs)

    def put_object(self, **kwargs: Any) -> Any:
        if self._fail in kwargs["Key"]:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "PutObject")
        return self._client.put_object(**kwargs)


def test_a_transient_failure_retries_the_event_after_finishing_the_other_records(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    good = upload(s3, "uploads/good.jpg", encode(photo((300, 200)), "JPEG"))
    bad = upload(s3, "uploads/fail.jpg", encode(photo((300, 200)), "JPEG"))
    with pytest.raises(handler.RetryLater, match="1 of 2 objects failed"):
        handler.handle_event(event(bad, good), settings=settings, client=FlakyPuts(s3, "fail"))
    assert sorted(written(s3)) == ["thumbnails/160/good.jpg", "thumbnails/640/good.jpg"]


def test_a_retry_rewrites_the_same_keys_with_the_same_bytes(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    record = upload(s3, "uploads/again.jpg", encode(photo((300, 200)), "JPEG"))
    run(handler, s3, settings, record)
    first = s3.get_object(Bucket=DESTINATION, Key="thumbnails/160/again.jpg")["Body"].read()
    run(handler, s3, settings, record)
    second = s3.get_object(Bucket=DESTINATION, Key="thumbnails/160/again.jpg")["Body"].read()
    assert first == second
    assert len(written(s3)) == 2


def test_missing_read_permission_is_retried_not_skipped(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    class Denied:
        def get_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    record = upload(s3, "uploads/x.jpg", encode(photo(), "JPEG"))
    with pytest.raises(handler.RetryLater):
        handler.handle_event(event(record), settings=settings, client=Denied())


# -- speed without losing quality ------------------------------------------------------------


@pytest.mark.parametrize(
    ("widths", "decoded"),
    [
        ((160, 640), (2000, 1500)),  # 1/2: twice 640, where 1/4 would lose detail
        ((256, 512, 1024), (2000, 1500)),  # 1/2 holds 1024 without a full-size decode
        ((256,), (1000, 750)),  # 1/4: twice 256
        ((160,), (500, 375)),  # 1/8: over twice 160
        ((3000,), (4000, 3000)),  # no smaller scale holds 3000
    ],
)
def test_jpegs_are_decoded_at_a_reduced_scale(
    handler: ModuleType,
    s3: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    widths: tuple[int, ...],
    decoded: tuple[int, int],
) -> None:
    """libjpeg's DCT scaling (draft) is what makes big JPEGs fast: one decode, at the smallest
    scale that keeps the headroom imaging._dct_scale documents (bench/thumbnails.py measures
    the quality), for every width."""
    from PIL import JpegImagePlugin

    sizes: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: Any, mode: Any, size: Any) -> Any:
        result = original(self, mode, size)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    custom = dataclasses.replace(settings, widths=widths)
    data = encode(photo((4000, 3000)), "JPEG")
    run(handler, s3, custom, upload(s3, "uploads/big.jpg", data))
    assert sizes == [decoded]
    out = written(s3)
    for width in widths:
        thumb = out[f"thumbnails/{width}/big.jpg"]["image"]
        w = min(width, 4000)
        assert thumb.size == (w, w * 3 // 4)
        assert near(thumb.getpixel((w - 5, w // 4)), (0, 0, 255))


def test_large_pngs_are_reduced_in_full_to_each_width(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    # draft() is JPEG-only; other formats decode in full and resize(reducing_gap) does the rest.
    run(handler, s3, settings, upload(s3, "uploads/p.png", encode(photo((1600, 1200)), "PNG")))
    out = written(s3)
    assert out["thumbnails/640/p.png"]["image"].size == (640, 480)
    assert out["thumbnails/160/p.png"]["image"].size == (160, 120)
    assert near(out["thumbnails/160/p.png"]["image"].getpixel((150, 60)), (0, 0, 255))


# -- images that can never work: rejected once, never retried (issue 16) ---------------------


def _exif(tag: int, kind: int, count: int, value: bytes) -> bytes:
    """A little-endian EXIF block with one IFD entry of any TIFF type (3 SHORT, 5 RATIONAL,
    11 FLOAT, 12 DOUBLE, ...): Pillow's Exif writer refuses the odd ones this needs."""
    if len(value) <= 4:
        entry = struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        data = b""
    else:  # stored after the IFD: 8 (header) + 2 (count) + 12 (entry) + 4 (next IFD)
        entry = struct.pack("<HHII", tag, kind, count, 26)
        data = value
    return b"Exif\0\0II*\0" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0) + data


def _tall(fmt: str, size: tuple[int, int] = (1, 70_000), **options: Any) -> bytes:
    return encode(Image.new("RGB", size, (10, 20, 30)), fmt, **options)


@pytest.mark.parametrize(
    ("source", "output_format"),
    [
        pytest.param(_tall("BMP"), None, id="1x70000 BMP to JPEG over 65500 px"),
        pytest.param(_tall("TIFF"), None, id="1x70000 TIFF to JPEG over 65500 px"),
        pytest.param(_tall("PNG"), "JPEG", id="1x70000 PNG to JPEG over 65500 px"),
        pytest.param(_tall("PNG", (1, 16_384)), "WEBP", id="1x16384 PNG to WEBP over 16383 px"),
        pytest.param(_tall("GIF", (1, 16_384)), "WEBP", id="1x16384 GIF to WEBP over 16383 px"),
        pytest.param(
            _tall("PNG", (70_000, 1), exif=_exif(0x0112, 3, 1, struct.pack("<H", 6))),
            "JPEG",
            id="70000x1 PNG upright by EXIF to JPEG over 65500 px",
        ),
    ],
)
def test_thumbnail_beyond_the_output_formats_limit_is_rejected(
    handler: ModuleType, s3: Any, settings: Any, source: bytes, output_format: str | None
) -> None:
    custom = dataclasses.replace(settings, output_format=output_format, widths=(160,))
    result = run(handler, s3, custom, upload(s3, "uploads/tall.img", source))
    assert _skipped(result) == ["too_large_for_format"]
    assert written(s3) == {}


def test_a_tall_image_within_the_formats_limit_is_thumbnailed(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    custom = dataclasses.replace(settings, output_format="WEBP", widths=(160,))
    run(handler, s3, custom, upload(s3, "uploads/tall.png", _tall("PNG", (1, 16_383))))
    assert written(s3)["thumbnails/160/tall.png.webp"]["image"].size == (1, 16_383)


_INF, _NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    ("kind", "count", "value", "upright"),
    [
        pytest.param(12, 1, struct.pack("<d", _INF), False, id="DOUBLE +inf"),
        pytest.param(12, 1, struct.pack("<d", -_INF), False, id="DOUBLE -inf"),
        pytest.param(12, 1, struct.pack("<d", _NAN), False, id="DOUBLE NaN"),
        pytest.param(12, 1, struct.pack("<d", 1e308), False, id="DOUBLE 1e308"),
        pytest.param(11, 1, struct.pack("<f", _INF), False, id="FLOAT +inf"),
        pytest.param(12, 1, struct.pack("<d", 6.0), True, id="DOUBLE 6.0"),
        pytest.param(5, 1, struct.pack("<II", 6, 0), False, id="RATIONAL 6/0"),
        pytest.param(5, 1, struct.pack("<II", 6, 1), True, id="RATIONAL 6/1"),
        pytest.param(10, 1, struct.pack("<ii", -6, 1), False, id="SRATIONAL -6/1"),
        pytest.param(8, 1, struct.pack("<h", -1), False, id="SSHORT -1"),
        pytest.param(9, 1, struct.pack("<i", -(2**31)), False, id="SLONG min"),
        pytest.param(4, 1, struct.pack("<I", 2**32 - 1), False, id="LONG max"),
        pytest.param(3, 1, struct.pack("<H", 0), False, id="SHORT 0"),
        pytest.param(3, 1, struct.pack("<H", 9), False, id="SHORT 9"),
        pytest.param(3, 2, struct.pack("<HH", 6, 6), True, id="SHORT x2, the first read"),
        pytest.param(2, 2, b"6\0", False, id="ASCII 6"),
        pytest.param(7, 4, b"\xff\xfe\x00\x06", False, id="UNDEFINED bytes"),
        pytest.param(1, 1, b"\x06", False, id="BYTE 6, read as bytes"),
    ],
)
@pytest.mark.filterwarnings("ignore:Metadata Warning")
def test_any_exif_orientation_value_gives_a_thumbnail(
    handler: ModuleType, s3: Any, settings: Any, kind: int, count: int, value: bytes, upright: bool
) -> None:
    """The tag is metadata: a value that is not one of the eight orientations is ignored (the
    image is shown as stored, as browsers do), never an exception, never a retry."""
    data = encode(photo((600, 300)), "JPEG", exif=_exif(0x0112, kind, count, value))
    small = dataclasses.replace(settings, widths=(160,))
    result = run(handler, s3, small, upload(s3, "uploads/o.jpg", data))
    assert result["skipped"] == []
    assert written(s3)["thumbnails/160/o.jpg"]["image"].size == (
        (160, 320) if upright else (160, 80)
    )


@pytest.mark.parametrize(
    "exif",
    [
        pytest.param(b"Exif\0\0II*\0" + struct.pack("<IH", 8, 500), id="IFD cut short"),
        pytest.param(b"Exif\0\0MM\0*" + struct.pack(">I", 2**31), id="IFD offset past the end"),
        pytest.param(b"Exif\0\0XX", id="no TIFF header"),
        pytest.param(_exif(0x8769, 4, 1, struct.pack("<I", 8)), id="Exif IFD pointing to itself"),
    ],
)
def test_a_malformed_exif_block_still_gives_a_thumbnail(
    handler: ModuleType, s3: Any, settings: Any, exif: bytes
) -> None:
    data = encode(photo((600, 300)), "JPEG", exif=exif)
    run(handler, s3, settings, upload(s3, "uploads/e.jpg", data))
    assert written(s3)["thumbnails/160/e.jpg"]["image"].size == (160, 80)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])
@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_a_truncated_file_of_any_format_is_rejected_never_retried(
    handler: ModuleType, s3: Any, settings: Any, fmt: str, keep: float
) -> None:
    data = encode(Image.effect_noise((300, 200), 50).convert("RGB"), fmt)
    cut = data[: int(len(data) * keep)]
    result = run(handler, s3, settings, upload(s3, f"uploads/cut.{fmt.lower()}", cut))
    assert _skipped(result) in (["corrupt"], ["not_an_image"])
    assert written(s3) == {}


@pytest.mark.parametrize(
    "error",
    [
        OSError("encoder error -2"),
        ValueError("encoding error 5"),
        OverflowError("cannot convert float infinity to integer"),
        struct.error("unpack requires a buffer of 4 bytes"),
        KeyError("tile"),
        IndexError("list index out of range"),
        ZeroDivisionError("division by zero"),
        TypeError("unhashable type"),
        RecursionError("maximum recursion depth exceeded"),
        EOFError(),
        SyntaxError("not a TIFF file"),
    ],
    ids=lambda err: type(err).__name__,
)
@pytest.mark.parametrize("stage", ["load", "resize", "transpose", "save"])
def test_whatever_pillow_raises_on_an_image_is_a_rejection(
    handler: ModuleType,
    s3: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    stage: str,
) -> None:
    """Rendering is a pure function of the object's bytes: whatever it raises, it would raise
    on every retry. The class, not a list of the types seen so far."""

    def fail(*_: Any, **__: Any) -> Any:
        raise error

    exif = _exif(0x0112, 3, 1, struct.pack("<H", 6))  # so that transpose runs
    record = upload(s3, "uploads/x.jpg", encode(photo((600, 300)), "JPEG", exif=exif))
    target = ImageFile.ImageFile if stage == "load" else Image.Image
    monkeypatch.setattr(target, stage, fail)
    result = run(handler, s3, settings, record)
    assert _skipped(result) == ["corrupt"]
    assert written(s3) == {}


def test_running_out_of_memory_is_retried_not_rejected(
    handler: ModuleType, s3: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MemoryError is the function's memory size, not the image (max_pixels keeps every image
    within it): a deployment fault for the error alarm, not a silent skip."""

    def fail(*_: Any, **__: Any) -> Any:
        raise MemoryError

    record = upload(s3, "uploads/x.jpg", encode(photo((600, 300)), "JPEG"))
    monkeypatch.setattr(Image.Image, "resize", fail)
    with pytest.raises(handler.RetryLater):
        run(handler, s3, settings, record)


# -- 16-bit images (issue 16) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("I;16", "PNG"),
        ("I;16", "TIFF"),
        ("I;16B", "TIFF"),
        ("I;16L", "TIFF"),
        ("I", "TIFF"),
    ],
)
def test_every_sixteen_bit_layout_is_scaled_not_rejected(
    handler: ModuleType, s3: Any, settings: Any, mode: str, fmt: str
) -> None:
    image = Image.new(mode, (400, 200), 1000)
    image.paste(60000, (200, 0, 400, 200))
    data = encode(image, fmt)
    assert Image.open(io.BytesIO(data)).mode in (mode, "I;16", "I")
    result = run(handler, s3, settings, upload(s3, f"uploads/scan.{fmt.lower()}", data))
    assert result["skipped"] == []
    key = "thumbnails/160/scan.png" if fmt == "PNG" else "thumbnails/160/scan.tiff.jpg"
    thumb = written(s3)[key]["image"].convert("L")
    assert cast(int, thumb.getpixel((20, 40))) < 20
    assert cast(int, thumb.getpixel((140, 40))) > 235


# -- one record, one outcome (issue 16) ------------------------------------------------------


def _malformed(good: dict[str, Any]) -> list[Any]:
    """Records S3 never sends, each beside a good one."""
    obj = good["s3"]["object"]
    return [
        {**good, "s3": None},
        {**good, "s3": "x"},
        {**good, "s3": {"bucket": None, "object": obj}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": None}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "key": None}}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "key": 7}}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "key": "uploads/\ud800"}}},
        {**good, "s3": {"bucket": {"name": 7}, "object": obj}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "size": "12"}}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "size": -1}}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "eTag": "é"}}},
        {**good, "s3": {"bucket": {"name": SOURCE}, "object": {**obj, "versionId": 3}}},
        {**good, "eventName": None},
        None,
        "uploads/a.jpg",
        ["a"],
    ]


def test_each_malformed_record_is_rejected_once_and_the_others_still_processed(
    handler: ModuleType, s3: Any, settings: Any
) -> None:
    good = upload(s3, "uploads/good.jpg", encode(photo((300, 200)), "JPEG"))
    bad = _malformed(good)
    records = [item for record in bad for item in (record, good)]
    result = handler.handle_event({"Records": records}, settings=settings, client=s3)
    assert len(result["skipped"]) == len(bad)
    assert {s["reason"] for s in result["skipped"]} == {"malformed_record", "not_object_created"}
    assert result["written"] == ["thumbnails/640/good.jpg", "thumbnails/160/good.jpg"] * len(bad)
    assert sorted(written(s3)) == ["thumbnails/160/good.jpg", "thumbnails/640/good.jpg"]


@pytest.mark.parametrize(
    "event_",
    [None, [], "x", {"Records": None}, {"Records": {}}, {"Records": "x"}, {"Records": 3}],
    ids=repr,
)
def test_a_malformed_event_is_never_an_exception(
    handler: ModuleType, s3: Any, settings: Any, event_: Any
) -> None:
    result = handler.handle_event(event_, settings=settings, client=s3)
    assert result["written"] == []
    assert written(s3) == {}


def test_a_malformed_record_beside_a_throttled_one_is_rejected_and_the_event_retried(
    handler: ModuleType, s3: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    good = upload(s3, "uploads/good.jpg", encode(photo((300, 200)), "JPEG"))
    throttled = upload(s3, "uploads/fail.jpg", encode(photo((300, 200)), "JPEG"))
    malformed = {**good, "s3": None}
    with pytest.raises(handler.RetryLater, match=r"1 of 3 objects failed: \['uploads/fail.jpg'\]"):
        handler.handle_event(
            event(malformed, throttled, good), settings=settings, client=FlakyPuts(s3, "fail")
        )
    assert sorted(written(s3)) == ["thumbnails/160/good.jpg", "thumbnails/640/good.jpg"]
    skipped = [r for r in caplog.records if r.getMessage() == "object skipped"]
    assert len(skipped) == 1
