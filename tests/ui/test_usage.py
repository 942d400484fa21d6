"""The catalog's local counts for "常用": ids and counts only, ranked, bounded,
and a damaged file never stops the screen."""

from __future__ import annotations

import json

from ui import usage
from ui.usage import UsageStats


def test_counts_rank_and_survive_a_restart(tmp_path):
    path = tmp_path / "ui" / "service_usage.json"
    stats = UsageStats(path)
    assert stats.ranked(["a", "b", "c"]) == ["a", "b", "c"]       # nothing counted: catalog order
    for sid in ("c", "b", "c"):
        stats.record(sid)
    assert stats.ranked(["a", "b", "c"]) == ["c", "b", "a"]
    assert UsageStats(path).counts() == {"c": 2, "b": 1}
    assert json.loads(path.read_text("utf-8")) == {"opened": {"b": 1, "c": 2}}
    assert not list(path.parent.glob("*.tmp"))


def test_hostile_or_damaged_files_start_afresh(tmp_path, caplog):
    path = tmp_path / "usage.json"
    path.write_text("{not json", "utf-8")
    assert UsageStats(path).counts() == {}
    assert "unreadable" in caplog.text
    path.write_text(json.dumps({"opened": {"../etc": 5, "ok_id": "3", "neg": -1, "X Y": 2}}), "utf-8")
    assert UsageStats(path).counts() == {"ok_id": 3}
    stats = UsageStats(path)
    stats.record("名字 110101198503120316")    # never an id: not kept
    assert stats.counts() == {"ok_id": 3}


def test_the_file_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(usage, "MAX_SERVICES", 3)
    stats = UsageStats(tmp_path / "usage.json")
    for sid in ("a", "a", "b", "b", "c", "d"):
        stats.record(sid)
    assert len(stats.counts()) == 3 and {"a", "b"} <= set(stats.counts())
