from __future__ import annotations

from wallets.core import errors
from wallets.ledger import posting as ld
from wallets.retail import payments
from wallets.services import transfers
from wallets.tier1 import operators as ops

from .. import present
from ..auth import current_principal, roles
from ..schemas.common import page_of
from ..schemas.transfers import (
    BatchBody,
    BatchOut,
    RefundBody,
    TransferCreate,
    TransferListArgs,
    TransferOut,
)
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "transfers",
    __name__,
    url_prefix="/v1/transfers",
    description="Payments and the ledger's transfers",
)

TransferPage = page_of(TransferOut, "TransferPage")


@blp.route("", methods=["POST"])
@blp.arguments(TransferCreate())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def create_transfer(body):
    """Pay from one wallet to another, at the same operator or across operators
    (under the gross model, the tier-1 positions move in the same transaction)."""
    req = payments.PaymentRequest(
        body["from_wallet"], body["to_wallet"], body["amount"], body.get("reference")
    )
    return write(
        lambda tx: payments.pay(tx, req, current_principal()),
        TransferOut,
        present=present.transfer,
    )


@blp.route("/batch", methods=["POST"])
@blp.arguments(BatchBody())
@blp.response(200, BatchOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def create_batch(body):
    """Post up to 8,190 payments in one database transaction, one result per item.
    Each item's `id` is its idempotency key: a retry answers `exists`, the same id
    with other fields `exists_with_different_<field>`. `linked: true` chains an
    item to the next: the chain succeeds or fails as one (the others answer
    `linked_transfer_failed`)."""
    items = body["transfers"]
    if len(items) > payments.MAX_BATCH:
        raise errors.DomainError(
            errors.BATCH_TOO_LARGE,
            f"{len(items)} transfers; a batch holds at most {payments.MAX_BATCH}",
            max=payments.MAX_BATCH,
        )
    reqs = [
        payments.PaymentRequest(
            i["from_wallet"],
            i["to_wallet"],
            i["amount"],
            i.get("reference"),
            client_id=i["id"],
            linked=i["linked"],
        )
        for i in items
    ]

    def run(tx):
        return payments.post_payments(tx, reqs, current_principal())

    def render(tx, results):
        out = []
        counts = dict.fromkeys(payments.BATCH_RESULTS, 0)
        for index, (req, result) in enumerate(zip(reqs, results, strict=True)):
            if isinstance(result, ld.Refusal):
                row = {
                    "status": payments.REFUSED,
                    "transfer_id": None,
                    "code": result.code,
                    "detail": result.detail,
                }
            elif isinstance(result, payments.Existing):
                row = {
                    "status": payments.EXISTS,
                    "transfer_id": result.transfer_id,
                    "code": None,
                    "detail": None,
                }
            else:
                row = {"status": ld.POSTED, "transfer_id": result.id, "code": None, "detail": None}
            counts[row["status"]] += 1
            out.append({"index": index, "id": req.client_id, **row})
        return {**counts, "results": out}

    # render gives BatchOut's document itself (dumping 8,190 results is no check).
    return write(run, None, status=200, present=render)


@blp.route("/<int:transfer_id>/refunds", methods=["POST"])
@blp.arguments(RefundBody())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def refund(body, transfer_id):
    """Refund (part of) a payment or capture, from the payee back to the payer.
    Partial refunds may follow one another; together they never exceed the original."""
    return write(
        lambda tx: payments.refund(
            tx, transfer_id, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut,
        present=present.transfer,
    )


@blp.route("/<int:transfer_id>", methods=["GET"])
@blp.response(200, TransferOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_transfer(transfer_id):
    """One transfer with its journal entries."""

    return read(
        lambda tx: present.transfer(
            tx, transfers.get_transfer(tx, current_principal(), transfer_id)
        )
    )


@blp.route("", methods=["GET"])
@blp.arguments(TransferListArgs(), location="query")
@blp.response(200, TransferPage)
@problems(blp, 404, 422)
@roles("admin", "auditor", "operator")
def list_transfers(args):
    """Transfers in posting order; `wallet` narrows to one wallet's. An operator key
    sees the transfers that touch it."""
    after = int_cursor(args["after"])
    actor = current_principal()

    def run(tx):
        found = transfers.list_transfers(
            tx, actor, wallet_id=args.get("wallet"), after=after, limit=args["limit"] + 1
        )
        codes = ops.codes_by_id(tx)
        items = [present.transfer(tx, pt, codes) for pt in found]
        return present.page(items, args["limit"], lambda t: t["id"])

    return read(run)
