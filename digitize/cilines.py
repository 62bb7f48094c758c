"""Pointwise confidence limits drawn as lines in an arm's own colour (raster figures).

Base R ``plot(survfit, conf.int=TRUE)`` and many journals draw each arm's 95 % confidence
limits as two more step lines in the arm's colour (R: in the curve's own line type). General
property of such a drawing: the KM estimate is the MIDDLE of three same-coloured step lines
that never cross it - the upper limit is at or above the estimate at every time, the lower at
or below - and all three start together at S = 1. A colour is taken for an estimate with its
limits when its ink shows three separate vertical runs per column over long stretches of
neighbouring columns (plateaus drawn three times); then in every column of three or more runs
the topmost run is the upper limit and the bottommost the lower one, and along a limit line the
runs of neighbouring columns touch, so the labels carry through columns where one line is
hidden or two lines merge (a merged run touches both, and is kept for the tracer: it holds the
estimate too).

Dashed or dotted limits (base R draws them in the curve's own line type: ``lty = c(1, 2, 3)``
gives a dashed arm dashed limits): their dash gaps break the stretches of three runs. Given the
style's gap (``gap``, pixels: digitize.linestyle.gap_length), the stacking is judged on the ink
widened along rows by the gap either side (a plateau's dashes become one line, and on a steep
stretch - dashes going down like stairs, none in some columns - each line keeps ink in every
column; never across rows, which would merge lines stacked closer than a gap). Widened dashes
and drops stack more runs in a column, so there a column of three or more runs counts, and the
tops and bottoms are seeded only in stretches of such columns; each real run takes the label of
the widened run holding it.

The labels are lost where lines merge over a stretch or a dashed line's gaps interleave with
another's (72 dpi: an estimate two pixels above its lower limit), and the trace then follows a
limit. The order of the three lines holds in every column, though: ``middle_line`` takes, column
by column, the middle of three chains traced one after the other on the colour's ink
(digitize.extract._middle_of_three), whichever line each chain follows there.

The vector reader has the same mechanism on drawn paths (digitize.vector.roles.split_strands,
drop_confidence_lines); this is its raster counterpart on the tracer's column runs
(digitize.trace.Runs). Pixels: crop rows/columns as in digitize.extract.
"""
from __future__ import annotations

import numpy as np

from digitize.trace import Runs

#: a colour is an estimate with its confidence limits when at least this share of the columns
#: holding its ink show three separate runs (a single curve shows one, a censor mark or a drop
#: merges into the line's run)
MIN_TRIPLE_SHARE = 0.25
#: ... and at least this many such columns (pixels)
MIN_TRIPLE_COLUMNS = 20
#: ... counted in stretches of at least this many neighbouring columns (pixels)
MIN_STRETCH = 12

#: the three chains of middle_line must start within this many columns of each other ...
START_SLACK = 20
#: ... or this share of their span (pixels both); a chain starting later must start within
#: BRANCH_ROWS_LW line widths plus BRANCH_ROWS pixels of another chain's row (branching off it)
START_SLACK_SHARE = 0.05
BRANCH_ROWS_LW, BRANCH_ROWS = 2.0, 3.0

_NONE, _UPPER, _LOWER, _MIDDLE, _MIXED = 0, 1, 2, 3, 4


def limit_runs(runs: Runs, min_share: float = MIN_TRIPLE_SHARE, gap: int = 0) -> np.ndarray:
    """Bool per run: True for runs lying on an outer confidence-limit line (to be left out of
    the estimate's trace); all False when the colour's ink is not three stacked step lines.
    ``gap``: a dashed/dotted style's gap between pieces (pixels), bridged along rows before the
    stacking is judged; 0 for solid lines."""
    if gap > 0 and len(runs) >= 3:
        return _bridged_limit_runs(runs, min_share, int(gap))
    return _limit_runs(runs, min_share)


def _bridged_limit_runs(runs: Runs, min_share: float, gap: int) -> np.ndarray:
    """limit_runs on the runs' ink widened by ``gap`` pixels either side along rows."""
    import cv2

    from digitize.trace import column_runs, run_pixels

    h, w = int(runs.bot.max()) + 1, int(runs.col.max()) + 1
    m = np.zeros((h, w), np.uint8)
    rows, cols, _ = run_pixels(runs.col, runs.top, runs.bot)
    m[rows, cols] = 1
    filled = cv2.dilate(m, np.ones((1, 2 * gap + 1), np.uint8)) > 0
    bridged = column_runs(filled, filled.astype(np.float32))
    lab = _limit_runs(bridged, min_share, stretch_seeds=True)
    if not lab.any():
        return np.zeros(len(runs), bool)
    # each real run lies inside one widened run of its column (widening only adds ink)
    index = np.full((h, w), -1, np.int64)
    rr, cc, starts = run_pixels(bridged.col, bridged.top, bridged.bot)
    index[rr, cc] = np.repeat(np.arange(len(bridged)), np.diff(np.r_[starts, rr.size]))
    j = index[runs.top, runs.col]
    return np.where(j >= 0, lab[np.maximum(j, 0)], False)


def _limit_runs(runs: Runs, min_share: float, stretch_seeds: bool = False) -> np.ndarray:
    """limit_runs on the runs as given; ``stretch_seeds``: label tops and bottoms only in the
    columns of the stretches of three runs (elsewhere by touching)."""
    n = len(runs)
    out = np.zeros(n, bool)
    if n < 3:
        return out
    col = runs.col
    cols, start, count = np.unique(col, return_index=True, return_counts=True)
    triple = count >= 3
    # three lines run on together along plateaus: stretches of neighbouring columns with three
    # runs each, at least MIN_STRETCH columns long (text in the arm's colour - a label, a
    # number beside the curve - stacks runs only within a glyph's width)
    three = np.zeros(int(cols.max()) + 2, bool)
    # (bridged dashes: three or more - a dashed drop shows several runs in its column)
    three[cols[count >= 3 if stretch_seeds else count == 3]] = True
    edges = np.flatnonzero(np.diff(np.r_[0, three.astype(np.int8), 0]))
    lengths = edges[1::2] - edges[::2]
    long_ = lengths >= MIN_STRETCH
    in_stretches = int(lengths[long_].sum())
    if in_stretches < max(MIN_TRIPLE_COLUMNS, min_share * cols.size):
        return out
    if stretch_seeds:
        seeded = np.zeros_like(three)
        for a, b in zip(edges[::2][long_].tolist(), edges[1::2][long_].tolist()):
            seeded[a:b] = True
        triple = seeded[cols]
    lab = np.full(n, _NONE, np.int8)
    # seeds: in columns of three or more runs (runs are sorted top to bottom within a column),
    # the topmost is the upper limit, the bottommost the lower one, the rest the estimate
    for s, c in zip(start[triple].tolist(), count[triple].tolist()):
        lab[s] = _UPPER
        lab[s + c - 1] = _LOWER
        lab[s + 1:s + c - 1] = _MIDDLE
    # carry the labels along touching runs of neighbouring columns (both directions, until
    # nothing changes): a run touching only upper-limit runs is the upper limit; one touching
    # the estimate too is where lines merge, and stays
    pos = {c: (s, s + k) for c, s, k in zip(cols.tolist(), start.tolist(), count.tolist())}
    top, bot = runs.top, runs.bot
    for _ in range(4):
        changed = False
        for order in (cols.tolist(), cols[::-1].tolist()):
            for c in order:
                s0, s1 = pos[c]
                todo = [i for i in range(s0, s1) if lab[i] == _NONE]
                if not todo:
                    continue
                for i in todo:
                    seen = set()
                    for d in (-1, 1):
                        nb = pos.get(c + d)
                        if nb is None:
                            continue
                        j = np.arange(nb[0], nb[1])
                        touch = j[(top[j] <= bot[i] + 1) & (bot[j] >= top[i] - 1)]
                        seen.update(int(v) for v in lab[touch] if v in (_UPPER, _LOWER, _MIDDLE))
                    if not seen:
                        continue
                    if seen == {_UPPER} or seen == {_LOWER}:
                        lab[i] = seen.pop()
                    else:
                        lab[i] = _MIXED
                    changed = True
        if not changed:
            break
    out[(lab == _UPPER) | (lab == _LOWER)] = True
    return out


def middle_line(runs: Runs, chains: list[np.ndarray], line_width: float) -> np.ndarray:
    """Indices (into ``runs``) of the middle of three step lines, column by column.

    ``chains``: three disjoint traced chains of the colour's ink (indices into ``runs``, left to
    right), each following one of the lines where it can. The estimate and its two limits never
    cross (upper >= estimate >= lower), so in every column where all three chains are defined
    (a chain is interpolated across the columns it skips), the chain at the middle row is on the
    estimate - whichever line each chain follows there, and even where a chain hops from one
    line to another where they touch. That chain's run is taken; else another chain's run within
    a line width of the middle row (lines merged there); else the column is skipped (the
    estimate is hidden there). Past the columns all three reach, the estimate is followed by
    continuity. Empty when a chain neither starts with the others nor branches off one (not three lines).
    Pixels: rows and columns of ``runs``."""
    if len(chains) != 3 or any(c.size < 2 for c in chains):
        return np.empty(0, np.int64)
    col, cen = runs.col, runs.cen
    # all three lines start together at S = 1 and part later: a chain starting late must start
    # on another chain (where its line leaves the line it ran merged with); chains that do not
    # are not the three lines (other ink of the colour, or a line lost early) and nothing is
    # taken from them
    starts = [int(col[c[0]]) for c in chains]
    span = max(int(col[c[-1]]) for c in chains) - min(starts)
    for k, c in enumerate(chains):
        if starts[k] - min(starts) <= max(START_SLACK, START_SLACK_SHARE * span):
            continue
        off = [abs(float(np.interp(starts[k], col[o], cen[o])) - float(cen[c[0]]))
               for j, o in enumerate(chains) if j != k and starts[j] <= starts[k]]
        if not off or min(off) > BRANCH_ROWS_LW * line_width + BRANCH_ROWS:
            return np.empty(0, np.int64)
    lo = max(starts)
    hi = min(int(col[c[-1]]) for c in chains)
    if hi <= lo:
        return np.empty(0, np.int64)
    cols = np.arange(lo, hi + 1)
    rows = np.stack([np.interp(cols, col[c], cen[c]) for c in chains])      # (3, ncols)
    at = np.full((3, cols.size), -1, np.int64)
    for k, c in enumerate(chains):
        inside = (col[c] >= lo) & (col[c] <= hi)
        at[k, col[c[inside]] - lo] = c[inside]
    mid = np.argsort(rows, axis=0, kind="stable")[1]
    mid_row = rows[mid, np.arange(cols.size)]
    pick = at[mid, np.arange(cols.size)]
    tol = line_width + 1.0
    for k in range(3):
        near = (pick < 0) & (at[k] >= 0) & (np.abs(cen[np.maximum(at[k], 0)] - mid_row) <= tol)
        pick[near] = at[k][near]
    out = pick[pick >= 0]
    # past the last column all three chains reach, the lines left are followed column by
    # column by continuity (the chains hop between lines where they touch, so which chain ends
    # says nothing of which line ends): the run of a chain reaching further that touches the
    # estimate's row (within a line width; a drop's run reaches down from it), else none there
    at_col = [dict(zip(col[c].tolist(), c.tolist())) for c in chains]
    last = max(int(col[c[-1]]) for c in chains)
    y = float(mid_row[-1])
    tail = []
    for c in range(hi + 1, last + 1):
        cand = [d[c] for d in at_col if c in d]
        if not cand:
            continue
        gap = [max(float(runs.top[j]) - y, y - float(runs.bot[j]), 0.0) for j in cand]
        k = int(np.argmin(gap))
        if gap[k] > tol:
            continue
        j = cand[k]
        tail.append(j)
        y = max(float(cen[j]), float(runs.bot[j]) - 0.5 * line_width)
    if tail:
        out = np.r_[out, np.asarray(tail, np.int64)]
    return out
