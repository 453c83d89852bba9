from __future__ import annotations

from wallets.core.clock import local_date
from wallets.retail import anonymity, campaigns, limits, payment_codes, payments
from wallets.retail import wallet as wl
from wallets.retail.statement import statement

from .. import present
from ..auth import current_principal, roles
from ..openapi import takes_if_match
from ..schemas.common import AmountBody, page_of
from ..schemas.envelopes import GrantsOut
from ..schemas.transfers import TransferOut
from ..schemas.wallets import (
    BalanceOut,
    PaymentCodeCreate,
    PaymentCodeOut,
    StatementArgs,
    StatementOut,
    WalletCreate,
    WalletLimitsOut,
    WalletListArgs,
    WalletOut,
    WalletUpdate,
)
from ..state import settings
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, etag_header, if_match, int_cursor, problems

blp = Blueprint(
    "wallets",
    __name__,
    url_prefix="/v1/wallets",
    description="Wallets: opening, lifecycle, balances, limits, statements, funding and defunding",
)

WalletPage = page_of(WalletOut, "WalletPage")
ETAG_HEADER = etag_header("wallet")


def _etag(tx, w: wl.Wallet) -> dict[str, str]:
    return {"ETag": w.etag}


def _shown(tx, w: wl.Wallet) -> wl.Wallet:
    """The wallet with what the caller may see of its holder (its operator only)."""
    return anonymity.shown_to(tx, current_principal(), w)


@blp.route("", methods=["POST"])
@blp.arguments(WalletCreate())
@blp.response(201, WalletOut, headers=ETAG_HEADER)
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
            holder_name=body.get("holder_name"),
            birth_date=body.get("birth_date"),
            phone=body.get("phone"),
            parent_id=body.get("parent_id"),
            label=body.get("label"),
            phone_secret=secret,
            merchant_category=body.get("merchant_category"),
        ),
        WalletOut,
        present=_shown,
        headers=_etag,
    )


@blp.route("", methods=["GET"])
@blp.arguments(WalletListArgs(), location="query")
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
        shown = anonymity.shown_all(tx, current_principal(), found)
        return present.page(shown, args["limit"], lambda w: w.id)

    return read(run)


@blp.route("/<int:wallet_id>", methods=["GET"])
@blp.response(200, WalletOut, headers=ETAG_HEADER)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_wallet(wallet_id):
    """One wallet; a parent's report includes its sub-wallets' balances. Its
    holder's id, name and birth date are its operator's to see only (docs/anonymity.md)."""
    w = read(
        lambda tx: _shown(tx, wl.with_subwallets(tx, wl.get(tx, wallet_id, current_principal())))
    )
    return w, 200, {"ETag": w.etag}


@blp.route("/<int:wallet_id>", methods=["PATCH"])
@blp.arguments(WalletUpdate())
@blp.response(200, WalletOut, headers=ETAG_HEADER)
@problems(blp, *WRITE_PROBLEMS, 412, 428)
@takes_if_match(required=True)
@roles("admin", "operator")
def update_wallet(body, wallet_id):
    """Change the wallet's class (its limits change from now on), label, birth date, phone,
    holder's name or merchant category.
    Needs `If-Match` with the ETag you read: 412 if the wallet changed since, 428 without it."""
    precondition = if_match()
    secret = settings().phone_hash_secret
    return write(
        lambda tx: wl.update(
            tx, wallet_id, current_principal(), precondition, phone_secret=secret, **body
        ),
        WalletOut,
        status=200,
        present=_shown,
        headers=_etag,
    )


def _status_view(action: str, doc: str):
    def view(wallet_id):
        precondition = if_match()
        return write(
            lambda tx: wl.change_status(tx, wallet_id, current_principal(), action, precondition),
            WalletOut,
            status=200,
            present=_shown,
            headers=_etag,
        )

    view.__name__ = f"{action}_wallet"
    view.__doc__ = doc + " `If-Match` is optional here; when sent, it must match."
    return view


for _action, _doc, _roles in (
    (
        "freeze",
        "Freeze the wallet: it can neither pay nor receive until unfrozen. Its open holds can still be voided. "
        "A supervisor may freeze a player of its casinos pending review.",
        ("admin", "operator", "supervisor"),
    ),
    ("unfreeze", "Unfreeze a frozen wallet.", ("admin", "operator")),
    (
        "close",
        "Close the wallet for good: only an active wallet, at zero balance, with no open "
        "holds (outgoing or incoming), no open sub-wallets, no chips at a casino, no "
        "offline purse not unloaded nor voucher pending, and no red-envelope campaign "
        "it issued still running (`wallet_not_empty`).",
        ("admin", "operator"),
    ),
):
    _view = takes_if_match(required=False)(roles(*_roles)(_status_view(_action, _doc)))
    _view = problems(blp, *WRITE_PROBLEMS, 412)(_view)
    _view = blp.response(200, WalletOut, headers=ETAG_HEADER)(_view)
    blp.route(f"/<int:wallet_id>/{_action}", methods=["POST"])(_view)


@blp.route("/<int:wallet_id>/balance", methods=["GET"])
@blp.response(200, BalanceOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_balance(wallet_id):
    """The wallet's e-CNY now (sandbox time): balance = available + held."""

    def run(tx):
        w = wl.get(tx, wallet_id, current_principal())
        return {
            "wallet_id": w.id,
            "asset": "ECNY",
            "balance": w.balance,
            "available": w.available,
            "held": w.held,
            "as_of": tx.now(),
        }

    return read(run)


@blp.route("/<int:wallet_id>/limits", methods=["GET"])
@blp.response(200, WalletLimitsOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def get_wallet_limits(wallet_id):
    """The wallet's effective limits and what it has paid out today and this year (UTC+8)."""

    def run(tx):
        w = wl.get(tx, wallet_id, current_principal())
        day = local_date(tx.now())
        used = limits.usage(tx, [w.id], day)
        return {
            "wallet_id": w.id,
            "wallet_class": w.wallet_class,
            "limits": limits.effective(tx, w.operator_id, w.wallet_class).as_dict(),
            "day": day,
            "used_today": used.get((w.id, "day"), 0),
            "used_this_year": used.get((w.id, "year"), 0),
            "balance": w.balance,
        }

    return read(run)


@blp.route("/<int:wallet_id>/statement", methods=["GET"])
@blp.arguments(StatementArgs(), location="query")
@blp.response(200, StatementOut)
@problems(blp, 404, 422)
@roles("admin", "auditor", "operator")
def get_statement(args, wallet_id):
    """Opening balance, the entries of the period (`from` inclusive, `to` exclusive,
    both optional), closing balance; `available` and `held` at each end."""
    after = int_cursor(args["after"])

    def run(tx):
        st = statement(
            tx, wallet_id, current_principal(), args["start"], args["end"], after, args["limit"]
        )
        return {
            "wallet_id": st.wallet.id,
            "start": st.start,
            "end": st.end,
            "opening": {
                "available": st.opening.available,
                "held": st.opening.held,
                "balance": st.opening.balance,
            },
            "closing": {
                "available": st.closing.available,
                "held": st.closing.held,
                "balance": st.closing.balance,
            },
            "entries": st.entries,
            "next_after": str(st.next_after) if st.next_after is not None else None,
        }

    return read(run)


@blp.route("/<int:wallet_id>/sweep", methods=["POST"])
@blp.response(201, TransferOut(many=True))
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def sweep(wallet_id):
    """Move every active sub-wallet's balance to this parent wallet, in one transaction."""
    return write(
        lambda tx: payments.sweep(tx, wallet_id, current_principal()),
        TransferOut(many=True),
        present=lambda tx, posted: [present.transfer(tx, t) for t in posted],
    )


@blp.route("/<int:wallet_id>/fund", methods=["POST"])
@blp.arguments(AmountBody())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def fund(body, wallet_id):
    """The holder exchanges bank deposits for e-CNY: the operator's vault pays the wallet."""
    return write(
        lambda tx: payments.fund(
            tx, wallet_id, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut,
        present=present.transfer,
    )


@blp.route("/<int:wallet_id>/defund", methods=["POST"])
@blp.arguments(AmountBody())
@blp.response(201, TransferOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def defund(body, wallet_id):
    """Back to bank deposits: the wallet pays the operator's vault."""
    return write(
        lambda tx: payments.defund(
            tx, wallet_id, body["amount"], current_principal(), body.get("reference")
        ),
        TransferOut,
        present=present.transfer,
    )


@blp.route("/<int:wallet_id>/envelopes", methods=["GET"])
@blp.response(200, GrantsOut)
@problems(blp, 404)
@roles("admin", "auditor", "operator")
def wallet_envelopes(wallet_id):
    """The wallet's red envelopes: what each holds, spent and has left (0 once
    its campaign has ended)."""
    return read(lambda tx: {"items": campaigns.of_wallet(tx, wallet_id, current_principal())})


@blp.route("/<int:wallet_id>/payment-codes", methods=["POST"])
@blp.arguments(PaymentCodeCreate())
@blp.response(201, PaymentCodeOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "operator")
def issue_payment_code(body, wallet_id):
    """Issue a payment code: the holder's consent to one buy-in (or gaming-credit
    repayment) at a casino's cage, from this wallet, within the profile's lifetime
    (sandbox clock) and up to `max_amount` if given. The code is in this response only (and in its replay
    with the same Idempotency-Key); the code's row keeps only its hash. Needs a
    profile with casino rules (`casino_rules_unavailable`)."""
    return write(
        lambda tx: payment_codes.issue(
            tx, wallet_id, current_principal(), max_amount=body.get("max_amount")
        ),
        PaymentCodeOut,
    )
