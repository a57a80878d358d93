"""Results in the browser: the ranking page is the engine's ranking, the diagnostics are the engine's
diagnostics, a what-if changes nothing, and only organisers see any of it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import scoring
from award import scoring_adapter as adapter
from award.extensions import db
from award.models import AuditEvent, Category, Mark, ResultSnapshot, ScoreSheet, Stage
from award.results import operations as ops
from award.results.payload import build_payload, payload_hash

ROW = re.compile(r'<tr id="entry-(\d+)"([^>]*)>(.*?)</tr>', re.S)
ATTR = re.compile(r'data-([\w-]+)="([^"]*)"')
HEADER = re.compile(r'<th scope="col" class="num judge-col" data-judge="(\d+)">')
CELL = re.compile(r'<td class="num( dropped)?">(.*?)</td>', re.S)


def ranking_rows(html: str) -> list[dict]:
    """The ranking tables' rows, in page order: the data attributes and each judge's cell."""
    rows = []
    for table in re.findall(r'<table class="table ranking-table".*?</table>', html, re.S):
        judges = HEADER.findall(table)
        for _entry_id, attrs, body in ROW.findall(table):
            row = dict(ATTR.findall(attrs))
            cells = CELL.findall(body)[-len(judges):]  # the judges' columns come last
            row["judge_cells"] = {j: (re.sub(r"<[^>]+>.*", "", text).strip("()"), bool(dropped))
                                  for j, (dropped, text) in zip(judges, cells, strict=True)}
            rows.append(row)
    return rows


def db_state() -> tuple:
    """Everything a read-only page must leave alone."""
    marks = db.session.execute(select(func.count(Mark.id), func.sum(Mark.score))).one()
    snapshots = [(s.id, s.sha256, s.payload, s.unfrozen_at) for s in db.session.scalars(select(ResultSnapshot))]
    stages = [(s.id, s.aggregation, s.trim, s.trim_level, s.round_each_stage, s.decimals)
              for s in db.session.scalars(select(Stage))]
    sheets = [(s.id, s.status, s.version) for s in db.session.scalars(select(ScoreSheet).order_by(ScoreSheet.id))]
    return (tuple(marks), snapshots, stages, sheets, db.session.scalar(select(func.count(AuditEvent.id))))


def test_ranking_page_is_the_engines_ranking(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        response = client.get(f"/results/stages/{stage.id}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        rows = ranking_rows(html)
        expected = []
        for category in stage.edition.categories:
            result = adapter.rank(stage, category)
            expected += [(r, category) for r in result.entries]
        assert [int(r["entry"]) for r in rows] == [int(r.entry) for r, _c in expected]
        for row, (result, category) in zip(rows, expected, strict=True):
            assert row["rank"] == str(result.rank) and row["total"] == str(result.total)
            assert row["tier"] == (result.tier or "") and row["spread"] == str(result.spread)
            assert row["judges"] == str(result.n_judges) == "5"
            assert {j: Decimal(v) for j, (v, _d) in row["judge_cells"].items()} == result.judge_totals
            # trimmed mean at total level: the highest and the lowest judge are dropped, and shown so
            dropped = {j for j, (_v, d) in row["judge_cells"].items() if d}
            assert len(dropped) == 2
            assert {j for j, _c in result.trimmed} == dropped
        # the favoured entry is third and 優選 under the official trimmed mean
        favoured = next(r for r in rows if r["entry"] == str(scored_stage.favoured_entry_id))
        assert (favoured["rank"], favoured["tier"]) == ("3", "優選")
        # judges by name, agencies with county and geography, the escaped title
        for name in ("林評審委員", "李評審委員", "法務部矯正署澎湖監獄", "澎湖縣", "離島"):
            assert name in html
        assert "澎湖縣政府 &lt;創新&gt; &amp; 透明" in html
        assert 'id="freeze-status" data-frozen="0"' in html


def test_ranking_page_shows_why_a_category_cannot_be_ranked(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        stage.trim = 3  # 5 judges cannot lose 3 at each end
        db.session.commit()
        first = stage.edition.categories[0]
        with pytest.raises(scoring.TooFewJudges) as caught:
            adapter.rank(stage, first)
        response = client.get(f"/results/stages/{stage.id}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f'id="category-{first.id}-error"' in html
        error = html.split(f'id="category-{first.id}-error"', 1)[1].split("</p>", 1)[0]
        # said in Chinese from the engine's data: which entry, how many judges, how many needed
        assert f"#{caught.value.entry}" in error and "5" in error and "7" in error
        assert caught.value.message not in html and re.search(r"[\u4e00-\u9fff]", error)
        assert ranking_rows(html) == []
        assert 'id="freeze-blockers"' in html
        from io import BytesIO

        from openpyxl import load_workbook

        book = load_workbook(BytesIO(client.get(f"/results/export/stages/{stage.id}.xlsx").data))
        texts = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
        assert any(f"參獎案 #{caught.value.entry} 只有 5 位委員" in t for t in texts)
        assert not any(caught.value.message in t for t in texts)


def test_diagnostics_page_is_the_engines_diagnostics(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        response = client.get(f"/results/stages/{stage.id}/diagnostics")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        first = stage.edition.categories[0]
        diag = scoring.diagnose(adapter.to_criteria(first.criteria), adapter.stage_marks(stage, first),
                                adapter.stage_config(stage), adapter.to_tiers(stage.edition), bootstrap=500, seed=0)
        # favouritism: the planted favour and nothing else, with its statistic and the threshold
        flags = re.findall(r'<tr class="flag" data-judge="(\d+)" data-entry="(\d+)" data-z="([^"]+)"', html)
        assert flags == [(str(scored_stage.favouring_judge_id), str(scored_stage.favoured_entry_id),
                          f"{diag.favouritism[0].z:.2f}")]
        assert len(diag.favouritism) == 1 and diag.favouritism[0].direction == "favours"
        assert "3.5" in html
        # rank intervals and tier probabilities of every entry
        section = html[html.index(f'id="diagnostics-{first.id}"'):]
        for conf in diag.rank_confidence:
            assert (f'<tr data-entry="{conf.entry}" data-low="{conf.rank_low}" data-high="{conf.rank_high}">'
                    in section)
        assert len(re.findall(r'<tr data-entry="\d+" data-low=', html)) == 9
        # leave one judge out names the judges whose absence changes a tier or a top place
        for influence in diag.influence:
            for change in influence.changes:
                assert f'<li data-judge="{influence.judge}" data-entry="{change.entry}">' in section
        assert diag.influential_judges  # the fixture has one: the page must show it
        # agreement figures with a plain-language reading
        assert f"{diag.agreement.kendall_w:.3f}" in section and f"{diag.agreement.icc2_1:.3f}" in section
        assert ops.read_kendall_w(diag.agreement.kendall_w) in section
        # one interval chart per category
        assert len(re.findall(r'<svg [^>]*role="img"', html)) == 2


def test_what_if_shows_the_other_method_and_changes_nothing(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        before = db_state()
        response = client.get(f"/results/stages/{stage.id}/whatif?method=mean&round_each_stage=0")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        alternative = build_payload(stage, scoring.AggregationConfig(method="mean", trim=1, trim_level="total",
                                                                     round_each_stage=False, decimals=2))
        official = build_payload(stage)
        rows = {r[0]: dict(ATTR.findall(r[1])) for r in re.findall(r'<tr id="whatif-entry-(\d+)"([^>]*)>', html)}
        assert len(rows) == 9
        for o_cat, a_cat in zip(official["categories"], alternative["categories"], strict=True):
            alt = {e["id"]: e for e in a_cat["entries"]}
            for entry in o_cat["entries"]:
                row = rows[str(entry["id"])]
                assert row["official-rank"] == str(entry["rank"]) and row["official-total"] == entry["total"]
                assert row["alternative-rank"] == str(alt[entry["id"]]["rank"])
                assert row["alternative-total"] == alt[entry["id"]]["total"]
                assert row["change"] == str(entry["rank"] - alt[entry["id"]]["rank"])
        # under the plain mean the planted favour lifts its entry one place, into 特優
        assert rows[str(scored_stage.favoured_entry_id)]["change"] == "1"
        assert "優選 → 特優" in html
        assert db_state() == before  # nothing written: no mark, stage, snapshot or audit event


def test_what_if_without_parameters_is_the_official_method(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        response = client.get(f"/results/stages/{scored_stage.stage_id}/whatif")
        assert response.status_code == 200
        changes = re.findall(r'<tr id="whatif-entry-\d+"[^>]*data-change="([^"]*)"', response.get_data(as_text=True))
        assert changes == ["0"] * 9


def test_what_if_on_frozen_results_leaves_the_snapshot_alone(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        ops.freeze(stage, scored_stage.user("organizer@award.example"))
        before = db_state()
        for query in ("method=median&trim_level=criterion", "method=zscore&decimals=3", "method=bias"):
            assert client.get(f"/results/stages/{stage.id}/whatif?{query}").status_code == 200
        assert db_state() == before
        snapshot = ops.active_snapshot(stage)
        assert ops.verify_snapshot(snapshot) and ops.snapshot_matches_live(snapshot)


@pytest.mark.parametrize("query", ["method=best", "trim=-1", "trim=abc", "decimals=9", "trim_level=judge",
                                   "round_each_stage=maybe", "trim="])
def test_what_if_refuses_bad_parameters_clearly(app, scored_stage, client, login, query):
    login.as_demo("organizer")
    with app.app_context():
        before = db_state()
        response = client.get(f"/results/stages/{scored_stage.stage_id}/whatif?{query}")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'class="error-summary"' in html and 'id="whatif-form"' in html
        assert "whatif-entry-" not in html
        assert db_state() == before


def test_what_if_shows_the_engines_message_when_a_method_cannot_rank(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        response = client.get(f"/results/stages/{stage.id}/whatif?method=trimmed&trim=3")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        payload = build_payload(stage, scoring.AggregationConfig(method="trimmed", trim=3, trim_level="total",
                                                                 round_each_stage=True))
        for category in payload["categories"]:
            assert category["error"] and category["error_detail"]["kind"] == "too_few_judges"
            assert f'id="whatif-{category["id"]}-error"' in html
            shown = html.split(f'id="whatif-{category["id"]}-error">', 1)[1].split("</p>", 1)[0]
            assert f'#{category["error_detail"]["entry"]}' in shown and "7" in shown  # the reader's language


def test_bias_with_a_disconnected_design_shows_the_engines_message(app, scored_stage, client, login):
    """Two judge groups that share no entry: the leniency model cannot compare them."""
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        category = db.session.get(Category, scored_stage.category_ids[1])
        entries = scored_stage.entry_ids[category.id]
        judges = scored_stage.judge_ids
        # entry 1 keeps judges 1-2 only, entries 2-3 keep judges 3-5 only
        for sheet in db.session.scalars(select(ScoreSheet).where(ScoreSheet.entry_id.in_(entries))):
            keep = judges[:2] if sheet.entry_id == entries[0] else judges[2:]
            if sheet.judge_id not in keep:
                sheet.excluded, sheet.excluded_reason = True, "test: disconnected design"
        db.session.commit()
        response = client.get(f"/results/stages/{stage.id}/whatif?method=bias")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f'id="whatif-{category.id}-error"' in html
        refused = build_payload(stage, scoring.AggregationConfig(method="bias"))["categories"][1]
        assert "groups" in refused["error"] and refused["error_detail"] == {"kind": "disconnected", "parts": 2}
        shown = html.split(f'id="whatif-{category.id}-error">', 1)[1].split("</p>", 1)[0]
        assert "2" in shown and refused["error"] not in html


def test_index_lists_every_stage_with_its_freeze_status(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        html = client.get("/results/").get_data(as_text=True)
        assert f'<tr id="stage-{stage.id}" data-frozen="0">' in html
        assert len(re.findall(r'<tr id="stage-\d+" data-frozen=', html)) == 2
        snapshot = ops.freeze(stage, scored_stage.user("organizer@award.example"))
        html = client.get("/results/").get_data(as_text=True)
        assert f'<tr id="stage-{stage.id}" data-frozen="1">' in html and snapshot.sha256[:16] in html


def _urls(stage_id: int, snapshot_id: int) -> list[tuple[str, str]]:
    return [("get", "/results/"), ("get", f"/results/stages/{stage_id}"),
            ("get", f"/results/stages/{stage_id}/diagnostics"), ("get", f"/results/stages/{stage_id}/whatif"),
            ("get", f"/results/stages/{stage_id}/whatif?method=mean"), ("post", f"/results/stages/{stage_id}/freeze"),
            ("post", f"/results/stages/{stage_id}/unfreeze"), ("get", f"/results/snapshots/{snapshot_id}"),
            ("get", f"/results/snapshots/{snapshot_id}.json")]


@pytest.mark.parametrize("who", ["judge1", "judge2", "penghu", "moj"])
def test_judges_and_agency_contacts_get_403_everywhere(app, scored_stage, client, login, who):
    with app.app_context():
        snapshot = ops.freeze(scored_stage.stage(), scored_stage.user("organizer@award.example"))
        snapshot_id = snapshot.id
        before = db_state()
    login.as_demo(who)
    for method, url in _urls(scored_stage.stage_id, snapshot_id):
        response = getattr(client, method)(url, data={"reason": "let me in"} if method == "post" else None)
        assert response.status_code == 403, (who, url)
    with app.app_context():
        assert db_state()[:4] == before[:4]


def test_anonymous_visitors_are_sent_to_log_in(app, scored_stage, client):
    for method, url in _urls(scored_stage.stage_id, 1):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_unknown_stage_or_snapshot_is_404(app, scored_stage, client, login):
    login.as_demo("organizer")
    for url in ("/results/stages/9999", "/results/stages/9999/whatif", "/results/stages/9999/diagnostics",
                "/results/snapshots/9999", "/results/snapshots/9999.json"):
        assert client.get(url).status_code == 404, url
    assert client.post("/results/stages/9999/freeze").status_code == 404


def test_live_hash_is_stable_between_requests(app, scored_stage):
    """Nothing in the page's payload depends on the request: the same marks hash the same."""
    with app.app_context():
        stage = scored_stage.stage()
        assert payload_hash(build_payload(stage)) == payload_hash(build_payload(stage))


def test_agreement_that_cannot_be_computed_says_why_in_chinese(app, scored_stage, client, login):
    """Every judge gives every entry of the second category the same marks: W and ICC are undefined
    because nothing varies, and the page and the workbook say that, in Chinese, not "too few entries"."""
    from io import BytesIO

    from openpyxl import load_workbook

    from award.results.workbook_text import NOTES

    with app.app_context():
        category_id = scored_stage.category_ids[1]
        for mark in db.session.scalars(select(Mark).join(ScoreSheet).where(
                ScoreSheet.stage_id == scored_stage.stage_id,
                ScoreSheet.entry_id.in_(scored_stage.entry_ids[category_id]))):
            mark.score = Decimal("80")
        db.session.commit()
    login.as_demo("organizer")  # the default language: Traditional Chinese
    html = client.get(f"/results/stages/{scored_stage.stage_id}/diagnostics").get_data(as_text=True)
    section = html[html.index(f'id="diagnostics-{category_id}"'):]
    note = section.split(f'id="agreement-note-{category_id}">', 1)[1].split("</p>", 1)[0]
    assert "undefined" not in note and re.search(r"[\u4e00-\u9fff]", note)
    reading = section.split('data-stat="kendall_w"', 1)[1].split("</tr>", 1)[0]
    assert "差異過小" in reading  # not the "too few entries" reading
    assert "-0.00" not in html
    book = load_workbook(BytesIO(client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx").data))
    texts = {str(c.value) for row in book["評分一致性"].iter_rows() for c in row if c.value}
    assert NOTES["no_variation"] in texts and not any("undefined" in t for t in texts)
