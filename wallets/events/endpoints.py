"""Webhook endpoints: where a tester's system is sent the events its key's
scope may see (docs/events.md#webhooks).

An endpoint belongs to the scope of the key that made it (role, operator,
casinos): keys of the same scope see and manage it, the admin sees all. Its
secret is shown when it is made and when it is rotated, never again.
Deliveries start with the events written after it was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..core import errors
from ..core.db import Tx, inserted_id
from ..core.principal import ADMIN, AUDITOR, Principal
from ..core.schema import event_head, events, webhook_deliveries, webhook_endpoints
from . import feed, signing

ENABLED, DISABLED = "enabled", "disabled"
# A delivery's statuses.
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
# A rotated secret keeps signing beside the new one this long (sandbox time).
ROTATION_OVERLAP = timedelta(hours=24)
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    description: str | None
    event_types: list[str] | None
    status: str
    disabled_reason: str | None
    failures: int
    created_at: datetime
    # Only when made or rotated: the one time it is shown.
    secret: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    endpoint_id: int
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status: int | None
    latency_ms: int | None
    error: str | None
    manual: bool
    created_at: datetime


def check_url(url: str, allowed_hosts: tuple[str, ...]) -> None:
    """An http(s) URL without credentials whose host is in the allow-list,
    else a refusal. A host that does not parse (an IPv6 literal that is not
    one) is no host of the list either."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an IPv6 literal that is not one
        raise _not_allowed(url, allowed_hosts) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid_url("must be an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise _invalid_url("must not hold credentials")
    try:
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - a port out of range raises ValueError
    except ValueError:
        host = ""
    if not host or host not in allowed_hosts:
        raise _not_allowed(host or parts.netloc, allowed_hosts)


def _not_allowed(host: str, allowed_hosts: tuple[str, ...]) -> errors.DomainError:
    return errors.DomainError(
        errors.WEBHOOK_URL_NOT_ALLOWED,
        f"{host} is not one of the hosts webhooks may reach: {', '.join(allowed_hosts)}",
        host=host,
        allowed_hosts=list(allowed_hosts),
    )


def _invalid_url(message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"url: {message}", errors={"url": [message]}
    )


def create(
    tx: Tx,
    actor: Principal,
    *,
    url: str,
    event_types: list[str] | None,
    description: str | None,
    allowed_hosts: tuple[str, ...],
) -> Endpoint:
    _require_writer(actor)
    check_url(url, allowed_hosts)
    types = feed.check_types(event_types, "event_types")
    secret = signing.new_secret()
    (head,) = tx.conn.execute(sa.select(event_head.c.last_id)).one()
    endpoint_id = inserted_id(
        tx.conn.execute(
            webhook_endpoints.insert().values(
                url=url,
                description=description,
                event_types=json.dumps(types) if types is not None else None,
                secret=secret,
                status=ENABLED,
                role=actor.role,
                operator_id=actor.operator_id,
                casino_ref=actor.casino_ref,
                api_key_id=actor.key_id,
                cursor=head,
                created_at=tx.now(),
            )
        )
    )
    return _with_secret(get(tx, actor, endpoint_id), secret)


def _require_writer(actor: Principal) -> None:
    if actor.role == AUDITOR:
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, "an auditor reads the event feed; it makes no endpoints"
        )


def _with_secret(e: Endpoint, secret: str) -> Endpoint:
    return replace(e, secret=secret)


def _scope(actor: Principal) -> sa.ColumnElement[bool]:
    """The endpoints ``actor`` sees: those of its own scope (all for the admin)."""
    w = webhook_endpoints.c
    if actor.role == ADMIN:
        return sa.true()
    return sa.and_(
        w.role == actor.role,
        w.operator_id.is_(None)
        if actor.operator_id is None
        else w.operator_id == actor.operator_id,
        w.casino_ref.is_(None) if actor.casino_ref is None else w.casino_ref == actor.casino_ref,
    )


def scope_of(row: sa.Row) -> Principal:
    """Whom an endpoint's deliveries are seen as: the scope of the key that made it."""
    return Principal(role=row.role, operator_id=row.operator_id, casino_ref=row.casino_ref)


def _from_row(r: sa.Row) -> Endpoint:
    return Endpoint(
        id=r.id,
        url=r.url,
        description=r.description,
        event_types=json.loads(r.event_types) if r.event_types is not None else None,
        status=r.status,
        disabled_reason=r.disabled_reason,
        failures=r.failures,
        created_at=r.created_at,
    )


def _row(tx: Tx, actor: Principal, endpoint_id: int, lock: bool = False) -> sa.Row:
    stmt = sa.select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id, _scope(actor))
    if lock:
        stmt = stmt.with_for_update()
    row = tx.conn.execute(stmt).first()
    if row is None:
        raise errors.DomainError(
            errors.WEBHOOK_ENDPOINT_NOT_FOUND, f"no webhook endpoint {endpoint_id}"
        )
    return row


def get(tx: Tx, actor: Principal, endpoint_id: int) -> Endpoint:
    return _from_row(_row(tx, actor, endpoint_id))


def list_(tx: Tx, actor: Principal, *, after: int | None, limit: int) -> list[Endpoint]:
    stmt = (
        sa.select(webhook_endpoints)
        .where(_scope(actor))
        .order_by(webhook_endpoints.c.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(webhook_endpoints.c.id > after)
    return [_from_row(r) for r in tx.conn.execute(stmt).all()]


def disable(tx: Tx, actor: Principal, endpoint_id: int) -> Endpoint:
    """Stop delivering: its pending deliveries wait; new events still queue."""
    _require_writer(actor)
    row = _row(tx, actor, endpoint_id, lock=True)
    if row.status == DISABLED:
        raise errors.DomainError(
            errors.WEBHOOK_ENDPOINT_ALREADY_DISABLED, f"webhook endpoint {row.id} is disabled"
        )
    _set(tx, row.id, status=DISABLED, disabled_reason="disabled by a caller")
    return get(tx, actor, row.id)


def enable(tx: Tx, actor: Principal, endpoint_id: int) -> Endpoint:
    """Deliver again, from the oldest pending delivery, its failures forgiven."""
    _require_writer(actor)
    row = _row(tx, actor, endpoint_id, lock=True)
    if row.status == ENABLED:
        raise errors.DomainError(
            errors.WEBHOOK_ENDPOINT_ALREADY_ENABLED, f"webhook endpoint {row.id} is enabled"
        )
    _set(tx, row.id, status=ENABLED, disabled_reason=None, failures=0)
    # Its waiting head is due now, not at the back-off it had reached.
    tx.conn.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.endpoint_id == row.id,
            webhook_deliveries.c.status == PENDING,
            webhook_deliveries.c.next_attempt_at > tx.now(),
        )
        .values(next_attempt_at=tx.now())
    )
    return get(tx, actor, row.id)


def rotate_secret(tx: Tx, actor: Principal, endpoint_id: int) -> Endpoint:
    """A new secret, shown once; the old one signs beside it for 24 hours of
    sandbox time (two ``v1,`` signatures), so a receiver can switch over."""
    _require_writer(actor)
    row = _row(tx, actor, endpoint_id, lock=True)
    secret = signing.new_secret()
    _set(
        tx,
        row.id,
        secret=secret,
        previous_secret=row.secret,
        previous_until=tx.now() + ROTATION_OVERLAP,
    )
    return _with_secret(get(tx, actor, row.id), secret)


def _set(tx: Tx, endpoint_id: int, **values) -> None:
    tx.conn.execute(
        webhook_endpoints.update().where(webhook_endpoints.c.id == endpoint_id).values(**values)
    )


# ---- the delivery log ------------------------------------------------------------


_DELIVERIES = sa.select(webhook_deliveries, events.c.type.label("event_type")).join(
    events, events.c.id == webhook_deliveries.c.event_id
)


def _delivery(r: sa.Row) -> Delivery:
    return Delivery(
        id=r.id,
        endpoint_id=r.endpoint_id,
        event_id=r.event_id,
        event_type=r.event_type,
        status=r.status,
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at if r.status == PENDING else None,
        last_attempt_at=r.last_attempt_at,
        response_status=r.response_status,
        latency_ms=r.latency_ms,
        error=r.error,
        manual=r.manual,
        created_at=r.created_at,
    )


def deliveries(
    tx: Tx,
    actor: Principal,
    endpoint_id: int,
    *,
    status: str | None,
    after: int | None,
    limit: int,
) -> list[Delivery]:
    """An endpoint's delivery log, oldest first."""
    _row(tx, actor, endpoint_id)
    d = webhook_deliveries.c
    stmt = _DELIVERIES.where(d.endpoint_id == endpoint_id).order_by(d.id).limit(limit)
    if status is not None:
        stmt = stmt.where(d.status == status)
    if after is not None:
        stmt = stmt.where(d.id > after)
    return [_delivery(r) for r in tx.conn.execute(stmt).all()]


def delivery(tx: Tx, actor: Principal, endpoint_id: int, delivery_id: int) -> Delivery:
    _row(tx, actor, endpoint_id)
    d = webhook_deliveries.c
    row = tx.conn.execute(
        _DELIVERIES.where(d.endpoint_id == endpoint_id, d.id == delivery_id)
    ).first()
    if row is None:
        raise errors.DomainError(
            errors.WEBHOOK_DELIVERY_NOT_FOUND,
            f"webhook endpoint {endpoint_id} has no delivery {delivery_id}",
        )
    return _delivery(row)


def redeliver(tx: Tx, actor: Principal, endpoint_id: int, delivery_id: int) -> Delivery:
    """Send a delivery's event again: a new delivery, tried once at the next
    dispatch, before the endpoint's queue and outside its order (its
    ``webhook-id`` is the event's, as every time)."""
    _require_writer(actor)
    original = delivery(tx, actor, endpoint_id, delivery_id)
    now = tx.now()
    new_id = inserted_id(
        tx.conn.execute(
            webhook_deliveries.insert().values(
                endpoint_id=endpoint_id,
                event_id=original.event_id,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                manual=True,
                created_at=now,
            )
        )
    )
    return delivery(tx, actor, endpoint_id, new_id)
