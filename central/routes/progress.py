"""Case progress: a holder's cases from every terminal, or one case by its reference."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from ..common import BadRequest, In, err, json_body, sandbox, validate
from ..progress import progress_for

router = APIRouter()


class ProgressQuery(In):
    # absent is fine, null is not
    id_number: str = Field(default=None, pattern=r"^[0-9]{17}[0-9Xx]$")
    ref: str = Field(default=None, min_length=1, max_length=128)


@router.post("/v1/progress")
async def case_progress(request: Request):
    q = validate(ProgressQuery, await json_body(request))
    if (q.id_number is None) == (q.ref is None):
        raise BadRequest("give either id_number or ref")
    progress = await run_in_threadpool(progress_for, sandbox(request))
    if q.ref is not None:
        one = await run_in_threadpool(progress.by_ref, q.ref)
        if one is None:
            return err(404, "not_found", "no case with this reference")
        return {"cases": [one]}
    return {"cases": await run_in_threadpool(progress.of_holder, q.id_number)}
