"""The central client keeps a bounded set of connections for the app's
lifetime, whichever threads call it, and releases them on close."""

from __future__ import annotations

import os
import threading

from offline_cache.client import POOL_SIZE


def sockets_to(port: int) -> int:
    """Established or half-closed TCP connections from this process to ``port``."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = open(table, encoding="ascii").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if int(cols[2].rsplit(":", 1)[1], 16) == port and cols[9] in inodes:
                count += 1
    return count


def test_calls_from_many_short_lived_threads_share_a_bounded_pool(central, make_client):
    client = make_client()
    port = int(central.url.rsplit(":", 1)[1])
    errors = []

    def one_resident() -> None:  # a flow job runs on a thread that ends with the session
        try:
            client.queue_businesses()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    for _ in range(40):
        threads = [threading.Thread(target=one_resident) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert 1 <= sockets_to(port) <= POOL_SIZE
    client.close()
    assert sockets_to(port) == 0
    # closed is not broken: the next call opens a new pool
    assert client.queue_businesses()


def test_sandbox_database_keeps_a_bounded_set_of_connections_across_threads(tmp_path):
    from central.db import Database

    db = Database(f"sqlite:///{tmp_path / 'central.db'}")

    def open_files() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd")
                   if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(tmp_path)))

    def request() -> None:  # the web server's worker threads come and go
        with db.read() as tx:
            tx.one("SELECT 1")

    for _ in range(30):
        threads = [threading.Thread(target=request) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert open_files() <= 2 * Database.POOL_IDLE  # each connection: the file and its WAL
    db.close()
    assert open_files() == 0
