"""``python -m local thumbnails`` over a folder of generated images."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.support import Synth

# Formats a thumbnail keeps (so its key keeps its name); upper case as some cameras write it.
SIZES = {"wide.png": (800, 600), "photos/small.jpg": (120, 90), "photos/CAMERA.JPG": (1000, 400)}


def test_folder_of_images_gives_a_thumbnail_per_width(synth: Synth, run_mode, tmp_path: Path):
    (function,) = [
        r["Properties"]
        for r in synth.template_json("Thumbnails")["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("PackageType") == "Image"
    ]
    widths = [int(w) for w in function["Environment"]["Variables"]["WIDTHS"].split(",")]
    src, out = tmp_path / "src", tmp_path / "out"
    for name, size in SIZES.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, "teal").save(src / name)
    (src / "notes.txt").write_text("not an image")

    run_mode("Thumbnails", "thumbnails", "--src", str(src), "--out", str(out))

    produced = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert produced == sorted(
        f"thumbnails/{w}/{name}" for w in widths for name in SIZES
    )  # notes.txt matched no suffix filter
    for width in widths:
        for name, (source_w, source_h) in SIZES.items():
            with Image.open(out / f"thumbnails/{width}/{name}") as thumb:
                expected_w = min(width, source_w)  # never upscaled
                assert thumb.size == (expected_w, round(source_h * expected_w / source_w))
