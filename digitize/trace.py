"""Column-by-column tracing of one curve through its ink mask.

Each image column's ink is split into vertical runs (connected segments). The curve is the chain
of runs, at most one per column, that covers the most columns while respecting what a KM curve
can do: it never rises (in pixels: y never decreases beyond a noise tolerance), it moves down
through drawn vertical segments, and it may vanish only where something else lies on top
(another curve, a legend, text: non-paper pixels). Gaps over bare paper are expensive, so the
trace ends where the drawn curve ends instead of jumping to a legend swatch. The chain is found
by dynamic programming over the runs (a longest-path problem on a DAG ordered by column),
vectorised per column with numpy.
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
    m = np.zeros((w, h + 2), np.int8)
    m[:, 1:-1] = mask.T
    d = np.diff(m, axis=1)
    sc, sr = np.nonzero(d == 1)      # start rows (in run coordinates: row index of first True)
    ec, er = np.nonzero(d == -1)     # one past the last True
    top, bot = sr, er - 1
    wt = np.clip(np.asarray(weight, np.float32), 0.0, 1.0).T
    rows = np.arange(h, dtype=np.float64)
    cw = np.zeros((w, h + 1))
    cy = np.zeros((w, h + 1))
    np.cumsum(wt, axis=1, out=cw[:, 1:])
    np.cumsum(wt * rows, axis=1, out=cy[:, 1:])
    lo = np.maximum(top - 1, 0)
    hi = np.minimum(bot + 1, h - 1) + 1
    ws = cw[sc, hi] - cw[sc, lo]
    ys = cy[sc, hi] - cy[sc, lo]
    cen = np.where(ws > 1e-6, ys / np.maximum(ws, 1e-6), 0.5 * (top + bot))
    return Runs(sc.astype(np.int64), top.astype(np.int64), bot.astype(np.int64), cen, ws)


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


def trace_path(
    runs: Runs,
    empty: np.ndarray,
    *,
    line_width: float,
    max_gap: int,
    start_col: int = 0,
) -> np.ndarray:
    """Indices (into ``runs``) of the best curve chain, left to right.

    empty: bool (H, W), True where the paper is bare (a curve there would be visible).
    line_width: ink thickness in pixels (noise tolerance for "never rises").
    max_gap: widest run of skipped columns considered (pixels).
    """
    n = len(runs)
    if n == 0:
        return np.empty(0, np.int64)
    h, w = empty.shape
    ecum = np.zeros((h, w + 1), np.int32)
    np.cumsum(empty, axis=1, out=ecum[:, 1:])
    col, top, bot, cen = runs.col, runs.top, runs.bot, runs.cen
    row = np.clip(np.rint(cen).astype(np.int64), 0, h - 1)
    best = np.full(n, -np.inf)
    pred = np.full(n, -1, np.int64)
    up_tol0 = max(1.2, 0.5 * line_width)
    starts = np.searchsorted(col, np.arange(w + 1), side="left")
    # long gaps are bridged from the best few runs of each earlier column only (keeps the work
    # per column small); short gaps from every run
    col_best = np.full((w, KEEP_PER_COLUMN), -1, np.int64)
    for c in np.unique(col):
        i0, i1 = starts[c], starts[c + 1]
        b = np.arange(i0, i1)
        start_score = -COST_LATE_START * max(0, c - start_col)
        lo = max(0, c - max_gap - 1)
        mid = max(lo, c - SHORT_GAP)
        j0 = starts[mid]
        far = col_best[lo:mid].ravel()
        a = np.concatenate([far[far >= 0], np.arange(j0, i0)])
        if a.size == 0:
            best[b] = 1.0 + start_score
            keep = b[np.argsort(-best[b])][:KEEP_PER_COLUMN]
            col_best[c, :keep.size] = keep
            continue
        ca = col[a][:, None]
        gap = c - ca - 1
        ta, ba, ya, ra = top[a][:, None], bot[a][:, None], cen[a][:, None], row[a][:, None]
        tb, bb, yb, rb = top[b][None, :], bot[b][None, :], cen[b][None, :], row[b][None, :]
        dy = np.maximum(np.maximum(tb - ba, ta - bb) - 1, 0)
        rises = (ya - yb) > (up_tol0 + 0.02 * (gap + 1))
        e_a = ecum[ra, c] - ecum[ra, ca + 1]
        e_b = ecum[rb, c] - ecum[rb, ca + 1]
        n_empty = np.minimum(e_a, e_b)
        cost = (COST_OCCLUDED_GAP * gap + (COST_EMPTY_GAP - COST_OCCLUDED_GAP) * n_empty
                + COST_JUMP * dy + FORBIDDEN * rises)
        score = best[a][:, None] - cost
        k = np.argmax(score, axis=0)
        sbest = score[k, np.arange(b.size)]
        use_pred = sbest > start_score
        best[b] = 1.0 + np.where(use_pred, sbest, start_score)
        pred[b] = np.where(use_pred, a[k], -1)
        keep = b[np.argsort(-best[b])][:KEEP_PER_COLUMN]
        col_best[c, :keep.size] = keep
    end = int(np.argmax(best))
    path = [end]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return np.asarray(path[::-1], np.int64)
