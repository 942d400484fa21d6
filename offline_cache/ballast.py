"""A full disk without a tiny file system, for demo and test harnesses only
(``CaseStore.simulate_full_disk``; the endurance soak's "disk nearly full").

The database file may grow no further and ballast rows fill its last free
pages, so the next write fails exactly as on a full disk ("database or disk
is full"); giving the room back lifts the limit and drops the ballast.
"""

from __future__ import annotations

import sqlite3

_NO_LIMIT = 1073741823  # SQLite's default max_page_count


def fill(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS ballast (b BLOB)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {int(pages)}")
    conn.execute("PRAGMA synchronous = OFF")  # ballast need not survive a power cut
    try:
        for size in (65536, 4096, 256, 16):
            try:
                while True:
                    conn.execute("INSERT INTO ballast VALUES (zeroblob(?))", (size,))
            except sqlite3.OperationalError:  # full: that statement is undone, try smaller rows
                continue
    finally:
        conn.execute("PRAGMA synchronous = FULL")


def release(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA max_page_count = {_NO_LIMIT}")
    conn.execute("DROP TABLE IF EXISTS ballast")
