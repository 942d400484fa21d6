"""The installer in throwaway-root mode: layout, permissions, idempotence,
rollback, and systemd's own verification of every unit."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.core.config import load_config

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy" / "install.sh"
UNITS = ["kiosk-app.service", "kiosk-sync.service", "kiosk-health.service", "kiosk-health.timer"]


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    # --no-venv: the signing certificate is issued with the test's own interpreter
    env = dict(os.environ, KIOSK_PYTHON=sys.executable)
    return subprocess.run(["sh", str(INSTALL), "--root", str(root), "--no-venv", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.lstat().st_mtime_ns, mode(p)) for p in root.rglob("*")}


def test_layout_and_permissions(tmp_path):
    proc = install(tmp_path, "--profile", "bank")
    assert proc.returncode == 0, proc.stderr
    assert mode(tmp_path / "etc/kiosk/kiosk.toml") == 0o640
    assert mode(tmp_path / "var/lib/kiosk") == 0o750
    assert mode(tmp_path / "var/lib/kiosk/keys") == 0o700
    # the document-signing certificate, issued by the deployment CA at install, apart from the store's keys
    assert mode(tmp_path / "var/lib/kiosk/signing") == 0o700
    assert mode(tmp_path / "var/lib/kiosk/signing/signing.key") == 0o600
    assert mode(tmp_path / "var/lib/kiosk/tls/client.key") == 0o600
    assert mode(tmp_path / "etc/kiosk/deployment-ca/ca.key") == 0o600
    from kiosk.core import pki

    ca = pki.load_certs(tmp_path / "var/lib/kiosk/signing/ca.pem")[0]
    pki.load_certs(tmp_path / "var/lib/kiosk/signing/signing.pem")[0].verify_directly_issued_by(ca)
    tls = pki.load_certs(tmp_path / "var/lib/kiosk/tls/client.pem")[0]
    tls.verify_directly_issued_by(ca)
    assert tls.subject.rfc4514_string().startswith("CN=T-")
    assert os.readlink(tmp_path / "opt/kiosk/current") == "releases/0.1.0"
    for unit in UNITS:
        assert (tmp_path / "etc/systemd/system" / unit).is_file()
    assert (tmp_path / "etc/udev/rules.d/60-kiosk.rules").is_file()
    assert (tmp_path / "etc/logrotate.d/kiosk").is_file()
    cfg = load_config(tmp_path / "etc/kiosk/kiosk.toml", env={})
    assert cfg.get("terminal.profile") == "bank"
    assert cfg.get("sync.in_app") is False
    assert cfg.get("data.dir") == "/var/lib/kiosk"
    assert cfg.mode == "production"


def test_second_run_changes_nothing_and_keeps_site_edits(tmp_path):
    assert install(tmp_path).returncode == 0
    conf = tmp_path / "etc/kiosk/kiosk.toml"
    conf.write_text(conf.read_text() + '\n[face]\nmax_attempts = 4\n')
    before = snapshot(tmp_path)
    proc = install(tmp_path, "--profile", "bank")
    assert proc.returncode == 0, proc.stderr
    assert snapshot(tmp_path) == before
    assert "max_attempts = 4" in conf.read_text()


def test_dry_run_changes_nothing(tmp_path):
    proc = subprocess.run(["sh", str(INSTALL), "--root", str(tmp_path), "--no-venv", "--dry-run"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "+ mkdir" in proc.stdout
    assert not (tmp_path / "etc").exists()


def test_rollback_switches_to_previous_release(tmp_path):
    assert install(tmp_path).returncode == 0
    (tmp_path / "opt/kiosk/releases/0.0.9/bin").mkdir(parents=True)
    proc = subprocess.run(["sh", str(INSTALL), "--root", str(tmp_path), "--rollback"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert os.readlink(tmp_path / "opt/kiosk/current") == "releases/0.0.9"


def test_unknown_profile_is_usage_error(tmp_path):
    proc = install(tmp_path, "--profile", "casino")
    assert proc.returncode == 2 and "no profile" in proc.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (apt-get install systemd)")
def test_systemd_analyze_verify_passes(tmp_path):
    assert install(tmp_path).returncode == 0
    # The image root needs systemd's own units and the executables the units name.
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    for exe in ("opt/kiosk/releases/0.1.0/bin/kiosk", "usr/bin/cage"):
        p = tmp_path / exe
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/bin/sh\n")
        p.chmod(0o755)
    proc = subprocess.run(["systemd-analyze", "verify", f"--root={tmp_path}", "--man=no", *UNITS],
                          cwd=tmp_path / "etc/systemd/system", capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_profiles_are_valid_configs():
    for profile in (REPO / "deploy/profiles").glob("*.toml"):
        cfg = load_config(profile, env={})
        assert cfg.get("terminal.profile") == profile.stem


def test_rollback_refused_when_the_store_schema_is_newer(tmp_path):
    import sqlite3
    import sys

    assert install(tmp_path).returncode == 0
    old = tmp_path / "opt/kiosk/releases/0.0.9"
    (old / "bin").mkdir(parents=True)
    # the previous release's python knows schema 1 only
    pkg = old / "lib/offline_cache/migrations"
    pkg.mkdir(parents=True)
    (old / "lib/offline_cache/__init__.py").write_text("")
    (pkg / "__init__.py").write_text("LATEST = 1\n")
    (old / "bin/python").write_text(f"#!/bin/sh\nPYTHONPATH={old / 'lib'} exec {sys.executable} \"$@\"\n")
    (old / "bin/python").chmod(0o755)
    db = sqlite3.connect(tmp_path / "var/lib/kiosk/cases.db")
    db.execute("PRAGMA user_version = 2")
    db.close()
    proc = subprocess.run(["sh", str(INSTALL), "--root", str(tmp_path), "--rollback"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert "schema 2" in proc.stderr and "up to 1" in proc.stderr
    assert os.readlink(tmp_path / "opt/kiosk/current") == "releases/0.1.0"


def test_install_generates_a_technician_pin_and_shows_it_once(tmp_path):
    import re
    import stat

    from kiosk.technician import verify_pin

    proc = install(tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = re.search(r"technician PIN: (\d{8})", proc.stdout)
    assert shown, proc.stdout
    path = tmp_path / "var/lib/kiosk/technician/pin_hash"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verify_pin(shown.group(1), path.read_text().strip())
    again = install(tmp_path)
    assert again.returncode == 0 and "technician PIN" not in again.stdout


def test_install_takes_the_technician_pin_from_a_file(tmp_path):
    from kiosk.technician import verify_pin

    pin_file = tmp_path / "pin"
    pin_file.write_text("73519062\n")
    proc = install(tmp_path / "root", "--technician-pin-file", str(pin_file))
    assert proc.returncode == 0, proc.stderr
    assert "73519062" not in proc.stdout
    assert verify_pin("73519062", (tmp_path / "root/var/lib/kiosk/technician/pin_hash").read_text().strip())
    bad = tmp_path / "bad"
    bad.write_text("1234\n")
    refused = install(tmp_path / "root2", "--technician-pin-file", str(bad))
    assert refused.returncode == 2 and "6-12 digits" in refused.stderr
