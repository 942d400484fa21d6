"""printer-state-reasons -> the common device status a flow checks before printing."""

from __future__ import annotations

import pytest

from devices.base import DeviceState
from printers.a4.driver import map_printer_status


def status(reasons, state=3, accepting=True):
    return map_printer_status({"printer-state": state, "printer-state-reasons": reasons,
                               "printer-is-accepting-jobs": accepting})


@pytest.mark.parametrize("reasons,device,detail", [
    (["none"], DeviceState.ONLINE, {"paper": "full", "cover": "closed", "toner": "ok"}),
    (["media-empty-error"], DeviceState.USER_ERROR, {"paper": "out"}),
    (["media-needed-warning"], DeviceState.USER_ERROR, {"paper": "out"}),
    (["door-open-error"], DeviceState.USER_ERROR, {"cover": "open"}),
    (["cover-open-report"], DeviceState.USER_ERROR, {"cover": "open"}),
    (["toner-low-report"], DeviceState.ONLINE, {"toner": "low", "warnings": ["toner-low"]}),
    (["marker-supply-low-warning"], DeviceState.ONLINE, {"toner": "low"}),
    (["media-low"], DeviceState.ONLINE, {"paper": "low"}),
    (["toner-empty-error"], DeviceState.USER_ERROR, {"toner": "empty"}),
    (["offline-report"], DeviceState.OFFLINE, {}),
    (["shutdown"], DeviceState.OFFLINE, {}),
    (["connecting-to-device"], DeviceState.OFFLINE, {}),
    (["media-jam-error"], DeviceState.HARDWARE_ERROR, {"paper": "jam"}),
])
def test_reason_mapping(reasons, device, detail):
    st = status(reasons)
    assert st.device == device
    for key, value in detail.items():
        assert st.detail[key] == value


def test_most_severe_reason_wins_and_all_details_kept():
    st = status(["toner-low-warning", "cover-open-error", "media-jam-error", "offline-report"])
    assert st.device == DeviceState.OFFLINE
    assert st.detail["cover"] == "open" and st.detail["paper"] == "jam" and st.detail["toner"] == "low"
    assert status(["cover-open", "media-jam"]).device == DeviceState.HARDWARE_ERROR


def test_messages_name_the_problem_in_both_languages():
    st = status(["media-empty-error"])
    assert "缺纸" in st.message_zh and "out of paper" in st.message_en
    warn = status(["toner-low-report"])
    assert warn.usable and "碳粉" in warn.message_zh


def test_printer_states():
    assert status(["none"], state=4).device == DeviceState.BUSY  # printing: still usable
    assert status(["none"], state=4).usable
    stopped = status(["none"], state=5)
    assert stopped.device == DeviceState.HARDWARE_ERROR and not stopped.usable
    assert status(["paused"], state=5).device == DeviceState.OFFLINE
    assert status(["none"], accepting=False).device == DeviceState.OFFLINE
