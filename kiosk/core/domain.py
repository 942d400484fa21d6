"""Domain types shared by devices, flows, printing and the case store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .masking import mask_mapping

# card_type values
RESIDENT = "resident"                      # 居民身份证
HMT_RESIDENCE = "hmt_residence"            # 港澳台居民居住证 ('J')
FOREIGNER_PERMANENT = "foreigner_permanent"  # 外国人永久居留身份证, old layout ('I')
FOREIGNER_PERMANENT_2023 = "foreigner_permanent_2023"  # 2023 layout ('Y')
SOCIAL_SECURITY = "social_security"        # 社会保障卡 (PC/SC)


@dataclass
class Identity:
    """A person as read from a card. Holds personal data: never log it raw
    (use ``masked()``), and call ``wipe()`` when the session ends."""

    name: str
    id_number: str
    sex: str = ""                # human text: 男 / 女
    nation: str = ""             # 汉 ... or nationality for foreigners
    birth: dt.date | None = None
    address: str = ""
    authority: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None   # None with long_term=True means 长期
    long_term: bool = False
    card_type: str = RESIDENT
    photo_wlt: bytes | None = None    # raw card photo (WLT)
    photo: bytes | None = None        # decoded image (BMP/PNG bytes), memory only
    photo_decoded: bool = False
    extra: dict = field(default_factory=dict)   # english name, pass number, card number...
    problems: list[str] = field(default_factory=list)  # catalog keys: idnumber.check_digit, idcard.expired...

    def expired(self, today: dt.date | None = None) -> bool:
        if self.long_term or self.valid_to is None:
            return False
        return self.valid_to < (today or dt.date.today())

    def as_dict(self, reveal: bool = False) -> dict:
        d = {
            "name": self.name,
            "sex": self.sex,
            "nation": self.nation,
            "birth": self.birth.isoformat() if self.birth else "",
            "address": self.address,
            "id_number": self.id_number,
            "authority": self.authority,
            "valid_from": self.valid_from.isoformat() if self.valid_from else "",
            "valid_to": "长期" if self.long_term else (self.valid_to.isoformat() if self.valid_to else ""),
            "card_type": self.card_type,
            "photo_decoded": self.photo_decoded,
        }
        if self.extra:
            d["extra"] = dict(self.extra)
        if self.problems:
            d["problems"] = list(self.problems)
        if not reveal:
            d = mask_mapping(d)  # the one policy: birth, authority and issue date hidden
        return d

    def masked(self) -> dict:
        return self.as_dict(reveal=False)

    def wipe(self) -> None:
        """Drop personal data from this object (best effort in Python)."""
        self.name = self.id_number = self.address = self.authority = ""
        self.photo_wlt = self.photo = None
        self.extra = {}
        self.birth = None
