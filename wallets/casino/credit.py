"""Gaming credit (Law 7/2024): only concessionaires may grant it.

Law 7/2024 art. 2: there is credit when a concessionaire transfers gaming
chips to a borrower without immediate payment in money; money includes
electronic payment instruments (so an e-CNY buy-in is not credit). In the
sandbox a casino is a concessionaire:

- ``set_line``: the casino (its cage, or the admin) grants a player a credit
  line (a limit; 0 closes it to new draws);
- ``draw``: chips issued to the player against the line, no e-CNY paid; the
  outstanding credit grows, never past the limit (``credit_limit_exceeded``);
- ``repay``: e-CNY from the player's wallet to the casino's, with the holder's
  payment code as for a buy-in; the outstanding credit shrinks, never below 0
  (``credit_repayment_exceeds_outstanding``).

A draw is a casino transaction like a buy-in for the blocking rules (age,
exclusions, the identified wallet at the LTR threshold) and for the LTR itself
(DICJ Instruction 1/2016 names gaming credit). Each movement is recorded in
``credit_movements``, which the gaming-day close reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import gaming_day_of
from ..core.db import Tx, Upsert, inserted_id
from ..core.preconditions import IfMatch, check, etag_of
from ..core.principal import Principal
from ..core.schema import credit_lines, credit_movements
from ..ledger.journal import PostedTransfer
from ..ledger.money import format_amount, format_rate
from ..retail import payment_codes
from ..retail import wallet as wl
from ..supervision.alerts import Alert, raise_alert
from . import cage, fx, registry
from . import rules as cage_rules
from .model import Casino

DRAW, REPAYMENT = "draw", "repayment"


@dataclass(frozen=True)
class CreditLine:
    casino_ref: str
    wallet_id: int
    limit: int
    outstanding: int

    @property
    def available(self) -> int:
        return max(self.limit - self.outstanding, 0)


@dataclass(frozen=True)
class CreditMovement:
    id: int
    casino_ref: str
    kind: str
    wallet_id: int
    gaming_day: date
    at: datetime
    amount: int
    outstanding: int
    transfers: list[PostedTransfer]
    alerts: list[Alert]
    # Repayments: the e-CNY paid (fen) and the rate (chips per CNY).
    ecny_amount: int | None = None
    rate: Decimal | None = None


_SET_LINE = Upsert(
    lambda insert: (
        insert(credit_lines)
        .values(
            casino_id=sa.bindparam("casino_id"),
            wallet_id=sa.bindparam("wallet_id"),
            credit_limit=sa.bindparam("credit_limit"),
            outstanding=0,
            updated_at=sa.bindparam("now"),
        )
        .on_conflict_do_update(
            index_elements=["casino_id", "wallet_id"],
            set_={
                "credit_limit": sa.literal_column("excluded.credit_limit"),
                "updated_at": sa.literal_column("excluded.updated_at"),
            },
        )
    )
)


def set_line(
    tx: Tx,
    ref: str,
    actor: Principal,
    wallet_id: int,
    limit: int,
    *,
    if_match: IfMatch | None = None,
) -> CreditLine:
    """Grant (or change) a player's credit line at the casino. With
    ``if_match``, only while the line exists at one of its ETags (412)."""
    c, _ = cage.for_cage(tx, ref, actor)
    player = cage.player_wallet(tx, wallet_id)
    current = _line(tx, c, player.id, lock=True)
    check(
        if_match,
        etag(current) if current is not None else None,
        f"wallet {player.id}'s credit line at {c.ref}",
    )
    tx.run(_SET_LINE, casino_id=c.id, wallet_id=player.id, credit_limit=limit, now=tx.now())
    line = _line(tx, c, player.id)
    assert line is not None
    outbox.emit(tx, outbox.Event("credit_line.set", line_document(line), casino_ref=c.ref))
    return line


def etag(line: CreditLine) -> str:
    """The credit line's ETag: of its limit, which its writes set; not of what
    is outstanding, which draws and repayments move."""
    return etag_of(
        "credit-line", {"casino": line.casino_ref, "player": line.wallet_id, "limit": line.limit}
    )


def line_document(line: CreditLine) -> dict[str, object]:
    """The credit line as ``GET /v1/casinos/{ref}/credit-lines`` lists it (``CreditLineOut``)."""
    return {
        "casino": line.casino_ref,
        "player": line.wallet_id,
        "limit": format_amount(line.limit),
        "outstanding": format_amount(line.outstanding),
        "available": format_amount(line.available),
    }


def _line(tx: Tx, c: Casino, wallet_id: int, *, lock: bool = False) -> CreditLine | None:
    cl = credit_lines
    stmt = sa.select(cl.c.credit_limit, cl.c.outstanding).where(
        cl.c.casino_id == c.id, cl.c.wallet_id == wallet_id
    )
    row = tx.conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        return None
    return CreditLine(c.ref, wallet_id, row.credit_limit, row.outstanding)


def _existing_line(tx: Tx, c: Casino, wallet_id: int) -> CreditLine:
    line = _line(tx, c, wallet_id, lock=True)
    if line is None:
        raise errors.DomainError(
            errors.CREDIT_LINE_NOT_FOUND,
            f"wallet {wallet_id} has no credit line at {c.ref}",
            field="player",
        )
    return line


def lines(
    tx: Tx, ref: str, actor: Principal, after: int | None = None, limit: int | None = None
) -> list[CreditLine]:
    """The casino's credit lines by player wallet id, those after ``after``, at most ``limit``."""
    c = registry.get(tx, ref, actor)
    cl = credit_lines
    q = (
        sa.select(cl.c.wallet_id, cl.c.credit_limit, cl.c.outstanding)
        .where(cl.c.casino_id == c.id)
        .order_by(cl.c.wallet_id)
    )
    if after is not None:
        q = q.where(cl.c.wallet_id > after)
    rows = tx.conn.execute(q.limit(limit)).all()
    return [CreditLine(c.ref, r.wallet_id, r.credit_limit, r.outstanding) for r in rows]


def draw(tx: Tx, ref: str, actor: Principal, *, wallet_id: int, amount: int) -> CreditMovement:
    """Chips to the player on credit: no e-CNY moves; the outstanding grows."""
    c, rules = cage.for_cage(tx, ref, actor)
    player = cage.player_wallet(tx, wallet_id)
    line = _existing_line(tx, c, player.id)
    if line.outstanding + amount > line.limit:
        raise errors.DomainError(
            errors.CREDIT_LIMIT_EXCEEDED,
            f"a draw of {format_amount(amount)} would take wallet {player.id}'s credit at "
            f"{c.ref} to {format_amount(line.outstanding + amount)}, past its limit of "
            f"{format_amount(line.limit)}",
            limit=format_amount(line.limit),
            outstanding=format_amount(line.outstanding),
        )
    # A draw is a buy-in on credit: the rules of a buy-in apply, the mainland
    # refusal too (a debt its holder could not repay in e-CNY is never made).
    cage_rules.check_player(tx, rules, c, player, amount=amount, gaming=True, paying=True)
    if c.chips_approved is not None:
        cage.check_chips_approved(tx, c, amount)
    chips = cage.player_chip_account(tx, c, player)
    reference = f"gaming credit at {c.ref}"
    (issue,) = cage.post_linked(
        tx,
        [cage.chip_draft(c, "chip_issue", amount, c.chip_account_id, chips, player, reference)],
        lock=[player.account_id],
        parties=[(player, "playing")],
        limits=False,
    )
    return _record(tx, c, rules, player, DRAW, amount, issue, line.outstanding + amount)


def repay(
    tx: Tx,
    ref: str,
    actor: Principal,
    *,
    wallet_id: int,
    amount: int,
    payment_code: str | None,
) -> CreditMovement:
    """e-CNY from the player's wallet to the casino's against the outstanding
    credit; the debit needs the holder's payment code, as a buy-in does.
    ``amount`` is the debt repaid, in chips of the casino's currency; the e-CNY
    paid is its value at the rate in force, rounded up (the casino's favour;
    as much for CNY chips)."""
    c, rules = cage.for_cage(tx, ref, actor)
    rate = fx.rate_at(tx, c.chip_currency, tx.now())
    ecny = fx.repayment_ecny(amount, rate)
    fx.check_convertible(ecny, amount, rate, c.chip_currency, "chips of debt into CNY")
    if payment_code is not None or rules.payment_code_required:
        payment_codes.consume(tx, payment_code, wallet_id=wallet_id, amount=ecny, casino_id=c.id)
    player = cage.player_wallet(tx, wallet_id)
    # A mainland wallet paying the casino at its cage, as a buy-in is (returning
    # money owed: no age or exclusion check).
    cage_rules.check_player(tx, rules, c, player, amount=amount, gaming=False, paying=True)
    line = _existing_line(tx, c, player.id)
    if amount > line.outstanding:
        raise errors.DomainError(
            errors.CREDIT_REPAYMENT_EXCEEDS_OUTSTANDING,
            f"wallet {player.id} owes {format_amount(line.outstanding)} at {c.ref}",
            outstanding=format_amount(line.outstanding),
        )
    merchant = wl.existing(tx, c.merchant_wallet_id)
    payment = cage.ecny_payment(tx, player, merchant, ecny, f"credit repayment at {c.ref}")
    payment.casino_ref = c.ref  # a cage operation's transfer: the casino's event
    (pay,) = cage.post_linked(
        tx,
        [payment],
        lock=[],
        parties=[(player, "paying"), (merchant, "receiving")],
        limits=True,
    )
    return _record(
        tx,
        c,
        rules,
        player,
        REPAYMENT,
        amount,
        pay,
        line.outstanding - amount,
        conversion=(ecny, rate),
    )


def _record(
    tx: Tx,
    c: Casino,
    rules,
    player: wl.Wallet,
    kind: str,
    amount: int,
    posted: PostedTransfer,
    outstanding: int,
    conversion: tuple[int, Decimal] | None = None,
) -> CreditMovement:
    ecny_amount, rate = conversion if conversion else (None, None)
    now = tx.now()
    day = gaming_day_of(now, rules.gaming_day_cutoff)
    tx.conn.execute(
        credit_lines.update()
        .where(credit_lines.c.casino_id == c.id, credit_lines.c.wallet_id == player.id)
        .values(outstanding=outstanding, updated_at=now)
    )
    movement_id = inserted_id(
        tx.conn.execute(
            credit_movements.insert().values(
                casino_id=c.id,
                wallet_id=player.id,
                kind=kind,
                amount=amount,
                at=now,
                gaming_day=day,
                transfer_id=posted.id,
                ecny_amount=ecny_amount,
                rate=None if rate is None else format_rate(rate),
            )
        )
    )
    alerts: list[Alert] = []
    threshold = fx.ltr_threshold(tx, rules, c.chip_currency, now)
    if amount >= threshold:  # DICJ Instruction 1/2016 names gaming credit
        alert = raise_alert(
            tx,
            "ltr",
            casino_id=c.id,
            wallet_id=player.id,
            evidence={
                "credit_movement": movement_id,
                "kind": f"credit_{kind}",
                "at": now.isoformat(),
                "amount": format_amount(amount),
                "amount_mop": format_amount(fx.mop_value(tx, c.chip_currency, amount, now)),
                "threshold": format_amount(threshold),
                "transfer_ids": [posted.id],
            },
            summary=f"gaming credit {kind} of {format_amount(amount)} at {c.ref}: "
            "large transaction report",
            dedupe_key=f"ltr:credit:{movement_id}",
            due=False,
        )
        alerts = [alert] if alert else []
    if kind == REPAYMENT:  # a payment to the casino at its cage, as a buy-in is
        evidence = {
            "credit_movement": movement_id,
            "kind": f"credit_{kind}",
            "at": now.isoformat(),
            "amount": format_amount(amount),
            "transfer_ids": [posted.id],
        }
        found = cage_rules.mainland_alerts(
            tx,
            rules,
            c,
            player,
            gaming_day=day,
            amount=amount if ecny_amount is None else ecny_amount,
            evidence=evidence,
            did="repaid gaming credit",
        )
        alerts += [a for a in found if a is not None]
    return CreditMovement(
        id=movement_id,
        casino_ref=c.ref,
        kind=kind,
        wallet_id=player.id,
        gaming_day=day,
        at=now,
        amount=amount,
        outstanding=outstanding,
        transfers=[posted],
        alerts=alerts,
        ecny_amount=ecny_amount,
        rate=rate,
    )


def day_totals(tx: Tx, c: Casino, start: datetime, end: datetime) -> tuple[int, int]:
    """Credit drawn and repaid at the casino over [start, end)."""
    cm = credit_movements
    rows = dict(
        tx.conn.execute(
            sa.select(cm.c.kind, sa.func.sum(cm.c.amount))
            .where(cm.c.casino_id == c.id, cm.c.at >= start, cm.c.at < end)
            .group_by(cm.c.kind)
        ).all()
    )
    return int(rows.get(DRAW) or 0), int(rows.get(REPAYMENT) or 0)


def draws_before(tx: Tx, c: Casino, end: datetime) -> int:
    """Chips issued on credit before ``end`` (the cage's records count them)."""
    cm = credit_movements
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(cm.c.amount), 0)).where(
                cm.c.casino_id == c.id, cm.c.kind == DRAW, cm.c.at < end
            )
        ).scalar_one()
    )


def outstanding(tx: Tx, c: Casino) -> int:
    cl = credit_lines
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(cl.c.outstanding), 0)).where(
                cl.c.casino_id == c.id
            )
        ).scalar_one()
    )


def large_movements(
    tx: Tx, c: Casino, day: date, threshold_at: Callable[[datetime], int]
) -> list[tuple[int, int]]:
    """The day's draws and repayments at or above the LTR threshold in force at
    their time (``threshold_at``, in chips): (id, transfer id)."""
    cm = credit_movements
    return [
        (r.id, r.transfer_id)
        for r in tx.conn.execute(
            sa.select(cm.c.id, cm.c.transfer_id, cm.c.amount, cm.c.at)
            .where(cm.c.casino_id == c.id, cm.c.gaming_day == day)
            .order_by(cm.c.id)
        )
        if r.amount >= threshold_at(r.at)
    ]


def day_repaid_ecny(tx: Tx, c: Casino, start: datetime, end: datetime) -> int:
    """The e-CNY paid in credit repayments at the casino over [start, end)."""
    cm = credit_movements
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(cm.c.ecny_amount), 0)).where(
                cm.c.casino_id == c.id,
                cm.c.kind == REPAYMENT,
                cm.c.at >= start,
                cm.c.at < end,
            )
        ).scalar_one()
    )
