"""Settlement between operators (SPEC.md §5; Mojaloop's model, DOMAIN.md §5).

Two models, chosen per sandbox:

- ``gross`` (the default): "payment is settlement" — a cross-operator
  payment moves the operators' tier-1 positions in the same transaction.
- ``deferred_net``: the tier-1 moves wait. Each cross-operator transfer
  counts in the one OPEN settlement window (gross sent and received per
  operator); an operator's net debit in the window may not pass its net debit
  cap (NDC). Closing the window (OPEN -> CLOSED -> SETTLED) computes the
  multilateral net positions — they sum to zero — and posts them in tier 1
  through the central bank's clearing account ``CB:SETTLEMENT``; a new window
  opens at once.

Until a window is settled, each operator's tier-1 position differs from its
vault + wallets + holds by exactly minus its net position in the window
(invariant 4 of SPEC.md §3).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from types import EllipsisType

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import SANDBOX_TZ
from ..core.db import Tx, inserted_id
from ..core.preconditions import IfMatch, check, etag_of
from ..core.schema import (
    accounts,
    journal_entries,
    operators,
    sandbox,
    settlement_windows,
    transfers,
    window_positions,
)
from ..ledger.accounts import ECNY
from ..ledger.money import AmountError, DecimalSetting
from ..ledger.money import format_amount as fmt
from ..ledger.posting import Leg, Posting, TransferDraft, register_deferred_book
from ..supervision.alerts import raise_alert

GROSS, DEFERRED_NET = "gross", "deferred_net"
MODELS = (GROSS, DEFERRED_NET)
OPEN, CLOSED, SETTLED = "OPEN", "CLOSED", "SETTLED"
WINDOW_STATUSES = (OPEN, CLOSED, SETTLED)
CB_SETTLEMENT = "CB:SETTLEMENT"


# ---- settings ------------------------------------------------------------------------


NDC_RESERVE_RATIO = DecimalSetting("ndc_reserve_ratio", Decimal(0), Decimal(100), places=4)
NDC_ALERT_PERCENT = DecimalSetting("ndc_alert_percent", Decimal(1), Decimal(100), places=2)
# The daily cut-off: a local time (UTC+8) written HH:MM, as the API's schema says.
CUTOFF_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def check_setting(setting: DecimalSetting, text: object) -> Decimal:
    try:
        return setting.parse(text)
    except AmountError as exc:
        raise _invalid(setting.name, str(exc)) from exc


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


@dataclass(frozen=True)
class Settings:
    model: str
    ndc_reserve_ratio: str
    ndc_alert_percent: str
    cutoff: str | None  # HH:MM in UTC+8


def settings(tx: Tx) -> Settings:
    row = tx.sandbox
    return Settings(
        row.settlement_model, row.ndc_reserve_ratio, row.ndc_alert_percent, row.settlement_cutoff
    )


def settings_etag(s: Settings) -> str:
    """The ETag of the settings, as ``GET /v1/settlement/settings`` renders them."""
    return etag_of("settlement", s.__dict__)


def update_settings(
    tx: Tx,
    *,
    model: str | None = None,
    ndc_reserve_ratio: str | None = None,
    ndc_alert_percent: str | None = None,
    cutoff: str | None | EllipsisType = ...,
    if_match: IfMatch | None = None,
) -> Settings:
    """Change the settings given; with ``if_match``, only while they are at one
    of their ETags (412)."""
    tx.lock_sandbox()
    before = settings(tx)
    check(if_match, settings_etag(before), "the settlement settings")
    values: dict = {}
    if ndc_reserve_ratio is not None:
        check_setting(NDC_RESERVE_RATIO, ndc_reserve_ratio)
        values["ndc_reserve_ratio"] = ndc_reserve_ratio
    if ndc_alert_percent is not None:
        check_setting(NDC_ALERT_PERCENT, ndc_alert_percent)
        values["ndc_alert_percent"] = ndc_alert_percent
    if cutoff is not ...:
        # Not time.fromisoformat: it also takes "17", "1700", "17:00:30" and "17:00+01:00".
        if cutoff is not None and not CUTOFF_RE.fullmatch(cutoff):
            raise _invalid("cutoff", "must be a local time HH:MM (UTC+8)")
        values["settlement_cutoff"] = cutoff
    if model is not None and model != tx.sandbox.settlement_model:
        if model not in MODELS:
            raise _invalid("model", f"must be one of {', '.join(MODELS)}")
        _switch_model(tx, model)
        values["settlement_model"] = model
    if values:
        tx.conn.execute(sandbox.update().where(sandbox.c.id == 1).values(**values))
        tx.forget_clock()
    after = settings(tx)
    if after != before:  # the settings as GET renders them changed: an event
        outbox.emit(
            tx,
            outbox.Event("settlement.settings_updated", after.__dict__.copy(), central_bank=True),
        )
    return after


def _switch_model(tx: Tx, model: str) -> None:
    # The lock only serialises (SQLite's one writer's lock does already).
    window = _open_window(tx, lock=True)  # pragma: no mutate
    if model == DEFERRED_NET:
        if window is None:
            _open_new_window(tx, tx.now())
        return
    # Back to gross: only with an open window that has seen nothing.
    if window is not None:
        busy = tx.conn.execute(
            sa.select(sa.func.count())
            .select_from(window_positions)
            .where(window_positions.c.window_id == window.id)
        ).scalar_one()
        if busy:
            raise errors.DomainError(
                errors.SETTLEMENT_WINDOW_HAS_ACTIVITY,
                f"window {window.id} has cross-operator transfers: close it first",
                window_id=window.id,
            )
        now = tx.now()
        tx.conn.execute(
            settlement_windows.update()
            .where(settlement_windows.c.id == window.id)
            .values(
                status=SETTLED,
                closed_at=now,
                settled_at=now,
                report=json.dumps(_empty_report(window.id)),
            )
        )


# ---- windows ---------------------------------------------------------------------


def _open_window(tx: Tx, lock: bool = False) -> sa.Row | None:
    stmt = sa.select(settlement_windows).where(settlement_windows.c.status == OPEN)
    if lock:
        stmt = stmt.with_for_update()
    return tx.conn.execute(stmt).first()


def _open_new_window(tx: Tx, at: datetime) -> int:
    return inserted_id(
        tx.conn.execute(settlement_windows.insert().values(status=OPEN, opened_at=at))
    )


def free_reserve(tx: Tx, operator_ids: list[int]) -> dict[int, int]:
    bal = accounts.c.credits_posted - accounts.c.debits_posted
    return dict(
        tx.conn.execute(
            sa.select(accounts.c.operator_id, bal).where(
                accounts.c.operator_id.in_(operator_ids), accounts.c.kind == "reserve"
            )
        ).all()
    )


def net_debit_caps(tx: Tx, operator_ids: list[int]) -> dict[int, int]:
    """Each operator's NDC: set by the central bank, or its free reserve x the ratio."""
    explicit = dict(
        tx.conn.execute(
            sa.select(operators.c.id, operators.c.net_debit_cap).where(
                operators.c.id.in_(operator_ids)
            )
        ).all()
    )
    ratio = Fraction(Decimal(tx.sandbox.ndc_reserve_ratio))
    free = free_reserve(tx, operator_ids)
    return {
        # Every operator has its reserve account from its registration.
        op: explicit[op] if explicit.get(op) is not None else math.floor(free[op] * ratio)
        for op in operator_ids
    }


def set_net_debit_cap(tx: Tx, operator_id: int, cap: int | None) -> None:
    tx.conn.execute(
        operators.update().where(operators.c.id == operator_id).values(net_debit_cap=cap)
    )


@dataclass
class _Position:
    sent: int = 0
    received: int = 0
    peak_debit: int = 0
    seen: bool = False  # has a row in window_positions
    debit_at_start: int = 0  # net debit when this posting began (for the alert threshold)

    @property
    def net(self) -> int:
        return self.received - self.sent


class SettlementBook:
    """The open window's positions, for a posting under deferred net settlement.

    Created by a Posting after it locked its accounts, which include the
    position accounts of every operator its transfers concern: so the rows of
    those operators are this posting's alone until it commits."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        window = _open_window(tx)
        if window is None:  # pragma: no cover - switching to deferred_net opens one
            raise errors.DomainError(errors.NO_OPEN_WINDOW)  # pragma: no mutate
        self.window_id = window.id
        self.positions: dict[int, _Position] = {}
        self._caps: dict[int, int] = {}
        self._dirty: set[int] = set()

    def _position(self, op_id: int) -> _Position:
        if op_id not in self.positions:
            row = self.tx.conn.execute(
                sa.select(window_positions).where(
                    window_positions.c.window_id == self.window_id,
                    window_positions.c.operator_id == op_id,
                )
            ).first()
            self.positions[op_id] = (
                _Position(row.sent, row.received, row.peak_debit, True, row.sent - row.received)
                if row
                else _Position()
            )
        return self.positions[op_id]

    def cap(self, op_id: int) -> int:
        if op_id not in self._caps:
            self._caps[op_id] = net_debit_caps(self.tx, [op_id])[op_id]
        return self._caps[op_id]

    def check(self, moves: list[tuple[int, int, int]]):
        debit: dict[int, int] = {}
        for payer, payee, amount in moves:
            for op in (payer, payee):
                if op not in debit:
                    p = self._position(op)
                    debit[op] = p.sent - p.received
            debit[payer] += amount
            # Read only if the payee pays later in the same transfer: no transfer
            # moves between more than two operators today.
            debit[payee] -= amount  # pragma: no mutate
            cap = self.cap(payer)
            if debit[payer] > cap:  # a cap is never negative
                code = self.tx.conn.execute(
                    sa.select(operators.c.code).where(operators.c.id == payer)
                ).scalar_one()
                return (
                    errors.OPERATOR_NET_DEBIT_CAP_EXCEEDED,
                    f"{code}'s net debit in settlement window {self.window_id} would be "
                    f"{fmt(debit[payer])}, above its cap of {fmt(cap)}",
                    {"operator": code, "net_debit_cap": fmt(cap), "would_be": fmt(debit[payer])},
                )
        return None

    def apply(
        self, moves: list[tuple[int, int, int]], undo: list[Callable[[], None]] | None
    ) -> None:
        for payer, payee, amount in moves:
            a, b = self._position(payer), self._position(payee)
            before = (a.sent, a.peak_debit, b.received)
            a.sent += amount
            b.received += amount
            a.peak_debit = max(a.peak_debit, a.sent - a.received)
            self._dirty.update((payer, payee))
            if undo is not None:

                def restore(a=a, b=b, before=before) -> None:
                    a.sent, a.peak_debit, b.received = before

                undo.append(restore)

    def flush(self) -> None:
        alert_at = Fraction(Decimal(self.tx.sandbox.ndc_alert_percent)) / 100
        wp = window_positions
        for op in sorted(self._dirty):
            p = self.positions[op]
            values = {"sent": p.sent, "received": p.received, "peak_debit": p.peak_debit}
            if p.seen:
                self.tx.conn.execute(
                    wp.update()
                    .where(wp.c.window_id == self.window_id, wp.c.operator_id == op)
                    .values(**values)
                )
            else:
                self.tx.conn.execute(
                    wp.insert().values(window_id=self.window_id, operator_id=op, **values)
                )
                # A book is flushed once, when its posting commits: nothing reads it after.
                p.seen = True  # pragma: no mutate
            cap, debit = self.cap(op), p.sent - p.received
            # An alert when the net debit passes the threshold share of the cap.
            if cap > 0 and p.debit_at_start < cap * alert_at <= debit:
                _ndc_threshold_crossed(self.tx, self.window_id, op, debit, cap)
            p.debit_at_start = debit  # pragma: no mutate (read by no later flush: there is none)
        self._dirty.clear()


register_deferred_book(SettlementBook)


def _ndc_threshold_crossed(tx: Tx, window_id: int, op_id: int, debit: int, cap: int) -> None:
    """The central bank's alert: an operator's net debit passed the threshold
    share of its cap (once per operator and window)."""
    code = tx.conn.execute(sa.select(operators.c.code).where(operators.c.id == op_id)).scalar_one()
    raise_alert(
        tx,
        "ndc_threshold",
        operator_id=op_id,
        evidence={
            "window_id": window_id,
            "net_debit": fmt(debit),
            "net_debit_cap": fmt(cap),
            "utilisation_percent": _percent(debit, cap),
            "threshold_percent": tx.sandbox.ndc_alert_percent,
        },
        summary=f"{code}'s net debit in settlement window {window_id} reached {fmt(debit)} "
        f"of its {fmt(cap)} cap",
        dedupe_key=f"ndc:{window_id}:{op_id}",
        due=False,  # pragma: no mutate (raise_alert reads it as a truth value: None is as false)
    )


@dataclass(frozen=True)
class Window:
    id: int
    status: str
    opened_at: datetime
    closed_at: datetime | None
    settled_at: datetime | None
    settlement_transfer_id: int | None
    positions: list[dict]


def _window(tx: Tx, row: sa.Row) -> Window:
    codes = dict(tx.conn.execute(sa.select(operators.c.id, operators.c.code)).all())
    ops = sorted(codes)
    wp = window_positions
    rows = {
        r.operator_id: r for r in tx.conn.execute(sa.select(wp).where(wp.c.window_id == row.id))
    }
    # Only an open window reads them (a settled one shows those of its close).
    caps = net_debit_caps(tx, ops) if row.status == OPEN else {}  # pragma: no mutate
    positions = []
    for op in sorted(ops, key=codes.__getitem__):
        r = rows.get(op)
        sent, received, peak = (r.sent, r.received, r.peak_debit) if r else (0, 0, 0)
        cap = caps.get(op) if row.status == OPEN else (r.net_debit_cap if r else None)
        positions.append(
            {
                "operator": codes[op],
                "sent": sent,
                "received": received,
                "net": received - sent,
                "net_debit_cap": cap,
                "utilisation_percent": _percent(max(sent - received, 0), cap),
                "peak_debit": peak,
            }
        )
    return Window(
        row.id,
        row.status,
        row.opened_at,
        row.closed_at,
        row.settled_at,
        row.settlement_transfer_id,
        positions,
    )


def _percent(part: int, whole: int | None) -> str | None:
    if not whole:
        return None
    return f"{Decimal(part) * 100 / Decimal(whole):.2f}"


def current(tx: Tx) -> Window:
    row = _open_window(tx)
    if row is None:
        raise errors.DomainError(
            errors.NO_OPEN_WINDOW, "the sandbox settles gross: there are no windows"
        )
    return _window(tx, row)


def get(tx: Tx, window_id: int) -> Window:
    row = tx.conn.execute(
        sa.select(settlement_windows).where(settlement_windows.c.id == window_id)
    ).first()
    if row is None:
        raise errors.DomainError(errors.WINDOW_NOT_FOUND, f"no settlement window {window_id}")
    return _window(tx, row)


def list_(tx: Tx, after: int | None, limit: int) -> list[Window]:
    stmt = sa.select(settlement_windows).limit(limit)
    # Without it SQLite returns the rows in id order anyway; PostgreSQL need not.
    stmt = stmt.order_by(settlement_windows.c.id)  # pragma: no mutate
    if after is not None:
        stmt = stmt.where(settlement_windows.c.id > after)
    return [_window(tx, r) for r in tx.conn.execute(stmt)]


def open_window_nets(tx: Tx) -> dict[int, int]:
    """Each operator's net position (received - sent) in the open window."""
    row = _open_window(tx)
    if row is None:
        return {}
    wp = window_positions
    return dict(
        tx.conn.execute(
            sa.select(wp.c.operator_id, wp.c.received - wp.c.sent).where(wp.c.window_id == row.id)
        ).all()
    )


def close(tx: Tx, at: datetime | None = None) -> Window:
    """Close the open window, settle its net positions in tier 1, open the next."""
    # The lock only serialises (SQLite's one writer's lock does already).
    window = _open_window(tx, lock=True)  # pragma: no mutate
    if window is None:
        raise errors.DomainError(
            errors.NO_OPEN_WINDOW, "the sandbox settles gross: there are no windows"
        )
    at = at or tx.now()
    acc = accounts
    positions = dict(
        tx.conn.execute(
            sa.select(acc.c.operator_id, acc.c.id).where(acc.c.kind == "position")
        ).all()
    )
    clearing = tx.conn.execute(sa.select(acc.c.id).where(acc.c.code == CB_SETTLEMENT)).scalar_one()
    # Every position account, locked: no cross-operator transfer slips in meanwhile.
    posting = Posting(tx, [*positions.values(), clearing])
    # Never seen outside this transaction: the window is SETTLED before it commits.
    closing = {"status": CLOSED}
    tx.conn.execute(
        settlement_windows.update()
        .where(settlement_windows.c.id == window.id)
        .values(
            closed_at=at,
            **closing,  # pragma: no mutate
        )
    )
    wp = window_positions
    rows = tx.conn.execute(sa.select(wp).where(wp.c.window_id == window.id)).all()
    nets = {r.operator_id: r.received - r.sent for r in rows}
    if sum(nets.values()) != 0:  # pragma: no cover - every move counts once each way
        raise AssertionError(f"window {window.id}: net positions {nets}")  # pragma: no mutate
    caps = net_debit_caps(tx, list(nets))
    for op, cap in caps.items():
        tx.conn.execute(
            wp.update()
            .where(wp.c.window_id == window.id, wp.c.operator_id == op)
            .values(net_debit_cap=cap)
        )
    legs = [Leg(positions[op], clearing, -net, ECNY) for op, net in sorted(nets.items()) if net < 0]
    legs += [Leg(clearing, positions[op], net, ECNY) for op, net in sorted(nets.items()) if net > 0]
    transfer_id = None
    if legs:
        # Into the clearing account or out of it: the same total (the nets sum to zero).
        total = sum(leg.amount for leg in legs if leg.credit == clearing)  # pragma: no mutate
        posted = posting.post(
            TransferDraft(
                kind="settlement",
                asset=ECNY,
                amount=total,
                legs=legs,
                reference=f"settlement window {window.id}",
                window_id=window.id,
            )
        )
        transfer_id = posted.id
    tx.conn.execute(
        settlement_windows.update()
        .where(settlement_windows.c.id == window.id)
        .values(status=SETTLED, settled_at=at, settlement_transfer_id=transfer_id)
    )
    report = build_report(tx, window.id)
    tx.conn.execute(
        settlement_windows.update()
        .where(settlement_windows.c.id == window.id)
        .values(report=json.dumps(report))
    )
    _open_new_window(tx, at)
    closed = get(tx, window.id)
    # The central bank's and every operator's business (each sees its own position).
    outbox.emit(
        tx, outbox.Event("settlement.window_closed", window_document(closed), central_bank=True)
    )
    return closed


def window_document(w: Window) -> dict:
    """The window as the API's ``WindowOut`` renders it."""
    return {
        "id": w.id,
        "status": w.status,
        "opened_at": w.opened_at,
        "closed_at": w.closed_at,
        "settled_at": w.settled_at,
        "settlement_transfer_id": w.settlement_transfer_id,
        "positions": [
            {
                **p,
                **{
                    k: None if p[k] is None else fmt(p[k])
                    for k in ("sent", "received", "net", "net_debit_cap", "peak_debit")
                },
            }
            for p in w.positions
        ],
    }


def close_due(tx: Tx, before: datetime, after: datetime) -> list[Window]:
    """Close the open window at each daily cut-off the clock passed, in order."""
    closed: list[Window] = []
    at = next_cutoff(tx, before)
    while at is not None and at <= after:
        closed.append(close(tx, at=at))
        at = next_cutoff(tx, at)
    return closed


def next_cutoff(tx: Tx, now: datetime) -> datetime | None:
    """The first daily cut-off (UTC+8) after ``now``; None unless the sandbox
    settles deferred net with a cut-off."""
    cutoff = tx.sandbox.settlement_cutoff
    if cutoff is None or tx.sandbox.settlement_model != DEFERRED_NET:
        return None
    local = now.astimezone(SANDBOX_TZ)
    instant = datetime.combine(local.date(), time.fromisoformat(cutoff), tzinfo=SANDBOX_TZ)
    return instant if instant > now else instant + timedelta(days=1)


# ---- reports ---------------------------------------------------------------------


def _empty_report(window_id: int) -> dict:
    return {
        "window_id": window_id,
        "operators": [],
        "tier1_moves": [],
        "settlement_transfer_id": None,
    }


def build_report(tx: Tx, window_id: int) -> dict:
    """The settlement report of a window, from the journal alone (and the NDCs
    recorded at close, which are settings, not postings)."""
    w = tx.conn.execute(
        sa.select(settlement_windows).where(settlement_windows.c.id == window_id)
    ).one()
    acc, je, t = accounts, journal_entries, transfers
    codes = dict(tx.conn.execute(sa.select(operators.c.id, operators.c.code)).all())
    settlement_accounts = dict(
        tx.conn.execute(
            sa.select(acc.c.id, acc.c.operator_id).where(acc.c.kind == "settlement")
        ).all()
    )
    # Each cross-operator transfer in the window credits the payer operator's
    # tier-2 settlement account and debits the payee operator's (the window's
    # settlement transfer touches none of them).
    entries = sa.select(je.c.debit_account_id, je.c.credit_account_id, je.c.amount).where(
        t.c.window_id == window_id
    )
    entries = entries.join(t)  # by the foreign key: an entry's transfer
    # Without it SQLite returns the entries in seq order anyway (the peak is
    # computed in that order); PostgreSQL need not.
    entries = entries.order_by(je.c.seq)  # pragma: no mutate
    rows = tx.conn.execute(entries).all()
    sent: dict[int, int] = {}
    received: dict[int, int] = {}
    peak: dict[int, int] = {}
    for r in rows:
        if r.credit_account_id in settlement_accounts:
            op = settlement_accounts[r.credit_account_id]
            sent[op] = sent.get(op, 0) + r.amount
            peak[op] = max(peak.get(op, 0), sent[op] - received.get(op, 0))
        if r.debit_account_id in settlement_accounts:
            op = settlement_accounts[r.debit_account_id]
            received[op] = received.get(op, 0) + r.amount
    caps = dict(
        tx.conn.execute(
            sa.select(window_positions.c.operator_id, window_positions.c.net_debit_cap).where(
                window_positions.c.window_id == window_id
            )
        ).all()
    )
    ops = sorted(set(sent) | set(received), key=codes.__getitem__)
    moves = []
    if w.settlement_transfer_id is not None:
        # The aliases' names are SQL text only: any two distinct names give the same rows.
        debit, credit = acc.alias("debit"), acc.alias("credit")  # pragma: no mutate
        moves = [
            {"debit_account": d, "credit_account": c, "amount": fmt(amount)}
            for d, c, amount in tx.conn.execute(
                sa.select(debit.c.code, credit.c.code, je.c.amount)
                .join(debit, debit.c.id == je.c.debit_account_id)
                .join(credit, credit.c.id == je.c.credit_account_id)
                .where(je.c.transfer_id == w.settlement_transfer_id)
                # SQLite returns them in seq order anyway; PostgreSQL need not.
                .order_by(je.c.seq)  # pragma: no mutate
            )
        ]
    return {
        "window_id": window_id,
        "settlement_transfer_id": w.settlement_transfer_id,
        "operators": [
            {
                "operator": codes[op],
                "sent": fmt(sent.get(op, 0)),
                "received": fmt(received.get(op, 0)),
                "net": fmt(received.get(op, 0) - sent.get(op, 0)),
                "net_debit_cap": fmt(caps[op]),  # recorded at the close for each of them
                "peak_debit": fmt(peak.get(op, 0)),
                "peak_utilisation_percent": _percent(peak.get(op, 0), caps.get(op)),
            }
            for op in ops
        ],
        "tier1_moves": moves,
    }


def stored_report(tx: Tx, window_id: int) -> dict:
    w = tx.conn.execute(
        sa.select(settlement_windows).where(settlement_windows.c.id == window_id)
    ).first()
    if w is None:
        raise errors.DomainError(errors.WINDOW_NOT_FOUND, f"no settlement window {window_id}")
    if w.report is None:
        raise errors.DomainError(
            errors.WINDOW_NOT_SETTLED, f"window {window_id} is {w.status}: no report yet"
        )
    return json.loads(w.report)


REPORT_CSV_FIELDS = (
    "window_id",
    "operator",
    "sent",
    "received",
    "net",
    "net_debit_cap",
    "peak_debit",
    "peak_utilisation_percent",
)


def report_rows(report: dict) -> list[dict]:
    return [{"window_id": report["window_id"], **row} for row in report["operators"]]
