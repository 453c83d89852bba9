from __future__ import annotations

import datetime as dt

from wallets.casino import cage, credit, gaming_days, model, promoters, registry
from wallets.core import errors
from wallets.retail import anonymity

from .. import converters, present
from ..auth import current_principal, roles
from ..openapi import takes_if_match
from ..schemas.casinos import (
    BeneficiariesBody,
    BuyInBody,
    CageOperationOut,
    CashOutBody,
    CasinoCreate,
    CasinoOut,
    ChipHandoverBody,
    ChipHandoverOut,
    ChipsApprovalBody,
    CreditDrawBody,
    CreditLineBody,
    CreditLineOut,
    CreditMovementOut,
    CreditRepaymentBody,
    GamingDayArgs,
    GamingDayReportOut,
    OperationListArgs,
    OperationOut,
    PlayBody,
    PlayerDayListArgs,
    PlayerDayOut,
    PromoterCreate,
    PromoterOut,
    PromoterPlayerBody,
    PromoterWalletBody,
)
from ..schemas.common import IdPageArgs, PageArgs, page_of
from ..state import settings
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, etag_header, if_match, int_cursor, problems

blp = Blueprint(
    "casinos",
    __name__,
    url_prefix="/v1/casinos",
    description="Casinos: the cage (buy-ins, plays, cash-outs), players' days, gaming-day closes",
)

CasinoPage = page_of(CasinoOut, "CasinoPage")
OperationPage = page_of(OperationOut, "OperationPage")
PlayerDayPage = page_of(PlayerDayOut, "PlayerDayPage")
GamingDayPage = page_of(GamingDayReportOut, "GamingDayPage")
PromoterPage = page_of(PromoterOut, "PromoterPage")
CreditLinePage = page_of(CreditLineOut, "CreditLinePage")
READERS = ("admin", "auditor", "merchant", "supervisor")
CASINO_ETAG = etag_header("casino")
PROMOTER_ETAG = etag_header("promoter")
CREDIT_LINE_ETAG = etag_header("credit line")


def _casino_etag(tx, c: model.Casino) -> dict[str, str]:
    return {"ETag": registry.etag(c)}


def _promoter_etag(tx, p: promoters.Promoter) -> dict[str, str]:
    return {"ETag": promoters.etag(p)}


def _casino(tx, c: model.Casino) -> dict:
    f = registry.figures(tx, c)
    return {
        **c.__dict__,
        "chip_asset": c.chip_asset,
        "merchant_balance": f.merchant_balance,
        "chips_with_players": f.chips_with_players,
        "supervisors": f.supervisors,
    }


def _operation(tx, op: model.CageOperation) -> dict:
    return {
        **op.__dict__,
        "transfers": [present.transfer(tx, t) for t in op.transfers],
        "alerts": [a.__dict__ for a in op.alerts],
    }


# Gaming days the sandbox clock can reach (its instants must stay within datetime's range).


def _gaming_day(text: str, field: str = "date") -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if len(text) != 10 or day is None or not converters.FIRST_DAY <= day <= converters.LAST_DAY:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"{field}: a gaming day is a date such as 2026-03-02",
            errors={field: ["must be a date such as 2026-03-02"]},
        )
    return day


@blp.route("", methods=["POST"])
@blp.arguments(CasinoCreate())
@blp.response(201, CasinoOut, headers=CASINO_ETAG)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin")
def register_casino(body):
    """Register a casino: its merchant wallet (opened at `operator`, or an existing
    one), its chips `CHIP:<ref>`, the treasury wallet its taxes go to, and its
    supervisors (supervisor keys). Its wallet is funded up to `float` from its
    operator's vault."""
    secret = settings().phone_hash_secret
    return write(
        lambda tx: registry.register(
            tx,
            ref=body["ref"],
            name=body["name"],
            operator_code=body.get("operator"),
            merchant_wallet_id=body.get("merchant_wallet"),
            treasury_wallet_id=body["treasury_wallet"],
            float_amount=body["float_amount"],
            supervisor_key_ids=tuple(body["supervisors"]),
            beneficiaries=body["beneficiaries"],
            chips_approved=body.get("chips_approved"),
            chip_currency=body["chip_currency"],
            phone_secret=secret,
        ),
        CasinoOut,
        present=_casino,
        headers=_casino_etag,
    )


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs(), location="query")
@blp.response(200, CasinoPage)
@problems(blp, 422)
@roles(*READERS)
def list_casinos(args):
    """Casinos by ref. Merchant and supervisor keys see their own."""

    def run(tx):
        found = registry.list_(tx, current_principal(), args["after"], args["limit"] + 1)
        return present.page([_casino(tx, c) for c in found], args["limit"], lambda c: c["ref"])

    return read(run)


@blp.route("/<ref>", methods=["GET"])
@blp.response(200, CasinoOut, headers=CASINO_ETAG)
@problems(blp, 404)
@roles(*READERS)
def get_casino(ref):
    """One casino: its wallets, float, chips out with players and supervisors.
    Its `ETag` versions its registration as stored (beneficiaries, chips
    approved, ...), not its figures."""

    def run(tx):
        c = registry.get(tx, ref, current_principal())
        return _casino(tx, c), registry.etag(c)

    document, etag = read(run)
    return document, 200, {"ETag": etag}


@blp.route("/<ref>/beneficiaries", methods=["PUT"])
@blp.arguments(BeneficiariesBody())
@blp.response(200, CasinoOut, headers=CASINO_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin")
def set_beneficiaries(body, ref):
    """Replace the casino's beneficiaries (the wallet each contribution is paid
    to; one not named goes to the treasury wallet), from the next close on: a
    beneficiary's wallet frozen or closed is changed so. Authorized as the
    casino's registration. `If-Match` is optional: when sent, it must match the
    casino's ETag."""
    precondition = if_match()
    return write(
        lambda tx: registry.set_beneficiaries(
            tx, ref, current_principal(), body["beneficiaries"], if_match=precondition
        ),
        CasinoOut,
        present=_casino,
        status=200,
        headers=_casino_etag,
    )


@blp.route("/<ref>/promoters/<licence>/wallet", methods=["PUT"])
@blp.arguments(PromoterWalletBody())
@blp.response(200, PromoterOut, headers=PROMOTER_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin", "supervisor")
def set_promoter_wallet(body, ref, licence):
    """Change the wallet the promoter's commissions are paid to (active, class
    1 or 2), from the next close on. Authorized as the promoter's registration.
    `If-Match` is optional: when sent, it must match the promoter's ETag (the
    answer of its registration or of its last change; no GET reads one promoter)."""
    precondition = if_match()
    return write(
        lambda tx: promoters.set_wallet(
            tx, ref, current_principal(), licence, body["wallet"], if_match=precondition
        ),
        PromoterOut,
        status=200,
        headers=_promoter_etag,
    )


@blp.route("/<ref>/promoters", methods=["POST"])
@blp.arguments(PromoterCreate())
@blp.response(201, PromoterOut, headers=PROMOTER_ETAG)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "supervisor")
def register_promoter(body, ref):
    """Register a gaming promoter licensed by DICJ at this casino (its
    concessionaire): its wallet and commission rate (at most the profile's cap
    on net rolling). A licence that works for another casino is refused
    `promoter_other_concessionaire`."""
    return write(
        lambda tx: promoters.register(
            tx,
            ref,
            current_principal(),
            licence=body["licence"],
            name=body["name"],
            wallet_id=body["wallet"],
            commission_rate=body["commission_rate"],
        ),
        PromoterOut,
        headers=_promoter_etag,
    )


@blp.route("/<ref>/promoters", methods=["GET"])
@blp.arguments(IdPageArgs(), location="query")
@blp.response(200, PromoterPage)
@problems(blp, 404, 422)
@roles(*READERS)
def list_promoters(args, ref):
    """The casino's gaming promoters and the players they bring, by id."""
    after = int_cursor(args["after"])

    def run(tx):
        found = promoters.list_(tx, ref, current_principal(), after, args["limit"] + 1)
        return present.page(found, args["limit"], lambda p: p.id)

    return read(run)


@blp.route("/<ref>/promoters/<licence>/players", methods=["POST"])
@blp.arguments(PromoterPlayerBody())
@blp.response(201, PromoterOut, headers=PROMOTER_ETAG)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "merchant", "supervisor")
def attach_promoter_player(body, ref, licence):
    """Attach a player to the promoter: its wagers at this casino count in the
    promoter's rolling from the next close on. One promoter per player and casino."""
    return write(
        lambda tx: promoters.attach(tx, ref, current_principal(), licence, body["player"]),
        PromoterOut,
        headers=_promoter_etag,
    )


def _movement(tx, m: credit.CreditMovement) -> dict:
    return {
        **m.__dict__,
        "transfers": [present.transfer(tx, t) for t in m.transfers],
        "alerts": [a.__dict__ for a in m.alerts],
    }


@blp.route("/<ref>/credit-lines/<int:wallet_id>", methods=["PUT"])
@blp.arguments(CreditLineBody())
@blp.response(200, CreditLineOut, headers=CREDIT_LINE_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin", "merchant")
def set_credit_line(body, ref, wallet_id):
    """Grant a player gaming credit at this casino (Law 7/2024: only a
    concessionaire grants it), or change its limit. `If-Match` is optional:
    when sent, it must match the line's ETag (the answer of its last change; no
    GET reads one line), and `*` only an existing line. The ETag versions the
    limit, not what is outstanding."""
    precondition = if_match()
    return write(
        lambda tx: credit.set_line(
            tx, ref, current_principal(), wallet_id, body["limit"], if_match=precondition
        ),
        CreditLineOut,
        status=200,
        headers=lambda tx, line: {"ETag": credit.etag(line)},
    )


@blp.route("/<ref>/credit-lines", methods=["GET"])
@blp.arguments(IdPageArgs(), location="query")
@blp.response(200, CreditLinePage)
@problems(blp, 404, 422)
@roles(*READERS)
def list_credit_lines(args, ref):
    """The casino's credit lines: limit, outstanding, available, per player wallet id."""
    after = int_cursor(args["after"])

    def run(tx):
        found = credit.lines(tx, ref, current_principal(), after, args["limit"] + 1)
        return present.page(found, args["limit"], lambda line: line.wallet_id)

    return read(run)


@blp.route("/<ref>/credit-draws", methods=["POST"])
@blp.arguments(CreditDrawBody())
@blp.response(201, CreditMovementOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "merchant")
def draw_credit(body, ref):
    """Chips to the player on credit (no e-CNY moves), within its limit
    (`credit_limit_exceeded`), under the cage's rules (age, exclusions, LTR)."""
    return write(
        lambda tx: credit.draw(
            tx, ref, current_principal(), wallet_id=body["player"], amount=body["amount"]
        ),
        CreditMovementOut,
        present=_movement,
    )


@blp.route("/<ref>/credit-repayments", methods=["POST"])
@blp.arguments(CreditRepaymentBody())
@blp.response(201, CreditMovementOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "merchant")
def repay_credit(body, ref):
    """e-CNY from the player's wallet to the casino's against its credit, with
    the holder's payment code; at most what it owes
    (`credit_repayment_exceeds_outstanding`)."""
    return write(
        lambda tx: credit.repay(
            tx,
            ref,
            current_principal(),
            wallet_id=body["player"],
            amount=body["amount"],
            payment_code=body.get("payment_code"),
        ),
        CreditMovementOut,
        present=_movement,
    )


@blp.route("/<ref>/chip-handovers", methods=["POST"])
@blp.arguments(ChipHandoverBody())
@blp.response(201, ChipHandoverOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "merchant")
def hand_over_chips(body, ref):
    """Chips one player hands another, as the cage records it (no e-CNY moves).
    A cash-out of chips handed over by several other holders that gaming day
    raises `chip_pooling` (FATF/APG 2009)."""
    return write(
        lambda tx: cage.hand_over(
            tx,
            ref,
            current_principal(),
            from_wallet=body["from_player"],
            to_wallet=body["to_player"],
            amount=body["amount"],
        ),
        ChipHandoverOut,
        present=lambda tx, h: {
            **h.__dict__,
            "transfers": [present.transfer(tx, t) for t in h.transfers],
        },
    )


@blp.route("/<ref>/chips-approval", methods=["PUT"])
@blp.arguments(ChipsApprovalBody())
@blp.response(200, CasinoOut, headers=CASINO_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin", "supervisor")
def set_chips_approval(body, ref):
    """Record the chips in circulation DICJ approved for the casino (Law 7/2022;
    null: none). From then on a buy-in that would put more chips with players is
    refused `chips_in_circulation_exceeded`; the close checks the day's end
    against it and reports the coverage of the chips in circulation. `If-Match`
    is optional: when sent, it must match the casino's ETag."""
    precondition = if_match()
    return write(
        lambda tx: registry.set_chips_approved(
            tx, ref, current_principal(), body["chips_approved"], if_match=precondition
        ),
        CasinoOut,
        present=_casino,
        status=200,
        headers=_casino_etag,
    )


def _cage_view(name: str, schema, run, doc: str):
    def view(body, ref):
        return write(lambda tx: run(tx, ref, body), CageOperationOut, present=_operation)

    view.__name__ = name
    view.__doc__ = doc
    view = roles("admin", "merchant")(view)
    view = problems(blp, *WRITE_PROBLEMS)(view)
    view = blp.response(201, CageOperationOut)(view)
    view = blp.arguments(schema)(view)
    return view


blp.route("/<ref>/buy-ins", methods=["POST"])(
    _cage_view(
        "buy_in",
        BuyInBody,
        lambda tx, ref, b: cage.buy_in(
            tx,
            ref,
            current_principal(),
            wallet_id=b["player"],
            amount=b["amount"],
            reference=b.get("reference"),
            payment_code=b.get("payment_code"),
        ),
        "A buy-in: the player's wallet pays e-CNY to the casino's wallet and chips are "
        "issued to the player, as one linked step. The debit needs the holder's consent: "
        "`payment_code`, a code of the player's wallet (`POST /v1/wallets/{id}/payment-codes`), "
        "used once; the rule profile says whether it is required (macau: yes). Refused "
        "for merchant, casino and treasury wallets (`not_a_player`), under-age, excluded, "
        "frozen or (at or above the LTR threshold) anonymous wallets, and beyond the "
        "wallet's class limits; raises the detection rules' alerts.",
    )
)
blp.route("/<ref>/plays", methods=["POST"])(
    _cage_view(
        "play",
        PlayBody,
        lambda tx, ref, b: cage.play(
            tx,
            ref,
            current_principal(),
            wallet_id=b["player"],
            wager=b["wager"],
            payout=b["payout"],
            reference=b.get("reference"),
        ),
        "A round of play: the wager (turnover) goes from the player's chips to the "
        "casino and the payout (stake included; 0.00 when lost) comes back, as one "
        "linked step. Chips never go below zero: `insufficient_chips`.",
    )
)
blp.route("/<ref>/cash-outs", methods=["POST"])(
    _cage_view(
        "cash_out",
        CashOutBody,
        lambda tx, ref, b: cage.cash_out(
            tx,
            ref,
            current_principal(),
            wallet_id=b["player"],
            amount=b["amount"],
            reference=b.get("reference"),
            pay_to=b.get("pay_to"),
        ),
        "A cash-out: the player returns chips and the casino's wallet pays their value "
        "in e-CNY (as much for CNY chips; for HKD or MOP chips, chips / rate rounded "
        "down: docs/macau.md §13) to the player's wallet (or `pay_to`'s), as one "
        "linked step. Beyond the "
        "player's chips: `insufficient_chips`. Paid to a wallet that did not buy in "
        "that gaming day: a `third_party_payout` alert, or `third_party_payout_refused`.",
    )
)


@blp.route("/<ref>/transactions", methods=["GET"])
@blp.arguments(OperationListArgs(), location="query")
@blp.response(200, OperationPage)
@problems(blp, 404, 422)
@roles(*READERS)
def list_operations(args, ref):
    """The casino's cage operations with their transfers, by id; filter by player
    wallet and gaming day."""
    after = int_cursor(args["after"])

    def run(tx):
        c = registry.get(tx, ref, current_principal())
        found = cage.list_operations(
            tx,
            c,
            wallet_id=args.get("wallet"),
            gaming_day=args.get("gaming_day"),
            after=after,
            limit=args["limit"] + 1,
        )
        return present.page(found, args["limit"], lambda o: o.id)

    return read(run)


@blp.route("/<ref>/players", methods=["GET"])
@blp.arguments(PlayerDayListArgs(), location="query")
@blp.response(200, PlayerDayPage)
@problems(blp, 404, 422)
@roles(*READERS)
def list_player_days(args, ref):
    """Players' casino activity per gaming day: buy-ins, cash-outs, turnover,
    payouts and net result; filter by gaming day and player wallet."""

    def run(tx):
        c = registry.get(tx, ref, current_principal())
        rows = cage.list_player_days(
            tx,
            c,
            gaming_day=args.get("gaming_day"),
            wallet_id=args.get("wallet"),
            after=args["after"],
            limit=args["limit"] + 1,
        )
        page = present.page(rows, args["limit"], cage.player_day_cursor)
        refs = anonymity.holder_refs(tx, {r.holder_id for r in page["items"]})
        page["items"] = [
            {**r._mapping, "holder_ref": refs[r.holder_id], "net_result": r.paid_out - r.wagered}
            for r in page["items"]
        ]
        return page

    return read(run)


@blp.route("/<ref>/gaming-days/<gaming_day:date>/close", methods=["POST"])
@blp.response(201, GamingDayReportOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "merchant", "supervisor")
def close_gaming_day(ref, date):
    """Close a gaming day once it is over: its figures, GGR, the gaming tax paid
    to the treasury wallet and each contribution to its beneficiary, the
    promoters' commissions less the tax withheld, the sweep above the float, the
    settlement checks (each with pass/fail and figures), the chips in circulation,
    gaming credit and chip walking. A day closes once."""
    gaming_day = _gaming_day(date)
    return write(
        lambda tx: gaming_days.close(tx, ref, current_principal(), gaming_day),
        GamingDayReportOut,
    )


@blp.route("/<ref>/gaming-days", methods=["GET"])
@blp.arguments(GamingDayArgs(), location="query")
@blp.response(200, GamingDayPage)
@problems(blp, 404, 422)
@roles(*READERS)
def list_gaming_days(args, ref):
    """The casino's closed gaming days and their reports, by date."""
    after = _gaming_day(args["after"], "after") if args["after"] is not None else None

    def run(tx):
        found = gaming_days.list_(
            tx, ref, current_principal(), after=after, limit=args["limit"] + 1
        )
        return present.page(found, args["limit"], lambda r: r["gaming_day"])

    return read(run)


@blp.route("/<ref>/gaming-days/<gaming_day:date>", methods=["GET"])
@blp.response(200, GamingDayReportOut)
@problems(blp, 404, 422)
@roles(*READERS)
def get_gaming_day(ref, date):
    """The report of a closed gaming day."""
    gaming_day = _gaming_day(date)
    return read(lambda tx: gaming_days.get(tx, ref, current_principal(), gaming_day))
