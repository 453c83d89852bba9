"""Alerts: what the detection rules (and any other code) raise for a human to judge.

An alert has a type (``ltr``, ``structuring``, ``minimal_play``,
``mainland_wallet``, ``mainland_yearly_cap``, ``ndc_threshold``,
``third_party_payout``, ``chip_walking``, ``chip_pooling``,
``offline_double_spend``: ``TYPES``),
a subject (a wallet, a casino, an operator: each optional), the evidence as
JSON (transfer ids, amounts, times) and, for suspicions, a due time: the end
of the profile's ``alerts.str_due_working_days``-th working day (not a weekend
nor a public holiday of ``alerts.holidays``) after it was
raised (the GIF's deadline for a suspicious transaction report). Its lifecycle:

    open --acknowledge--> acknowledged --escalate--> escalated   (an STR is filed)
                                       --dismiss---> dismissed   (with a reason)

An alert not yet escalated or dismissed is *overdue* once the sandbox clock
passes its due time. Raising is deterministic: the same replay raises the same
alerts with the same times (sandbox clock, never wall time), and a
``dedupe_key`` makes raising the same fact twice return nothing new.

Casino alerts are seen by their casino's merchant and supervisors; alerts not
tied to a casino by the central bank; admin and auditor see all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core import errors, outbox
from ..core.clock import no_holiday, working_days_deadline
from ..core.db import Tx, inserted_id, period_index
from ..core.principal import ADMIN, AUDITOR, CENTRAL_BANK, MERCHANT, SUPERVISOR, Principal, a_role
from ..core.schema import alerts, casinos, operators
from ..rules import active_profile

# The types of alert the sandbox raises (wallets/casino/rules.py, wallets/tier1/settlement.py):
# raise_alert refuses any other, so this list is the vocabulary (scenario files use it).
TYPES = (
    "ltr",
    "structuring",
    "minimal_play",
    "mainland_wallet",
    "mainland_yearly_cap",
    "ndc_threshold",
    "third_party_payout",
    "chip_walking",
    "chip_pooling",
    "offline_double_spend",
)
OPEN, ACKNOWLEDGED, ESCALATED, DISMISSED = "open", "acknowledged", "escalated", "dismissed"
STATUSES = (OPEN, ACKNOWLEDGED, ESCALATED, DISMISSED)
UNRESOLVED = (OPEN, ACKNOWLEDGED)
TRANSITIONS = {
    "acknowledge": ({OPEN}, ACKNOWLEDGED),
    "escalate": ({ACKNOWLEDGED}, ESCALATED),
    "dismiss": ({ACKNOWLEDGED}, DISMISSED),
}


@dataclass(frozen=True)
class Alert:
    id: int
    type: str
    status: str
    casino_ref: str | None
    wallet_id: int | None
    operator_code: str | None
    raised_at: datetime
    due_at: datetime | None
    summary: str
    evidence: dict[str, Any]
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    str_reference: str | None
    note: str | None
    version: int

    def overdue(self, now: datetime) -> bool:
        return self.status in UNRESOLVED and self.due_at is not None and now > self.due_at

    @property
    def filed_late(self) -> bool | None:
        """Escalated after its due time? (None until escalated.)"""
        if self.status != ESCALATED or self.resolved_at is None:
            return None
        return self.due_at is not None and self.resolved_at > self.due_at


def holidays_of(tx: Tx) -> Callable[[date], bool]:
    """The active profile's public holidays (``alerts.holidays``), the days the
    STR due date skips: the console counts the working days left with them."""
    rules = active_profile(tx).alerts
    return rules.is_holiday if rules else no_holiday


def raise_alert(
    tx: Tx,
    type: str,
    *,
    casino_id: int | None = None,
    wallet_id: int | None = None,
    operator_id: int | None = None,
    evidence: dict[str, Any],
    summary: str,
    dedupe_key: str | None = None,
    due: bool = True,
) -> Alert | None:
    """Raise an alert in this transaction; None if one with ``dedupe_key`` exists.

    ``evidence`` must be JSON-serialisable: transfer ids, amounts as decimal
    strings (money.format_amount), times as ISO 8601. ``due``: give it the
    profile's working-day due time (suspicions that may need an STR); a
    profile without an ``alerts`` section gives none.
    """
    if type not in TYPES:
        raise ValueError(f"alert type {type!r} is not one of alerts.TYPES")
    now = tx.now()
    rules = active_profile(tx).alerts
    values = {
        "type": type,
        "status": OPEN,
        "casino_id": casino_id,
        "wallet_id": wallet_id,
        "operator_id": operator_id,
        "raised_at": now,
        "due_at": (
            working_days_deadline(now, rules.str_due_working_days, rules.is_holiday)
            if due and rules
            else None
        ),
        "summary": summary[:500],
        "evidence": json.dumps(evidence, sort_keys=True, separators=(",", ":")),
        "dedupe_key": dedupe_key,
    }
    alert_id: int | None
    if dedupe_key is None:
        alert_id = inserted_id(tx.conn.execute(alerts.insert().values(**values)))
    else:
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(alerts)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(alerts.c.id)
        )
        alert_id = tx.conn.execute(stmt).scalar()
        if alert_id is None:
            return None
    return _emitted(tx, "alert.raised", _get(tx, alert_id))


# ---- reading ---------------------------------------------------------------------


@cache
def _select():
    return (
        sa.select(
            alerts,
            casinos.c.ref.label("casino_ref"),
            operators.c.code.label("operator_code"),
        )
        .outerjoin(casinos, casinos.c.id == alerts.c.casino_id)
        .outerjoin(operators, operators.c.id == alerts.c.operator_id)
    )


def _from_row(r: sa.Row) -> Alert:
    return Alert(
        id=r.id,
        type=r.type,
        status=r.status,
        casino_ref=r.casino_ref,
        wallet_id=r.wallet_id,
        operator_code=r.operator_code,
        raised_at=r.raised_at,
        due_at=r.due_at,
        summary=r.summary,
        evidence=json.loads(r.evidence),
        acknowledged_at=r.acknowledged_at,
        resolved_at=r.resolved_at,
        str_reference=r.str_reference,
        note=r.note,
        version=r.version,
    )


def _get(tx: Tx, alert_id: int) -> Alert:
    return _from_row(tx.conn.execute(_select().where(alerts.c.id == alert_id)).one())


def get(tx: Tx, alert_id: int, actor: Principal) -> Alert:
    row = tx.conn.execute(_select().where(alerts.c.id == alert_id)).first()
    if row is None or not actor.sees_alerts_of(row.casino_ref):
        raise errors.DomainError(errors.ALERT_NOT_FOUND, f"no alert {alert_id}")
    return _from_row(row)


@dataclass(frozen=True)
class AlertFilters:
    casino: str | None = None
    type: str | None = None
    status: str | None = None
    overdue: bool | None = None
    wallet_id: int | None = None


def list_(
    tx: Tx, actor: Principal, filters: AlertFilters, *, after: int | None, limit: int
) -> list[Alert]:
    stmt = _in_scope(_select().order_by(alerts.c.id).limit(limit), actor)
    if stmt is None:
        return []
    if filters.casino is not None:
        stmt = stmt.where(casinos.c.ref == filters.casino)
    if filters.type is not None:
        stmt = stmt.where(alerts.c.type == filters.type)
    if filters.status is not None:
        stmt = stmt.where(alerts.c.status == filters.status)
    if filters.wallet_id is not None:
        stmt = stmt.where(alerts.c.wallet_id == filters.wallet_id)
    if filters.overdue is not None:
        overdue = sa.and_(
            alerts.c.status.in_(UNRESOLVED),
            alerts.c.due_at.is_not(None),
            alerts.c.due_at < tx.now(),
        )
        stmt = stmt.where(overdue if filters.overdue else sa.not_(overdue))
    if after is not None:
        stmt = stmt.where(alerts.c.id > after)
    return [_from_row(r) for r in tx.conn.execute(stmt)]


def _in_scope(stmt: sa.Select, actor: Principal) -> sa.Select | None:
    """``stmt`` (over alerts joined to casinos) narrowed to what ``actor`` sees;
    None when it sees no alerts."""
    if actor.role in (MERCHANT, SUPERVISOR):
        return stmt.where(casinos.c.ref.in_(sorted(actor.casino_refs)))
    if actor.role == CENTRAL_BANK:
        return stmt.where(alerts.c.casino_id.is_(None))
    if actor.role in (ADMIN, AUDITOR):
        return stmt
    return None


def counts_per_period(
    tx: Tx, actor: Principal, instants: Sequence[datetime], casino: str | None = None
) -> dict[str, list[int]]:
    """How many alerts of each type ``actor`` sees were raised in each period
    ``(instants[i-1], instants[i]]`` (index 0: none, those before are left
    out), counted in one grouped statement."""
    out: dict[str, list[int]] = {}
    if len(instants) < 2:
        return out
    period = period_index(alerts.c.raised_at, instants).label("period")
    stmt = _in_scope(
        sa.select(alerts.c.type, period, sa.func.count())
        .select_from(alerts.outerjoin(casinos, casinos.c.id == alerts.c.casino_id))
        .where(alerts.c.raised_at > instants[0], alerts.c.raised_at <= instants[-1])
        .group_by(alerts.c.type, period),
        actor,
    )
    if stmt is None:
        return out
    if casino is not None:
        stmt = stmt.where(casinos.c.ref == casino)
    for type_, i, n in tx.conn.execute(stmt):
        out.setdefault(type_, [0] * len(instants))[i] = n
    return out


# ---- the lifecycle ---------------------------------------------------------------


def change_status(
    tx: Tx, alert_id: int, actor: Principal, action: str, note: str | None = None
) -> Alert:
    """Acknowledge, escalate (an STR is filed; ``note`` optional) or dismiss
    (``note``: the reason, required). Supervisors act on their casinos' alerts,
    the central bank on alerts tied to no casino, the admin on all."""
    tx.conn.execute(sa.select(alerts.c.id).where(alerts.c.id == alert_id).with_for_update())
    alert = get(tx, alert_id, actor)
    if actor.role in (MERCHANT, AUDITOR):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} reads alerts but does not decide them"
        )
    allowed_from, to = TRANSITIONS[action]
    if alert.status not in allowed_from:
        raise errors.DomainError(
            errors.INVALID_ALERT_TRANSITION,
            f"cannot {action} alert {alert.id}: it is {alert.status}",
            current_status=alert.status,
        )
    if action == "dismiss" and not note:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "a dismissal needs its reason",
            errors={"reason": ["is required"]},
        )
    now = tx.now()
    values: dict[str, Any] = {"status": to, "version": alerts.c.version + 1}
    if action == "acknowledge":
        values["acknowledged_at"] = now
    else:
        values["resolved_at"] = now
        values["note"] = note
    if action == "escalate":
        values["str_reference"] = f"STR-{alert.id:06d}"
    tx.conn.execute(alerts.update().where(alerts.c.id == alert.id).values(**values))
    return _emitted(tx, EVENT_OF_ACTION[action], _get(tx, alert.id))


EVENT_OF_ACTION = {
    "acknowledge": "alert.acknowledged",
    "escalate": "alert.escalated",
    "dismiss": "alert.dismissed",
}


def _emitted(tx: Tx, type_: str, alert: Alert) -> Alert:
    """Emit the alert's event: seen as the alert is (``Principal.sees_alerts_of``),
    by its casino's keys, or by the central bank when it has no casino."""
    outbox.emit(
        tx,
        outbox.Event(
            type_,
            document(alert, tx.now()),
            casino_ref=alert.casino_ref,
            central_bank=alert.casino_ref is None,
        ),
    )
    return alert


def document(alert: Alert, now: datetime) -> dict[str, Any]:
    """The alert as the API's ``AlertOut`` renders it at ``now``."""
    return {
        "id": alert.id,
        "type": alert.type,
        "status": alert.status,
        "casino": alert.casino_ref,
        "wallet": alert.wallet_id,
        "operator": alert.operator_code,
        "raised_at": alert.raised_at,
        "due_at": alert.due_at,
        "overdue": alert.overdue(now),
        "summary": alert.summary,
        "evidence": alert.evidence,
        "acknowledged_at": alert.acknowledged_at,
        "resolved_at": alert.resolved_at,
        "str_reference": alert.str_reference,
        "filed_late": alert.filed_late,
        "note": alert.note,
    }
