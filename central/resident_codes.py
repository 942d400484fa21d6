"""Resident codes (居民码) on the platform: the signing key, redemption with a
single-use nonce, and (demo only) issuing codes for the sandbox's residents.

A terminal verifies a code offline against the pinned public key, then
redeems it here when central is reachable: the nonce goes into
``resident_code_nonces`` under a primary key, so a code is accepted once on
the whole platform, whichever terminal and server process sees it first.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core import resident_code as rc
from kiosk.core.masking import mask_id_number

from .auth import load_signing_key
from .db import IntegrityError

log = logging.getLogger(__name__)

KEY_FILE, PUB_FILE = "resident-code.key", "resident-code.pub"
KEEP_S = 3600.0   # nonces are kept this long after their code expired (then no code can be replayed)


def signing_key(state_dir: Path) -> Ed25519PrivateKey:
    """The platform's resident-code key (created once; 0600), its public half beside it."""
    return load_signing_key(state_dir / KEY_FILE, state_dir / PUB_FILE)


class ResidentCodes:
    def __init__(self, sb):
        self.sb = sb
        self.key = signing_key(sb.db.state_dir)  # resident_code_nonces: schema migration 4

    def redeem(self, text: str, terminal_id: str) -> tuple[int, dict]:
        now = self.sb.clock()
        try:
            claims = rc.verify(text, [self.key.public_key()], now)
        except rc.ResidentCodeError as exc:
            code = exc.key.rpartition(".")[2]
            return 422, {"error": code, "message": exc.detail}
        try:
            with self.sb.db.transaction() as tx:
                tx.run("DELETE FROM resident_code_nonces WHERE expires_at < ?", (now - KEEP_S,))
                tx.run("INSERT INTO resident_code_nonces(nonce, terminal_id, redeemed_at, expires_at)"
                       " VALUES (?,?,?,?)", (claims.nonce, terminal_id, now, float(claims.expires_at)))
                tx.bump("resident_codes_redeemed")
        except IntegrityError:
            with self.sb.db.transaction() as tx:
                tx.bump("resident_codes_replayed")
            log.warning("resident code replayed", extra={"terminal": terminal_id})
            return 422, {"error": "replayed", "message": "this resident code was already used"}
        return 200, {"status": "accepted", "id_number_masked": mask_id_number(claims.id_number),
                     "nonce": claims.nonce, "expires_at": claims.expires_at}

    def issue(self, id_number: str, name: str, lifetime_s: int, age_s: int) -> str:
        return rc.issue(self.key, id_number, name, self.sb.clock() - age_s, lifetime_s)


def codes_for(sb) -> ResidentCodes:
    """The platform's resident-code service (made on first use: key and table)."""
    codes = getattr(sb, "resident_codes", None)
    if codes is None:
        codes = sb.resident_codes = ResidentCodes(sb)
    return codes


def cli_command():
    """``kiosk central resident-code ID_NUMBER --name NAME``: a demo code from the sandbox's key."""
    import click

    from kiosk.core.clikit import fail

    @click.command("resident-code")
    @click.argument("id_number")
    @click.option("--name", required=True, help="The holder's name as on the ID card.")
    @click.option("--lifetime", "lifetime_s", type=click.IntRange(1, rc.MAX_LIFETIME_S), default=rc.MAX_LIFETIME_S,
                  show_default=True, help="Seconds the code stays valid.")
    @click.option("--db", "db_url", default=None, help="The sandbox database (default: <data dir>/central/central.db).")
    @click.pass_obj
    def command(obj, id_number: str, name: str, lifetime_s: int, db_url: str | None) -> None:
        """Print a resident code (居民码) signed with the sandbox's key (demo mode only)."""
        import time

        from kiosk.core.idnumber import validate

        from .db import Database

        if obj.config.get("mode") != "demo":
            fail("resident codes are issued by the real platform; the sandbox issues them only in demo mode", code=2)
        if validate(id_number) is not None:
            fail(f"not a valid ID number: {id_number}", code=2)
        db = Database(db_url or f"sqlite:///{obj.config.data_dir / 'central' / 'central.db'}")
        try:
            key = signing_key(db.state_dir)
        finally:
            db.close()
        click.echo(rc.issue(key, id_number, name, time.time(), lifetime_s))
    return command
