"""The casino rules of SPEC.md §6, as the cage applies them (figures: the profile's).

Blocking rules refuse an operation before anything is posted:
  - under the minimum age at the sandbox time (wallets with a birth date);
  - on the exclusion list (self- or family-requested, not yet revoked);
  - an anonymous wallet (a class outside ``identified_classes``) for a
    transaction at or above the LTR threshold;
  - a mainland wallet paying a casino, when the profile says ``refuse``.
(Frozen wallets and the wallet-class limits are refused by the posting itself.)

Detection rules raise alerts (wallets/supervision/alerts.py) after the operation is recorded:
  - ``ltr``: every cage operation at or above the threshold (a buy-in, a
    cash-out, a wager or a payout) gets its large transaction report;
  - ``structuring``: the holder's buy-ins (or cash-outs) at the casino within
    the rolling window, each below the threshold, reach it together;
  - ``minimal_play``: at a cash-out, the holder's cash-outs of the gaming day
    at the casino (all its wallets) reach the ratio of its buy-ins while its
    bets stay below theirs (once per holder, casino and day);
  - ``mainland_wallet``: a mainland wallet buys in or repays gaming credit
    (once per player, casino and day);
  - ``mainland_yearly_cap``: a mainland holder's buy-ins and credit repayments
    of the year pass the cap;
  - ``third_party_payout``: a cash-out paid to a wallet that did not buy in
    (refused instead when the profile says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core import errors
from ..core.clock import gaming_day_of, local_date
from ..core.schema import (
    casino_player_days,
    casino_transactions,
    chip_handovers,
    credit_movements,
    wallets,
)
from ..ledger.money import format_amount, format_rate
from ..retail.anonymity import holder_ref, holder_refs
from ..supervision.alerts import Alert, raise_alert
from . import exclusions, fx
from .model import operation_transfer_ids

if TYPE_CHECKING:
    from ..core.db import Tx
    from ..retail.wallet import Wallet
    from ..rules.profile import CasinoRules
    from .model import CageOperation, Casino


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def check_player(
    tx: Tx,
    rules: CasinoRules,
    casino: Casino,
    player: Wallet,
    *,
    amount: int,
    gaming: bool,
    paying: bool,
) -> None:
    """Raise the first blocking rule the operation breaks. ``gaming``: the
    player is buying chips or playing (age and exclusions apply; returning
    chips is always allowed). ``paying``: e-CNY goes from the player to the casino.
    ``amount`` is in chips of the casino's currency, compared with the LTR
    threshold in that currency (casino/fx.py: MOP with MOP)."""
    now = tx.now()
    if gaming:
        if player.birth_date is not None:
            age = age_on(player.birth_date, local_date(now))
            if age < rules.minimum_age:
                raise errors.DomainError(
                    errors.UNDER_MINIMUM_AGE,
                    f"the holder of wallet {player.id} is {age}; the minimum age is {rules.minimum_age}",
                    wallet_id=player.id,
                    minimum_age=rules.minimum_age,
                )
        barred = exclusions.barring(tx, player.holder_id, casino.id, now)
        if barred is not None:
            raise errors.DomainError(
                errors.EXCLUDED_PERSON,
                f"the holder of wallet {player.id} is excluded ({barred.kind}-requested, "
                f"exclusion {barred.id}, until {barred.ends_on.isoformat()})",
                wallet_id=player.id,
                exclusion_id=barred.id,
            )
    threshold = fx.ltr_threshold(tx, rules, casino.chip_currency, now)
    if amount >= threshold and player.wallet_class not in rules.identified_classes:
        raise errors.DomainError(
            errors.IDENTIFIED_WALLET_REQUIRED,
            f"a casino transaction of {format_amount(amount)} (at or above the reporting threshold "
            f"of {format_amount(threshold)}) needs a wallet of class "
            f"{' or '.join(map(str, rules.identified_classes))}; wallet {player.id} is class "
            f"{player.wallet_class}",
            wallet_id=player.id,
            threshold=format_amount(threshold),
        )
    if paying and player.region in rules.mainland_regions and rules.mainland_action == "refuse":
        raise errors.DomainError(
            errors.MAINLAND_WALLET_REFUSED,
            f"wallet {player.id} is registered in {player.region}: the profile refuses "
            "mainland wallets paying casinos",
            wallet_id=player.id,
        )


def third_party_payout(
    tx: Tx, rules: CasinoRules, casino: Casino, player: Wallet, payee: Wallet
) -> bool:
    """Is a cash-out of ``player``'s chips paid to ``payee`` a third-party payout
    (FATF/APG 2009: winnings paid to third parties)? It is when ``payee`` did
    not buy in at the casino in the gaming day; the profile's
    ``casino.third_party_payout.action`` refuses it, or it is alerted (True).
    Without that section the rule is off."""
    if rules.third_party_payout_action is None:
        return False
    day = gaming_day_of(tx.now(), rules.gaming_day_cutoff)
    cpd = casino_player_days
    bought = tx.conn.execute(
        sa.select(cpd.c.buy_ins).where(
            cpd.c.casino_id == casino.id, cpd.c.gaming_day == day, cpd.c.wallet_id == payee.id
        )
    ).scalar()
    if bought:
        return False
    if rules.third_party_payout_action == "refuse":
        raise errors.DomainError(
            errors.THIRD_PARTY_PAYOUT_REFUSED,
            f"wallet {payee.id} did not buy in at {casino.ref} on gaming day {day.isoformat()}: "
            f"the profile refuses paying it wallet {player.id}'s chips",
            field="pay_to",
            wallet_id=payee.id,
        )
    return True


def raise_third_party_payout(
    tx: Tx, casino: Casino, player: Wallet, payee: Wallet, op: CageOperation
) -> Alert:
    alert = raise_alert(
        tx,
        "third_party_payout",
        casino_id=casino.id,
        wallet_id=player.id,
        evidence={
            **_op_evidence(op),
            "holder_ref": holder_ref(tx, player.holder_id),
            "paid_to_wallet": payee.id,
            "paid_to_holder_ref": holder_ref(tx, payee.holder_id),
        },
        summary=f"wallet {player.id}'s chips ({format_amount(op.amount)}) cashed out to "
        f"wallet {payee.id}, which did not buy in",
        dedupe_key=f"third_party:{op.id}",
    )
    assert alert is not None, "a cash-out is recorded once"
    return alert


def pooling(
    tx: Tx, rules: CasinoRules, casino: Casino, player: Wallet, op: CageOperation
) -> Alert | None:
    """FATF/APG 2009, several people pooling chips: at a cash-out, the player
    was handed chips that gaming day by at least ``casino.pooling.min_contributors``
    other holders (once per player and day). Off without the profile's section."""
    if rules.pooling_min_contributors is None:
        return None
    ch = chip_handovers
    handed = tx.conn.execute(
        sa.select(ch.c.id, ch.c.from_wallet_id, ch.c.from_holder_id, ch.c.amount, ch.c.transfer_id)
        .where(
            ch.c.casino_id == casino.id,
            ch.c.gaming_day == op.gaming_day,
            ch.c.to_wallet_id == player.id,
            ch.c.from_holder_id != player.holder_id,
        )
        .order_by(ch.c.id)
    ).all()
    holders = sorted({h.from_holder_id for h in handed})
    if len(holders) < rules.pooling_min_contributors:
        return None
    refs = holder_refs(tx, set(holders))
    return raise_alert(
        tx,
        "chip_pooling",
        casino_id=casino.id,
        wallet_id=player.id,
        evidence={
            **_op_evidence(op),
            "holder_ref": holder_ref(tx, player.holder_id),
            # By their first wallets, in order.
            "contributors": sorted(refs.values(), key=lambda ref: int(ref.split("-w")[-1])),
            "handovers": [
                {
                    "chip_handover": h.id,
                    "from_wallet": h.from_wallet_id,
                    "amount": format_amount(h.amount),
                    "transfer_id": h.transfer_id,
                }
                for h in handed
            ],
        },
        summary=f"wallet {player.id} cashed out chips pooled from {len(holders)} other holders",
        dedupe_key=f"pooling:{casino.id}:{player.id}:{op.gaming_day.isoformat()}",
    )


def detect(
    tx: Tx, rules: CasinoRules, casino: Casino, player: Wallet, op: CageOperation
) -> list[Alert]:
    """Run the detection rules on a recorded operation; the alerts it raised."""
    found = [
        _large_transaction(tx, rules, casino, player, op),
        _structuring(tx, rules, casino, player, op),
        _minimal_play(tx, rules, casino, player, op),
        *_mainland(tx, rules, casino, player, op),
    ]
    return [a for a in found if a is not None]


def _currency(casino: Casino) -> dict:
    """Evidence of a casino whose chips are not CNY names their currency."""
    return {} if casino.chip_currency == fx.CNY else {"chip_currency": casino.chip_currency}


def _op_evidence(op: CageOperation) -> dict:
    return {
        "casino_transaction": op.id,
        "kind": op.kind,
        "at": op.at.isoformat(),
        "amount": format_amount(op.amount),
        **({"payout": format_amount(op.payout)} if op.kind == "play" else {}),
        **(
            {"ecny_amount": format_amount(op.ecny_amount), "rate": format_rate(op.rate)}
            if op.ecny_amount is not None and op.rate is not None and op.rate != 1
            else {}
        ),
        "transfer_ids": [t.id for t in op.transfers],
    }


def _large_transaction(tx, rules, casino, player, op) -> Alert | None:
    largest = max(op.amount, op.payout)
    threshold = fx.ltr_threshold(tx, rules, casino.chip_currency, op.at)
    if largest < threshold:
        return None
    mop = fx.mop_value(tx, casino.chip_currency, largest, op.at)
    return raise_alert(
        tx,
        "ltr",
        casino_id=casino.id,
        wallet_id=player.id,
        evidence={
            **_op_evidence(op),
            "amount_mop": format_amount(mop),
            "threshold_mop": format_amount(rules.ltr_threshold_mop),
            "threshold": format_amount(threshold),
            **_currency(casino),
            "wallet_class": player.wallet_class,
            "holder_ref": holder_ref(tx, player.holder_id),
        },
        summary=f"large transaction: {op.kind.replace('_', '-')} of {format_amount(largest)} "
        f"(MOP {format_amount(mop)}) by wallet {player.id} at {casino.ref}",
        dedupe_key=f"ltr:{op.id}",
        # A record to file, not a suspicion: no STR due time.
        due=False,
    )


def _structuring(tx, rules, casino, player, op) -> Alert | None:
    """Raised when the window's transactions first qualify together: the
    current one tips them over (they did not qualify without it)."""
    threshold = fx.ltr_threshold(tx, rules, casino.chip_currency, op.at)
    if op.kind == "play" or op.amount >= threshold:
        return None
    ct = casino_transactions
    rows = tx.conn.execute(
        sa.select(ct.c.id, ct.c.wallet_id, ct.c.at, ct.c.amount, ct.c.ecny_transfer_id)
        .where(
            ct.c.casino_id == casino.id,
            ct.c.holder_id == player.holder_id,
            ct.c.kind == op.kind,
            ct.c.at >= op.at - timedelta(hours=rules.structuring_window_hours),
            ct.c.at <= op.at,
            ct.c.amount < threshold,
        )
        # Without it SQLite returns these rows in id order anyway (the mutant survives
        # there); PostgreSQL need not, and the evidence lists them in order.
        .order_by(ct.c.id)  # pragma: no mutate
    ).all()

    def qualifies(rs) -> bool:
        return (
            len(rs) >= rules.structuring_min_transactions and sum(r.amount for r in rs) >= threshold
        )

    if not qualifies(rows) or qualifies([r for r in rows if r.id != op.id]):
        return None
    total = sum(r.amount for r in rows)
    return raise_alert(
        tx,
        "structuring",
        casino_id=casino.id,
        wallet_id=player.id,
        evidence={
            "holder_ref": holder_ref(tx, player.holder_id),
            "kind": op.kind,
            "window_hours": rules.structuring_window_hours,
            "threshold": format_amount(threshold),
            **_currency(casino),
            "total": format_amount(total),
            "transactions": [
                {
                    "casino_transaction": r.id,
                    "wallet_id": r.wallet_id,
                    "at": r.at.isoformat(),
                    "amount": format_amount(r.amount),
                    "transfer_id": r.ecny_transfer_id,
                }
                for r in rows
            ],
        },
        summary=f"structuring: {len(rows)} {op.kind.replace('_', '-')}s of "
        f"{holder_ref(tx, player.holder_id)} at {casino.ref} within {rules.structuring_window_hours} h total "
        f"{format_amount(total)}, each below {format_amount(threshold)}",
        dedupe_key=f"structuring:{op.id}",
    )


@dataclass(frozen=True)
class _Totals:
    buy_ins: int
    cash_outs: int
    wagered: int


def _holder_day(tx, casino, player, op) -> _Totals:
    """The holder's totals of the gaming day at this casino, all its wallets together."""
    cpd = casino_player_days
    row = tx.conn.execute(
        sa.select(
            *(
                sa.func.coalesce(sa.func.sum(cpd.c[c]), 0).label(c)
                for c in ("buy_ins", "cash_outs", "wagered")
            )
        ).where(
            cpd.c.casino_id == casino.id,
            cpd.c.gaming_day == op.gaming_day,
            cpd.c.holder_id == player.holder_id,
        )
    ).one()
    # int(): PostgreSQL's SUM of a BIGINT is a NUMERIC (a Decimal).
    return _Totals(*(int(v) for v in row))


def _minimal_play(tx, rules, casino, player, op) -> Alert | None:
    """SPEC.md §6 counts the holder's buy-ins, cash-outs and bets of the gaming
    day: a holder's wallets at the casino are one player (as for structuring)."""
    if op.kind != "cash_out":
        return None
    day = _holder_day(tx, casino, player, op)
    buy_ins = Decimal(day.buy_ins)
    if not (
        day.buy_ins > 0
        and day.cash_outs >= buy_ins * rules.minimal_play_cash_out_ratio
        and day.wagered < buy_ins * rules.minimal_play_bet_ratio
    ):
        return None
    ct = casino_transactions
    ops = tx.conn.execute(
        sa.select(ct)
        .where(
            ct.c.casino_id == casino.id,
            ct.c.gaming_day == op.gaming_day,
            ct.c.holder_id == player.holder_id,
        )
        .order_by(ct.c.id)
    ).all()
    return raise_alert(
        tx,
        "minimal_play",
        casino_id=casino.id,
        wallet_id=player.id,
        evidence={
            "holder_ref": holder_ref(tx, player.holder_id),
            "gaming_day": op.gaming_day.isoformat(),
            "buy_ins": format_amount(day.buy_ins),
            "cash_outs": format_amount(day.cash_outs),
            "wagered": format_amount(day.wagered),
            "cash_out_ratio": format_rate(rules.minimal_play_cash_out_ratio),
            "bet_ratio": format_rate(rules.minimal_play_bet_ratio),
            "transactions": [
                {
                    "casino_transaction": r.id,
                    "wallet_id": r.wallet_id,
                    "kind": r.kind,
                    "at": r.at.isoformat(),
                    "amount": format_amount(r.amount),
                    "transfer_ids": operation_transfer_ids(r),
                }
                for r in ops
            ],
        },
        summary=f"minimal play: {holder_ref(tx, player.holder_id)} (wallet {player.id}) cashed out "
        f"{format_amount(day.cash_outs)} of {format_amount(day.buy_ins)} bought in at "
        f"{casino.ref} on gaming day {op.gaming_day.isoformat()}, wagering "
        f"{format_amount(day.wagered)}",
        dedupe_key=f"minimal_play:{casino.id}:{player.holder_id}:{op.gaming_day.isoformat()}",
    )


def _mainland(tx, rules, casino, player, op) -> list[Alert | None]:
    if op.kind != "buy_in":
        return []
    return mainland_alerts(
        tx,
        rules,
        casino,
        player,
        gaming_day=op.gaming_day,
        amount=op.ecny_amount if op.ecny_amount is not None else op.amount,
        evidence=_op_evidence(op),
        did="bought in",
    )


def mainland_alerts(
    tx: Tx,
    rules: CasinoRules,
    casino: Casino,
    player: Wallet,
    *,
    gaming_day: date,
    amount: int,
    evidence: dict,
    did: str,
) -> list[Alert | None]:
    """A mainland wallet paid the casino at its cage (a buy-in, or a credit
    repayment, already recorded): ``mainland_wallet`` (once per player, casino
    and gaming day) and ``mainland_yearly_cap`` when the holder's payments of
    the year (buy-ins and credit repayments, at every casino, in e-CNY) pass the
    cap with this one (``amount``: its e-CNY; once per holder and year)."""
    if player.region not in rules.mainland_regions:
        return []
    presence = raise_alert(
        tx,
        "mainland_wallet",
        casino_id=casino.id,
        wallet_id=player.id,
        evidence={**evidence, "region": player.region, "gaming_day": gaming_day.isoformat()},
        summary=f"mainland wallet {player.id} ({player.region}) {did} at {casino.ref} "
        f"on gaming day {gaming_day.isoformat()}",
        dedupe_key=f"mainland_wallet:{casino.id}:{player.id}:{gaming_day.isoformat()}",
    )
    year = gaming_day.year
    first, last = date(year, 1, 1), date(year, 12, 31)
    # In e-CNY (fen): what the holder paid, whatever the casinos' chip currencies.
    ct, cm, w = casino_transactions, credit_movements, wallets
    bought = sa.select(sa.func.coalesce(sa.func.sum(ct.c.ecny_amount), 0)).where(
        ct.c.holder_id == player.holder_id,
        ct.c.kind == "buy_in",
        ct.c.gaming_day >= first,
        ct.c.gaming_day <= last,
    )
    repaid = (
        sa.select(sa.func.coalesce(sa.func.sum(cm.c.ecny_amount), 0))
        .select_from(cm.join(w, w.c.id == cm.c.wallet_id))
        .where(
            w.c.holder_id == player.holder_id,
            cm.c.kind == "repayment",
            cm.c.gaming_day >= first,
            cm.c.gaming_day <= last,
        )
    )
    total = sum(int(tx.conn.execute(q).scalar_one()) for q in (bought, repaid))
    cap = rules.mainland_yearly_cap
    passed = None
    if total - amount <= cap < total:
        passed = raise_alert(
            tx,
            "mainland_yearly_cap",
            casino_id=casino.id,
            wallet_id=player.id,
            evidence={
                **evidence,
                "holder_ref": holder_ref(tx, player.holder_id),
                "year": year,
                "buy_ins_this_year": format_amount(total),
                "cap": format_amount(cap),
                "cap_usd": format_amount(rules.mainland_yearly_cap_usd),
            },
            summary=f"mainland {holder_ref(tx, player.holder_id)} passed the yearly cap of "
            f"{format_amount(cap)} (USD {format_amount(rules.mainland_yearly_cap_usd)}) "
            f"with {format_amount(total)} of buy-ins and credit repayments in {year}",
            dedupe_key=f"mainland_yearly_cap:{player.holder_id}:{year}",
        )
    return [presence, passed]
