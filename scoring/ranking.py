"""Standard competition ranking ("1224") on displayed figures, tie-breaks, and award tiers.

Ranks are decided on the *displayed* total (rounded to the configured decimals), so two entries
shown with the same total share a rank unless a configured tie-break separates them; the
tie-break figures are displayed figures too. ``rank = 1 + number of entries strictly better``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from .model import Tier

LOWEST = float("-inf")  # a missing tie-break figure loses to any figure


def competition_ranks(keys: Sequence[tuple]) -> list[int]:
    """Rank of each key (higher tuples are better; equal tuples share the rank): 1, 2, 2, 4."""
    order = sorted(range(len(keys)), key=lambda i: keys[i], reverse=True)
    ranks = [0] * len(keys)
    for position, i in enumerate(order):
        if position and keys[i] == keys[order[position - 1]]:
            ranks[i] = ranks[order[position - 1]]
        else:
            ranks[i] = position + 1
    return ranks


def assign_tiers(ranks: Sequence[int], totals: Sequence[Decimal | float], tiers: Sequence[Tier]) -> list[str | None]:
    """Tier name per entry (None: no tier), tiers taken best first.

    An entry qualifies for a tier if its displayed total reaches ``min_total`` (when set) and,
    when ``quota`` is set, fewer than ``quota`` of the tier's other candidates rank strictly
    above it. Entries sharing a rank therefore always share a tier; an entry that misses one tier
    (threshold or quota) is considered for the next.
    """
    result: list[str | None] = [None] * len(ranks)
    remaining = sorted(range(len(ranks)), key=lambda i: ranks[i])
    for tier in tiers:
        candidates = [i for i in remaining if tier.min_total is None or totals[i] >= tier.min_total]
        if tier.quota is not None:
            chosen, better = [], 0
            for position, i in enumerate(candidates):
                if position and ranks[i] != ranks[candidates[position - 1]]:
                    better = position
                if better >= tier.quota:
                    break
                chosen.append(i)
            candidates = chosen
        for i in candidates:
            result[i] = tier.name
        remaining = [i for i in remaining if result[i] is None]
    return result
