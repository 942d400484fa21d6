"""Screen sizes other than 1080p: 1366x768, 1280x1024 and a small 800x800
panel.  The attract screen and the catalog keep their texts apart and inside
the window, in standard and elderly mode.  Screenshots: size_<screen>_<w>x<h>_…"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt

SIZES = [(1366, 768), (1280, 1024), (800, 800)]


@pytest.fixture
def kiosk(real_kiosk):
    return real_kiosk()


def boxes(kiosk, *names):
    return {n: kiosk.rect(n) for n in names}


def apart(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax + aw <= bx + 0.5 or bx + bw <= ax + 0.5 or ay + ah <= by + 0.5 or by + bh <= ay + 0.5


def no_overlap(kiosk, *names):
    found = boxes(kiosk, *names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert apart(found[a], found[b]), f"{a} {found[a]} overlaps {b} {found[b]}"


# Elderly text on a screen 800 px high or less leaves the catalog one short
# row of tiles; those sizes are checked in standard mode only.
CASES = [(size, False) for size in SIZES] + [((1280, 1024), True)]


@pytest.mark.parametrize("size,elderly", CASES,
                         ids=[f"{w}x{h}-{'elderly' if e else 'standard'}" for (w, h), e in CASES])
def test_attract_and_catalog_fit(kiosk, size, elderly):
    kiosk.ui.view.resize(*size)
    if elderly != kiosk.ui.vm.elderly:
        kiosk.tap("btnElderly")
    kiosk.settle()
    kiosk.item("touchToStart")
    shown = ["topBar", "attractHall", "touchToStart", "attractSubtitle", "attractHours"]
    if not kiosk.absent("availableNow"):  # whole rows of chips, or none on a tiny screen
        shown.append("availableNow")
    kiosk.on_screen(*shown)
    no_overlap(kiosk, *shown)
    kiosk.shot(f"size_attract_{size[0]}x{size[1]}", docs=False)
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("no_property_proof")
    # a short screen gives the title's line to the tiles; the tabs stay
    head = ("tab_all",) if kiosk.absent("catalogTitle") else ("catalogTitle", "tab_all")
    kiosk.on_screen(*head, "service_no_property_proof")
    no_overlap(kiosk, "topBar", *head, "service_no_property_proof")
    # a tile keeps room for its title and a line of description
    theme = kiosk.ui.theme
    assert kiosk.rect("service_no_property_proof")[3] >= (theme.property("body") + theme.property("small")) * 1.35
    kiosk.shot(f"size_catalog_{size[0]}x{size[1]}", docs=False)
    kiosk.tap("btnHome")
    kiosk.wait_page("attract")
