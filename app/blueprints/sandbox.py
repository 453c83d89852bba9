from __future__ import annotations

from wallets.access import keys
from wallets.core import clock
from wallets.services import reset, sandbox

from .. import present
from ..auth import roles
from ..openapi import takes_if_match
from ..schemas.common import page_of
from ..schemas.sandbox import (
    ClockAdvance,
    ClockOut,
    ClockSet,
    KeyCreate,
    KeyListArgs,
    KeyListOut,
    KeyOut,
    KeyRevokedOut,
    SandboxReset,
    SandboxResetOut,
)
from ..state import settings
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, etag_header, if_match, int_cursor, problems

blp = Blueprint(
    "sandbox",
    __name__,
    url_prefix="/v1",
    description="The sandbox: its clock, its reset and API keys",
)

KeyPage = page_of(KeyListOut, "KeyPage")
ALL_ROLES = ("admin", "central_bank", "operator", "merchant", "supervisor", "auditor")


CLOCK_ETAG = etag_header("clock")


def _clock(tx, state: clock.ClockState) -> dict:
    return sandbox.clock_document(state)


def _clock_etag(tx, _state: clock.ClockState) -> dict[str, str]:
    return {"ETag": clock.etag(tx)}


@blp.route("/sandbox/clock", methods=["GET"])
@blp.response(200, ClockOut, headers=CLOCK_ETAG)
@problems(blp)
@roles(*ALL_ROLES)
def get_clock():
    """The sandbox time that every timestamp and day boundary comes from. Its
    `ETag` versions the clock's setting (fixed there, or running from there),
    not the `now` of a running clock."""
    document, etag = read(lambda tx: (_clock(tx, clock.state(tx)), clock.etag(tx)))
    return document, 200, {"ETag": etag}


@blp.route("/sandbox/clock", methods=["PUT"])
@blp.arguments(ClockSet())
@blp.response(200, ClockOut, headers=CLOCK_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin")
def set_clock(body):
    """Set the sandbox time. `fixed: true` (default) stops it there; `false` lets it run on from there.
    `If-Match` is optional: when sent, it must match the clock's ETag."""
    precondition = if_match()
    return write(
        lambda tx: sandbox.set_clock(tx, body["now"], body["fixed"], if_match=precondition),
        ClockOut,
        status=200,
        present=_clock,
        headers=_clock_etag,
    )


@blp.route("/sandbox/clock/advance", methods=["POST"])
@blp.arguments(ClockAdvance())
@blp.response(200, ClockOut, headers=CLOCK_ETAG)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin")
def advance_clock(body):
    """Move the sandbox time forward by a number of seconds."""
    return write(
        lambda tx: sandbox.advance_clock(tx, body["seconds"]),
        ClockOut,
        status=200,
        present=_clock,
        headers=_clock_etag,
    )


@blp.route("/sandbox/reset", methods=["POST"])
@blp.arguments(SandboxReset())
@blp.response(200, SandboxResetOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin")
def reset_sandbox(body):
    """Reset the sandbox to a template: `empty` (default), as a freshly migrated
    database, or `demo`, as a fresh `ecny seed demo`. Operators, wallets,
    transfers, the journal, casinos, alerts, events and every other object of
    the world go, and the clock, the rule profile and the settlement settings
    are back to their defaults; the admin, central bank and auditor keys stay
    valid, operator, merchant and supervisor keys are revoked, the audit log
    keeps its history (docs/api.md, "Resetting the sandbox"). With `demo`,
    the demo's new keys are in this answer only."""
    cfg = settings()
    return write(
        lambda tx: reset.reset(tx, body["template"], cfg),
        SandboxResetOut,
        status=200,
        stored=lambda document: {
            **document,
            "keys": [{**k, "key": None} for k in document["keys"]],
        },
    )


@blp.route("/keys", methods=["POST"])
@blp.arguments(KeyCreate())
@blp.response(201, KeyOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin")
def create_key(body):
    """Create an API key. The secret is in this response only; only its hash is
    stored. A retry with the same Idempotency-Key answers the key without its
    secret (`key` null)."""
    return write(
        lambda tx: keys.create(
            tx,
            body["role"],
            operator_code=body.get("operator"),
            casino_ref=body.get("casino"),
            label=body.get("label"),
        ),
        KeyOut,
        # A replay with the same Idempotency-Key answers the key without its
        # secret: the secret is never stored, only its hash.
        stored=lambda document: {**document, "key": None},
    )


@blp.route("/keys", methods=["GET"])
@blp.arguments(KeyListArgs(), location="query")
@blp.response(200, KeyPage)
@problems(blp, 422)
@roles("admin", "auditor")
def list_keys(args):
    """The API keys by id: role, scope, label, when created and revoked. Never a
    key nor its hash (a key is shown once, when it is created). The admin's and,
    read-only over everything, the auditor's."""
    after = int_cursor(args["after"])

    def run(tx):
        found = keys.list_keys(tx, after=after, limit=args["limit"] + 1)
        return present.page(found, args["limit"], lambda k: k.id)

    return read(run)


@blp.route("/keys/<id32:key_id>/revoke", methods=["POST"])
@blp.response(200, KeyRevokedOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin")
def revoke_key(key_id: int):
    """Revoke an API key: from now on it authenticates nothing (401). The key's
    row stays, so the audit log's key ids keep their meaning."""
    return write(lambda tx: keys.revoke(tx, key_id), KeyRevokedOut, status=200)
