"""The audit trail: records are masked, chained and signed; an edited,
removed (also the last) or reordered record is found by ``kiosk audit
verify`` in one line with exit 1; records reach central exactly once and
central refuses a rewritten chain; the events that exist today are recorded."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core.audit import AuditError, AuditLog, audit_for
from kiosk.core.config import load_config
from kiosk.core.remote_config import RemoteConfigStore, sign_document
from kiosk.technician import PinGate, hash_pin

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def trail(tmp_path):
    log = AuditLog(tmp_path / "data", "T-AUDIT", clock=lambda: 1_764_000_000.0)
    for i in range(5):
        log.append("technician_login_failed", failures=i + 1)
    yield log
    log.close()


def tamper(log: AuditLog, *statements: tuple) -> None:
    """What someone with the disk can do: drop the triggers and change rows."""
    log.close()
    conn = sqlite3.connect(log.path, isolation_level=None)
    conn.execute("DROP TRIGGER audit_append_only_u")
    conn.execute("DROP TRIGGER audit_append_only_d")
    for sql, args in statements:
        conn.execute(sql, args)
    conn.close()


def audit_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "audit", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def verify_cli(data_dir: Path) -> subprocess.CompletedProcess:
    return audit_cli(data_dir, "verify")


def test_records_are_masked_chained_and_verify(trail):
    rec = trail.append("staff_verification", staff="S-07", id_number="110101198503120316", name="欧阳明",
                       phone="13812345678")
    assert rec["fields"] == {"staff": "S-07", "id_number": "1****************6", "name": "欧**",
                             "phone": "138****5678"}
    rows = trail.records()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(b["prev"] == a["hash"] for a, b in zip(rows, rows[1:]))
    assert trail.verify().ok
    res = verify_cli(trail.dir.parent)
    assert res.returncode == 0 and res.stdout.startswith("ok: 6 records"), res.stderr
    listed = json.loads(audit_cli(trail.dir.parent, "list", "--kind", "staff_verification", "--json").stdout)
    assert [r["seq"] for r in listed] == [6] and listed[0]["fields"]["id_number"] == "1****************6"
    human = audit_cli(trail.dir.parent, "list").stdout.splitlines()
    assert len(human) == 6 and "(not yet at central)" in human[0] and "110101198503120316" not in "".join(human)


def test_the_database_refuses_updates_and_deletes(trail):
    conn = sqlite3.connect(trail.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET kind = 'technician_login' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 5")
    conn.close()


@pytest.mark.parametrize("change, words", [
    ([("UPDATE audit SET fields = ? WHERE seq = 3", ('{"failures":0}',))], "record 3 was altered"),
    ([("UPDATE audit SET kind = 'technician_login' WHERE seq = 2", ())], "record 2 was altered"),
    ([("DELETE FROM audit WHERE seq = 3", ())], "record 3 is missing"),
    ([("DELETE FROM audit WHERE seq = 5", ())], "records after 4 were removed"),
    # reordered: records 2 and 4 change places (each keeps its own signature)
    ([("UPDATE audit SET seq = 99 WHERE seq = 2", ()), ("UPDATE audit SET seq = 2 WHERE seq = 4", ()),
      ("UPDATE audit SET seq = 4 WHERE seq = 99", ())], "record 2 does not follow record 1"),
    ([("UPDATE meta SET v = '{}' WHERE k = 'head'", ())], "signed head was altered"),
])
def test_verify_finds_edits_removals_and_reordering(trail, change, words):
    tamper(trail, *change)
    verdict = AuditLog(trail.dir.parent, "T-AUDIT").verify()
    assert not verdict.ok and words in verdict.line
    res = verify_cli(trail.dir.parent)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and words in lines[0] and "Traceback" not in res.stderr


def test_a_missing_key_is_one_line(trail):
    trail.key_path.unlink()
    res = verify_cli(trail.dir.parent)
    assert res.returncode == 1 and "audit key" in res.stderr and "Traceback" not in res.stderr


def test_unknown_kinds_are_refused_and_record_never_raises(trail):
    with pytest.raises(AuditError):
        trail.append("made_up")
    assert trail.record("made_up") is None and trail.failures == 1


def test_concurrent_writers_keep_one_chain(trail):
    def write():
        for _ in range(20):
            trail.append("tampered_input", source="test")
    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    other = AuditLog(trail.dir.parent, "T-AUDIT")  # a second connection, as another process would have
    other.append("tampered_input", source="other")
    assert trail.stats()["last_seq"] == 66 and other.verify().ok


def test_synced_to_central_exactly_once_and_a_rewritten_chain_is_refused(tmp_path, trail):
    from central.embedded import start_embedded
    from offline_cache.client import CentralClient
    from offline_cache.store import CaseStore
    from offline_cache.sync import SyncWorker

    central = start_embedded(tmp_path / "central", auto_pay_s=0)
    client = CentralClient(url=central.url, token=central.token_for("T-AUDIT"), terminal_id="T-AUDIT")
    store = CaseStore(tmp_path / "data", "T-AUDIT")
    try:
        worker = SyncWorker(store, client, send_heartbeats=False).attach_audit(trail)
        assert worker.sync_once()["audit"]["sent"] == 5
        assert trail.stats()["pending"] == 0
        # a crash before the acknowledgement was recorded: the same records go again
        conn = sqlite3.connect(trail.path, isolation_level=None)
        conn.execute("UPDATE meta SET v = '2' WHERE k = 'synced_seq'")
        conn.close()
        trail.append("technician_login")
        got = worker.sync_audit()
        assert got["replayed"] == 3 and got["sent"] == 6 and got["error"] is None
        held = client.call("GET", "/v1/terminals/T-AUDIT/audit")["records"]
        assert [r["seq"] for r in held] == [1, 2, 3, 4, 5, 6]
        assert held[-1]["hash"] == trail.records()[-1]["hash"]
        # someone with the disk AND the key rewrites record 6 and what follows: central keeps what it has
        forged = AuditLog(tmp_path / "forged", "T-AUDIT")
        forged.key_path.parent.mkdir(parents=True, exist_ok=True)
        forged.key_path.write_bytes(trail.key())
        for _ in range(7):
            forged.append("technician_login")
        worker.attach_audit(forged)
        assert "audit_conflict" in worker.sync_audit()["error"]
        assert len(client.call("GET", "/v1/terminals/T-AUDIT/audit")["records"]) == 6
        worker.stop()
        assert forged.listeners == []  # a stopped worker is not kept alive by the log
    finally:
        store.close()
        client.close()
        central.stop()


def test_technician_logins_failures_and_lockouts_are_recorded(data_dir):
    cfg = load_config(overrides={"technician": {"max_failures": 2, "backoff_s": 5, "lockout_s": 60,
                                                "pin_hash": hash_pin("13572468", iterations=1000)}})
    gate = PinGate(cfg, clock=lambda: 1000.0)
    gate.attempt("13572468")
    gate.attempt("11111111")
    gate.attempt("22222222")
    gate.attempt("13572468")  # refused while the wait runs: not counted, not recorded
    kinds = [(r["kind"], r["fields"]) for r in audit_for(cfg).records()]
    assert kinds == [("technician_login", {}), ("technician_login_failed", {"remaining_tries": 1}),
                     ("technician_lockout", {"wait_s": 5})]
    assert "13572468" not in json.dumps(audit_for(cfg).records())
    (data_dir / "technician" / "lockout.json").unlink()  # deleting the count is noticed and recorded
    PinGate(cfg, clock=lambda: 1000.0)
    assert audit_for(cfg).records()[-1]["kind"] == "tampered_input"


def test_staff_verifications_are_recorded_with_the_staff_id(data_dir):
    from kiosk.staff import StaffGate, save_credentials

    cfg = load_config(overrides={"staff": {"max_failures": 5}})
    save_credentials(cfg, {"S07": hash_pin("246813", iterations=1000)})
    gate = StaffGate(cfg, clock=lambda: 5000.0)
    gate.verify("S07", "246813", called_at=None)       # nobody called staff
    gate.verify("S07", "111111", called_at=4990.0)
    gate.verify("13812345678", "246813", called_at=4990.0)  # a phone number typed as the id stays masked
    gate.verify("S 07!", "246813", called_at=4990.0)
    assert gate.verify("S07", "246813", called_at=4990.0)[1] == "S07"
    kinds = [(r["kind"], r["fields"].get("staff"), r["fields"].get("reason")) for r in audit_for(cfg).records()]
    assert kinds == [("staff_verification_failed", "S07", "not_enabled"), ("staff_verification_failed", "S07", None),
                     ("staff_verification_failed", "138****5678", None), ("staff_verification_failed", "(malformed)",
                                                                          None),
                     ("staff_verification", "S07", None)]


def test_remote_config_applied_and_refused_are_recorded(tmp_path):
    priv = Ed25519PrivateKey.generate()
    forger = Ed25519PrivateKey.generate()
    store = RemoteConfigStore(tmp_path, "T-AUDIT", [priv.public_key()], clock=lambda: 1_764_324_000.0)

    def doc(key, version):  # issued a minute before the store's clock
        return sign_document({"version": version, "issued_at": "2025-11-28T09:59:00Z", "terminal": "*",
                              "config": {"ui": {"idle_timeout_s": 90}}}, key)
    assert store.apply(doc(priv, 3)).applied
    assert not store.apply(doc(forger, 4)).applied
    records = AuditLog(tmp_path, "T-AUDIT").records()
    assert [(r["kind"], r["fields"]["version"]) for r in records] == [("remote_config_applied", 3),
                                                                      ("remote_config_refused", 4)]
    assert "signature" in records[1]["fields"]["reason"]


def test_key_rotation_is_recorded(tmp_path):
    from offline_cache.store import CaseStore

    store = CaseStore(tmp_path, "T-AUDIT")
    try:
        new = store.rotate_key()["current"]
    finally:
        store.close()
    [rec] = AuditLog(tmp_path, "T-AUDIT").records()
    assert rec["kind"] == "key_rotated" and rec["fields"]["current"] == new

