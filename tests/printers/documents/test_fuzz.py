"""Mutation fuzzing of genuine certificates: thousands of damaged files, each answered
with one refusal verdict, none accepted, no exception escaping.

All cases run in one forked child with the verifier's memory bound and a
per-case alarm (a case that runs into it counts as ``unreadable``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import signal
import zlib

import pytest

from printers.documents import Signer, demo, render_no_property, render_social_security_proof
from printers.documents.signing import EXPIRED, TAMPERED, UNKNOWN_KEY, UNREADABLE, Trust
from printers.documents.verify import _pyhanko_check, preload, run_bounded, verify_pdf

REFUSED = {TAMPERED, UNREADABLE, EXPIRED, UNKNOWN_KEY}
SEED = 20261128
PARSER_CASES = 100
BOMB = zlib.compress(b"\0" * 20_000_000, 9)


def _flip(rng, data: bytes) -> bytes:
    b = bytearray(data)
    b[rng.randrange(len(b))] ^= rng.randrange(1, 256)
    return bytes(b)


def _truncate(rng, data: bytes) -> bytes:
    return data[:rng.randrange(len(data))]


def _insert_or_delete(rng, data: bytes) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + rng.randbytes(rng.randrange(1, 9)) + data[i:] if rng.random() < 0.5 else \
        data[:i] + data[i + rng.randrange(1, 64):]


def _filter_damage(rng, data: bytes) -> bytes:
    """Another filter name, a wrong /Length, or the start of a stream overwritten."""
    choice = rng.randrange(3)
    if choice == 0:
        return data.replace(b"/FlateDecode", rng.choice([b"/LZWDecode", b"/DCTDecode", b"/Crypt", b"/Foo"]), 1)
    if choice == 1:
        found = list(re.finditer(rb"/Length (\d+)", data))
        m = rng.choice(found)
        return data[:m.start(1)] + str(rng.choice([0, 1, 10 ** 9, int(m.group(1)) + 7])).encode() + data[m.end(1):]
    starts = [m.end() for m in re.finditer(rb"stream\r?\n", data)]
    i = rng.choice(starts)
    return data[:i] + rng.randbytes(32) + data[i + 32:]


def _signature_damage(rng, data: bytes) -> bytes:
    """The signature dictionary: byte ranges, hex case, padding, a second /ByteRange."""
    m = re.search(rb"/ByteRange\s*\[([^\]]*)\]", data)
    hole = data.index(b"<", m.end())
    choice = rng.randrange(4)
    if choice == 0:
        nums = m.group(1).split()
        nums[rng.randrange(4)] = str(rng.randrange(0, len(data) * 2)).encode()
        new = b" ".join(nums).ljust(len(m.group(1)))
        return data[:m.start(1)] + new + data[m.end(1):]
    if choice == 1:
        i = rng.randrange(hole + 1, hole + 3000)
        return data[:i] + data[i:i + 1].lower() + data[i + 1:]
    if choice == 2:
        end = data.index(b">", hole)
        i = rng.randrange(end - 2000, end)
        return data[:i] + b"1" + data[i + 1:]
    return data.replace(b"%%EOF", b"/ByteRange [0 1 2 3]\n%%EOF", 1)


def _append(rng, data: bytes) -> bytes:
    """Something added after the signed end: junk, an incremental update, a bomb."""
    tail = rng.choice([b"\n", b"%%EOF\n", rng.randbytes(200),
                       b"5 0 obj <</Length %d/Filter/FlateDecode>> stream\n" % len(BOMB) + BOMB
                       + b"\nendstream endobj\n",
                       b"xref\n0 1\n0000000000 65535 f \ntrailer <</Size 1>>\nstartxref\n0\n%%EOF\n"])
    return data + tail


MUTATORS = [(_flip, 3000), (_truncate, 500), (_insert_or_delete, 500), (_filter_damage, 500),
            (_signature_damage, 400), (_append, 300)]


class _Alarm(BaseException):
    """A case past its 2 s (BaseException: nothing in the verifier swallows it)."""


def _on_alarm(signum, frame):
    raise _Alarm()


def _timed(fn, *args):
    """``fn(*args)`` under a 2 s alarm; (result, None) or (None, exception name)."""
    try:
        signal.setitimer(signal.ITIMER_REAL, 2.0)
        try:
            return fn(*args), None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Alarm:
        return None, "timeout"
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        return None, type(exc).__name__


def _run_cases(genuines: list[bytes], trust: Trust) -> dict:
    """In the bounded child: every mutation through the verifier, then a share straight into pyHanko's parser."""
    signal.signal(signal.SIGALRM, _on_alarm)
    rng = random.Random(SEED)
    counts: dict = {"cases": 0, "accepted": [], "statuses": {}, "parser_cases": 0, "escaped": []}
    for mutate, n in MUTATORS:
        for _ in range(n):
            original = rng.choice(genuines)
            data = mutate(rng, original)
            if data == original:
                continue
            verdict, failure = _timed(verify_pdf, data, trust)
            if failure not in (None, "timeout"):  # verify_pdf must never raise
                counts["escaped"].append(f"{mutate.__name__}: {failure}")
                continue
            status = verdict.status if verdict is not None else UNREADABLE
            counts["cases"] += 1
            counts["statuses"][status] = counts["statuses"].get(status, 0) + 1
            if status not in REFUSED:
                counts["accepted"].append(mutate.__name__)
    # past the byte check only files a trusted terminal signed reach the parser; feed it damage directly
    for _ in range(PARSER_CASES):
        data = rng.choice([_filter_damage, _flip, _truncate])(rng, rng.choice(genuines))
        _timed(_pyhanko_check, data, trust)  # the parser may refuse in any way; verify_pdf maps that to a verdict
        counts["parser_cases"] += 1
    return counts


@pytest.mark.timeout(600)
def test_mutated_certificates_are_all_refused():
    signer = Signer.generate("T-FUZZ")
    now = dt.datetime.now().replace(microsecond=0)
    genuines = [render_no_property(demo.no_property(now), signer),
                render_social_security_proof(demo.social_security(now), signer)]
    trust = Trust([signer.ca_cert])
    assert all(verify_pdf(g, trust).ok for g in genuines)
    preload()
    counts = run_bounded(_run_cases, genuines, trust, deadline_s=500, memory_mb=400)
    assert "status" not in counts, counts  # the child itself ran to the end
    assert counts["cases"] >= 5000 and counts["parser_cases"] == PARSER_CASES
    assert counts["escaped"] == [] and counts["accepted"] == [], counts
    assert counts["statuses"].get(TAMPERED, 0) > 4000, counts["statuses"]
