"""The dispatcher: deliveries claimed from the outbox and sent to webhook
endpoints (docs/events.md#delivery).

One round (:func:`run_once`):

1. *fan out* — for every endpoint, the events written since its cursor that
   its scope may see and its types select become pending deliveries (one
   INSERT ... SELECT per endpoint), and the cursor moves on;
2. *claim* — endpoints with a delivery due are leased to this worker for
   ``lease_seconds`` of wall time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL:
   other workers pass over them; SQLite has one writer at a time anyway);
3. *send* — per claimed endpoint, its due deliveries one after the other,
   oldest event first: each is sent, then its outcome recorded in a
   transaction of its own (the lease renewed). A failure stops the endpoint's
   round: the next event waits until the failed one succeeds (in order), its
   retry due after the back-off on the sandbox clock. After
   ``max_failures`` failed attempts in a row the endpoint is disabled.

A worker killed mid-round leaves its deliveries pending and its lease to run
out: the next worker sends again what was in flight (at least once; the
``webhook-id`` is the event's, for the receiver to deduplicate on), nothing
is lost. The dispatcher's own writes are the sandbox's machinery, as the
expiry of holds is: not commands of a caller, so not in the audit log.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa

from ..core import errors
from ..core.config import Settings
from ..core.db import Database, Tx
from ..core.schema import event_head, events, webhook_deliveries, webhook_endpoints
from . import feed, signing
from .endpoints import DISABLED, ENABLED, FAILED, PENDING, SUCCEEDED, check_url, scope_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """How deliveries are made (wallets/core/config.py has the settings)."""

    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    timeout_seconds: float = 5.0
    retry_base_seconds: int = 10
    retry_max_seconds: int = 3600
    max_failures: int = 8
    # How long a claim on an endpoint lasts without news from its worker (wall time).
    lease_seconds: float = 60.0
    # At most this many events fanned out per endpoint per round.
    fan_out_limit: int = 1000
    # At most this many endpoints claimed, and deliveries sent to each, per round.
    claim_limit: int = 10
    batch: int = 100

    @classmethod
    def from_settings(cls, s: Settings, **overrides) -> Policy:
        values: dict[str, Any] = dict(
            allowed_hosts=s.webhook_allowed_hosts,
            timeout_seconds=s.webhook_timeout_seconds,
            retry_base_seconds=s.webhook_retry_base_seconds,
            retry_max_seconds=s.webhook_retry_max_seconds,
            max_failures=s.webhook_max_failures,
        )
        values.update(overrides)
        return cls(**values)


def backoff(policy: Policy, failures: int, rand: Callable[[], float] = random.random) -> timedelta:
    """The wait before the next attempt after ``failures`` failed ones
    (exponential, with jitter): ``min(base × 2^(failures−1), max)``, times a
    random factor between 0.5 and 1."""
    full = min(policy.retry_base_seconds * 2 ** (failures - 1), policy.retry_max_seconds)
    return timedelta(seconds=full * (0.5 + 0.5 * rand()))


def _wall_now() -> datetime:
    return datetime.now(UTC)


# ---- 1. fan out ----------------------------------------------------------------


def fan_out(tx: Tx, policy: Policy) -> int:
    """Queue deliveries of the events past each endpoint's cursor; how many."""
    (head,) = tx.conn.execute(sa.select(event_head.c.last_id)).one()
    w = webhook_endpoints.c
    rows = tx.conn.execute(
        sa.select(webhook_endpoints)
        .where(w.cursor < head)
        .order_by(w.id)
        .with_for_update(skip_locked=True)
    ).all()
    now = tx.now()
    queued = 0
    for row in rows:
        upto = min(head, row.cursor + policy.fan_out_limit)
        chosen = sa.select(
            sa.literal(row.id).label("endpoint_id"),
            events.c.id,
            sa.literal(PENDING).label("status"),
            sa.literal(0).label("attempts"),
            sa.literal(now, type_=webhook_deliveries.c.next_attempt_at.type).label("n"),
            sa.literal(False).label("manual"),
            sa.literal(now, type_=webhook_deliveries.c.created_at.type).label("c"),
        ).where(events.c.id > row.cursor, events.c.id <= upto, feed.visible_to(scope_of(row)))
        types = feed.check_types(_types(row))
        if types is not None:
            chosen = chosen.where(events.c.type.in_(types))
        result = tx.conn.execute(
            webhook_deliveries.insert().from_select(
                [
                    "endpoint_id",
                    "event_id",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "manual",
                    "created_at",
                ],
                chosen.order_by(events.c.id),
            )
        )
        queued += max(result.rowcount, 0)
        tx.conn.execute(webhook_endpoints.update().where(w.id == row.id).values(cursor=upto))
    return queued


def _types(row: sa.Row) -> list[str] | None:
    return json.loads(row.event_types) if row.event_types is not None else None


# ---- 2. claim --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """An endpoint leased to this worker, and the secrets that sign for it."""

    id: int
    url: str
    secrets: tuple[str, ...]
    # The sandbox's reset generation it was claimed under: after a reset its
    # deliveries are gone and their ids may be new ones' (wallets/services/reset.py).
    generation: int = 0


def _due(now: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """An endpoint has a delivery due: a manual one, or the oldest pending one
    (the head of its queue: the others wait behind it) once its time has come."""
    d = webhook_deliveries.alias("d")
    before = webhook_deliveries.alias("before")
    w = webhook_endpoints.c
    earlier = (
        sa.select(before.c.id)
        .where(
            # d's endpoint, not webhook_endpoints.c.id: that would not correlate
            # two levels up, and every endpoint's pending deliveries would then
            # hold back every other endpoint's.
            before.c.endpoint_id == d.c.endpoint_id,
            before.c.status == PENDING,
            before.c.manual.is_(False),
            before.c.id < d.c.id,
        )
        .exists()
    )
    return (
        sa.select(d.c.id)
        .where(
            d.c.endpoint_id == w.id,
            d.c.status == PENDING,
            d.c.next_attempt_at <= now,
            sa.or_(d.c.manual.is_(True), ~earlier),
        )
        .exists()
    )


def claim(tx: Tx, policy: Policy, wall_now: datetime) -> list[Target]:
    """Lease the endpoints that have a delivery due and no live lease."""
    w = webhook_endpoints.c
    rows = tx.conn.execute(
        sa.select(webhook_endpoints)
        .where(
            w.status == ENABLED,
            sa.or_(w.lease_until.is_(None), w.lease_until < wall_now),
            _due(sa.literal(tx.now(), type_=webhook_deliveries.c.next_attempt_at.type)),
        )
        .order_by(w.id)
        .limit(policy.claim_limit)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        tx.conn.execute(
            webhook_endpoints.update()
            .where(w.id.in_([r.id for r in rows]))
            .values(lease_until=wall_now + timedelta(seconds=policy.lease_seconds))
        )
    now = tx.now()
    return [Target(r.id, r.url, _secrets(r, now), tx.generation) for r in rows]


def _secrets(row: sa.Row, now: datetime) -> tuple[str, ...]:
    if (
        row.previous_secret is not None
        and row.previous_until is not None
        and now < row.previous_until
    ):
        return (row.secret, row.previous_secret)
    return (row.secret,)


# ---- 3. send ---------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    delivery_id: int
    event_id: int
    manual: bool
    body: str


_NEXT = (
    sa.select(
        webhook_deliveries.c.id,
        webhook_deliveries.c.event_id,
        webhook_deliveries.c.manual,
        webhook_deliveries.c.next_attempt_at,
        events.c.type,
        events.c.at,
        events.c.data,
    )
    .join(events, events.c.id == webhook_deliveries.c.event_id)
    .where(
        webhook_deliveries.c.endpoint_id == sa.bindparam("endpoint_id"),
        webhook_deliveries.c.status == PENDING,
    )
    .order_by(webhook_deliveries.c.manual.desc(), webhook_deliveries.c.id)
    .limit(1)
)
_STATUS = sa.select(webhook_endpoints.c.status).where(
    webhook_endpoints.c.id == sa.bindparam("endpoint_id")
)


def next_due(tx: Tx, endpoint_id: int) -> Due | None:
    """The endpoint's next delivery to send now: a manual one first, else the
    head of its queue if due; None if none, or the endpoint was disabled."""
    (status,) = tx.rows(_STATUS, endpoint_id=endpoint_id)[0]
    if status != ENABLED:
        return None
    found = tx.rows(_NEXT, endpoint_id=endpoint_id)
    if not found:
        return None
    r = found[0]
    if not r.manual and r.next_attempt_at > tx.now():
        return None
    return Due(r.id, r.event_id, r.manual, feed.body(r.event_id, r.type, r.at, r.data))


@dataclass(frozen=True)
class Attempt:
    ok: bool
    response_status: int | None
    latency_ms: int
    error: str | None


def send(session: requests.Session, target: Target, due: Due, policy: Policy) -> Attempt:
    """One attempt: POST the event, signed; 2xx is success. Redirects are
    not followed; the connect and the read each wait ``timeout_seconds`` at
    most; only the status is read of the answer."""
    started = time.monotonic()
    try:
        check_url(target.url, policy.allowed_hosts)
    except errors.DomainError as exc:
        return Attempt(False, None, 0, exc.detail[:300])
    msg_id = signing.message_id(due.event_id)
    headers = signing.headers(target.secrets, msg_id, _wall_now(), due.body)
    try:
        with session.post(
            target.url,
            data=due.body.encode(),
            headers=headers,
            timeout=(policy.timeout_seconds, policy.timeout_seconds),
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
    except requests.RequestException as exc:
        latency = int((time.monotonic() - started) * 1000)
        return Attempt(False, None, latency, f"{type(exc).__name__}: {exc}"[:300])
    latency = int((time.monotonic() - started) * 1000)
    ok = 200 <= status < 300
    return Attempt(ok, status, latency, None if ok else f"HTTP {status}")


def record(
    tx: Tx,
    target: Target,
    due: Due,
    attempt: Attempt,
    policy: Policy,
    wall_now: datetime,
    rand: Callable[[], float] = random.random,
) -> None:
    """Store an attempt's outcome, renew the lease; on a failure, schedule
    the retry (or give a manual redelivery up) and count it against the
    endpoint, disabling it at ``max_failures`` in a row."""
    if tx.generation != target.generation:
        return  # the sandbox was reset since the claim: the delivery is gone
    d = webhook_deliveries.c
    w = webhook_endpoints.c
    now = tx.now()
    (endpoint,) = tx.conn.execute(
        sa.select(webhook_endpoints).where(w.id == target.id).with_for_update()
    ).all()
    (attempts,) = tx.conn.execute(sa.select(d.attempts).where(d.id == due.delivery_id)).one()
    attempts += 1
    values: dict = dict(
        attempts=attempts,
        last_attempt_at=now,
        response_status=attempt.response_status,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
    )
    endpoint_values: dict = {"lease_until": wall_now + timedelta(seconds=policy.lease_seconds)}
    if attempt.ok:
        values["status"] = SUCCEEDED
        endpoint_values["failures"] = 0
    elif due.manual:
        values["status"] = FAILED
    else:
        failures = endpoint.failures + 1
        values["next_attempt_at"] = now + backoff(policy, attempts, rand)
        endpoint_values["failures"] = failures
        if failures >= policy.max_failures and endpoint.status == ENABLED:
            endpoint_values["status"] = DISABLED
            endpoint_values["disabled_reason"] = f"{failures} failed attempts in a row"
    # Only a delivery still pending: another worker may have sent it meanwhile.
    tx.conn.execute(
        webhook_deliveries.update()
        .where(d.id == due.delivery_id, d.status == PENDING)
        .values(**values)
    )
    tx.conn.execute(webhook_endpoints.update().where(w.id == target.id).values(**endpoint_values))


def _release(tx: Tx, endpoint_id: int) -> None:
    tx.conn.execute(
        webhook_endpoints.update()
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(lease_until=None)
    )


def deliver(db: Database, session: requests.Session, target: Target, policy: Policy) -> int:
    """Send a claimed endpoint's due deliveries in order; how many attempts."""
    sent = 0
    try:
        while sent < policy.batch:
            due = db.read(
                lambda tx: next_due(tx, target.id) if tx.generation == target.generation else None
            )
            if due is None:
                break
            attempt = send(session, target, due, policy)
            sent += 1
            db.write(record, target, due, attempt, policy, _wall_now())
            if not attempt.ok and not due.manual:
                break
    finally:
        db.write(_release, target.id)
    return sent


# ---- rounds ----------------------------------------------------------------------


def has_work(tx: Tx, wall_now: datetime) -> bool:
    """Events to fan out, or an endpoint to claim (enabled, not leased, a
    delivery due): an idle dispatcher's one read."""
    w = webhook_endpoints.c
    head = sa.select(event_head.c.last_id).where(event_head.c.id == 1).scalar_subquery()
    now = sa.literal(tx.now(), type_=webhook_deliveries.c.next_attempt_at.type)
    to_fan_out = sa.select(w.id).where(w.cursor < head).exists()
    to_claim = (
        sa.select(w.id)
        .where(
            w.status == ENABLED,
            sa.or_(w.lease_until.is_(None), w.lease_until < wall_now),
            _due(now),
        )
        .exists()
    )
    return bool(tx.conn.execute(sa.select(to_fan_out | to_claim)).scalar())


def run_once(db: Database, policy: Policy, session: requests.Session | None = None) -> int:
    """One round: fan out, claim, send. The attempts made."""
    if not db.read(has_work, _wall_now()):
        return 0  # one read: an idle dispatcher does not queue for the writer's lock
    targets = db.write(lambda tx: (fan_out(tx, policy), claim(tx, policy, _wall_now()))[1])
    own = session is None
    session = session or new_session()
    try:
        return sum(deliver(db, session, t, policy) for t in targets)
    finally:
        if own:
            session.close()


def new_session() -> requests.Session:
    """An HTTP session that ignores proxy settings of the environment: the
    allow-list names the hosts reached, not a proxy's."""
    session = requests.Session()
    session.trust_env = False
    return session


class Dispatcher:
    """Rounds in threads until stopped: ``make run``'s thread, ``ecny events
    dispatch``'s workers. An idle round waits ``interval`` seconds."""

    def __init__(self, db: Database, policy: Policy, *, workers: int = 1, interval: float = 1.0):
        self.db = db
        self.policy = policy
        self.interval = interval
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._loop, name=f"ecny-dispatch-{i}", daemon=True)
            for i in range(workers)
        ]

    def start(self) -> Dispatcher:
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout)

    def _loop(self) -> None:
        session = new_session()
        try:
            while not self.stopping.is_set():
                try:
                    done = run_once(self.db, self.policy, session)
                except Exception:  # noqa: BLE001 - a round's failure must not end the loop
                    log.exception("webhook dispatch round failed")
                    done = 0
                if not done:
                    self.stopping.wait(self.interval)
        finally:
            session.close()
