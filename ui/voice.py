"""Offline voice guidance: recorded prompts first, espeak-ng for the rest.

``Voice.say(text, lang)`` and ``Voice.say_parts([(key, text), ...], lang)``
never block the caller: one background thread owns the player process, a
newer utterance replaces a queued one and stops the one being spoken (the
resident moved on; old guidance is noise).

A hall can drop recordings into a voice pack (``ui.voice_pack``): one audio
file per message key and language, ``<pack>/<lang>/<key>.wav``.  A part
whose text is the catalog's fixed text for its key plays that file (through
sox's ``play``, at the chosen volume, slower in elderly mode); texts with
names, numbers or other filled-in values, and keys without a recording, are
synthesised by espeak-ng.  When neither tool is installed the kiosk stays
silent and says so once in the log.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from kiosk.core import i18n

log = logging.getLogger(__name__)

VOICES = {"zh": "cmn", "en": "en-gb"}
# Slower than espeak's default 175 wpm; older residents asked for it.
SPEED = {False: 150, True: 125}
# Recordings are slowed by the same ratio in elderly mode (pitch kept).
TEMPO = {False: 1.0, True: round(SPEED[True] / SPEED[False], 2)}
PACK_SUFFIXES = (".wav", ".ogg", ".flac")
# The pack that ships (deploy/voice/build_pack.py makes it); ui.voice_pack replaces it.
PACK_DIR = "ui/voice_pack"
SHIPPED_PACK = Path(__file__).resolve().parent / "voice_pack"
_KEY_PATTERN = re.compile(r"[a-z_]+(?:\.[A-Za-z0-9_]+)+")


# field labels, descriptions and button labels are shown, not spoken on their own
# (a button's label is spoken inside ui.voice.press, with the label filled in)
_UNSPOKEN = {"label", "desc", "action", "level", "reason", "keywords"}


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def pack_keys() -> list[str]:
    """The catalog keys the flows can speak as fixed text: every key the flow
    definitions and steps name whose zh and en texts have no values to fill in,
    and the voice's own prompts."""
    import flows

    found = {"ui.voice.then_next", "ui.voice.choose"}
    folder = Path(flows.__file__).parent
    for path in sorted([*folder.rglob("*.py"), *folder.rglob("*.yaml")]):
        found.update(_KEY_PATTERN.findall(path.read_text("utf-8")))
    cat = i18n.catalog()
    return sorted(k for k in found if k in cat and not _UNSPOKEN.intersection(k.split("."))
                  and all("{" not in cat[k].get(lang, "{") for lang in ("zh", "en")))


def espeak_command(text: str, lang: str, volume: float, elderly: bool = False, binary: str = "espeak-ng") -> list[str]:
    amplitude = max(0, min(200, round(volume * 200)))  # espeak -a: 0..200, 100 is normal
    return [binary, "-v", VOICES.get(lang, "cmn"), "-a", str(amplitude), "-s", str(SPEED[bool(elderly)]), "--", text]


def play_command(path: Path, volume: float, elderly: bool = False, binary: str = "play") -> list[str]:
    cmd = [binary, "-q", "-v", f"{max(0.0, min(1.0, volume)):.2f}", str(path)]
    if TEMPO[bool(elderly)] != 1.0:
        cmd += ["tempo", "-s", str(TEMPO[True])]
    return cmd


def fixed_text(key: str | None, lang: str, text: str) -> bool:
    """True when ``text`` is the catalog's own text for ``key`` (no values
    filled in), so a recording of that key says exactly the same."""
    if not key or not i18n.has(key):
        return False
    template = i18n.catalog()[key].get(lang, "")
    return "{" not in template and template == text


def _part(value: Any, lang: str) -> tuple[str | None, str] | None:
    """(catalog key, text in ``lang``) of one {key, zh, en} state text."""
    if isinstance(value, dict) and ("zh" in value or "en" in value):
        said = value.get(lang) or value.get("zh") or ""
        return (value.get("key"), str(said)) if said else None
    return (None, str(value)) if value else None


def step_speech(state: dict, lang: str) -> list[tuple[str | None, str]]:
    """What the voice says for a step, from the engine's own state keys:
    its title, its instruction (prompt, hint, message, what went wrong) and
    what to do next (the button to press, or the choice to make)."""
    parts = [_part(state.get(k), lang) for k in ("title", "prompt", "hint", "message")]
    if state.get("view") == "result":   # what the screen's table says, line by line (a guide, a balance)
        result = state.get("result") or {}
        parts.append(_part(result.get("headline"), lang))
        for row in result.get("rows") or []:
            label, value = _part(row.get("label"), lang), _part(row.get("value"), lang)
            if label and value:
                parts.append((None, f"{label[1]}{'：' if lang == 'zh' else ': '}{value[1]}"))
    for error in (state.get("errors") or {}).values():
        parts.append(_part(error, lang))
    for f in state.get("fields") or []:
        if f.get("error"):
            parts.append(_part(f["error"], lang))
    actions = [a for a in state.get("actions") or [] if a.get("id") != "skip"]
    label = _part(actions[0].get("label"), lang) if actions else None
    view = state.get("view")
    if view in ("form",) or (view in ("choose", "evaluation") and state.get("multi")):
        parts.append(("ui.voice.then_next", i18n.t("ui.voice.then_next", lang)))
    elif view in ("choose", "evaluation"):
        parts.append(("ui.voice.choose", i18n.t("ui.voice.choose", lang)))
    elif label is not None:
        parts.append((None, i18n.t("ui.voice.press", lang, label=label[1])))
    seen, out = set(), []
    for p in parts:
        if p is not None and p[1] not in seen:
            seen.add(p[1])
            out.append(p)
    return out


class VoicePack:
    """Recordings by message key and language under ``root``.  A language
    folder with a ``manifest.tsv`` (key, text digest, engine: the generated
    pack) is trusted only for texts that are still the ones recorded."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root).expanduser() if root else None
        self._manifests: dict[str, dict[str, str] | None] = {}

    def manifest(self, lang: str) -> dict[str, str] | None:
        if lang not in self._manifests:
            path = self.root / lang / "manifest.tsv" if self.root else None
            rows = None
            if path is not None and path.is_file():
                rows = {}
                for line in path.read_text("utf-8").splitlines():
                    parts = line.split("\t")
                    if len(parts) >= 2 and not line.startswith("#"):
                        rows[parts[0]] = parts[1]
            self._manifests[lang] = rows
        return self._manifests[lang]

    def find(self, key: str | None, lang: str, text: str | None = None) -> Path | None:
        if self.root is None or not key or "/" in key or key.startswith("."):
            return None
        recorded = self.manifest(lang)
        if recorded is not None and text is not None and recorded.get(key) != text_digest(text):
            return None   # recorded from another text: synthesise the current one
        for suffix in PACK_SUFFIXES:
            path = self.root / lang / f"{key}{suffix}"
            if path.is_file():
                return path
        return None

    def keys(self, lang: str) -> set[str]:
        folder = self.root / lang if self.root else None
        if folder is None or not folder.is_dir():
            return set()
        return {p.stem for p in folder.iterdir() if p.suffix in PACK_SUFFIXES}


class Voice:
    def __init__(self, enabled: bool = True, volume: float = 0.8,
                 runner: Callable[[Sequence[str]], subprocess.Popen | None] | None = None,
                 pack: VoicePack | str | Path | None = None):
        self.binary = shutil.which("espeak-ng")
        self.player = shutil.which("play")
        self.enabled = enabled
        self.volume = volume
        self.elderly = False
        self.pack = pack if isinstance(pack, VoicePack) else VoicePack(pack)
        self._runner = runner or self._spawn
        self._pending: list[list[str]] | None = None
        self._proc: subprocess.Popen | None = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.spoken: list[tuple[str, str]] = []  # last utterances, for diagnostics and tests
        if self.binary is None and runner is None:
            log.warning("espeak-ng not found: voice guidance is off")

    @property
    def available(self) -> bool:
        return self.binary is not None or self._runner is not self._spawn

    def set_volume(self, volume: float) -> None:
        self.volume = max(0.0, min(1.0, float(volume)))

    def say(self, text: str, lang: str = "zh") -> None:
        self.say_parts([(None, text)], lang)

    def commands(self, parts: Iterable[tuple[str | None, str]], lang: str) -> list[list[str]]:
        """The player or synthesiser command for each non-empty part."""
        out = []
        for key, text in parts:
            if not text:
                continue
            recording = self.pack.find(key, lang, text) if fixed_text(key, lang, text) else None
            if recording is not None and (self.player or self._runner is not self._spawn):
                out.append(play_command(recording, self.volume, self.elderly, self.player or "play"))
            else:
                out.append(espeak_command(text, lang, self.volume, self.elderly, self.binary or "espeak-ng"))
        return out

    def say_parts(self, parts: Iterable[tuple[str | None, str]], lang: str = "zh") -> None:
        """Speak the parts in order (title, instruction, what to do next...)."""
        parts = [(k, str(t)) for k, t in parts if t]
        if not (self.enabled and parts and self.available and self.volume > 0):
            return
        cmds = self.commands(parts, lang)
        with self._cond:
            self.spoken = (self.spoken + [(lang, " ".join(t for _, t in parts))])[-20:]
            self._pending = cmds
            self._kill_current()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="voice", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._pending = None
            self._kill_current()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._pending = None
            self._kill_current()
            self._cond.notify()

    def _kill_current(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.terminate()
            except OSError:
                pass

    def _spawn(self, cmd: Sequence[str]) -> subprocess.Popen | None:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _next_command(self) -> list[str] | None:
        with self._cond:
            while not self._pending and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return None
            cmd = self._pending.pop(0)  # type: ignore[union-attr]
            try:
                self._proc = self._runner(cmd)
            except OSError as exc:
                log.warning("voice guidance failed: %s", exc)
                self._proc = None
            return cmd

    def _loop(self) -> None:
        while self._next_command() is not None:
            proc = self._proc
            if proc is not None:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
