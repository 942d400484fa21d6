"""Installer lockdown in throwaway-root mode: udev names bound to the devices
found at install (a sysfs tree laid out as the kernel does), and a plugged-in
keyboard that reaches nothing but the kiosk."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy" / "install.sh"


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(INSTALL), "--root", str(root), "--no-venv", *args],
                          capture_output=True, text=True, timeout=60)


def plug(root: Path, cls: str, node: str, port: str, vid: str, pid: str, serial: str | None = None,
         sub: str = "") -> None:
    """A USB device at ``port`` with one class device, linked from /sys/class like the kernel does."""
    usb = root / "sys/devices/pci0000:00/0000:00:14.0/usb1" / port
    usb.mkdir(parents=True, exist_ok=True)
    (usb / "idVendor").write_text(vid + "\n")
    (usb / "idProduct").write_text(pid + "\n")
    if serial:
        (usb / "serial").write_text(serial + "\n")
    dev = usb / f"{port}:1.0" / sub / node
    dev.mkdir(parents=True)
    if cls == "video4linux":
        (dev / "index").write_text("0\n")
    link = root / "sys/class" / cls / node
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(dev, link.parent))


def rules(root: Path) -> list[str]:
    text = (root / "etc/udev/rules.d/60-kiosk.rules").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_devices_found_at_install_are_bound_by_port(tmp_path):
    plug(tmp_path, "tty", "ttyUSB0", "1-2", "1a86", "7523", sub="ttyUSB0/tty")
    plug(tmp_path, "usbmisc", "lp0", "1-3", "0416", "5011", sub="usbmisc")
    plug(tmp_path, "video4linux", "video0", "1-4", "0c45", "6366", sub="video4linux")
    proc = install(tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = rules(tmp_path)
    idcard = [line for line in lines if "kiosk-idcard" in line]
    assert idcard == ['SUBSYSTEM=="tty", KERNELS=="1-2", SYMLINK+="kiosk-idcard", GROUP="dialout", MODE="0660"']
    assert any('KERNELS=="1-3"' in line and "kiosk-ticket-printer" in line for line in lines)
    assert any('KERNELS=="1-4"' in line and "kiosk-camera" in line for line in lines)


def test_every_rule_names_one_port_or_serial_never_a_vendor_alone(tmp_path):
    plug(tmp_path, "tty", "ttyUSB0", "1-2", "1a86", "7523", sub="ttyUSB0/tty")
    assert install(tmp_path, "--camera", "serial:SN0042").returncode == 0
    lines = rules(tmp_path)
    assert lines
    for line in lines:
        assert 'KERNELS=="' in line or 'KERNEL=="1-' in line or "serial}==" in line, line
        assert "idVendor" not in line
    assert any('ATTRS{serial}=="SN0042"' in line and "kiosk-camera" in line for line in lines)


def test_two_candidate_adapters_bind_neither(tmp_path):
    plug(tmp_path, "tty", "ttyUSB0", "1-2", "1a86", "7523", sub="ttyUSB0/tty")
    plug(tmp_path, "tty", "ttyUSB1", "1-5", "0403", "6001", sub="ttyUSB1/tty")
    proc = install(tmp_path)
    assert proc.returncode == 0
    assert not any("kiosk-idcard" in line for line in rules(tmp_path))
    assert "idcard not bound" in proc.stderr and "--idcard port:" in proc.stderr


def test_binding_kept_on_reinstall_and_changed_on_request(tmp_path):
    plug(tmp_path, "tty", "ttyUSB0", "1-2", "1a86", "7523", sub="ttyUSB0/tty")
    assert install(tmp_path).returncode == 0
    # the reader is unplugged while the installer runs again: its name stays bound
    import shutil
    shutil.rmtree(tmp_path / "sys")
    assert install(tmp_path).returncode == 0
    assert any('KERNELS=="1-2"' in line and "kiosk-idcard" in line for line in rules(tmp_path))
    assert install(tmp_path, "--idcard", "port:3-1.4").returncode == 0
    assert [line for line in rules(tmp_path) if "kiosk-idcard" in line][0].count('KERNELS=="3-1.4"') == 1


def test_malformed_binding_is_refused(tmp_path):
    for spec in ['port:1-2", RUN+="/bin/sh', "serial:", "usb:1a86"]:
        proc = install(tmp_path, "--idcard", spec)
        assert proc.returncode == 2, spec
        assert "--idcard expects port:" in proc.stderr
        assert "RUN+=" not in (tmp_path / "etc/udev/rules.d/60-kiosk.rules").read_text() \
            if (tmp_path / "etc/udev/rules.d/60-kiosk.rules").exists() else True


def test_scanner_is_bound_and_its_keys_hidden_from_the_ui(tmp_path):
    plug(tmp_path, "input", "event7", "1-6", "0c2e", "0b61", sub="0003:0C2E:0B61.0001/input/input9")

    def bind(*args):
        proc = subprocess.run(["sh", str(REPO / "deploy/udev/bind-devices.sh"), "--sysfs", str(tmp_path / "sys"),
                               "--state", str(tmp_path / "bindings"), *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return [line for line in proc.stdout.splitlines() if line and not line.startswith("#")]

    [line] = [line for line in bind() if "input/kiosk-scanner" in line]
    assert 'SUBSYSTEM=="input"' in line and 'KERNELS=="1-6"' in line
    assert 'ENV{LIBINPUT_IGNORE_DEVICE}="1"' in line  # the UI never sees its keystrokes
    assert "scanner=port:1-6" in (tmp_path / "bindings").read_text()
    assert any('ATTRS{serial}=="NL-0099"' in line and '"kiosk-scanner"' in line
               for line in bind("--scanner", "serial:NL-0099"))


def test_keyboard_reaches_nothing_but_the_kiosk(tmp_path):
    assert install(tmp_path).returncode == 0
    assert "kernel.sysrq = 0" in (tmp_path / "etc/sysctl.d/60-kiosk-sysrq.conf").read_text()
    logind = (tmp_path / "etc/systemd/logind.conf.d/60-kiosk.conf").read_text()
    for setting in ("NAutoVTs=0", "ReserveVT=0", "HandlePowerKey=ignore", "HandleRebootKey=ignore"):
        assert setting in logind
    assert os.readlink(tmp_path / "etc/systemd/system/ctrl-alt-del.target") == "/dev/null"
    assert "CtrlAltDelBurstAction=none" in (tmp_path / "etc/systemd/system.conf.d/60-kiosk.conf").read_text()


def test_dry_run_lists_the_bindings_without_writing_them(tmp_path):
    plug(tmp_path, "tty", "ttyUSB0", "1-2", "1a86", "7523", sub="ttyUSB0/tty")
    proc = subprocess.run(["sh", str(INSTALL), "--root", str(tmp_path), "--no-venv", "--dry-run"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "60-kiosk.rules" in proc.stdout
    assert not (tmp_path / "etc").exists()
