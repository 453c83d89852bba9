from __future__ import annotations

from flask_smorest import Blueprint

from wallets import payments
from wallets import wallet as wl

from .. import present
from ..auth import current_principal, roles
from ..schemas import (
    AmountBody,
    BalanceOut,
    TransferOut,
    WalletCreate,
    WalletListArgs,
    WalletOut,
    page_of,
)
from ..state import settings
from ..writes import read, write
from .common import WRITE_PROBLEMS, int_cursor, problems

blp = Blueprint(
    "wallets",
    __name__,
    url_prefix="/v1/wallets",
    description="Wallets, their balances, funding and defunding",
)

WalletPage = page_of(WalletOut, "WalletPage")


@blp.route("", methods=["POST"])
@blp.arguments(WalletCreate)
@blp.response(201, WalletOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def open_wallet(body):
    """Open a wallet for a holder at an operator."""
    secret = settings().phone_hash_secret
    return write(
        lambda tx: wl.open_wallet(
            tx,
            current_principal(),
            operator_code=body.get("operator"),
            wallet_class=body["wallet_class"],
            kind=body["kind"],
            region=body["region"],
            holder_id=body.get("holder_id"),
            birth_date=body.get("birth_date"),
            phone=body.get("phone"),
            parent_id=body.get("parent_id"),
            label=body.get("label"),
            phone_secret=secret,
        ),
        WalletOut(),
    )


@blp.route("", methods=["GET"])
@blp.arguments(WalletListArgs, location="query")
@blp.response(200, WalletPage)
@problems(blp, 422)
@roles("admin", "auditor", "operator")
def list_wallets(args):
    """Wallets by id, with cursor pagination. An operator key sees only its own."""
    after = int_cursor(args["after"])

    def run(tx):
        found = wl.list_(
            tx,
            current_principal(),
            operator_code=args.get("operator"),
            after=after,
            limit=args["limit"] + 1,
        )
        return present.page(found, args["limit"], lambda w: w.id)

    return read(run)


@blp.route("/<int:wallet_id>", methods=["GET"])
@blp.response(200, WalletOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_wallet(wallet_id):
    """One wallet."""
    return read(lambda tx: wl.get(tx, wallet_id, current_principal()))


@blp.route("/<int:wallet_id>/balance", methods=["GET"])
@blp.response(200, BalanceOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_balance(wallet_id):
    """The wallet's e-CNY balance now (sandbox time)."""

    def run(tx):
        w = wl.get(tx, wallet_id, current_principal())
        return {
            "wallet_id": w.id,
            "asset": "ECNY",
            "balance": w.balance,
            "available": w.balance,
            "as_of": tx.now(),
        }

    return read(run)


@blp.route("/<int:wallet_id>/fund", methods=["POST"])
@blp.arguments(AmountBody)
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def fund(body, wallet_id):
    """The holder exchanges bank deposits for e-CNY: the operator's vault pays the wallet."""
    return write(
        lambda tx: payments.fund(
            tx, wallet_id, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut(),
        present=present.transfer,
    )


@blp.route("/<int:wallet_id>/defund", methods=["POST"])
@blp.arguments(AmountBody)
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def defund(body, wallet_id):
    """Back to bank deposits: the wallet pays the operator's vault."""
    return write(
        lambda tx: payments.defund(
            tx, wallet_id, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut(),
        present=present.transfer,
    )
