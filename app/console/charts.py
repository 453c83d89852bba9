"""Charts as SVG drawn on the server: line, grouped bar, timeline and gauge.

Every chart is readable without its colours: each series has its own dash
pattern or fill pattern and marker shape, a legend and end labels in text,
and each point, bar or span has a ``<title>`` with its value (the browser
shows it on hover; screen readers read it). The machine value of each point
is in ``data-value`` (the API's text of it), so that tests compare a chart
with the API's figures. No JavaScript, no library: a page prints the markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 960
# Dash patterns, markers and fills per series, in this order: a series is told
# apart by its shape and pattern, not only by its colour.
DASHES = ("", "8 4", "2 3", "10 3 2 3", "4 4", "1 5")
MARKERS = ("circle", "square", "triangle", "diamond", "circle", "square")
FILLS = ("solid", "hatch", "dots", "cross", "solid", "hatch")


@dataclass(frozen=True)
class Series:
    """A named row of values, one per x (None: no value there)."""

    name: str
    values: Sequence[int | None]


@dataclass(frozen=True)
class Span:
    """A stretch of time on a timeline row (``end`` None: still running)."""

    start: datetime
    end: datetime | None
    label: str
    kind: str = "span"


@dataclass(frozen=True)
class Mark:
    """An instant on a timeline row."""

    at: datetime
    label: str
    value: str = ""
    kind: str = "mark"


@dataclass(frozen=True)
class Row:
    label: str
    spans: Sequence[Span] = ()
    marks: Sequence[Mark] = ()


@dataclass
class _Svg:
    id: str
    title: str
    desc: str
    height: int
    parts: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)

    def markup(self) -> Markup:
        head = (
            f'<svg class="chart" id="{escape(self.id)}" role="img" tabindex="0" '
            f'aria-labelledby="{escape(self.id)}-t {escape(self.id)}-d" '
            f'viewBox="0 0 {WIDTH} {self.height}" width="{WIDTH}" height="{self.height}" '
            f'xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{escape(self.id)}-t">{escape(self.title)}</title>'
            f'<desc id="{escape(self.id)}-d">{escape(self.desc)}</desc>'
        )
        return Markup(head + "".join(self.parts) + "</svg>")


# Fill patterns for bars: solid, diagonal hatch, dots, cross-hatch; drawn once
# per page (base.html), used by every chart on it.
DEFS = Markup(
    '<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>'
    '<pattern id="fill-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" class="pat-bg"/>'
    '<line x1="0" y1="0" x2="0" y2="6" class="pat-fg" stroke-width="3"/></pattern>'
    '<pattern id="fill-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<rect width="5" height="5" class="pat-bg"/><circle cx="2.5" cy="2.5" r="1.4" class="pat-dot"/>'
    "</pattern>"
    '<pattern id="fill-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" class="pat-bg"/>'
    '<path d="M0 0L6 6M6 0L0 6" class="pat-fg" stroke-width="1.2"/></pattern>'
    "</defs></svg>"
)


def _attr(text: object) -> str:
    return str(escape(str(text)))


def _fill(i: int) -> str:
    kind = FILLS[i % len(FILLS)]
    return f'class="bar s{i % 6} f-{kind}"' + (
        "" if kind == "solid" else f' fill="url(#fill-{kind})"'
    )


def _marker(i: int, x: float, y: float, title: str, value: str, at: str = "") -> str:
    shape = MARKERS[i % len(MARKERS)]
    tip = f"<title>{escape(title)}</title>"
    data = f'data-value="{_attr(value)}"' + (f' data-at="{_attr(at)}"' if at else "")
    cls = f'class="point s{i % 6}"'
    if shape == "square":
        return f'<rect {cls} {data} x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7">{tip}</rect>'
    if shape == "triangle":
        pts = f"{x:.1f},{y - 4.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f}"
        return f'<polygon {cls} {data} points="{pts}">{tip}</polygon>'
    if shape == "diamond":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return f'<polygon {cls} {data} points="{pts}">{tip}</polygon>'
    return f'<circle {cls} {data} cx="{x:.1f}" cy="{y:.1f}" r="3.5">{tip}</circle>'


def _scale(values: Sequence[int], top: float, bottom: float) -> tuple[int, int, Callable]:
    """From values to y: from min(0, lowest) to the highest (or 1)."""
    low = min([0, *values])
    high = max([0, *values]) or 1
    if high == low:
        high = low + 1

    def y(v: int) -> float:
        return bottom - (v - low) * (bottom - top) / (high - low)

    return low, high, y


def _ticks(low: int, high: int) -> list[int]:
    """Up to five distinct values from ``low`` to ``high`` for the y axis."""
    return sorted({low + (high - low) * k // 4 for k in range(5)})


def _legend(svg: _Svg, names: Sequence[str], y: float, bars: bool) -> None:
    x = 70.0
    for i, name in enumerate(names):
        if bars:
            swatch = f'<rect {_fill(i)} x="{x:.0f}" y="{y - 10:.0f}" width="14" height="12"/>'
        else:
            swatch = (
                f'<line class="line s{i % 6}" x1="{x:.0f}" y1="{y - 4:.0f}" x2="{x + 22:.0f}" '
                f'y2="{y - 4:.0f}" stroke-dasharray="{DASHES[i % len(DASHES)]}"/>'
            )
        svg.add(
            f'<g class="legend">{swatch}<text x="{x + 26:.0f}" y="{y:.0f}">{escape(name)}</text></g>'
        )
        x += 44 + 7.4 * len(name)


def line_chart(
    *,
    id: str,
    title: str,
    xs: Sequence[datetime],
    series: Sequence[Series],
    value_text: Callable[[int], str],
    value_label: Callable[[int], str],
    x_label: Callable[[datetime], str],
    marks: Sequence[Mark] = (),
    step: bool = False,
) -> Markup:
    """Lines over time (x in proportion to time), one per series, each point
    marked and titled; the last value of each line written at its end.
    ``marks``: instants drawn as labelled vertical lines (alerts raised);
    ``step``: a value holds until the next point (a balance), not a slope."""
    height = 300
    # Room above the plot for the marks' labels.
    left, right, top, bottom = 130, WIDTH - 320, 36 if marks else 20, 230
    every = [v for s in series for v in s.values if v is not None]
    low, high, y = _scale(every, top, bottom)
    n = len(xs)
    span = (xs[-1] - xs[0]).total_seconds() if n else 0.0

    def x_at(at: datetime) -> float:
        if not span:
            return (left + right) / 2
        return left + (right - left) * (at - xs[0]).total_seconds() / span

    def x(i: int) -> float:
        if not span and n > 1:  # all at one instant: side by side, in order
            return left + (right - left) * i / (n - 1)
        return x_at(xs[i])

    desc = "; ".join(
        [
            f"{s.name}: from {value_label(s.values[0] or 0)} to {value_label(s.values[-1] or 0)}"
            for s in series
            if s.values
        ]
        + [f"{m.value} at {x_label(m.at)}" for m in marks]
    )
    svg = _Svg(id, title, desc or "no data", height)
    for tick in _ticks(low, high):
        svg.add(
            f'<line class="grid" x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{escape(value_label(tick))}</text>"
        )
    for i in sorted({0, n // 2, n - 1}) if n else ():
        svg.add(
            f'<text class="tick" x="{x(i):.1f}" y="{bottom + 18}" text-anchor="middle">'
            f"{escape(x_label(xs[i]))}</text>"
        )
    ends: list[tuple[float, float, str]] = []
    for i, s in enumerate(series):
        pts = [(x(k), y(v), v, k) for k, v in enumerate(s.values) if v is not None]
        corners = []
        for k, (px, py, _, _) in enumerate(pts):
            if step and k:
                corners.append((px, pts[k - 1][1]))
            corners.append((px, py))
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in corners)
        svg.add(f'<g class="series" data-series="{_attr(s.name)}">')
        svg.add(
            f'<polyline class="line s{i % 6}" points="{path}" '
            f'stroke-dasharray="{DASHES[i % len(DASHES)]}"/>'
        )
        for px, py, v, k in pts:
            svg.add(
                _marker(
                    i,
                    px,
                    py,
                    f"{s.name}, {x_label(xs[k])}: {value_label(v)}",
                    value_text(v),
                    xs[k].isoformat(),
                )
            )
        if pts:
            px, py, v, _ = pts[-1]
            ends.append((py, px, f"{s.name}: {value_label(v)}"))
        svg.add("</g>")
    # The last value of each line at its end, moved apart where lines end together.
    placed = -1e9
    for py, px, text in sorted(ends):
        placed = max(py + 4, placed + 14)
        svg.add(f'<text class="end" x="{px + 8:.1f}" y="{placed:.1f}">{escape(text)}</text>')
    for m in marks:
        mx = x_at(m.at)
        svg.add(
            f'<g class="mark {escape(m.kind)}" data-value="{_attr(m.value)}" '
            f'data-at="{_attr(m.at.isoformat())}">'
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{bottom}"/>'
            f'<polygon points="{mx:.1f},{top - 6} {mx + 6:.1f},{top} {mx:.1f},{top + 6} '
            f'{mx - 6:.1f},{top}"/>'
            f'<text class="mark-label" x="{mx:.1f}" y="{top - 10}" text-anchor="middle">'
            f"{escape(m.value)}</text>"
            f"<title>{escape(m.label)}</title></g>"
        )
    _legend(svg, [s.name for s in series], height - 14, bars=False)
    return svg.markup()


def bar_chart(
    *,
    id: str,
    title: str,
    groups: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[int], str],
    value_label: Callable[[int], str],
) -> Markup:
    """Grouped bars: per group (a day), one bar per series, each with its own
    fill pattern and a title; values written on the bars when there is room."""
    height = 300
    left, right, top, bottom = 130, WIDTH - 20, 20, 220
    every = [v for s in series for v in s.values if v is not None]
    low, high, y = _scale(every, top, bottom)
    n, m = max(len(groups), 1), max(len(series), 1)
    slot = (right - left) / n
    bar = max(min((slot - 12) / m, 60), 3)
    write_values = bar >= 50  # room for "100000.00" at 10 px
    desc = "; ".join(
        f"{g}: " + ", ".join(f"{s.name} {value_label(s.values[k] or 0)}" for s in series)
        for k, g in enumerate(groups)
    )
    svg = _Svg(id, title, desc or "no data", height)
    for tick in _ticks(low, high):
        svg.add(
            f'<line class="grid" x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{escape(value_label(tick))}</text>"
        )
    zero = y(0)
    for k, g in enumerate(groups):
        x0 = left + k * slot + (slot - bar * m) / 2
        svg.add(f'<g class="group" data-group="{_attr(g)}">')
        for i, s in enumerate(series):
            v = s.values[k]
            if v is None:
                continue
            top_y, h = min(y(v), zero), max(abs(y(v) - zero), 1)
            bx = x0 + i * bar
            svg.add(
                f'<rect {_fill(i)} data-series="{_attr(s.name)}" data-value="{_attr(value_text(v))}" '
                f'x="{bx:.1f}" y="{top_y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}">'
                f"<title>{escape(f'{s.name}, {g}: {value_label(v)}')}</title></rect>"
            )
            if write_values:
                ty = top_y - 4 if v >= 0 else top_y + h + 12
                svg.add(
                    f'<text class="value" x="{bx + bar / 2 - 1:.1f}" y="{ty:.1f}" '
                    f'text-anchor="middle">{escape(value_text(v))}</text>'
                )
        svg.add(
            f'<text class="tick" x="{left + k * slot + slot / 2:.1f}" y="{bottom + 18}" '
            f'text-anchor="middle">{escape(g)}</text></g>'
        )
    _legend(svg, [s.name for s in series], height - 14, bars=True)
    return svg.markup()


def timeline(
    *,
    id: str,
    title: str,
    start: datetime,
    end: datetime,
    rows: Sequence[Row],
    x_label: Callable[[datetime], str],
) -> Markup:
    """Rows of spans (bars from start to end) and marks (instants) over one
    stretch of time, each with its label in text and a title."""
    left, right = 150, WIDTH - 20
    row_h = 34
    height = 40 + row_h * max(len(rows), 1) + 10
    span = (end - start).total_seconds() or 1.0

    def x(at: datetime) -> float:
        return left + (right - left) * min(max((at - start).total_seconds() / span, 0), 1)

    desc = "; ".join(
        f"{r.label}: "
        + ", ".join([s.label for s in r.spans] + [f"{m.label} {m.value}".strip() for m in r.marks])
        for r in rows
    )
    svg = _Svg(id, title, desc or "nothing yet", height)
    for at, anchor in ((start, "start"), (end, "end")):
        svg.add(
            f'<text class="tick" x="{x(at):.1f}" y="14" text-anchor="{anchor}">'
            f"{escape(x_label(at))}</text>"
        )
    svg.add(f'<line class="grid" x1="{left}" x2="{left}" y1="20" y2="{height - 10}"/>')
    svg.add(f'<line class="grid" x1="{right}" x2="{right}" y1="20" y2="{height - 10}"/>')
    for k, r in enumerate(rows):
        top = 24 + k * row_h
        svg.add(
            f'<g class="row" data-row="{_attr(r.label)}"><text class="label" x="4" '
            f'y="{top + 18}">{escape(r.label)}</text>'
        )
        for s in r.spans:
            x1, x2 = x(s.start), x(s.end or end)
            svg.add(
                f'<rect class="span {escape(s.kind)}" x="{x1:.1f}" y="{top + 4}" '
                f'width="{max(x2 - x1, 3):.1f}" height="{row_h - 12}">'
                f"<title>{escape(s.label)}</title></rect>"
                f'<text class="in-span" x="{x1 + 4:.1f}" y="{top + 19}">{escape(s.label)}</text>'
            )
        for m in r.marks:
            mx = x(m.at)
            svg.add(
                f'<g class="mark {escape(m.kind)}" data-value="{_attr(m.value)}" '
                f'data-at="{_attr(m.at.isoformat())}">'
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top + 2}" y2="{top + row_h - 6}"/>'
                f'<polygon points="{mx:.1f},{top + 2} {mx + 5:.1f},{top + 8} {mx:.1f},{top + 14} '
                f'{mx - 5:.1f},{top + 8}"/>'
                f"<title>{escape(m.label)}</title></g>"
            )
        svg.add("</g>")
    return svg.markup()


def gauge(
    *,
    id: str,
    label: str,
    used: int,
    cap: int | None,
    value_text: Callable[[int], str],
    value_label: Callable[[int], str],
    high_percent: int = 80,
) -> Markup:
    """How much of a cap is used: a bar in its track, with the figures in text
    ("CNY 1,200.00 of CNY 5,000.00, 24.0 %") and a hatch from ``high_percent`` on."""
    height = 34
    left, right = 0, WIDTH - 290
    if cap:
        percent = Decimal(used) * 100 / Decimal(cap)  # as the API's utilisation_percent
        words = f"{value_label(used)} of {value_label(cap)}, {percent:.2f} %"
    else:
        percent = Decimal(0)
        words = f"{value_label(used)}, no cap"
    high = bool(cap) and percent >= high_percent
    svg = _Svg(id, label, f"{label}: {words}", height)
    # Anything used shows, if only as a sliver.
    width = (right - left) * float(min(percent, Decimal(100))) / 100
    width = max(width, 2.0) if used > 0 and cap else width
    fill = ' fill="url(#fill-hatch)"' if high else ""
    svg.add(
        f'<g class="gauge{" high" if high else ""}" data-used="{_attr(value_text(used))}" '
        f'data-cap="{_attr(value_text(cap) if cap is not None else "")}">'
        f'<rect class="track" x="{left}" y="6" width="{right - left}" height="20"/>'
        f'<rect class="bar{" f-hatch" if high else ""}" x="{left}" y="6" width="{width:.1f}" '
        f'height="20"{fill}>'
        f"<title>{escape(words)}</title></rect>"
        f'<text class="value" x="{right + 8}" y="21">{escape(words)}'
        f"{' — high' if high else ''}</text></g>"
    )
    return svg.markup()
