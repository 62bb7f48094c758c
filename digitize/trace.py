"""Column-by-column tracing of one curve through its ink mask.

Each image column's ink is split into vertical runs (connected segments). The curve is the chain
of runs, at most one per column, that covers the most columns while respecting what a KM curve
can do: it never rises (in pixels: y never decreases beyond a noise tolerance), it moves down
through drawn vertical segments, and it may vanish only where something else lies on top
(another curve, a legend, text: non-paper pixels), also where it drops out of sight (down a
stair of columns). Gaps over bare paper are expensive, so the trace ends where the drawn curve
ends instead of jumping to a legend swatch. The chain is found by dynamic programming over the
runs (a longest-path problem on a DAG ordered by column), vectorised per column with numpy: the
costs from the runs of the nearest columns are computed for many columns at once, and farther
runs that cannot be a best predecessor are skipped (exactly).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# scores: each traced column earns 1; gaps and jumps cost
COST_OCCLUDED_GAP = 0.1    # per skipped column where something else covers the curve's row
COST_EMPTY_GAP = 2.0       # per skipped column where the row is bare paper
COST_JUMP = 0.1            # per pixel of vertical jump not drawn as ink
COST_LATE_START = 0.3      # per column between the plot's left edge and the first traced run
FORBIDDEN = 1e9
SHORT_GAP = 12             # columns back within which every run is a possible predecessor
KEEP_PER_COLUMN = 4        # beyond that, the best few runs of each column
NEAR_PAIRS_PER_CHUNK = 1 << 18   # (run, earlier run) costs computed at once (memory bound)


@dataclass
class Runs:
    """Vertical ink runs, sorted by column: rows top..bot (inclusive) in column ``col``;
    ``cen`` is the coverage-weighted centre row (sub-pixel), ``weight`` the summed coverage
    (about the line width in pixels for a plateau)."""

    col: np.ndarray
    top: np.ndarray
    bot: np.ndarray
    cen: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.col.size)

    def take(self, idx) -> "Runs":
        return Runs(self.col[idx], self.top[idx], self.bot[idx], self.cen[idx], self.weight[idx])


def column_runs(mask: np.ndarray, weight: np.ndarray) -> Runs:
    """All vertical runs of True in ``mask`` (H, W); centres weighted by ``weight`` (coverage
    0-1) over the run and one pixel either side (anti-aliased edges below the mask threshold)."""
    h, w = mask.shape
    # True pixels in column-major order; a run starts where the row does not follow the last one
    c, r = np.nonzero(np.asarray(mask, bool).T)
    if c.size == 0:
        e = np.zeros(0, np.int64)
        return Runs(e, e.copy(), e.copy(), np.zeros(0), np.zeros(0))
    first = np.ones(c.size, bool)
    first[1:] = (c[1:] != c[:-1]) | (r[1:] != r[:-1] + 1)
    i0 = np.nonzero(first)[0]
    i1 = np.r_[i0[1:], c.size] - 1
    sc, top, bot = c[i0], r[i0], r[i1]
    # summed weight and weighted row over each run +- 1 row, gathered pixel by pixel
    rows, cols, starts = run_pixels(sc, np.maximum(top - 1, 0), np.minimum(bot + 1, h - 1))
    wt = np.clip(np.asarray(weight, np.float32)[rows, cols], 0.0, 1.0).astype(np.float64)
    ws = np.add.reduceat(wt, starts)
    ys = np.add.reduceat(wt * rows, starts)
    cen = np.where(ws > 1e-6, ys / np.maximum(ws, 1e-6), 0.5 * (top + bot))
    return Runs(sc.astype(np.int64), top.astype(np.int64), bot.astype(np.int64), cen, ws)


def run_pixels(col: np.ndarray, top: np.ndarray, bot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, starts): every pixel of the vertical runs top..bot (inclusive) of columns
    ``col``, run after run; ``starts`` indexes each run's first pixel (for ``np.add.reduceat``)."""
    n = np.asarray(bot) - np.asarray(top) + 1
    starts = np.cumsum(n) - n
    run = np.repeat(np.arange(n.size), n)
    return np.asarray(top)[run] + np.arange(int(n.sum())) - starts[run], np.asarray(col)[run], starts


def paper_below(empty: np.ndarray) -> np.ndarray:
    """(H + 1, W) int16 (int32 if H is larger): the first bare row (pixels) at or below row y of
    column x (H if none): a drop in column x from row y is hidden (by other ink) down to that
    row. empty: bool (H, W)."""
    h, w = empty.shape
    dtype = np.int16 if h < np.iinfo(np.int16).max else np.int32
    first = np.full((h + 1, w), h, dtype)
    np.copyto(first[:h], np.arange(h, dtype=dtype)[:, None], where=empty)
    for y in range(h - 1, -1, -1):   # (a row loop: np.minimum.accumulate down axis 0 is slower)
        np.minimum(first[y], first[y + 1], out=first[y])
    return first


def line_width_guess(cov: np.ndarray) -> float:
    """Typical vertical run length of well-covered pixels (pixels): about the line width."""
    m = cov >= 0.5
    if not m.any():
        return 1.5
    r = column_runs(m, cov)
    ln = (r.bot - r.top + 1)
    ln = ln[ln <= 40]
    if ln.size == 0:
        return 1.5
    # a low quantile, not the mode: dense censor marks make many taller runs
    return float(max(1.0, np.percentile(ln, 30)))


@dataclass
class BarePaper:
    """Lookups on a bare-paper map (bool (H, W): True where a curve would be visible), built
    once per figure and shared by every arm's trace: ``ecum`` bare pixels along each row
    (cumulative, (H, W + 1)), ``vcum`` down each column ((H + 1, W)), ``below``
    (:func:`paper_below`)."""

    ecum: np.ndarray
    vcum: np.ndarray
    below: np.ndarray

    @classmethod
    def of(cls, empty: np.ndarray) -> "BarePaper":
        empty = np.asarray(empty, bool)
        h, w = empty.shape
        ecum = np.zeros((h, w + 1), np.int32)
        np.cumsum(empty, axis=1, out=ecum[:, 1:])
        vcum = np.zeros((h + 1, w), np.int32)
        vcum[1:] = empty
        np.cumsum(vcum[1:], axis=0, out=vcum[1:])   # (in place: much faster than from bool)
        return cls(ecum, vcum, paper_below(empty))


def trace_path(
    runs: Runs,
    empty: np.ndarray | BarePaper,
    *,
    line_width: float,
    max_gap: int,
    start_col: int = 0,
) -> np.ndarray:
    """Indices (into ``runs``) of the best curve chain, left to right.

    empty: bool (H, W), True where the paper is bare (a curve there would be visible), or its
    :class:`BarePaper` lookups (several arms traced on one figure build them once).
    line_width: ink thickness in pixels (noise tolerance for "never rises").
    max_gap: widest run of skipped columns considered (pixels).
    """
    n = len(runs)
    if n == 0:
        return np.empty(0, np.int64)
    bare = empty if isinstance(empty, BarePaper) else BarePaper.of(empty)
    ecum, vcum, below = bare.ecum, bare.vcum, bare.below
    h, w = vcum.shape[0] - 1, vcum.shape[1]
    col, top, bot, cen = runs.col, runs.top, runs.bot, runs.cen
    row = np.clip(np.rint(cen).astype(np.int64), 0, h - 1)
    best = np.full(n, -np.inf)
    pred = np.full(n, -1, np.int64)
    up_tol0 = max(1.2, 0.5 * line_width)
    dash_gap = int(np.ceil(2.0 * line_width + 3.0))   # pixels: the longest gap of a dashed line
    starts = np.searchsorted(col, np.arange(w + 1), side="left")
    # long gaps are bridged from the best few runs of each earlier column only (keeps the work
    # per column small); short gaps from every run
    col_best = np.full((w, KEEP_PER_COLUMN), -1, np.int64)
    # a drop over skipped columns is hidden only where other ink covers it, in one column or in
    # steps down a stair of columns (a steep run of small drops under another curve): from the
    # row below run a, the lowest row a hidden stair through the columns col(a) .. c reaches
    # (:func:`paper_below`, one column after the other) is
    #   near[a, c - col(a)] for c - col(a) <= SHORT_GAP (every run),
    #   stair[col(a), k] for the far runs col_best[col(a), k], c being the column traced
    near = np.empty((n, SHORT_GAP + 1), below.dtype)
    y = np.minimum(bot + 1, h)
    for j in range(SHORT_GAP + 1):
        y = below[y, np.minimum(col + j, w - 1)]
        near[:, j] = y
    stair = np.full((w, KEEP_PER_COLUMN), h, below.dtype)
    stair_col = 0   # the next column to take ``stair`` through

    def rises(a: np.ndarray, gap: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Going from run a to run b, ``gap`` columns later, would climb (forbidden); arrays
        broadcast together."""
        return (cen[a] - cen[b]) > (up_tol0 + 0.02 * (gap + 1))

    def costs(a: np.ndarray, b: np.ndarray, c, gap: np.ndarray, climbs: np.ndarray, low=None) -> np.ndarray:
        """Cost of reaching run b (in column c) from run a, ``gap`` columns earlier (``climbs``:
        :func:`rises`; ``low``: the far runs' ``stair`` rows, else a are near runs); arrays
        broadcast together."""
        ra, rb, ca1 = row[a], row[b], c - gap
        dy = np.maximum(np.maximum(top[b] - bot[a], top[a] - bot[b]) - 1, 0)
        e_a = ecum[ra, c] - ecum[ra, ca1]
        e_b = ecum[rb, c] - ecum[rb, ca1]
        n_empty = np.minimum(e_a, e_b)
        # a drop is drawn: below the hidden stair from a's column to b's, its bare rows beyond a
        # dash's gap cost like a gap over bare paper, not like a hidden drop; from one column to
        # the next, the bare paper in both columns beyond a dash's gap does
        y0 = np.minimum(bot[a] + 1, h)
        y1 = np.maximum(top[b], y0)
        if low is None:
            v_next = np.minimum(vcum[y1, c] - vcum[y0, c], vcum[y1, ca1 - 1] - vcum[y0, ca1 - 1])
            v_empty = np.where(gap == 0, v_next, y1 - near[a, gap + 1])
        else:
            v_empty = y1 - low
        return (COST_OCCLUDED_GAP * gap + (COST_EMPTY_GAP - COST_OCCLUDED_GAP) * n_empty + COST_JUMP * dy
                + (COST_EMPTY_GAP - COST_JUMP) * np.maximum(v_empty - dash_gap, 0) + FORBIDDEN * climbs)

    # the costs from the runs of the SHORT_GAP previous columns do not depend on the scores:
    # computed for many columns at once, (near runs x column runs) blocks in one flat array
    cols = np.unique(col)
    i0s, i1s = starts[cols], starts[cols + 1]
    j0s = starts[np.maximum(cols - SHORT_GAP, 0)]
    nbs = i1s - i0s
    sizes = (i0s - j0s) * nbs
    offsets = np.r_[0, np.cumsum(sizes)]
    chunk_end, near_cost, base = 0, np.empty(0), 0
    # python ints for the per-column bookkeeping (numpy scalars are slow)
    for ci, (c, i0, i1, j0, o0, o1) in enumerate(zip(cols.tolist(), i0s.tolist(), i1s.tolist(), j0s.tolist(),
                                                      offsets[:-1].tolist(), offsets[1:].tolist())):
        if ci == chunk_end:   # next chunk of columns
            chunk_end = max(ci + 1, int(np.searchsorted(offsets, o0 + NEAR_PAIRS_PER_CHUNK, "right")) - 1)
            chunk_end = min(chunk_end, cols.size)
            m = sizes[ci:chunk_end]
            pc = np.repeat(np.arange(ci, chunk_end), m)   # per pair: its column's index in cols
            q = np.arange(int(m.sum())) - (offsets[pc] - o0)
            pa, pb = j0s[pc] + q // nbs[pc], i0s[pc] + q % nbs[pc]
            gap = cols[pc] - col[pa] - 1
            near_cost = costs(pa, pb, cols[pc], gap, rises(pa, gap, pb))
            base = o0
        start_score = -COST_LATE_START * max(0, c - start_col)
        score = best[j0:i0, None] - near_cost[o0 - base:o1 - base].reshape(i0 - j0, i1 - i0)
        sbest = score.max(axis=0, initial=-np.inf)
        floor = np.maximum(sbest, start_score)
        lo = max(0, c - max_gap - 1)
        while stair_col <= c:   # far runs' stairs through the columns up to c
            x, e = stair_col, stair_col - SHORT_GAP - 1   # e: a column becoming far
            if e >= 0:
                stair[e] = near[col_best[e], SHORT_GAP]   # (-1: no run, never looked up)
            f0 = max(0, x - max_gap - 1)
            if e >= f0:
                stair[f0:e + 1] = below[stair[f0:e + 1], x]
            stair_col += 1
        far = col_best[lo:max(lo, c - SHORT_GAP)].ravel()
        valid = far >= 0
        far = far[valid]
        if far.size:
            # a far run can only be a run's best predecessor if it does not climb to it and if,
            # as every cost is at least COST_OCCLUDED_GAP per skipped column, its score can reach
            # the best from near runs or a fresh start: only those far runs are scored (exact: every
            # possible maximiser is kept, in the same order)
            gap = c - col[far] - 1
            bound = best[far] - COST_OCCLUDED_GAP * gap
            ok = bound >= floor.min()
            far, gap, bound = far[ok], gap[ok], bound[ok]
            low = stair[lo:max(lo, c - SHORT_GAP)].ravel()[valid][ok]
        if far.size:
            b = np.arange(i0, i1)[None, :]
            climbs = rises(far[:, None], gap[:, None], b)
            # and a drop below the hidden stair costs at least as in :func:`costs`
            hidden = np.maximum(top[i0:i1][None, :] - low[:, None] - dash_gap, 0)
            ok = ((bound[:, None] - (COST_EMPTY_GAP - COST_JUMP) * hidden >= floor[None, :]) & ~climbs).any(axis=1)
            far, gap, climbs, low = far[ok], gap[ok], climbs[ok], low[ok]
        if far.size:
            score = np.concatenate([best[far][:, None] - costs(far[:, None], b, c, gap[:, None], climbs,
                                                               low[:, None]), score])
            sbest = score.max(axis=0)
            k = np.concatenate([far, np.arange(j0, i0)])[np.argmax(score, axis=0)]
        elif i0 > j0:
            k = j0 + np.argmax(score, axis=0)
        if far.size or i0 > j0:
            use_pred = sbest > start_score
            best[i0:i1] = 1.0 + np.where(use_pred, sbest, start_score)
            pred[i0:i1] = np.where(use_pred, k, -1)
        else:
            best[i0:i1] = 1.0 + start_score
        if i1 - i0 == 1:
            col_best[c, 0] = i0
        else:
            keep = np.argsort(-best[i0:i1])[:KEEP_PER_COLUMN]
            col_best[c, :keep.size] = keep + i0
    end = int(np.argmax(best))
    path = [end]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return np.asarray(path[::-1], np.int64)


def hidden_foot(path: Runs, line_width: float, cover: np.ndarray, max_row: float, min_share: float = 0.5
                ) -> float | None:
    """Row (pixels) where a curve whose trace ends with a drop lands, when the drop runs on
    hidden under other curves' ink drawn over it, or None.

    A trace that ends in a column whose run is taller than the line (``line_width`` + 2 px) and
    starts at the line (not above it: a censor mark) ends with a drop; if the rows right below
    its foot (within a line width and a pixel) are covered (``cover``: bool map of ink that can
    hide the curve) the drop may go on unseen, and the curve's last plateau lies somewhere in
    that column's covered rows (above ``max_row``: the x axis). A plateau hidden there stays
    covered in the columns to its right: the rows whose covered stretch to the right reaches at
    least ``min_share`` of the longest one's are the candidates, and their middle row is
    returned (None where no row stays covered for more than the line's width: the drop ended).
    """
    if len(path) < 2:
        return None
    c, top, bot = int(path.col[-1]), int(path.top[-1]), int(path.bot[-1])
    h, w = cover.shape
    stop = min(h, int(np.floor(max_row)))
    if bot - top + 1 <= line_width + 2.0 or bot + 1 >= stop or c + 1 >= w:
        return None
    # a drop leaves from the line: a run sticking out above the last plateau column's ink is a
    # censor mark at the curve's end (its lower half hidden)
    flat = np.flatnonzero(path.bot[:-1] - path.top[:-1] + 1 <= line_width + 2.0)
    if flat.size == 0 or top < path.top[flat[-1]] - 1:
        return None
    # the covered rows below the foot: the foot's own ink may fade out a pixel or two before
    # the other ink begins (anti-aliasing, JPEG)
    below = cover[bot + 1:stop, c]
    first = int(np.argmax(below))
    if not below[first] or first > line_width + 1.0:
        return None
    n = int(np.argmin(below[first:])) if not below[first:].all() else below.size - first
    y0 = bot + 1 + first
    # covered columns right of c along each of those rows, up to the first uncovered one
    right = cover[y0:y0 + n, c + 1:]
    reach = np.where(right.all(axis=1), w - 1 - c, np.argmin(right, axis=1))
    longest = int(reach.max())
    if longest <= line_width + 2.0:
        return None
    ok = np.flatnonzero(reach >= min_share * longest)
    return y0 + 0.5 * float(ok[0] + ok[-1])
