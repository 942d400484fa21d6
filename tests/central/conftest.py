"""Fixtures for the platform's tests: a PostgreSQL server for the session,
a sandbox on loopback per test (on SQLite and on PostgreSQL where a test
asks for ``central``) and the terminal's client pointed at it."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

from central.embedded import start_embedded

_spec = importlib.util.spec_from_file_location("central_test_pgserver", Path(__file__).with_name("pgserver.py"))
pgserver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pgserver)

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole test session (temp dir, unix socket, free port)."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        pytest.skip("psycopg and psycopg_pool are not installed (the central extra)")
    try:
        server = pgserver.PostgresServer().start()
    except pgserver.PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres):
    """A fresh, empty database on the session's server."""
    name = f"central_{next(_names)}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The platform's database on each back-end."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central-db' / 'central.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def central(tmp_path, db_url):
    handle = start_embedded(tmp_path / "central-side", auto_pay_s=0, db_url=db_url)
    yield handle
    handle.stop()

