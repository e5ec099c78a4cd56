"""Lambda code without Docker: ``lambda_code`` makes a handler folder a zip asset, copies the
runtime helpers (``runtime/``: ``tracing.py``, ``clients.py``) into each of its packages and, when
the folder pins a requirements.txt, bundles the wheels of those requirements for Lambda's
platform, installed at synth by pip (wheels only) and cached per lock hash."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# What every house function runs on (python_function): the wheels bundled for it must match.
LAMBDA_PLATFORM = "manylinux2014_aarch64"


LAMBDA_PYTHON = "3.13"


REQUIREMENTS = "requirements.txt"


_SKIPPED = ("__pycache__", ".pyc", ".pytest_cache", ".mypy_cache")


# The helpers every handler package imports as its own modules (``from . import tracing``): one
# source here, copied into each package of the asset at bundling, so the copies cannot drift.
RUNTIME_HELPERS = Path(__file__).resolve().parent / "runtime"


# Wheels for the Lambda platform only, whatever this machine is; no .pyc for this machine's
# Python (Lambda's 3.13 would not use them, and they would make bundles differ).
_PIP_INSTALL = (
    *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
    *("--no-compile", "--only-binary=:all:", "--implementation", "cp"),
    *("--platform", LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON),
)


def bundle_cache_dir() -> Path:
    """Where installed dependencies are kept between synths, one folder per lock hash:
    ``$CDK_BUNDLE_CACHE``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)/aws-cdk-reference/bundles."""
    explicit = os.environ.get("CDK_BUNDLE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aws-cdk-reference" / "bundles"


def _source_files(code_path: Path) -> list[Path]:
    return sorted(
        p
        for p in code_path.rglob("*")
        if p.is_file()
        and not any(part.endswith(_SKIPPED) for part in p.relative_to(code_path).parts)
    )


def helper_files() -> list[Path]:
    """The runtime helpers' sources (``*.py`` only: never a byte-compiled file)."""
    return sorted(RUNTIME_HELPERS.glob("*.py"))


def handler_packages(code_path: Path) -> list[Path]:
    """The packages of a handler folder: its subfolders with an ``__init__.py``."""
    return sorted(p for p in code_path.iterdir() if (p / "__init__.py").is_file())


def asset_files(code_path: Path) -> list[tuple[str, Path]]:
    """Every file of the asset but the installed wheels, as (path in the asset, source): the
    folder's sources (not its requirements.txt) and the runtime helpers in each package.

    A package holding its own copy of a helper is a ``ValueError``: the copies would drift.
    """
    files = [
        (path.relative_to(code_path).as_posix(), path)
        for path in _source_files(code_path)
        if path.relative_to(code_path).as_posix() != REQUIREMENTS
    ]
    for package in handler_packages(code_path):
        for helper in helper_files():
            own = package / helper.name
            if own.exists():
                raise ValueError(
                    f"{own}: a copy of the runtime helper {helper.name}; delete it, bundling "
                    f"copies in the one source ({helper})"
                )
            files.append((f"{package.name}/{helper.name}", helper))
    return sorted(files)


def _lock_hash(requirements: Path) -> str:
    """The install's identity: the pinned requirements and the platform they are for."""
    digest = hashlib.sha256(f"{LAMBDA_PLATFORM}|cp{LAMBDA_PYTHON}\n".encode())
    digest.update(requirements.read_bytes())
    return digest.hexdigest()


def code_hash(code_path: Path) -> str:
    """The asset's identity, the same on every machine: the lock hash (if the folder pins
    requirements) and every asset file's path in the asset and bytes, runtime helpers included
    (not mtimes or absolute paths, which differ between checkouts)."""
    requirements = code_path / REQUIREMENTS
    digest = hashlib.sha256(_lock_hash(requirements).encode() if requirements.is_file() else b"")
    for relative, path in asset_files(code_path):
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _pip_failure(requirements: Path, stderr: str) -> ValueError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    missing = [line for line in lines if "No matching distribution found for" in line]
    if missing:
        package = missing[-1].rsplit("for", 1)[-1].strip()
        return ValueError(
            f"{requirements}: no {LAMBDA_PLATFORM} wheel for CPython {LAMBDA_PYTHON} of "
            f"{package!r}; pin a version that publishes one (wheels only: no compilers, no "
            "Docker at synth)"
        )
    last = lines[-1] if lines else "no output"
    return ValueError(f"{requirements}: pip could not install it for {LAMBDA_PLATFORM}: {last}")


def install_dependencies(requirements: Path, cache: Path | None = None) -> Path:
    """The wheels of ``requirements`` for the Lambda platform, installed once per lock hash
    into the cache and reused by every later synth; a folder to copy into the asset.

    Wheels only (``--only-binary=:all:``) for ``LAMBDA_PLATFORM`` and CPython
    ``LAMBDA_PYTHON``: nothing is compiled and nothing runs in Docker. A package with no such
    wheel is a one-line ``ValueError`` naming it.
    """
    target = (cache or bundle_cache_dir()) / _lock_hash(requirements)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside the cache and renamed into place: a concurrent synth (pytest-xdist, two
    # terminals) sees a complete folder or none.
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, the file is the project's own
            [*_PIP_INSTALL, "--target", str(staging), "-r", str(requirements)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise _pip_failure(requirements, result.stderr)
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts for this machine
        try:
            staging.rename(target)
        except OSError:  # another process won the race; its folder is as good as ours
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)  # the cache and cdk.out are usually on one disk
    except OSError:
        shutil.copy2(source, destination)


@jsii.implements(ILocalBundling)
class _WheelsAndSources:
    """CDK local bundling (no Docker): the asset is the installed wheels (if any), the sources
    and the runtime helpers."""

    def __init__(self, code_path: Path, cache: Path | None = None) -> None:
        self._code_path = code_path
        self._cache = cache

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        requirements = self._code_path / REQUIREMENTS
        if requirements.is_file():
            installed = install_dependencies(requirements, self._cache)
            shutil.copytree(installed, output_dir, dirs_exist_ok=True, copy_function=_link_or_copy)
        for relative, path in asset_files(self._code_path):
            destination = Path(output_dir) / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        return True


@functools.cache
def _bundling(code_path: Path) -> BundlingOptions:
    # One object per folder: CDK hashes the options and caches bundles by them within a run.
    return BundlingOptions(
        image=DockerImage.from_registry("unused-local-bundling-only"),
        local=_WheelsAndSources(code_path),
    )


def lambda_code(scope: Construct, code_path: str | Path) -> lambda_.Code:
    """A zip asset of ``code_path`` with the runtime helpers copied into each of its packages
    (``asset_files``). When the folder carries a pinned ``requirements.txt``, its wheels for the
    Lambda platform are bundled in (see ``install_dependencies``). The content hash covers the
    lock, the sources and the helpers, so the asset is the same on every machine and a change to
    a helper redeploys every function.

    CDK bundles only the stacks the CLI selected (``cdk deploy A`` skips B's bundles); the wheels
    are installed here first, in Python, so a missing wheel fails synth with one line.
    """
    path = Path(code_path).resolve()
    if (path / REQUIREMENTS).is_file() and Stack.of(scope).bundling_required:
        install_dependencies(path / REQUIREMENTS)
    return lambda_.Code.from_asset(
        str(path),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=code_hash(path),
        bundling=_bundling(path),
    )
