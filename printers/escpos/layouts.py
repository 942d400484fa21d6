"""Ticket and receipt layouts: TOML templates (``layouts/*.toml``) turned into
ESC/POS bytes for a 58 mm (32 columns, 384 dots) or 80 mm (48 columns, 576
dots) roll.  A new service needs data, not code: the template reads fields
from the job dict and text from the catalog.

Block types: ``text`` (a field template), ``label`` (a catalog message, zh
line then en line, or both on one line with ``en_inline``), ``pair`` (catalog
label on the left, value on the right), ``rule``, ``qr``, ``barcode``,
``image``, ``feed``, ``cut``.  Common keys: ``align``, ``bold``, ``size`` =
[width, height], ``when`` (field that must be non-empty), ``fit`` (narrow the
characters until the text fits one line), ``w58``/``w80`` overrides.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import string
import tomllib
from importlib import resources
from typing import Any

from kiosk.core.i18n import t
from kiosk.core.masking import mask_holder, mask_text

from .encoder import Encoder, text_width

log = logging.getLogger(__name__)


class LayoutError(ValueError):
    pass


@functools.cache
def load_layout(name: str) -> tuple[dict, ...]:
    try:
        raw = (resources.files("printers.escpos") / "layouts" / f"{name}.toml").read_text("utf-8")
    except FileNotFoundError:
        raise LayoutError(f"no layout named {name!r}") from None
    blocks = tomllib.loads(raw).get("block", [])
    for i, b in enumerate(blocks):
        if b.get("type") not in _BLOCKS:
            raise LayoutError(f"{name}.toml block {i + 1}: unknown type {b.get('type')!r}")
    return tuple(blocks)


def _for_width(block: dict, paper_mm: int) -> dict:
    over = block.get(f"w{paper_mm}")
    return {**block, **over} if over else block


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return ""


_FMT = string.Formatter()


def _fill(template: str, fields: dict) -> str:
    return _FMT.vformat(template, (), fields).strip()


def wrap(s: str, columns: int) -> list[str]:
    """Break ``s`` into lines of at most ``columns`` cells: between words for
    Latin text, anywhere between CJK characters."""
    lines: list[str] = []
    for para in s.split("\n"):
        line, width = "", 0
        for token in _tokens(para):
            tw = text_width(token)
            if width + tw > columns and line.strip():
                lines.append(line.rstrip())
                token = token.lstrip()
                line, width = "", 0
                tw = text_width(token)
            while tw > columns:  # a word longer than the line
                cut, cw = "", 0
                for ch in token:
                    if cw + text_width(ch) > columns:
                        break
                    cut, cw = cut + ch, cw + text_width(ch)
                lines.append(cut)
                token, tw = token[len(cut):], tw - cw
            line, width = line + token, width + tw
        lines.append(line.rstrip())
    return lines


def _tokens(s: str):
    word = ""
    for ch in s:
        if text_width(ch) == 2:
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " ":
            yield word + " "
            word = ""
        else:
            word += ch
    if word:
        yield word


class _Writer:
    def __init__(self, enc: Encoder, fields: dict, lang_en: bool = True):
        self.enc = enc
        self.fields = fields
        self.lang_en = lang_en

    def style(self, b: dict, size: list | None = None) -> tuple[int, int]:
        w, h = size or b.get("size", [1, 1])
        self.enc.align(b.get("align", "left")).bold(bool(b.get("bold"))).size(w, h)
        return w, h

    def lines(self, b: dict, s: str, size: list | None = None) -> None:
        if not s:
            return
        w, h = size or b.get("size", [1, 1])
        if b.get("fit"):
            while w > 1 and text_width(s) * w > self.enc.columns:
                w -= 1  # narrower first: the height keeps it readable from afar
        self.style(b, [w, h])
        for ln in wrap(s, self.enc.columns // w):
            self.enc.line(ln)
        self.enc.size(1, 1).bold(False)


def _text(wr: _Writer, b: dict) -> None:
    wr.lines(b, _fill(b["value"], wr.fields))


def _label(wr: _Writer, b: dict) -> None:
    key = b.get("key")
    if "key_by" in b:
        v = str(wr.fields.get(b["key_by"], ""))
        key = b["keys"].get(v, b["keys"]["default"])
    zh, en = t(key, "zh", **wr.fields), t(key, "en", **wr.fields)
    if b.get("en_inline"):
        wr.lines(b, f"{zh} {en}")
        return
    wr.lines(b, zh)
    wr.lines({**b, "size": [1, 1], "bold": False}, en)


def _pair(wr: _Writer, b: dict) -> None:
    key = b["key"]
    _pair_line(wr, f"{t(key, 'zh')} {t(key, 'en')}", _fill(b["value"], wr.fields), b.get("bold"))


def _pair_line(wr: _Writer, label: str, value: str, bold: Any = False) -> None:
    cols = wr.enc.columns
    wr.style({"bold": bold})
    gap = cols - text_width(label) - text_width(value)
    if gap >= 1:
        wr.enc.line(label + " " * gap + value)
    else:  # value on its own line(s), right-aligned
        wr.enc.line(label)
        for ln in wrap(value, cols):
            wr.enc.line(" " * (cols - text_width(ln)) + ln)
    wr.enc.bold(False)


def _rows(wr: _Writer, b: dict) -> None:
    """A service's own lines (``from``, default ``lines``): ``[{"label": key or "text": label, "value": text
    or {zh, en}}]``, each as a pair (label left, value right)."""
    for item in wr.fields.get(b.get("from", "lines")) or []:
        value = item.get("value", "")
        if isinstance(value, dict):
            zh, en = str(value.get("zh", "")), str(value.get("en", ""))
            value = zh if not en or en == zh else f"{zh} {en}"
        label = item.get("text") or f"{t(item['label'], 'zh')} {t(item['label'], 'en')}"
        _pair_line(wr, str(label), str(value), b.get("bold"))


def _rule(wr: _Writer, b: dict) -> None:
    wr.style({})
    wr.enc.line(b.get("char", "-") * wr.enc.columns)


def _qr(wr: _Writer, b: dict) -> None:
    data = _fill(b["value"], wr.fields)
    wr.style(b, [1, 1])
    wr.enc.qr(data, module=int(b.get("module", 6)), level=b.get("level", "M"))
    wr.enc.line()


def _barcode(wr: _Writer, b: dict) -> None:
    data = _fill(b["value"], wr.fields)
    if not data or not data.isascii():
        return
    modules = 11 * len(data) + 35  # CODE128 set B: start, data, check, stop
    module = max(1, min(int(b.get("module", 2)), wr.enc.dots // modules))
    wr.style(b, [1, 1])
    wr.enc.barcode(data, height=int(b.get("height", 60)), module=module)


def _image(wr: _Writer, b: dict) -> None:
    from PIL import Image

    path = _fill(b["value"], wr.fields)
    try:
        img = Image.open(path)
        img.load()
    except OSError as exc:  # a missing logo must not stop a ticket
        log.warning("layout image not printed", extra={"path": path, "reason": str(exc)})
        return
    limit = int(b.get("max_width", wr.enc.dots))
    if img.width > limit:
        img = img.resize((limit, max(1, img.height * limit // img.width)))
    wr.style(b, [1, 1])
    wr.enc.image(img)


def _feed(wr: _Writer, b: dict) -> None:
    wr.enc.feed(int(b.get("lines", 1)))


def _cut(wr: _Writer, b: dict) -> None:
    wr.enc.cut(partial=bool(b.get("partial")))


_BLOCKS = {"text": _text, "label": _label, "pair": _pair, "rule": _rule, "qr": _qr, "barcode": _barcode,
           "image": _image, "feed": _feed, "cut": _cut, "rows": _rows}
_LAYOUT_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


def render(name: str, data: dict, paper_mm: int = 80) -> bytes:
    fields = _Fields()
    for key, value in data.items():
        if isinstance(value, dict) and "zh" in value:  # bilingual value {"zh", "en"}
            fields[key], fields[f"{key}_en"] = value.get("zh", ""), value.get("en", "")
        elif value is not None:
            fields[key] = value
    if name == "receipt" and data.get("layout"):  # a service's own receipt layout
        name = str(data["layout"])
        if not _LAYOUT_NAME.match(name):
            raise LayoutError(f"bad layout name {name!r}")
    enc = Encoder(paper_mm).init()
    wr = _Writer(enc, fields)
    for block in load_layout(name):
        b = _for_width(block, paper_mm)
        if "when" in b and not str(fields.get(b["when"], "")).strip():
            continue
        _BLOCKS[b["type"]](wr, b)
    return enc.bytes()


def format_time(value: Any = None) -> str:
    if value is None:
        value = dt.datetime.now()
    elif isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value)
    elif isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M")


def ticket_fields(ticket: dict) -> dict:
    """Validates a ticket job and fills defaults."""
    for key in ("number", "service"):
        if not ticket.get(key):
            raise LayoutError(f"ticket needs {key!r}")
    waiting = ticket.get("waiting", 0)
    if waiting is None:  # an offline number: the terminal cannot know the queue
        return {**ticket, "number": str(ticket["number"]).strip(), "waiting": "unknown",
                "time": format_time(ticket.get("time"))}
    try:
        waiting = int(waiting)
    except (TypeError, ValueError):
        raise LayoutError(f"waiting must be a number, got {waiting!r}") from None
    if waiting < 0:
        raise LayoutError("waiting must not be negative")
    return {**ticket, "number": str(ticket["number"]).strip(), "waiting": waiting,
            "time": format_time(ticket.get("time"))}


def receipt_fields(receipt: dict) -> dict:
    """Validates a receipt job, masks the applicant and resolves the result text."""
    for key in ("case_no", "service"):
        if not receipt.get(key):
            raise LayoutError(f"receipt needs {key!r}")
    applicant = mask_holder(str(receipt.get("applicant") or ""), receipt.get("id_number"))
    out = {k: v for k, v in receipt.items() if k != "id_number"}
    out.update(applicant=applicant, time=format_time(receipt.get("time")))
    result = receipt.get("result") or "accepted"
    if isinstance(result, str) and t(f"printing.result.{result}") != f"printing.result.{result}":
        out["result"], out["result_en"] = t(f"printing.result.{result}", "zh"), t(f"printing.result.{result}", "en")
    else:  # free text from a back-end may quote numbers
        out["result"], out["result_en"] = mask_text(str(result)), mask_text(str(receipt.get("result_en") or ""))
    return out


def slip_fields(slip: dict) -> dict:
    """Validates a slip job: a title and body lines; free text is masked by the one rule."""
    if not slip.get("title") or not slip.get("body"):
        raise LayoutError("slip needs 'title' and 'body'")
    body = slip["body"]
    lines = body if isinstance(body, (list, tuple)) else str(body).split("\n")
    return {**slip, "body": "\n".join(mask_text(str(line)) for line in lines),
            "time": format_time(slip.get("time"))}


def render_ticket(ticket: dict, paper_mm: int = 80) -> bytes:
    return render("ticket", ticket_fields(ticket), paper_mm)


def render_receipt(receipt: dict, paper_mm: int = 80) -> bytes:
    return render("receipt", receipt_fields(receipt), paper_mm)
