import io
import json
import logging

import pytest

from kiosk.core.logs import forget_personal, remember_personal, setup_logging
from kiosk.core.masking import mask_id_number, mask_name, mask_text

ID = "321002199001010016"


@pytest.fixture
def logged():
    buf = io.StringIO()
    setup_logging(level="debug", fmt="json", stream=buf)
    log = logging.getLogger("kiosk.test")

    def lines():
        return [json.loads(x) for x in buf.getvalue().splitlines()]

    yield log, lines
    forget_personal()
    setup_logging(level="warning", fmt="text")


def test_mask_rules():
    assert mask_id_number(ID) == "3****************6"
    assert mask_name("欧阳娜") == "欧**"
    assert mask_text(f"card {ID} phone 13812345678") == "card 3****************6 phone 138****5678"


def test_id_number_in_message_args_is_masked(logged):
    log, lines = logged
    log.info("read card %s ok", ID)
    out = lines()[-1]
    assert ID not in json.dumps(out)
    assert "3****************6" in out["msg"]


def test_structured_fields_are_masked(logged):
    log, lines = logged
    log.info("applicant", extra={"id_number": ID, "applicant_name": "欧阳娜", "applicant": {"name": "王小明",
                                                                                         "phone": "13912345678"}})
    out = lines()[-1]
    raw = json.dumps(out, ensure_ascii=False)
    assert "欧阳娜" not in raw and "王小明" not in raw and "13912345678" not in raw
    assert out["applicant_name"] == "欧**" and out["id_number"] == "3****************6"


def test_known_names_masked_in_free_text_until_forgotten(logged):
    log, lines = logged
    remember_personal(name="欧阳娜", address="江苏省泰州市海陵区鼓楼路100号")
    log.warning("greeting 欧阳娜 who lives at 江苏省泰州市海陵区鼓楼路100号")
    raw = lines()[-1]["msg"]
    assert "欧阳娜" not in raw and "鼓楼路100号" not in raw and "欧**" in raw
    forget_personal()
    log.warning("after wipe: 欧阳娜")
    assert "欧阳娜" in lines()[-1]["msg"]  # plain words are not guessed at once the session is over


def test_exception_text_is_masked(logged):
    log, lines = logged
    try:
        raise ValueError(f"bad id {ID}")
    except ValueError:
        log.exception("failed")
    assert ID not in json.dumps(lines()[-1])


def test_photo_bytes_never_logged(logged):
    log, lines = logged
    log.info("card", extra={"photo": b"\x00" * 1024})
    assert lines()[-1]["photo"] == "<omitted>"


def test_identity_listing_masks_card_numbers_and_names_in_extra():
    from kiosk.core.domain import Identity

    ident = Identity(name="欧阳娜", id_number=ID, extra={"card_number": "D32010215", "english_name": "OUYANG NA"})
    d = ident.as_dict()
    assert d["extra"]["card_number"] == "*****0215"
    assert d["extra"]["english_name"].startswith("O*")
    assert ident.as_dict(reveal=True)["extra"]["card_number"] == "D32010215"
