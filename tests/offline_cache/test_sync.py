"""Sync to central under faults: a TCP fault proxy (latency, reset after the
server committed, blackhole, slow drip, refused connections) and a server
injecting 500/503/429 and commit-then-fail. Everything converges: every
committed case reaches central exactly once."""

from __future__ import annotations

import random
import time

import pytest

from central.faults import FaultProxy
from offline_cache.simulate import make_case
from offline_cache.store import CaseStore
from offline_cache.sync import SyncWorker


def fast_worker(store, client, **kw):
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_cap_s", 0.2)
    kw.setdefault("interval_s", 0.05)
    return SyncWorker(store, client, rng=random.Random(7), **kw)


def drain(worker, store, deadline_s=60.0):
    end = time.monotonic() + deadline_s
    while store.stats()["outbox"] and time.monotonic() < end:
        worker.sync_once()
        if worker.failures:
            time.sleep(worker.next_attempt_at - time.monotonic() if worker.next_attempt_at > time.monotonic() else 0)
    return store.stats()


def assert_exactly_once(store, central_cases, expected_ids):
    rows = central_cases()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "a case is stored twice at central"
    assert set(ids) == set(expected_ids), "lost or unexpected cases"
    stats = store.stats()
    assert stats["dead"] == 0 and stats["outbox"] == 0 and stats["synced"] == len(expected_ids)


def test_backlog_is_sent_in_batches_and_in_local_order(store, client, central_cases):
    rng = random.Random(1)
    ids = [store.commit_case(**make_case(rng)).case_id for _ in range(120)]
    worker = fast_worker(store, client, batch_size=50)
    result = worker.sync_once()
    assert result["sent"] == 120 and result["batches"] == 3
    assert_exactly_once(store, central_cases, ids)
    assert [r[1] for r in central_cases()] == sorted(r[1] for r in central_cases())


def test_faults_on_the_wire_and_at_the_server_converge_without_loss_or_duplicates(
        central, store, make_client, central_cases, central_evaluations):
    central.sandbox.faults.update({"fail_rate": 0.12, "statuses": [500, 503, 429], "commit_then_fail_rate": 0.15,
                                   "seed": 3})
    weights = {"pass": 4, "latency": 1, "reset_after_response": 2, "blackhole": 0.4, "slow_drip": 1, "refuse": 0.6}
    port = int(central.url.rsplit(":", 1)[1])
    with FaultProxy(port, weights=weights, seed=11, drip_interval_s=0.005) as proxy:
        client = make_client(proxy.url, connect_timeout_s=0.5, read_timeout_s=0.5)
        client.session.headers["Connection"] = "close"  # a fresh connection (and fault) per request
        rng = random.Random(5)
        ids, ratings = [], {}
        for _round in range(12):
            worker = fast_worker(store, client, batch_size=rng.choice([1, 3, 10, 40]))
            for _ in range(rng.randint(5, 25)):
                kw = make_case(rng)
                rec = store.commit_case(**kw)
                ids.append(rec.case_id)
                if "evaluation" in kw:
                    ratings[rec.case_id] = kw["evaluation"]["level"]
                elif rng.random() < 0.3:
                    level = rng.randint(1, 5)
                    store.set_evaluation(rec.case_id, level, ["waiting_too_long"] if level <= 2 else [])
                    ratings[rec.case_id] = level
            worker.sync_once()
        drain(worker, store)
        used = {m for m, n in proxy.counts.items() if n}
    assert_exactly_once(store, central_cases, ids)
    assert central_evaluations() == ratings
    stats = central.sandbox.stats()
    assert stats["duplicates_rejected"] > 0, "no replay happened: the faults did not bite"
    assert stats["key_conflicts"] == 0
    assert {"reset_after_response", "blackhole", "slow_drip", "refuse", "latency"} <= used


def test_worker_resumes_by_itself_when_the_network_comes_back(central, store, make_client, central_cases):
    port = int(central.url.rsplit(":", 1)[1])
    with FaultProxy(port, mode="refuse") as proxy:
        client = make_client(proxy.url, connect_timeout_s=0.3, read_timeout_s=0.5)
        worker = fast_worker(store, client, heartbeat_s=3600, backoff_cap_s=0.3).start()
        try:
            ids = [store.commit_case(**make_case(random.Random(i))).case_id for i in range(5)]
            end = time.monotonic() + 60  # a generous bound, not a speed check
            while worker.failures < 3 and time.monotonic() < end:
                time.sleep(0.02)
            assert worker.failures >= 3 and store.stats()["outbox"] == 5
            status = worker.status()
            assert status["state"] == "offline" and "5" in status["message"]["zh"]
            proxy.mode = "pass"  # the network is back; no new case is committed
            end = time.monotonic() + 60  # a generous bound, not a speed check
            while store.stats()["outbox"] and time.monotonic() < end:
                time.sleep(0.02)
        finally:
            worker.stop()
    assert_exactly_once(store, central_cases, ids)
    assert worker.status()["message"]["key"] == "cases.sync.ok"


def test_permanent_refusal_goes_to_the_dead_letter_list_with_its_reason(store, client, central_cases):
    good = store.commit_case(**make_case(random.Random(1))).case_id
    bad = store.commit_case("s" * 100, {"name": "张三"}, {}).case_id  # central allows 64-char service ids
    after = store.commit_case(**make_case(random.Random(2))).case_id
    worker = fast_worker(store, client, batch_size=10)
    result = worker.sync_once()
    assert result["sent"] == 2 and result["dead"] == 1 and not result.failed
    dead = store.dead_letters()
    assert [d["case_id"] for d in dead] == [bad]
    assert dead[0]["http_status"] == 400 and "invalid_request" in dead[0]["reason"]
    assert {r[0] for r in central_cases()} == {good, after}
    assert store.stats()["dead"] == 1
    assert worker.status()["message"]["key"] == "cases.sync.dead"


def test_wrong_credentials_never_dead_letter_cases(store, central, make_client):
    from offline_cache.client import CentralClient
    store.commit_case(**make_case(random.Random(1)))
    c = CentralClient(url=central.url, token="wrong", terminal_id="T-TEST")
    worker = fast_worker(store, c)
    result = worker.sync_once()
    c.close()
    assert result.failed and store.stats()["dead"] == 0 and store.stats()["outbox"] == 1
    assert worker.status()["state"] == "auth_failed"
    assert worker.status()["message"]["key"] == "cases.sync.auth_failed"


def test_older_central_without_batch_endpoint_gets_single_requests(store, client, central, central_cases):
    from starlette.routing import Route
    central.app.router.routes = [r for r in central.app.router.routes
                                 if not (isinstance(r, Route) and r.path == "/v1/cases/batch")]
    ids = [store.commit_case(**make_case(random.Random(i))).case_id for i in range(4)]
    worker = fast_worker(store, client, batch_size=10)
    assert worker.sync_once()["sent"] == 4
    assert_exactly_once(store, central_cases, ids)


@pytest.mark.parametrize("when", [1_000.0, 10_413_792_000.0])  # 1970 and the year 2300
def test_wrong_terminal_clock_loses_nothing_and_keeps_local_order(tmp_path, client, central_cases, when):
    real = [0.0]

    def clock():
        real[0] += 1
        # Jump around: wrong, then right, then wrong again (NTP fixing and failing).
        return when + real[0] if real[0] % 3 else time.time()

    store = CaseStore(tmp_path, "T-TEST", clock=clock)
    rng = random.Random(3)
    recs = [store.commit_case(**make_case(rng)) for _ in range(29)]
    recs.append(store.commit_case("vehicle_pass", {"name": "张三", "id_number": "110101198503120316"}, {}))
    store.set_evaluation(recs[-1].case_id, 5)
    worker = fast_worker(store, client, batch_size=7, clock=clock)
    drain(worker, store, 20)
    assert_exactly_once(store, central_cases, [r.case_id for r in recs])
    rows = central_cases()
    by_arrival = [seq for _, seq, _ in rows]
    assert by_arrival == sorted(by_arrival) == [r.seq for r in recs]
    assert len({r.ref for r in recs}) == 30
    store.close()


def test_heartbeat_carries_device_status_outbox_and_version(store, client, central):
    store.commit_case(**make_case(random.Random(1)))

    def provider():
        return {"devices": {"idcard": {"device": "online", "detail": {"media": "notPresent"}},
                            "ticket_printer": {"device": "userError", "detail": {"paper": "out"}}},
                "services": {"queue_ticket": {"available": False, "reason": "printer.paper_out"}}}

    worker = fast_worker(store, client, status_provider=provider, version="1.2.3")
    ack = worker.heartbeat_once()
    assert ack is not None and worker.status()["clock_offset_s"] is not None
    import requests
    hb = requests.get(f"{central.url}/v1/terminals/T-TEST", timeout=5,
                      headers={"Authorization": f"Bearer {central.token_for('T-TEST')}"}).json()["last_heartbeat"]
    assert hb["software_version"] == "1.2.3"
    assert hb["devices"]["ticket_printer"]["detail"]["paper"] == "out"
    assert hb["services"]["queue_ticket"]["available"] is False
    assert hb["outbox"]["pending"] == 1 and hb["store"]["accepting"] is True


def test_backoff_is_capped_full_jitter(store, client):
    worker = SyncWorker(store, client, backoff_base_s=0.5, backoff_cap_s=8, rng=random.Random(1))
    for failures, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (4, 8.0), (20, 8.0)]:
        worker.failures = failures
        delays = [worker.backoff_delay() for _ in range(300)]
        assert max(delays) <= ceiling and min(delays) < ceiling * 0.2
    worker.failures = 0
    assert worker.backoff_delay(retry_after=3) >= 3
