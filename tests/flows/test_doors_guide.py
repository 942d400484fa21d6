"""Service guide: content for every service, search by pinyin initials, read
aloud, printed; central's signed updates taken, a forged one refused and the
last good copy kept."""

from __future__ import annotations

import json

from flows.catalog import load_catalog
from flows.guide import FIELDS, problem, shipped
from flows.runner import load_script, shipped_script


def test_every_service_of_the_catalog_has_a_guide_in_both_languages():
    guide = shipped()
    assert problem(guide) is None
    missing = [sid for sid, flow in load_catalog().items() if flow.offered and sid not in guide["entries"]]
    assert missing == []
    for entry in guide["entries"].values():
        assert all(entry[f]["zh"] and entry[f]["en"] for f in FIELDS)


def test_search_read_aloud_and_print(runner):
    report = runner.run(load_script(shipped_script("service_guide")))
    assert report.ok, report.error
    spoken = " ".join(text for step, parts in runner.spoken if step == "detail" for _, text in parts)
    assert "所需材料" in spoken and "本人居民身份证" in spoken
    assert any(a.endswith(".png") for a in report.artifacts)


def test_a_signed_update_is_taken_and_a_forged_one_leaves_the_last_good_copy(kiosk_app):
    from kiosk.doors import doors_for

    store = doors_for(kiosk_app).guide
    content = {"entries": {**shipped()["entries"]}}
    content["entries"]["queue_ticket"] = {**content["entries"]["queue_ticket"],
                                          "fees": {"zh": "免费（新）", "en": "Free (new)"}}
    kiosk_app.central.call("PUT", "/v1/sandbox/guide", json_body=content)
    store._checked = 0.0
    now = store.current(refresh=True)
    assert now["source"] == "central" and now["entries"]["queue_ticket"]["fees"]["en"] == "Free (new)"
    # someone edits the kept copy on disk: it no longer verifies, the shipped guide is used
    doc = json.loads(store.path.read_text("utf-8"))
    good = store.path.read_text("utf-8")
    doc["content"]["entries"]["queue_ticket"]["fees"]["en"] = "100 yuan"
    store.path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    assert store.current()["source"] == "shipped"
    store.path.write_text(good, "utf-8")
    # central unreachable: the last good copy stays in force
    kiosk_app.central.call("POST", "/v1/sandbox/faults", json_body={"fail_rate": 1.0, "statuses": [503]})
    try:
        store._checked = 0.0
        assert store.current(refresh=True)["entries"]["queue_ticket"]["fees"]["en"] == "Free (new)"
    finally:
        kiosk_app.central.call("POST", "/v1/sandbox/faults", json_body={"fail_rate": 0.0})
