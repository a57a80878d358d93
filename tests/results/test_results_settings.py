"""Per-stage results settings (tie-break, too few judges to trim), the tier's certificate text, the
entry's head of agency, and the snapshot hash on every export.

Each setting is shown changing a ranking: two entries of 整體廉能作為類 (weights 20, 20, 25, 20, 15)
are given marks with equal displayed totals but different criterion marks or different medians.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from award import scoring_adapter as adapter
from award.extensions import db
from award.models import AwardTier, Entry, Mark, ScoreSheet
from award.results import export_ops
from award.results import operations as ops
from award.results import workbook_text as T
from award.results.payload import build_payload, payload_hash

FIRST, SECOND = "首長決心與持續作為", "資訊與行政透明"  # the first two criteria (weight 20 each)


def set_marks(scored_stage, entry_id: int, per_judge: list[list[str]]) -> None:
    """Overwrite the marks of ``entry_id``: ``per_judge[j][c]`` for judge j (fixture order), criterion c."""
    for judge_id, marks in zip(scored_stage.judge_ids, per_judge, strict=True):
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == entry_id,
                                                           ScoreSheet.judge_id == judge_id))
        rows = sorted(db.session.scalars(select(Mark).where(Mark.sheet_id == sheet.id)), key=lambda m: m.criterion_id)
        for mark, score in zip(rows, marks, strict=True):
            mark.score = Decimal(score)
    db.session.commit()


def pair(scored_stage) -> tuple[int, int, int]:
    """(category id, entry A, entry B): the two weakest entries of the first category."""
    category_id = scored_stage.category_ids[0]
    a, b = scored_stage.entry_ids[category_id][4:6]
    return category_id, a, b


def criterion_tie(scored_stage) -> tuple[int, int, int]:
    """A: 97.5 on the first criterion, 92.5 on the second; B: 95 on both; 95 elsewhere; every judge
    alike. Both total 95.00 (20 × 2.5 / 100 = 0.5 up and down); A leads on the first criterion."""
    category_id, a, b = pair(scored_stage)
    set_marks(scored_stage, a, [["97.5", "92.5", "95", "95", "95"]] * 5)
    set_marks(scored_stage, b, [["95"] * 5] * 5)
    return category_id, a, b


def entries_of(payload, category_id: int) -> dict[int, dict]:
    category = next(c for c in payload["categories"] if c["id"] == category_id)
    assert category["error"] is None, category["error"]
    return {e["id"]: e for e in category["entries"]}


def test_a_criterion_tie_break_orders_equal_totals_by_the_named_criterion(app, scored_stage):
    with app.app_context():
        category_id, a, b = criterion_tie(scored_stage)
        stage = scored_stage.stage()
        found = entries_of(build_payload(stage), category_id)
        assert found[a]["total"] == found[b]["total"] == "95.00"
        assert found[a]["rank"] == found[b]["rank"]  # no tie-break: they share the rank

        stage.tie_break, stage.tie_break_criteria = "criteria", FIRST
        db.session.commit()
        payload = build_payload(stage)
        found = entries_of(payload, category_id)
        assert found[b]["rank"] == found[a]["rank"] + 1  # A is higher on the first criterion
        assert payload["config"]["tie_break"] == [f"criterion:{FIRST}"]

        stage.tie_break_criteria = SECOND
        db.session.commit()
        found = entries_of(build_payload(stage), category_id)
        assert found[a]["rank"] == found[b]["rank"] + 1  # B is higher on the second

        # the engine got the category's criterion key, not the name
        category = next(c for c in stage.edition.categories if c.id == category_id)
        second = next(c for c in adapter.criteria_for(category, stage) if c.name == SECOND)
        assert [str(t) for t in adapter.stage_config(stage, category).tie_break] == [f"criterion:{second.id}"]
        assert [r.entry for r in adapter.rank(stage, category).entries].index(str(b)) < \
            [r.entry for r in adapter.rank(stage, category).entries].index(str(a))


def test_a_median_tie_break_orders_equal_trimmed_means_by_the_median(app, scored_stage):
    with app.app_context():
        category_id, a, b = pair(scored_stage)
        # each judge marks every criterion alike, so a judge's total is that mark (weights sum to 100)
        set_marks(scored_stage, a, [[m] * 5 for m in ("85", "95", "95", "95", "100")])
        set_marks(scored_stage, b, [[m] * 5 for m in ("85", "94", "94", "97", "100")])
        stage = scored_stage.stage()
        found = entries_of(build_payload(stage), category_id)
        assert found[a]["total"] == found[b]["total"] == "95.00"  # the middle three average 95 for both
        assert found[a]["rank"] == found[b]["rank"]

        stage.tie_break = "median"
        db.session.commit()
        found = entries_of(build_payload(stage), category_id)
        assert found[b]["rank"] == found[a]["rank"] + 1  # median 95 beats median 94


def test_too_few_judges_to_trim_refuses_or_falls_back_to_the_mean(app, scored_stage):
    with app.app_context():
        stage = scored_stage.stage()
        category_id = scored_stage.category_ids[1]
        short = scored_stage.entry_ids[category_id][0]
        stage.trim = 2  # five judges: just enough; the entry below keeps only four
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == short,
                                                           ScoreSheet.judge_id == scored_stage.judge_ids[0]))
        sheet.excluded = True
        db.session.commit()

        payload = build_payload(stage)
        category = next(c for c in payload["categories"] if c["id"] == category_id)
        assert category["entries"] == [] and "5" in category["error"]  # "error": not ranked
        assert payload["config"]["too_few_judges"] == "error"

        stage.too_few_judges = "mean"
        db.session.commit()
        payload = build_payload(stage)
        found = entries_of(payload, category_id)
        assert set(found) == set(scored_stage.entry_ids[category_id])  # ranked now
        assert found[short]["fallback"] is True and found[short]["n_judges"] == 4
        assert all("fallback" not in e for i, e in found.items() if i != short)
        plain_mean = entries_of(build_payload(stage, adapter.stage_config(stage).__class__(
            method="mean", decimals=2, round_each_stage=True)), category_id)
        assert found[short]["total"] == plain_mean[short]["total"]
        assert payload["config"]["too_few_judges"] == "mean"


def test_the_results_page_states_the_settings_in_words(app, scored_stage, client, login):
    with app.app_context():
        stage = scored_stage.stage()
        stage.tie_break, stage.tie_break_criteria, stage.too_few_judges = "criteria,median", FIRST, "mean"
        db.session.commit()
    login.as_demo("organizer")
    client.post("/language", data={"lang": "en", "next": "/"})  # the wording checked below is the English
    html = client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)
    tie = html.split('id="method-tie-break"', 1)[1].split("</dd>", 1)[0]
    assert f'data-tie-break="criterion:{FIRST},median"' in html
    assert f"higher panel mark on {FIRST}" in tie and "higher median of the judges" in tie
    assert tie.index(FIRST) < tie.index("median")
    few = html.split('id="method-too-few"', 1)[1].split("</dd>", 1)[0]
    assert 'data-too-few="mean"' in few and "fewer than 3 judges" in few and "plain mean" in few
    # the what-if keeps the stage's tie-break and policy, and resolves the criterion per category
    html = client.get(f"/results/stages/{scored_stage.stage_id}/whatif?method=mean&trim=0").get_data(as_text=True)
    alternative = html.split('id="alternative-method-tie-break"', 1)[1].split("</dd>", 1)[0]
    assert f"higher panel mark on {FIRST}" in alternative
    assert "cannot be ranked" not in html
    # and the diagnostics page runs with it
    assert client.get(f"/results/stages/{scored_stage.stage_id}/diagnostics").status_code == 200


def test_the_frozen_snapshot_records_the_settings(app, scored_stage):
    with app.app_context():
        stage = scored_stage.stage()
        stage.tie_break, stage.tie_break_criteria, stage.too_few_judges = "criteria,spread", f"{SECOND}\n{FIRST}", "mean"
        db.session.commit()
        snapshot = ops.freeze(stage, scored_stage.user("organizer@award.example"))
        config = json.loads(snapshot.payload)["config"]
        assert config["tie_break"] == [f"criterion:{SECOND}", f"criterion:{FIRST}", "spread"]
        assert config["too_few_judges"] == "mean"
        # the diagnostics of the snapshot resolve the names per category and run
        found = ops.diagnostics(ops.snapshot_payload(snapshot), bootstrap=20)
        assert all(item.diagnostics is not None for item in found)


def test_the_summary_sheet_states_the_settings_in_words(app, scored_stage, client, login):
    with app.app_context():
        stage = scored_stage.stage()
        stage.tie_break, stage.tie_break_criteria, stage.too_few_judges = "criteria,median", FIRST, "mean"
        db.session.commit()
    login.as_demo("organizer")
    book = load_workbook(io.BytesIO(client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx").data))
    summary = {row[0]: row[1] for row in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if row[0]}
    assert summary[T.LABEL_METHOD].startswith(T.METHOD_NAMES["trimmed"])
    assert "1" in summary[T.LABEL_TRIM]
    assert summary[T.LABEL_ROUNDING] == T.ROUNDING_EACH.format(d=2)
    assert summary[T.LABEL_TIE_BREAK] == (T.TIE_BREAK_INTRO + "1. " + T.TIE_BREAK_RULES["criterion"].format(name=FIRST)
                                          + "；2. " + T.TIE_BREAK_RULES["median"] + T.TIE_BREAK_REST)
    assert summary[T.LABEL_TOO_FEW] == T.TOO_FEW["mean"]


def test_the_ranking_sheet_and_page_mark_an_entry_ranked_by_the_fallback(app, scored_stage, client, login):
    with app.app_context():
        stage = scored_stage.stage()
        category_id = scored_stage.category_ids[1]
        short = scored_stage.entry_ids[category_id][0]
        stage.trim, stage.too_few_judges = 2, "mean"
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == short,
                                                           ScoreSheet.judge_id == scored_stage.judge_ids[0]))
        sheet.excluded = True
        db.session.commit()
        blob = export_ops.export(stage, "xlsx").data
    ranking = list(load_workbook(io.BytesIO(blob))[T.SHEET_RANKING].iter_rows(min_row=2, values_only=True))
    notes = {row[9]: row[12] for row in ranking}
    assert T.NOTE_FALLBACK in (notes[short] or "")
    assert all(T.NOTE_FALLBACK not in (note or "") for entry, note in notes.items() if entry != short)
    login.as_demo("organizer")
    html = client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)
    marked = [int(row.split('data-entry="', 1)[1].split('"', 1)[0])
              for row in html.split("<tr id=\"entry-")[1:] if 'data-fallback="1"' in row.split("</tr>", 1)[0]]
    assert marked == [short]


def test_every_export_carries_the_frozen_snapshots_hash(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        snapshot = ops.freeze(scored_stage.stage(), scored_stage.user("organizer@award.example"))
        sha = snapshot.sha256
    page = client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)
    assert f'id="frozen-hash">{sha}<' in page

    data = client.get(f"/results/export/stages/{scored_stage.stage_id}.csv").data
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    column = table[0].index("snapshot_sha256")
    assert len(table) > 2 and all(row[column] == sha for row in table[1:])

    book = load_workbook(io.BytesIO(client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx").data))
    assert book.sheetnames == list(T.SHEETS)
    for ws in book.worksheets:
        assert sha in ws.oddFooter.right.text, ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    summary = {row[0]: row[1] for row in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if row[0]}
    assert summary[T.LABEL_HASH] == sha


def test_a_provisional_export_claims_no_hash(app, scored_stage, client, login):
    login.as_demo("organizer")
    data = client.get(f"/results/export/stages/{scored_stage.stage_id}.csv").data
    table = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    column = table[0].index("snapshot_sha256")
    assert {row[column] for row in table[1:]} == {""}
    book = load_workbook(io.BytesIO(client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx").data))
    for ws in book.worksheets:
        assert not (ws.oddFooter.right.text or "") and ws.oddHeader.right.text == T.STATUS_PROVISIONAL


def test_the_run_sheet_uses_the_tiers_text_and_the_entrys_head(app, scored_stage):
    with app.app_context():
        stage = scored_stage.stage()
        top = next(t for t in stage.edition.tiers if t.position == 0)
        top.award_text = "恭賀 {agency} 首長 {head} 榮獲 {category}{tier}"
        payload = build_payload(stage)
        winners = [(c, e) for c in payload["categories"] for e in c["entries"] if e["tier"]]
        with_head = next(e for _c, e in winners if e["tier"] == top.name)
        entry = db.session.get(Entry, with_head["id"])
        before = payload_hash(payload)
        entry.head_name = entry.agency.head_name  # the same head as the register's: the payload is unchanged
        db.session.commit()
        assert payload_hash(build_payload(stage)) == before
        head = entry.head_name = "=HYPERLINK(\"http://evil.example\",\"王首長\")"  # a formula-looking head name
        db.session.commit()
        recorded = entries_of(build_payload(stage), next(c["id"] for c, e in winners if e is with_head))
        assert recorded[with_head["id"]]["head_name"] == head
        assert all("head_name" not in e for i, e in recorded.items() if i != with_head["id"])
        blob = export_ops.export(stage, "xlsx").data
        register_heads = {e["id"]: e["agency"]["head_name"] for _c, e in winners}
        others = {e["id"]: (c["name"], e["tier"]) for c, e in winners if e["tier"] != top.name}
        assert others
        tier_names = [t.name for t in db.session.scalars(select(AwardTier))]
        top_name = top.name
    book = load_workbook(io.BytesIO(blob))
    run = {row[9]: row for row in book[T.SHEET_CEREMONY].iter_rows(min_row=2, values_only=True)}
    row = run[with_head["id"]]
    assert row[5] == head  # the entry's head, as text
    assert row[7] == f"恭賀 {with_head['agency']['name']} 首長 {head} 榮獲 {row[1]}{top_name}"
    for entry_id, (category, tier) in others.items():
        assert run[entry_id][7] == f"{category} {tier}"  # no text on the tier: the category and the tier
        assert run[entry_id][5] == register_heads[entry_id]  # no head on the entry: the register's
    assert len(tier_names) >= 2
    cell = next(c for c in book[T.SHEET_CEREMONY]["F"] if c.value == head)
    assert cell.data_type == "s"  # written as text, never as a formula
