"""The look meets the accessibility rules in both modes."""

import pytest

from kiosk.core.config import load_config
from ui.theme import PX_PER_PT, TEXT_PAIRS, contrast, metrics, palette


def test_contrast_formula_matches_known_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    assert contrast("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)  # WCAG's classic AA grey


def too_low(colours: dict) -> dict:
    return {f"{fg} on {bg}": round(contrast(colours[fg], colours[bg]), 2)
            for fg, bg in TEXT_PAIRS if contrast(colours[fg], colours[bg]) < 4.5}


@pytest.mark.parametrize("elderly", [False, True])
def test_every_text_colour_reaches_4_5_to_1(elderly):
    cfg = load_config(env={})
    assert not too_low(palette(elderly, cfg.get("branding.primary"), cfg.get("branding.accent")))


def test_elderly_mode_is_at_least_as_contrasted_as_standard():
    std, old = palette(False), palette(True)
    for fg, bg in TEXT_PAIRS:
        assert contrast(old[fg], old[bg]) >= contrast(std[fg], std[bg]) - 1e-9


def test_elderly_sizes():
    m = metrics(elderly=True)
    assert m["body"] / PX_PER_PT >= 30            # body text >= 30 pt
    assert m["small"] / PX_PER_PT >= 24
    assert m["minTarget"] >= 60 and m["button"] >= 60 and m["keyboardKey"] >= 60
    assert m["perPage"] < metrics(False)["perPage"]  # fewer choices per screen


def test_standard_targets_are_still_finger_sized():
    m = metrics(False)
    assert m["minTarget"] >= 60 and m["button"] >= 60 and m["keyboardKey"] >= 60


@pytest.mark.parametrize("profile", ["hall", "bank"])
@pytest.mark.parametrize("elderly", [False, True])
def test_profile_colours_keep_text_readable(profile, elderly):
    """A site's branding colours (the bank's gold accent is light) still give
    4.5:1 text: the text on a branding fill turns black where white fails."""
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[2] / "deploy" / "profiles" / f"{profile}.toml", env={},
                      remote=False)
    assert not too_low(palette(elderly, cfg.get("branding.primary"), cfg.get("branding.accent")))
