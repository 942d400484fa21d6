"""Fixtures for the platform's tests: a sandbox on loopback per test and the
terminal's client pointed at it."""

from __future__ import annotations

import pytest

from central.embedded import start_embedded
from offline_cache.client import CentralClient


@pytest.fixture
def central(tmp_path):
    handle = start_embedded(tmp_path / "central-side", auto_pay_s=0)
    yield handle
    handle.stop()


@pytest.fixture
def make_client(central):
    made = []

    def make(url: str | None = None, **kw) -> CentralClient:
        kw.setdefault("connect_timeout_s", 1.0)
        kw.setdefault("read_timeout_s", 2.0)
        kw.setdefault("terminal_id", "T-TEST")
        kw.setdefault("token", central.token_for(kw["terminal_id"]))
        c = CentralClient(url=url or central.url, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client) -> CentralClient:
    return make_client()
