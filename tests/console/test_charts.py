"""The console's printing of times, deadlines and amounts, and its SVG charts
(no database, no browser: milliseconds)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from app.console import charts, formats
from wallets.core.clock import SANDBOX_TZ, working_days_between, working_days_deadline
from wallets.ledger.money import format_amount, format_cny


def test_amounts_read_as_cny_with_thousands_separators():
    assert format_cny(120123396) == "CNY 1,201,233.96"
    assert format_cny(-123456) == "CNY -1,234.56"
    assert format_cny(5) == "CNY 0.05"
    assert formats.cny("-60000.00") == "CNY -60,000.00"  # a report's text
    assert formats.cny(None) == "—"


def test_times_are_local_with_utc_on_hover():
    html = str(formats.local_time(datetime(2026, 3, 2, 2, 0, tzinfo=UTC)))
    assert ">2026-03-02 10:00</time>" in html
    assert 'title="2026-03-02 02:00:00 UTC"' in html
    assert 'datetime="2026-03-02T02:00:00+00:00"' in html
    assert ">2026-03-02 10:00</time>" in str(formats.local_time("2026-03-02T02:00:00+00:00"))


def test_deadlines_in_words_with_working_days_left():
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=SANDBOX_TZ)
    due = working_days_deadline(monday, 1)  # the end of Tuesday
    words = lambda now: re.sub(r"<[^>]+>", "", str(formats.deadline(due, now)))  # noqa: E731
    assert words(monday) == "due Tue 3 Mar, 24:00 (in 1 working day)"
    assert words(monday + timedelta(days=1)) == "due Tue 3 Mar, 24:00 (today)"
    assert (
        words(monday + timedelta(days=2)) == "overdue since Tue 3 Mar, 24:00 (1 working day late)"
    )
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=SANDBOX_TZ)
    due = working_days_deadline(friday, 2)  # over the weekend: the end of Tuesday
    assert words(friday) == "due Tue 10 Mar, 24:00 (in 2 working days)"
    assert working_days_between(date(2026, 3, 6), date(2026, 3, 10)) == 2
    assert working_days_between(date(2026, 3, 10), date(2026, 3, 6)) == -2


def test_the_days_left_skip_the_profiles_public_holidays_as_the_due_date_does():
    """One definition of a working day (clock.is_working_day) for the STR due
    date and the console's count: Good Friday 2026 is a Macao holiday."""
    from wallets.rules.profile import load_profile

    holiday = load_profile("macau").alerts.is_holiday
    thursday = datetime(2026, 4, 2, 12, 0, tzinfo=SANDBOX_TZ)
    due = working_days_deadline(thursday, 2, holiday)  # Monday 6 and Tuesday 7 April
    text = re.sub(r"<[^>]+>", "", str(formats.deadline(due, thursday, holiday)))
    assert text == "due Tue 7 Apr, 24:00 (in 2 working days)"
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7), holiday) == 2
    assert working_days_between(date(2026, 4, 7), date(2026, 4, 2), holiday) == -2
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 3  # weekends only


def money(**kw):
    return {"value_text": format_amount, "value_label": format_cny, **kw}


def test_a_line_chart_tells_its_series_apart_without_colour():
    xs = [datetime(2026, 3, 2, h, tzinfo=UTC) for h in (0, 1, 3)]
    svg = str(
        charts.line_chart(
            id="c",
            title="Positions",
            xs=xs,
            series=[charts.Series("A", [100, 250, -50]), charts.Series("B", [0, 0, 99])],
            x_label=formats.chart_time,
            marks=[charts.Mark(xs[1], "alert 7 raised", value="alert 7", kind="alert")],
            **money(),
        )
    )
    assert re.findall(r'data-series="([^"]+)"', svg) == ["A", "B"]
    assert re.findall(r'data-value="([^"]+)"', svg) == [
        "1.00", "2.50", "-0.50", "0.00", "0.00", "0.99", "alert 7"
    ]  # fmt: skip
    dashes = re.findall(r'<polyline[^>]+stroke-dasharray="([^"]*)"', svg)
    assert len(set(dashes)) == 2  # each line its own dash pattern
    assert "<circle" in svg and '<rect class="point' in svg  # and its own marker
    assert "<title>A, 02 Mar 09:00: CNY 2.50</title>" in svg
    assert "A: CNY -0.50" in svg and "B: CNY 0.99" in svg  # the last values, written
    assert 'role="img"' in svg and "A: from CNY 1.00 to CNY -0.50" in svg
    # Time is to scale: the last point is twice as far from the second as the first.
    cx = [float(v) for v in re.findall(r'<circle class="point s0"[^>]+cx="([\d.]+)"', svg)]
    assert abs((cx[2] - cx[1]) - 2 * (cx[1] - cx[0])) < 0.2


def test_bars_have_patterns_and_gauges_write_their_figures():
    svg = str(
        charts.bar_chart(
            id="b",
            title="Days",
            groups=["2026-03-02"],
            series=[charts.Series(n, [v]) for n, v in (("In", 500), ("Out", 200), ("GGR", -30))],
            **money(),
        )
    )
    assert re.findall(r'data-series="([^"]+)" data-value="([^"]+)"', svg) == [
        ("In", "5.00"),
        ("Out", "2.00"),
        ("GGR", "-0.30"),
    ]
    assert 'fill="url(#fill-hatch)"' in svg and 'fill="url(#fill-dots)"' in svg
    gauge = str(charts.gauge(id="g", label="Daily", used=170000, cap=200000, **money()))
    assert "CNY 1,700.00 of CNY 2,000.00, 85.00 %" in gauge and "high" in gauge
    assert 'data-used="1700.00" data-cap="2000.00"' in gauge
    assert "no cap" in str(charts.gauge(id="h", label="x", used=1, cap=None, **money()))
