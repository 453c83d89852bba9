"""How the console prints times, deadlines and amounts: times in the sandbox's
time zone (UTC+8) with UTC on hover, deadlines in words with the working days
left, amounts with the currency and thousands separators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup

from wallets.core import clock
from wallets.ledger.money import format_cny, parse_signed_amount

LOCAL = "%Y-%m-%d %H:%M"


def cny(amount: int | str | None) -> str:
    """``CNY 1,201,233.96`` from fen, or from the API's decimal text (reports)."""
    if amount is None:
        return "—"
    return format_cny(parse_signed_amount(amount) if isinstance(amount, str) else amount)


def in_currency(amount: int | str | None, currency: str | None = "CNY") -> str:
    """``HKD 1,234.56``: a casino's chip figure in its chip currency (``CNY`` as :func:`cny`)."""
    text = cny(amount)
    return text if currency in (None, "CNY") or text == "—" else f"{currency}{text[3:]}"


def local_time(when: datetime | str | None, fmt: str = LOCAL) -> Markup:
    """A ``<time>`` in UTC+8, its UTC instant in ``datetime`` and on hover (an
    ISO 8601 text, such as a checkpoint's signed time, too)."""
    if when is None:
        return Markup("—")
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    utc = when.astimezone(UTC)
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        when.astimezone(clock.SANDBOX_TZ).strftime(fmt),
    )


def chart_time(when: datetime) -> str:
    """A time on a chart's axis or in a point's title (UTC+8)."""
    return when.astimezone(clock.SANDBOX_TZ).strftime("%d %b %H:%M")


def deadline(
    due: datetime, now: datetime, holiday: Callable[[date], bool] = clock.no_holiday
) -> Markup:
    """ "due Tue 3 Mar, 24:00 (in 1 working day)": a deadline at midnight is
    the end (24:00) of the day before, as the rule states it. The working days
    are counted as the rule counts them: not on weekends nor on a ``holiday``
    (the active profile's, ``alerts.holidays_of``)."""
    local = due.astimezone(clock.SANDBOX_TZ)
    day = local.date()
    if local.time() == time(0):
        day -= timedelta(days=1)
        at = "24:00"
    else:
        at = local.strftime("%H:%M")
    shown = f"{day:%a} {day.day} {day:%b}, {at}"
    left = clock.working_days_between(clock.local_date(now), day, holiday)
    if now > due:
        late = max(-left, 0)
        words = f"overdue since {shown}" + (
            f" ({late} working day{'s' if late != 1 else ''} late)" if late else ""
        )
    elif left <= 0:
        words = f"due {shown} (today)"
    else:
        words = f"due {shown} (in {left} working day{'s' if left != 1 else ''})"
    utc = due.astimezone(UTC)
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M:%S"), words
    )
