import json
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core.config import _merge, load_config, validate
from kiosk.core.remote_config import (
    CLOCK_SKEW_S,
    MAX_AGE_S,
    SECURITY_KEYS,
    RemoteConfigPoller,
    RemoteConfigStore,
    sign_document,
)


@pytest.fixture
def keys(tmp_path):
    priv = Ed25519PrivateKey.generate()
    pub_pem = priv.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "central.pub"
    path.write_bytes(pub_pem)
    return priv, path


def site(tmp_path, pub_path):
    f = tmp_path / "site.toml"
    f.write_text(f'[remote_config]\npublic_key = "{pub_path}"\n', "utf-8")
    return f


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def doc(priv, version, config, terminal="*", issued_at=None):
    issued = iso(time.time()) if issued_at is None else issued_at
    return sign_document({"version": version, "issued_at": issued, "terminal": terminal, "config": config}, priv)


def make_store(tmp_path, keys):
    cfg = load_config(site(tmp_path, keys[1]), env={"KIOSK_DATA_DIR": str(tmp_path / "data")})
    from kiosk.core.remote_config import trusted_keys_from_config
    return cfg, RemoteConfigStore(cfg.data_dir, cfg.terminal_id, trusted_keys_from_config(cfg))


def validator(cfg):
    return lambda overrides: validate(_merge(cfg.data, overrides))


def test_signed_document_applies_and_next_start_uses_it(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    res = store.apply(json.dumps(doc(keys[0], 1, {"services": {"hidden": ["traffic_violations"]},
                                                  "ui": {"idle_timeout_s": 45}})), validator(cfg))
    assert res.applied, res.reason
    again = load_config(site(tmp_path, keys[1]), env={"KIOSK_DATA_DIR": str(tmp_path / "data")})
    assert again.get("services.hidden") == ["traffic_violations"]
    assert again.get("ui.idle_timeout_s") == 45


@pytest.mark.parametrize("mutate, reason", [
    (lambda d: d["config"].update({"ui": {"idle_timeout_s": 5}}), "signature"),   # tampered after signing
    (lambda d: d.update({"signature": "AAAA"}), "signature"),
])
def test_tampered_document_rejected_last_good_kept(tmp_path, keys, mutate, reason):
    cfg, store = make_store(tmp_path, keys)
    assert store.apply(doc(keys[0], 1, {"ui": {"idle_timeout_s": 45}}), validator(cfg)).applied
    bad = doc(keys[0], 2, {"ui": {"idle_timeout_s": 50}})
    mutate(bad)
    res = store.apply(bad, validator(cfg))
    assert not res.applied and reason in res.reason
    assert store.overrides() == {"ui": {"idle_timeout_s": 45}}


def test_invalid_values_forbidden_keys_old_versions_and_other_keys_rejected(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    assert store.apply(doc(keys[0], 3, {"ui": {"idle_timeout_s": 45}}), validator(cfg)).applied
    # merged config would be invalid
    r = store.apply(doc(keys[0], 4, {"ui": {"idle_timeout_s": 1}}), validator(cfg))
    assert not r.applied and "ui.idle_timeout_s" in r.reason
    # central may not repoint devices or the data directory
    r = store.apply(doc(keys[0], 5, {"devices": {"idcard": {"url": "tcp://10.0.0.1:1"}}}), validator(cfg))
    assert not r.applied and "security-relevant" in r.reason and "devices.idcard.url" in r.reason
    # replay of an older document
    r = store.apply(doc(keys[0], 2, {"ui": {"idle_timeout_s": 60}}), validator(cfg))
    assert not r.applied and "not newer" in r.reason
    # signed by an unknown key
    r = store.apply(doc(Ed25519PrivateKey.generate(), 9, {"ui": {"idle_timeout_s": 60}}), validator(cfg))
    assert not r.applied
    # for another terminal
    r = store.apply(doc(keys[0], 9, {"ui": {"idle_timeout_s": 60}}, terminal="T-9999"), validator(cfg))
    assert not r.applied and "T-9999" in r.reason
    assert store.overrides() == {"ui": {"idle_timeout_s": 45}}


def test_file_edited_on_disk_is_ignored(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    assert store.apply(doc(keys[0], 1, {"ui": {"idle_timeout_s": 45}}), validator(cfg)).applied
    data = json.loads(store.path.read_text())
    data["config"]["ui"]["idle_timeout_s"] = 3000
    store.path.write_text(json.dumps(data))
    assert load_config(site(tmp_path, keys[1]),
                       env={"KIOSK_DATA_DIR": str(tmp_path / "data")}).get("ui.idle_timeout_s") == 90


def test_poller_survives_network_failure(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    seen = []
    def fetch():
        raise ConnectionError("network down")
    poller = RemoteConfigPoller(fetch, store, 60, validator(cfg), seen.append)
    res = poller.poll_once()
    assert not res.applied and "network down" in res.reason
    poller.fetch = lambda: doc(keys[0], 1, {"counters": {"hours": "24h"}})
    assert poller.poll_once().applied and seen == [{"counters": {"hours": "24h"}}]


# --- every rejection reason, every forbidden key (a wrong product must fail here) ---

def sample_key(entry: str) -> str:
    """A dotted key a document could carry for an entry of SECURITY_KEYS."""
    return entry + "url" if entry.endswith(".") else entry


def nested(dotted: str, value) -> dict:
    out: dict = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


@pytest.mark.parametrize("entry", sorted(SECURITY_KEYS))
def test_every_security_relevant_key_is_refused_with_its_reason(tmp_path, keys, entry):
    cfg, store = make_store(tmp_path, keys)
    key = sample_key(entry)
    r = store.apply(doc(keys[0], 1, nested(key, "off")), validator(cfg))
    assert not r.applied
    assert r.reason.startswith("document sets security-relevant keys that only the terminal sets")
    assert key in r.reason and SECURITY_KEYS[entry] in r.reason
    assert store.overrides() == {} and not store.path.exists()


@pytest.mark.parametrize("key", ["face.liveness", "staff_call.target", "face.accept_below", "store.retention_days"])
def test_formerly_allowed_security_keys_are_refused_even_with_valid_values(tmp_path, keys, key):
    value = {"face.liveness": "off", "staff_call.target": "https://collector.example/",
             "face.accept_below": 0.6, "store.retention_days": 3650}[key]
    cfg, store = make_store(tmp_path, keys)
    r = store.apply(doc(keys[0], 1, nested(key, value)), validator(cfg))
    assert not r.applied and "security-relevant" in r.reason and key in r.reason


@pytest.mark.parametrize("key", ["ui.orientation", "ui.fullscreen", "terminal.id", "terminal.profile",
                                 "terminal.language", "logging.format", "sync.in_app", "sync.backoff_cap_s"])
def test_keys_outside_the_allow_list_are_refused(tmp_path, keys, key):
    cfg, store = make_store(tmp_path, keys)
    r = store.apply(doc(keys[0], 1, nested(key, "x")), validator(cfg))
    assert not r.applied and r.reason == f"document sets keys the central platform may not set: {key}"


@pytest.mark.parametrize("key", ["services.show_everything", "branding.script", "counters.extra", "branding.name_fr"])
def test_unknown_keys_under_allowed_tables_are_refused(tmp_path, keys, key):
    cfg, store = make_store(tmp_path, keys)
    r = store.apply(doc(keys[0], 1, nested(key, "x")), validator(cfg))
    assert not r.applied and r.reason == f"document sets unknown keys: {key}"


def test_allowed_keys_apply(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    overrides = {"services": {"hidden": ["traffic_violations"]}, "branding": {"name": "X"},
                 "counters": {"hours": "24h"}, "face": {"max_attempts": 2}, "ui": {"idle_timeout_s": 60},
                 "sync": {"interval_s": 5.0}, "logging": {"level": "warning"}}
    r = store.apply(doc(keys[0], 1, overrides), validator(cfg))
    assert r.applied, r.reason


@pytest.mark.parametrize("mutate, reason", [
    (lambda d: d.pop("config"), "document has no config table"),
    (lambda d: d.update(config=["ui"]), "document has no config table"),
    (lambda d: d.update(version="7"), "document has no integer version"),
    (lambda d: d.update(version=True), "document has no integer version"),
    (lambda d: d.update(signature="not base64!"), "signature is not base64"),
    (lambda d: d.update(signature="AAAA"), "signature does not verify with a trusted key"),
    (lambda d: d["config"]["ui"].update(idle_timeout_s=999), "signature does not verify with a trusted key"),
])
def test_malformed_or_tampered_documents_give_their_reason(tmp_path, keys, mutate, reason):
    cfg, store = make_store(tmp_path, keys)
    d = doc(keys[0], 1, {"ui": {"idle_timeout_s": 45}})
    mutate(d)
    r = store.apply(d, validator(cfg))
    assert not r.applied and r.reason == reason


def test_not_json_is_refused(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    for raw in (b"\xff\xfe", "{", "[]", "null"):
        r = store.apply(raw, validator(cfg))
        assert not r.applied and r.reason


@pytest.mark.parametrize("issued_at, reason", [
    (None, "document has no issued_at time with a time zone"),
    ("yesterday", "document has no issued_at time with a time zone"),
    ("2026-11-23T10:00:00", "document has no issued_at time with a time zone"),   # no zone
    (iso(time.time() + 3600), "document is issued in the future"),
    (iso(time.time() - MAX_AGE_S - 3600), "document is too old"),
])
def test_issue_time_is_checked(tmp_path, keys, issued_at, reason):
    cfg, store = make_store(tmp_path, keys)
    d = {"version": 1, "terminal": "*", "config": {"ui": {"idle_timeout_s": 45}}}
    if issued_at is not None:
        d["issued_at"] = issued_at
    r = store.apply(sign_document(d, keys[0]), validator(cfg))
    assert not r.applied and r.reason.startswith(reason)


def test_small_clock_skew_is_tolerated(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    r = store.apply(doc(keys[0], 1, {"ui": {"idle_timeout_s": 45}}, issued_at=iso(time.time() + CLOCK_SKEW_S / 2)),
                    validator(cfg))
    assert r.applied, r.reason


def test_document_in_force_does_not_expire(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    assert store.apply(doc(keys[0], 1, {"ui": {"idle_timeout_s": 45}}), validator(cfg)).applied
    store.clock = lambda: time.time() + 10 * MAX_AGE_S   # central silent for months
    assert store.overrides() == {"ui": {"idle_timeout_s": 45}}


@pytest.mark.parametrize("damage", ["delete", "garbage", "deep", "edit"])
def test_damaged_config_json_does_not_reopen_older_versions(tmp_path, keys, damage):
    cfg, store = make_store(tmp_path, keys)
    v5 = doc(keys[0], 5, {"ui": {"idle_timeout_s": 45}})
    assert store.apply(doc(keys[0], 3, {"ui": {"idle_timeout_s": 30}}), validator(cfg)).applied
    assert store.apply(v5, validator(cfg)).applied
    if damage == "delete":
        store.path.unlink()
    elif damage == "garbage":
        store.path.write_bytes(b"\x00\xff{")
    elif damage == "deep":
        store.path.write_bytes(b"[" * 100000 + b"]" * 100000)
    else:
        data = json.loads(store.path.read_text())
        data["version"] = 1
        store.path.write_text(json.dumps(data))
    assert store.overrides() == {}
    for old in (doc(keys[0], 3, {"ui": {"idle_timeout_s": 30}}), doc(keys[0], 4, {"ui": {"idle_timeout_s": 31}}),
                doc(keys[0], 5, {"ui": {"idle_timeout_s": 99}})):   # same number, other content
        r = store.apply(old, validator(cfg))
        assert not r.applied and r.reason.startswith(f"version {old['version']} is not newer than 5")
    # the accepted document itself (central re-issues it) restores the damaged file
    again = doc(keys[0], 5, {"ui": {"idle_timeout_s": 45}})
    assert store.apply(again, validator(cfg)).applied
    assert store.overrides() == {"ui": {"idle_timeout_s": 45}}
    assert store.apply(doc(keys[0], 6, {"ui": {"idle_timeout_s": 50}}), validator(cfg)).applied


def test_same_version_reissued_is_already_in_force(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    assert store.apply(doc(keys[0], 2, {"ui": {"idle_timeout_s": 45}}, issued_at=iso(time.time() - 60)),
                       validator(cfg)).applied
    r = store.apply(doc(keys[0], 2, {"ui": {"idle_timeout_s": 45}}), validator(cfg))
    assert not r.applied and r.reason == "already in force"
    r = store.apply(doc(keys[0], 2, {"ui": {"idle_timeout_s": 46}}), validator(cfg))
    assert not r.applied and r.reason == "version 2 is not newer than 2 already accepted"
