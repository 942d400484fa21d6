"""Pinyin matching for the catalog search: a resident can type a service's
name in pinyin on the letter keyboard, in full (``wufangzhengming``) or by
initials (``wfzm``), for 无房证明; and the on-screen keyboard's pinyin input
method (:func:`candidates`).  Qt-free; pypinyin does the reading.

pypinyin is imported on the first search, not with the catalog screen: its
dictionaries take ~50 MB, which an idle kiosk does not need; the input
method's index likewise is built only when a Chinese keyboard first shows."""

from __future__ import annotations

import bisect
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path


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


# --------------------------------------------------------------- input method
#
# The on-screen keyboard's pinyin input: typed letters (the composition) show
# Chinese words and characters to tap.  Readings come from pypinyin's own
# tables (characters, and phrases whose characters read differently in them:
# 银行 háng, 长辈 zhǎng); the words and their frequencies from the dictionary
# that ships inside the jieba package (read as data, jieba is not imported).

MIN_FREQ = 30        # rarer dictionary words are left out (memory, noise)
MAX_WORD = 4


def _dictionary_path() -> Path | None:
    spec = importlib.util.find_spec("jieba")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "dict.txt"
        if path.is_file():
            return path
    return None


_TONELESS = str.maketrans({**{c: "a" for c in "āáǎà"}, **{c: "e" for c in "ēéěèê"}, **{c: "i" for c in "īíǐì"},
                           **{c: "o" for c in "ōóǒò"}, **{c: "u" for c in "ūúǔù"}, **{c: "v" for c in "ǖǘǚǜü"},
                           **{c: "n" for c in "ńňǹ"}, "ḿ": "m"})


def _plain(syllable: str) -> str:
    """A toned syllable as typed: no tone mark, ü as v (lǜ -> lv)."""
    return syllable.translate(_TONELESS).lower()


class PinyinIndex:
    """Toneless joined pinyin -> words, most frequent first."""

    def __init__(self, words: dict[str, int]):
        from pypinyin.phrases_dict import phrases_dict
        from pypinyin.pinyin_dict import pinyin_dict

        by_key: dict[str, list[tuple[int, str]]] = {}
        first: dict[str, str] = {}
        for code, readings in pinyin_dict.items():
            char = chr(code)
            plain = list(dict.fromkeys(_plain(r) for r in readings.split(",")))
            first[char] = plain[0]
            freq = words.get(char, 0)
            if freq or 0x4E00 <= code <= 0x9FFF:
                for reading in plain:
                    by_key.setdefault(reading, []).append((freq, char))
        for word, freq in words.items():
            if len(word) < 2:
                continue
            readings = phrases_dict.get(word)
            if readings is not None:
                key = "".join(_plain(r[0]) for r in readings)
            elif all(c in first for c in word):
                key = "".join(first[c] for c in word)
            else:
                continue
            by_key.setdefault(key, []).append((freq, word))
        for entries in by_key.values():
            entries.sort(key=lambda fw: -fw[0])
        self._entries = by_key
        self._keys = sorted(by_key)

    @classmethod
    def load(cls) -> PinyinIndex:
        words: dict[str, int] = {}
        path = _dictionary_path()
        if path is not None:
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    word, _, rest = line.partition(" ")
                    freq = rest[:rest.find(" ")]
                    if len(word) <= MAX_WORD and freq.isdigit() and int(freq) >= MIN_FREQ and not word.isascii():
                        words[word] = max(int(freq), words.get(word, 0))
        return cls(words)

    def exact(self, letters: str) -> list[str]:
        return [w for _, w in self._entries.get(letters, ())]

    def starting(self, letters: str, limit: int) -> list[str]:
        """Words whose pinyin begins with ``letters`` (the last syllable
        still being typed), the shortest readings first."""
        i = bisect.bisect_left(self._keys, letters)
        found: list[tuple[int, int, str]] = []
        while i < len(self._keys) and self._keys[i].startswith(letters) and len(found) < limit * 20:
            key = self._keys[i]
            found += [(len(key), -f, w) for f, w in self._entries[key][:3]]
            i += 1
        return [w for _, _, w in sorted(found)][:limit]

    def sentence(self, letters: str) -> str | None:
        """The likeliest run of words reading exactly ``letters`` (不满意 for
        bumanyi): fewest words, then the most frequent."""
        best: list[tuple[int, int, str] | None] = [None] * (len(letters) + 1)
        best[0] = (0, 0, "")
        for end in range(1, len(letters) + 1):
            for start in range(max(0, end - 6 * MAX_WORD), end):
                entries = self._entries.get(letters[start:end])
                if best[start] is None or not entries:
                    continue
                count, minus_freq, text = best[start]  # type: ignore[misc]
                freq, word = entries[0]
                option = (count + 1, minus_freq - freq, text + word)
                if best[end] is None or option[:2] < best[end][:2]:  # type: ignore[index]
                    best[end] = option
        return best[-1][2] if best[-1] and best[-1][0] > 1 else None


_index: PinyinIndex | None = None
_index_lock = threading.Lock()
_warming = False


def index() -> PinyinIndex:
    """The shared index, built on first use (about a second)."""
    global _index
    with _index_lock:
        if _index is None:
            _index = PinyinIndex.load()
        return _index


def candidates(composition: str, limit: int = 12) -> list[tuple[str, int]]:
    """(Chinese text, letters it uses) for what was typed: the likeliest
    words for the whole composition first (不满意 for bumanyi), then words
    it is the beginning of, then words for its longest leading part (tap
    one and the rest stays typed).  Letters a-z and v (for ü) count;
    spaces and anything else are ignored."""
    letters = "".join(c for c in composition.lower() if "a" <= c <= "z")
    if not letters:
        return []
    idx = index()
    joined = idx.sentence(letters)
    out = [(w, len(letters)) for w in ([joined] if joined else []) + idx.exact(letters) + idx.starting(letters, limit)]
    for n in range(len(letters) - 1, 0, -1):
        words = idx.exact(letters[:n])
        if words:
            out += [(w, n) for w in words[:limit]]
            break
    return list(dict.fromkeys(out))[:limit]


def warm_up() -> None:
    """Build the index on a background thread, before the first letter
    (once; the thread ends when the index is built)."""
    global _warming
    with _index_lock:
        if _index is not None or _warming:
            return
        _warming = True
    threading.Thread(target=index, name="pinyin-index", daemon=True).start()
