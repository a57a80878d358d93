"""Reading the judging pages' forms. The score sheet's fields follow the category's criteria, so it
is read from the request directly (``score-<id>``, ``comment-<id>``); the rules live in the
operations (sheets.py, stages.py), which the offline sheets share."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..models import Criterion
from .sheets import OVERALL_FIELD, comment_field, parse_score, score_field
from .stages import METHODS, AdvanceRequest

CONFIRM_FIELD = "confirm_final"


@dataclass
class SheetInput:
    """What the judge sent: marks as typed (checked by ``save_sheet``), comments, version, intent."""

    marks: dict[int, tuple[str, str]]
    comment: str
    version: int | None
    submit: bool
    confirmed: bool

    def values(self) -> dict[str, str]:
        """Field name → the text to show again in the form."""
        values = {OVERALL_FIELD: self.comment}
        for criterion_id, (score, comment) in self.marks.items():
            values[score_field(criterion_id)] = score
            values[comment_field(criterion_id)] = comment
        return values

    def confirmation_problem(self) -> dict[str, list[str]]:
        if self.submit and not self.confirmed:
            return {CONFIRM_FIELD: [_("Tick “I confirm my marks are final” to submit. Nothing was submitted; your "
                                      "marks are still here.")]}
        return {}


def read_sheet(form: MultiDict, criteria: list[Criterion]) -> SheetInput:
    marks = {c.id: (form.get(score_field(c.id), ""), form.get(comment_field(c.id), "")) for c in criteria}
    return SheetInput(marks=marks, comment=form.get(OVERALL_FIELD, ""), version=_int(form.get("version")),
                      submit=form.get("action") == "submit", confirmed=form.get(CONFIRM_FIELD) in ("y", "on", "1"))


def read_advance(form: MultiDict) -> tuple[AdvanceRequest, dict[str, list[str]]]:
    """The advancement form as a request, and the problems with what could not even be read."""
    problems: dict[str, list[str]] = {}
    method = form.get("method", "")
    top_n = threshold = None
    if method == "top_n":
        top_n = _int(form.get("top_n"))
        if top_n is None:
            problems["top_n"] = [_("Enter a whole number.")]
    if method == "threshold":
        try:
            threshold = parse_score(form.get("threshold"))
        except ValueError:
            problems["threshold"] = [_("Enter a number, such as 80.")]
    entry_ids = frozenset(i for i in (_int(v) for v in form.getlist("entries")) if i is not None)
    request = AdvanceRequest(method=method if method in METHODS else "", top_n=top_n, threshold=threshold,
                             entry_ids=entry_ids, force=form.get("force") in ("y", "on", "1"))
    return request, problems


def read_toggle(form: MultiDict) -> bool | None:
    """The discussion switch: True (open), False (close) or None (not understood)."""
    return {"open": True, "close": False}.get(form.get("discussion", ""))


def _int(value: str | None) -> int | None:
    text = unicodedata.normalize("NFKC", value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def threshold_text(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")
