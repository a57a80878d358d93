"""CSV input and output for the command line.

Every problem in an input file is reported as :class:`InputFileError` naming the file, the line
(as a spreadsheet shows it: the header is line 1) and the column. Files are read as UTF-8 (a
byte-order mark from Excel is accepted); surrounding spaces in cells are ignored.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

import numpy as np

from .model import (CategoryResult, Criterion, InvalidConfig, InvalidCriteria, InvalidMark, ScoringError, Tier,
                    no_gc, to_decimal)
from .weighted import MarkTable, places_of, validate_mark

SCORE_COLUMNS = ("category", "entry", "judge", "criterion", "score")
CRITERIA_COLUMNS = ("category", "criterion", "weight", "max_score")
TIER_COLUMNS = ("category", "tier")
OUTPUT_COLUMNS = ("category", "rank", "entry", "total", "tier", "judges", "spread")


class InputFileError(ScoringError):
    """A problem at a known place in an input file."""

    def __init__(self, path: str, line: int, column: int | None, column_name: str | None, message: str):
        where = f"{path}, line {line}"
        if column is not None:
            where += f", column {column}" + (f" ({column_name})" if column_name else "")
        elif column_name:
            where += f", column {column_name}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column, self.column_name = path, line, column, column_name


@dataclass
class _Sheet:
    """A parsed CSV: header map and a row iterator that knows its line numbers."""

    path: str
    columns: dict[str, int]
    header: list[str]
    reader: object

    def error(self, line: int, name: str | None, message: str) -> InputFileError:
        index = self.columns.get(name) if name else None
        return InputFileError(self.path, line, None if index is None else index + 1, name, message)


def _open(path: str, required: Sequence[str]) -> _Sheet:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = data.count(b",", line_start, exc.start) + 1  # the CSV field holding the bad byte
        raise InputFileError(path, line, column, None,
                             f"byte {data[exc.start]:#04x} is not UTF-8 text (save the file as CSV UTF-8)") from None
    if not text.strip():
        raise InputFileError(path, 1, 1, None, "the file is empty")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputFileError(path, reader.line_num, None, None, f"not valid CSV: {exc}") from None
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        columns.setdefault(name.strip().lower(), i)
    for name in required:
        if name not in columns:
            raise InputFileError(path, 1, len(header) + 1, name,
                                 f"missing column {name!r} (header needs {', '.join(required)})")
    return _Sheet(path, columns, header, reader)


def _rows(sheet: _Sheet):
    """(line, row) pairs, skipping blank lines; CSV syntax errors carry their line."""
    reader = sheet.reader
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield reader.line_num, row
    except csv.Error as exc:
        raise InputFileError(sheet.path, reader.line_num, None, None, f"not valid CSV: {exc}") from None


def _cell(sheet: _Sheet, line: int, row: list[str], name: str, required: bool = True) -> str:
    index = sheet.columns.get(name)
    if index is None:
        return ""
    if index >= len(row):
        if required:
            raise sheet.error(line, name, f"the row has {len(row)} cells; {name!r} is missing")
        return ""
    value = row[index].strip()
    if required and not value:
        raise sheet.error(line, name, f"{name!r} is empty")
    return value


def _number(sheet: _Sheet, line: int, row: list[str], name: str, required: bool = True) -> Decimal | None:
    text = _cell(sheet, line, row, name, required)
    if not text:
        return None
    try:
        return to_decimal(text, name)
    except ScoringError:
        raise sheet.error(line, name, f"{text!r} is not a number") from None


# ---------------------------------------------------------------------------------- criteria


def read_criteria(path: str, weight_total: Decimal | None = Decimal(100)) -> dict[str, tuple[Criterion, ...]]:
    """``category,criterion,weight,max_score[,min_score,step,label]`` -> criteria per category,
    categories in file order. With ``weight_total`` each category's weights must add up to it."""
    sheet = _open(path, CRITERIA_COLUMNS)
    found: dict[str, list[Criterion]] = {}
    first_line: dict[str, int] = {}
    for line, row in _rows(sheet):
        category = _cell(sheet, line, row, "category")
        key = _cell(sheet, line, row, "criterion")
        weight = _number(sheet, line, row, "weight")
        max_score = _number(sheet, line, row, "max_score")
        min_score = _number(sheet, line, row, "min_score", required=False)
        step = _number(sheet, line, row, "step", required=False)
        if any(c.key == key for c in found.get(category, ())):
            raise sheet.error(line, "criterion", f"criterion {key!r} is listed twice in category {category!r}")
        if weight <= 0:
            raise sheet.error(line, "weight", f"weight must be positive, got {weight}")
        if min_score is not None and max_score <= min_score:
            raise sheet.error(line, "max_score", f"max_score {max_score} must exceed min_score {min_score}")
        try:
            criterion = Criterion(key, weight, max_score, min_score if min_score is not None else Decimal(0), step,
                                  _cell(sheet, line, row, "label", required=False))
        except InvalidCriteria as exc:
            column = "step" if "step" in exc.message else "max_score"
            raise sheet.error(line, column, exc.message) from None
        found.setdefault(category, []).append(criterion)
        first_line.setdefault(category, line)
    if not found:
        raise InputFileError(path, 2, None, None, "no criteria after the header")
    if weight_total is not None:
        for category, criteria in found.items():
            total = sum((c.weight for c in criteria), Decimal(0))
            if total != weight_total:
                raise sheet.error(first_line[category], "weight",
                                  f"weights of category {category!r} add up to {total}, expected {weight_total}")
    return {k: tuple(v) for k, v in found.items()}


# ------------------------------------------------------------------------------------ scores


def read_scores(path: str, criteria: dict[str, tuple[Criterion, ...]]) -> dict[str, MarkTable]:
    """``category,entry,judge,criterion,score`` (long format, extra columns ignored) -> one
    :class:`MarkTable` per category that has marks. A blank score is a missing mark.

    Speed: rows are parsed by the csv module in one go, each column is coded through a dict, and
    validation runs once per distinct (category, criterion, score) text; line numbers are only
    reconstructed when an error has to be reported.
    """
    sheet = _open(path, SCORE_COLUMNS)
    with no_gc():
        try:
            rows = [r for r in sheet.reader if r and (len(r) > 1 or r[0].strip())]
        except csv.Error as exc:
            raise InputFileError(path, sheet.reader.line_num, None, None, f"not valid CSV: {exc}") from None
        try:
            return _read_rows(sheet, rows, criteria)
        except InputFileError:
            _first_error(sheet, rows, criteria)  # the fast checks go by kind; report the earliest line
            raise


def _first_error(sheet: _Sheet, rows: list[list[str]], criteria: dict[str, tuple[Criterion, ...]]) -> None:
    """Row-by-row validation, used only once an error is known to exist: raises the first one."""
    at = _LineFinder(sheet)
    idx = [sheet.columns[c] for c in SCORE_COLUMNS]
    seen: dict[tuple[str, str, str, str], int] = {}
    for i, row in enumerate(rows):
        if len(row) <= max(idx):
            missing = next(c for c in SCORE_COLUMNS if sheet.columns[c] >= len(row))
            raise sheet.error(at(i), missing, f"the row has {len(row)} cells; {missing!r} is missing")
        category, entry, judge, key, text = (row[k].strip() for k in idx)
        if category not in criteria:
            raise sheet.error(at(i), "category", f"unknown category {category!r} (not in the criteria file)"
                              if category else "'category' is empty")
        found = {c.key: c for c in criteria[category]}
        if key not in found:
            raise sheet.error(at(i), "criterion", f"unknown criterion {key!r} for category {category!r}"
                              if key else "'criterion' is empty")
        for name, value in (("entry", entry), ("judge", judge)):
            if not value:
                raise sheet.error(at(i), name, f"{name!r} is empty")
        if text:
            try:
                validate_mark(found[key], text)
            except InvalidMark as exc:
                raise sheet.error(at(i), "score", exc.message) from None
        first = seen.setdefault((category, entry, judge, key), i)
        if first != i:
            raise sheet.error(at(i), "judge", f"judge {judge!r} already marked entry {entry!r} on {key!r} "
                                              f"at line {at(first)}")


def _read_rows(sheet: _Sheet, rows: list[list[str]], criteria: dict[str, tuple[Criterion, ...]]) -> dict[str, MarkTable]:
    path = sheet.path
    if not rows:
        raise InputFileError(path, 2, None, None, "no marks after the header")
    at = _LineFinder(sheet)
    idx = [sheet.columns[c] for c in SCORE_COLUMNS]
    width = max(idx) + 1
    if min(map(len, rows)) < width:
        i = next(i for i, r in enumerate(rows) if len(r) < width)
        missing = next(c for c in SCORE_COLUMNS if sheet.columns[c] >= len(rows[i]))
        raise sheet.error(at(i), missing, f"the row has {len(rows[i])} cells; {missing!r} is missing")
    cat_c, ent_c, jud_c, cri_c, sco_c = (_codes([r[k] for r in rows]) for k in idx)

    # categories and criteria: check each distinct text once, then map codes
    cat_code, cat_names = _stripped(cat_c, sheet, at, "category")
    for k, name in enumerate(cat_names):
        if name not in criteria:
            raise sheet.error(at(_first(cat_code, k)), "category", f"unknown category {name!r} (not in the criteria file)")
    n_raw = len(cri_c[1])
    pair_codes, pair_inverse = np.unique(cat_code * n_raw + cri_c[0], return_inverse=True)
    crit_of_pair = np.empty(len(pair_codes), dtype=np.int64)
    for p, code in enumerate(pair_codes.tolist()):
        category = cat_names[code // n_raw]
        key = cri_c[1][code % n_raw].strip()
        found = [c.key for c in criteria[category]]
        if key not in found:
            raise sheet.error(at(_first(pair_inverse, p)), "criterion",
                              f"unknown criterion {key!r} for category {category!r}" if key else "'criterion' is empty")
        crit_of_pair[p] = found.index(key)
    crit_row = crit_of_pair[pair_inverse]

    # scores: validate each distinct (category, criterion, text)
    triple_codes, triple_inverse = np.unique(pair_inverse * len(sco_c[1]) + sco_c[0], return_inverse=True)
    values: list[Decimal | None] = []
    for t, code in enumerate(triple_codes.tolist()):
        p, text = divmod(code, len(sco_c[1]))
        text = sco_c[1][text].strip()
        category = cat_names[pair_codes[p] // n_raw]
        try:
            values.append(validate_mark(criteria[category][crit_of_pair[p]], text) if text else None)
        except InvalidMark as exc:
            raise sheet.error(at(_first(triple_inverse, t)), "score", exc.message) from None
    entry_code, entry_names = _stripped(ent_c, sheet, at, "entry")
    judge_code, judge_names = _stripped(jud_c, sheet, at, "judge")

    tables = {}
    for k, category in enumerate(cat_names):
        rows_k = np.flatnonzero(cat_code == k)
        if rows_k.size:
            tables[category] = _table(sheet, at, criteria[category], rows_k, entry_code, entry_names, judge_code,
                                      judge_names, crit_row, triple_inverse, values)
    return {name: tables[name] for name in criteria if name in tables}


class _LineFinder:
    """Row index (blank rows skipped) -> line number, by re-reading the file on first use."""

    def __init__(self, sheet: _Sheet):
        self.sheet, self.lines = sheet, None

    def __call__(self, index: int) -> int:
        if self.lines is None:
            with open(self.sheet.path, "rb") as handle:
                reader = csv.reader(io.StringIO(handle.read().decode("utf-8-sig"), newline=""))
            next(reader)
            self.lines = [reader.line_num for r in reader if r and (len(r) > 1 or r[0].strip())]
        return self.lines[int(index)]


def _codes(column: list[str]) -> tuple[np.ndarray, list[str]]:
    """Dict-code a column: (code per row, distinct texts in first-seen order)."""
    seen = dict.fromkeys(column)
    for code, text in enumerate(seen):
        seen[text] = code
    return np.fromiter(map(seen.__getitem__, column), np.int64, len(column)), list(seen)


def _first(codes: np.ndarray, code: int) -> int:
    return int(np.argmax(codes == code))


def _stripped(coded, sheet, at, name) -> tuple[np.ndarray, list[str]]:
    """Merge texts that differ only by surrounding spaces; reject empty ids."""
    codes, texts = coded
    names = sorted({t.strip() for t in texts})
    if names and names[0] == "":
        empty = next(k for k, t in enumerate(texts) if not t.strip())
        raise sheet.error(at(_first(codes, empty)), name, f"{name!r} is empty")
    where = {n: i for i, n in enumerate(names)}
    remap = np.array([where[t.strip()] for t in texts], dtype=np.int64)
    return remap[codes], names


def _table(sheet, at, criteria, rows, entry_code, entry_names, judge_code, judge_names, crit_row,
           triple_inverse, values) -> MarkTable:
    e, j, c = entry_code[rows], judge_code[rows], crit_row[rows]
    value_of = triple_inverse[rows]
    has_value = np.array([v is not None for v in values], dtype=bool)[value_of]
    _reject_duplicates(sheet, at, rows, (e * len(judge_names) + j) * len(criteria) + c,
                       e, j, c, entry_names, judge_names, criteria)
    entries_used = np.unique(e[has_value])
    judges_used = np.unique(j[has_value])
    entry_pos = np.full(len(entry_names), -1, dtype=np.int64)
    entry_pos[entries_used] = np.arange(len(entries_used))
    judge_pos = np.full(len(judge_names), -1, dtype=np.int64)
    judge_pos[judges_used] = np.arange(len(judges_used))
    used_values = sorted({int(t) for t in np.unique(value_of[has_value])})
    places = places_of(values[t] for t in used_values)
    unit_of = np.zeros(len(values), dtype=np.int64)
    for t in used_values:
        unit_of[t] = int(values[t].scaleb(places))
    unscored = tuple(sorted({entry_names[i] for i in np.unique(e)} - {entry_names[i] for i in entries_used}))
    return MarkTable.from_indices(criteria, [entry_names[i] for i in entries_used],
                                  [judge_names[i] for i in judges_used], entry_pos[e[has_value]],
                                  judge_pos[j[has_value]], c[has_value], unit_of[value_of[has_value]], places,
                                  unscored)


def _reject_duplicates(sheet, at, rows, keys, e, j, c, entry_names, judge_names, criteria) -> None:
    order = np.argsort(keys, kind="stable")  # stable: the first mark of a key comes first
    same = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if not same.size:
        return
    later = int(order[same + 1].min())       # the earliest row that repeats an earlier key
    first = int(order[np.searchsorted(keys[order], keys[later])])
    raise sheet.error(at(rows[later]), "judge",
                      f"judge {judge_names[j[later]]!r} already marked entry {entry_names[e[later]]!r} on "
                      f"{criteria[c[later]].key!r} at line {at(rows[first])}")


# ------------------------------------------------------------------------------------- tiers


def read_tiers(path: str, categories: Sequence[str]) -> dict[str, tuple[Tier, ...]]:
    """``category,tier[,min_total][,quota]``, best tier first within each category."""
    sheet = _open(path, TIER_COLUMNS)
    found: dict[str, list[Tier]] = {}
    for line, row in _rows(sheet):
        category = _cell(sheet, line, row, "category")
        if category not in categories:
            raise sheet.error(line, "category", f"unknown category {category!r} (not in the criteria file)")
        name = _cell(sheet, line, row, "tier")
        min_total = _number(sheet, line, row, "min_total", required=False)
        quota_text = _cell(sheet, line, row, "quota", required=False)
        quota = None
        if quota_text:
            if not quota_text.isdigit() or int(quota_text) < 1:
                raise sheet.error(line, "quota", f"quota must be a positive whole number, got {quota_text!r}")
            quota = int(quota_text)
        if any(t.name == name for t in found.get(category, ())):
            raise sheet.error(line, "tier", f"tier {name!r} is listed twice for category {category!r}")
        try:
            found.setdefault(category, []).append(Tier(name, min_total, quota))
        except InvalidConfig as exc:
            raise sheet.error(line, "tier", exc.message) from None
    return {k: tuple(v) for k, v in found.items()}


# ------------------------------------------------------------------------------------ output


def ranking_csv(results: dict[str, CategoryResult]) -> str:
    """The ``rank`` command's output: one row per entry, categories in criteria-file order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    for category, result in results.items():
        for r in result.entries:
            writer.writerow([category, r.rank, r.entry, format(r.total, "f"), r.tier or "", r.n_judges,
                             "" if r.spread is None else format(r.spread, "f")])
    return out.getvalue()


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename: readers never see a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".scoring-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write here: {exc.strerror}", path) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
