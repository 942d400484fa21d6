from kiosk.core.i18n import catalog, t, text


def test_every_message_has_both_languages():
    cat = catalog()
    assert cat
    for key, entry in cat.items():
        assert entry["zh"].strip() and entry["en"].strip(), key


def test_format_and_unknown_key():
    assert "idcard" in t("device.timeout", "en", device="idcard", seconds=1)
    assert t("no.such.key") == "no.such.key"
    assert text("device.timeout", device="x", seconds=1).zh.startswith("设备")
