"""A session ended by something other than the screen (the engine's own idle
timeout, the terminal stopping it: a technician, a fault, the soak harness)
reaches the screen: the resident is not left on a dead step, the start screen
comes back and says why, in the resident's language."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.qt


@pytest.fixture
def kiosk(real_kiosk):
    return real_kiosk()


def open_queue(kiosk) -> None:
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("queue_ticket")
    kiosk.tap("service_queue_ticket")
    kiosk.wait_view("choose")


def elsewhere(fn) -> None:
    """Run ``fn`` on a thread of its own, as the core's and a harness's are."""
    t = threading.Thread(target=fn)
    t.start()
    t.join(30)
    assert not t.is_alive()


@pytest.mark.parametrize("cause", ["technician", "shutdown"])
def test_session_closed_by_the_terminal_returns_to_the_start_screen(kiosk, cause):
    open_queue(kiosk)
    session = kiosk.ui.backend.session
    elsewhere(lambda: session.close(cause=cause))
    kiosk.wait_page("attract")
    notice = kiosk.text("noticeText")
    assert "已结束" in notice and "重新开始" in notice
    assert not any(c.isascii() and c.isalpha() for c in notice)  # no English or codes on a Chinese screen
    assert kiosk.ui.backend.session is None
    assert kiosk.ui.vm.session.view == ""  # nothing of the step is kept
    kiosk.shot("session_ended_elsewhere")
    # the next resident starts afresh, without the last one's notice
    open_queue(kiosk)
    assert kiosk.absent("noticeText") or not kiosk.text("noticeText")
    kiosk.tap("btnHome")
    kiosk.wait_page("attract")


def test_engine_idle_timeout_reaches_the_screen_in_english(kiosk):
    kiosk.tap("btnLang")
    open_queue(kiosk)
    session = kiosk.ui.backend.session
    session.last_activity -= 3600  # the person left an hour ago: the engine's next tick ends it

    elsewhere(lambda: session.dispatch({"type": "tick"}))
    kiosk.wait_page("attract")
    assert session.outcome == "timeout"
    assert "No activity" in kiosk.text("noticeText")
    assert kiosk.ui.backend.session is None


def test_resident_leaving_on_the_screen_gets_no_notice(kiosk):
    open_queue(kiosk)
    kiosk.tap("btnHome")
    kiosk.wait_page("attract")
    assert kiosk.absent("noticeText") or not kiosk.text("noticeText")
