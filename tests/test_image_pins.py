"""Each container image pins its whole closure: every dependency of every pinned package is
itself pinned (``==``), so ``pip install --no-deps -r requirements.txt`` installs all the image
needs, and an image built next month runs what the tests ran.

Checked offline from the metadata of the distributions installed in the test venv
(requirements-dev.txt installs each image's requirements with ``-r``, so the versions are the
pinned ones; a test below fails when they are not). Markers are evaluated for the images'
platform: CPython 3.13 on Linux, arm64 (the default) and x86_64.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import ROOT

IMAGES = sorted(p.parent for p in (ROOT / "containers").glob("*/requirements.txt"))
_PLATFORMS = ("aarch64", "x86_64")


def pins(requirements: Path) -> dict[str, str]:
    """``name -> version`` of a requirements file made only of ``name==version`` lines."""
    pinned: dict[str, str] = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # exactly one specifier ...
        assert specifier.operator == "==", f"{requirements}: {line!r} is not an == pin"
        pinned[canonicalize_name(requirement.name)] = specifier.version
    return pinned


def _environment(machine: str) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": "3.13",
        "python_full_version": "3.13.9",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": machine,
        "extra": "",
    }


def missing_pins(
    pinned: Mapping[str, str], requires: Mapping[str, Iterable[str]], machine: str
) -> list[str]:
    """What a ``--no-deps`` install of ``pinned`` would lack: each dependency (from ``requires``,
    a package's ``Requires-Dist`` lines) that applies on the platform and is not pinned at a
    version it accepts."""
    problems = []
    for name in sorted(pinned):
        for line in requires.get(name, ()):
            dependency = Requirement(line)
            if dependency.marker and not dependency.marker.evaluate(_environment(machine)):
                continue
            dep = canonicalize_name(dependency.name)
            if dep not in pinned:
                problems.append(f"{name} needs {dependency} ({machine}): not pinned")
            elif not dependency.specifier.contains(pinned[dep], prereleases=True):
                problems.append(f"{name} needs {dependency}: pinned {dep}=={pinned[dep]}")
    return problems


def _installed_requires(pinned: Mapping[str, str]) -> dict[str, list[str]]:
    return {name: importlib.metadata.requires(name) or [] for name in pinned}


@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_the_venv_runs_the_versions_the_image_pins(image: Path) -> None:
    pinned = pins(image / "requirements.txt")
    installed = {name: importlib.metadata.version(name) for name in pinned}
    assert installed == pinned


@pytest.mark.parametrize("machine", _PLATFORMS)
@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_every_dependency_of_the_image_is_pinned(image: Path, machine: str) -> None:
    pinned = pins(image / "requirements.txt")
    assert missing_pins(pinned, _installed_requires(pinned), machine) == []


def test_a_dependency_left_unpinned_is_reported() -> None:
    """The check can fail: drop six from the batch job's pins and python-dateutil lacks it."""
    pinned = pins(ROOT / "containers" / "batch_job" / "requirements.txt")
    requires = _installed_requires(pinned)
    del pinned["six"]
    assert missing_pins(pinned, requires, "aarch64") == [
        "python-dateutil needs six>=1.5 (aarch64): not pinned"
    ]


def test_a_pin_outside_a_dependency_range_is_reported() -> None:
    requires = {"boto3": ["botocore<1.45.0,>=1.44.5"]}
    assert missing_pins({"boto3": "1.44.5", "botocore": "1.43.0"}, requires, "x86_64") == [
        "boto3 needs botocore<1.45.0,>=1.44.5: pinned botocore==1.43.0"
    ]


def test_a_marker_for_another_platform_is_skipped() -> None:
    requires = {"app": ['pywin32>=300; sys_platform == "win32"', 'extra-only; extra == "x"']}
    assert missing_pins({"app": "1.0"}, requires, "aarch64") == []
