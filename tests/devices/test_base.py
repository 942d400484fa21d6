import threading

import pytest

from devices.base import Device, DeviceError, DeviceState, DeviceStatus, DeviceTimeout
from devices.registry import DriverRegistry, RegistryError


class Toy(Device):
    family = "toy"
    schemes = ("toy",)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.state = DeviceStatus(DeviceState.ONLINE)

    def _probe(self):
        return self.state

    def slow(self, release: threading.Event, stopped: list):
        """A command that only ends when released or cancelled (polls like a driver)."""
        while not release.wait(0.01):
            if self.cancelled:
                stopped.append("cancelled")
                return "cancelled"
        return "done"


def test_commands_run_on_device_thread_and_time_out():
    dev = Toy("t", "toy://").open()
    release, stopped = threading.Event(), []
    # if the timeout did not answer the caller, the command would end only
    # when this releases it, and the call would return instead of raising
    backstop = threading.Timer(30, release.set)
    backstop.start()
    try:
        assert dev.call(lambda: threading.current_thread().name) == "dev-t"
        with pytest.raises(DeviceTimeout) as err:
            dev.call(dev.slow, release, stopped, timeout=0.2)
        assert not release.is_set()
        assert "did not answer within 0.2 s" in str(err.value)
        # the cancelled command stops and the device takes the next one
        assert dev.call(lambda: "next", timeout=30) == "next"
        assert stopped == ["cancelled"]
    finally:
        backstop.cancel()
        dev.close()


def test_status_events_only_on_change():
    dev = Toy("t", "toy://").open()
    seen = []
    dev.on_status(lambda d, s: seen.append(s.device))
    dev.refresh_status()
    dev.state = DeviceStatus(DeviceState.USER_ERROR, {"paper": "out"})
    dev.refresh_status()
    dev.refresh_status()
    dev.close()
    assert seen == [DeviceState.USER_ERROR]
    d = dev.status().as_dict()
    assert d["device"] == "userError" and d["detail"] == {"paper": "out"} and d["message"]["zh"]


def test_errors_in_commands_reach_caller():
    dev = Toy("t", "toy://").open()
    try:
        def boom():
            raise DeviceError("device.cancelled")
        with pytest.raises(DeviceError):
            dev.call(boom)
    finally:
        dev.close()


def test_registry_by_family_and_scheme():
    reg = DriverRegistry()
    reg.register(Toy)
    assert reg.driver_for("toy", "toy://x") is Toy
    with pytest.raises(RegistryError):
        reg.driver_for("toy", "serial:///dev/x")
    other = DriverRegistry()
    with pytest.raises(RegistryError):
        other.driver_for("toy", "toy://x")  # registries are independent: no global state
