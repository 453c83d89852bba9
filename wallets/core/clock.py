"""The sandbox clock: every timestamp and day boundary comes from it.

It is either *fixed* at an instant (time stands still until it is set or
advanced: replays are deterministic) or *running*: wall time plus an offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from . import errors
from .db import Tx
from .preconditions import IfMatch, check, etag_of
from .schema import sandbox

# Days in the sandbox are days in China and Macau (Asia/Shanghai, Asia/Macau: UTC+8,
# no daylight saving).
SANDBOX_TZ = timezone(timedelta(hours=8), "UTC+08:00")

# The instants the API takes (statement and export periods, audit log ranges),
# in UTC: a day inside Python's range on each side, so that a day boundary in
# UTC+8 or a day more can be computed. PostgreSQL's timestamps hold more.
INSTANT_MIN = datetime(1, 1, 2, tzinfo=UTC)
INSTANT_MAX = datetime(9999, 12, 31, tzinfo=UTC)
# The sandbox clock itself, narrower: holds, exclusions, deadlines and a
# ten-year advance are computed from it.
CLOCK_MIN = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(9000, 1, 1, tzinfo=UTC)


def local_date(when: datetime) -> date:
    """The sandbox day (UTC+8) an instant falls on."""
    return when.astimezone(SANDBOX_TZ).date()


def local_midnight(day: date) -> datetime:
    """00:00 UTC+8 of a sandbox day, as an aware UTC instant."""
    return datetime.combine(day, time(0), SANDBOX_TZ).astimezone(UTC)


def gaming_day_of(when: datetime, cutoff: time) -> date:
    """The gaming day an instant belongs to: gaming day D runs from D at the
    cut-off (UTC+8) to D+1 at the cut-off."""
    local = when.astimezone(SANDBOX_TZ)
    day = local.date()
    return day - timedelta(days=1) if local.time() < cutoff else day


def gaming_day_bounds(day: date, cutoff: time) -> tuple[datetime, datetime]:
    """[start, end) of a gaming day, as aware UTC instants."""
    start = datetime.combine(day, cutoff, SANDBOX_TZ).astimezone(UTC)
    return start, start + timedelta(days=1)


def no_holiday(day: date) -> bool:
    return False


def is_working_day(day: date, holiday: Callable[[date], bool] = no_holiday) -> bool:
    """Monday to Friday and not a ``holiday``: the one definition the STR due
    date (``working_days_deadline``) and the console's count of the days left
    (``working_days_between``) both use."""
    return day.weekday() < 5 and not holiday(day)


def working_days_deadline(
    when: datetime, days: int, holiday: Callable[[date], bool] = no_holiday
) -> datetime:
    """The end (24:00 UTC+8) of the ``days``-th working day (Monday to Friday,
    not a ``holiday``) after the day of ``when``: "within 2 working days" of a
    Friday is by the end of Tuesday, or of Wednesday when Monday is a holiday."""
    day, counted = local_date(when), 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, holiday):
            counted += 1
    return local_midnight(day + timedelta(days=1))


def working_days_between(
    start: date, end: date, holiday: Callable[[date], bool] = no_holiday
) -> int:
    """The working days (``is_working_day``: Monday to Friday, not a
    ``holiday``) after ``start`` up to and including ``end``: from Monday to a
    Tuesday deadline, 1. Negative when ``end`` is before ``start`` (a deadline
    passed)."""
    if end < start:
        return -working_days_between(end, start, holiday)
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(n), holiday)
    )


@dataclass(frozen=True)
class ClockState:
    now: datetime
    fixed: bool


def state(tx: Tx) -> ClockState:
    return ClockState(now=tx.now(), fixed=tx.sandbox.clock_fixed is not None)


def etag(tx: Tx) -> str:
    """The clock's ETag: of its setting (the instant it is fixed at, or its
    offset from wall time when it runs), not of its ``now``, which a running
    clock moves at every read. Setting or advancing it changes it."""
    row = tx.sandbox
    if row.clock_fixed is not None:
        return etag_of("clock", {"fixed": row.clock_fixed.isoformat()})
    return etag_of("clock", {"offset_us": row.clock_offset_us})


def set_clock(
    tx: Tx, when: datetime, fixed: bool = True, *, if_match: IfMatch | None = None
) -> ClockState:
    """Set the clock; with ``if_match``, only while it is at one of its ETags (412)."""
    tx.lock_sandbox()
    check(if_match, etag(tx), "the sandbox clock")
    if when.tzinfo is None:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "the time needs a UTC offset",
            errors={"now": ["must include a UTC offset, e.g. 2026-01-01T09:00:00+08:00"]},
        )
    when = _within_range("now", when.astimezone(UTC))
    if fixed:
        values = {"clock_fixed": when, "clock_offset_us": 0}
    else:
        offset = when - datetime.now(UTC)
        values = {"clock_fixed": None, "clock_offset_us": _us(offset)}
    tx.conn.execute(sandbox.update().where(sandbox.c.id == 1).values(**values))
    tx.forget_clock()
    return state(tx)


def advance(tx: Tx, seconds: int) -> ClockState:
    if seconds < 0:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "the sandbox clock never goes backwards by advancing",
            errors={"seconds": ["must not be negative"]},
        )
    row = tx.sandbox
    delta = timedelta(seconds=seconds)
    _within_range("seconds", tx.now() + delta)
    if row.clock_fixed is not None:
        values = {"clock_fixed": row.clock_fixed + delta}
    else:
        values = {"clock_offset_us": row.clock_offset_us + _us(delta)}
    tx.conn.execute(sandbox.update().where(sandbox.c.id == 1).values(**values))
    tx.forget_clock()
    return state(tx)


def _within_range(field: str, when: datetime) -> datetime:
    if not CLOCK_MIN <= when < CLOCK_MAX:
        msg = f"the sandbox clock stays from {CLOCK_MIN:%Y-%m-%d} to before {CLOCK_MAX:%Y-%m-%d} (UTC)"
        raise errors.DomainError(errors.VALIDATION_FAILED, msg, errors={field: [msg]})
    return when


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
