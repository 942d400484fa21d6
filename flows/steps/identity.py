"""Who is the resident: card reading, consent, face verification and the
non-face alternatives (staff-assisted, SMS one-time code)."""

from __future__ import annotations

import logging
import time
from typing import Any

from kiosk.core.i18n import text

from ..jobs import Job
from ..model import Choice, Field, Step, StepError
from ..services import CODE_EXPIRED, CODE_LOCKED, CODE_OK
from ..session import Session
from .resident_code import accept_code, start_code_scan

ROLES = ("applicant", "agent")
log = logging.getLogger(__name__)


def _role(step: Step) -> str:
    return step.options.get("role", "applicant")


class CardNotPresented(Exception):
    key = "flows.card.cancelled"


class ReadCardStep(Step):
    """Waits for a card on any accepted reader, reads it, checks it, and starts
    encoding the card photo in the background when a face step follows."""

    view = "insert_card"

    def __init__(self, id: str, **kw: Any):
        opts = kw.setdefault("options", {})
        role = opts.setdefault("role", "applicant")
        opts.setdefault("cards", ["idcard"])
        kw.setdefault("store", opts.pop("store", role))
        kw.setdefault("title", f"flows.read_card.title.{opts.get('who', role)}")
        kw.setdefault("prompt", "flows.read_card.prompt" + ("_either" if len(opts["cards"]) > 1 else ""))
        kw.setdefault("timeout_s", 60.0)
        kw.setdefault("agent_skip", role == "applicant" and not opts.get("who") and "bank" not in opts["cards"])
        kw.setdefault("devices", ["|".join(_family(c) for c in opts["cards"])])
        super().__init__(id, **kw)

    def enter(self, s: Session) -> None:
        sources = []
        for card in self.options["cards"]:
            dev = s.services.device(_family(card))
            if dev is not None and dev.status().usable:
                sources.append((card, dev))
        s.local["cards"] = [c for c, _ in sources]
        # The earlier person's card is usually still on the reader when this
        # step starts: it is not the card asked for, so wait until it is lifted.
        other = s.data.get(self.options.get("differs_from") or "")
        skip = getattr(other, "id_number", None)
        s.start_job("read_card", _read_card, sources, skip, person=True)
        if self.options.get("resident_code"):
            start_code_scan(s)

    def on_device(self, s: Session, event: dict) -> None:
        if event.get("event") == "card_present":
            s.set_hint("flows.read_card.reading")
        elif event.get("event") == "earlier_card":
            s.set_hint("flows.agency.take_agent_card")
        elif event.get("event") in ("scan_again", "code_scanned"):
            s.set_hint(f"resident_code.hint.{event['event']}")

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        if job.name == "resident_code":
            accept_code(self, s, result)
            return
        kind, identity = result
        problem = self.check_identity(s, identity)
        if problem is not None:
            identity.wipe()
            s.fail_here(None, retry=True, message=problem)
            return
        store = self.store
        s.data[store] = identity
        s.data[f"{store}_card"] = kind
        if isinstance(identity, dict):
            s.go(self.next_step(s), cause="card_read")
            return
        # (the card reader registered the name and numbers for log masking when it read them)
        if self.options.get("face") and identity.photo:
            # Encode the card photo now, while the person reads the consent text.
            verifier = s.services.face_verifier()
            if verifier is not None:
                s.data[f"{store}_id_face"] = verifier.encode_id_photo_async(identity.photo)
        s.go(self.next_step(s), cause="card_read")

    def check_identity(self, s: Session, identity: Any):
        if isinstance(identity, dict):  # a bank card: the driver already checked it
            return None
        problems = list(getattr(identity, "problems", []) or [])
        if identity.expired():
            problems.insert(0, "idcard.expired")
        blocking = [p for p in problems if p in ("idcard.simulated_photo", "idcard.expired", "idnumber.check_digit",
                                                   "idnumber.birth_date", "idnumber.format")]
        if blocking:
            return text("flows.read_card.rejected", reason=text(blocking[0]).zh, reason_en=text(blocking[0]).en)
        other = self.options.get("differs_from")
        if other and s.data.get(other) is not None and s.data[other].id_number == identity.id_number:
            return text("flows.agency.same_person")
        return None

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.fail_here(error, retry=True)


def _family(card: str) -> str:
    return "smartcard" if card in ("social_security", "bank") else "idcard"


def _read_card(job: Job, sources: list, skip_id: str | None = None) -> tuple[str, Any]:
    if not sources:
        raise CardNotPresented()
    errors: dict[str, BaseException] = {}
    told = False
    while not job.cancelled:
        for kind, dev in sources:
            try:
                present = dev.wait_for_card(0.25)
            except Exception as exc:
                if not getattr(exc, "key", None):
                    raise  # not a device error the resident can be told about: a fault
                errors[kind] = exc
                if len(errors) == len(sources):
                    raise
                job.wait(0.25)
                continue
            if not present:
                continue
            job.person_done()
            job.post({"type": "device", "event": "card_present", "reader": kind})
            if kind == "idcard":
                identity = dev.read_card()
                if skip_id and identity.id_number == skip_id:
                    identity.wipe()  # read again until another card lies there
                    job.person_again()
                    if not told:
                        job.post({"type": "device", "event": "earlier_card"})
                        told = True
                    job.wait(0.5)
                    continue
                return kind, identity
            if kind == "bank":
                return kind, dev.read_bank_card()
            return kind, dev.read_social_security()
    raise CardNotPresented()


class ConsentStep(Step):
    """Face recognition needs consent first; declining goes to the alternative."""

    view = "consent"

    defaults = {
        "title": "flows.consent.title",
        "prompt": "flows.consent.text",
        "choices": [Choice("agree", "flows.consent.agree"), Choice("decline", "flows.consent.decline")],
    }

    def tap(self, s: Session, action: str) -> bool:
        role = _role(self)
        if action == "agree":
            s.data[f"{role}_consent"] = True
            s.go(self.next_step(s), cause="consent")
            return True
        if action == "decline":
            s.data[f"{role}_consent"] = False
            s.go(self.options["other_step"], cause="declined")
            return True
        return False


class FaceStep(Step):
    """Liveness over a few seconds of frames, then one decision against the
    card photo, fused from several good frames (``FaceSession``: 3-5 frames
    that pass the quality gates; more while the distance is in the uncertain
    band).  At most ``face.max_attempts`` decided attempts, then only the
    alternatives remain."""

    view = "face"

    defaults = {
        "title": "flows.face.title",
        "prompt": "flows.face.prompt",
        "devices": ["camera"],
        "history": False,
    }

    def enter(self, s: Session) -> None:
        role = _role(self)
        if not s.data.get(f"{role}_consent") or s.data.get(f"{role}_face_exhausted"):
            s.go(self.options["other_step"], cause="no_face", push=False)
            return
        max_attempts = int(s.services.config_get("face.max_attempts", 3))
        used = s.data.get(f"{role}_face_attempts", 0)
        s.local["attempt"] = used + 1
        s.local["max_attempts"] = max_attempts
        fut = s.data.get(f"{role}_id_face")
        if fut is None:
            s.fail_here(None, message="flows.face.no_photo", actions=["other_way", "counter"])
            return
        s.start_job("face", _verify_face, s, role, fut, max_attempts, person=True)

    def on_device(self, s: Session, event: dict) -> None:
        if event.get("event") == "face_hint" and event.get("hint"):
            s.set_hint(event["hint"])

    def tap(self, s: Session, action: str) -> bool:
        if action == "other_way":
            s.go(self.options["other_step"], cause="other_way")
            return True
        return super().tap(s, action)

    def on_done(self, s: Session, job: Job, decision: Any) -> None:
        role = _role(self)
        if decision.match:
            s.data[f"{role}_verified"] = {"method": "face", "distance": round(decision.distance, 3),
                                          "frames": len(decision.frames)}
            s.services.face_outcome("match")
            s.go(self.next_step(s), cause="face_match")
            return
        if isinstance(decision, NotLive):
            s.set_hint(decision.reason)
            s.data[f"{role}_not_live"] = s.data.get(f"{role}_not_live", 0) + 1
        face_session = s.data.get(f"{role}_face_session")
        attempts = (face_session.attempts if face_session is not None else 0) + s.data.get(f"{role}_not_live", 0)
        s.data[f"{role}_face_attempts"] = attempts
        s.services.face_outcome("no_match")
        left = s.local["max_attempts"] - attempts
        s.journal_note("face_no_match", attempts=attempts)
        if left <= 0:
            s.data[f"{role}_face_exhausted"] = True
            s.go(self.options["other_step"], cause="face_exhausted")
            return
        s.fail_here(None, message=text("flows.face.no_match", left=left), actions=["retry", "other_way", "counter"])

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.fail_here(error, retry=True, actions=["retry", "other_way", "counter"])


class NotLive:
    """A liveness challenge that failed: counts as an attempt without a match."""

    match = False
    distance = None
    decided = True

    def __init__(self, reason: str):
        self.reason = reason


def _next_frame(job: Job, camera: Any, last_ts: Any, deadline: float):
    while not job.cancelled:
        got = camera.latest()
        if got is not None and got[1] != last_ts:
            return got
        if time.monotonic() > deadline:
            raise StepError("flows.face.no_frames")
        job.wait(0.02)
    return None


def _verify_face(job: Job, s: Session, role: str, fut: Any, max_attempts: int) -> Any:
    id_face = fut.result(timeout=30)
    face_session = s.data.get(f"{role}_face_session")
    if face_session is None:
        # counts compared attempts; frames refused by a quality gate are guidance only
        face_session = s.data[f"{role}_face_session"] = s.services.face_session(id_face, max_attempts)
    camera = s.services.device("camera")
    if camera is None:
        raise StepError("flows.face.no_camera")
    liveness = s.services.liveness_checker()
    last_ts = None
    if liveness is not None:
        # The challenge is the person's time: blink or turn while we watch.
        job.post({"type": "device", "event": "face_hint", "hint": liveness.prompt_key})
        while not liveness.done:
            got = _next_frame(job, camera, last_ts, time.monotonic() + 3.0)
            if got is None:
                return None
            last_ts = got[1]
            liveness.feed(got[0], last_ts)
        live, reason = liveness.result()
        if not live:
            return NotLive(reason)
    deadline = time.monotonic() + 10.0
    last_hint = None
    while not job.cancelled:
        got = _next_frame(job, camera, last_ts, deadline)
        if got is None:
            return None
        last_ts = got[1]
        job.person_done()
        decision = face_session.attempt(got[0])
        if decision.decided:  # an accept or reject fused from several good frames
            return decision
        hint = decision.quality[0] if decision.quality else None
        if hint and hint != last_hint:
            job.post({"type": "device", "event": "face_hint", "hint": hint})
            last_hint = hint
        if time.monotonic() > deadline:
            raise StepError(hint or "flows.face.timeout")
        job.machine_from = None  # waiting for a better frame is the person's time again
    return None


class OtherWayStep(Step):
    """The non-face alternative, required by the face recognition rules."""

    view = "choose"

    defaults = {
        "title": "flows.other_way.title",
        "prompt": "flows.other_way.prompt",
        "choices": [Choice("staff", "flows.other_way.staff", detail="flows.other_way.staff_detail"),
                    Choice("sms", "flows.other_way.sms", detail="flows.other_way.sms_detail")],
    }

    def enter(self, s: Session) -> None:
        role = _role(self)
        if s.data.get(f"{role}_face_exhausted"):
            s.set_message("flows.face.exhausted")
        # SMS only to the phone on record: ask central which (masked) number
        # that is; without one the SMS way is not offered
        s.data.pop(f"{role}_sms", None)
        id_number = getattr(s.data.get(role), "id_number", None)
        if id_number:
            s.start_job("phone_lookup", lambda job: s.services.phone_on_record(id_number))

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        if isinstance(result, dict) and result.get("on_record") and result.get("handle"):
            s.data[f"{_role(self)}_sms"] = {"handle": result["handle"], "masked": str(result.get("phone_masked", ""))}

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        log.warning("phone on record unavailable: SMS way not offered", extra={"reason": type(error).__name__})

    def get_choices(self, s: Session) -> list:
        choices = super().get_choices(s)
        if not s.data.get(f"{_role(self)}_sms"):
            choices = [c for c in choices if c.id != "sms"]
        return choices

    def tap(self, s: Session, action: str) -> bool:
        if action == "sms" and not s.data.get(f"{_role(self)}_sms"):
            return False
        target = {"staff": self.options["staff_step"], "sms": self.options["sms_step"]}.get(action)
        if target is None:
            return False
        s.go(target, cause=f"other_way:{action}")
        return True


class StaffStep(Step):
    """A staff member, called to the terminal on entering this step, confirms
    the person and enters their own staff id and PIN (never the technician PIN)."""

    view = "form"

    defaults = {
        "title": "flows.staff.title",
        "prompt": "flows.staff.prompt",
        "fields": [Field("staff_id", "text", max_length=16, replay_value="S000"),
                   Field("staff_pin", "pin", secret=True, max_length=12, replay_value="")],
        "timeout_s": 300.0,
    }

    def enter(self, s: Session) -> None:
        s.services.call_staff(reason="identity", service=s.flow.id)
        s.set_hint("flows.staff.called")

    def check(self, s: Session, values: dict) -> dict | None:
        who, message = s.services.verify_staff(values.get("staff_id", ""), values.pop("staff_pin"))
        if who is None:
            return {"staff_pin": message or text("flows.staff.wrong_pin")}
        s.data["staff_verifier"] = who
        return None

    def accept(self, s: Session) -> None:
        who = s.data.pop("staff_verifier")
        s.data[f"{_role(self)}_verified"] = {"method": "staff", "by": f"staff:{who}"}
        s.go(self.next_step(s), cause="staff_verified")


class SmsPhoneStep(Step):
    """The code goes to the phone on record only: shown masked (138****1234),
    the resident confirms; nobody can type another number."""

    view = "choose"
    MAX_SENDS = 3  # codes per session; central also limits per identity and terminal

    defaults = {
        "title": "flows.sms.title",
        "prompt": "flows.sms.send_prompt",
        "choices": [Choice("send", "flows.sms.send")],
    }

    def enter(self, s: Session) -> None:
        to = s.data.get(f"{_role(self)}_sms")
        if to:
            s.local["prompt"] = text("flows.sms.send_prompt", phone=to["masked"])

    def tap(self, s: Session, action: str) -> bool:
        to = s.data.get(f"{_role(self)}_sms")
        if action != "send" or not to:
            return False
        if s.data.get("sms_sends", 0) >= self.MAX_SENDS:
            s.set_message("flows.sms.too_many_sends")
            return True
        s.data["sms_sends"] = s.data.get("sms_sends", 0) + 1
        code, s.data["otp"] = s.services.one_time_code(s.clock)  # only a salted digest is kept
        s.start_job("send_code", lambda job: s.services.send_sms(to["handle"], text("flows.sms.message", code=code),
                                                                 masked=to["masked"]))
        return True

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        s.go(self.next_step(s), cause="code_sent")

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.fail_here(error, retry=True, message=text("flows.sms.send_failed"), actions=["retry", "counter"])


class SmsCodeStep(Step):
    view = "form"

    defaults = {
        "title": "flows.sms.title",
        "prompt": "flows.sms.code_prompt",
        "fields": [Field("code", "code", secret=True, max_length=6, replay_value="000000")],
    }

    def check(self, s: Session, values: dict) -> dict | None:
        otp = s.data.get("otp")
        code = values.pop("code")
        verdict = otp.check(code) if otp is not None else CODE_EXPIRED
        if verdict == CODE_OK:
            return None
        if verdict == CODE_EXPIRED:
            return {"code": text("flows.sms.expired")}
        if verdict == CODE_LOCKED:
            return {"code": text("flows.sms.too_many")}
        return {"code": text("flows.sms.wrong", left=otp.remaining_tries)}

    def accept(self, s: Session) -> None:
        s.data.pop("otp", None)
        s.data[f"{_role(self)}_verified"] = {"method": "sms"}
        s.go(self.next_step(s), cause="sms_verified")
