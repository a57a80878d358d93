"""The password policy (docs/security.md, "Accounts and sessions").

A password must

* have ``PASSWORD_MIN_LENGTH``..``PASSWORD_MAX_LENGTH`` characters (12..128);
* not be one of the 30,000 most common passwords of the ``zxcvbn`` package's frequency list, nor one of
  them wrapped in digits, spaces or symbols ("Password2024!" is "password");
* mix at least 3 of 4 kinds of character: lower-case, upper-case, digit, other (symbol, space, CJK),
  as 資通安全責任等級分級辦法 附表十 expects (see "Where the law and ASVS differ");
* not be one of the account's last ``PASSWORD_HISTORY`` passwords (checked in operations).

Messages are English msgids, translated at request time.
"""

from __future__ import annotations

import re
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _

_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The ``zxcvbn`` package's list of common passwords (from leaked password dumps), lower-case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    lowered = password.strip().lower()
    common = common_passwords()
    return lowered in common or _EDGES.sub("", lowered) in common or lowered.replace(" ", "") in common


def character_classes(password: str) -> int:
    """How many of lower-case, upper-case, digits and others the password uses (0..4)."""
    kinds = set()
    for char in password:
        if char.islower():
            kinds.add("lower")
        elif char.isupper():
            kinds.add("upper")
        elif char.isdigit():
            kinds.add("digit")
        else:
            kinds.add("other")
    return len(kinds)


def password_problems(password: str) -> list[str]:
    """What is wrong with ``password`` under the policy, as messages for the user (empty when fine)."""
    cfg = current_app.config
    problems = []
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        problems.append(_("The password must have at least %(n)d characters.", n=cfg["PASSWORD_MIN_LENGTH"]))
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        problems.append(_("The password may have at most %(n)d characters.", n=cfg["PASSWORD_MAX_LENGTH"]))
        return problems  # the rest would only add noise
    if is_common(password):
        problems.append(_("This password is among the most common passwords. Please choose another."))
    if character_classes(password) < cfg["PASSWORD_MIN_CLASSES"]:
        problems.append(_("The password must mix at least %(n)d of: lower-case letters, upper-case letters, "
                          "digits, symbols.", n=cfg["PASSWORD_MIN_CLASSES"]))
    return problems
