"""Case store: durable case + outbox, encryption at rest, masking, ratings,
retention, key rotation, and storage failures that stop new cases without
losing old ones."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import uuid

import pytest

from offline_cache.crypto import DecryptError
from offline_cache.migrations import LATEST
from offline_cache.store import CaseStore, Outcome, StoreError, StoreUnavailable

APPLICANT = {"name": "欧阳明", "id_number": "110101198503120316", "phone": "13812345678",
             "address": "北京市东城区和平里东街18号院3号楼502室", "photo": b"\x89PNG not stored"}


def commit(store, **kw):
    args = {"service": "no_property", "applicant": APPLICANT, "result": {"owns_property": False}}
    args.update(kw)
    return store.commit_case(**args)


def test_case_and_outbox_entry_are_committed_together(store):
    rec = commit(store, document_hash="ab" * 32)
    uuid.UUID(rec.idempotency_key)
    assert rec.seq == 1 and rec.ref.startswith("T-TEST-")
    # A second connection (another process) sees both rows at once.
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT COUNT(*) FROM cases WHERE case_id = ?", (rec.case_id,)).fetchone()[0] == 1
    assert conn.execute("SELECT kind, idempotency_key, state FROM outbox WHERE case_id = ?",
                        (rec.case_id,)).fetchall() == [("case", rec.idempotency_key, "pending")]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    conn.close()
    assert store.stats()["pending"] == 1


def test_sequence_is_monotonic_and_never_reused_after_purge(tmp_path):
    now = [1_800_000_000.0]
    s = CaseStore(tmp_path, "T-1", retention_days=1, clock=lambda: now[0])
    seqs = [commit(s).seq for _ in range(3)]
    for e in s.claim_batch():
        s.record_outcomes([Outcome(e.seq, "sent", 201)])
    now[0] += 2 * 86400
    assert s.purge_expired() == 3
    assert commit(s).seq == 4 and seqs == [1, 2, 3]
    assert s.stats()["purged"] == 3


def test_personal_data_is_encrypted_at_rest_and_masked_in_listings(store):
    rec = commit(store)
    store.set_evaluation(rec.case_id, 5)
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob("cases.db*"))
    for secret in ("欧阳明", "110101198503120316", "13812345678", "和平里东街"):
        assert secret.encode() not in raw, secret
    listed = store.list_cases()[0]
    assert listed["applicant"]["id_number"] == "1****************6"
    assert listed["applicant"]["name"] == "欧**"
    assert listed["applicant"]["phone"] == "138****5678"
    assert "photo" not in listed["applicant"]
    full = store.get_case(rec.case_id, reveal=True)["body"]
    assert full["applicant"]["name"] == "欧阳明" and "photo" not in full["applicant"]
    keys = store.data_dir / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for f in keys.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_ciphertext_is_bound_to_its_case(store):
    a, b = commit(store), commit(store)
    conn = sqlite3.connect(store.path)
    blob = conn.execute("SELECT body FROM cases WHERE case_id = ?", (a.case_id,)).fetchone()[0]
    conn.execute("UPDATE cases SET body = ? WHERE case_id = ?", (blob, b.case_id))
    conn.commit()
    conn.close()
    with pytest.raises(DecryptError, match="failed authentication"):
        store.get_case(b.case_id, reveal=True)
    assert store.get_case(a.case_id, reveal=True)["body"]["applicant"]["name"] == "欧阳明"


def test_tampered_or_unknown_ciphertext_is_refused(store):
    rec = commit(store)
    conn = sqlite3.connect(store.path)
    blob = conn.execute("SELECT body FROM cases WHERE case_id = ?", (rec.case_id,)).fetchone()[0]
    for bad, says in ((blob[:-1] + bytes([blob[-1] ^ 1]), "failed authentication"),  # one bit of the tag
                      (bytes([blob[0] + 1]) + blob[1:], "unknown ciphertext version")):
        conn.execute("UPDATE cases SET body = ? WHERE case_id = ?", (bad, rec.case_id))
        conn.commit()
        with pytest.raises(DecryptError, match=says):
            store.get_case(rec.case_id, reveal=True)
    conn.close()


def test_evaluation_rides_with_an_unsent_case_and_is_separate_after(store):
    first = commit(store)
    assert store.set_evaluation(first.case_id, 4)["via"] == "case"
    body = store.claim_batch()[0].body_json()
    assert body["evaluation"]["level"] == 4
    second = commit(store)
    store.claim_batch()  # a send was attempted: the body is frozen now
    frozen = store.get_case(second.case_id, reveal=True)["body"]
    assert store.set_evaluation(second.case_id, 1, ["waiting_too_long"])["via"] == "update"
    assert store.get_case(second.case_id, reveal=True)["body"] == frozen
    kinds = [(e.kind, e.case_id) for e in store.claim_batch()]
    assert ("evaluation", second.case_id) in kinds


def test_one_rating_per_case_and_reasons_for_bad_ones(store):
    rec = commit(store)
    with pytest.raises(StoreError) as exc:
        store.set_evaluation(rec.case_id, 2)
    assert exc.value.key == "cases.store.reasons_required"
    with pytest.raises(StoreError):
        store.set_evaluation(rec.case_id, 6)
    store.set_evaluation(rec.case_id, 2, ["hard_to_use"])
    with pytest.raises(StoreError) as exc:
        store.set_evaluation(rec.case_id, 5)
    assert exc.value.key == "cases.store.already_rated"
    assert "已评价" in exc.value.message.zh


def test_dead_letter_is_visible_with_reason_and_can_be_requeued(store):
    rec = commit(store)
    store.set_evaluation(rec.case_id, 5)
    other = commit(store)
    entries = store.claim_batch()
    store.record_outcomes([Outcome(entries[0].seq, "dead", 400, "HTTP 400 invalid_request: bad"),
                           Outcome(entries[1].seq, "retry", 503, "HTTP 503")])
    dead = store.dead_letters()
    assert [(d["case_id"], d["reason"]) for d in dead] == [(rec.case_id, "HTTP 400 invalid_request: bad")]
    assert store.stats() == {**store.stats(), "dead": 1, "pending": 1}
    assert store.list_cases(status="pending")[0]["case_id"] == other.case_id
    assert store.requeue_dead() == 1
    assert store.stats()["dead"] == 0 and store.stats()["pending"] == 2


def test_retention_purges_only_acknowledged_cases(tmp_path):
    now = [1_800_000_000.0]
    s = CaseStore(tmp_path, "T-1", retention_days=30, clock=lambda: now[0])
    acked, pending = commit(s), commit(s)
    e = [x for x in s.claim_batch() if x.case_id == acked.case_id][0]
    s.record_outcomes([Outcome(e.seq, "sent", 201, receipt={"central_no": 1})])
    now[0] += 29 * 86400
    assert s.purge_expired() == 0
    now[0] += 2 * 86400
    assert s.purge_expired() == 1
    assert [c["case_id"] for c in s.list_cases()] == [pending.case_id]


def test_acknowledgement_stamped_by_a_wrong_future_clock_is_kept_a_full_period(tmp_path):
    now = [4_000_000_000.0]  # year 2096
    s = CaseStore(tmp_path, "T-1", retention_days=30, clock=lambda: now[0])
    rec = commit(s)
    s.record_outcomes([Outcome(s.claim_batch()[0].seq, "sent", 201)])
    now[0] = 1_800_000_000.0  # the clock is corrected
    assert s.purge_expired() == 0
    now[0] += 31 * 86400
    assert s.purge_expired() == 1
    assert s.get_case(rec.case_id) is None


def test_key_rotation_keeps_old_cases_readable_and_retires_unused_keys(store):
    old = commit(store)
    first_key = store.keys.current_id()
    summary = store.rotate_key(reencrypt=False)
    new = commit(store)
    assert summary["current"] != first_key
    assert store.keys_in_use() == {first_key: 1, summary["current"]: 1}
    assert store.get_case(old.case_id, reveal=True)["body"]["applicant"]["name"] == "欧阳明"
    done = store.rotate_key(reencrypt=True, retire=True)
    assert set(done["retired"]) == {first_key, summary["current"]}
    assert store.keys.key_ids() == [done["current"]]
    for rec in (old, new):
        assert store.get_case(rec.case_id, reveal=True)["body"]["applicant"]["id_number"] == APPLICANT["id_number"]


def test_missing_key_is_reported_not_silently_replaced(tmp_path):
    s = CaseStore(tmp_path, "T-1")
    commit(s)
    s.close()
    for f in (tmp_path / "keys").glob("case-*.key"):
        f.unlink()
    s = CaseStore(tmp_path, "T-1")
    assert s.claim_batch() == []
    assert s.health()["state"] == "key_missing"
    assert s.stats()["pending"] == 1  # nothing was dropped


def test_corrupt_database_is_detected_at_start_and_kept(tmp_path):
    s = CaseStore(tmp_path, "T-1")
    for _ in range(50):
        commit(s)
    s.close()
    db = tmp_path / "cases.db"
    data = bytearray(db.read_bytes())
    page = 4096
    for i in range(2 * page + 100, min(len(data), 6 * page), 7):
        data[i] = 0x5A
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    s2 = CaseStore(tmp_path, "T-1")
    h = s2.health()
    assert h["accepting"] is False and h["state"] == "corrupt"
    assert "integrity" in h["message"]["en"] and "校验" in h["message"]["zh"]
    with pytest.raises(StoreUnavailable) as exc:
        commit(s2)
    assert exc.value.reason == "corrupt"
    assert db.read_bytes() == before  # the evidence is kept for the operator


def test_not_a_database_file_is_reported_as_corrupt(tmp_path):
    (tmp_path / "cases.db").write_bytes(b"this is not sqlite" * 300)
    s = CaseStore(tmp_path, "T-1")
    assert s.problem is not None and s.problem.reason == "corrupt"
    with pytest.raises(StoreUnavailable):
        CaseStore(tmp_path, "T-1", strict=True)


def test_full_disk_stops_new_cases_keeps_old_ones_and_recovers(store):
    kept = [commit(store).case_id for _ in range(3)]
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreUnavailable) as exc:
        for _ in range(200):
            commit(store, result={"blob": "x" * 4000})
    assert exc.value.reason == "disk_full"
    h = store.health()
    assert h["accepting"] is False and h["state"] == "disk_full"
    assert "存储空间已满" in h["message"]["zh"]
    assert {c["case_id"] for c in store.list_cases()} >= set(kept)
    assert store.integrity_check() == "ok"
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.health()["accepting"] is True
    commit(store)


def _mount_tmpfs(path, size="600k"):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here (needs root with mount rights): {r.stderr.decode().strip()}")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root (run the tests as root)")
def test_real_full_disk_on_a_tiny_tmpfs(tmp_path):
    mnt = tmp_path / "tiny"
    _mount_tmpfs(mnt)
    try:
        s = CaseStore(mnt, "T-1")
        kept = []
        with pytest.raises(StoreUnavailable) as exc:
            for _ in range(2000):
                kept.append(commit(s, result={"blob": os.urandom(3000).hex()}).case_id)
        assert exc.value.reason in ("disk_full", "io_error")
        assert s.accepting is False
        assert len(kept) > 5
        s.close()
        # A restart on the still-full disk sees everything that was acknowledged.
        s = CaseStore(mnt, "T-1")
        assert {c["case_id"] for c in s.list_cases(limit=5000)} == set(kept)
        s.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_storage_turning_read_only_stops_new_cases_and_recovers(store):
    kept = [commit(store).case_id for _ in range(3)]
    store._conn.execute("PRAGMA query_only = ON")  # SQLite refuses every write, as on a read-only disk
    with pytest.raises(StoreUnavailable) as exc:
        commit(store)
    assert exc.value.reason == "read_only"
    h = store.health()
    assert h["accepting"] is False and "只读" in h["message"]["zh"]
    assert {c["case_id"] for c in store.list_cases()} == set(kept)
    store._conn.execute("PRAGMA query_only = OFF")
    assert store.health()["accepting"] is True
    commit(store)


@pytest.mark.skipif(os.geteuid() != 0, reason="remounting read-only needs root (run the tests as root)")
def test_read_only_disk_shows_what_it_has_and_recovers(tmp_path):
    mnt = tmp_path / "ro"
    _mount_tmpfs(mnt, "8m")
    try:
        s = CaseStore(mnt, "T-1")
        kept = [commit(s).case_id for _ in range(3)]
        s.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        s = CaseStore(mnt, "T-1")
        assert s.accepting is False and s.problem.reason == "read_only"
        assert "read-only" in s.health()["message"]["en"]
        assert {c["case_id"] for c in s.list_cases()} == set(kept)
        with pytest.raises(StoreUnavailable):
            commit(s)
        subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=True)
        assert s.health()["accepting"] is True
        kept.append(commit(s).case_id)
        assert {c["case_id"] for c in s.list_cases()} == set(kept)
        assert s.integrity_check() == "ok"
        s.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_bad_values_are_refused_before_touching_the_disk(store):
    with pytest.raises(ValueError):
        commit(store, result={"pdf": b"binary"})
    with pytest.raises(ValueError):
        store.commit_case("", APPLICANT, {})
    assert store.stats()["cases"] == 0


def test_find_by_ref_is_masked_and_case_insensitive(tmp_path):
    store = CaseStore(tmp_path, "T-0001")
    rec = store.commit_case(service="queue_ticket", applicant={"name": "欧阳明", "id_number": "110101199003070011"},
                            result={"ticket": "A012"})
    found = store.find_by_ref(rec.ref.lower())
    assert found["case_id"] == rec.case_id
    assert "欧阳明" not in str(found) and "110101199003070011" not in str(found)
    assert store.find_by_ref("T-0001-000000-999999") is None
    store.close()
