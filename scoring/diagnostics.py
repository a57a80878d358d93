"""Diagnostics an organiser can publish next to a ranking: agreement, judges, influence,
favouritism flags and bootstrap rank confidence. All in float (numpy/scipy): these are
statistics *about* the result, never inputs to it. Formulas are in docs/scoring.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Sequence

import numpy as np

from .aggregate import bias_panel, order_weights, zscore_parts
from .engine import check_setup, rank_table
from .model import (AggregationConfig, CategoryResult, Criterion, DisconnectedDesign, Mark, Method,
                    ScoringError, Tier, TrimLevel, clean_float)
from .ranking import assign_tiers
from .weighted import MarkTable, validate_criteria

DEFAULT_FAVOUR_THRESHOLD = 3.5
MIN_FAVOUR_ENTRIES = 5  # leave-one-out mean and SD need at least 4 other entries


# ------------------------------------------------------------------------------ result types


@dataclass(frozen=True)
class Agreement:
    """Inter-judge agreement on one scope ("total" or a criterion key).

    Kendall's W and the ICCs use the complete block (entries marked by every judge of the
    scope); Krippendorff's alpha uses every entry with at least two marks.
    """

    scope: str
    n_entries: int
    n_judges: int
    kendall_w: float | None
    kendall_chi2: float | None
    kendall_p: float | None
    icc2_1: float | None
    icc2_k: float | None
    krippendorff_alpha: float | None
    note: str = ""
    #: why a statistic is missing, for callers that word it themselves: "no_variation" (the complete
    #: block's totals vary too little) or "no_complete_block" (fewer than 2 entries x 2 judges)
    note_code: str = ""


@dataclass(frozen=True)
class JudgeStats:
    """One judge against the rest of the panel, on weighted totals of complete sheets.

    ``leniency``: mean over the judge's entries of (own total - mean of the other judges' totals).
    ``spread``: SD of the judge's own totals; ``spread_ratio``: that SD over the mean SD of all
    judges. ``correlation``: Pearson r between the judge's totals and the others' means.
    ``offset``: the bias-model offset in total points (fair under incomplete designs).
    """

    judge: str
    n_entries: int
    mean_total: float | None
    leniency: float | None
    spread: float | None
    spread_ratio: float | None
    correlation: float | None
    offset: float | None


@dataclass(frozen=True)
class RankChange:
    entry: str
    rank_before: int | None
    rank_after: int | None
    tier_before: str | None
    tier_after: str | None
    total_before: Decimal | None
    total_after: Decimal | None


@dataclass(frozen=True)
class Influence:
    """What happens to the ranking without one judge; ``changes`` lists tier changes and rank
    changes touching the top k. ``note`` explains when the ranking cannot be recomputed."""

    judge: str
    changes: tuple[RankChange, ...]
    note: str = ""
    #: "unrankable" when the ranking cannot be recomputed without this judge ("" otherwise)
    note_code: str = ""

    @property
    def influential(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class FavouritismFlag:
    """A judge's deviation on one entry far outside that judge's usual deviation.

    ``deviation`` = judge's total - median of the other judges' totals on the entry; ``usual`` and
    ``usual_sd`` are the mean and SD of the judge's deviations on *other* entries;
    ``z = (deviation - usual) / max(usual_sd, floor)``.
    """

    judge: str
    entry: str
    deviation: float
    usual: float
    usual_sd: float
    z: float
    direction: str  # "favours" (z > 0) or "disfavours"


@dataclass(frozen=True)
class RankConfidence:
    """Bootstrap over judges: rank interval at ``level``, median rank, P(top k), P(each tier)."""

    entry: str
    rank: int
    rank_low: int | None
    rank_high: int | None
    rank_median: float | None
    p_top_k: float | None
    tier_probabilities: dict[str, float]


@dataclass(frozen=True)
class Diagnostics:
    config: AggregationConfig
    n_entries: int
    n_judges: int
    agreement: Agreement
    agreement_by_criterion: tuple[Agreement, ...]
    judges: tuple[JudgeStats, ...]
    influence: tuple[Influence, ...]
    favouritism: tuple[FavouritismFlag, ...]
    rank_confidence: tuple[RankConfidence, ...]
    top_k: int
    bootstrap: int
    bootstrap_valid: int
    seed: int | None
    level: float
    favour_threshold: float
    favour_sd_floor: float
    result: CategoryResult | None = field(default=None, repr=False, compare=False)

    @property
    def influential_judges(self) -> tuple[str, ...]:
        return tuple(i.judge for i in self.influence if i.influential)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (floats, strings, lists; NaN becomes None)."""
        return _plain({
            "config": self.config.to_dict(), "n_entries": self.n_entries, "n_judges": self.n_judges,
            "agreement": self.agreement, "agreement_by_criterion": list(self.agreement_by_criterion),
            "judges": list(self.judges),
            "influence": [dict(_plain(i), influential=i.influential) for i in self.influence],
            "influential_judges": list(self.influential_judges),
            "favouritism": list(self.favouritism), "rank_confidence": list(self.rank_confidence),
            "top_k": self.top_k, "bootstrap": self.bootstrap, "bootstrap_valid": self.bootstrap_valid,
            "seed": self.seed, "level": self.level, "favour_threshold": self.favour_threshold,
            "favour_sd_floor": self.favour_sd_floor})


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__ if k != "result"}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return clean_float(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


# --------------------------------------------------------------------------- agreement stats


def kendall_w(ratings: np.ndarray) -> tuple[float, float, float] | None:
    """Kendall's W with tie correction for a complete (n objects x m judges) matrix.

    ``W = 12 S / (m^2 (n^3 - n) - m sum_j T_j)``, ``S = sum_i (R_i - mean R)^2`` with ``R_i`` the
    rank sums (average ranks for ties), ``T_j = sum_groups (t^3 - t)`` over judge j's ties.
    Returns ``(W, chi2 = m (n-1) W, p)`` with p from chi-square on n-1 df, or None if undefined.
    """
    from scipy.stats import chi2, rankdata

    n, m = ratings.shape
    if n < 2 or m < 2:
        return None
    ranks = rankdata(ratings, axis=0)
    sums = ranks.sum(axis=1)
    s = float(((sums - sums.mean()) ** 2).sum())
    ties = 0.0
    for j in range(m):
        _, counts = np.unique(ratings[:, j], return_counts=True)
        ties += float((counts ** 3 - counts).sum())
    denominator = m ** 2 * (n ** 3 - n) - m * ties
    if denominator <= 0:
        return None
    w = 12 * s / denominator
    statistic = m * (n - 1) * w
    return w, statistic, float(chi2.sf(statistic, n - 1))


def icc2(ratings: np.ndarray) -> tuple[float, float] | None:
    """ICC(2,1) and ICC(2,k) (Shrout & Fleiss 1979: two-way random, absolute agreement).

    With BMS, JMS, EMS the between-entries, between-judges and residual mean squares of the
    two-way ANOVA on a complete n x k matrix:
    ``ICC(2,1) = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n)``,
    ``ICC(2,k) = (BMS - EMS) / (BMS + (JMS - EMS) / n)``.
    """
    n, k = ratings.shape
    if n < 2 or k < 2:
        return None
    grand = ratings.mean()
    ss_rows = k * ((ratings.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((ratings.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((ratings - grand) ** 2).sum() - ss_rows - ss_cols
    bms, jms = ss_rows / (n - 1), ss_cols / (k - 1)
    ems = ss_err / ((n - 1) * (k - 1))
    single_den = bms + (k - 1) * ems + k * (jms - ems) / n
    average_den = bms + (jms - ems) / n
    if single_den <= 0 or average_den <= 0:
        return None
    return float((bms - ems) / single_den), float((bms - ems) / average_den)


def krippendorff_alpha(ratings: np.ndarray) -> float | None:
    """Krippendorff's alpha, interval metric, for (units x judges) with NaN for missing.

    Only units with m_u >= 2 values count (n = their total). ``alpha = 1 - D_o / D_e`` with
    ``D_o = (1/n) sum_u sum_{i != i'} (v_i - v_i')^2 / (m_u - 1)`` and
    ``D_e = sum_{all pairs i != i'} (v_i - v_i')^2 / (n (n - 1))``; both sums run over ordered
    pairs and equal ``2 (m sum v^2 - (sum v)^2)``.
    """
    present = ~np.isnan(ratings)
    m_u = present.sum(axis=1)
    pairable = m_u >= 2
    if not pairable.any():
        return None
    x = np.where(present, ratings, 0.0)[pairable]
    m_u = m_u[pairable]
    s1, s2 = x.sum(axis=1), (x ** 2).sum(axis=1)
    n = m_u.sum()
    d_o = (2 * (m_u * s2 - s1 ** 2) / (m_u - 1)).sum() / n
    d_e = 2 * (n * s2.sum() - s1.sum() ** 2) / (n * (n - 1))
    if d_e <= 0:
        return None
    return float(1 - d_o / d_e)


def agreement(matrix: np.ndarray, scope: str) -> Agreement:
    """All three statistics on an (entries x judges) matrix with NaN for missing."""
    judges = ~np.isnan(matrix).all(axis=0)
    block = matrix[:, judges]
    block = block[~np.isnan(block).any(axis=1)]
    n, m = block.shape
    note = code = ""
    w = icc = None
    if n >= 2 and m >= 2:
        w, icc = kendall_w(block), icc2(block)
        undefined = [name for name, value in (("W", w), ("ICC", icc)) if value is None]
        if undefined:
            note = f"{' and '.join(undefined)} undefined: too little variation in the complete block"
            code = "no_variation"
    else:
        note = "fewer than 2 entries marked by every judge: W and ICC need a complete block"
        code = "no_complete_block"
    return Agreement(scope, n, m, *(w or (None, None, None)), *(icc or (None, None)),
                     krippendorff_alpha(matrix), note, code)


# ------------------------------------------------------------------------------- judge stats


def _complete_totals(table: MarkTable) -> np.ndarray:
    return np.where(table.complete, table.judge_totals_float, np.nan)


def _deviations(totals: np.ndarray) -> np.ndarray:
    """Own total minus the mean of the other judges' totals (NaN without another judge)."""
    present = ~np.isnan(totals)
    x = np.where(present, totals, 0.0)
    count = present.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (x.sum(axis=1, keepdims=True) - x) / (count - 1)
    return np.where(present & (count >= 2), totals - others, np.nan), others


def _median_deviations(totals: np.ndarray) -> np.ndarray:
    """Own total minus the *median* of the other judges' totals: one judge's favour must not
    drag the reference of everybody else (as a mean would) and get them flagged too."""
    dev = np.full(totals.shape, np.nan)
    for j in range(totals.shape[1]):
        others = np.delete(totals, j, axis=1)
        ok = ~np.isnan(totals[:, j]) & (~np.isnan(others)).any(axis=1)
        if ok.any():
            dev[ok, j] = totals[ok, j] - np.nanmedian(others[ok], axis=1)
    return dev


def judge_stats(table: MarkTable) -> tuple[JudgeStats, ...]:
    totals = _complete_totals(table)
    dev, others = _deviations(totals)
    sds = [np.nanstd(totals[:, j], ddof=1) if (~np.isnan(totals[:, j])).sum() >= 2 else np.nan
           for j in range(totals.shape[1])]
    mean_sd = np.nanmean(sds) if not np.all(np.isnan(sds)) else np.nan
    offsets = _total_offsets(table)
    stats = []
    for j, judge in enumerate(table.judges):
        own = totals[:, j]
        seen = ~np.isnan(own)
        paired = ~np.isnan(dev[:, j])
        corr = None
        if paired.sum() >= 3 and np.std(own[paired]) > 0 and np.std(others[paired, j]) > 0:
            corr = float(np.corrcoef(own[paired], others[paired, j])[0, 1])
        stats.append(JudgeStats(
            judge, int(seen.sum()), clean_float(np.mean(own[seen])) if seen.any() else None,
            clean_float(np.mean(dev[paired, j])) if paired.any() else None,
            clean_float(sds[j]), clean_float(sds[j] / mean_sd) if mean_sd and not np.isnan(sds[j]) else None,
            corr, None if offsets is None else clean_float(offsets[j])))
    return tuple(stats)


def _total_offsets(table: MarkTable) -> np.ndarray | None:
    totals = _complete_totals(table)[:, :, None]
    try:
        _, offsets = bias_panel(totals, ~np.isnan(totals))
    except DisconnectedDesign:
        return None
    return offsets[:, 0]


def favouritism(table: MarkTable, threshold: float = DEFAULT_FAVOUR_THRESHOLD,
                sd_floor: float | None = None) -> tuple[FavouritismFlag, ...]:
    """Flag (judge, entry) pairs with ``|z| >= threshold``, z as in :class:`FavouritismFlag`.

    The judge's usual deviation is estimated leaving the entry itself out, so one planted favour
    cannot hide itself by inflating the SD. ``sd_floor`` (default 0.5% of the category's total
    weight, i.e. 0.5 points out of 100) stops a very consistent judge being flagged for trifles.
    Judges with fewer than five comparable entries are not assessed.
    """
    floor = sd_floor if sd_floor is not None else 0.005 * float(sum(c.weight for c in table.criteria))
    dev = _median_deviations(_complete_totals(table))
    flags = []
    for j, judge in enumerate(table.judges):
        rows = np.flatnonzero(~np.isnan(dev[:, j]))
        n = len(rows)
        if n < MIN_FAVOUR_ENTRIES:
            continue
        d = dev[rows, j]
        mean_other = (d.sum() - d) / (n - 1)
        var_other = ((d ** 2).sum() - d ** 2 - (n - 1) * mean_other ** 2) / (n - 2)
        sd_other = np.sqrt(np.maximum(var_other, 0.0))
        z = (d - mean_other) / np.maximum(sd_other, floor)
        for i in np.flatnonzero(np.abs(z) >= threshold):
            flags.append(FavouritismFlag(judge, table.entries[rows[i]], float(d[i]), float(mean_other[i]),
                                         float(sd_other[i]), float(z[i]), "favours" if z[i] > 0 else "disfavours"))
    return tuple(sorted(flags, key=lambda f: -abs(f.z)))


# ---------------------------------------------------------------------------------- influence


def influence(table: MarkTable, config: AggregationConfig, tiers: Sequence[Tier], base: CategoryResult,
              top_k: int) -> tuple[Influence, ...]:
    """Leave each judge out, re-rank exactly, and report tier changes and top-k rank changes."""
    before = {r.entry: r for r in base.entries}
    result = []
    for judge in table.judges:
        try:
            after_result = rank_table(table.without_judges([judge]), config, tiers)
        except ScoringError as exc:
            result.append(Influence(judge, (), f"ranking impossible without this judge: {exc.message}",
                                    "unrankable"))
            continue
        after = {r.entry: r for r in after_result.entries}
        changes = []
        for entry, old in before.items():
            new = after.get(entry)
            new_rank, new_tier = (new.rank, new.tier) if new else (None, None)
            top = old.rank <= top_k or (new_rank is not None and new_rank <= top_k)
            if old.tier != new_tier or (top and old.rank != new_rank):
                changes.append(RankChange(entry, old.rank, new_rank, old.tier, new_tier, old.total,
                                          new.total if new else None))
        changes.sort(key=lambda c: (c.rank_before, c.entry))
        result.append(Influence(judge, tuple(changes)))
    return tuple(result)


# --------------------------------------------------------------------------------- bootstrap


def _float_units(x: np.ndarray, decimals: int) -> np.ndarray:
    """Half-up rounding of float figures to integer units (1e-6 unit slack absorbs float noise)."""
    scaled = np.abs(x) * 10 ** decimals
    with np.errstate(invalid="ignore"):
        return np.sign(x) * np.floor(scaled + 0.5 + 1e-6)


def float_panel(values: np.ndarray, present: np.ndarray, factors: np.ndarray,
                config: AggregationConfig) -> np.ndarray:
    """Float panel marks (R, C) for the order-statistic methods (mean, trimmed, median).

    Same selection rules as the exact engine; too few judges always falls back to the mean here,
    because one resample must not abort the others.
    """
    kind = "mean" if config.method is Method.MEAN else str(config.method)
    x = np.where(present, values, 0.0)
    if config.method is Method.MEAN or config.trim_level is TrimLevel.CRITERION:
        # all criteria at once: (R, J, C) -> (R, C, J), statistic along the judges
        return _sorted_statistic(values.transpose(0, 2, 1), present.transpose(0, 2, 1), kind, config.trim)
    complete = present.all(axis=2)
    totals = (x * factors).sum(axis=2)
    w, denom, short = order_weights(totals, complete, kind, config.trim)
    w[short] = complete[short]
    denom = np.where(short, complete.sum(axis=1), denom)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w[:, :, None] * x).sum(axis=1) / denom[:, None]


def _sorted_statistic(values: np.ndarray, present: np.ndarray, kind: str, trim: int) -> np.ndarray:
    """Mean / trimmed mean / median along the last axis, missing values excluded."""
    ordered = np.sort(np.where(present, values, np.inf), axis=-1)
    n = present.sum(axis=-1, keepdims=True)
    pos = np.arange(values.shape[-1])
    if kind == "trimmed":
        short = n < 2 * trim + 1
        keep = np.where(short, pos < n, (pos >= trim) & (pos < n - trim))
    elif kind == "median":
        keep = (pos == n // 2) | ((n % 2 == 0) & (pos == n // 2 - 1))
    else:
        keep = pos < n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(keep, ordered, 0.0).sum(axis=-1) / keep.sum(axis=-1)


def _float_totals(panel: np.ndarray, factors: np.ndarray, config: AggregationConfig) -> np.ndarray:
    d = config.decimals
    if config.round_each_stage:
        marks = _float_units(panel, d) / 10 ** d
        return _float_units(marks * factors, d).sum(axis=-1)
    return _float_units(panel @ factors, d)


def _keys(total_units: np.ndarray, panel: np.ndarray, judge_totals: np.ndarray,
          table: MarkTable, config: AggregationConfig) -> np.ndarray:
    """(E, 1 + tie-breaks) float keys, higher is better, -inf where undefined."""
    d = config.decimals
    cols = [total_units]
    keys = [c.key for c in table.criteria]
    with np.errstate(invalid="ignore", all="ignore"):
        for tb in config.tie_break:
            if tb.kind == "criterion":
                cols.append(_float_units(panel[:, keys.index(tb.key)], d))
            elif tb.kind == "median":
                cols.append(_float_units(_nan_reduce(np.nanmedian, judge_totals), d))
            else:
                cols.append(-_float_units(_nan_reduce(np.nanmax, judge_totals) - _nan_reduce(np.nanmin, judge_totals), d))
    stacked = np.stack(cols, axis=1)
    return np.where(np.isnan(stacked), -np.inf, stacked)


def _nan_reduce(func, totals: np.ndarray) -> np.ndarray:
    out = np.full(totals.shape[0], np.nan)
    ok = ~np.isnan(totals).all(axis=1)
    out[ok] = func(totals[ok], axis=1)
    return out


def _ranks_from_keys(keys: np.ndarray, valid: np.ndarray) -> np.ndarray:
    order = np.lexsort(tuple(-keys[:, k] for k in reversed(range(keys.shape[1]))))
    ordered = keys[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    start = np.where(new, np.arange(len(order)), 0)
    ranks = np.empty(len(order))
    ranks[order] = np.maximum.accumulate(start) + 1
    ranks[~valid] = np.nan
    return ranks


def bootstrap_ranks(table: MarkTable, config: AggregationConfig, tiers: Sequence[Tier],
                    resamples: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Resample whole judges with replacement ``resamples`` times and re-rank in float.

    Returns ``(ranks (B, E) with NaN where an entry could not be ranked, tier index (B, E) with
    -1 for no tier)``; replicates where the method fails (bias on a disconnected resample) are
    all-NaN. The generator is ``numpy.random.default_rng(seed)`` drawing a (B, J) index matrix.
    """
    n_e, n_j, _ = table.units.shape
    factors = np.array([float(f) for f in table.factors])
    draws = np.random.default_rng(seed).integers(0, n_j, size=(resamples, n_j))
    values, present = np.where(table.present, table.values, 0.0), table.present
    ranks = np.full((resamples, n_e), np.nan)
    tier_idx = np.full((resamples, n_e), -1, dtype=np.int64)
    unit_tiers = _unit_tiers(tiers, config.decimals)
    zstats = _zscore_parts(table.values) if config.method is Method.ZSCORE else None
    batch = max(1, min(64, 2_000_000 // max(1, table.units.size)))  # bounds the (E, b, J, C) copies
    for start in range(0, resamples, batch):
        idx = draws[start:start + batch]
        panels = _replicate_panels(values, present, idx, factors, config, table, zstats)
        for b, panel in enumerate(panels):
            if panel is None:
                continue
            cols = idx[b]
            pres = present[:, cols, :]
            jt = np.where(pres.all(axis=2), (values[:, cols, :] * factors).sum(axis=2), np.nan)
            totals = _float_totals(panel, factors, config)
            valid = ~np.isnan(totals) & pres.any(axis=(1, 2))
            r = _ranks_from_keys(_keys(np.where(valid, totals, np.nan), panel, jt, table, config), valid)
            ranks[start + b] = r
            if tiers:
                ok = np.flatnonzero(valid)
                names = assign_tiers(r[ok].astype(int).tolist(), totals[ok].tolist(), unit_tiers)
                for i, name in zip(ok, names):
                    if name is not None:
                        tier_idx[start + b, i] = [t.name for t in tiers].index(name)
    return ranks, tier_idx


def _unit_tiers(tiers: Sequence[Tier], decimals: int) -> tuple[Tier, ...]:
    """Tiers with thresholds in integer units of the displayed precision."""
    return tuple(Tier(t.name, None if t.min_total is None else Decimal(math.ceil(t.min_total.scaleb(decimals))),
                      t.quota) for t in tiers)


def _zscore_parts(values: np.ndarray):
    z, m, s, usable, n_j = zscore_parts(values)
    return z, m, s, usable, n_j > 0


def _replicate_panels(values, present, idx, factors, config, table, zstats) -> list[np.ndarray | None]:
    b, n_j = idx.shape
    n_e, _, n_c = values.shape
    if config.method is Method.ZSCORE:
        z, m, s, usable, has = zstats
        pres = present[:, idx, :]                       # (E, b, J, C)
        zbar = z[:, idx, :].sum(axis=2) / np.maximum(pres.sum(axis=2), 1)
        centre = (m[idx] * has[idx]).sum(axis=1) / np.maximum(has[idx].sum(axis=1), 1)      # (b, C)
        spread = (s[idx] * usable[idx]).sum(axis=1) / np.maximum(usable[idx].sum(axis=1), 1)
        panel = centre[None] + spread[None] * zbar
        return [panel[:, k, :] for k in range(b)]
    if config.method is Method.BIAS:
        out = []
        for cols in idx:
            try:
                quality, _ = bias_panel(np.where(present[:, cols, :], values[:, cols, :], np.nan), present[:, cols, :])
            except DisconnectedDesign:
                out.append(None)
                continue
            out.append(quality)
        return out
    stacked_v = values[:, idx, :].transpose(1, 0, 2, 3).reshape(b * n_e, n_j, n_c)
    stacked_p = present[:, idx, :].transpose(1, 0, 2, 3).reshape(b * n_e, n_j, n_c)
    panel = float_panel(stacked_v, stacked_p, factors, config).reshape(b, n_e, n_c)
    return list(panel)


def rank_confidence(table: MarkTable, config: AggregationConfig, tiers: Sequence[Tier], base: CategoryResult,
                    resamples: int, seed: int | None, level: float, top_k: int) -> tuple[tuple[RankConfidence, ...], int]:
    if resamples <= 0 or not table.entries:
        return (), 0
    ranks, tier_idx = bootstrap_ranks(table, config, tiers, resamples, seed)
    valid_rep = ~np.isnan(ranks).all(axis=1)
    alpha = (1 - level) / 2
    observed = {r.entry: r.rank for r in base.entries}
    out = []
    for e, entry in enumerate(table.entries):
        ok = valid_rep & ~np.isnan(ranks[:, e])
        r = ranks[ok, e]
        probs = {t.name: float((tier_idx[ok, e] == k).mean()) if ok.any() else 0.0 for k, t in enumerate(tiers)}
        out.append(RankConfidence(
            entry, observed[entry],
            int(np.quantile(r, alpha, method="lower")) if r.size else None,
            int(np.quantile(r, 1 - alpha, method="higher")) if r.size else None,
            float(np.median(r)) if r.size else None,
            float((r <= top_k).mean()) if r.size else None, probs))
    out.sort(key=lambda rc: (rc.rank, rc.entry))
    return tuple(out), int(valid_rep.sum())


# -------------------------------------------------------------------------------------- entry


def diagnose(criteria: Sequence[Criterion], marks: Iterable[Mark], config: AggregationConfig | None = None,
             tiers: Sequence[Tier] = (), top_k: int = 3, bootstrap: int = 1000, seed: int | None = 0,
             level: float = 0.95, favour_threshold: float = DEFAULT_FAVOUR_THRESHOLD,
             favour_sd_floor: float | None = None) -> Diagnostics:
    """Every diagnostic for one category; see :class:`Diagnostics` and docs/scoring.md.

    ``bootstrap`` resamples (0 skips it) are drawn from ``numpy.random.default_rng(seed)``, so the
    same seed and inputs give the same intervals whatever order the marks come in.
    """
    table = MarkTable.from_marks(validate_criteria(criteria), marks)
    return diagnose_table(table, config or AggregationConfig(), tiers, top_k=top_k, bootstrap=bootstrap,
                          seed=seed, level=level, favour_threshold=favour_threshold,
                          favour_sd_floor=favour_sd_floor)


def diagnose_table(table: MarkTable, config: AggregationConfig, tiers: Sequence[Tier] = (), *, top_k: int = 3,
                   bootstrap: int = 1000, seed: int | None = 0, level: float = 0.95,
                   favour_threshold: float = DEFAULT_FAVOUR_THRESHOLD,
                   favour_sd_floor: float | None = None) -> Diagnostics:
    tiers = tuple(tiers)
    check_setup(table.criteria, config, tiers)
    if not 0 < level < 1:
        raise ScoringError(f"level must be between 0 and 1, got {level}")
    base = rank_table(table, config, tiers)
    floor = favour_sd_floor if favour_sd_floor is not None else 0.005 * float(sum(c.weight for c in table.criteria))
    confidence, valid = rank_confidence(table, config, tiers, base, bootstrap, seed, level, top_k)
    return Diagnostics(
        config=config, n_entries=len(table.entries), n_judges=len(table.judges),
        agreement=agreement(_complete_totals(table), "total"),
        agreement_by_criterion=tuple(agreement(table.values[:, :, c], crit.key)
                                     for c, crit in enumerate(table.criteria)),
        judges=judge_stats(table), influence=influence(table, config, tiers, base, top_k),
        favouritism=favouritism(table, favour_threshold, floor), rank_confidence=confidence,
        top_k=top_k, bootstrap=bootstrap, bootstrap_valid=valid, seed=seed, level=level,
        favour_threshold=favour_threshold, favour_sd_floor=floor, result=base)


# ------------------------------------------------------------------------------------ report


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_text(diag: Diagnostics, title: str = "") -> str:
    """A plain-text report for the command line."""
    lines = [f"== {title} ==" if title else "== diagnostics ==",
             f"method {diag.config.method}, {diag.n_entries} entries, {diag.n_judges} judges", "",
             "Agreement (W: Kendall's W with tie correction; ICC two-way random absolute; alpha: Krippendorff interval)",
             f"  {'scope':<16}{'n':>5}{'W':>8}{'p(W)':>8}{'ICC21':>8}{'ICC2k':>8}{'alpha':>8}"]
    for a in (diag.agreement, *diag.agreement_by_criterion):
        lines.append(f"  {a.scope:<16}{a.n_entries:>5}{_f(a.kendall_w):>8}{_f(a.kendall_p):>8}{_f(a.icc2_1):>8}"
                     f"{_f(a.icc2_k):>8}{_f(a.krippendorff_alpha):>8}" + (f"  ({a.note})" if a.note else ""))
    lines += ["", "Judges (leniency: mean own total minus others' mean; r: correlation with the others)",
              f"  {'judge':<16}{'n':>5}{'leniency':>10}{'offset':>9}{'sd':>8}{'sd/avg':>8}{'r':>8}"]
    for j in diag.judges:
        lines.append(f"  {j.judge:<16}{j.n_entries:>5}{_f(j.leniency, 2):>10}{_f(j.offset, 2):>9}{_f(j.spread, 2):>8}"
                     f"{_f(j.spread_ratio, 2):>8}{_f(j.correlation, 2):>8}")
    lines += ["", f"Influence (leave one judge out; tier changes and changes in the top {diag.top_k})"]
    for inf in diag.influence:
        if inf.note:
            lines.append(f"  {inf.judge}: {inf.note}")
        for ch in inf.changes:
            after = "unranked (no marks left)" if ch.rank_after is None else ch.rank_after
            tier = f", tier {ch.tier_before or '-'} -> {ch.tier_after or '-'}" if ch.tier_before != ch.tier_after else ""
            lines.append(f"  without {inf.judge}: {ch.entry} rank {ch.rank_before} -> {after}{tier}")
    if not any(i.changes or i.note for i in diag.influence):
        lines.append("  no single judge changes a tier or a top place")
    lines += ["", f"Favouritism flags (|z| >= {diag.favour_threshold}, SD floor {diag.favour_sd_floor:g} points)"]
    for fl in diag.favouritism:
        lines.append(f"  {fl.judge} {fl.direction} {fl.entry}: deviation {fl.deviation:+.2f} vs usual "
                     f"{fl.usual:+.2f} (sd {fl.usual_sd:.2f}), z = {fl.z:+.1f}")
    if not diag.favouritism:
        lines.append("  none")
    if diag.rank_confidence:
        lines += ["", f"Rank confidence ({diag.bootstrap} judge resamples, seed {diag.seed}, "
                      f"{diag.bootstrap_valid} usable; {diag.level:.0%} interval)",
                  f"  {'entry':<16}{'rank':>5}{'interval':>10}{f'P(top {diag.top_k})':>10}  tiers"]
        for rc in diag.rank_confidence:
            interval = f"{rc.rank_low}-{rc.rank_high}" if rc.rank_low is not None else "-"
            tiers = ", ".join(f"{k} {v:.0%}" for k, v in rc.tier_probabilities.items())
            lines.append(f"  {rc.entry:<16}{rc.rank:>5}{interval:>10}{_f(rc.p_top_k, 2):>10}  {tiers}")
    return "\n".join(lines) + "\n"
