"""A real IPP printer (ippeveprinter) on loopback for the A4 tests."""

from __future__ import annotations

import pytest

from printers.a4.simulator import IppPrinterSimulator, unavailable_reason


def ipp_unavailable() -> str | None:
    """Why ippeveprinter tests cannot run here, or None (the skip is a failure in CI)."""
    return unavailable_reason()


@pytest.fixture
def require_ipp():
    reason = ipp_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def ipp_printer(tmp_path_factory):
    reason = ipp_unavailable()
    if reason:
        pytest.skip(reason)
    sim = IppPrinterSimulator(tmp_path_factory.mktemp("ipp"), job_seconds=0.4)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def printer(ipp_printer):
    """The simulator back in a clean state for each test."""
    ipp_printer.set_fault(None)
    yield ipp_printer
    ipp_printer.set_fault(None)
