import subprocess
import sys

import pytest

from kiosk.core.config import ConfigError, load_config


def test_default_uses_simulators_everywhere():
    cfg = load_config(env={})
    assert cfg.devices, "default config must configure devices"
    assert all(d["url"] == "sim://" for d in cfg.devices.values())
    assert cfg.get("central.url") == "embedded://"


def test_env_overrides_data_dir_and_central(tmp_path):
    cfg = load_config(env={"KIOSK_DATA_DIR": str(tmp_path), "KIOSK_CENTRAL_URL": "http://127.0.0.1:1/"})
    assert cfg.data_dir == tmp_path
    assert cfg.get("central.url") == "http://127.0.0.1:1/"


def test_site_file_merges_over_default(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text('[devices.idcard]\nfamily = "idcard"\nurl = "serial:///dev/ttyUSB0?baud=115200"\n', "utf-8")
    cfg = load_config(f, env={})
    assert cfg.devices["idcard"]["url"].startswith("serial://")
    assert cfg.devices["ticket_printer"]["url"] == "sim://"


@pytest.mark.parametrize(
    "toml, key",
    [
        ('[face]\naccept_below = 0.9\n', "face.accept_below"),
        ('[face]\naccept_below = "low"\n', "face.accept_below"),
        ('[face]\naccept_below = 0.6\nreject_above = 0.5\n', "face.reject_above"),
        ('[face]\nmin_frames = 4\nmax_frames = 3\n', "face.max_frames"),
        ('[face]\nthreshold = 0.5\n', "face.threshold"),
        ('[face]\nengine = "gpu"\n', "face.engine"),
        ('[devices.x]\nfamily = "toaster"\nurl = "sim://"\n', "devices.x.family"),
        ('[devices.idcard]\nurl = "gopher://x"\n', "devices.idcard.url"),
        ('[central]\nurl = "ftp://x"\n', "central.url"),
        ('[ui]\nfullscreen = 1\n', "ui.fullscreen"),
        ('[metrics]\nport = true\n', "metrics.port"),
    ],
)
def test_invalid_values_name_the_key(tmp_path, toml, key):
    f = tmp_path / "bad.toml"
    f.write_text(toml, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f, env={})
    assert err.value.key == key
    assert key in str(err.value)


def test_cli_invalid_config_is_one_line_exit_2(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[face]\nmax_attempts = 0\n", "utf-8")
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(f), "config", "check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "face.max_attempts" in lines[0], proc.stderr


def test_cli_missing_config_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(tmp_path / "nope.toml"), "config",
                           "check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_not_toml(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[devices\n", "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f, env={})
    assert "not valid TOML" in str(err.value)


def test_mode_demo_for_the_builtin_default_production_for_a_site_file(tmp_path):
    assert load_config(env={}).demo
    site = tmp_path / "site.toml"
    site.write_text('[terminal]\nid = "T-0042"\n')
    cfg = load_config(site, env={})
    assert cfg.mode == "production" and not cfg.demo
    site.write_text('mode = "demo"\n[terminal]\nid = "T-0042"\n')
    assert load_config(site, env={}).demo
    assert load_config(site, env={"KIOSK_MODE": "production"}).mode == "production"


def test_mode_must_be_demo_or_production(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('mode = "test"\n')
    with pytest.raises(ConfigError, match="mode: must be demo or production"):
        load_config(site, env={})
