"""Managed anonymity: identity reveals (four eyes, read once) and the wallet
aggregates the central bank sees instead of holders (docs/anonymity.md)."""

from __future__ import annotations

from wallets.retail import anonymity as an

from .. import present
from ..auth import current_principal, roles
from ..schemas.anonymity import (
    IdentityRevealCreate,
    IdentityRevealListArgs,
    IdentityRevealOut,
    IdentityRevealReject,
    WalletAggregatesOut,
)
from ..schemas.common import page_of
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "anonymity",
    __name__,
    url_prefix="/v1",
    description="Managed anonymity: identity reveals (four eyes, read once) and wallet "
    "aggregates without holders",
)

RevealPage = page_of(IdentityRevealOut, "IdentityRevealPage")
READERS = ("admin", "auditor", "central_bank", "supervisor")
REVEALERS = an.REVEALERS


def _reveal(tx, r: an.Reveal) -> dict:
    return an.document(r, tx.now())


def _without_identity(document: dict) -> dict:
    """What a replay of the read answers (and the Idempotency-Key's row keeps):
    the identity is read once."""
    return {**document, "identity": None}


@blp.route("/wallets/<int:wallet_id>/identity-reveals", methods=["POST"])
@blp.arguments(IdentityRevealCreate())
@blp.response(201, IdentityRevealOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*REVEALERS)
def request_identity_reveal(body, wallet_id):
    """Request the identity behind a wallet, with a legal basis of the rule
    profile's list and a case reference. A key of another role approves it
    before `expires_at` (the profile's `anonymity.approval_hours`); then the
    requesting key reads it, once."""
    return write(
        lambda tx: an.request(
            tx,
            current_principal(),
            wallet_id,
            legal_basis=body["legal_basis"],
            case_reference=body["case_reference"],
        ),
        IdentityRevealOut,
        present=_reveal,
    )


@blp.route("/identity-reveals", methods=["GET"])
@blp.arguments(IdentityRevealListArgs(), location="query")
@blp.response(200, RevealPage)
@problems(blp, 422)
@roles(*READERS)
def list_identity_reveals(args):
    """Identity reveals by id, never with an identity: all of them for the
    auditor, the admin and the central bank; a supervisor's, those of the
    wallets that play at its casinos. Filter by `wallet`."""
    after = int_cursor(args["after"])

    def run(tx):
        found = an.list_(
            tx,
            current_principal(),
            wallet_id=args.get("wallet"),
            after=after,
            limit=args["limit"] + 1,
        )
        return present.page([_reveal(tx, r) for r in found], args["limit"], lambda r: r["id"])

    return read(run)


@blp.route("/identity-reveals/<id32:reveal_id>", methods=["GET"])
@blp.response(200, IdentityRevealOut)
@problems(blp, 404)
@roles(*READERS)
def get_identity_reveal(reveal_id):
    """One identity reveal, without the identity."""
    return read(lambda tx: _reveal(tx, an.get(tx, reveal_id, current_principal())))


@blp.route("/identity-reveals/<id32:reveal_id>/approve", methods=["POST"])
@blp.response(200, IdentityRevealOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*REVEALERS)
def approve_identity_reveal(reveal_id):
    """Approve a requested reveal: a key of another role than the requester's
    (four eyes), before it expires."""
    return write(
        lambda tx: an.decide(tx, reveal_id, current_principal(), approve=True),
        IdentityRevealOut,
        status=200,
        present=_reveal,
    )


@blp.route("/identity-reveals/<id32:reveal_id>/reject", methods=["POST"])
@blp.arguments(IdentityRevealReject())
@blp.response(200, IdentityRevealOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*REVEALERS)
def reject_identity_reveal(body, reveal_id):
    """Reject a requested reveal (a key of another role than the requester's), with a reason."""
    return write(
        lambda tx: an.decide(
            tx, reveal_id, current_principal(), approve=False, reason=body.get("reason")
        ),
        IdentityRevealOut,
        status=200,
        present=_reveal,
    )


@blp.route("/identity-reveals/<id32:reveal_id>/read", methods=["POST"])
@blp.response(200, IdentityRevealOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*REVEALERS)
def read_identity_reveal(reveal_id):
    """The requesting key reads the identity of its approved reveal: once. A
    replay with the same Idempotency-Key answers the reveal without it."""
    return write(
        lambda tx: an.read(tx, reveal_id, current_principal()),
        IdentityRevealOut,
        status=200,
        present=_reveal,
        stored=_without_identity,
    )


@blp.route("/wallet-aggregates", methods=["GET"])
@blp.response(200, WalletAggregatesOut)
@problems(blp)
@roles("admin", "auditor", "central_bank", "operator")
def wallet_aggregates():
    """Wallet counts and amounts per operator and class, never a holder: every
    operator's for the central bank, the admin and the auditor; an operator its own."""
    return read(lambda tx: {"items": an.aggregates(tx, current_principal())})
