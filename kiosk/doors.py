"""Back-end operations of the hall's other front doors (resident code,
progress lookup, appointments, service guide, complaints), called by flow
steps through ``KioskApp.backend(op, **kw)``.

Each operation talks to central over the contract and says what it does when
central is unreachable (``offline`` in its answer, or a fallback).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.core import resident_code as rc
from kiosk.core.domain import Identity

log = logging.getLogger(__name__)

EMBEDDED_KEY = "central/resident-code.pub"   # where the embedded sandbox publishes its key


def resident_code_keys(config) -> list:
    """The pinned platform key (``resident_code.public_key``); in demo with the
    embedded sandbox, the sandbox's own key.  Empty: codes cannot be checked."""
    path = config.get("resident_code.public_key", "")
    if not path and str(config.get("central.url", "")).startswith("embedded:"):
        embedded = Path(os.path.expanduser(config.get("data.dir"))) / EMBEDDED_KEY
        path = str(embedded) if embedded.exists() else ""
    if not path:
        return []
    try:
        return [rc.load_public_key(Path(os.path.expanduser(path)).read_bytes())]
    except (OSError, TypeError, ValueError) as exc:
        log.warning("resident-code key unreadable", extra={"reason": str(exc)})
        return []


class ResidentCodeChecker:
    """Offline signature and expiry check, then central's single-use nonce
    check when central answers.  Nonces seen here are remembered until their
    code expired, so a replay at this terminal is refused even offline."""

    def __init__(self, config, central: Callable[[], Any], clock: Callable[[], float] = time.time):
        self.config = config
        self.central = central
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def available(self) -> bool:
        return bool(resident_code_keys(self.config))

    def check(self, text: str) -> tuple[Identity, bool]:
        """(identity, checked online) or ResidentCodeError."""
        now = self.clock()
        keys = resident_code_keys(self.config)
        if not keys:
            raise rc.ResidentCodeError("resident_code.unavailable", "no resident-code key is configured")
        claims = rc.verify(text, keys, now)
        with self._lock:
            self._seen = {n: exp for n, exp in self._seen.items() if exp + rc.CLOCK_SKEW_S >= now}
            if claims.nonce in self._seen:
                raise rc.ResidentCodeError("resident_code.replayed", "nonce already used at this terminal")
            self._seen[claims.nonce] = float(claims.expires_at)
        online = self._redeem(text)
        identity = Identity(name=claims.name, id_number=claims.id_number, card_type="resident_code",
                            extra={"verified_by": "resident_code", "online": online})
        return identity, online

    def _redeem(self, text: str) -> bool:
        from offline_cache.client import CentralRejected, CentralUnavailable

        client = self.central()
        if client is None:
            return False
        try:
            client.call("POST", "/v1/identity/resident-code", json_body={"code": text})
            return True
        except CentralUnavailable as exc:
            log.info("resident code checked offline only", extra={"reason": exc.detail})
            return False
        except CentralRejected as exc:
            if exc.code in ("replayed", "expired", "forged", "malformed"):
                raise rc.ResidentCodeError(f"resident_code.{exc.code}", exc.detail) from None
            raise


REFUSALS = ("slot_full", "slot_past", "already_booked", "no_appointment_today", "too_late", "not_found",
            "not_booked", "no_such_slot")


class Refused(Exception):
    """Central said no for a reason the resident can act on; ``text`` says it (zh/en)."""

    def __init__(self, key: str):
        from kiosk.core.i18n import text

        self.key = key
        self.text = text(key)
        super().__init__(self.text.en)


class Doors:
    """The operations, bound to one ``KioskApp`` (devices, store, central)."""

    def __init__(self, app):
        self.app = app
        if getattr(app, "embedded", None) is not None:
            # demo: the embedded sandbox makes its resident-code key now, so its
            # public half is there to pin before the first code is issued
            from central.resident_codes import codes_for

            codes_for(app.embedded.sandbox)
        self.codes = ResidentCodeChecker(app.config, lambda: app.central)
        self.ops: dict[str, Callable[..., Any]] = {
            "resident_code": self.resident_code,
            "resident_code_ready": lambda: self.codes.available(),
            "progress": self.progress,
            "appointment_slots": lambda business: self._central(
                "GET", f"/v1/appointments/slots?business={business}")["slots"],
            "appointment_book": lambda slot_id, id_number: self._central(
                "POST", "/v1/appointments", {"slot_id": slot_id, "id_number": id_number}),
            "appointment_mine": lambda id_number: self._central(
                "POST", "/v1/appointments/mine", {"id_number": id_number})["appointments"],
            "appointment_cancel": lambda appointment_id, id_number: self._central(
                "POST", f"/v1/appointments/{appointment_id}/cancel", {"id_number": id_number}),
            "appointment_reschedule": lambda appointment_id, id_number, slot_id: self._central(
                "POST", f"/v1/appointments/{appointment_id}/reschedule", {"id_number": id_number, "slot_id": slot_id}),
            "appointment_check_in": self.check_in,
            "guide": lambda: self.guide.current(refresh=True),
        }
        self.guide = GuideStore(app.config, lambda: app.central)

    def call(self, op: str, **kw: Any) -> Any:
        return self.ops[op](**kw)

    def resident_code(self, text: str) -> dict:
        identity, online = self.codes.check(text)
        return {"identity": identity, "online": online}

    def _central(self, method: str, path: str, body: dict | None = None) -> Any:
        """One call to central; a refusal with a reason the resident can act on
        becomes ``Refused`` with that reason's message (doors.refused.<code>)."""
        from offline_cache.client import (
            CentralAuthError,
            CentralRejected,
            CentralUnavailable,
        )

        if self.app.central is None:
            raise CentralUnavailable("no central client")
        try:
            return self.app.central.call(method, path, json_body=body)
        except CentralAuthError:
            raise
        except CentralRejected as exc:
            if exc.code in REFUSALS:
                raise Refused(f"doors.refused.{exc.code}") from None
            raise

    def check_in(self, code: str | None = None, id_number: str | None = None, business: str | None = None) -> dict:
        """A priority ticket for today's appointment; central unreachable: a
        normal ticket (offline block) for the slip's business, with a note."""
        from offline_cache.client import CentralUnavailable

        try:
            body = {"code": code} if code else {"id_number": id_number}
            return {**self._central("POST", "/v1/appointments/check-in", body), "offline": False}
        except CentralUnavailable as exc:
            log.warning("appointment check-in offline: normal ticket", extra={"reason": exc.detail})
        if not business:
            return {"offline": True, "number": None}
        b = next((x for x in self.app.queue_businesses() if x["code"] == business), None)
        if b is None:
            return {"offline": True, "number": None}
        t = self.app.queue_number(b)
        return {"offline": True, "number": t["number"], "business": business, "name_zh": b["name_zh"],
                "name_en": b.get("name_en", ""), "counters": b.get("counters", ""), "priority": False}

    # -- progress lookup --------------------------------------------------------------
    def progress(self, id_number: str | None = None, ref: str | None = None) -> dict:
        """``{cases: [...], offline}``: central's view of the holder's cases (every
        terminal), plus this terminal's cases central has not received yet;
        offline only this terminal's store."""
        from offline_cache.client import CentralRejected, CentralUnavailable

        local = self._local_cases(id_number, ref)
        client = self.app.central
        try:
            if client is None:
                raise CentralUnavailable("no central client")
            body = {"ref": ref} if ref else {"id_number": id_number}
            cases = client.call("POST", "/v1/progress", json_body=body)["cases"]
        except CentralUnavailable as exc:
            log.info("progress from this terminal only", extra={"reason": exc.detail})
            return {"cases": local, "offline": True}
        except CentralRejected as exc:
            if exc.status != 404:
                raise
            cases = []
        known = {c["ref"] for c in cases}
        return {"cases": [c for c in local if c["ref"] not in known] + cases, "offline": False}

    def _local_cases(self, id_number: str | None, ref: str | None) -> list[dict]:
        store = self.app.store
        if store is None:
            return []
        if ref:
            found = store.find_by_ref(ref)
            return [_local_view(found)] if found else []
        out = []
        for case in store.list_cases(limit=LOCAL_SCAN):
            full = store.get_case(case["case_id"], reveal=True) or {}
            holder = ((full.get("body") or {}).get("applicant") or {}).get("id_number")
            if holder and holder.upper() == (id_number or "").upper():
                out.append(_local_view(case))
            full.clear()
        return out


class GuideStore:
    """The service guide in force: the newest signed copy central pushed (checked
    with the remote-configuration key, kept on disk as the last good copy), or
    the shipped one.  A document that fails any check is ignored, with a log line."""

    REFRESH_S = 600.0

    def __init__(self, config, central: Callable[[], Any]):
        self.config = config
        self.central = central
        self.path = config.data_dir / "guide" / "guide.json"
        self._checked = 0.0
        self._lock = threading.Lock()

    def _verified(self, doc: Any) -> dict:
        import base64

        from cryptography.exceptions import InvalidSignature

        from flows.guide import problem
        from kiosk.core.remote_config import canonical, trusted_keys_from_config

        if not isinstance(doc, dict) or not isinstance(doc.get("version"), int):
            raise ValueError("no version")
        signature = base64.b64decode(str(doc.get("signature") or ""), validate=True)
        for key in trusted_keys_from_config(self.config):
            try:
                key.verify(signature, canonical(doc))
                break
            except InvalidSignature:
                continue
        else:
            raise ValueError("signature does not verify with the platform key")
        why = problem(doc.get("content"))
        if why:
            raise ValueError(why)
        return doc

    def _stored(self) -> dict | None:
        try:
            return self._verified(json.loads(self.path.read_text("utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("stored guide ignored", extra={"reason": str(exc)})
            return None

    def current(self, refresh: bool = False) -> dict:
        """``{version, entries, source: shipped|central}``."""
        from flows.guide import shipped

        with self._lock:
            if refresh and time.monotonic() - self._checked >= self.REFRESH_S:
                self._checked = time.monotonic()
                self._pull()
            stored = self._stored()
        base = shipped()
        if stored is not None and stored["version"] > base["version"]:
            return {"version": stored["version"], "entries": stored["content"]["entries"], "source": "central"}
        return {**base, "source": "shipped"}

    def _pull(self) -> None:
        from offline_cache.client import CentralError

        client = self.central()
        if client is None:
            return
        try:
            doc = self._verified(client.call("GET", "/v1/guide"))
        except CentralError as exc:
            log.info("guide not refreshed", extra={"reason": exc.detail})
            return
        except (ValueError, TypeError) as exc:
            log.warning("guide from central refused, keeping the last good copy", extra={"reason": str(exc)})
            return
        old = self._stored()
        if old is not None and old["version"] >= doc["version"]:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        log.info("guide updated", extra={"version": doc["version"]})


LOCAL_SCAN = 500   # newest cases of this terminal searched by holder (retention keeps the store small)


def _local_view(case: dict) -> dict:
    """A case of this terminal's store in central's progress shape."""
    timeline = [{"at": case["created_at"], "code": "submitted", "terminal_id": case.get("ref", "").rsplit("-", 2)[0]}]
    if case.get("acked_at"):
        timeline.append({"at": case["acked_at"], "code": "received"})
    return {"ref": case["ref"], "service": case["service"], "created_at": case["created_at"],
            "status": "sent" if case.get("acked_at") else "not_sent", "timeline": timeline, "local": True}


def doors_for(app) -> Doors:
    doors = getattr(app, "_doors", None)
    if doors is None:
        doors = app._doors = Doors(app)
    return doors


def handles(op: str) -> bool:
    return op in OPS


OPS = frozenset({"resident_code", "resident_code_ready", "progress", "appointment_slots", "appointment_book",
                 "appointment_mine", "appointment_cancel", "appointment_reschedule", "appointment_check_in",
                 "guide"})
