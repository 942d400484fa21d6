"""Fixtures for the case store, sync and central sandbox tests: a sandbox on
loopback per test, a client and a store pointed at it, and helpers that
read what central holds."""

from __future__ import annotations

import pytest

from central.embedded import start_embedded
from offline_cache.store import CaseStore


def auth(central, terminal: str = "T-TEST") -> dict:
    """The Authorization header of ``terminal`` at this sandbox (its own token)."""
    return {"Authorization": f"Bearer {central.token_for(terminal)}"}


@pytest.fixture
def central(tmp_path):
    handle = start_embedded(tmp_path / "central-side", auto_pay_s=0)
    yield handle
    handle.stop()



@pytest.fixture
def store(tmp_path):
    s = CaseStore(tmp_path / "terminal", "T-TEST")
    yield s
    s.close()


@pytest.fixture
def central_cases(central):
    """() -> list of (case_id, terminal seq, central_no) rows central holds."""

    def read() -> list[tuple]:
        with central.sandbox.db.transaction() as tx:
            return tx.all("SELECT case_id, seq, central_no FROM cases ORDER BY central_no")

    return read


@pytest.fixture
def central_evaluations(central):
    def read() -> dict:
        with central.sandbox.db.transaction() as tx:
            return {r[0]: r[1] for r in tx.all("SELECT case_id, level FROM evaluations")}

    return read
