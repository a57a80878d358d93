"""Text as the app accepts it from a browser: control characters are removed before any form sees them.

Every value of a query string or a form post goes through ``clean_text``: the C0 control characters
other than tab, line feed and carriage return, the non-characters U+FFFE and U+FFFF and lone
surrogates are dropped. They have no meaning in an entry, a comment or a name; PostgreSQL cannot
store NUL in text, and XML (so an .xlsx export) cannot hold any of them. Removing them where the
request is parsed makes the rule hold for every form, present and future, and keeps the database
the same on SQLite and PostgreSQL. Files (attachments, imported sheets) are checked by their own code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

# What XML 1.0 forbids (besides tab, LF, CR), and what a database or a workbook cannot hold.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: Any) -> Any:
    """``value`` without the unsafe characters if it is text; anything else unchanged."""
    if isinstance(value, str):
        return UNSAFE_CHARACTERS.sub("", value)
    return value


def has_unsafe_characters(value: str) -> bool:
    return UNSAFE_CHARACTERS.search(value) is not None


class CleanMultiDict(ImmutableMultiDict):
    """The request's parameter storage: every text key and value cleaned on the way in."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, MultiDict):
            pairs = list(mapping.items(multi=True))
        elif isinstance(mapping, Mapping):
            pairs = [(key, value) for key, values in mapping.items()
                     for value in (values if isinstance(values, (list, tuple)) else [values])]
        else:
            pairs = list(mapping)
        super().__init__([(clean_text(key), clean_text(value)) for key, value in pairs])


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict
