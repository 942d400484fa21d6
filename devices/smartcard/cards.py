"""Card applications for the virtual reader: ISO 7816-4 APDU handlers.

Each card answers raw command APDUs with raw response APDUs, exactly what a
chip would put on the wire; ``vpcd.VirtualCardServer`` carries those bytes to
pcscd. Data is fictional but well-formed (valid GB 11643 and Luhn check digits).

Social security card (社会保障卡) layout used here, after the national card
specification (application "sx1.sh.社会保障", records are TLV whose tag is the
record number):

  EF05 (card information)             EF06 (holder information)
  01 card identification code an16   08 social security number (ID number) an18
     = region code(6) + "D156000005"  09 name, GBK, 30 bytes, 00-padded
  02 card type an1 ("1")             0A name extension, 20 bytes, 00-padded
  03 specification version an4       0B sex an1 (GB/T 2261.1: 1 male, 2 female)
  04 issuing organisation cn12 (BCD) 0C nation cn2 (GB 3304 code, BCD)
  05 issue date cn8 (BCD YYYYMMDD)   0D birthplace region cn6 (BCD)
  06 expiry date cn8 (BCD YYYYMMDD)  0E birth date cn8 (BCD YYYYMMDD)
  07 card number an9

Real cards guard some EF06 records behind terminal authentication with a
PSAM; the kiosk reads only what they expose freely, so the virtual card
does not model that.

Bank card: a UnionPay debit application (AID A000000333010101) reachable from
the contact PSE (1PAY.SYS.DDF01) and the contactless PPSE (2PAY.SYS.DDF01),
with GET PROCESSING OPTIONS checking the PDOL length, and records holding
Track 2 equivalent data (57), cardholder name (5F20), PAN (5A) and expiry
(5F24). It speaks T=0 style: answers with data come as 61xx and are fetched
with GET RESPONSE, as most contact EMV cards do.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from kiosk.core import idnumber

from . import apdu
from .apdu import Command, status, tlv

SSC_AID = b"sx1.sh." + "社会保障".encode("gbk")
PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"
UNIONPAY_DEBIT = bytes.fromhex("A000000333010101")
UNIONPAY_CREDIT = bytes.fromhex("A000000333010102")
UNIONPAY_QUASI_CREDIT = bytes.fromhex("A000000333010103")

EF_CARD_INFO = 0xEF05
EF_HOLDER_INFO = 0xEF06

KINDS = ("social_security", "bank", "unknown")

# PDOL the bank card asks for: TTQ, amount, other amount, terminal country,
# TVR, currency, date, transaction type, unpredictable number.
BANK_PDOL = bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704")


def make_atr(historical: bytes, t1: bool) -> bytes:
    """A direct-convention ATR; offering T=1 requires TD1 and a TCK byte."""
    if not t1:
        return bytes((0x3B, len(historical))) + historical
    body = bytes((0x80 | len(historical), 0x01)) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3B" + body + bytes((tck,))


class VirtualCard:
    """Base card: T=0 answer chaining, class/instruction checks, reset."""

    kind = "unknown"
    atr = make_atr(b"KIOSK-UNK", t1=False)
    t0 = False  # answer data with 61xx + GET RESPONSE

    def __init__(self) -> None:
        self._pending = b""
        self.power_on()

    def power_on(self) -> None:
        self._pending = b""
        self.reset_state()

    def reset_state(self) -> None:
        pass

    def process(self, raw: bytes) -> bytes:
        try:
            cmd = Command.parse(raw)
        except apdu.ApduError:
            return status(apdu.SW_WRONG_LENGTH)
        if cmd.ins == apdu.INS_GET_RESPONSE and cmd.cla == 0x00:
            return self._get_response(cmd)
        self._pending = b""
        answer = self.handle(cmd)
        resp = apdu.Response.parse(answer)
        if self.t0 and resp.ok and resp.data:
            self._pending = resp.data
            return status(0x6100 | (len(resp.data) & 0xFF))
        return answer

    def _get_response(self, cmd: Command) -> bytes:
        if not self._pending:
            return status(apdu.SW_NO_CURRENT_EF)
        data = self._pending
        if cmd.le and cmd.le != len(data):
            return status(0x6C00 | len(data))
        self._pending = b""
        return status(apdu.SW_OK, data)

    def handle(self, cmd: Command) -> bytes:
        if cmd.ins == apdu.INS_SELECT:
            return status(apdu.SW_FILE_NOT_FOUND)
        return status(apdu.SW_INS_NOT_SUPPORTED)

    @staticmethod
    def answer(data: bytes, cmd: Command) -> bytes:
        """Data with 9000, or 6Cxx when the caller gave a wrong, non-zero Le."""
        if cmd.le and cmd.le != len(data):
            return status(0x6C00 | (len(data) & 0xFF))
        return status(apdu.SW_OK, data)


class UnknownCard(VirtualCard):
    """A card with no application the kiosk knows: every SELECT gets 6A82."""


def _with_overrides(cls, data: dict | None, what: str):
    """The default card data of ``cls`` with ``data``'s fields replaced; unknown fields are an error."""
    data = dict(data or {})
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {what} fields: {', '.join(sorted(unknown))}")
    return replace(cls(), **data)


# --- social security card ----------------------------------------------------
@dataclass
class SocialSecurityData:
    name: str = "王晓明"
    id_number: str = idnumber.make("32010219850612131")
    sex: str = ""                 # 男 / 女; derived from the ID number when empty
    nation_code: str = "01"       # GB 3304 (01 汉)
    birthplace: str = "320102"
    birth: str = ""               # YYYYMMDD; derived from the ID number when empty
    card_number: str = "D32010215"
    region_code: str = "320100"
    card_type: str = "1"
    version: str = "3.00"
    organisation: str = "320100000001"
    issue_date: str = "20210315"
    expiry: str = "20310315"

    @classmethod
    def from_dict(cls, data: dict | None) -> SocialSecurityData:
        return _with_overrides(cls, data, "social security card")

    def sex_code(self) -> str:
        if self.sex:
            return "1" if self.sex in ("男", "1", "M", "male") else "2"
        return "1" if int(self.id_number[16]) % 2 else "2"


def _pad(raw: bytes, size: int) -> bytes:
    if len(raw) > size:
        raise ValueError(f"{raw!r} longer than {size} bytes")
    return raw + b"\x00" * (size - len(raw))


class SocialSecurityCard(VirtualCard):
    kind = "social_security"
    atr = make_atr(b"SSCARD-CN3", t1=True)

    def __init__(self, data: SocialSecurityData | dict | None = None):
        self.data = data if isinstance(data, SocialSecurityData) else SocialSecurityData.from_dict(data)
        d = self.data
        birth = d.birth or d.id_number[6:14]
        self.records = {
            EF_CARD_INFO: {
                0x01: (d.region_code + "D156000005").encode("ascii"),
                0x02: d.card_type.encode("ascii"),
                0x03: d.version.encode("ascii"),
                0x04: apdu.bcd(d.organisation),
                0x05: apdu.bcd(d.issue_date),
                0x06: apdu.bcd(d.expiry),
                0x07: d.card_number.encode("ascii"),
            },
            EF_HOLDER_INFO: {
                0x08: d.id_number.encode("ascii"),
                0x09: _pad(d.name.encode("gbk"), 30),
                0x0A: _pad(b"", 20),
                0x0B: d.sex_code().encode("ascii"),
                0x0C: apdu.bcd(d.nation_code),
                0x0D: apdu.bcd(d.birthplace),
                0x0E: apdu.bcd(birth),
            },
        }
        super().__init__()

    def reset_state(self) -> None:
        self.app_selected = False
        self.current_ef: int | None = None

    def handle(self, cmd: Command) -> bytes:
        if cmd.cla != 0x00:
            return status(apdu.SW_CLA_NOT_SUPPORTED)
        if cmd.ins == apdu.INS_SELECT:
            return self._select(cmd)
        if cmd.ins == apdu.INS_READ_RECORD:
            return self._read_record(cmd)
        return status(apdu.SW_INS_NOT_SUPPORTED)

    def _select(self, cmd: Command) -> bytes:
        if cmd.p1 == 0x04:
            if cmd.data != SSC_AID:
                return status(apdu.SW_FILE_NOT_FOUND)
            self.app_selected, self.current_ef = True, None
            fci = tlv(0x6F, [tlv(0x84, SSC_AID), tlv(0xA5, [tlv(0x9F08, b"\x03")])])
            return self.answer(fci, cmd) if cmd.le is not None else status(apdu.SW_OK)
        if cmd.p1 in (0x00, 0x02) and len(cmd.data) == 2:
            fid = int.from_bytes(cmd.data, "big")
            if fid == 0x3F00:
                self.app_selected, self.current_ef = False, None
                return status(apdu.SW_OK)
            if self.app_selected and fid in self.records:
                self.current_ef = fid
                return status(apdu.SW_OK)
            return status(apdu.SW_FILE_NOT_FOUND)
        return status(apdu.SW_WRONG_P1P2)

    def _read_record(self, cmd: Command) -> bytes:
        if cmd.p2 != 0x04:  # only "record P1 of the current EF"
            return status(apdu.SW_WRONG_P1P2)
        if self.current_ef is None:
            return status(apdu.SW_NO_CURRENT_EF)
        value = self.records[self.current_ef].get(cmd.p1)
        if value is None:
            return status(apdu.SW_RECORD_NOT_FOUND)
        return self.answer(tlv(cmd.p1, value), cmd)


# --- bank card -----------------------------------------------------------------
@dataclass
class BankData:
    pan: str = apdu.luhn_complete("621700000012345678")
    expiry: str = "20301231"         # YYYYMMDD
    effective: str = "20201201"
    cardholder: str = "WANG/XIAOMING"
    service_code: str = "220"        # international, IC chip, normal authorisation
    aid: str = UNIONPAY_DEBIT.hex().upper()
    label: str = "UnionPay Debit"

    @classmethod
    def from_dict(cls, data: dict | None) -> BankData:
        return _with_overrides(cls, data, "bank card")

    def track2(self) -> bytes:
        digits = f"{self.pan}D{self.expiry[2:6]}{self.service_code}0000000000000"
        return bytes.fromhex(digits + ("F" if len(digits) % 2 else ""))


class BankCard(VirtualCard):
    kind = "bank"
    atr = make_atr(b"\x86\x38\x80\x31\x80PBOC", t1=False)
    t0 = True

    def __init__(self, data: BankData | dict | None = None):
        self.data = data if isinstance(data, BankData) else BankData.from_dict(data)
        d = self.data
        self.aid = bytes.fromhex(d.aid)
        entry = tlv(0x61, [tlv(0x4F, self.aid), tlv(0x50, d.label.encode("ascii")), tlv(0x87, b"\x01")])
        self.pse_records = {(1, 1): tlv(0x70, [entry])}
        self.app_records = {
            (1, 1): tlv(0x70, [tlv(0x57, d.track2()), tlv(0x5F20, d.cardholder.encode("ascii")),
                               tlv(0x9F1F, b"000000")]),
            (2, 1): tlv(0x70, [tlv(0x5A, apdu.bcd(d.pan)), tlv(0x5F24, apdu.bcd(d.expiry[2:])),
                               tlv(0x5F25, apdu.bcd(d.effective[2:])), tlv(0x5F28, b"\x01\x56"),
                               tlv(0x5F34, b"\x01"), tlv(0x9F07, b"\xFF\x00")]),
        }
        self.fci_pse = tlv(0x6F, [tlv(0x84, PSE), tlv(0xA5, [tlv(0x88, b"\x01"), tlv(0x5F2D, b"zhen")])])
        self.fci_ppse = tlv(0x6F, [tlv(0x84, PPSE), tlv(0xA5, [tlv(0xBF0C, [entry])])])
        self.fci_app = tlv(0x6F, [tlv(0x84, self.aid), tlv(0xA5, [
            tlv(0x50, d.label.encode("ascii")), tlv(0x87, b"\x01"), tlv(0x9F38, BANK_PDOL),
            tlv(0x5F2D, b"zhen"), tlv(0x9F11, b"\x01"), tlv(0x9F12, d.label.encode("ascii"))])])
        super().__init__()

    def reset_state(self) -> None:
        self.selected: str | None = None   # "pse" | "ppse" | "app"
        self.processing = False

    def handle(self, cmd: Command) -> bytes:
        if cmd.ins == apdu.INS_SELECT and cmd.cla == 0x00:
            return self._select(cmd)
        if cmd.ins == apdu.INS_READ_RECORD and cmd.cla == 0x00:
            return self._read_record(cmd)
        if cmd.ins == apdu.INS_GPO and cmd.cla == 0x80:
            return self._gpo(cmd)
        if cmd.cla not in (0x00, 0x80):
            return status(apdu.SW_CLA_NOT_SUPPORTED)
        return status(apdu.SW_INS_NOT_SUPPORTED)

    def _select(self, cmd: Command) -> bytes:
        if cmd.p1 != 0x04:
            return status(apdu.SW_FILE_NOT_FOUND)
        self.processing = False
        if cmd.data == PSE:
            self.selected = "pse"
            return self.answer(self.fci_pse, cmd)
        if cmd.data == PPSE:
            self.selected = "ppse"
            return self.answer(self.fci_ppse, cmd)
        # partial AID selection (EMV Book 1, 12.3.3): a prefix of at least 5 bytes
        if len(cmd.data) >= 5 and self.aid.startswith(cmd.data):
            self.selected = "app"
            return self.answer(self.fci_app, cmd)
        self.selected = None
        return status(apdu.SW_FILE_NOT_FOUND)

    def _read_record(self, cmd: Command) -> bytes:
        sfi = cmd.p2 >> 3
        if cmd.p2 & 0x07 != 0x04 or sfi == 0:
            return status(apdu.SW_WRONG_P1P2)
        table = {"pse": self.pse_records, "app": self.app_records}.get(self.selected or "")
        if table is None:
            return status(apdu.SW_NO_CURRENT_EF)
        record = table.get((sfi, cmd.p1))
        if record is None:
            return status(apdu.SW_RECORD_NOT_FOUND)
        return self.answer(record, cmd)

    def _gpo(self, cmd: Command) -> bytes:
        if self.selected != "app":
            return status(apdu.SW_NO_CURRENT_EF)
        try:
            items = apdu.parse_tlv(cmd.data)
        except apdu.ApduError:
            return status(apdu.SW_WRONG_DATA)
        wanted = sum(n for _, n in apdu.parse_dol(BANK_PDOL))
        if len(items) != 1 or items[0].tag != 0x83 or len(items[0].value) != wanted:
            return status(apdu.SW_WRONG_LENGTH)
        self.processing = True
        afl = bytes.fromhex("08010100" "10010100")  # SFI 1 rec 1, SFI 2 rec 1
        return self.answer(tlv(0x77, [tlv(0x82, b"\x7C\x00"), tlv(0x94, afl)]), cmd)


def make_card(kind: str, data: dict | None = None) -> VirtualCard:
    """A fresh card of ``kind`` (social_security | bank | unknown), fields overridden by ``data``."""
    if kind == "social_security":
        return SocialSecurityCard(data)
    if kind == "bank":
        return BankCard(data)
    if kind == "unknown":
        if data:
            raise ValueError("an unknown card takes no data")
        return UnknownCard()
    raise ValueError(f"unknown card kind {kind!r} (choose {', '.join(KINDS)})")

