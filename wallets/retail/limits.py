"""Wallet-class limits, enforced at posting time.

Each class has a balance cap, a single-payment cap, and daily and annual caps
on outgoing payments (the active rule profile's figures, possibly lowered by
the wallet's operator). Days and years are those of the sandbox clock in UTC+8.

What counts:
  - the balance cap: every credit to a wallet (funding, payments received,
    captures, refunds, sweeps), on the wallet's balance plus its open holds;
  - the single-payment, daily and annual caps: payments and holds, counted
    when they are made; a void, an expiry or the uncaptured part of a hold
    gives its amount back to the day it was counted against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import local_date
from ..core.db import Tx, Upsert, any_of
from ..core.preconditions import IfMatch, check, etag_of
from ..core.schema import holds, operator_limits, wallet_usage
from ..ledger.money import format_amount
from ..rules import active_profile
from ..rules.profile import LIMIT_NAMES, Limits
from ..tier1 import operators as ops

# Compiled once, run at the driver (Tx.rows): building and running a statement
# through SQLAlchemy dominates a small posting, and a batch reads and writes the
# usage of thousands of wallets.
_OVERRIDES = sa.select(
    operator_limits.c.operator_id,
    operator_limits.c.wallet_class,
    operator_limits.c.balance_cap,
    operator_limits.c.single_payment,
    operator_limits.c.daily_out,
    operator_limits.c.annual_out,
).where(any_of(operator_limits.c.operator_id, "ids"))
# Each condition one index term: SQLite's planner searches the primary key with
# a list's wallets only outside an OR (the CASE tells the periods apart), and
# only when no other index matches (the holds' status is summed, not filtered on).
_DAY = sa.bindparam("day", type_=wallet_usage.c.period_start.type)
_YEAR = sa.bindparam("year", type_=wallet_usage.c.period_start.type)
_USAGE = sa.select(
    wallet_usage.c.wallet_id, wallet_usage.c.period, wallet_usage.c.amount_out
).where(
    any_of(wallet_usage.c.wallet_id, "ids"),
    wallet_usage.c.period.in_([sa.literal("day"), sa.literal("year")]),
    wallet_usage.c.period_start.in_([_DAY, _YEAR]),
    wallet_usage.c.period_start == sa.case((wallet_usage.c.period == "day", _DAY), else_=_YEAR),
)
_OPEN_HOLDS = (
    sa.select(
        holds.c.wallet_id,
        sa.func.sum(sa.case((holds.c.status == "pending", holds.c.amount), else_=0)),
    )
    .where(any_of(holds.c.wallet_id, "ids"))
    .group_by(holds.c.wallet_id)
)
USAGE_COLUMNS = ("wallet_id", "period", "period_start", "amount_out")
_USAGE_UPSERT = Upsert(
    lambda insert: (
        insert(wallet_usage)
        .values({c: sa.bindparam(c) for c in USAGE_COLUMNS})
        .on_conflict_do_update(
            index_elements=["wallet_id", "period", "period_start"],
            set_={
                "amount_out": wallet_usage.c.amount_out + sa.literal_column("excluded.amount_out")
            },
        )
    )
)
_USAGE_GIVE_BACK = (
    wallet_usage.update()
    .where(
        wallet_usage.c.wallet_id == sa.bindparam("_w"),
        wallet_usage.c.period == sa.bindparam("_p"),
        wallet_usage.c.period_start == sa.bindparam("_s"),
    )
    .values(amount_out=wallet_usage.c.amount_out + sa.bindparam("_d"))
)


def operator_overrides(tx: Tx, operator_ids: Iterable[int]) -> dict[tuple[int, int], Limits]:
    ids = set(operator_ids)
    if not ids:
        return {}
    return {
        (op, cls): Limits(balance_cap, single, daily, annual)
        for op, cls, balance_cap, single, daily, annual in tx.rows(_OVERRIDES, ids=sorted(ids))
    }


def effective(tx: Tx, operator_id: int, wallet_class: int) -> Limits:
    base = active_profile(tx).wallet_limits[wallet_class]
    override = operator_overrides(tx, [operator_id]).get((operator_id, wallet_class))
    return base.lowered_by(override) if override else base


def set_operator_limits(
    tx: Tx,
    operator_id: int,
    wallet_class: int,
    limits: Limits,
    *,
    if_match: IfMatch | None = None,
) -> None:
    """An operator may set limits below the profile's, never above. With
    ``if_match``, only while its limits are at one of its ETags (412). Its
    row is locked first: writes of its limits take their turns."""
    ops.lock_row(tx, operator_id)
    if if_match is not None:
        op = ops.get_by_id(tx, operator_id)
        check(if_match, etag(tx, op), f"operator {op.code}'s limits")
    base = active_profile(tx).wallet_limits[wallet_class]
    bad = {}
    for name in LIMIT_NAMES:
        mine, cap = getattr(limits, name), getattr(base, name)
        if mine is not None and cap is not None and mine > cap:
            bad[name] = [f"must not exceed the profile's {format_amount(cap)}"]
    if bad:
        raise errors.DomainError(
            errors.VALIDATION_FAILED, "an operator may only lower the profile's limits", errors=bad
        )
    ol = operator_limits
    tx.conn.execute(
        ol.delete().where(ol.c.operator_id == operator_id, ol.c.wallet_class == wallet_class)
    )
    if any(v is not None for v in limits.as_dict().values()):
        tx.conn.execute(
            ol.insert().values(
                operator_id=operator_id, wallet_class=wallet_class, **limits.as_dict()
            )
        )
    outbox.emit(
        tx,
        outbox.Event(
            "operator.limits_set",
            limits_document(tx, ops.get_by_id(tx, operator_id)),
            operator_id=operator_id,
            central_bank=True,
        ),
    )


def _amounts(limits: Limits) -> dict[str, str | None]:
    return {k: None if v is None else format_amount(v) for k, v in limits.as_dict().items()}


def etag(tx: Tx, op: ops.Operator) -> str:
    """The ETag of the operator's limits, every class's, as
    ``GET /v1/operators/{code}/limits`` renders them: a write of one class's
    limits changes it, and so does a change of the rule profile's."""
    return etag_of("limits", limits_document(tx, op))


def limits_document(tx: Tx, op: ops.Operator) -> dict:
    """An operator's limits as ``GET /v1/operators/{code}/limits`` renders them."""
    profile = active_profile(tx)
    return {
        "operator": op.code,
        "profile": profile.name,
        "classes": [
            {
                "wallet_class": c,
                "profile": _amounts(profile.wallet_limits[c]),
                "effective": _amounts(effective(tx, op.id, c)),
            }
            for c in (1, 2, 3, 4)
        ],
    }


def usage(tx: Tx, wallet_ids: Iterable[int], day: date) -> dict[tuple[int, str], int]:
    ids = set(wallet_ids)
    if not ids:
        return {}
    rows = tx.rows(_USAGE, ids=sorted(ids), day=day, year=date(day.year, 1, 1))
    return {(w, p): amount for w, p, amount in rows}


def open_holds(tx: Tx, wallet_ids: Iterable[int]) -> dict[int, int]:
    ids = set(wallet_ids)
    if not ids:
        return {}
    rows = tx.rows(_OPEN_HOLDS, ids=sorted(ids))
    return {w: int(total) for w, total in rows}


@dataclass
class _WalletState:
    wallet_id: int
    limits: Limits
    held: int
    day_out: int
    year_out: int


def class_limits(wallets: Iterable) -> Callable[[Tx], LimitBook]:
    """What ``Posting(limits=...)`` takes: the class limits of these wallets,
    read when the posting has locked their accounts."""
    return lambda tx: LimitBook(tx, wallets)


class LimitBook:
    """The limits and running usage of the wallets one posting touches, read
    when the posting has locked their accounts (Posting builds it, by ``class_limits``)."""

    def __init__(self, tx: Tx, wallets: Iterable) -> None:
        self.tx = tx
        self.day = local_date(tx.now())
        wallets = {w.id: w for w in wallets}
        profile = active_profile(tx)
        overrides = operator_overrides(tx, {w.operator_id for w in wallets.values()})
        used = usage(tx, wallets, self.day)
        held = open_holds(tx, wallets)
        self.by_wallet: dict[int, _WalletState] = {}
        self.by_account: dict[int, _WalletState] = {}
        for w in wallets.values():
            limits = profile.wallet_limits[w.wallet_class]
            override = overrides.get((w.operator_id, w.wallet_class))
            state = _WalletState(
                wallet_id=w.id,
                limits=limits.lowered_by(override) if override else limits,
                held=held.get(w.id, 0),
                day_out=used.get((w.id, "day"), 0),
                year_out=used.get((w.id, "year"), 0),
            )
            self.by_wallet[w.id] = state
            self.by_account[w.account_id] = state
        self._deltas: dict[tuple[int, str, date], int] = {}

    def check(self, draft, net: dict[int, int], balance_of: Callable[[int], int]):
        """The first limit the transfer would break, as (code, detail, extra), or None."""
        w: _WalletState | None
        if draft.outgoing > 0 and draft.from_wallet_id in self.by_wallet:
            w = self.by_wallet[draft.from_wallet_id]
            amount = draft.outgoing
            for name, used in (
                ("single_payment", 0),
                ("daily_out", w.day_out),
                ("annual_out", w.year_out),
            ):
                cap = getattr(w.limits, name)
                if cap is not None and used + amount > cap:
                    return _exceeded(w.wallet_id, name, cap, used + amount)
        for account_id, delta in net.items():
            w = self.by_account.get(account_id)
            if w is None or w.limits.balance_cap is None:
                continue
            # What the wallet holds (available and held) grows by this much; a
            # release of its own held funds does not grow it.
            growth = delta + self._held_change(draft, w.wallet_id)
            if growth <= 0:
                continue
            would_be = balance_of(account_id) + w.held + growth
            if would_be > w.limits.balance_cap:
                return _exceeded(w.wallet_id, "balance_cap", w.limits.balance_cap, would_be)
        return None

    @staticmethod
    def _held_change(draft, wallet_id: int) -> int:
        return draft.held_delta if draft.from_wallet_id == wallet_id else 0

    def apply(self, draft, undo: list | None) -> None:
        w = self.by_wallet.get(draft.from_wallet_id)
        if w is None:
            return
        day = draft.usage_day or self.day
        if undo is not None:
            before = replace(w)
            undo.append(lambda: self._restore(w, before, draft, day))
        if draft.outgoing:
            if day == self.day:
                w.day_out += draft.outgoing
            if day.year == self.day.year:
                w.year_out += draft.outgoing
            self._add(w.wallet_id, "day", day, draft.outgoing)
            self._add(w.wallet_id, "year", date(day.year, 1, 1), draft.outgoing)
        # Equivalent as "= held_delta" or "-= held_delta": no posting credits a wallet
        # after changing its held total (a hold's, a capture's and a release's own
        # growth is never above zero), so no later check of the posting reads it.
        w.held += draft.held_delta  # pragma: no mutate

    def _restore(self, w: _WalletState, before: _WalletState, draft, day: date) -> None:
        w.day_out, w.year_out, w.held = before.day_out, before.year_out, before.held
        if draft.outgoing:
            self._add(w.wallet_id, "day", day, -draft.outgoing)
            self._add(w.wallet_id, "year", date(day.year, 1, 1), -draft.outgoing)

    def _add(self, wallet_id: int, period: str, start: date, amount: int) -> None:
        key = (wallet_id, period, start)
        self._deltas[key] = self._deltas.get(key, 0) + amount

    def flush(self) -> None:
        """Write the usage changes: new amounts are upserted; amounts given back
        (always to a period that counted them) update in place, since the
        row's CHECK (amount_out >= 0) is tested before an upsert's conflict."""
        added, given_back = [], []
        for (w, p, s), d in self._deltas.items():
            if d > 0:
                added.append((w, p, s, d))
            # Equivalent as "d <= 0": giving back 0 adds 0 to the row, or finds none.
            elif d < 0:  # pragma: no mutate
                given_back.append({"_w": w, "_p": p, "_s": s, "_d": d})
        self.tx.run_many(_USAGE_UPSERT, USAGE_COLUMNS, added)
        if given_back:
            self.tx.conn.execute(_USAGE_GIVE_BACK, given_back)
        self._deltas.clear()


def _exceeded(wallet_id: int, name: str, cap: int, would_be: int):
    label = name.replace("_", " ")
    return (
        errors.LIMIT_EXCEEDED,
        f"wallet {wallet_id}: {label} of {format_amount(cap)} would be exceeded ({format_amount(would_be)})",
        {
            "wallet_id": wallet_id,
            "limit": name,
            "cap": format_amount(cap),
            "would_be": format_amount(would_be),
        },
    )
