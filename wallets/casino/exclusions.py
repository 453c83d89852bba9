"""The exclusion list (Law 10/2012, amended by Law 17/2018).

A person may ask to be barred from gaming, or their family may ask it, for a
period of up to the profile's ``casino.exclusion.max_duration_years`` (2), at
one casino or at all of them. A revocation takes effect only
``casino.exclusion.revocation_delay_days`` (30) after it is requested. Persons
are named by their wallets' pseudonymous holder id: an exclusion bars every
wallet carrying that holder id. Supervisors keep the list; the cage enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import local_date
from ..core.db import Tx, inserted_id
from ..core.principal import ADMIN, AUDITOR, SUPERVISOR, Principal
from ..core.schema import casinos, exclusions
from ..rules import casino_rules
from .registry import get as get_casino

KINDS = ("self", "family")
SCHEDULED, ACTIVE, REVOCATION_PENDING, REVOKED, ENDED = (
    "scheduled",
    "active",
    "revocation_pending",
    "revoked",
    "ended",
)
STATUSES = (SCHEDULED, ACTIVE, REVOCATION_PENDING, REVOKED, ENDED)


@dataclass(frozen=True)
class Exclusion:
    id: int
    holder_id: str
    casino_ref: str | None  # None: every casino
    kind: str
    starts_on: date
    ends_on: date
    requested_at: datetime
    revocation_requested_at: datetime | None
    revoked_from: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_from is not None and now >= self.revoked_from:
            return REVOKED
        today = local_date(now)
        if today > self.ends_on:
            return ENDED
        if today < self.starts_on:
            return SCHEDULED
        return REVOCATION_PENDING if self.revoked_from is not None else ACTIVE

    def bars(self, now: datetime) -> bool:
        return self.status(now) in (ACTIVE, REVOCATION_PENDING)


@cache
def _select():
    return sa.select(exclusions, casinos.c.ref.label("casino_ref")).outerjoin(
        casinos, casinos.c.id == exclusions.c.casino_id
    )


def _from_row(r: sa.Row) -> Exclusion:
    return Exclusion(
        id=r.id,
        holder_id=r.holder_id,
        casino_ref=r.casino_ref,
        kind=r.kind,
        starts_on=r.starts_on,
        ends_on=r.ends_on,
        requested_at=r.requested_at,
        revocation_requested_at=r.revocation_requested_at,
        revoked_from=r.revoked_from,
    )


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


def _years_later(day: date, years: int) -> date:
    if day.year + years > date.max.year:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def add(
    tx: Tx,
    actor: Principal,
    *,
    holder_id: str,
    kind: str,
    ends_on: date,
    starts_on: date | None = None,
    casino_ref: str | None = None,
) -> Exclusion:
    rules = casino_rules(tx)
    casino_id = get_casino(tx, casino_ref, actor).id if casino_ref is not None else None
    if kind not in KINDS:
        raise _invalid("kind", "must be self or family")
    starts_on = starts_on or local_date(tx.now())
    if ends_on < starts_on:
        raise _invalid("ends_on", "must not be before starts_on")
    longest = _years_later(starts_on, rules.exclusion_max_duration_years)
    if ends_on > longest:
        raise _invalid(
            "ends_on",
            f"an exclusion lasts at most {rules.exclusion_max_duration_years} years "
            f"(until {longest.isoformat()})",
        )
    inserted = tx.conn.execute(
        exclusions.insert().values(
            holder_id=holder_id,
            casino_id=casino_id,
            kind=kind,
            starts_on=starts_on,
            ends_on=ends_on,
            requested_at=tx.now(),
        )
    )
    new_id = inserted_id(inserted)
    return _emitted(tx, "exclusion.added", _get(tx, new_id))


def document(e: Exclusion, now: datetime) -> dict:
    """The exclusion as the API's ``ExclusionOut`` renders it at ``now``."""
    return {
        "id": e.id,
        "holder_id": e.holder_id,
        "casino": e.casino_ref,
        "kind": e.kind,
        "starts_on": e.starts_on,
        "ends_on": e.ends_on,
        "status": e.status(now),
        "requested_at": e.requested_at,
        "revocation_requested_at": e.revocation_requested_at,
        "revoked_from": e.revoked_from,
    }


def _emitted(tx: Tx, type_: str, e: Exclusion) -> Exclusion:
    """Seen as the exclusion is (:func:`_visible`): by the supervisors of its
    casino, or of any casino when it bars every casino; never by merchants."""
    outbox.emit(tx, outbox.Event(type_, document(e, tx.now()), casino_ref=e.casino_ref))
    return e


def _get(tx: Tx, exclusion_id: int) -> Exclusion:
    return _from_row(tx.conn.execute(_select().where(exclusions.c.id == exclusion_id)).one())


def _visible(actor: Principal, e: Exclusion) -> bool:
    """Casino-wide exclusions are every supervisor's; one casino's, its supervisors'."""
    if actor.role in (ADMIN, AUDITOR):
        return True
    return actor.role == SUPERVISOR and (e.casino_ref is None or actor.sees_casino(e.casino_ref))


def get(tx: Tx, exclusion_id: int, actor: Principal) -> Exclusion:
    row = tx.conn.execute(_select().where(exclusions.c.id == exclusion_id)).first()
    if row is None or not _visible(actor, _from_row(row)):
        raise errors.DomainError(errors.EXCLUSION_NOT_FOUND, f"no exclusion {exclusion_id}")
    return _from_row(row)


def list_(
    tx: Tx, actor: Principal, *, holder_id: str | None, after: int | None, limit: int
) -> list[Exclusion]:
    stmt = _select().order_by(exclusions.c.id).limit(limit)
    if actor.role == SUPERVISOR:
        stmt = stmt.where(
            sa.or_(exclusions.c.casino_id.is_(None), casinos.c.ref.in_(sorted(actor.casino_refs)))
        )
    elif actor.role not in (ADMIN, AUDITOR):
        return []
    if holder_id is not None:
        stmt = stmt.where(exclusions.c.holder_id == holder_id)
    if after is not None:
        stmt = stmt.where(exclusions.c.id > after)
    return [_from_row(r) for r in tx.conn.execute(stmt)]


def revoke(tx: Tx, exclusion_id: int, actor: Principal) -> Exclusion:
    """Request the revocation: it takes effect after the profile's delay."""
    rules = casino_rules(tx)
    tx.conn.execute(
        sa.select(exclusions.c.id).where(exclusions.c.id == exclusion_id).with_for_update()
    )
    e = get(tx, exclusion_id, actor)
    if e.revocation_requested_at is not None:
        raise errors.DomainError(
            errors.EXCLUSION_ALREADY_REVOKED,
            f"exclusion {e.id}'s revocation was requested at {e.revocation_requested_at.isoformat()}",
            revoked_from=e.revoked_from.isoformat() if e.revoked_from else None,
        )
    now = tx.now()
    tx.conn.execute(
        exclusions.update()
        .where(exclusions.c.id == e.id)
        .values(
            revocation_requested_at=now,
            revoked_from=now + timedelta(days=rules.exclusion_revocation_delay_days),
        )
    )
    return _emitted(tx, "exclusion.revocation_requested", _get(tx, e.id))


def barring(tx: Tx, holder_id: str, casino_id: int, now: datetime) -> Exclusion | None:
    """The first exclusion that bars this holder from this casino now, if any."""
    rows = tx.conn.execute(
        _select()
        .where(
            exclusions.c.holder_id == holder_id,
            sa.or_(exclusions.c.casino_id.is_(None), exclusions.c.casino_id == casino_id),
        )
        .order_by(exclusions.c.id)
    ).all()
    return next((e for e in map(_from_row, rows) if e.bars(now)), None)
