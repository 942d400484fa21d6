"""Chinese typed on the on-screen keyboard: the bad-rating comment through
the real QML, the real engine and the case store (pinyin -> 不满意)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt


def to_bad_rating(kiosk) -> str:
    """To the reasons of a 不满意 rating of a case done earlier; its ref."""
    ref = kiosk.app.commit_case(service="queue_ticket", applicant={}, result={}).ref
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("evaluation")
    kiosk.tap("service_evaluation")
    kiosk.wait_view("form")
    kiosk.ui.vm.session.send("input", {"field": "case_ref", "value": ref})
    kiosk.tap("btnSubmit")
    kiosk.wait_view("evaluation", timeout=30)
    kiosk.tap("rate_level_2")              # dissatisfied: reasons and a comment
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.vm.session.raw.get("multi") is True, timeout=10000)
    kiosk.settle()
    return ref


@pytest.mark.parametrize("elderly", [False, True], ids=["standard", "elderly"])
def test_bad_rating_comment_typed_in_pinyin(real_kiosk, elderly):
    kiosk = real_kiosk()
    if elderly:
        kiosk.tap("btnElderly")
    ref = to_bad_rating(kiosk)
    kiosk.tap("choice_reason_slow")
    kiosk.tap("field_comment")
    kiosk.item("textKeyboard")
    assert kiosk.text("keyInputModeLabel") == "英文"      # pinyin is on for a Chinese session
    for k in "BUMANYI":
        kiosk.tap(f"key_{k}")
    assert kiosk.text("composition") == "bumanyi"
    kiosk.qtbot.waitUntil(lambda: kiosk.ui.find("cand_0") is not None, timeout=30000)
    assert kiosk.item("cand_0").property("word") == "不满意"
    kiosk.tap("keyBackspace")                            # backspace edits the pinyin, not the comment
    assert kiosk.text("composition") == "bumany"
    kiosk.tap("key_I")
    kiosk.tap("cand_0")
    assert kiosk.text("composition") == ""
    assert kiosk.text("textBoxValue") == "不满意"
    for k in "MANYI":                                   # a word, then letters in ABC mode
        kiosk.tap(f"key_{k}")
    kiosk.tap("cand_0")
    kiosk.tap("keyInputMode")
    kiosk.tap("key_A")
    assert kiosk.text("textBoxValue") == "不满意满意A"
    kiosk.tap("keyBackspace")
    kiosk.tap("keyBackspace")
    kiosk.tap("keyBackspace")
    assert kiosk.text("textBoxValue") == "不满意"
    # every key and candidate a finger (and a screen reader) can find
    min_h = 88 if elderly else 60
    kiosk.tap("keyInputMode")
    kiosk.tap("key_H")
    kiosk.tap("key_A")
    kiosk.tap("key_O")
    kiosk.item("cand_0")
    kiosk.on_screen("key_Q", "key_M", "cand_0", "keyInputMode", "keyBackspace", "keyDone", min_height=min_h)
    body_x, body_y, body_w, body_h = kiosk.rect("stepBody")   # the keyboard stays above the footer
    for name in ("textKeyboard", "keyDone", "key_M"):
        x, y, w, h = kiosk.rect(name)
        assert body_y - 0.5 <= y and y + h <= body_y + body_h + 0.5, f"{name} leaves the step's area"
    assert kiosk.unnamed() == []
    kiosk.shot("evaluation_comment_pinyin")
    kiosk.tap("keyBackspace")
    kiosk.tap("keyBackspace")
    kiosk.tap("keyBackspace")
    kiosk.tap("keyDone")
    kiosk.tap("btnSubmit")
    kiosk.wait_view("message", timeout=30)
    case = kiosk.app.store.find_by_ref(ref)
    assert case and case["evaluation"]["comment"] == "不满意"
    assert case["evaluation"]["level"] == 2
