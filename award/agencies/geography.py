"""The one rule on an agency's geography class that its county decides.

Penghu (澎湖縣), Kinmen (金門縣) and Lienchiang (連江縣) are wholly outlying islands, so an agency
there is never "main island". The reverse does not hold: island townships of main-island counties
(綠島鄉 and 蘭嶼鄉 in 臺東縣, 琉球鄉 in 屏東縣) are outlying islands, so any class is allowed elsewhere.
Used by the sheet import, the agency form and the create/update operations.
"""

from __future__ import annotations

from flask_babel import gettext as _

from ..models import ISLAND_COUNTIES, Geography


def geography_problem(county: str | None, geography: Geography | str | None) -> str | None:
    """Why this county and geography class cannot go together, or None if they can."""
    if county in ISLAND_COUNTIES and geography in (Geography.MAIN_ISLAND, Geography.MAIN_ISLAND.value):
        return _("%(county)s is an outlying island county: an agency there cannot be classed as main island. "
                 "Choose outlying island.", county=county)
    return None
