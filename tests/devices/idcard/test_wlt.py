"""Photo decoders: simulator photos, missing vendor library, plug-ins."""

import io

import pytest
from PIL import Image

from devices.idcard import wlt


def test_simulator_photo_decodes_to_packaged_id_photo():
    data = wlt.simulator_wlt("obama")
    assert len(data) == wlt.PHOTO_LEN
    res = wlt.decode_photo(data, [wlt.SimulatorDecoder()])
    assert res.ok and res.fmt == "png" and res.decoder == "simulator"
    assert Image.open(io.BytesIO(res.image)).size == wlt.PHOTO_SIZE


def test_every_packaged_photo_is_id_sized():
    assert {"obama", "biden"} <= set(wlt.packaged_photos())
    for ref in wlt.packaged_photos():
        assert Image.open(io.BytesIO(wlt.packaged_photo(ref))).size == (102, 126)


def test_opaque_photo_is_not_decoded_and_says_why():
    res = wlt.decode_photo(wlt.simulator_wlt(None, seed="x"), [wlt.SimulatorDecoder(),
                                                               wlt.VendorLibraryDecoder(["no-such-wlt-lib"])])
    assert not res.ok
    assert "simulator decoder does not recognise" in res.reason
    assert "no vendor WLT library" in res.reason


def test_unknown_simulator_reference_is_not_decoded():
    assert not wlt.decode_photo(wlt.simulator_wlt("nobody"), [wlt.SimulatorDecoder()]).ok


def test_missing_vendor_library_is_unavailable_with_reason(monkeypatch):
    monkeypatch.delenv(wlt.ENV_LIBRARY, raising=False)
    dec = wlt.VendorLibraryDecoder(["no-such-wlt-lib"])
    usable, reason = dec.available()
    assert not usable and "no-such-wlt-lib" in reason
    assert dec.decode(bytes(1024)) is None


class Grey:
    """A site plug-in decoder: accepts anything and returns a grey BMP."""

    name = "grey"

    def available(self):
        return True, ""

    def decode(self, data):
        buf = io.BytesIO()
        Image.new("RGB", wlt.PHOTO_SIZE, (128, 128, 128)).save(buf, "BMP")
        return buf.getvalue(), "bmp"


def test_plug_in_decoders_come_first():
    decoders = wlt.default_decoders([f"{__name__}:Grey", "no.such.module:Decoder"], demo=True)
    assert decoders[0].name == "grey" and [d.name for d in decoders[1:2]] == ["simulator"]
    res = wlt.decode_photo(wlt.simulator_wlt("obama"), decoders)
    assert res.decoder == "grey" and res.fmt == "bmp"


def test_no_photo():
    assert wlt.decode_photo(b"").reason == "the card holds no photo"


@pytest.mark.face
@pytest.mark.parametrize("ref", ["obama", "biden"])
def test_dlib_finds_the_face_in_id_photos(ref):
    fr = pytest.importorskip("face_recognition")
    import numpy as np

    img = np.asarray(Image.open(io.BytesIO(wlt.packaged_photo(ref))).convert("RGB"))
    assert len(fr.face_locations(img, number_of_times_to_upsample=2)) == 1
