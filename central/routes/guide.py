"""The service guide (办事指南) the platform pushes to terminals: the newest
version, signed with the config-signing key (terminals check it like remote
configuration and keep their last good copy). Its table, ``guide_versions``,
comes with schema migration 4."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from kiosk.core.remote_config import sign_document

from ..common import err, sandbox

router = APIRouter()
def newest(sb) -> dict | None:
    with sb.db.read() as tx:
        row = tx.one("SELECT version, content FROM guide_versions ORDER BY version DESC LIMIT 1")
    if row is None:
        return None
    issued = dt.datetime.fromtimestamp(sb.clock(), dt.UTC).isoformat(timespec="seconds")
    return sign_document({"version": int(row[0]), "issued_at": issued, "content": json.loads(row[1])},
                         sb._signing_key)


def publish(sb, content: dict) -> int:
    with sb.db.transaction() as tx:
        version = (tx.one("SELECT MAX(version) FROM guide_versions")[0] or 1) + 1
        tx.run("INSERT INTO guide_versions(version, content, created_at) VALUES (?,?,?)",
               (version, json.dumps(content, ensure_ascii=False), sb.clock()))
    return version


@router.get("/v1/guide")
async def guide(request: Request):
    doc = await run_in_threadpool(newest, sandbox(request))
    return doc if doc is not None else err(404, "not_found", "no guide was published: terminals use their own")
