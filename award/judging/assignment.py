"""Automatic assignment of judges to entries (分派): a pure algorithm, plain data in, a plan out.

Nothing here knows Flask or SQLAlchemy; ``assign_ops`` builds the input from the database and
applies the plan. The caller decides which (entry, judge) pairs are forbidden (the tie register,
with the agency hierarchy) and passes them in.

The problem
    Every entry needs ``k`` distinct judges. Some pairs are forbidden. A judge may have a cap on
    the number of entries. Some pairs already exist and are kept as they are (they count towards
    the entries' coverage and the judges' loads). We want, in this order:

    1. never a forbidden pair, never a judge twice on an entry, never a judge above their cap;
    2. as many of the missing places filled as possible (maximum coverage);
    3. loads as even as possible: among plans with that coverage, one with no "cost-reducing
       path", which minimises the sum of squared loads and hence keeps every load within one of
       the others whenever the coverage allows it;
    4. on request, each judge's entries spread across the categories;
    5. the same plan for the same input (a seeded tie-break, never the clock).

The method (a flow formulation solved by augmenting paths)
    Think of a network source → entry (capacity = places missing) → judge (capacity 1 per allowed
    pair) → sink (capacity = cap − current load).

    *Greedy.* Entries are taken fewest-eligible-judges first (the hard ones before the easy ones
    use up the judges they need), and each gets the least-loaded eligible judges below their cap
    (with ``spread``: fewest entries of this category first, then least loaded), ties broken by a
    seeded random order of the judges.

    *Coverage repair.* An entry still short looks for an augmenting path: an eligible judge with
    room, or a judge who hands one of their (new) entries to another eligible judge with room,
    and so on (breadth-first, like Kuhn's matching). When no path exists the coverage is maximum
    (the max-flow min-cut theorem); the marks of a failed search are kept until the next success.

    *Balancing.* While a judge with load L reaches, along a chain of hand-overs, a judge with
    room and load ≤ L − 2, the chain is applied: the first judge loses one entry, the last gains
    one, everyone in between keeps their load. This is the cost-reducing path of the load-balancing
    literature (Harvey, Ladner, Lovász & Tamir, "Semi-matchings for bipartite graphs and load
    balancing", 2006): a plan without one minimises Σ load², so loads end within one of each other
    whenever some plan with that coverage achieves it. Existing pairs are never moved.

    The size is small (hundreds of entries, tens of judges), so plain breadth-first searches over
    the judges are fast: 200 entries × 30 judges × 5 places take well under a second.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

Pair = tuple[int, int]  # (entry id, judge id)


@dataclass(frozen=True)
class EntryItem:
    id: int
    category: Hashable = None


@dataclass(frozen=True)
class JudgeItem:
    id: int
    cap: int | None = None  # the most entries this judge takes in the stage, existing ones included


class ShortfallReason(str, enum.Enum):
    NO_JUDGES = "no_judges"  # there is no judge at all
    TOO_FEW_ELIGIBLE = "too_few_eligible"  # fewer judges without a conflict than places
    CAPS_REACHED = "caps_reached"  # enough eligible judges, but they are at their caps


@dataclass(frozen=True)
class Shortfall:
    entry_id: int
    needed: int  # k
    covered: int  # judges on the entry after the plan (kept and new)
    eligible: int  # judges without a conflict, counting those already on the entry
    reason: ShortfallReason

    @property
    def missing(self) -> int:
        return self.needed - self.covered


@dataclass
class Plan:
    new_pairs: list[Pair]  # sorted
    kept_pairs: list[Pair]  # the existing pairs that count (sorted)
    shortfalls: list[Shortfall]  # entries not fully covered, by entry id
    loads: dict[int, int]  # judge id → entries after the plan (kept and new)
    ignored_pairs: list[Pair] = field(default_factory=list)  # existing pairs that are forbidden

    @property
    def pairs(self) -> list[Pair]:
        return sorted(self.kept_pairs + self.new_pairs)

    @property
    def spread(self) -> int:
        """max − min load over the judges (0 with no judges)."""
        return (max(self.loads.values()) - min(self.loads.values())) if self.loads else 0


class _State:
    """The working assignment: who is on each entry, each judge's entries and load."""

    def __init__(self, entries: list[EntryItem], judges: list[JudgeItem], k: int, forbidden: set[Pair],
                 fixed: set[Pair], seed: int):
        self.k = k
        self.category = {e.id: e.category for e in entries}
        self.judge_ids = [j.id for j in judges]
        self.cap = {j.id: j.cap for j in judges}
        order = sorted(self.judge_ids)
        random.Random(seed).shuffle(order)  # reproducible tie-break, not a secret  # noqa: S311  # nosec B311
        self.rank = {judge: index for index, judge in enumerate(order)}
        self.on_entry: dict[int, set[int]] = {e.id: set() for e in entries}  # judges on the entry
        self.movable: dict[int, set[int]] = {j: set() for j in self.judge_ids}  # judge → new entries
        self.load = {j: 0 for j in self.judge_ids}
        self.by_category: dict[int, dict[Hashable, int]] = {j: {} for j in self.judge_ids}
        # Eligible judges per entry, in the seeded order (the only order used anywhere).
        self.eligible = {e.id: [j for j in order if (e.id, j) not in forbidden] for e in entries}
        for entry_id, judge_id in fixed:
            self.on_entry[entry_id].add(judge_id)
            if judge_id in self.load:
                self._count(entry_id, judge_id, +1)

    def _count(self, entry_id: int, judge_id: int, step: int) -> None:
        self.load[judge_id] += step
        counts = self.by_category[judge_id]
        category = self.category[entry_id]
        counts[category] = counts.get(category, 0) + step

    def room(self, judge_id: int) -> bool:
        cap = self.cap[judge_id]
        return cap is None or self.load[judge_id] < cap

    def add(self, entry_id: int, judge_id: int) -> None:
        self.on_entry[entry_id].add(judge_id)
        self.movable[judge_id].add(entry_id)
        self._count(entry_id, judge_id, +1)

    def remove(self, entry_id: int, judge_id: int) -> None:
        self.on_entry[entry_id].discard(judge_id)
        self.movable[judge_id].discard(entry_id)
        self._count(entry_id, judge_id, -1)

    def missing(self, entry_id: int) -> int:
        return max(0, self.k - len(self.on_entry[entry_id]))

    def candidates(self, entry_id: int) -> list[int]:
        """Eligible judges not yet on the entry."""
        taken = self.on_entry[entry_id]
        return [j for j in self.eligible[entry_id] if j not in taken]

    def handovers(self, judge_id: int, spread: bool) -> list[tuple[int, int]]:
        """(entry, next judge) pairs: the judge's new entries another eligible judge could take.
        With ``spread`` the judge first hands over entries of their most crowded category."""
        entries = sorted(self.movable[judge_id])
        if spread:
            counts = self.by_category[judge_id]
            entries.sort(key=lambda e: -counts.get(self.category[e], 0))
        return [(e, other) for e in entries for other in self.candidates(e)]

    def shift(self, path: list[tuple[int, int, int]]) -> None:
        """Apply a chain of hand-overs: each (entry, from judge, to judge)."""
        for entry_id, giver, taker in path:
            self.remove(entry_id, giver)
            self.add(entry_id, taker)


def plan_assignment(
    entries: Iterable[EntryItem],
    judges: Iterable[JudgeItem],
    k: int,
    forbidden: Iterable[Pair] = (),
    existing: Iterable[Pair] = (),
    spread: bool = False,
    seed: int = 0,
) -> Plan:
    """Plan the assignment of ``k`` judges to every entry; see the module's docstring.

    ``existing`` pairs are kept and counted. A pair with a judge not in ``judges`` (a withdrawn
    judge whose submitted sheet is kept) still counts towards the entry's coverage; a forbidden
    existing pair does not count and is reported in ``ignored_pairs``.
    """
    if k < 0:
        raise ValueError("k must not be negative")
    entries = sorted({e.id: e for e in entries}.values(), key=lambda e: e.id)
    judges = sorted({j.id: j for j in judges}.values(), key=lambda j: j.id)
    entry_ids = {e.id for e in entries}
    forbidden = {p for p in forbidden if p[0] in entry_ids}
    existing = {p for p in existing if p[0] in entry_ids}
    ignored = sorted(existing & forbidden)
    fixed = existing - forbidden
    state = _State(entries, judges, k, forbidden, fixed, seed)

    _greedy(state, entries, spread)
    _repair_coverage(state, entries, spread)
    _balance(state, spread)

    new_pairs = sorted((e, j) for j, es in state.movable.items() for e in es)
    return Plan(new_pairs=new_pairs, kept_pairs=sorted(fixed), shortfalls=_shortfalls(state, entries),
                loads=dict(sorted(state.load.items())), ignored_pairs=ignored)


def _greedy(state: _State, entries: list[EntryItem], spread: bool) -> None:
    # Hardest entries first: fewest judges to choose from, then id. One judge per entry per round,
    # so that when judges run short every entry is short by about the same (not a few by all k).
    order = sorted(entries, key=lambda e: (len(state.candidates(e.id)), e.id))
    for _round in range(state.k):
        for entry in order:
            if state.missing(entry.id) == 0:
                continue
            category = entry.category

            def preference(judge_id: int) -> tuple:
                in_category = state.by_category[judge_id].get(category, 0)
                load = state.load[judge_id]
                return (in_category, load, state.rank[judge_id]) if spread else (load, state.rank[judge_id])

            chosen = min((j for j in state.candidates(entry.id) if state.room(j)), key=preference, default=None)
            if chosen is not None:
                state.add(entry.id, chosen)


def _repair_coverage(state: _State, entries: list[EntryItem], spread: bool) -> None:
    """Fill the remaining places by augmenting paths (only ever needed when caps bind)."""
    dead: set[int] = set()  # judges a failed search visited: no path runs through them until a success
    for entry in sorted(entries, key=lambda e: (len(state.on_entry[e.id]), e.id)):
        while state.missing(entry.id):
            path = _augmenting_path(state, entry.id, dead, spread)
            if path is None:
                break
            state.shift(path[1:])
            state.add(entry.id, path[0][2])
            dead.clear()


def _augmenting_path(state: _State, entry_id: int, dead: set[int], spread: bool) -> list[tuple[int, int, int]] | None:
    """A chain giving ``entry_id`` one more judge: the first step is (entry, -1, judge), the rest
    hand-overs (entry, from, to) ending at a judge with room. ``dead`` gains the visited judges on failure."""
    parent: dict[int, tuple[int, int] | None] = {}  # judge → (entry, previous judge) or None for the start
    queue: deque[int] = deque()
    for judge_id in state.candidates(entry_id):
        if judge_id not in dead and judge_id not in parent:
            parent[judge_id] = None
            queue.append(judge_id)
    while queue:
        judge_id = queue.popleft()
        if state.room(judge_id):
            return _trace(parent, judge_id, entry_id)
        for moved, taker in state.handovers(judge_id, spread):
            if taker not in parent and taker not in dead:
                parent[taker] = (moved, judge_id)
                queue.append(taker)
    dead.update(parent)
    return None


def _trace(parent: dict[int, tuple[int, int] | None], end: int, entry_id: int) -> list[tuple[int, int, int]]:
    steps: list[tuple[int, int, int]] = []
    node = end
    while parent[node] is not None:
        moved, previous = parent[node]
        steps.append((moved, previous, node))
        node = previous
    # Hand-overs are applied from the start of the chain; the start judge takes ``entry_id``.
    return [(entry_id, -1, node)] + list(reversed(steps))


def _balance(state: _State, spread: bool) -> None:
    """Apply cost-reducing paths until none is left (each lowers Σ load², so this ends)."""
    improved = True
    while improved:
        improved = False
        open_loads = [state.load[j] for j in state.judge_ids if state.room(j)]
        lowest = min(open_loads, default=None)
        for judge_id in sorted(state.judge_ids, key=lambda j: (-state.load[j], state.rank[j])):
            if lowest is None or state.load[judge_id] - lowest < 2:
                break  # nobody with room is two below this judge, nor below anyone after it
            if not state.movable[judge_id]:
                continue
            path = _cost_reducing_path(state, judge_id, spread)
            if path:
                state.shift(path)
                improved = True
                break


def _cost_reducing_path(state: _State, start: int, spread: bool) -> list[tuple[int, int, int]] | None:
    """A chain of hand-overs from ``start`` to the least-loaded reachable judge with room whose
    load is at most start's − 2; None if there is none."""
    limit = state.load[start] - 2
    parent: dict[int, tuple[int, int] | None] = {start: None}
    queue: deque[int] = deque([start])
    best: int | None = None
    while queue:
        judge_id = queue.popleft()
        for moved, taker in state.handovers(judge_id, spread):
            if taker in parent:
                continue
            parent[taker] = (moved, judge_id)
            queue.append(taker)
            if state.load[taker] <= limit and state.room(taker):
                if best is None or (state.load[taker], state.rank[taker]) < (state.load[best], state.rank[best]):
                    best = taker
    if best is None:
        return None
    steps: list[tuple[int, int, int]] = []
    node = best
    while parent[node] is not None:
        moved, previous = parent[node]
        steps.append((moved, previous, node))
        node = previous
    return list(reversed(steps))


def _shortfalls(state: _State, entries: list[EntryItem]) -> list[Shortfall]:
    found = []
    for entry in entries:
        covered = len(state.on_entry[entry.id])
        if covered >= state.k:
            continue
        # Judges on the entry who are not in the panel (kept sheets of withdrawn judges) count too.
        outside = len(state.on_entry[entry.id] - set(state.eligible[entry.id]))
        eligible = len(state.eligible[entry.id]) + outside
        if not state.judge_ids and not outside:
            reason = ShortfallReason.NO_JUDGES
        elif eligible < state.k:
            reason = ShortfallReason.TOO_FEW_ELIGIBLE
        else:
            reason = ShortfallReason.CAPS_REACHED
        found.append(Shortfall(entry.id, state.k, covered, eligible, reason))
    return found
