"""Exact rounding: ROUND_HALF_UP on rationals, to a number of decimals.

The engine keeps exact values as integer numerators over integer denominators (or ``Fraction``)
and only ever rounds through :func:`round_units`, so the result never depends on binary floating
point. Half-up means ties go away from zero (the ``decimal.ROUND_HALF_UP`` convention): 2.345 ->
2.35 and -2.345 -> -2.35.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np

SNAP_PLACES = 9  # float estimates (zscore, bias) are snapped to this many decimals first


def round_units(num: int, den: int, decimals: int) -> int:
    """``num / den`` rounded half-up to ``decimals`` places, as an integer count of 10**-decimals.

    ``round_units(2345, 1000, 2) == 235`` (2.345 -> 2.35).
    """
    if den <= 0:
        raise ValueError("denominator must be positive")
    scaled = abs(num) * 10 ** decimals * 2
    units = (scaled + den) // (2 * den)
    return units if num >= 0 else -units


def round_units_array(num: np.ndarray, den: int, decimals: int) -> np.ndarray:
    """:func:`round_units` elementwise over an integer array (switches to Python ints if int64
    could overflow)."""
    factor = 2 * 10 ** decimals
    if num.dtype != object and (int(np.abs(num).max(initial=0)) + den) * factor >= 2 ** 62:
        num = num.astype(object)
    magnitude = (np.abs(num) * factor + den) // (2 * den)
    return np.where(num >= 0, magnitude, -magnitude)


def round_fraction(value: Fraction | int, decimals: int) -> int:
    value = Fraction(value)
    return round_units(value.numerator, value.denominator, decimals)


def units_to_decimal(units: int, decimals: int) -> Decimal:
    """Integer count of 10**-decimals as a Decimal with exactly ``decimals`` places."""
    return Decimal(int(units)).scaleb(-decimals)


def round_half_up(value: Fraction | Decimal | int, decimals: int) -> Decimal:
    """Exact value -> Decimal with ``decimals`` places, ties away from zero."""
    return units_to_decimal(round_fraction(Fraction(value), decimals), decimals)


def snap(value: float, places: int = SNAP_PLACES) -> Fraction:
    """A float estimate as an exact fraction with ``places`` decimals.

    Float noise (about 1e-13 on these scales) is far below 10**-9, so two computations of the same
    estimate in a different summation order snap to the same fraction and round identically.
    """
    return Fraction(round(value * 10 ** places), 10 ** places)
