"""GA 467 SAM_V framing: exact bytes, status codes, and resynchronisation."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from devices.base import DeviceState
from devices.idcard import protocol as p
from kiosk.core.i18n import has


def h(s: str) -> bytes:
    return bytes.fromhex(s)


@pytest.mark.parametrize("command, frame", [
    (p.Command.RESET_SAM, "AA AA AA 96 69 00 03 10 FF EC"),
    (p.Command.SAM_STATUS, "AA AA AA 96 69 00 03 11 FF ED"),
    (p.Command.SAM_ID, "AA AA AA 96 69 00 03 12 FF EE"),
    (p.Command.FIND_CARD, "AA AA AA 96 69 00 03 20 01 22"),
    (p.Command.SELECT_CARD, "AA AA AA 96 69 00 03 20 02 21"),
    (p.Command.READ_TEXT_PHOTO, "AA AA AA 96 69 00 03 30 01 32"),
    (p.Command.READ_NEWEST_ADDRESS, "AA AA AA 96 69 00 03 30 03 30"),
    (p.Command.READ_WITH_FINGERPRINT, "AA AA AA 96 69 00 03 30 10 23"),
])
def test_request_frames_exact_bytes(command, frame):
    assert p.build_request(command) == h(frame)


def test_set_baud_frames():
    assert p.set_baud_request(115200) == h("AA AA AA 96 69 00 03 60 00 63")
    assert p.set_baud_request(9600) == h("AA AA AA 96 69 00 03 60 04 67")
    with pytest.raises(ValueError):
        p.set_baud_request(12345)


def test_response_frames_exact_bytes():
    assert p.build_response(0x9F, bytes(4)) == h("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
    assert p.build_response(0x80) == h("AA AA AA 96 69 00 04 00 00 80 84")
    assert p.build_response(0x90, bytes(8)) == h("AA AA AA 96 69 00 0C 00 00 90" + " 00" * 8 + " 9C")


def test_read_answer_layout():
    text, photo = bytes(range(256)), bytes(1024)
    frame = p.build_response(0x90, p.build_read_data(text, photo))
    assert len(frame) == 1295
    assert frame[:14] == h("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")
    (f,) = p.parse_frames(frame)
    r = p.Response.from_frame(f)
    assert r.ok and (r.sw1, r.sw2, r.sw3) == (0, 0, 0x90)
    data = p.parse_read_data(r.data)
    assert data.text == text and data.photo == photo and data.fingerprint is None


def test_read_with_fingerprint_layout():
    fp = bytes([7]) * 1024
    data = p.build_read_data(bytes(256), bytes(1024), fp)
    assert data[:6] == h("01 00 04 00 04 00")
    assert p.parse_read_data(data, with_fingerprint=True).fingerprint == fp
    frame = p.build_response(0x90, data)
    assert frame[5:7] == h("09 0A")


def test_read_data_with_wrong_lengths_is_rejected():
    with pytest.raises(p.ProtocolError) as err:
        p.parse_read_data(p.build_read_data(bytes(200), bytes(1024)))
    assert err.value.key == "idcard.frame_length" and err.value.retry


def test_sam_id_round_trip():
    text = "05.01-20230615-0000012345-0000067890"
    raw = p.build_sam_id(text)
    assert len(raw) == 16 and raw[:4] == h("05 00 01 00")
    assert p.format_sam_id(raw) == text


ALL_SW3 = [0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40, 0x41, 0x47, 0x60, 0x66, 0x80, 0x81, 0x91]


@pytest.mark.parametrize("sw3", ALL_SW3)
def test_every_failure_status_has_a_catalog_message(sw3):
    err = p.Response(0, 0, sw3).error()
    assert err is not None and err.sw3 == sw3
    assert has(err.key), err.key
    assert err.message("zh") and err.message("en") and "{" not in err.message("en")


def test_success_and_unknown_status():
    assert p.Response(0, 0, 0x90).check().ok
    assert p.Response(0, 0, 0x9F).error() is None
    err = p.Response(0, 0, 0x55).error()
    assert err.key == "idcard.sw.unknown" and "0x55" in str(err)


def test_status_classification():
    assert p.status_error(0x60).state is DeviceState.HARDWARE_ERROR
    assert p.status_error(0x80).state is DeviceState.ONLINE   # no card: the reader itself is fine
    assert p.status_error(0x41).retry and not p.status_error(0x60).retry


def test_parser_skips_garbage_and_handles_split_preamble():
    frame = p.build_response(0x90, b"\x01\x02")
    parser = p.FrameParser()
    assert parser.feed(b"\x00\x13\xAA") == []
    assert parser.feed(b"\xAA" + frame[:4]) == []   # garbage ends in a partial preamble
    (f,) = parser.feed(frame[4:])
    assert f.raw == frame and parser.discarded == 4


def test_parser_reports_bad_checksum_and_bad_length_then_recovers():
    good = p.build_response(0x90, b"ok")
    bad = good[:-1] + bytes([good[-1] ^ 1])
    bogus_len = p.PREAMBLE + b"\xFF\xFF"
    events = p.parse_frames(bad + bogus_len + good)
    kinds = [e.reason if isinstance(e, p.BadFrame) else "frame" for e in events]
    assert kinds == ["checksum", "length", "frame"]
    assert events[-1].raw == good


def test_needed_reads_exactly_one_frame():
    frames = [p.build_response(0x90, bytes(100)), p.build_response(0x80)]
    stream = b"".join(frames)
    parser, got, pos = p.FrameParser(), [], 0
    while pos < len(stream):
        n = parser.needed()
        chunk, pos = stream[pos:pos + n], pos + n
        out = parser.feed(chunk)
        if out:
            assert parser.buffered == 0  # never read into the next frame
            got += out
    assert [f.raw for f in got] == frames


# --- properties -------------------------------------------------------------
frames_st = st.lists(
    st.tuples(st.integers(0, 255), st.binary(max_size=64)).map(lambda t: p.build_response(t[0], t[1])),
    min_size=1, max_size=6)
noise_st = st.binary(max_size=40)


@settings(max_examples=200, deadline=None)
@given(frames=frames_st, noises=st.lists(noise_st, min_size=7, max_size=7), data=st.data())
def test_frames_survive_noise_and_any_split(frames, noises, data):
    for n in noises:
        assume(p.PREAMBLE not in n)
    stream = b"".join(noises[i % 7] + f for i, f in enumerate(frames)) + noises[-1]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    parser, got, last = p.FrameParser(), [], 0
    for cut in cuts + [len(stream)]:
        got += parser.feed(stream[last:cut])
        last = cut
    assert [e.raw for e in got if isinstance(e, p.Frame)] == frames
    assert not any(isinstance(e, p.BadFrame) and e.reason == "checksum" for e in got)


@settings(max_examples=150, deadline=None)
@given(frames=frames_st, bad_index=st.integers(0, 5), flip=st.integers(1, 255), noise=noise_st)
def test_corrupted_frame_is_reported_and_the_rest_still_parse(frames, bad_index, flip, noise):
    assume(p.PREAMBLE not in noise)
    i = bad_index % len(frames)
    bad = frames[i][:-1] + bytes([frames[i][-1] ^ flip])
    assume(p.PREAMBLE not in bad[1:])
    stream = b"".join(noise + (bad if k == i else f) for k, f in enumerate(frames))
    events = p.parse_frames(stream)
    assert [e.raw for e in events if isinstance(e, p.Frame)] == frames[:i] + frames[i + 1:]
    assert any(isinstance(e, p.BadFrame) and e.reason == "checksum" and e.raw == bad for e in events)


@settings(max_examples=100, deadline=None)
@given(cmd=st.sampled_from(list(p.Command)), data=st.binary(max_size=32))
def test_request_round_trip(cmd, data):
    frame = p.build_request(cmd, data)
    (f,) = p.parse_frames(frame)
    assert f.payload == bytes(cmd.value) + data
    assert p.Command.lookup(*f.command) is cmd
