import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import load_config, validate, _merge
from kiosk.remote_config import RemoteConfigPoller, RemoteConfigStore, sign_document


@pytest.fixture
def keys(tmp_path):
    priv = Ed25519PrivateKey.generate()
    pub_pem = priv.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "central.pub"
    path.write_bytes(pub_pem)
    return priv, path


def site(tmp_path, pub_path):
    f = tmp_path / "site.toml"
    f.write_text(f'[remote_config]\npublic_key = "{pub_path}"\n', "utf-8")
    return f


def doc(priv, version, config, terminal="*"):
    return sign_document({"version": version, "issued_at": "2026-11-23T10:00:00Z", "terminal": terminal, "config": config}, priv)


def make_store(tmp_path, keys):
    cfg = load_config(site(tmp_path, keys[1]), env={"KIOSK_DATA_DIR": str(tmp_path / "data")})
    from kiosk.remote_config import trusted_keys_from_config
    return cfg, RemoteConfigStore(cfg.data_dir, cfg.terminal_id, trusted_keys_from_config(cfg))


def validator(cfg):
    return lambda overrides: validate(_merge(cfg.data, overrides))


def test_signed_document_applies_and_next_start_uses_it(tmp_path, keys):
    cfg, store = make_store(tmp_path, keys)
    res = store.apply(json.dumps(doc(keys[0], 1, {"services": {"hidden": ["traffic_violations"]}, "ui": {"idle_timeout_s": 45}})), validator(cfg))
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
    assert not r.applied and "may not set" in r.reason
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
    assert load_config(site(tmp_path, keys[1]), env={"KIOSK_DATA_DIR": str(tmp_path / "data")}).get("ui.idle_timeout_s") == 90


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
