"""Every container image's ``pip install`` resolves, wheels only, for the platform its stack
deploys it on: the CPU architecture from the synthesized templates (task definition, job
definition, function) and the base image's CPython and glibc from the Dockerfile's ``FROM``.

The images are built only at ``cdk deploy`` (never on this machine), so this is what stops an
arm64 image from shipping a requirement that has no aarch64 wheel, or a CPython upgrade of the
base image from leaving a pinned package without a wheel for it. pip resolves against the
package index (``--dry-run``, nothing is installed), as the Dockerfile's own install would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from integ.snapshots import integ_files, snapshot_dir
from tests.support import ROOT, Synth

CONTAINERS = ROOT / "containers"
# Image folder -> the stack that deploys it.
IMAGES = {"batch_job": "BatchJobs", "thumbnail": "Thumbnails", "web": "ContainerService"}
# The glibc each base image ships, which caps the manylinux wheels it can load: Debian 12
# "bookworm" 2.36 and Debian 13 "trixie" 2.41 (packages.debian.org, libc6), the Lambda
# python3.13 image's Amazon Linux 2023 2.34 (AL2023 release notes).
GLIBC = {"bookworm": 36, "trixie": 41, "public.ecr.aws/lambda/python": 34}
_FROM = re.compile(r"^FROM\s+(?P<image>\S+?):(?P<tag>\S+)", re.MULTILINE)
_GRAVITON = re.compile(r"^[a-z]+\d+g")  # c7g, m7g.large, c6gn: the Graviton families


def base_image(dockerfile: Path) -> tuple[str, int]:
    """(CPython "3.13", glibc minor) of the stage that runs ``pip install``."""
    text = dockerfile.read_text()
    install = re.search(r"^RUN .*\bpip\b.*\binstall\b", text, re.MULTILINE)
    assert install is not None, f"{dockerfile}: no RUN pip install"
    stage = [m for m in _FROM.finditer(text) if m.start() < install.start()][-1]
    python = re.match(r"\d+\.\d+", stage["tag"])
    assert python is not None, f"{dockerfile}: no CPython version in FROM {stage[0]}"
    glibc = [v for k, v in GLIBC.items() if k == stage["image"] or k in stage["tag"]]
    assert glibc, f"{dockerfile}: FROM {stage[0]}: add its glibc to GLIBC"
    return python[0], glibc[0]


def architectures(template: dict[str, Any], image: str) -> set[str]:
    """The CPU architectures (aarch64 / x86_64) the stack runs the image on."""
    found: set[str] = set()
    instance_types: list[str] = []
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::ECS::TaskDefinition" and image == "web":
            found.add(props["RuntimePlatform"]["CpuArchitecture"])
        elif kind == "AWS::Batch::JobDefinition" and image == "batch_job":
            platform = props["ContainerProperties"].get("RuntimePlatform")
            found.add(platform["CpuArchitecture"] if platform else "EC2")
        elif kind == "AWS::Batch::ComputeEnvironment":
            instance_types += props.get("ComputeResources", {}).get("InstanceTypes", [])
        elif kind == "AWS::Lambda::Function" and props.get("PackageType") == "Image":
            found.update(props.get("Architectures", ["x86_64"]))
    if "EC2" in found:  # on EC2 the instances decide: Graviton types are arm64
        found.discard("EC2")
        found.update("ARM64" if _GRAVITON.match(t) else "X86_64" for t in instance_types)
    return {"aarch64" if a.lower() in ("arm64", "aarch64") else "x86_64" for a in found}


def resolve(
    requirements: Path, arch: str, python: str, glibc: int, target: Path
) -> subprocess.CompletedProcess[str]:
    # pip takes --platform literally: every manylinux tag the image's glibc can load is listed.
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 4, -1)]
    platforms += [f"manylinux2014_{arch}"] + (
        ["manylinux2010_x86_64", "manylinux1_x86_64"] if arch == "x86_64" else []
    )
    return subprocess.run(  # noqa: S603 - this interpreter's pip, fixed arguments
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--only-binary=:all:",
            *[f"--platform={p}" for p in platforms],
            f"--python-version={python}",
            "--implementation=cp",
            "--target",
            str(target),
            "--quiet",
            "--report",
            "-",
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _deployed_templates(synth: Synth, stack: str) -> list[dict[str, Any]]:
    """The stack as the app synthesizes it, and each of its integ variants (their snapshots)."""
    templates = [synth.template_json(stack)]
    for integ_file in integ_files():
        for path in snapshot_dir(integ_file).glob("Integ*.template.json"):
            if stack in path.name:  # Integ<Stack><Variant>.template.json
                templates.append(json.loads(path.read_text()))
    return templates


def _failure(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    return "\n".join(lines[-3:]) or result.stderr[-1000:]


def test_every_dockerfile_is_checked():
    assert {p.parent.name for p in CONTAINERS.glob("*/Dockerfile")} == set(IMAGES)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_requirements_resolve_to_wheels_for_its_platform(
    synth: Synth, image: str, tmp_path: Path
):
    python, glibc = base_image(CONTAINERS / image / "Dockerfile")
    archs = set().union(
        *(architectures(t, image) for t in _deployed_templates(synth, IMAGES[image]))
    )
    assert archs, f"no resource of {IMAGES[image]} runs the {image} image"
    for arch in sorted(archs):
        result = resolve(CONTAINERS / image / "requirements.txt", arch, python, glibc, tmp_path)
        assert result.returncode == 0, (
            f"containers/{image}/requirements.txt has no wheel for linux {arch} / CPython "
            f"{python} / glibc 2.{glibc} ({IMAGES[image]} runs it there):\n{_failure(result)}"
        )
        report = json.loads(result.stdout)
        assert all(i["download_info"]["url"].endswith(".whl") for i in report["install"])


def test_a_requirement_without_an_aarch64_wheel_fails_for_arm64(tmp_path: Path):
    # mkl (Intel's math library) ships x86_64 wheels only: resolvable for an x86_64 image, not
    # for an arm64 one. The check must tell the two apart.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("mkl==2026.2.1\n")
    with ThreadPoolExecutor(2) as pool:  # two index look-ups: at once
        x86, arm = pool.map(
            lambda arch: resolve(requirements, arch, "3.13", 36, tmp_path / arch),
            ("x86_64", "aarch64"),
        )
    assert x86.returncode == 0, _failure(x86)
    assert arm.returncode != 0
    assert "mkl" in _failure(arm)


def test_architectures_of_an_ec2_job_follow_its_instance_types():
    template = {
        "Resources": {
            "Job": {
                "Type": "AWS::Batch::JobDefinition",
                "Properties": {"ContainerProperties": {}},
            },
            "Env": {
                "Type": "AWS::Batch::ComputeEnvironment",
                "Properties": {"ComputeResources": {"InstanceTypes": ["c7g", "m7g.large"]}},
            },
        }
    }
    assert architectures(template, "batch_job") == {"aarch64"}


def test_base_image_reads_cpython_and_glibc_from_the_from_line():
    assert base_image(CONTAINERS / "thumbnail" / "Dockerfile") == ("3.13", 34)
