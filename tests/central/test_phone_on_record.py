"""SMS codes go only to the phone on record: central answers the number
masked with an opaque handle, says when there is none, and limits lookups per
identity and per terminal."""

from __future__ import annotations

import pytest

from central.phones import PhoneBook
from offline_cache.client import CentralUnavailable

RESIDENT, NO_PHONE = "110101198503120316", "32010219520708042X"


def test_masked_number_and_a_handle_never_the_number(client):
    got = client.phone_on_record(RESIDENT)
    assert got["on_record"] is True and got["phone_masked"] == "138****1234"
    assert "13812341234" not in str(got) and got["handle"].startswith("ph_")
    assert client.phone_on_record(NO_PHONE) == {"on_record": False}


def test_the_handle_resolves_to_the_number_on_record_for_the_gateway_only(central, client):
    handle = client.phone_on_record(RESIDENT)["handle"]
    assert central.sandbox.phones.resolve(handle) == "13812341234"
    assert central.sandbox.phones.resolve("ph_made_up") is None


def test_lookups_are_limited_per_identity_and_per_terminal(central, make_client):
    first = make_client(terminal_id="T-ONE")
    for _ in range(5):
        first.phone_on_record(RESIDENT)
    with pytest.raises(CentralUnavailable) as exc:
        first.phone_on_record(RESIDENT)  # sixth code for one card within the hour
    assert exc.value.status == 429 and exc.value.retry_after and exc.value.retry_after > 0
    # the same card at another terminal is limited too; another card is not
    other = make_client(terminal_id="T-TWO")
    with pytest.raises(CentralUnavailable):
        other.phone_on_record(RESIDENT)
    assert other.phone_on_record("410105196211200573")["on_record"]


def test_per_terminal_limit_and_handles_expire():
    now = [0.0]
    book = PhoneBook(clock=lambda: now[0], numbers={f"1101011985031203{i:02d}": "13800000000" for i in range(40)})
    for i in range(30):
        book.lookup(f"1101011985031203{i:02d}", "T-X")
    with pytest.raises(Exception, match="terminal"):
        book.lookup("110101198503120331", "T-X")
    handle = book.lookup("110101198503120331", "T-Y")["handle"]
    now[0] += 601
    assert book.resolve(handle) is None
    now[0] += 3600
    assert book.lookup("110101198503120332", "T-X")["on_record"]
