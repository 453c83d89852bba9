"""The gaming-day close (SPEC.md §7).

Closing a casino's gaming day (once it is over, and only once):
  1. sums the day's cage records: buy-ins, cash-outs, turnover (wagers),
     payouts, and GGR = wagers - payouts (the players' net losses);
  2. pays the special gaming tax to its treasury wallet and each contribution
     of the profile to its beneficiary wallet (the profile's shares of a
     positive GGR, each rounded half up to the fen) from the casino's wallet,
     as linked e-CNY payments;
  3. sweeps the casino wallet's e-CNY above its float to its bank (a defunding);
  4. checks the settlement rules against the ledger itself, each with its figures:
     - ``ecny_receipts_match``: the casino wallet's net e-CNY receipts over the
       day equal GGR plus the change in chips held by players (SPEC.md §7);
     - ``chips_match_cage``: the chips players hold per the ledger equal what
       the cage's own records give (nothing moved chips outside the cage);
     - ``taxes_paid``: the tax and each contribution reached its beneficiary;
     - ``ltr_filed``: every casino transaction of the day at or above the LTR
       threshold has its report — a cage operation's LTR alert, and no e-CNY
       payment to or from the casino wallet above it outside the cage;
     - ``chips_within_approval``: the chips with players at the day's end do
       not pass the figure DICJ approved (Law 7/2022), when one is recorded;
  and reports the coverage of the chips in circulation by the casino's e-CNY.
It stores and returns the report; a failed check is in it, it does not stop
the close. Everything runs in the caller's one transaction.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import gaming_day_bounds
from ..core.db import Tx
from ..core.principal import ADMIN, MERCHANT, SUPERVISOR, SYSTEM, Principal, a_role
from ..core.schema import (
    accounts,
    alerts,
    casino_player_days,
    casino_transactions,
    casinos,
    chip_handovers,
    credit_movements,
    gaming_day_transfers,
    gaming_days,
    journal_entries,
    transfers,
)
from ..ledger.accounts import chip_asset
from ..ledger.journal import PostedTransfer
from ..ledger.money import apply_rate, format_amount, format_rate
from ..retail import limits, payments
from ..retail import wallet as wl
from ..rules import casino_rules
from ..rules.profile import CasinoRules
from ..supervision.alerts import raise_alert
from . import cage, credit, fx, model, promoters, registry

# The checks of a close, in the order of its report.
CHECKS = (
    "ecny_receipts_match",
    "chips_match_cage",
    "taxes_paid",
    "ltr_filed",
    "chips_within_approval",
    "payments_delivered",
)

# Transfers on the casino wallet that are not receipts from or payments to players.
NOT_RECEIPTS = ("funding", "defunding", "sweep")


def _close_transfer_ids(tx: Tx, casino_id: int):
    """The tax, contribution and sweep transfers of every close of this casino."""
    gd, gdt = gaming_days, gaming_day_transfers
    return sa.union_all(
        *(
            sa.select(col).where(gd.c.casino_id == casino_id, col.is_not(None))
            for col in (gd.c.tax_transfer_id, gd.c.contribution_transfer_id, gd.c.sweep_transfer_id)
        ),
        sa.select(gdt.c.transfer_id).where(gdt.c.casino_id == casino_id),
    )


def close(tx: Tx, ref: str, actor: Principal, day: date) -> dict[str, Any]:
    if actor.role not in (MERCHANT, SUPERVISOR, ADMIN):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not close a day"
        )
    c = registry.get(tx, ref, actor)
    rules = casino_rules(tx)
    # One close at a time per casino (SQLite writers queue anyway).
    tx.conn.execute(sa.select(casinos.c.id).where(casinos.c.id == c.id).with_for_update())
    if _stored(tx, c.id, day) is not None:
        raise errors.DomainError(
            errors.GAMING_DAY_ALREADY_CLOSED, f"gaming day {day.isoformat()} of {ref} is closed"
        )
    start, end = gaming_day_bounds(day, rules.gaming_day_cutoff)
    now = tx.now()
    if now < end:
        raise errors.DomainError(
            errors.GAMING_DAY_NOT_OVER,
            f"gaming day {day.isoformat()} ends at {end.isoformat()}; it is {now.isoformat()}",
            ends_at=end.isoformat(),
        )
    cpd = casino_player_days
    t = tx.conn.execute(
        sa.select(
            sa.func.count(),
            *(
                sa.func.coalesce(sa.func.sum(col), 0)
                for col in (cpd.c.buy_ins, cpd.c.cash_outs, cpd.c.wagered, cpd.c.paid_out)
            ),
        ).where(cpd.c.casino_id == c.id, cpd.c.gaming_day == day)
    ).one()
    players, buy_ins, cash_outs, wagered, paid_out = (int(v) for v in t)
    ggr = wagered - paid_out  # in the chip currency
    # The day's figures in CNY: at the rate in force when the gaming day ends
    # (the last rate effective before its end), half up (casino/fx.py).
    rates = fx.rates(tx)
    mop_per_cny = rates.mop_per_cny_before(end)
    rate = rates.chips_per_cny(c.chip_currency, mop_per_cny)
    ggr_cny = fx.value_in_cny(ggr, rate)
    tax = apply_rate(ggr_cny, rules.special_gaming_tax) if ggr_cny > 0 else 0
    tax_chips = apply_rate(ggr, rules.special_gaming_tax) if ggr > 0 else 0
    # Each contribution is its own share of GGR, rounded on its own: two
    # payments to two beneficiaries (Law 16/2001 art. 27-29). Paid in e-CNY:
    # the share of the GGR in CNY.
    due = [
        (k, apply_rate(ggr_cny, k.share) if ggr_cny > 0 else 0, c.beneficiaries.get(k.name))
        for k in rules.contributions
    ]
    due_chips = [apply_rate(ggr, k.share) if ggr > 0 else 0 for k in rules.contributions]

    treasury = wl.existing(tx, c.treasury_wallet_id)
    label = f"{ref} {day.isoformat()}"
    # The promoters' commissions: net of the tax withheld at source, which the
    # casino pays to the treasury (DOMAIN.md §3, art. 29).
    owed_chips = promoters.commissions(tx, c, day)
    # Paid in e-CNY: the commission's value in CNY, and the share withheld of it.
    owed = []
    for o in owed_chips:
        assert rules.promoter_withholding_tax is not None, "commissions need promoter rules"
        commission = fx.value_in_cny(o.commission, rate)
        withheld = apply_rate(commission, rules.promoter_withholding_tax)
        owed.append(promoters.Commission(o.promoter, o.net_rolling, commission, withheld))
    payments_due = [
        (tax, treasury.id, f"special gaming tax, {label}"),
        *(
            (amount, wallet_id or treasury.id, f"contribution {k.name}, {label}")
            for k, amount, wallet_id in due
        ),
        *(
            payment
            for o in owed
            for payment in (
                (o.paid, o.promoter.wallet_id, f"commission of {o.promoter.licence}, {label}"),
                (
                    o.withholding,
                    treasury.id,
                    f"tax withheld on the commission of {o.promoter.licence}, {label}",
                ),
            )
        ),
    ]
    # A payee wallet that cannot take its payment (frozen, closed, or past its
    # balance cap with it) does not block the close: that payment goes to the
    # treasury wallet instead, listed in ``undelivered`` (and the
    # ``payments_delivered`` check fails).
    payments_due, undelivered = _redirect_undeliverable(tx, payments_due, treasury.id)
    posted = _pay(tx, c, payments_due)
    tax_t = posted[0]
    contribution_ts = posted[1 : 1 + len(due)]
    commission_ts = posted[1 + len(due) :]
    promoters_out = [
        {
            **o.report([t.id for t in commission_ts[2 * i : 2 * i + 2] if t is not None]),
            "commission_chip_currency": format_amount(chips.commission),
        }
        for i, (o, chips) in enumerate(zip(owed, owed_chips, strict=True))
    ]
    contributions_out = [
        {
            "name": k.name,
            "rate": format_rate(k.share),
            "amount": format_amount(amount),
            "amount_chip_currency": format_amount(chips),
            "wallet": wallet_id or treasury.id,
            "transfer_id": t.id if t else None,
        }
        for (k, amount, wallet_id), chips, t in zip(due, due_chips, contribution_ts, strict=True)
    ]
    contribution = sum(amount for _, amount, _ in due)
    paid = [t for t in (tax_t, *contribution_ts) if t is not None]
    merchant = wl.existing(tx, c.merchant_wallet_id)
    sweep = merchant.available - c.float_amount
    sweep_t = (
        payments.defund(tx, merchant.id, sweep, SYSTEM, f"sweep above float, {label}")
        if sweep > 0
        else None
    )

    asset = chip_asset(ref)
    chips_start = _chips_with_players(tx, asset, before=start)
    chips_end = _chips_with_players(tx, asset, before=end)
    receipts = _net_receipts(tx, c, start, end)
    # Chips drawn on credit came without e-CNY; repayments are e-CNY without chips.
    drawn, repaid = credit.day_totals(tx, c, start, end)
    # In CNY at the closing rate, and the FX result: the e-CNY the cage took in
    # and paid out at each operation's own rate, less the same chips valued at
    # the closing rate (0 for CNY chips: every rate is 1).
    bought_ecny, cashed_ecny = _cage_ecny(tx, c, start, end)
    repaid_ecny = credit.day_repaid_ecny(tx, c, start, end)
    cage_ecny = bought_ecny - cashed_ecny + repaid_ecny
    cage_chips_change = _cage_chips_change(tx, c, start, end) + drawn
    credit_change_cny = fx.value_in_cny(drawn - repaid, rate)
    fx_result = cage_ecny - (ggr_cny + fx.value_in_cny(cage_chips_change, rate) - credit_change_cny)
    chips_change_cny = fx.value_in_cny(chips_end - chips_start, rate)
    expected = ggr_cny + chips_change_cny - credit_change_cny + fx_result
    checks = [
        _check(
            "ecny_receipts_match",
            receipts == expected,
            {
                "ecny_net_receipts": format_amount(receipts),
                "ggr": format_amount(ggr),
                "chips_with_players_change": format_amount(chips_end - chips_start),
                "credit_outstanding_change": format_amount(drawn - repaid),
                "ggr_cny": format_amount(ggr_cny),
                "chips_with_players_change_cny": format_amount(chips_change_cny),
                "credit_outstanding_change_cny": format_amount(credit_change_cny),
                "fx_result": format_amount(fx_result),
                "difference": format_amount(receipts - expected),
            },
            "e-CNY net receipts differ from GGR + the change in chips held by players "
            "- the change in credit outstanding (in CNY at the closing rate) + the FX result",
        ),
        _chips_match_cage(tx, c, chips_end, end),
        _check(
            "taxes_paid",
            (tax_t.amount if tax_t else 0) == tax
            and (tax_t is None or tax_t.to_wallet_id == treasury.id)
            and all(
                (t.amount if t else 0) == amount and (t is None or t.to_wallet_id == payee)
                for (_, amount, _), (_, payee, _), t in zip(
                    due, payments_due[1 : 1 + len(due)], contribution_ts, strict=True
                )
            ),
            {
                "special_gaming_tax": format_amount(tax),
                "contributions": format_amount(contribution),
                "paid": format_amount(sum(p.amount for p in paid)),
                "transfer_ids": [p.id for p in paid],
                "treasury_wallet": treasury.id,
            },
            "the taxes due were not paid to their beneficiaries",
        ),
        _ltr_filed(tx, c, rules, day, start, end),
        _check(
            "chips_within_approval",
            c.chips_approved is None or chips_end <= c.chips_approved,
            {
                "approved": None if c.chips_approved is None else format_amount(c.chips_approved),
                "chips_with_players_at_end": format_amount(chips_end),
            },
            "more chips in circulation than DICJ approved",
        ),
        _check(
            "payments_delivered",
            not undelivered,
            {"undelivered": len(undelivered), "treasury_wallet": treasury.id},
            "a contribution or commission could not be paid to its wallet: "
            "the treasury wallet received it (see undelivered)",
        ),
    ]
    # Coverage (Law 7/2022: the chips in circulation are covered by cash or
    # credit): the e-CNY the casino's wallet holds after the sweep against the
    # chips its players hold now. Reported, not checked: the casino's bank
    # deposits (where the sweep went) and its credit lines are outside the ledger.
    in_circulation = registry.chips_in_circulation(tx, c)
    in_circulation_cny = fx.value_in_cny(in_circulation, rate)
    cash = wl.existing(tx, c.merchant_wallet_id).balance
    circulation = {
        "approved": None if c.chips_approved is None else format_amount(c.chips_approved),
        "now": format_amount(in_circulation),
        "now_cny": format_amount(in_circulation_cny),
        "ecny_cash": format_amount(cash),
        "coverage": (
            str((Decimal(cash) / Decimal(in_circulation_cny)).quantize(Decimal("0.0001")))
            if in_circulation_cny > 0
            else None
        ),
    }
    report: dict[str, Any] = {
        "casino": ref,
        "gaming_day": day.isoformat(),
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "closed_at": now.isoformat(),
        "players": players,
        "buy_ins": format_amount(buy_ins),
        "cash_outs": format_amount(cash_outs),
        "turnover": format_amount(wagered),
        "payouts": format_amount(paid_out),
        "ggr": format_amount(ggr),
        "chip_currency": c.chip_currency,
        "ggr_cny": format_amount(ggr_cny),
        "special_gaming_tax": {
            "rate": format_rate(rules.special_gaming_tax),
            "amount": format_amount(tax),
            "amount_chip_currency": format_amount(tax_chips),
            "transfer_id": tax_t.id if tax_t else None,
        },
        "contributions": {
            "rate": format_rate(sum((k.share for k in rules.contributions), Decimal(0))),
            "amount": format_amount(contribution),
            "amount_chip_currency": format_amount(sum(due_chips)),
            "payments": contributions_out,
        },
        "fx": {
            "rate": format_rate(rate),
            "mop_per_cny": format_rate(mop_per_cny),
            "buy_ins_ecny": format_amount(bought_ecny),
            "cash_outs_ecny": format_amount(cashed_ecny),
            "credit_repaid_ecny": format_amount(repaid_ecny),
            "result": format_amount(fx_result),
        },
        "sweep": {
            "float": format_amount(c.float_amount),
            "balance_before": format_amount(merchant.available),
            "amount": format_amount(max(sweep, 0)),
            "transfer_id": sweep_t.id if sweep_t else None,
        },
        "chips_with_players": {
            "at_start": format_amount(chips_start),
            "at_end": format_amount(chips_end),
        },
        "chips_in_circulation": circulation,
        "gaming_credit": {
            "drawn": format_amount(drawn),
            "repaid": format_amount(repaid),
            "outstanding": format_amount(credit.outstanding(tx, c)),
        },
        "promoters": promoters_out,
        "undelivered": [
            {**u, "transfer_id": t.id if t else None}
            for u, t in ((u, posted[u.pop("index")]) for u in undelivered)
        ],
        "chip_walking": _chip_walking(tx, c, rules.chip_walking_gaming_days, day),
        "checks": checks,
        "ok": all(ch["ok"] for ch in checks),
    }
    tx.conn.execute(
        gaming_days.insert().values(
            casino_id=c.id,
            gaming_day=day,
            closed_at=now,
            ok=report["ok"],
            tax_transfer_id=report["special_gaming_tax"]["transfer_id"],
            sweep_transfer_id=report["sweep"]["transfer_id"],
            report=json.dumps(report, separators=(",", ":")),
        )
    )
    purposes = [
        *(k.name for k, _, _ in due),
        *(
            purpose
            for o in owed
            for purpose in (
                f"commission:{o.promoter.licence}",
                f"commission_withholding:{o.promoter.licence}",
            )
        ),
    ]
    for purpose, made in zip(purposes, [*contribution_ts, *commission_ts], strict=True):
        if made is not None:
            tx.conn.execute(
                gaming_day_transfers.insert().values(
                    casino_id=c.id, gaming_day=day, transfer_id=made.id, purpose=purpose
                )
            )
    outbox.emit(tx, outbox.Event("gaming_day.closed", report, casino_ref=ref))
    return report


def _redirect_undeliverable(
    tx: Tx, due: list[tuple[int, int, str]], treasury_id: int
) -> tuple[list[tuple[int, int, str]], list[dict[str, Any]]]:
    """``due`` with each payment a payee wallet (not the treasury) cannot take
    sent to the treasury instead, and the list of those: a wallet not active,
    or whose balance would pass its class's balance cap with what the close
    pays it."""
    wallet_ids = sorted({payee for amount, payee, _ in due if amount and payee != treasury_id})
    statuses = wl.current_statuses(tx, wallet_ids)
    wallets = {w: wl.existing(tx, w) for w in wallet_ids}
    received: dict[int, int] = {}
    out: list[tuple[int, int, str]] = []
    undelivered: list[dict[str, Any]] = []
    for i, (amount, payee, what) in enumerate(due):
        reason = None
        if amount and payee != treasury_id:
            w = wallets[payee]
            cap = limits.effective(tx, w.operator_id, w.wallet_class).balance_cap
            if statuses[payee] != wl.ACTIVE:
                reason = f"wallet_{statuses[payee]}"
            elif cap is not None and w.balance + received.get(payee, 0) + amount > cap:
                reason = "balance_cap"
            else:
                received[payee] = received.get(payee, 0) + amount
        if reason:
            undelivered.append(
                {
                    "index": i,
                    "payment": what,
                    "wallet": payee,
                    "amount": format_amount(amount),
                    "reason": reason,
                    "paid_to": treasury_id,
                }
            )
            out.append((amount, treasury_id, what))
        else:
            out.append((amount, payee, what))
    return out, undelivered


def _pay(tx: Tx, c: model.Casino, due: list[tuple[int, int, str]]) -> list[PostedTransfer | None]:
    """Pay each (amount, payee wallet, what) of ``due`` from the casino's wallet,
    as one linked chain; None for an amount of 0."""
    merchant = wl.existing(tx, c.merchant_wallet_id)
    payees: dict[int, wl.Wallet] = {}
    for amount, payee, _ in due:
        if amount and payee not in payees:
            payees[payee] = wl.existing(tx, payee)
    drafts = [
        cage.ecny_payment(tx, merchant, payees[payee], amount, what)
        for amount, payee, what in due
        if amount
    ]
    for draft in drafts:
        draft.casino_ref = c.ref
    if not drafts:
        return [None] * len(due)
    posted = iter(
        cage.post_linked(
            tx,
            drafts,
            lock=[],
            parties=[(merchant, "paying"), *((w, "receiving") for w in payees.values())],
            limits=True,
        )
    )
    return [next(posted) if amount else None for amount, _, _ in due]


def _chip_walking(tx: Tx, c: model.Casino, gaming_days_: int | None, day: date) -> dict | None:
    """FATF/APG 2009, "chip walking": chips that leave the casino without being
    cashed out. The players who still hold chips ``gaming_days_`` gaming days or
    more after their last activity at the casino (a cage operation, a chip
    hand-over given or received, a credit draw or repayment), each with an
    alert (once per player and last activity). None when the profile has no rule."""
    if gaming_days_ is None:
        return None
    ct, ch, cm, a = casino_transactions, chip_handovers, credit_movements, accounts
    activity = sa.union_all(
        sa.select(ct.c.wallet_id, ct.c.gaming_day).where(ct.c.casino_id == c.id),
        sa.select(ch.c.to_wallet_id, ch.c.gaming_day).where(ch.c.casino_id == c.id),
        sa.select(ch.c.from_wallet_id, ch.c.gaming_day).where(ch.c.casino_id == c.id),
        sa.select(cm.c.wallet_id, cm.c.gaming_day).where(cm.c.casino_id == c.id),
    ).subquery()
    last = (
        sa.select(
            activity.c.wallet_id.label("wallet_id"),
            sa.func.max(activity.c.gaming_day).label("last_day"),
        )
        .group_by(activity.c.wallet_id)
        .subquery()
    )
    held = tx.conn.execute(
        sa.select(
            a.c.wallet_id, (a.c.credits_posted - a.c.debits_posted).label("chips"), last.c.last_day
        )
        .outerjoin(last, last.c.wallet_id == a.c.wallet_id)
        .where(
            a.c.asset == chip_asset(c.ref),
            a.c.kind == "chips",
            a.c.credits_posted - a.c.debits_posted > 0,
        )
        .order_by(a.c.wallet_id)
    ).all()
    players = []
    for r in held:
        # Chips reach a player only through the three records above: a chip
        # account without any (None) has no gaming day to count from.
        if r.last_day is None or (day - r.last_day).days < gaming_days_:
            continue
        alert = raise_alert(
            tx,
            "chip_walking",
            casino_id=c.id,
            wallet_id=r.wallet_id,
            evidence={
                "chips": format_amount(r.chips),
                "last_gaming_day": r.last_day.isoformat(),
                "gaming_day": day.isoformat(),
                "gaming_days_without_operation": (day - r.last_day).days,
            },
            summary=f"wallet {r.wallet_id} holds {format_amount(r.chips)} chips of {c.ref} "
            f"since gaming day {r.last_day.isoformat()}: chip walking?",
            dedupe_key=f"chip_walking:{c.id}:{r.wallet_id}:{r.last_day.isoformat()}",
        )
        players.append(
            {
                "player": r.wallet_id,
                "chips": format_amount(r.chips),
                "last_gaming_day": r.last_day.isoformat(),
                "alert_id": alert.id if alert else None,
            }
        )
    return {"gaming_days": gaming_days_, "players": players}


def _check(name: str, ok: bool, figures: dict, problem: str) -> dict:
    return {"name": name, "ok": ok, "figures": figures, "problems": [] if ok else [problem]}


def _chips_with_players(tx: Tx, asset: str, *, before: datetime) -> int:
    """Chips held by players just before ``before``, from the journal."""
    je = journal_entries
    held = sa.select(accounts.c.id).where(accounts.c.asset == asset, accounts.c.kind == "chips")
    credited, debited = (
        int(
            tx.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(je.c.amount), 0)).where(
                    side.in_(held), je.c.posted_at < before
                )
            ).scalar_one()
        )
        for side in (je.c.credit_account_id, je.c.debit_account_id)
    )
    return credited - debited


def _net_receipts(tx: Tx, c: model.Casino, start: datetime, end: datetime) -> int:
    """The casino wallet's e-CNY received minus paid over [start, end), from the
    journal, without fundings, defundings, sweeps and the closes' own transfers."""
    account_id = wl.existing(tx, c.merchant_wallet_id).account_id
    je, t = journal_entries, transfers
    signed = sa.case((je.c.credit_account_id == account_id, je.c.amount), else_=-je.c.amount)
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(signed), 0))
            .select_from(je.join(t, t.c.id == je.c.transfer_id))
            .where(
                sa.or_(je.c.debit_account_id == account_id, je.c.credit_account_id == account_id),
                je.c.posted_at >= start,
                je.c.posted_at < end,
                t.c.kind.not_in(NOT_RECEIPTS),
                t.c.id.not_in(_close_transfer_ids(tx, c.id)),
            )
        ).scalar_one()
    )


# The smallest step of the sandbox clock: the last instant before an end.
_INSTANT = timedelta(microseconds=1)


def _cage_ecny(tx: Tx, c: model.Casino, start: datetime, end: datetime) -> tuple[int, int]:
    """The e-CNY of the cage's buy-ins and cash-outs over [start, end), as recorded."""
    ct = casino_transactions
    rows = dict(
        tx.conn.execute(
            sa.select(ct.c.kind, sa.func.sum(ct.c.ecny_amount))
            .where(ct.c.casino_id == c.id, ct.c.at >= start, ct.c.at < end)
            .group_by(ct.c.kind)
        ).all()
    )
    return int(rows.get(model.BUY_IN) or 0), int(rows.get(model.CASH_OUT) or 0)


def _cage_chips_change(tx: Tx, c: model.Casino, start: datetime, end: datetime) -> int:
    """The change in chips with players over [start, end) per the cage's records
    (credit draws aside)."""
    ct = casino_transactions
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(_CHIPS_CHANGE), 0)).where(
                ct.c.casino_id == c.id, ct.c.at >= start, ct.c.at < end
            )
        ).scalar_one()
    )


_CHIPS_CHANGE = sa.case(
    (casino_transactions.c.kind == model.BUY_IN, casino_transactions.c.amount),
    (casino_transactions.c.kind == model.CASH_OUT, -casino_transactions.c.amount),
    else_=casino_transactions.c.payout - casino_transactions.c.amount,
)


def _chips_match_cage(tx: Tx, c: model.Casino, chips_end: int, end: datetime) -> dict:
    ct = casino_transactions
    change = sa.case(
        (ct.c.kind == model.BUY_IN, ct.c.amount),
        (ct.c.kind == model.CASH_OUT, -ct.c.amount),
        else_=ct.c.payout - ct.c.amount,
    )
    per_cage = int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(change), 0)).where(
                ct.c.casino_id == c.id, ct.c.at < end
            )
        ).scalar_one()
    ) + credit.draws_before(tx, c, end)
    return _check(
        "chips_match_cage",
        per_cage == chips_end,
        {
            "chips_with_players_per_ledger": format_amount(chips_end),
            "chips_with_players_per_cage": format_amount(per_cage),
            "difference": format_amount(chips_end - per_cage),
        },
        "chips moved outside the cage",
    )


def _ltr_filed(
    tx: Tx, c: model.Casino, rules: CasinoRules, day: date, start: datetime, end: datetime
) -> dict:
    """Each amount against the LTR threshold in force at its time: chips in the
    chip currency, the e-CNY payments outside the cage in CNY (casino/fx.py)."""

    def threshold_at(at: datetime, currency: str = c.chip_currency) -> int:
        return fx.ltr_threshold(tx, rules, currency, at)

    ct = casino_transactions
    floor = fx.lowest_ltr_threshold(tx, rules, c.chip_currency, start, end)
    large = [
        r
        for r in tx.conn.execute(
            sa.select(ct.c.id, ct.c.amount, ct.c.payout, ct.c.at)
            .where(
                ct.c.casino_id == c.id,
                ct.c.gaming_day == day,
                sa.or_(ct.c.amount >= floor, ct.c.payout >= floor),
            )
            .order_by(ct.c.id)
        ).all()
        if max(r.amount, r.payout) >= threshold_at(r.at)
    ]
    filed = set(
        tx.conn.execute(
            sa.select(alerts.c.dedupe_key).where(
                alerts.c.dedupe_key.in_([f"ltr:{r.id}" for r in large])
            )
        ).scalars()
    )
    unfiled_ops = [r.id for r in large if f"ltr:{r.id}" not in filed]
    # Gaming credit is a casino transaction too (DICJ Instruction 1/2016).
    large_credit = credit.large_movements(tx, c, day, threshold_at)
    filed_credit = set(
        tx.conn.execute(
            sa.select(alerts.c.dedupe_key).where(
                alerts.c.dedupe_key.in_([f"ltr:credit:{i}" for i, _ in large_credit])
            )
        ).scalars()
    )
    unfiled_credit = [i for i, _ in large_credit if f"ltr:credit:{i}" not in filed_credit]
    # Large e-CNY payments on the casino wallet that the cage did not make.
    t = transfers
    merchant = c.merchant_wallet_id
    cage_ids = sa.union_all(
        sa.select(ct.c.ecny_transfer_id).where(
            ct.c.casino_id == c.id, ct.c.ecny_transfer_id.is_not(None)
        ),
        sa.select(credit_movements.c.transfer_id).where(credit_movements.c.casino_id == c.id),
    )
    outside = [
        r.id
        for r in tx.conn.execute(
            sa.select(t.c.id, t.c.amount, t.c.posted_at)
            .where(
                sa.or_(t.c.from_wallet_id == merchant, t.c.to_wallet_id == merchant),
                t.c.posted_at >= start,
                t.c.posted_at < end,
                t.c.amount >= fx.lowest_ltr_threshold(tx, rules, fx.CNY, start, end),
                t.c.kind.not_in(NOT_RECEIPTS),
                t.c.id.not_in(cage_ids),
                t.c.id.not_in(_close_transfer_ids(tx, c.id)),
            )
            .order_by(t.c.id)
        )
        if r.amount >= threshold_at(r.posted_at, fx.CNY)
    ]
    return _check(
        "ltr_filed",
        not unfiled_ops and not outside and not unfiled_credit,
        {
            "threshold": format_amount(threshold_at(end - _INSTANT)),
            "large_transactions": len(large) + len(large_credit) + len(outside),
            "filed": len(large) - len(unfiled_ops) + len(large_credit) - len(unfiled_credit),
            "unfiled_casino_transactions": unfiled_ops,
            "unfiled_credit_movements": unfiled_credit,
            "unreported_transfers": outside,
        },
        "large transactions without their LTR",
    )


# ---- reading ----------------------------------------------------------------------


def _stored(tx: Tx, casino_id: int, day: date) -> sa.Row | None:
    gd = gaming_days
    return tx.conn.execute(
        sa.select(gd).where(gd.c.casino_id == casino_id, gd.c.gaming_day == day)
    ).first()


def get(tx: Tx, ref: str, actor: Principal, day: date) -> dict[str, Any]:
    c = registry.get(tx, ref, actor)
    row = _stored(tx, c.id, day)
    if row is None:
        raise errors.DomainError(
            errors.GAMING_DAY_NOT_FOUND, f"gaming day {day.isoformat()} of {ref} is not closed"
        )
    return json.loads(row.report)


def list_(
    tx: Tx, ref: str, actor: Principal, *, after: date | None, limit: int
) -> list[dict[str, Any]]:
    c = registry.get(tx, ref, actor)
    gd = gaming_days
    stmt = sa.select(gd.c.report).where(gd.c.casino_id == c.id).order_by(gd.c.gaming_day)
    if after is not None:
        stmt = stmt.where(gd.c.gaming_day > after)
    return [json.loads(r) for r in tx.conn.execute(stmt.limit(limit)).scalars()]
