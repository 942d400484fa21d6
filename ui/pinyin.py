"""Pinyin matching for the catalog search: a resident can type a service's
name in pinyin on the letter keyboard, in full (``wufangzhengming``) or by
initials (``wfzm``), for 无房证明.  Qt-free; pypinyin does the reading.

pypinyin is imported on the first search, not with the catalog screen: its
dictionaries take ~50 MB, which an idle kiosk does not need."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=512)
def spellings(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Chinese in ``text``, lower case, no
    tones or spaces; other characters are kept as they are."""
    from pypinyin import lazy_pinyin

    syllables = [s.lower() for s in lazy_pinyin(text, errors=lambda chars: list(chars)) if s.strip()]
    return "".join(syllables), "".join(s[0] for s in syllables if s[0].isalnum())


def matches(query: str, *texts: str) -> bool:
    """True when ``query`` (letters, any case, spaces ignored) is part of the
    full pinyin or the initials of one of ``texts``."""
    q = "".join(query.lower().split())
    if not q or not q.isascii():
        return False
    for text in texts:
        if not text or text.isascii():
            continue
        full, initials = spellings(text)
        if q in full or q in initials:
            return True
    return False
