"""The five aggregation methods, each producing a *panel mark* per entry and criterion.

Notation: ``x[e,j,c]`` is judge j's mark for entry e on criterion c; ``f_c = weight_c / max_c``;
``T[e,j] = sum_c f_c x[e,j,c]`` is judge j's weighted total. Every method yields a panel mark
``p[e,c]`` on the criterion's own scale and the entry's total is ``sum_c f_c p[e,c]`` (rounded by
the policy in :mod:`scoring.engine`).

* ``mean``     ``p[e,c] = mean_j x[e,j,c]`` over the judges who marked c. With complete sheets
                this equals the mean of the judges' totals (``trim_level`` does not apply).
* ``trimmed``  criterion level: sort the marks on c, drop the N lowest and N highest, average the
                rest. Total level: sort the judges by T, drop N lowest and N highest, and average
                the kept judges' marks per criterion, so ``sum_c f_c p[e,c]`` is the trimmed mean
                of the totals. Needs ``n >= 2N + 1`` marks.
* ``median``   criterion level: median of the marks on c; total level: the marks of the median
                judge (the mean of the two middle judges when n is even).
* ``zscore``   per judge and criterion, ``z = (x - m_jc) / s_jc`` with the judge's mean and
                population SD over all entries the judge marked; ``p = M_c + S_c * mean_j z``
                where ``M_c`` is the mean of the judges' means and ``S_c`` the mean of their SDs.
* ``bias``     least squares ``x[e,j,c] = q[e,c] + b[j,c] + error`` with ``sum_j b[j,c] = 0``;
                ``p[e,c] = q[e,c]``. (Trim settings do not apply to zscore and bias.)

Mean, trimmed and median are exact: integer sums over integer denominators. Zscore and bias are
float estimates, snapped to 9 decimals (:func:`scoring.rounding.snap`) before any rounding.

At total level, judges whose totals tie at a cut-off share the cut equally (each tied judge gets
weight k/g when k of the g tied places are kept), so the result never depends on judge names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import AggregationConfig, DisconnectedDesign, Method, TooFewJudges, TooFewPolicy, TrimLevel
from .rounding import SNAP_PLACES
from .weighted import MarkTable


@dataclass(frozen=True, eq=False)
class Panel:
    """Exact panel marks ``num[e, c] / den[e, c]`` plus what the method did to each mark."""

    num: np.ndarray       # (E, C) integer numerators (int64 or Python ints in an object array)
    den: np.ndarray       # (E, C) positive integer denominators
    weight: np.ndarray    # (E, J, C) weight of each mark in its panel mark; 0 = left out
    fallback: np.ndarray  # (E,) True where too few judges made the method fall back to the mean
    offsets: np.ndarray | None = None  # (J, C) judge offsets on each criterion's scale (bias)


# ------------------------------------------------------------------------ order statistics


def order_weights(values: np.ndarray, present: np.ndarray, kind: str, trim: int = 0,
                  share_ties: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer weights selecting the marks each row's statistic uses.

    ``values``/``present`` are (R, J). Returns ``(weights (R, J), denom (R,), short (R,))`` with
    ``statistic = sum_j weights * values / denom``; ``short`` marks rows with fewer than 2N+1
    values for ``trimmed``. Works for int64, object (big ints) and float arrays alike, which is
    how the exact engine and the float bootstrap share one implementation.
    """
    rows, width = values.shape
    n = present.sum(axis=1)
    if values.dtype.kind == "f":
        filled = np.where(present, values, np.inf)
    else:
        sentinel = (values.max() + 1) if values.size else 0
        filled = np.where(present, values, sentinel)
    order = np.argsort(filled, axis=1, kind="stable")  # stable: ties keep judge-id order
    pos = np.arange(width)[None, :]
    nn = n[:, None]
    short = np.zeros(rows, dtype=bool)
    if kind == "mean":
        w = (pos < nn).astype(np.int64)
        denom = n.astype(np.int64)
    elif kind == "trimmed":
        w = ((pos >= trim) & (pos < nn - trim)).astype(np.int64)
        denom = (n - 2 * trim).astype(np.int64)
        short = n < 2 * trim + 1
    elif kind == "median":
        mid = nn // 2
        w = np.where(nn % 2 == 1, 2 * (pos == mid), (pos == mid) | (pos == mid - 1)).astype(np.int64)
        denom = np.full(rows, 2, dtype=np.int64)
    else:
        raise ValueError(kind)
    if share_ties:
        w, scale = _share_ties(np.take_along_axis(filled, order, axis=1), w, n)
        denom = denom * scale
    weights = np.zeros_like(w)
    np.put_along_axis(weights, order, w, axis=1)
    weights[~present] = 0
    return weights, denom, short


def _share_ties(sorted_vals: np.ndarray, w: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spread each group of equal values' weight evenly over the group (scaled to integers)."""
    rows, width = sorted_vals.shape
    new = np.ones((rows, width), dtype=bool)
    new[:, 1:] = sorted_vals[:, 1:] != sorted_vals[:, :-1]
    flat = (np.cumsum(new, axis=1) - 1) + (np.arange(rows) * width)[:, None]
    size = np.bincount(flat.ravel(), minlength=rows * width)[flat]
    total = np.bincount(flat.ravel(), weights=w.ravel(), minlength=rows * width)[flat].round().astype(np.int64)
    lcm = np.lcm.reduce(np.where(np.arange(width)[None, :] < n[:, None], size, 1), axis=1)
    return total * (lcm[:, None] // size), lcm


# ---------------------------------------------------------------------------- exact methods


def exact_panel(table: MarkTable, config: AggregationConfig) -> Panel:
    """Panel marks for ``config.method`` on ``table`` (see the module docstring for formulas)."""
    method = config.method
    if method in (Method.ZSCORE, Method.BIAS):
        values = table.values
        if method is Method.ZSCORE:
            panel, offsets = zscore_panel(values), None
        else:
            panel, offsets = bias_panel(values, table.present, entries=table.entries, judges=table.judges,
                                        criteria=tuple(c.key for c in table.criteria))
        den_value = 10 ** SNAP_PLACES
        num = np.rint(panel * den_value).astype(np.int64)
        weight = table.present.astype(np.int64)
        return Panel(num, np.full_like(num, den_value), weight,
                     np.zeros(len(table.entries), dtype=bool), offsets)
    if method is Method.MEAN or config.trim_level is TrimLevel.CRITERION:
        return _criterion_level(table, config)
    table.check_complete_sheets(f"{method} at total level")
    return _total_level(table, config)


def _kind(config: AggregationConfig) -> str:
    return "mean" if config.method is Method.MEAN else str(config.method)


def _resolve_short(short: np.ndarray, table: MarkTable, config: AggregationConfig,
                   criterion: str | None, counts: np.ndarray) -> None:
    if short.any() and config.too_few_judges is TooFewPolicy.ERROR:
        e = int(np.argmax(short))
        needed = 2 * config.trim + 1
        where = f" on criterion {criterion!r}" if criterion else ""
        raise TooFewJudges(
            f"entry {table.entries[e]!r} has {counts[e]} judge(s){where}; trimming {config.trim} highest and "
            f"{config.trim} lowest needs at least {needed} (use too_few_judges='mean' to fall back to the mean)",
            entry=table.entries[e], criterion=criterion, judges=int(counts[e]), needed=needed)


def _criterion_level(table: MarkTable, config: AggregationConfig) -> Panel:
    units, present = table.units, table.present
    n_e, n_j, n_c = units.shape
    num = np.zeros((n_e, n_c), dtype=np.int64)
    den = np.zeros((n_e, n_c), dtype=np.int64)
    weight = np.zeros(units.shape, dtype=np.int64)
    fallback = np.zeros(n_e, dtype=bool)
    for c, criterion in enumerate(table.criteria):
        vals, pres = units[:, :, c], present[:, :, c]
        w, denom, short = order_weights(vals, pres, _kind(config), config.trim)
        _resolve_short(short, table, config, criterion.key, pres.sum(axis=1))
        if short.any():
            w[short] = pres[short]
            denom[short] = pres[short].sum(axis=1)
            fallback |= short
        num[:, c] = (w * vals).sum(axis=1)
        den[:, c] = denom * table.scale
        weight[:, :, c] = w
    return Panel(num, den, weight, fallback)


def _total_level(table: MarkTable, config: AggregationConfig) -> Panel:
    totals, complete = table.judge_numerators, table.complete
    w, denom, short = order_weights(totals, complete, _kind(config), config.trim, share_ties=True)
    _resolve_short(short, table, config, None, complete.sum(axis=1))
    if short.any():
        w[short] = complete[short]
        denom[short] = complete[short].sum(axis=1)
    units = table.units
    num = (w[:, :, None] * units).sum(axis=1)
    den = np.repeat((denom * table.scale)[:, None], units.shape[2], axis=1)
    return Panel(num, den, w[:, :, None] * table.present, short)


# ---------------------------------------------------------------------------- float methods


def zscore_panel(values: np.ndarray) -> np.ndarray:
    """Standardised panel marks (E, C) from marks (E, J, C) with NaN for missing.

    ``z[e,j,c] = (x - m[j,c]) / s[j,c]``, with m, s the judge's mean and population SD on c over
    every entry the judge marked; a judge with fewer than two marks or no spread on c carries no
    ranking information there and gets z = 0. ``p[e,c] = M_c + S_c * mean_j z[e,j,c]`` with ``M_c``
    the mean of the judges' means and ``S_c`` the mean of the positive SDs, so p reads on the
    criterion's own scale (it can fall slightly outside the range; it is a relative figure).
    """
    z, m, s, usable, n_j = zscore_parts(values)
    zbar = z.sum(axis=1) / np.maximum((~np.isnan(values)).sum(axis=1), 1)
    centre = np.where(n_j > 0, m, 0.0).sum(axis=0) / np.maximum((n_j > 0).sum(axis=0), 1)
    spread = np.where(usable, s, 0.0).sum(axis=0) / np.maximum(usable.sum(axis=0), 1)
    return centre[None, :] + spread[None, :] * zbar


def zscore_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(z, m, s, usable, n_j)`` of ``zscore_panel`` for marks (E, J, C) with NaN for missing: the
    standardised marks, each judge's mean and population SD per criterion, where they are usable
    (two or more marks with spread), and how many entries each judge marked."""
    present = ~np.isnan(values)
    x = np.where(present, values, 0.0)
    n_j = present.sum(axis=0)
    m = x.sum(axis=0) / np.maximum(n_j, 1)
    dev = np.where(present, x - m[None], 0.0)
    s = np.sqrt((dev ** 2).sum(axis=0) / np.maximum(n_j, 1))
    usable = (n_j >= 2) & (s > 1e-12)
    z = np.where(usable[None], dev / np.where(usable, s, 1.0)[None], 0.0)
    return z, m, s, usable, n_j


def bias_panel(values: np.ndarray, present: np.ndarray, *, entries: tuple[str, ...] = (),
               judges: tuple[str, ...] = (), criteria: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares quality ``q`` (E, C) and judge offsets ``b`` (J, C).

    Model ``x[e,j] = q[e] + b[j] + error`` per criterion with ``sum_j b[j] = 0`` over the judges
    who marked it. Eliminating q gives the J x J system ``L b = r`` with
    ``L = diag(n_j) - A``, ``A[j,k] = sum_{e seen by j and k} 1/n_e`` and
    ``r[j] = sum_{e seen by j} (x[e,j] - xbar[e])``; then ``q[e] = xbar[e] - mean_{j on e} b[j]``.
    ``L`` has rank J-1 exactly when the judge-entry graph is connected; otherwise the offsets of
    the separate groups cannot be compared and :class:`DisconnectedDesign` is raised (the names
    only serve the message).
    """
    n_e, n_j, n_c = values.shape
    entries = entries or tuple(str(i) for i in range(n_e))
    judges = judges or tuple(str(j) for j in range(n_j))
    criteria = criteria or tuple(str(c) for c in range(n_c))
    check_connected(present.any(axis=2), entries, judges, None)
    if (present == present[:, :, :1]).all():  # same judges on every criterion: one system, C right-hand sides
        return _bias_solve(np.where(present, values, 0.0), present[:, :, 0])
    quality = np.zeros((n_e, n_c))
    offsets = np.zeros((n_j, n_c))
    for c in range(n_c):
        marked = present[:, :, c]
        check_connected(marked, entries, judges, criteria[c])
        q, b = _bias_solve(np.where(marked, values[:, :, c], 0.0)[:, :, None], marked)
        quality[:, c], offsets[:, c] = q[:, 0], b[:, 0]
    return quality, offsets


def _bias_solve(x: np.ndarray, marked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve the reduced normal equations for marks x (E, J, K) sharing the pattern ``marked``."""
    m = marked.astype(float)
    n_e = np.maximum(m.sum(axis=1), 1)  # an entry nobody marked here keeps q = 0 (callers exclude it)
    n_j = m.sum(axis=0)
    xbar = x.sum(axis=1) / n_e[:, None]                           # (E, K)
    r = (m[:, :, None] * (x - xbar[:, None, :])).sum(axis=0)      # (J, K)
    lap = np.diag(n_j) - (m / n_e[:, None]).T @ m
    active = n_j > 0
    sub = lap[np.ix_(active, active)] + 1.0  # + 1 1^T pins sum(b) = 0 (each r column sums to zero)
    b = np.zeros(r.shape)
    b[active] = np.linalg.solve(sub, r[active])
    return xbar - (m @ b) / n_e[:, None], b


def components(marked: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected parts of the bipartite judge-entry graph: (count, entry labels, judge labels).

    Judges with no marks get label -1 and do not count.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_e, n_j = marked.shape
    e, j = np.nonzero(marked)
    graph = coo_matrix((np.ones(len(e)), (e, n_e + j)), shape=(n_e + n_j, n_e + n_j))
    _, labels = connected_components(graph, directed=False)
    active = marked.any(axis=0)
    used = np.unique(np.concatenate([labels[:n_e][marked.any(axis=1)], labels[n_e:][active]]))
    remap = {old: new for new, old in enumerate(used)}
    entry_labels = np.array([remap.get(label, -1) for label in labels[:n_e]])
    judge_labels = np.array([remap[label] if a else -1 for label, a in zip(labels[n_e:], active)])
    return len(used), entry_labels, judge_labels


def check_connected(marked: np.ndarray, entries: tuple[str, ...], judges: tuple[str, ...],
                    criterion: str | None) -> None:
    count, e_lab, j_lab = components(marked)
    if count <= 1:
        return
    parts = tuple(
        (tuple(j for j, lab in zip(judges, j_lab) if lab == k), tuple(e for e, lab in zip(entries, e_lab) if lab == k))
        for k in range(count))
    parts = tuple(sorted(parts, key=lambda p: (-len(p[1]), p[0])))
    described = "; ".join(f"group {i + 1}: judges {_short(p[0])} with entries {_short(p[1])}"
                          for i, p in enumerate(parts))
    where = f"on criterion {criterion!r}" if criterion else "overall"
    raise DisconnectedDesign(
        f"the bias model needs every judge linked to every other through shared entries, but {where} the "
        f"judges fall into {count} groups that share no entry ({described}); judge leniency cannot be "
        f"compared across groups. Have at least one judge score entries of each group, or use another method.",
        criterion=criterion, components=parts)


def _short(names: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
