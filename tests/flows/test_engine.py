"""Flow engine at unit level: fake in-memory steps and services, injected clock."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from devices.base import DeviceState, DeviceStatus
from flows.engine import (
    END,
    Choice,
    FakeClock,
    Field,
    Flow,
    Journal,
    ServiceUnavailable,
    Session,
    Step,
    check_availability,
    replay,
)
from flows.steps.basic import ThanksStep, WorkStep
from kiosk.core import logs
from kiosk.core.domain import Identity
from kiosk.core.i18n import text


class FakeServices:
    def __init__(self, devices=None, backends=None):
        self.devices = devices if devices is not None else {"escpos": DeviceStatus(DeviceState.ONLINE)}
        self.backends = backends or {}

    def device_status(self, family):
        return self.devices.get(family)

    def backend_status(self, name):
        return self.backends.get(name, (True, None))

    def config_get(self, key, default=None):
        return {"counters.hours": "9-17"}.get(key, default)


def lookup(job, s):
    gate = s.data.get("gate")
    if gate is not None:
        gate.wait(5)
    return {"found": s.data["plate"].endswith("5")}


def found_next(s):
    return "found" if s.data["lookup"]["found"] else "not_found"


def make_flow() -> Flow:
    steps = [
        Step("plate", view="form", title="flows.traffic.plate_title",
             fields=[Field("plate", "plate", keyboard="plate"),
                     Field("phone", "phone", personal=True, replay_value="13800138000")]),
        Step("kind", view="choose", choices=[Choice("car", "flows.plate.kind.regular"),
                                             Choice("ev", "flows.plate.kind.new_energy")]),
        WorkStep("lookup", options={"run": lookup}, next=found_next),
        Step("found", view="result", actions=[Choice("ok", "flows.action.ok")], next="thanks"),
        Step("not_found", view="result", actions=[Choice("ok", "flows.action.ok")], next="thanks"),
        ThanksStep("thanks"),
    ]
    return Flow("toy", "convenience", "flows.svc.traffic_violations.title", {s.id: s for s in steps}, "plate",
                devices=["escpos"], backends=["central"])


@pytest.fixture
def clock():
    return FakeClock()


def new_session(clock, services=None, **kw):
    return Session(make_flow(), services or FakeServices(), clock=clock, idle_timeout_s=60, idle_warning_s=10,
                   **kw).start()


def test_validation_errors_are_keyed_by_field_in_both_languages(clock):
    s = new_session(clock)
    s.dispatch({"type": "input", "field": "plate", "value": "XA12345"})
    s.dispatch({"type": "input", "field": "phone", "value": "12345"})
    s.dispatch({"type": "submit"})
    st = s.state()
    assert st["step"] == "plate" and st["view"] == "form"
    assert st["errors"]["plate"]["key"] == "flows.plate.province"
    assert st["errors"]["phone"]["key"] == "flows.phone.format"
    plate = st["errors"]["plate"]
    assert plate["zh"] and plate["en"] and plate["zh"] != plate["en"]
    fields = {f["name"]: f for f in st["fields"]}
    assert fields["plate"]["keyboard"] == "plate"
    assert fields["plate"]["error"]["key"] == "flows.plate.province"
    # typing again clears that field's error only
    s.dispatch({"type": "input", "field": "plate", "value": "苏a 12345"})
    assert "plate" not in s.state()["errors"] and "phone" in s.state()["errors"]
    s.dispatch({"type": "input", "field": "phone", "value": "13912345678"})
    s.dispatch({"type": "submit"})
    st = s.state()
    assert st["step"] == "kind" and st["view"] == "choose"
    assert [c["id"] for c in st["choices"]] == ["car", "ev"]
    s.close()


def test_personal_values_are_masked_in_state_and_journal(clock):
    s = new_session(clock)
    s.dispatch({"type": "input", "field": "phone", "value": "13912345678"})
    field = next(f for f in s.state()["fields"] if f["name"] == "phone")
    assert field["value"] == "139****5678" and field["personal"]
    assert "13912345678" not in "\n".join(s.journal.lines())
    s.close()


def test_back_keeps_values_and_cancel_wipes_everything(clock, tmp_path):
    s = new_session(clock)
    assert s.state()["can_back"] is False
    s.dispatch({"type": "input", "field": "plate", "value": "苏A12345"})
    s.dispatch({"type": "input", "field": "phone", "value": "13912345678"})
    s.dispatch({"type": "submit"})
    assert s.state()["step"] == "kind" and s.state()["can_back"]
    s.dispatch({"type": "back"})
    st = s.state()
    assert st["step"] == "plate"
    assert {f["name"]: f["value"] for f in st["fields"]}["plate"] == "苏A12345"
    # personal data held by the session and registered for log masking
    person = Identity(name="欧阳明", id_number="110101198503120316", address="北京市东城区和平里东街18号")
    s.data["applicant"] = person
    masking = logs.MaskingFilter()
    logs.remember_personal(name=person.name)
    assert "欧**" in masking.mask("欧阳明 came")
    tmp = s.tempdir()
    (tmp / "scratch.bin").write_bytes(b"x")
    s.dispatch({"type": "tap", "action": "cancel"})
    st = s.state()
    assert st["ended"] and st["outcome"] == "cancelled" and st["view"] == "start"
    assert st["fields"] == [] and st["result"] is None
    assert s.data == {} and person.name == "" and person.id_number == ""
    assert not tmp.exists()
    assert masking.mask("欧阳明 came") == "欧阳明 came"  # forgotten: no longer a known value
    s.dispatch({"type": "tap", "action": "car"})  # events after the end are ignored
    assert s.state()["step"] is None


def test_idle_warning_then_timeout_wipes_and_returns_to_start(clock):
    s = new_session(clock)
    s.dispatch({"type": "input", "field": "plate", "value": "苏A1"})
    assert s.state()["seconds_left"] == 60
    clock.advance(49)
    s.dispatch({"type": "tick"})
    st = s.state()
    assert not st["idle_warning"] and st["seconds_left"] == 11
    clock.advance(2)
    s.dispatch({"type": "tick"})
    assert s.state()["idle_warning"] and s.state()["seconds_left"] == 9
    s.dispatch({"type": "stay"})  # "I'm still here" restarts the countdown
    assert not s.state()["idle_warning"] and s.state()["seconds_left"] == 60
    clock.advance(61)
    s.dispatch({"type": "tick"})
    st = s.state()
    assert st["ended"] and st["outcome"] == "timeout" and st["view"] == "start"
    assert s.data == {}
    assert s.summary["outcome"] == "timeout" and s.summary["steps"] == ["plate"]


def test_work_runs_off_the_callers_thread_and_posts_back(clock):
    s = new_session(clock)
    gate = threading.Event()
    s.dispatch({"type": "input", "field": "plate", "value": "苏A12345"})
    s.dispatch({"type": "input", "field": "phone", "value": "13912345678"})
    s.dispatch({"type": "submit"})
    s.data["gate"] = gate
    s.dispatch({"type": "tap", "action": "car"})  # returns at once although the job waits
    st = s.state()
    assert st["step"] == "lookup" and st["busy"] and st["seconds_left"] is None
    clock.advance(600)
    s.dispatch({"type": "tick"})  # the machine is working: no idle timeout
    assert not s.state()["ended"]
    gate.set()
    st = s.wait_for(lambda st: st["step"] == "found", 5)
    assert not st["busy"]
    s.dispatch({"type": "tap", "action": "ok"})
    s.dispatch({"type": "tap", "action": "finish"})
    assert s.outcome == "completed"
    timings = {t["step"]: t for t in s.summary["timings"]}
    assert timings["lookup"]["machine_ms"] > 0


def run_recorded(clock, plate):
    journal = Journal()
    s = new_session(clock, journal=journal)
    s.dispatch({"type": "input", "field": "plate", "value": plate})
    s.dispatch({"type": "input", "field": "phone", "value": "13912345678"})
    s.dispatch({"type": "submit"})
    s.dispatch({"type": "tap", "action": "ev"})
    s.wait_for(lambda st: st["step"] in ("found", "not_found"), 5)
    s.dispatch({"type": "back"})  # the busy lookup is skipped: back lands on the choice
    s.dispatch({"type": "tap", "action": "car"})
    s.wait_for(lambda st: st["step"] in ("found", "not_found"), 5)
    clock.advance(70)
    s.dispatch({"type": "tick"})
    return journal


def test_replay_of_a_recorded_journal_gives_the_same_steps(clock, tmp_path):
    journal = run_recorded(clock, "苏A12345")
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(journal.lines()) + "\n", "utf-8")
    records = Journal.load(path)
    assert all(json.loads(line) for line in path.read_text("utf-8").splitlines())
    assert "13912345678" not in path.read_text("utf-8")
    flow = make_flow()
    out = replay(records, {"toy": flow}, FakeServices())
    assert out["same"], out
    assert out["replayed"] == ["plate", "kind", "lookup", "found", "kind", "lookup", "found"]
    assert out["outcome"] == "timeout"
    # a journal of a different run takes the other branch, and replay follows it
    other = replay([r for r in run_recorded(FakeClock(), "苏A12346").records], {"toy": flow}, FakeServices())
    assert other["same"] and "not_found" in other["replayed"]


def test_unavailable_service_is_never_started():
    services = FakeServices(devices={"escpos": DeviceStatus(DeviceState.USER_ERROR, {"paper": "out"},
                                                            message=text("device.state.userError", reason="缺纸"))},
                            backends={"central": (False, text("flows.unavailable.central"))})
    avail = check_availability(make_flow(), services)
    assert not avail.ok
    keys = [r.key for r in avail.reasons]
    assert keys == ["flows.unavailable.device", "flows.unavailable.central"]
    assert "缺纸" in avail.reasons[0].zh and avail.reasons[0].en
    with pytest.raises(ServiceUnavailable) as err:
        Session(make_flow(), services)
    assert err.value.reasons == avail.reasons
    missing = check_availability(make_flow(), FakeServices(devices={}))
    assert [r.key for r in missing.reasons] == ["flows.unavailable.no_device"]


def test_a_failing_step_becomes_an_error_screen_with_a_next_step(clock, caplog):
    def broken(s):
        raise RuntimeError("boom")

    steps = [Step("a", view="message", actions=[Choice("ok", "flows.action.ok")], options={"enter": None}),
             Step("b", view="message", options={"enter": broken}), ThanksStep("thanks")]
    flow = Flow("t2", "public", "x", {s.id: s for s in steps}, "a")
    s = Session(flow, FakeServices(), clock=clock).start()
    with caplog.at_level(logging.ERROR):
        s.dispatch({"type": "tap", "action": "ok"})
    st = s.state()
    assert st["step"] == "b" and st["view"] == "error"
    assert [a["id"] for a in st["actions"]] == ["counter"]
    s.dispatch({"type": "tap", "action": "counter"})
    st = s.state()
    assert st["view"] == "message" and "9-17" in st["message"]["zh"] and not st["can_back"]
    s.dispatch({"type": "tap", "action": "finish"})
    assert s.outcome == "counter" and s.state()["view"] == "start"


def test_state_snapshot_is_plain_json(clock):
    s = new_session(clock)
    st = s.state()
    assert json.loads(json.dumps(st)) == st
    for key in ("service", "step", "view", "title", "prompt", "fields", "errors", "choices", "actions", "progress",
                "can_back", "can_cancel", "seconds_left", "idle_warning", "busy", "result", "artifacts", "ended"):
        assert key in st
    assert st["service"]["id"] == "toy" and st["title"]["zh"] and st["title"]["en"]
    assert st["progress"] == {"index": 1, "total": 4}
    s.close()
    assert END == "__end__"
