"""PC/SC smart-card reader: social security cards and bank cards over pyscard.

URL: ``pcsc://Reader Name`` (exact name, or the first reader whose name starts
with it, since the trailing slot numbers of a real reader can change when it
is replugged); ``pcsc://`` takes the first reader pcscd lists.

pyscard's low-level ``smartcard.scard`` API is used rather than its
CardConnection/CardMonitor classes: each command gets a fresh PC/SC context,
so a restarted pcscd costs one failed read rather than a dead driver, and
every PC/SC result code maps to one clear catalog message.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import replace
from typing import Any

from smartcard import scard

from devices.base import Device, DeviceError, DeviceState, DeviceStatus
from devices.idcard.textparse import NATIONS, SEX
from devices.urls import parse_url
from kiosk.core import idnumber
from kiosk.core.domain import SOCIAL_SECURITY, Identity
from kiosk.core.i18n import text
from kiosk.core.logs import remember_personal

from . import apdu, cards
from .apdu import Command, Response

log = logging.getLogger(__name__)

PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
WATCH_INTERVAL_MS = 500

_NO_SERVICE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}
_NO_READER = {scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE, scard.SCARD_E_NO_READERS_AVAILABLE}
_NO_CARD = {scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD}

# Registered application identifier prefixes -> scheme name (EMV RIDs)
SCHEMES = {
    "A000000333": "UnionPay",
    "A000000003": "Visa",
    "A000000004": "Mastercard",
    "A000000025": "American Express",
    "A000000065": "JCB",
}
UNIONPAY_PRODUCTS = {"010101": "debit", "010102": "credit", "010103": "quasi-credit"}
KNOWN_AIDS = (cards.UNIONPAY_DEBIT, cards.UNIONPAY_CREDIT, cards.UNIONPAY_QUASI_CREDIT)

# First two digits of a region code (GB/T 2260) -> province-level division
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
    "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
    "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
    "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
    "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}

# Terminal values put in a PDOL for GET PROCESSING OPTIONS; anything else is zeros.
_PDOL_DEFAULTS = {
    0x9F66: bytes.fromhex("26000000"),  # TTQ: contact chip, online capable
    0x9F1A: b"\x01\x56",                 # terminal country: China
    0x5F2A: b"\x01\x56",                 # currency: CNY
    0x9C: b"\x31",                       # transaction type: balance inquiry
}


def _kind_args(found: str, wanted: str) -> dict:
    f, w = text(f"smartcard.kind.{found}"), text(f"smartcard.kind.{wanted}")
    return {"found": f.zh, "wanted": w.zh, "found_en": f.en, "wanted_en": w.en}


def _bcd_date(raw: bytes | None) -> dt.date | None:
    if not raw:
        return None
    digits = apdu.unbcd(raw)
    try:
        if len(digits) == 8:
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        if len(digits) == 6:  # EMV YYMMDD
            return dt.date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None
    return None


def _strip(raw: bytes | None) -> bytes:
    return (raw or b"").rstrip(b"\x00\x20\xff")


def _pdol_data(pdol: bytes | None, today: dt.date | None = None) -> bytes:
    values = dict(_PDOL_DEFAULTS)
    values[0x9A] = apdu.bcd((today or dt.date.today()).strftime("%y%m%d"))
    out = b""
    for tag, length in apdu.parse_dol(pdol or b""):
        value = values.get(tag, b"")
        out += value[:length].ljust(length, b"\x00")
    return out


class _Session:
    """One connected card: transmit with 61xx/6Cxx handling, errors mapped."""

    def __init__(self, driver: SmartCardReader, ctx: int, reader: str):
        self.driver, self.ctx, self.reader = driver, ctx, reader
        hresult, self.hcard, self.protocol = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED, PROTOCOLS)
        if hresult != scard.SCARD_S_SUCCESS:
            raise driver._error(hresult, ctx, reader, reading=False)
        self.atr = b""

    def transmit(self, cmd: Command) -> Response:
        if self.driver.cancelled:
            raise DeviceError("device.cancelled", DeviceState.ONLINE)
        raw, collected = cmd.to_bytes(), b""
        for _ in range(32):
            hresult, answer = scard.SCardTransmit(self.hcard, self.protocol, list(raw))
            if hresult == scard.SCARD_S_SUCCESS and len(answer) < 2:
                hresult = scard.SCARD_E_NOT_TRANSACTED  # no status word: the transfer broke off
            if hresult != scard.SCARD_S_SUCCESS:
                raise self.driver._error(hresult, self.ctx, self.reader, reading=True)
            resp = Response.parse(bytes(answer))
            if resp.sw1 == 0x6C:  # wrong Le: repeat with the length the card gives
                raw = replace(cmd, le=resp.sw2).to_bytes()
                continue
            if resp.sw1 == 0x61:  # more data: fetch it (T=0 cards)
                collected += resp.data
                raw = apdu.get_response(resp.sw2).to_bytes()
                continue
            return Response(collected + resp.data, resp.sw)
        raise DeviceError("smartcard.card_error", DeviceState.USER_ERROR, detail="endless response chaining")

    def select(self, name: bytes) -> Response:
        return self.transmit(apdu.select_by_name(name))

    def close(self) -> None:
        scard.SCardDisconnect(self.hcard, scard.SCARD_LEAVE_CARD)


class SmartCardReader(Device):
    family = "smartcard"
    schemes = ("pcsc",)
    default_timeout_s = 10.0

    def __init__(self, name: str, url: str, options: dict | None = None):
        super().__init__(name, url, options)
        self.reader_spec = self.options.get("reader") or parse_url(url).host
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._watch_ctx: int | None = None
        self.reader_name = ""   # the reader the last operation used

    # --- PC/SC plumbing ------------------------------------------------
    def _context(self) -> int:
        hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceError("smartcard.pcscd_not_running", DeviceState.NO_DEVICE)
        return ctx

    @staticmethod
    def _list(ctx: int) -> list[str]:
        hresult, readers = scard.SCardListReaders(ctx, [])
        if hresult in (scard.SCARD_E_NO_READERS_AVAILABLE,):
            return []
        if hresult in _NO_SERVICE:
            raise DeviceError("smartcard.pcscd_not_running", DeviceState.NO_DEVICE)
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceError("smartcard.reader_error", DeviceState.HARDWARE_ERROR,
                              detail=scard.SCardGetErrorMessage(hresult))
        return list(readers)

    def _resolve(self, ctx: int) -> str:
        readers = self._list(ctx)
        spec = self.reader_spec
        if not spec:
            if not readers:
                raise DeviceError("smartcard.no_readers", DeviceState.NO_DEVICE)
            return readers[0]
        if spec in readers:
            return spec
        for r in readers:
            if r.startswith(spec):
                return r
        raise DeviceError("smartcard.no_reader", DeviceState.NO_DEVICE, reader=spec)

    @staticmethod
    def _present(ctx: int, reader: str, wait_ms: int = 0) -> bool:
        hresult, states = scard.SCardGetStatusChange(ctx, wait_ms, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hresult in _NO_SERVICE:
            raise DeviceError("smartcard.pcscd_not_running", DeviceState.NO_DEVICE)
        if hresult in _NO_READER:
            raise DeviceError("smartcard.no_reader", DeviceState.NO_DEVICE, reader=reader)
        if hresult != scard.SCARD_S_SUCCESS:
            return False
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)

    def _error(self, hresult: int, ctx: int, reader: str, reading: bool) -> DeviceError:
        if hresult in _NO_SERVICE:
            return DeviceError("smartcard.pcscd_not_running", DeviceState.NO_DEVICE)
        if hresult in _NO_READER:
            return DeviceError("smartcard.no_reader", DeviceState.NO_DEVICE, reader=reader)
        if hresult in _NO_CARD or hresult == scard.SCARD_W_UNPOWERED_CARD:
            key = "smartcard.card_removed" if reading else "smartcard.no_card"
            return DeviceError(key, DeviceState.USER_ERROR)
        if reading:
            # a transfer that breaks off is usually the card leaving the slot;
            # pcscd notices on its next presence poll, so give it a moment
            deadline = time.monotonic() + 1.5
            try:
                while time.monotonic() < deadline:
                    if not self._present(ctx, reader):
                        return DeviceError("smartcard.card_removed", DeviceState.USER_ERROR)
                    time.sleep(0.1)
            except DeviceError as exc:
                return exc
        return DeviceError("smartcard.card_error", DeviceState.USER_ERROR,
                           detail=scard.SCardGetErrorMessage(hresult).strip())

    def _with_card(self, wait_s: float | None, fn) -> Any:
        ctx = self._context()
        try:
            reader = self.reader_name = self._resolve(ctx)
            if not self._wait_present(ctx, reader, wait_s or 0):
                raise DeviceError("smartcard.no_card", DeviceState.USER_ERROR)
            session = _Session(self, ctx, reader)
            try:
                hresult, _, _, _, atr = scard.SCardStatus(session.hcard)
                session.atr = bytes(atr) if hresult == scard.SCARD_S_SUCCESS else b""
                return fn(session)
            finally:
                session.close()
        finally:
            scard.SCardReleaseContext(ctx)

    def _wait_present(self, ctx: int, reader: str, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            if self._present(ctx, reader, int(max(0.0, min(left, 0.25)) * 1000)):
                return True
            if left <= 0 or self.cancelled:
                return False

    # --- lifecycle, status ---------------------------------------------
    def _open(self) -> None:
        self._watch_stop.clear()
        self._watcher = threading.Thread(target=self._watch, name=f"pcsc-watch-{self.name}", daemon=True)
        self._watcher.start()

    def _close(self) -> None:
        self._watch_stop.set()
        ctx = self._watch_ctx
        if ctx is not None:
            scard.SCardCancel(ctx)  # wakes a blocked SCardGetStatusChange
        if self._watcher is not None:
            self._watcher.join(timeout=3)
            self._watcher = None

    def _probe(self) -> DeviceStatus:
        ctx = self._context()
        try:
            reader = self._resolve(ctx)
            return self._online(self._present(ctx, reader))
        finally:
            scard.SCardReleaseContext(ctx)

    @staticmethod
    def _online(present: bool) -> DeviceStatus:
        media = "present" if present else "notPresent"
        return DeviceStatus(DeviceState.ONLINE, detail={"media": media}, message=text(f"smartcard.media.{media}"))

    def _watch(self) -> None:
        """Follows insert/remove with SCardGetStatusChange and reports status changes;
        survives pcscd restarts and reader unplugging by starting over."""
        while not self._watch_stop.is_set():
            try:
                ctx = self._context()
            except DeviceError as exc:
                self._set_status(DeviceStatus(exc.state, message=exc.text, last_error=str(exc)))
                self._watch_stop.wait(1.0)
                continue
            self._watch_ctx = ctx
            try:
                self._watch_reader(ctx)
            except DeviceError as exc:
                self._set_status(DeviceStatus(exc.state, message=exc.text, last_error=str(exc)))
                self._watch_stop.wait(1.0)
            finally:
                self._watch_ctx = None
                scard.SCardReleaseContext(ctx)

    def _watch_reader(self, ctx: int) -> None:
        reader = self._resolve(ctx)
        state = scard.SCARD_STATE_UNAWARE
        while not self._watch_stop.is_set():
            hresult, states = scard.SCardGetStatusChange(ctx, WATCH_INTERVAL_MS, [(reader, state)])
            if hresult == scard.SCARD_E_TIMEOUT:
                continue
            if hresult == scard.SCARD_E_CANCELLED:
                return
            if hresult != scard.SCARD_S_SUCCESS:
                raise self._error(hresult, ctx, reader, reading=False)
            event = states[0][1]
            if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise DeviceError("smartcard.no_reader", DeviceState.NO_DEVICE, reader=reader)
            self._set_status(self._online(bool(event & scard.SCARD_STATE_PRESENT)))
            state = event & ~scard.SCARD_STATE_CHANGED

    # --- operations ----------------------------------------------------
    def _budget(self, wait_s: float | None) -> float:
        return (wait_s or 0) + self.default_timeout_s

    def readers(self) -> list[str]:
        """Reader names pcscd lists."""
        def run() -> list[str]:
            ctx = self._context()
            try:
                return self._list(ctx)
            finally:
                scard.SCardReleaseContext(ctx)
        return self.call(run)

    def wait_for_card(self, timeout: float) -> bool:
        """True as soon as a card is in the reader, False after ``timeout`` seconds."""
        def run() -> bool:
            ctx = self._context()
            try:
                return self._wait_present(ctx, self._resolve(ctx), timeout)
            finally:
                scard.SCardReleaseContext(ctx)
        return self.call(run, timeout=timeout + self.default_timeout_s)

    def identify(self, timeout: float | None = None) -> str:
        """Which kind of card is in the reader: social_security, bank or unknown."""
        return self._card_op(lambda s: _identify(s)[0], timeout)

    def read_social_security(self, timeout: float | None = None) -> Identity:
        """Read the social security card in the reader. ``timeout``: seconds to
        wait for a card to be inserted (None: it must be there already)."""
        return self._card_op(self._read_ssc, timeout)

    def read_bank_card(self, timeout: float | None = None) -> dict:
        """Read the bank card in the reader: pan, expiry (YYYY-MM-DD), scheme,
        product, cardholder, aid, label, problems (catalog keys)."""
        return self._card_op(self._read_bank, timeout)

    def read_any(self, timeout: float | None = None) -> Identity | dict:
        """Whatever card is in the reader: an Identity for a social security
        card, a dict for a bank card; unknown cards raise."""
        def run(session: _Session):
            kind, _ = _identify(session)
            if kind == "social_security":
                return self._read_ssc(session)
            if kind == "bank":
                return self._read_bank(session)
            raise DeviceError("smartcard.unknown_card", DeviceState.USER_ERROR)
        return self._card_op(run, timeout)

    def _card_op(self, fn, wait_s: float | None):
        try:
            return self.call(self._with_card, wait_s, fn, timeout=self._budget(wait_s))
        except DeviceError as exc:
            if exc.state in (DeviceState.NO_DEVICE, DeviceState.HARDWARE_ERROR):
                self.report_error(exc)
            log.info("card read failed", extra={"device": self.name, "reason": exc.key})
            raise

    # --- social security card ------------------------------------------
    def _read_ssc(self, session: _Session) -> Identity:
        if not session.select(cards.SSC_AID).ok:
            kind, _ = _identify(session)
            if kind == "bank":
                raise DeviceError("smartcard.wrong_card", DeviceState.USER_ERROR,
                                  **_kind_args("bank", "social_security"))
            raise DeviceError("smartcard.unknown_card", DeviceState.USER_ERROR)
        rec = {}
        for ef, numbers in ((cards.EF_CARD_INFO, range(0x01, 0x08)), (cards.EF_HOLDER_INFO, range(0x08, 0x0F))):
            if not session.transmit(apdu.select_ef(ef)).ok:
                raise DeviceError("smartcard.bad_data", DeviceState.USER_ERROR, detail=f"no EF {ef:04X}")
            for n in numbers:
                resp = session.transmit(apdu.read_record(n))
                if resp.ok:
                    try:
                        rec[n] = apdu.find_tlv(resp.data, n) or b""
                    except apdu.ApduError as exc:
                        raise DeviceError("smartcard.bad_data", DeviceState.USER_ERROR, detail=str(exc)) from None
        return social_security_identity(rec)

    # --- bank card -------------------------------------------------------
    def _read_bank(self, session: _Session) -> dict:
        kind, aids = _identify(session)
        if kind == "social_security":
            raise DeviceError("smartcard.wrong_card", DeviceState.USER_ERROR, **_kind_args("social_security", "bank"))
        if kind != "bank":
            raise DeviceError("smartcard.unknown_card", DeviceState.USER_ERROR)
        for aid in aids:
            resp = session.select(aid)
            if not resp.ok:
                continue
            return _read_emv_app(session, aid, resp.data)
        raise DeviceError("smartcard.unknown_card", DeviceState.USER_ERROR)


def _identify(session: _Session) -> tuple[str, list[bytes]]:
    """The card's kind and, for bank cards, its payment AIDs by priority."""
    if session.select(cards.SSC_AID).ok:
        return "social_security", []
    aids = _directory_aids(session)
    if not aids:  # no directory: try the AIDs the kiosk accepts one by one (EMV "list of AIDs")
        aids = [aid for aid in KNOWN_AIDS if session.select(aid).ok]
    return ("bank", aids) if aids else ("unknown", [])


def _directory_aids(session: _Session) -> list[bytes]:
    entries: list[tuple[int, bytes]] = []
    resp = session.select(cards.PSE)
    if resp.ok:
        sfi_raw = _tlv(resp.data, 0x88)
        sfi = sfi_raw[0] if sfi_raw else 1
        for n in range(1, 17):
            rec = session.transmit(apdu.read_record(n, sfi=sfi))
            if not rec.ok:
                break
            entries += _app_entries(rec.data)
    if not entries:
        resp = session.select(cards.PPSE)
        if resp.ok:
            entries += _app_entries(resp.data)
    return [aid for _, aid in sorted(entries, key=lambda e: e[0])]


def _app_entries(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    try:
        items = apdu.parse_tlv(data)
    except apdu.ApduError:
        return out

    def walk(nodes):
        for node in nodes:
            if node.tag == 0x61:
                aid = apdu.find_tlv(node.children(), 0x4F)
                prio = apdu.find_tlv(node.children(), 0x87)
                if aid:
                    out.append(((prio or b"\x0F")[0] & 0x0F, aid))
            elif node.constructed:
                walk(node.children())
    walk(items)
    return out


def _tlv(data: bytes, tag: int) -> bytes | None:
    try:
        return apdu.find_tlv(data, tag)
    except apdu.ApduError:
        return None


def _read_emv_app(session: _Session, aid: bytes, fci: bytes) -> dict:
    gpo = session.transmit(apdu.get_processing_options(_pdol_data(_tlv(fci, 0x9F38))))
    if not gpo.ok:
        raise DeviceError("smartcard.card_error", DeviceState.USER_ERROR, detail=str(gpo))
    if gpo.data[:1] == b"\x80":  # format 1: AIP (2 bytes) + AFL
        afl = (apdu.find_tlv(gpo.data, 0x80) or b"")[2:]
    else:
        afl = _tlv(gpo.data, 0x94) or b""
    found: dict[int, bytes] = {}
    for tag in (0x57, 0x5A, 0x5F20, 0x5F24):  # some cards answer these in the GPO itself
        if (v := _tlv(gpo.data, tag)) is not None:
            found[tag] = v
    for i in range(0, len(afl) - 3, 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        for n in range(first, last + 1):
            rec = session.transmit(apdu.read_record(n, sfi=sfi))
            if not rec.ok:
                raise DeviceError("smartcard.card_error", DeviceState.USER_ERROR, detail=str(rec))
            for tag in (0x57, 0x5A, 0x5F20, 0x5F24):
                if tag not in found and (v := _tlv(rec.data, tag)) is not None:
                    found[tag] = v
    return bank_card_fields(aid, found, label=_tlv(fci, 0x50))


def bank_card_fields(aid: bytes, found: dict[int, bytes], label: bytes | None = None,
                     today: dt.date | None = None) -> dict:
    """The kiosk's view of a bank card from its EMV data objects."""
    track2 = found[0x57].hex().upper().rstrip("F") if 0x57 in found else ""
    track_pan, _, track_rest = track2.partition("D")
    pan = apdu.unbcd(found[0x5A]) if 0x5A in found else track_pan
    if not pan:
        raise DeviceError("smartcard.bad_data", DeviceState.USER_ERROR, detail="no card number (5A/57)")
    expiry = _bcd_date(found.get(0x5F24))
    if expiry is None and len(track_rest) >= 4:
        try:  # track 2 gives YYMM; the card is valid to the end of that month
            first = dt.date(2000 + int(track_rest[:2]), int(track_rest[2:4]), 1)
            expiry = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        except ValueError:
            expiry = None
    aid_hex = aid.hex().upper()
    problems = []
    if track_pan and track_pan != pan:
        problems.append("smartcard.problem.pan_mismatch")
    if not apdu.luhn_ok(pan):
        problems.append("smartcard.problem.pan_check_digit")
    if expiry is not None and expiry < (today or dt.date.today()):
        problems.append("smartcard.problem.expired")
    return {
        "card_type": "bank",
        "pan": pan,
        "expiry": expiry.isoformat() if expiry else "",
        "scheme": next((name for rid, name in SCHEMES.items() if aid_hex.startswith(rid)), "unknown"),
        "product": UNIONPAY_PRODUCTS.get(aid_hex[10:], "") if aid_hex.startswith("A000000333") else "",
        "cardholder": _strip(found.get(0x5F20)).decode("ascii", "replace").strip(),
        "aid": aid_hex,
        "label": _strip(label).decode("ascii", "replace") if label else "",
        "problems": problems,
    }


def social_security_identity(rec: dict[int, bytes], today: dt.date | None = None) -> Identity:
    """An Identity from the social security card records (tag = record number)."""
    for required in (0x07, 0x08, 0x09):
        if not _strip(rec.get(required)):
            raise DeviceError("smartcard.bad_data", DeviceState.USER_ERROR, detail=f"record {required:02X} missing")
    try:
        name = (_strip(rec[0x09]) + _strip(rec.get(0x0A))).decode("gbk").strip()
        id_number = _strip(rec[0x08]).decode("ascii").strip().upper()
        card_number = _strip(rec[0x07]).decode("ascii").strip()
        ident = _strip(rec.get(0x01)).decode("ascii")
    except UnicodeDecodeError as exc:
        raise DeviceError("smartcard.bad_data", DeviceState.USER_ERROR, detail=str(exc)) from None
    sex_code = _strip(rec.get(0x0B)).decode("ascii", "replace")
    nation_code = apdu.unbcd(rec.get(0x0C, b"")).zfill(2)
    issued, expiry = _bcd_date(rec.get(0x05)), _bcd_date(rec.get(0x06))
    birth = _bcd_date(rec.get(0x0E)) or idnumber.birth_date(id_number)
    region = ident[:6] if ident[:6].isdigit() else ""
    person = Identity(
        name=name,
        id_number=id_number,
        sex=SEX.get(sex_code, ""),
        nation=NATIONS.get(nation_code, ""),
        birth=birth,
        valid_from=issued,
        valid_to=expiry,
        card_type=SOCIAL_SECURITY,
        extra={
            "card_number": card_number,
            "issue_date": issued.isoformat() if issued else "",
            "expiry_date": expiry.isoformat() if expiry else "",
            "region_code": region,
            "issuing_region": PROVINCES.get(region[:2], "") if region else "",
            "card_version": _strip(rec.get(0x03)).decode("ascii", "replace"),
            "birthplace": apdu.unbcd(rec.get(0x0D, b"")),
        },
    )
    # masked in every log line from now on, as the ID-card reader does for its cards
    remember_personal(name=name, numbers=[id_number])
    problem = idnumber.validate(id_number, today)
    if problem:
        person.problems.append(problem)
    if person.expired(today):
        person.problems.append("smartcard.problem.expired")
    return person
