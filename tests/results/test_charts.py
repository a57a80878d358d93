"""The results pages' SVG charts: well-formed, accessible, escaped, and with the right marks."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from award.results import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and title.text and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def marks(root: ET.Element, tag: str, layer: str) -> list[ET.Element]:
    """The marks of one layer of the plot: the ``tag`` children of the top-level <g class="layer">
    (legend symbols, in their own groups, are not counted)."""
    return [e for g in root.findall(f"{SVG}g") if g.get("class") == layer for e in g.findall(f"{SVG}{tag}")]


def test_dot_plot_has_a_dot_per_judge_and_a_bar_per_entry():
    rows = [charts.DotRow("1. 澎湖監獄", [90.23, 89.65, 92.48, 93.45, 91.08], 91.26, [False, True, False, True, False]),
            charts.DotRow("2. 臺北市政府", [88.93, 85.65, 89.28], 88.07),
            charts.DotRow("3. only one", [70.0], None)]
    root = parse(charts.dot_plot(rows, chart_id="dots-1", title="Judges' totals", desc="One row per entry."))
    assert len(marks(root, "circle", "judge")) == 7
    assert len(marks(root, "circle", "judge dropped")) == 2
    assert len(marks(root, "rect", "panel")) == 2
    assert len(marks(root, "line", "range")) == 2  # a spread needs two judges
    labels = [t.text for t in marks(root, "text", "row-label")]
    assert labels == ["1. 澎湖監獄", "2. 臺北市政府", "3. only one"]
    xs = [float(c.get("cx")) for c in marks(root, "circle", "judge")]
    assert all(charts.LABEL_WIDTH <= x <= charts.WIDTH - charts.RIGHT for x in xs)


def test_chart_text_is_escaped():
    evil = '</text><script>alert("x")</script> & <創新>'
    svg = charts.dot_plot([charts.DotRow(evil, [1.0, 2.0], 1.5)], chart_id='x" onload="alert(1)',
                          title=evil, desc=evil, legend=(evil, "b", "c"))
    root = parse(svg)
    assert "<script>" not in svg and root.find(f"{SVG}title").text == evil
    assert not root.findall(f".//{SVG}script") and root.get("onload") is None
    bars = charts.interval_bars([charts.IntervalRow(evil, 1, 2, 1)], chart_id="i", title=evil, desc=evil, n_ranks=2)
    assert parse(bars).find(f"{SVG}desc").text == evil


def test_interval_bars_have_a_bar_per_interval_and_a_dot_per_rank():
    rows = [charts.IntervalRow("1. A", 1, 2, 1), charts.IntervalRow("2. B", 2, 3, 2),
            charts.IntervalRow("3. C", 1, 3, 3), charts.IntervalRow("4. D", None, None, 4)]
    root = parse(charts.interval_bars(rows, chart_id="ranks", title="Rank intervals", desc="Bars.", n_ranks=4))
    bars = marks(root, "rect", "interval")
    assert len(bars) == 3 and len(marks(root, "circle", "rank")) == 4
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] == pytest.approx(widths[1]) and widths[2] > widths[0]  # 1–3 is wider than 1–2 and 2–3
    left = [float(b.get("x")) for b in bars]
    assert left[0] == pytest.approx(left[2]) and left[0] < left[1]  # rank 1 at the left


@pytest.mark.parametrize("rows", [[], [charts.DotRow("same", [80.0, 80.0, 80.0], 80.0)]])
def test_degenerate_dot_plots_are_still_well_formed(rows):
    parse(charts.dot_plot(rows, chart_id="d", title="t", desc="d"))


def test_many_ranks_keep_the_axis_readable():
    rows = [charts.IntervalRow(f"{i}. entry", i, min(i + 3, 200), i) for i in range(1, 201)]
    root = parse(charts.interval_bars(rows, chart_id="big", title="t", desc="d", n_ranks=200))
    ticks = [t for t in root.findall(f"{SVG}text") if t.get("class") == "tick"]
    assert 2 <= len(ticks) <= 12 and len(marks(root, "rect", "interval")) == 200


def test_nice_steps():
    assert [charts.nice_step(s) for s in (0, 7, 30, 95, 1.2)] == [1.0, 1.0, 5.0, 20.0, 0.2]


def test_the_pages_charts_are_well_formed_with_one_dot_per_judge_total(app, scored_stage, client, login):
    login.as_demo("organizer")
    html = client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) == 2  # one dot plot per category
    counts = [(len(marks(parse(s), "circle", "judge")), len(marks(parse(s), "circle", "judge dropped")),
               len(marks(parse(s), "rect", "panel"))) for s in svgs]
    assert counts == [(6 * 3, 6 * 2, 6), (3 * 3, 3 * 2, 3)]  # trimmed: 1 high and 1 low judge dropped
    diagnostics = client.get(f"/results/stages/{scored_stage.stage_id}/diagnostics").get_data(as_text=True)
    bars = [parse(s) for s in re.findall(r"<svg .*?</svg>", diagnostics, re.S)]
    assert [len(marks(b, "circle", "rank")) for b in bars] == [6, 3]
