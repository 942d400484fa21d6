"""``kiosk central operator ...``: the console's operator accounts.

There is no default account; the first operator is added here, on the
server, with a password typed twice (or read from stdin for scripts)."""

from __future__ import annotations

import sqlite3
import sys
import time

import click

from kiosk.core.clikit import emit, fail


def _db(obj, db_url: str | None):
    from ..db import Database

    url = db_url or f"sqlite:///{obj.config.data_dir / 'central' / 'central.db'}"
    try:
        return Database(url)
    except (ValueError, RuntimeError, OSError, sqlite3.Error) as exc:
        fail(f"cannot open {url}: {exc}")


def _accounts(obj, db_url: str | None):
    from . import accounts

    return _db(obj, db_url), accounts


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


db_option = click.option("--db", "db_url", default=None,
                         help="The central database (default: <data dir>/central/central.db).")


@click.group("operator")
def operator() -> None:
    """Operator accounts of the console at /console."""


@operator.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@db_option
@click.pass_obj
def add(obj, name: str, password_stdin: bool, db_url: str | None) -> None:
    """Add an operator (password: at least 12 characters, asked twice)."""
    db, accounts = _accounts(obj, db_url)
    try:
        accounts.check_new(name, "x" * accounts.MIN_PASSWORD)   # a bad name fails before the prompt
        accounts.add_operator(db, name, _password(password_stdin), time.time())
    except accounts.AccountError as exc:
        fail(str(exc), code=2)
    finally:
        db.close()
    click.echo(f"operator {name} added", err=True)


@operator.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@db_option
@click.pass_obj
def password(obj, name: str, password_stdin: bool, db_url: str | None) -> None:
    """Set an operator's password; ends their sessions and lifts a lock."""
    db, accounts = _accounts(obj, db_url)
    try:
        accounts.set_password(db, name, _password(password_stdin))
    except accounts.AccountError as exc:
        fail(str(exc), code=2)
    finally:
        db.close()
    click.echo(f"password of {name} changed", err=True)


@operator.command("remove")
@click.argument("name")
@db_option
@click.pass_obj
def remove(obj, name: str, db_url: str | None) -> None:
    """Remove an operator and end their sessions."""
    db, accounts = _accounts(obj, db_url)
    try:
        accounts.remove_operator(db, name)
    except accounts.AccountError as exc:
        fail(str(exc), code=2)
    finally:
        db.close()
    click.echo(f"operator {name} removed", err=True)


@operator.command("list")
@click.option("--json", "as_json", is_flag=True)
@db_option
@click.pass_obj
def list_(obj, as_json: bool, db_url: str | None) -> None:
    """The console's operators."""
    db, accounts = _accounts(obj, db_url)
    try:
        rows = accounts.list_operators(db)
    finally:
        db.close()
    emit(rows, as_json, "\n".join(r["name"] + (" (disabled)" if r["disabled"] else "") for r in rows)
         or "no operators (add one with: kiosk central operator add NAME)")
