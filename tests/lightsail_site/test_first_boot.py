"""The first-boot script, run for real against a scratch root with stub package managers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.lightsail_site import DEFAULT_FIRST_BOOT_SCRIPT

_STUB = """#!/bin/bash
echo "$(basename "$0") $*" >>"$STUB_LOG"
"""
_SSHD_CONFIG = "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n"
_DNF_CONFIG = "[commands]\nupgrade_type = default\napply_updates = no\n"


def _system(tmp_path: Path, manager: str) -> tuple[Path, dict[str, str]]:
    """A scratch root and a PATH holding only stubs and the core tools the script uses, so
    that the real apt-get or dnf of this machine can never run."""
    root = tmp_path / "root"
    (root / "etc" / "ssh").mkdir(parents=True)
    (root / "etc" / "ssh" / "sshd_config").write_text(_SSHD_CONFIG)
    if manager == "dnf":
        (root / "etc" / "dnf").mkdir()
        (root / "etc" / "dnf" / "automatic.conf").write_text(_DNF_CONFIG)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for stub in (manager, "systemctl", "sshd"):
        (bin_dir / stub).write_text(_STUB)
        (bin_dir / stub).chmod(0o755)
    for tool in ("cat", "mkdir", "chmod", "sed", "grep", "basename"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    env = {
        "PATH": str(bin_dir),
        "FIRST_BOOT_ROOT": str(root),
        "STUB_LOG": str(tmp_path / "calls.log"),
        "HOME": str(tmp_path),
    }
    return root, env


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(  # noqa: S603 - our own script, in a scratch root
        [bash, str(DEFAULT_FIRST_BOOT_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_script_is_strict_bash() -> None:
    text = DEFAULT_FIRST_BOOT_SCRIPT.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(DEFAULT_FIRST_BOOT_SCRIPT, os.X_OK)


def test_apt_system_gets_unattended_upgrades(tmp_path: Path) -> None:
    root, env = _system(tmp_path, "apt-get")
    result = _run(env)
    assert result.returncode == 0, result.stderr
    auto = (root / "etc/apt/apt.conf.d/20auto-upgrades").read_text()
    assert 'APT::Periodic::Unattended-Upgrade "1";' in auto
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert "apt-get install -y -q unattended-upgrades" in calls
    assert "systemctl enable --now unattended-upgrades.service" in calls


def test_dnf_system_gets_security_only_automatic_updates(tmp_path: Path) -> None:
    root, env = _system(tmp_path, "dnf")
    result = _run(env)
    assert result.returncode == 0, result.stderr
    config = (root / "etc/dnf/automatic.conf").read_text()
    assert "upgrade_type = security" in config
    assert "apply_updates = yes" in config
    assert "systemctl enable --now dnf-automatic.timer" in (tmp_path / "calls.log").read_text()


def test_sshd_is_key_only_without_root_and_checked_before_reload(tmp_path: Path) -> None:
    root, env = _system(tmp_path, "apt-get")
    assert _run(env).returncode == 0
    dropin = (root / "etc/ssh/sshd_config.d/01-lightsail-site.conf").read_text().splitlines()
    assert "PasswordAuthentication no" in dropin
    assert "PermitRootLogin no" in dropin
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls.index("sshd -t") < calls.index("systemctl reload ssh.service")


def test_ssh_hardening_is_skipped_when_drop_ins_are_not_read(tmp_path: Path) -> None:
    root, env = _system(tmp_path, "apt-get")
    (root / "etc/ssh/sshd_config").write_text("PasswordAuthentication no\n")
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert "SSH hardening skipped" in result.stdout
    assert not (root / "etc/ssh/sshd_config.d").exists()


@pytest.mark.parametrize("manager", ["apt-get", "dnf"])
def test_second_run_changes_nothing(tmp_path: Path, manager: str) -> None:
    root, env = _system(tmp_path, manager)
    assert _run(env).returncode == 0
    first = _snapshot(root)
    second = _run(env)
    assert second.returncode == 0, second.stderr
    assert _snapshot(root) == first


def test_a_failing_step_stops_the_script(tmp_path: Path) -> None:
    _, env = _system(tmp_path, "apt-get")
    (Path(env["PATH"]) / "apt-get").write_text("#!/bin/bash\nexit 100\n")
    result = _run(env)
    assert result.returncode == 100
    assert "done" not in result.stdout


def test_ssh_is_hardened_even_when_package_updates_fail(tmp_path: Path) -> None:
    root, env = _system(tmp_path, "apt-get")
    (Path(env["PATH"]) / "apt-get").write_text("#!/bin/bash\nexit 100\n")
    assert _run(env).returncode == 100
    assert (root / "etc/ssh/sshd_config.d/01-lightsail-site.conf").is_file()
