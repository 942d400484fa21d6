"""Generic steps: machine work, case commit, result, message, take paper, thanks."""

from __future__ import annotations

from typing import Any

from kiosk.core.i18n import text

from ..jobs import Job
from ..model import END, Choice, Step
from ..session import Session


class WorkStep(Step):
    """Machine work behind a "please wait" screen (a back-end query, rendering).

    ``options["run"](job, session) -> result`` runs off the caller's thread;
    the result is stored under ``store`` (default: the step id).
    Back skips over this screen."""

    view = "message"

    defaults = {
        "history": False,
        "progress": False,
        "title": "flows.working.title",
    }

    def enter(self, s: Session) -> None:
        s.local["busy_text"] = True
        s.start_job(self.id, self.options["run"], s)

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        s.data[self.store] = result
        then = self.options.get("then")
        if then is not None:
            then(s)
        s.go(self.next_step(s), cause=f"done:{job.name}")

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.fail_here(error, retry=True, message=_backend_message(error))


def _backend_message(error: BaseException):
    msg = getattr(error, "text", None) or getattr(error, "message", None)
    if msg is not None and hasattr(msg, "key"):
        return msg
    if isinstance(error, (ConnectionError, TimeoutError, OSError)):
        return text("flows.error.backend")
    return text("flows.error.backend")


class CommitStep(WorkStep):
    """Commit the case (once) before the resident is told it is done.

    ``options["case"](session) -> dict`` gives the commit arguments
    (applicant, result, document_hash, extra)."""

    defaults = {
        "can_cancel": False,
        "title": "flows.commit.title",
    }

    def enter(self, s: Session) -> None:
        if s.data.get("case_id"):
            s.go(self.next_step(s), cause="already_committed", push=False)
            return
        s.start_job(self.id, _commit_job, s, self.options["case"](s))

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        s.data["case_id"] = result["case_id"]
        s.data["case_ref"] = result["ref"]
        s.set_result(case_ref=result["ref"])
        s.journal_note("case_committed")
        s.go(self.next_step(s), cause="committed")

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        # Nothing was committed (the store commits case + outbox atomically).
        s.fail_here(error, retry=True, message=getattr(error, "message", None) or text("flows.error.store"))


def _commit_job(job: Job, s: Session, case: dict) -> dict:
    return commit_case(s, **case)


def commit_case(s: Session, *, service: str | None = None, applicant: Any = None, result: dict | None = None,
                document_hash: str | None = None, extra: dict | None = None, evaluation: dict | None = None) -> dict:
    """The single place a flow commits a case; agency is recorded as such."""
    extra = dict(extra or {})
    agent = None
    if s.data.get("on_behalf"):
        agent = s.data.get("agent")
        extra["on_behalf"] = {"relationship": s.data.get("relationship"), "agent_verified_by":
                              (s.data.get("agent_verified") or {}).get("method")}
    verified = s.data.get("applicant_verified") or s.data.get("agent_verified")
    if verified:
        extra["verified_by"] = verified.get("by") or verified.get("method")
        if verified.get("distance") is not None:
            extra["face_distance"] = verified["distance"]
    rec = s.services.commit_case(service=service or s.flow.id, applicant=applicant, result=result or {},
                                 document_hash=document_hash, agent=agent, extra=extra, evaluation=evaluation)
    return {"case_id": rec.case_id, "ref": rec.ref}


class MessageStep(Step):
    view = "message"

    defaults = {
        "actions": [Choice("ok", "flows.action.ok")],
    }

    def enter(self, s: Session) -> None:
        super().enter(s)
        show = self.options.get("show")
        if show is not None:
            show(s)


class ResultStep(MessageStep):
    """Shows what the back-end said; ``options["show"](session)`` fills
    ``session.result`` and may set ``session.local["actions"]``."""

    view = "result"

    defaults = {
        "actions": [Choice("next", "flows.action.continue")],
    }

    def enter(self, s: Session) -> None:
        super().enter(s)
        if self.view == "preview" and not s.local.get("preview"):
            s.local["view"] = "result"   # no document to show: the rows are what the resident checks


class TakePaperStep(Step):
    view = "take_paper"
    on_call = "skip"    # a bundle's member: papers are taken once, at the end

    defaults = {
        "title": "flows.take_paper.title",
        "prompt": "flows.take_paper.prompt",
        "actions": [Choice("ok", "flows.action.took_paper")],
        "auto_s": 12.0,
        "can_back": False,
        "can_cancel": False,   # the service is given: nothing left to cancel
    }

    def enter(self, s: Session) -> None:
        s.delivered = True
        # "take your cards back" only when a card was read in this session
        if self.prompt == "flows.take_paper.prompt" and not any(k.endswith("_card") for k in s.data):
            s.local["prompt"] = "flows.take_paper.prompt_no_card"


class ThanksStep(Step):
    """The end state: a short thank-you, then the session is wiped."""

    view = "message"
    on_call = "return"

    defaults = {
        "title": "flows.thanks.title",
        "prompt": "flows.thanks.prompt",
        "actions": [Choice("finish", "flows.action.finish")],
        "auto_s": 6.0,
        "can_back": False,
        "can_cancel": False,
        "final": True,
        "progress": False,
        "next": END,
    }

    def enter(self, s: Session) -> None:
        s.delivered = s.delivered or bool(s.data.get("case_id"))

    def on_action(self, s: Session, action: str) -> bool:
        s.finish("completed", cause="finish")
        return True

    def on_auto(self, s: Session) -> None:
        s.finish("completed", cause="auto")
