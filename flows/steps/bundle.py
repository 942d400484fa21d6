"""Theme bundles (一件事一次办): several services done in one visit.

The bundle's flow (built by flows/catalog/bundles.py) shows what it covers,
identifies the resident once (card, one consent, face), asks its own shared
questions, then runs each member service with :meth:`Session.call`: the
member's own identification, receipts and rating are skipped and its plain
questions already answered are not asked again.  A member that cannot be done
(no record, a back-end down and "skip this service" tapped) is recorded as not
done and the next one follows.  The bundle then commits a case of its own
listing every member's outcome, shows the outcome and prints one receipt.

``s.data["bundle"]``: ``members`` (ids), ``index``, ``base`` (the data keys the
members share), ``items`` (shown and printed: service, outcome, status, ref,
done), ``record`` (kept in the case: service, done, ref, reason key) and
``outcome`` (completed, partial, not_done).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kiosk.core.i18n import text

from ..engine import Choice, Session, Step, text_dict
from .basic import ResultStep

OUTCOMES = {"all": "completed", "some": "partial", "none": "not_done"}


def _flow(s: Session, fid: str) -> Any:
    return s.flows.get(fid) or s.services.flow(fid)


class BundleOverviewStep(ResultStep):
    """What the bundle covers, one row per service; "start" goes on."""

    defaults: ClassVar[dict] = {"title": "bundle.overview.title", "prompt": "bundle.overview.prompt",
                                "actions": [Choice("next", "bundle.action.start")], "can_back": False}

    def enter(self, s: Session) -> None:
        Step.enter(self, s)
        s.data.update(self.options.get("preset") or {})   # answers the theme gives (e.g. purpose: retirement)
        rows = []
        for i, fid in enumerate(self.options["members"], 1):
            flow = _flow(s, fid)
            title = text(flow.title)
            rows.append({"label": {"key": None, "zh": f"{i}. {title.zh}", "en": f"{i}. {title.en}"},
                         "value": text_dict(flow.description or flow.title)})
        s.result = None
        s.set_result(status="ok", headline=text_dict(s.flow.title), rows=rows)

    def on_action(self, s: Session, action: str) -> bool:
        if action == "next":
            s.result = None   # the next screens are the identification's
        return super().on_action(s, action)


class BundleMembersStep(Step):
    """Runs the members one after the other; each returns here when it ends."""

    defaults: ClassVar[dict] = {"title": "flows.working.title", "history": False, "progress": False,
                                "can_back": False}

    def enter(self, s: Session) -> None:
        members = list(self.options["members"])
        run = s.data.get("bundle")
        if run is None:
            run = s.data["bundle"] = {"members": members, "index": 0, "items": [], "record": []}
            run["base"] = sorted(s.data)   # identity, consent, shared answers: kept for every member
        if run.get("current"):
            self._member_ended(s, run)
        if run["index"] >= len(members):
            done = sum(1 for r in run["record"] if r["done"])
            run["outcome"] = OUTCOMES["all" if done == len(members) else "some" if done else "none"]
            s.result = None
            s.go(self.next_step(s), cause="bundle_done")
            return
        fid = members[run["index"]]
        run["index"] += 1
        run["current"] = fid
        s.result = None
        title = text(s.flow.title)
        banner = {"zh": f"{title.zh} {run['index']}/{len(members)}", "en": f"{title.en} {run['index']}/{len(members)}"}
        s.journal_note("bundle_member", service=fid)
        s.call(_flow(s, fid), f"{s.flow.id}:{self.id}", banner)

    def _member_ended(self, s: Session, run: dict) -> None:
        fid = run.pop("current")
        failed = s.data.pop("call_failed", None)
        result = s.result or {}
        ref = s.data.get("case_ref") or ""
        done = not failed and (bool(ref) or result.get("status") == "ok")
        reason = (failed.as_dict() if failed is not None else None) or _headline(result) \
            or text("bundle.item.not_done_reason").as_dict()
        if done:
            outcome = text("bundle.item.done_ref", ref=ref) if ref else text("bundle.item.done")
        else:
            outcome = text("bundle.item.not_done", reason=reason["zh"], reason_en=reason["en"])
        run["items"].append({"service": text_dict(_flow(s, fid).title), "outcome": outcome.as_dict(), "done": done,
                             "ref": ref, "status": text_dict("printing.result.completed" if done
                                                             else "printing.result.not_done")})
        run["record"].append({"service": fid, "done": done, "ref": ref or None,
                              "reason": None if done else reason["key"]})
        s.delivered = s.delivered or bool(ref)
        s.journal_note("bundle_member_done" if done else "bundle_member_not_done", service=fid)
        base = set(run["base"])
        for key in [k for k in s.data if k not in base and k != "bundle"]:
            wipe = getattr(s.data[key], "wipe", None)
            if callable(wipe):
                wipe()
            del s.data[key]


def _headline(result: dict) -> dict | None:
    """Why a member ended without a case: its warning's headline ("no pension record")."""
    head = result.get("headline") if result.get("status") == "warn" else None
    return dict(head) if head else None


class BundleSummaryStep(ResultStep):
    """Every member's outcome; a partial failure is said in the headline."""

    defaults: ClassVar[dict] = {"title": "bundle.summary.title", "can_back": False, "can_cancel": False}

    def enter(self, s: Session) -> None:
        Step.enter(self, s)
        run = s.data["bundle"]
        done = sum(1 for r in run["record"] if r["done"])
        total = len(run["record"])
        key = {"completed": "bundle.summary.all", "partial": "bundle.summary.partial",
               "not_done": "bundle.summary.none"}[run["outcome"]]
        s.set_result(status="ok" if run["outcome"] == "completed" else "warn",
                     headline=text(key, done=done, total=total, left=total - done).as_dict(),
                     rows=[{"label": i["service"], "value": i["outcome"]} for i in run["items"]])


STEPS = {"bundle_overview": BundleOverviewStep, "bundle_members": BundleMembersStep,
         "bundle_summary": BundleSummaryStep}
