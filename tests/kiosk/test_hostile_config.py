"""A damaged or hostile configuration file is one line and exit 2, never a traceback."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("content, words", [
    (b'[terminal]\nhall = "\xff\xfe"\n', ["not UTF-8", "0xff"]),
    (b"[terminal]\nid = \"T-1\"\n\xc3", ["not UTF-8"]),
    (b"a = " + b"[" * 50000 + b"]" * 50000 + b"\n", ["not valid TOML"]),
])
def test_damaged_config_file_is_one_line_exit_2(tmp_path, content, words):
    f = tmp_path / "site.toml"
    f.write_bytes(content)
    for args in (["config", "check"], ["health"]):
        proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(f), *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert str(f) in lines[0] and all(w in lines[0] for w in words), lines[0]
