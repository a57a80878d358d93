"""Small server-rendered SVG charts for the results pages: no chart library, nothing downloaded.

Pure functions: data and already translated words in, an SVG string (``Markup``) out. Every chart
is ``role="img"`` with a <title> and a <desc> (its text alternative; the numbers themselves are
in the table beside it); every text is escaped. Shapes differ as well as colours (WCAG 1.4.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WIDTH = 680
LABEL_WIDTH = 210  # the entries' labels, left of the plot
RIGHT = 16
ROW = 20
TOP = 44  # room for the legend
BOTTOM = 34  # room for the axis
LABEL_CHARS = 16


@dataclass(frozen=True)
class DotRow:
    """One entry of a dot plot: each judge's total, and the panel total (the official one)."""

    label: str
    values: Sequence[float]
    marker: float | None = None
    dropped: Sequence[bool] = field(default_factory=tuple)  # parallel to values: left out by the method


@dataclass(frozen=True)
class IntervalRow:
    """One entry of a rank-interval chart: the interval from the bootstrap and the official rank."""

    label: str
    low: float | None
    high: float | None
    point: float | None = None


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(chart_id: str, height: int, title: str, desc: str, css_class: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" id="{cid}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{cid}-title {cid}-desc">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def nice_step(span: float, max_ticks: int = 8) -> float:
    """A 1-2-5 step giving at most ``max_ticks`` intervals over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / max_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover


def _axis(lo: float, hi: float, step: float, x, y: float) -> list[str]:
    parts = [f'<line class="axis" x1="{LABEL_WIDTH}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>']
    tick = math.ceil(lo / step) * step
    while tick <= hi + 1e-9:
        px = x(tick)
        parts.append(f'<line class="grid" x1="{px:.1f}" y1="{TOP - 6}" x2="{px:.1f}" y2="{y}"/>')
        parts.append(f'<text class="tick" x="{px:.1f}" y="{y + 16}" text-anchor="middle">{_num(tick)}</text>')
        tick += step
    return parts


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    """(symbol SVG at the origin, text) pairs laid out along the top."""
    parts, x = [], 12
    for symbol, text in items:
        parts.append(f'<g class="chart-legend" transform="translate({x},16)">{symbol}'
                     f'<text x="10" y="4">{escape(text)}</text></g>')
        x += 30 + text_width(text)
    return parts


def text_width(text: str) -> int:
    """Rough width in pixels at the charts' 12px font: CJK and other wide characters count double."""
    return sum(12 if ord(ch) >= 0x2E80 else 7 for ch in text)


def _labels(labels: Sequence[str]) -> str:
    """The rows' labels, right-aligned left of the plot, in one group."""
    texts = "".join(f'<text x="{LABEL_WIDTH - 8}" y="{TOP + i * ROW + ROW // 2 + 4}">{escape(_short(label))}</text>'
                    for i, label in enumerate(labels))
    return f'<g class="row-label" text-anchor="end">{texts}</g>'


def dot_plot(rows: Sequence[DotRow], *, chart_id: str, title: str, desc: str,
             legend: tuple[str, str, str] = ("judge's total", "dropped by the method", "panel total")) -> Markup:
    """One row per entry: a dot per judge's total, a bar at the panel total, a line over the spread.

    Marks, each layer in one group: ``g.judge > circle`` for each value kept by the method,
    ``g.judge.dropped > circle`` (hollow) for each value it left out, ``g.panel > rect`` for each
    marker, ``g.range > line`` for each row with two or more values."""
    height = TOP + max(len(rows), 1) * ROW + BOTTOM
    parts = _open(chart_id, height, title, desc, "dot-plot")
    values = [v for r in rows for v in r.values] + [r.marker for r in rows if r.marker is not None]
    if not values:
        return Markup("".join(parts) + "</svg>")  # every text escaped above  # noqa: S704  # nosec B704
    step = nice_step(max(values) - min(values) or 1.0)
    lo, hi = math.floor(min(values) / step) * step, math.ceil(max(values) / step) * step
    hi = hi if hi > lo else lo + step

    def x(v: float) -> float:
        return LABEL_WIDTH + (v - lo) / (hi - lo) * (WIDTH - RIGHT - LABEL_WIDTH)

    parts += _legend([('<circle class="judge" cx="0" cy="0" r="4"/>', legend[0]),
                      ('<circle class="judge dropped" cx="0" cy="0" r="4"/>', legend[1]),
                      ('<rect class="panel" x="-1.5" y="-7" width="3" height="14"/>', legend[2])])
    parts += _axis(lo, hi, step, x, TOP + len(rows) * ROW + 4)
    parts.append(_labels([row.label for row in rows]))
    parts += _dot_layers(rows, x)
    return Markup("".join(parts) + "</svg>")  # every text escaped above  # noqa: S704  # nosec B704


def _dot_layers(rows: Sequence[DotRow], x) -> list[str]:
    """The plot's marks in layers (one <g> each, so the class is written once): spreads, kept dots,
    dropped dots, then the panel totals on top."""
    ranges, kept, dropped, panels = [], [], [], []
    for i, row in enumerate(rows):
        cy = TOP + i * ROW + ROW // 2
        if len(row.values) >= 2:
            ranges.append(f'<line x1="{x(min(row.values)):.0f}" y1="{cy}" x2="{x(max(row.values)):.0f}" y2="{cy}"/>')
        for k, value in enumerate(row.values):
            out = k < len(row.dropped) and row.dropped[k]
            (dropped if out else kept).append(f'<circle cx="{x(value):.0f}" cy="{cy}" r="4"/>')
        if row.marker is not None:
            panels.append(f'<rect x="{x(row.marker) - 1.5:.1f}" y="{cy - 7}" width="3" height="14"/>')
    return [f'<g class="range">{"".join(ranges)}</g>', f'<g class="judge">{"".join(kept)}</g>',
            f'<g class="judge dropped">{"".join(dropped)}</g>', f'<g class="panel">{"".join(panels)}</g>']


def interval_bars(rows: Sequence[IntervalRow], *, chart_id: str, title: str, desc: str, n_ranks: int,
                  legend: tuple[str, str] = ("rank interval", "official rank")) -> Markup:
    """One row per entry: a bar over the rank interval (rank 1 at the left), a dot at the official rank.

    Marks, each layer in one group: ``g.interval > rect`` for each row with an interval,
    ``g.rank > circle`` for each point."""
    height = TOP + max(len(rows), 1) * ROW + BOTTOM
    parts = _open(chart_id, height, title, desc, "interval-bars")
    n = max(n_ranks, 1)
    unit = (WIDTH - RIGHT - LABEL_WIDTH) / n

    def x(rank: float) -> float:
        return LABEL_WIDTH + (rank - 0.5) * unit

    parts += _legend([('<rect class="interval" x="-6" y="-4" width="12" height="8"/>', legend[0]),
                      ('<circle class="rank" cx="0" cy="0" r="4"/>', legend[1])])
    parts += _rank_axis(n, x, TOP + len(rows) * ROW + 4)
    parts.append(_labels([row.label for row in rows]))
    bars, points = [], []
    for i, row in enumerate(rows):
        cy = TOP + i * ROW + ROW // 2
        if row.low is not None and row.high is not None:
            left, right = x(row.low) - unit * 0.4, x(row.high) + unit * 0.4
            bars.append(f'<rect x="{left:.1f}" y="{cy - 5}" width="{right - left:.1f}" height="10"/>')
        if row.point is not None:
            points.append(f'<circle cx="{x(row.point):.1f}" cy="{cy}" r="4"/>')
    parts += [f'<g class="interval">{"".join(bars)}</g>', f'<g class="rank">{"".join(points)}</g>']
    return Markup("".join(parts) + "</svg>")  # every text escaped above  # noqa: S704  # nosec B704


def _rank_axis(n: int, x, y: float) -> list[str]:
    parts = [f'<line class="axis" x1="{LABEL_WIDTH}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>']
    step = max(1, int(nice_step(n, 10)))
    for rank in sorted({1, *range(step, n + 1, step)}):
        parts.append(f'<text class="tick" x="{x(rank):.1f}" y="{y + 16}" text-anchor="middle">{rank}</text>')
    return parts
