"""Reusable step types.  The catalog (flows/catalog/*.yaml) names them with
``use:``; anything else is a plain :class:`flows.model.Step` described by data.
"""

from __future__ import annotations

from .basic import CommitStep, MessageStep, ResultStep, TakePaperStep, ThanksStep, WorkStep
from .bundle import STEPS as BUNDLE_STEPS
from .doors import DOORS_STEPS
from .evaluation import EvaluationStep
from .hall import STEPS as HALL_STEPS
from .identity import ConsentStep, FaceStep, OtherWayStep, ReadCardStep, SmsCodeStep, SmsPhoneStep, StaffStep
from .payment import PaymentStep
from .printing import PrintStep

STEP_TYPES = {
    "work": WorkStep,
    "commit": CommitStep,
    "message": MessageStep,
    "result": ResultStep,
    "take_paper": TakePaperStep,
    "thanks": ThanksStep,
    "evaluation": EvaluationStep,
    "read_card": ReadCardStep,
    "consent": ConsentStep,
    "face": FaceStep,
    "other_way": OtherWayStep,
    "staff": StaffStep,
    "sms_phone": SmsPhoneStep,
    "sms_code": SmsCodeStep,
    "payment": PaymentStep,
    "print": PrintStep,
    **HALL_STEPS,   # data-driven steps of services without code of their own
}

STEP_TYPES.update(DOORS_STEPS)
STEP_TYPES.update(BUNDLE_STEPS)  # theme bundles (flows/catalog/bundles.py)  # scan (receipts, appointment slips)

__all__ = ["STEP_TYPES"]
