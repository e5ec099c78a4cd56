"""shared.lambda_code: a handler folder's pinned requirements.txt bundled for Lambda's platform
(linux arm64, CPython 3.13) at synth, from wheels only, without Docker."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from stacks import shared

HANDLER = 'def lambda_handler(event, context):\n    return {"ok": True}\n'


def _handler_folder(root: Path, requirements: str) -> Path:
    (root / "hello").mkdir(parents=True)
    (root / "hello" / "__init__.py").write_text("")
    (root / "hello" / "app.py").write_text(HANDLER)
    (root / "requirements.txt").write_text(requirements)
    return root


def _function_code(code_path: Path, outdir: Path, **context: Any) -> tuple[str, Path]:
    """The asset hash of a house function on ``code_path``, and its staged folder."""
    app = App(outdir=str(outdir), context=context)
    stack = Stack(app, "Bundled")
    shared.python_function(
        stack,
        "Fn",
        code_path=str(code_path),
        handler="hello.app.lambda_handler",
        description="bundling test",
        environment={},
    )
    function = next(
        iter(Template.from_stack(stack).find_resources("AWS::Lambda::Function").values())
    )
    key = function["Properties"]["Code"]["S3Key"]
    digest = key.removesuffix(".zip")
    return digest, outdir / f"asset.{digest}"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("CDK_BUNDLE_CACHE", str(path))
    return path


def test_the_asset_hash_is_the_same_from_another_checkout_and_another_run(
    tmp_path: Path, cache: Path
) -> None:
    one = _handler_folder(tmp_path / "checkout-1" / "fn", "pyjwt==2.15.1\n")
    two = tmp_path / "elsewhere" / "checkout-2" / "fn"
    shutil.copytree(one, two)
    first, staged = _function_code(one, tmp_path / "out-1")
    second, _ = _function_code(two, tmp_path / "out-2")
    assert first == second
    assert (staged / "jwt" / "api_jws.py").is_file()
    assert (staged / "hello" / "app.py").read_text() == HANDLER
    assert not (staged / "requirements.txt").exists()


def test_the_asset_hash_follows_the_sources_and_the_lock(tmp_path: Path, cache: Path) -> None:
    code = _handler_folder(tmp_path / "fn", "pyjwt==2.15.1\n")
    before = shared.code_hash(code)
    (code / "hello" / "app.py").write_text(HANDLER + "# changed\n")
    after_source = shared.code_hash(code)
    (code / "requirements.txt").write_text("pyjwt==2.14.0\n")
    after_lock = shared.code_hash(code)
    assert len({before, after_source, after_lock}) == 3
    (code / "hello" / "__pycache__").mkdir()
    (code / "hello" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"machine-specific")
    assert shared.code_hash(code) == after_lock


def test_a_second_synth_reuses_the_installed_wheels(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _handler_folder(tmp_path / "fn", "pyjwt==2.15.1\n")
    _function_code(code, tmp_path / "out-1")
    assert len(list(cache.iterdir())) == 1

    def no_pip(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("pip ran again for an unchanged lock")

    monkeypatch.setattr("stacks.shared.bundling.subprocess.run", no_pip)
    _, staged = _function_code(code, tmp_path / "out-2")
    assert (staged / "jwt").is_dir()


def test_a_stack_the_cli_did_not_select_installs_nothing(tmp_path: Path, cache: Path) -> None:
    """`cdk deploy Other` bundles only Other; this stack still synthesizes, unbundled."""
    code = _handler_folder(tmp_path / "fn", "pyjwt==2.15.1\n")
    digest, staged = _function_code(
        code, tmp_path / "out", **{"aws:cdk:bundling-stacks": ["Other"]}
    )
    assert not cache.exists() or not any(cache.iterdir())
    assert not (staged / "jwt").exists()
    assert digest == _function_code(code, tmp_path / "out-2")[0]  # the same hash when bundled


def test_a_package_without_a_wheel_for_the_platform_is_a_one_line_error(
    tmp_path: Path, cache: Path
) -> None:
    # The mirror serves RDKit for CPython 3.11 x86_64 only: nothing for Lambda's arm64 3.13.
    code = _handler_folder(tmp_path / "fn", "rdkit==2026.9.1\n")
    with pytest.raises(ValueError, match="no manylinux2014_aarch64 wheel") as err:
        _function_code(code, tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message
    assert "'rdkit==2026.9.1'" in message
    assert "CPython 3.13" in message
    assert not any(p.name.startswith(".installing-") for p in cache.iterdir())


def test_a_folder_without_requirements_is_a_plain_asset(tmp_path: Path) -> None:
    code = _handler_folder(tmp_path / "fn", "")
    (code / "requirements.txt").unlink()
    app = App(outdir=str(tmp_path / "out"))
    stack = Stack(app, "Plain")
    asset = shared.lambda_code(stack, code).bind(stack)
    assert asset.s3_location is not None
    assert json.dumps(asset.s3_location.object_key)
