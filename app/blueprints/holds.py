from __future__ import annotations

from wallets.retail import holds

from .. import present
from ..auth import current_principal, roles
from ..schemas.common import page_of
from ..schemas.holds import CaptureBody, HoldCreate, HoldListArgs, HoldOut
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "holds",
    __name__,
    url_prefix="/v1/holds",
    description="Two-phase payments: hold, then capture or void",
)

HoldPage = page_of(HoldOut, "HoldPage")


@blp.route("", methods=["POST"])
@blp.arguments(HoldCreate())
@blp.response(201, HoldOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def create_hold(body):
    """Reserve funds for a payment: they leave the payer's available balance (and
    count against its limits) at once, and are captured, voided or expire.
    With a `condition`, a conditional payment: captured at its deadline (`time`)
    or when the `confirmer_wallet`'s operator confirms it (`confirmation`)."""
    return write(
        lambda tx: holds.create(
            tx,
            current_principal(),
            from_wallet_id=body["from_wallet"],
            to_wallet_id=body["to_wallet"],
            amount=body["amount"],
            timeout_seconds=body["timeout_seconds"],
            reference=body.get("reference"),
            condition=body.get("condition"),
            confirmer_wallet_id=body.get("confirmer_wallet"),
        ),
        HoldOut,
        present=present.hold,
    )


@blp.route("", methods=["GET"])
@blp.arguments(HoldListArgs(), location="query")
@blp.response(200, HoldPage)
@problems(blp, 404, 422)
@roles("admin", "auditor", "operator")
def list_holds(args):
    """A wallet's holds, as payer or payee, optionally by status."""
    after = int_cursor(args["after"])

    def run(tx):
        found = holds.list_for_wallet(
            tx, args["wallet"], current_principal(), args.get("status"), after, args["limit"] + 1
        )
        return present.page([present.hold(tx, h) for h in found], args["limit"], lambda h: h["id"])

    return read(run)


@blp.route("/<int:hold_id>", methods=["GET"])
@blp.response(200, HoldOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_hold(hold_id):
    """One hold with the transfers that made and resolved it."""
    return read(lambda tx: present.hold(tx, holds.get(tx, hold_id, current_principal())))


@blp.route("/<int:hold_id>/capture", methods=["POST"])
@blp.arguments(CaptureBody())
@blp.response(200, HoldOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def capture_hold(body, hold_id):
    """Capture the hold in full, or in part (the rest goes back to the payer).
    A hold resolves once: a second capture or a capture after expiry is refused."""
    return write(
        lambda tx: holds.capture(tx, hold_id, current_principal(), body.get("amount")),
        HoldOut,
        status=200,
        present=present.hold,
    )


@blp.route("/<int:hold_id>/void", methods=["POST"])
@blp.response(200, HoldOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def void_hold(hold_id):
    """Release the held funds back to the payer."""
    return write(
        lambda tx: holds.void(tx, hold_id, current_principal()),
        HoldOut,
        status=200,
        present=present.hold,
    )


@blp.route("/<int:hold_id>/confirm", methods=["POST"])
@blp.response(200, HoldOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def confirm_hold(hold_id):
    """The named third party (its wallet's operator) confirms a conditional
    payment: the hold is captured in full."""
    return write(
        lambda tx: holds.confirm(tx, hold_id, current_principal()),
        HoldOut,
        status=200,
        present=present.hold,
    )
