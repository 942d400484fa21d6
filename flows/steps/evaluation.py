"""好差评: the five-level service evaluation at the end of every flow.

Levels follow the case store: 5 非常满意 (very satisfied) ... 1 非常不满意
(very dissatisfied); the two bad levels ask for reasons.  One rating per
case: a flow that made no case (an enquiry) stores its rating with a small
enquiry case of its own.
"""

from __future__ import annotations

from typing import Any

from kiosk.core.i18n import text

from ..jobs import Job
from ..model import Choice, Field, Step
from ..session import Session
from .basic import commit_case

LEVELS = (5, 4, 3, 2, 1)
BAD_LEVELS = (2, 1)
REASONS = ("slow", "device", "unclear", "result", "privacy", "other")


class EvaluationStep(Step):
    view = "evaluation"
    on_call = "return"   # a bundle's member: one rating at the end of the bundle

    defaults = {
        "title": "flows.evaluation.title",
        "prompt": "flows.evaluation.prompt",
        "can_back": False,
        "can_cancel": False,   # after the service; "skip" leaves it
        "progress": False,     # not a step of the service itself
        "timeout_s": 45.0,
        "actions": [Choice("skip", "flows.evaluation.skip")],
        "fields": [Field("comment", "text", required=False, max_length=200, personal=True,
                         replay_value="")],
    }

    def skip(self, s: Session) -> bool:
        return bool(s.data.get("evaluated"))

    def get_choices(self, s: Session) -> list[Choice]:
        if s.local.get("level") in BAD_LEVELS:
            return [Choice(f"reason_{r}", f"flows.evaluation.reason.{r}") for r in REASONS]
        return [Choice(f"level_{n}", f"flows.evaluation.level.{n}") for n in LEVELS]

    def extra_state(self, s: Session) -> dict:
        level = s.local.get("level")
        out: dict = {"multi": level in BAD_LEVELS}
        if level in BAD_LEVELS:
            selected = s.local.get("selected", [])
            out["choices"] = [c.as_dict(c.id in selected) for c in self.get_choices(s)]
            out["prompt"] = text("flows.evaluation.why", level=text(f"flows.evaluation.level.{level}").zh,
                                 level_en=text(f"flows.evaluation.level.{level}").en).as_dict()
            out["actions"] = [{"id": "back_to_levels", "label": text("flows.evaluation.change").as_dict()}]
        else:
            out["fields"] = []
        return out

    def tap(self, s: Session, action: str) -> bool:
        if s.local.get("busy_saving"):
            return True
        if action == "skip":
            s.journal_note("evaluation_skipped")
            s.go(self.next_step(s), cause="skip")
            return True
        if action == "back_to_levels":
            s.local.pop("level", None)
            s.local.pop("selected", None)
            return True
        if action.startswith("level_") and action[6:].isascii() and action[6:].isdigit() and int(action[6:]) in LEVELS:
            level = int(action[6:])
            s.local["level"] = level
            s.local["selected"] = []
            if level not in BAD_LEVELS:
                self._save(s, level, [], None)
            return True
        if action.startswith("reason_") and s.local.get("level") in BAD_LEVELS:
            selected = s.local.setdefault("selected", [])
            reason = action[7:]
            if reason in REASONS:
                selected.remove(reason) if reason in selected else selected.append(reason)
                s.local.get("errors", {}).pop("reasons", None)
            return True
        return False

    def submit(self, s: Session) -> None:
        level = s.local.get("level")
        if level not in BAD_LEVELS:
            s.local["errors"] = {"level": text("flows.evaluation.choose_level")}
            return
        reasons = list(s.local.get("selected", []))
        if not reasons:
            s.local["errors"] = {"reasons": text("flows.evaluation.reason_required")}
            return
        comment = (s.local.get("values", {}).get("comment") or "").strip() or None
        self._save(s, level, reasons, comment)

    def _save(self, s: Session, level: int, reasons: list[str], comment: str | None) -> None:
        s.local["busy_saving"] = True
        s.start_job("save_evaluation", _save_evaluation, s, level, reasons, comment)

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        s.data["evaluated"] = True
        s.set_result(evaluation=result.get("level"))
        s.journal_note("evaluated")
        s.go(self.next_step(s), cause="evaluated")

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        # A rating that cannot be stored must not hold the person: say so and go on.
        s.local.pop("busy_saving", None)
        s.journal_note("evaluation_not_saved", error=getattr(error, "key", type(error).__name__))
        s.data["evaluated"] = True
        s.go(self.next_step(s), cause="evaluation_failed")

    def on_timeout(self, s: Session) -> None:
        s.finish("completed" if s.delivered or s.data.get("case_id") else "timeout", cause="idle")


def _save_evaluation(job: Job, s: Session, level: int, reasons: list[str], comment: str | None) -> dict:
    case_id = s.data.get("case_id")
    if case_id:
        return s.services.set_evaluation(case_id, level, reasons, comment)
    # No case yet (an enquiry without a result to keep): the rating is stored with an enquiry case.
    applicant = s.data.get("applicant")
    rec = commit_case(s, applicant=applicant, result={"status": "enquiry"},
                      evaluation={"level": level, "reasons": reasons, "comment": comment})
    return {"case_id": rec["case_id"], "level": level, "via": "enquiry"}
