"""Fixtures for the PC/SC tests: a real pcscd with the vpcd driver and a virtual card.

pcscd is started here when it is not running (as root) and stopped at the end
of the session if this session started it. Where it cannot be started (not
root, packages missing) the PC/SC tests are skipped with the reason; in CI
that skip is a failure (tests/conftest.py), because CI installs everything and
runs as root.
"""

from __future__ import annotations

import time

import pytest


def unavailable(reason: str):
    pytest.skip(f"{reason} (needs root and deploy/apt-packages.txt: pcscd, vsmartcard-vpcd, libpcsclite-dev)")


@pytest.fixture(scope="session")
def pcscd_lease():
    try:
        from devices.base import DeviceError
        from devices.smartcard import pcscd
    except ImportError as exc:  # pyscard not installed
        unavailable(f"pyscard unavailable: {exc}")
    try:
        lease = pcscd.ensure_running()
    except DeviceError as exc:
        unavailable(f"pcscd with vpcd cannot be used here: {exc}")
    yield lease
    lease.release()


@pytest.fixture
def sim(pcscd_lease):
    """A virtual reader with the default social security card inserted."""
    from devices.smartcard.simulator import SmartCardSimulator

    handle = SmartCardSimulator("social_security").start()
    yield handle
    handle.stop()


@pytest.fixture
def reader(sim):
    from devices.smartcard.driver import SmartCardReader

    dev = SmartCardReader("smartcard", sim.url).open()
    yield dev
    dev.close()


def _eventually(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (a bound, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture
def eventually():
    return _eventually
