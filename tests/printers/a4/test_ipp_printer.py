"""The A4 driver against a real IPP printer (ippeveprinter) on loopback."""

from __future__ import annotations

import io

import pytest
from reportlab.pdfgen import canvas

from devices.base import DeviceError, DeviceState
from printers.a4.driver import A4Printer, PrintFailed
from printers.a4.ipp import IppClient

pytestmark = [pytest.mark.ipp, pytest.mark.timeout(120)]


def small_pdf(label: str = "kiosk test") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, label)
    c.save()
    return buf.getvalue()


@pytest.fixture
def a4(printer):
    dev = A4Printer("a4_printer", printer.url, {"fault_grace_s": 1.0}).open()
    yield dev
    dev.close()


def test_job_lifecycle_pending_processing_completed(a4, printer):
    assert a4.status().device == DeviceState.ONLINE
    result = a4.print_pdf(small_pdf(), "不动产登记信息查询结果")
    assert result.ok and result.state == "completed"
    assert result.states_seen == ["pending", "processing", "completed"]
    assert "job-completed-successfully" in result.reasons
    job = next(j for j in printer.jobs() if j["id"] == result.job_id)
    assert job["state"] == "completed" and job["name"] == "不动产登记信息查询结果"
    with open(job["document"], "rb") as f:  # the printer received our exact bytes
        assert f.read().startswith(b"%PDF-")


@pytest.mark.parametrize("fault,device,detail", [
    ("media-empty", DeviceState.USER_ERROR, {"paper": "out"}),
    ("cover-open", DeviceState.USER_ERROR, {"cover": "open"}),
    ("media-jam", DeviceState.HARDWARE_ERROR, {"paper": "jam"}),
    ("toner-empty", DeviceState.USER_ERROR, {"toner": "empty"}),
])
def test_fault_state_refuses_job_before_sending(a4, printer, fault, device, detail):
    before = len(printer.jobs())
    printer.set_fault(fault)
    st = a4.refresh_status()
    assert st.device == device and not st.usable
    assert all(st.detail[k] == v for k, v in detail.items())
    with pytest.raises(PrintFailed) as err:
        a4.print_pdf(small_pdf(), "refused")
    assert err.value.result.state == "refused" and err.value.result.job_id is None
    assert err.value.state == device
    assert len(printer.jobs()) == before  # nothing reached the printer
    printer.set_fault(None)
    assert a4.refresh_status().usable


def test_toner_low_is_a_warning_and_the_job_prints(a4, printer):
    printer.set_fault("toner-low")
    st = a4.refresh_status()
    assert st.device == DeviceState.ONLINE and st.detail["toner"] == "low"
    result = a4.print_pdf(small_pdf(), "with low toner")
    assert result.ok and "toner-low" in result.warnings


def test_aborted_job_is_reported_with_the_printers_reason(a4, printer):
    printer.set_fault("job-abort")
    with pytest.raises(PrintFailed) as err:
        a4.print_pdf(small_pdf(), "will abort")
    res = err.value.result
    assert res.state == "aborted" and not res.ok and res.job_id is not None
    assert "interpreter error" in res.message and "interpreter error" in str(err.value)
    assert next(j for j in printer.jobs() if j["id"] == res.job_id)["state"] == "aborted"


def test_job_stalled_on_paper_out_is_cancelled_and_reported(a4, printer):
    # The job reaches the printer, then the printer waits for paper (media-needed):
    # the driver cancels it after the grace period instead of leaving it queued.
    printer.set_fault("media-empty")
    client = IppClient(printer.url)
    job_id = client.print_job(small_pdf(), "stalled").one("job-id")
    with pytest.raises(PrintFailed) as err:
        a4.follow_job(job_id, timeout=30)
    assert err.value.key == "a4.job_stalled" and "缺纸" in err.value.text.zh
    assert err.value.result.state == "timeout" and "canceled" in err.value.result.states_seen
    printer.set_fault(None)
    assert client.get_job_attributes(job_id).one("job-state") == 7  # canceled, never printed
    client.close()


def test_unreachable_printer_is_offline(a4, printer):
    printer.set_fault("offline")
    assert a4.refresh_status().device == DeviceState.OFFLINE
    with pytest.raises(DeviceError) as err:
        a4.print_pdf(small_pdf(), "nowhere")
    assert err.value.state == DeviceState.OFFLINE and "connection refused" in str(err.value)
    printer.set_fault(None)
    assert a4.refresh_status().device == DeviceState.ONLINE


def test_registry_and_simulator_handle(tmp_path, require_ipp):
    from printers.families import printer_registry

    reg = printer_registry(["a4"])
    assert reg.driver_for("a4", "cups://Hall") is A4Printer
    assert reg.driver_for("a4", "ipps://h/p") is A4Printer
    handle = reg.start_simulator("a4", "a4_printer", {"sim_job_seconds": 0.1}, tmp_path)
    try:
        dev = A4Printer("a4_printer", handle.url).open()
        assert dev.print_pdf(small_pdf(), "via registry").ok
        assert [j["name"] for j in handle.jobs()] == ["via registry"]
        dev.close()
    finally:
        handle.stop()
