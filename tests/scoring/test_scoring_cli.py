"""The command-line contract: exact CSV output, and exit 2 with file/line/column on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CRITERIA = """category,criterion,weight,max_score,step
Design,idea,40,10,0.5
Design,craft,60,10,0.5
Report,impact,100,100,
"""

SCORES = """category,entry,judge,criterion,score,comment
Design,D1,J1,idea,9,
Design,D1,J1,craft,5,
Design,D1,J2,idea,6,
Design,D1,J2,craft,9,
Design,D1,J3,idea,7,
Design,D1,J3,craft,7,
Design,D2,J1,idea,8,
Design,D2,J1,craft,8,
Design,D2,J2,idea,8.5,late
Design,D2,J2,craft,7,
Design,D2,J3,idea,6,
Design,D2,J3,craft,7.5,
Report,R1,J1,impact,80,
Report,R1,J2,impact,90,
Report,R2,J1,impact,85,
Report,R2,J2,impact,85,
Report,R3,J1,impact,70,
Report,R3,J2,impact,,recused
"""


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scoring", *args], cwd=root, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "criteria.csv").write_text(CRITERIA, encoding="utf-8")
    (tmp_path / "scores.csv").write_text(SCORES, encoding="utf-8")
    return tmp_path


def test_rank_mean_exact_csv(root, files):
    # Design, mean: D1 idea (9+6+7)/3 = 7.333, craft 7 -> 4*7.333 + 6*7 = 29.333 + 42 = 71.333 -> 71.33
    #               D2 idea (8+8.5+6)/3 = 7.5, craft (8+7+7.5)/3 = 7.5 -> 30 + 45 = 75.00
    #   spread: D1 judge totals 66, 78, 70 -> 12; D2 80, 76, 69 -> 11
    # Report: R1 85, R2 85 (tie, rank 1 and 1), R3 70 (J2 recused: blank mark, 1 judge)
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "category,rank,entry,total,tier,judges,spread\n"
        "Design,1,D2,75.00,,3,11.00\n"
        "Design,2,D1,71.33,,3,12.00\n"
        "Report,1,R1,85.00,,2,10.00\n"
        "Report,1,R2,85.00,,2,0.00\n"
        "Report,3,R3,70.00,,1,0.00\n")


def test_rank_trimmed_two_stage_with_tiers_to_file(root, files):
    (files / "tiers.csv").write_text("category,tier,min_total,quota\nDesign,gold,,1\nDesign,merit,70,\n"
                                     "Report,gold,86,\n", encoding="utf-8")
    out = files / "out.csv"
    # Design trimmed per criterion: D1 idea 7, craft 7 -> 70 ; D2 idea 8, craft 7.5 -> 32 + 45 = 77
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"),
                 "--method", "trimmed", "--round-each-stage", "--decimals", "1", "--too-few-judges", "mean",
                 "--tiers", str(files / "tiers.csv"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text() == (
        "category,rank,entry,total,tier,judges,spread\n"
        "Design,1,D2,77.0,gold,3,11.0\n"
        "Design,2,D1,70.0,merit,3,12.0\n"
        "Report,1,R1,85.0,,2,10.0\n"
        "Report,1,R2,85.0,,2,0.0\n"
        "Report,3,R3,70.0,,1,0.0\n")
    assert [p.name for p in files.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_excel_bom_spaces_and_quotes_are_tolerated(root, files):
    text = SCORES.replace("Design,D2,J2,idea,8.5,late", ' Design ,"D2", J2 ,idea, 8.5 ,"late, really"')
    (files / "scores.csv").write_bytes("\ufeff".encode() + text.replace("\n", "\r\n").encode())
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "Design,1,D2,75.00,,3,11.00"


def test_tie_break_option(root, files):
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"),
                 "--tie-break", "spread")
    assert result.returncode == 0, result.stderr
    assert "Report,1,R2,85.00,,2,0.00\nReport,2,R1,85.00,,2,10.00\n" in result.stdout


def test_diagnose_text_and_json(root, files):
    args = ("diagnose", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"), "--bootstrap", "50")
    text = run(root, *args)
    assert text.returncode == 0, text.stderr
    for heading in ("Agreement", "Judges", "Influence", "Favouritism", "Rank confidence"):
        assert heading in text.stdout
    as_json = run(root, *args, "--json")
    data = json.loads(as_json.stdout)
    assert set(data) == {"Design", "Report"} and data["Design"]["n_judges"] == 3


BAD = [
    # (what, file to corrupt, new content or (line index, replacement), expected words)
    ("unknown criterion", "scores", (3, "Design,D1,J1,colour,5,"), ["scores.csv", "line 4", "column 4 (criterion)", "unknown criterion 'colour'"]),
    ("mark outside range", "scores", (5, "Design,D1,J3,idea,11,"), ["line 6", "column 5 (score)", "outside 0-10"]),
    ("mark off step", "scores", (5, "Design,D1,J3,idea,7.3,"), ["line 6", "column 5 (score)", "steps of 0.5"]),
    ("judge marks twice", "scores", (4, "Design,D1,J1,idea,6,"), ["line 5", "column 3 (judge)", "already marked entry 'D1' on 'idea' at line 2"]),
    ("non-numeric cell", "scores", (2, "Design,D1,J1,craft,five,"), ["line 3", "column 5 (score)", "not a number"]),
    ("unknown category", "scores", (7, "Desgn,D2,J1,idea,8,"), ["line 8", "column 1 (category)", "unknown category 'Desgn'"]),
    ("short row", "scores", (7, "Design,D2,J1"), ["line 8", "column 4 (criterion)", "missing"]),
    ("empty scores file", "scores", "", ["scores.csv", "line 1", "column 1", "empty"]),
    ("header only", "scores", "category,entry,judge,criterion,score\n", ["scores.csv", "line 2", "no marks"]),
    ("missing score column", "scores", "category,entry,judge,criterion\nDesign,D1,J1,idea\n", ["line 1", "column 5 (score)", "missing column 'score'"]),
    ("weights do not add up", "criteria", (2, "Design,craft,50,10,0.5"), ["criteria.csv", "line 2", "column 3 (weight)", "add up to 90"]),
    ("non-numeric weight", "criteria", (1, "Design,idea,forty,10,0.5"), ["criteria.csv", "line 2", "column 3 (weight)", "not a number"]),
    ("empty criteria file", "criteria", "", ["criteria.csv", "line 1", "column 1", "empty"]),
    ("not utf-8", "scores", b"category,entry,judge,criterion,score\nDesign,D\xe91,J1,idea,5\n", ["line 2", "column 2", "0xe9", "UTF-8"]),
]


@pytest.mark.parametrize("what, target, change, words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_place_and_no_output(root, files, what, target, change, words):
    path = files / f"{target}.csv"
    if isinstance(change, tuple):
        lines = path.read_text().splitlines()
        lines[change[0]] = change[1]
        path.write_text("\n".join(lines) + "\n")
    elif isinstance(change, bytes):
        path.write_bytes(change)
    else:
        path.write_text(change)
    out = files / "out.csv"
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"), "-o", str(out))
    assert result.returncode == 2, (what, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    message = result.stderr
    for word in words:
        assert word in message, (what, message)
    assert not out.exists()
    assert sorted(p.name for p in files.iterdir()) == ["criteria.csv", "scores.csv"]


def test_the_earliest_error_is_reported_first(root, files):
    lines = SCORES.splitlines()
    lines[9] = "Design,D2,J2,idea,99,"   # line 10: out of range
    lines[4] = "Design,D1,J1,idea,8,"    # line 5: J1 marks D1 idea a second time
    (files / "scores.csv").write_text("\n".join(lines) + "\n")
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"))
    assert result.returncode == 2 and "line 5, column 3 (judge)" in result.stderr


def test_existing_output_survives_a_failed_run(root, files):
    out = files / "out.csv"
    out.write_text("previous results\n")
    (files / "scores.csv").write_text(SCORES.replace("D1,J1,idea,9", "D1,J1,idea,99"))
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"), "-o", str(out))
    assert result.returncode == 2 and out.read_text() == "previous results\n"


def test_method_errors_exit_2_naming_the_category(root, files):
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"),
                 "--method", "trimmed")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "category 'Report'" in result.stderr and "needs at least 3" in result.stderr


def test_missing_file_and_bad_options_exit_2(root, files):
    result = run(root, "rank", str(files / "nope.csv"), "--criteria", str(files / "criteria.csv"))
    assert result.returncode == 2 and "nope.csv" in result.stderr and "Traceback" not in result.stderr
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"),
                 "--method", "best")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run(root, "rank", str(files / "scores.csv"), "--criteria", str(files / "criteria.csv"),
                 "--decimals", "9")
    assert result.returncode == 2 and "decimals" in result.stderr and "Traceback" not in result.stderr
