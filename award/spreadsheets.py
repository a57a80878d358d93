"""Reading cells of spreadsheets people filled in: the agency register import and the offline score sheets."""

from __future__ import annotations

from datetime import date, datetime, time


def cell_text(value: object) -> str:
    """A spreadsheet value as the text the user typed (a whole number without ".0")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
