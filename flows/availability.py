"""Whether a service can be offered now: every device family and back-end it
needs must be usable, and a resident is told why in plain words when not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.core.i18n import Text, text

from .model import Flow


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reasons: list[Text]):
        self.service = service
        self.reasons = reasons
        super().__init__(f"{service} unavailable: " + "; ".join(r.en for r in reasons))


@dataclass
class Availability:
    ok: bool
    reasons: list[Text] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"available": self.ok, "reasons": [r.as_dict() for r in self.reasons]}


def resident_reason(status: Any) -> Text:
    """Why a device cannot serve, in a resident's words: "out of paper" says
    what anyone can see; anything else is "under maintenance" (the
    technician's detail stays in diagnostics and the log)."""
    detail = getattr(status, "detail", None) or {}
    if detail.get("paper") == "out":
        return text("flows.reason.paper_out")
    return text("flows.reason.maintenance")


def check_availability(flow: Flow, services: Any) -> Availability:
    """Every device family and back-end the flow needs must be usable now.

    ``services.device_status(family)`` returns the best DeviceStatus of that
    family (or None when none is configured); ``services.backend_status(name)``
    returns (ok, reason Text or None)."""
    reasons: list[Text] = []
    for need in flow.devices:
        options = need.split("|")
        statuses = [(fam, services.device_status(fam)) for fam in options]
        if any(st is not None and st.usable for _, st in statuses):
            continue
        for fam, st in statuses[:1] if len(options) == 1 else statuses:
            if st is None:
                reasons.append(text("flows.unavailable.no_device", device=text(f"flows.device.{fam}").zh,
                                    device_en=text(f"flows.device.{fam}").en))
            else:
                why = resident_reason(st)
                reasons.append(text("flows.unavailable.device", device=text(f"flows.device.{fam}").zh,
                                    device_en=text(f"flows.device.{fam}").en, reason=why.zh, reason_en=why.en))
    for backend in flow.backends:
        ok, why = services.backend_status(backend)
        if not ok:
            reasons.append(why or text(f"flows.unavailable.{backend}"))
    return Availability(not reasons, reasons)
