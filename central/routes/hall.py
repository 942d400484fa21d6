"""The sandbox back-ends of the hall's data-driven services (contract:
``/v1/services/hall/{dataset}/query`` and ``.../applications`` in openapi.yaml).

One route pair serves every data set in ``hall_datasets.yaml``: a new service
adds a data set there and its name to the contract's ``HallDataset`` enum."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .. import hall_data
from ..common import err, idem_key, json_body, sandbox

router = APIRouter()

_ID = re.compile(r"^[0-9A-Za-z]{15,18}$")
_VALUE = re.compile(r"^[^\x00-\x1f\x7f]{0,64}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_FIELDS = 16


async def _body(request: Request) -> dict | JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        return err(400, "invalid_request", f"the body is an object of at most {MAX_FIELDS} fields")
    for value in data.values():
        if isinstance(value, bool) or not isinstance(value, (str, int)) or \
                (isinstance(value, str) and not _VALUE.fullmatch(value)) or \
                (isinstance(value, int) and not -10 ** 9 <= value <= 10 ** 9):
            return err(400, "invalid_request", "every field is a short text or a number")
    # only lower-case field names are ever read: anything else is ignored
    data = {k: v for k, v in data.items() if _FIELD.fullmatch(k)}
    if "id_number" in data and not (isinstance(data["id_number"], str) and _ID.fullmatch(data["id_number"])):
        return err(400, "invalid_request", "id_number: 15 to 18 letters or digits")
    return data


def _today(request: Request) -> dt.date:
    return dt.datetime.fromtimestamp(sandbox(request).clock()).date()


def _check(dataset: str, body: dict, kind: str | None = None) -> JSONResponse | None:
    if dataset not in hall_data.names(kind):
        return err(404, "not_found", "no such data set")
    missing = [f for f in hall_data.datasets()[dataset].get("key", ["id_number"]) if f not in body]
    if missing:
        return err(422, "missing_field", f"this data set is keyed by {', '.join(missing)}")
    return None


@router.post("/v1/services/hall/{dataset}/query")
async def hall_query(dataset: str, request: Request):
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    refused = _check(dataset, body)
    if refused is not None:
        return refused
    return hall_data.query(dataset, body, _today(request))


@router.post("/v1/services/hall/{dataset}/applications", status_code=201)
async def hall_apply(dataset: str, request: Request):
    key = idem_key(request)
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    refused = _check(dataset, body, "apply")
    if refused is not None:
        return refused
    return hall_data.apply(dataset, body, key, _today(request))
