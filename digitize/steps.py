"""From a traced curve to a right-continuous, non-increasing step function with both corners of
every drop.

Level per column: on a plateau the line's coverage-weighted centre row; in a column crossed by a
vertical drop (a run taller than the line) the level entering is the run's top + half the line
width and the level leaving is its bottom - half the line width. A drop at column x_d is drawn
``line_width`` columns wide, so the value at x is read as the mean of the leaving level at
x - h and the entering level at x + h (h = (line_width - 1) / 2), which puts the step exactly at
x_d. Monotonicity is then enforced in data units by isotonic regression (least squares, pool-
adjacent-violators), which is better than a running minimum at spreading noise.
"""
from __future__ import annotations

import numpy as np

from digitize.trace import Runs

#: a steep stretch is read row by row (:func:`steep_walls`) when it drops at least this many line
#: widths + 2 px per column: walls, whose rows hold little else; in a staircase of small drops
#: each row is mostly a plateau's line, whose ink centre is no drop's column
WALL_DROP_PER_COLUMN = 2.0
#: ... and when at least this share of its rows crosses walls (the rest hidden by other curves, or
#: plateau lines)
WALL_ROWS = 2.0 / 3.0


def _tall(path: Runs, line_width: float, centred: np.ndarray | None) -> np.ndarray:
    """Columns crossed by a drop: run taller than the line by more than 2 px, not a centred mark."""
    tall = (path.bot - path.top + 1) > float(line_width) + 2.0
    if centred is not None:
        tall &= ~np.asarray(centred, bool)
    return tall


def drop_columns(path: Runs, line_width: float, centred: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(drop, plateau, level) per traced column: drops drawn across a few columns.

    A drop drawn ``line_width`` px wide crosses at most about line_width + 1 consecutive columns
    (anti-aliasing adds one) whose runs are taller than the line; their level mixes the entering
    and leaving ones and is no plateau. ``drop`` flags such short runs of tall columns between
    plateau columns when they share their top or bottom row (leaving them out puts the drop
    midway between the plateau columns either side); a longer run, or one whose rows move from
    column to column, is a steep stretch and is not flagged.
    Drops less than a line width apart touch: a run of tall columns that splits into walls, each
    ending where the next begins (:func:`_touching_walls`), or whose top and bottom rows step
    down wall by wall (:func:`_overlapping_walls`), is that many drops; a column next to
    each gap is kept as the plateau between them, at sub-pixel row ``level`` (NaN elsewhere) --
    unless a column spans all the rows: then the drops are one wall (several events at one
    time). A dashed drop's columns get rows in ``level`` too (:func:`_dashed_walls`).
    ``plateau`` numbers (1, 2, ...; 0 elsewhere) the plateaus narrower than line_width + 2
    columns between two flagged or dashed drops, or jumps (runs of adjacent columns that do not
    touch: the drop's own columns were not traced), and those middle columns: each is a real
    plateau (one event), however short.
    """
    col = np.asarray(path.col)
    n = col.size
    level = np.full(n, np.nan)
    if n < 3:
        return np.zeros(n, bool), np.zeros(n, int), level
    lw = float(line_width)
    tall = _tall(path, lw, centred)
    adjacent = np.diff(col) == 1
    top, bot = np.asarray(path.top), np.asarray(path.bot)
    # a drop whose own columns were not traced: the runs of two adjacent columns do not touch
    jump = (top[1:] > bot[:-1] + 1) | (bot[1:] < top[:-1] - 1)
    cut = np.flatnonzero((tall[1:] != tall[:-1]) | ~adjacent | jump) + 1
    starts, ends = np.r_[0, cut], np.r_[cut - 1, n - 1]
    length = ends - starts + 1
    # runs with adjacent columns on both sides (not the path's ends, not next to a gap or a
    # censor mark)
    bounded = np.r_[False, adjacent][starts] & np.r_[adjacent, False][ends]
    if centred is not None:
        mark = np.r_[True, np.asarray(centred, bool), True]
        bounded &= ~mark[starts] & ~mark[ends + 2]
    # one plateau shares its top and bottom rows (within 1 px) across its columns, one drop (a
    # vertical wall, partly covered in its edge column) at least one of them; a steep slope of
    # small drops moves both from column to column
    same_top = np.maximum.reduceat(top, starts) - np.minimum.reduceat(top, starts) <= 1
    same_bot = np.maximum.reduceat(bot, starts) - np.minimum.reduceat(bot, starts) <= 1
    pad = np.r_[False, tall, False]   # tall runs between plateau columns (not split by a jump)
    walls = tall[starts] & bounded & ~pad[starts] & ~pad[ends + 2]
    is_drop = walls & (same_top | same_bot) & (length <= lw + 1.0)
    for r in np.flatnonzero(walls & ~is_drop):
        mids = _touching_walls(top, bot, starts[r], ends[r], lw)
        if mids is None:
            mids = _overlapping_walls(top, bot, starts[r], ends[r], lw)
        if mids is not None:
            is_drop[r] = True
            for c, row in mids:
                level[c] = row
    run = np.repeat(np.arange(starts.size), length)
    drop = is_drop[run]
    m = np.flatnonzero(~np.isnan(level))   # the plateau columns between touching walls
    drop[m] = False
    wall = _dashed_walls(path, tall, drop | ~np.isnan(level), lw)
    dashed = ~np.isnan(wall)
    level = np.where(dashed, wall, level)
    # a drop, a dashed one or a jump before the run and after it
    after = np.r_[False, is_drop[:-1] | jump[ends[:-1]]] | np.r_[False, dashed][starts]
    before = np.r_[is_drop[1:] | jump[ends[:-1]], False] | np.r_[dashed, False][ends + 1]
    between = (~tall[starts] & bounded & same_top & same_bot & after & before & (length < lw + 2.0)
               & (np.add.reduceat(dashed, starts) == 0))
    plateau = np.where(between, np.arange(1, starts.size + 1), 0)[run]
    plateau[m] = n + 1 + np.arange(m.size)
    return drop, plateau, level


def _touching_walls(top: np.ndarray, bot: np.ndarray, s: int, e: int, lw: float
                    ) -> list[tuple[int, float]] | None:
    """Tall columns s..e (between plateau columns) as touching walls: drops closer than a line
    width with no plateau column between them. A wall is a run of at most line_width + 1
    consecutive columns sharing their top or bottom row (within 1 px; a wall at a sub-pixel
    position is drawn across two columns, one of them partly covered); each next wall begins
    at the row where the last column of the one before ends.
    Returns per gap between walls (column, row) of the plateau between them: the column of the
    wider wall next to the gap (the later one's on a tie) takes the level, so that each wall
    becomes one drop, not a staircase of its columns' mid-run levels. Walls are at least
    line_width + 2 px tall (twice that unless two walls, the first sharing its top row, the
    second its top and bottom rows). An empty list: the run is one wall (such two walls with
    a column spanning both: several events at one time). None: no touching walls (a steep
    stretch)."""
    cols = np.arange(s, e + 1)
    k = 1   # the first wall's columns share the top row, the second's their top and bottom rows
    while s + k <= e and np.ptp(top[s:s + k + 1]) <= 1:
        k += 1
    two = (s + k <= e and np.ptp(top[s + k:e + 1]) <= 1 and np.ptp(bot[s + k:e + 1]) <= 1
           and max(k, e + 1 - s - k) <= lw + 1.0)
    if two and np.any((top[cols] <= top[s:s + k].min() + 1)
                      & (bot[cols] >= bot[s + k:e + 1].max() - 1)):
        return []
    split = np.flatnonzero((np.abs(np.diff(top[cols])) > 1) & (np.abs(np.diff(bot[cols])) > 1)) + s + 1
    first, last = np.r_[s, split], np.r_[split - 1, e]
    size = last - first + 1
    if first.size < 2 or size.max() > lw + 1.0:
        return None
    # the row each wall after the first begins at; the last column of the wall before it ends
    # there (the plateau line's bottom row, line_width - 1 below its top) -- for such two walls
    # the first's shortest column
    mid = np.array([top[a:b + 1].min() for a, b in zip(first[1:], last[1:])], float)
    meet = np.abs(bot[last[:-1]] - mid) <= max(1.0, lw - 1.0)
    if two:
        meet |= abs(bot[s:s + k].min() - mid[0]) <= 1
    # each wall taller than the line (else columns of a steep staircase of small drops share
    # rows by chance): by twice that unless the first wall's columns share the top row and the
    # second's their top and bottom rows
    rows = np.r_[top[cols].min(), mid, bot[cols].max()]
    if not meet.all() or np.any(np.diff(rows) < (1.0 if two else 2.0) * (lw + 2.0)):
        return None
    take = np.where(size[:-1] > size[1:], last[:-1], first[1:])
    return [(int(c), float(m) - 0.5 + lw / 2.0) for c, m in zip(take, mid)]


def _overlapping_walls(top: np.ndarray, bot: np.ndarray, s: int, e: int, lw: float
                       ) -> list[tuple[int, float]] | None:
    """Tall columns s..e (between plateau columns s - 1 and e + 1) as walls of drops so close
    (under about a line width apart) that they overlap, so that no column splits them
    (:func:`_touching_walls`). A drop at column x drawn ``lw`` px wide moves the run's bottom
    row down to the next plateau's where the wall begins (x - lw / 2) and its top row where the
    wall ends (x + lw / 2): the top and bottom rows step down by the same plateaus, jump k of
    the bottom lw (-1 .. +2) columns before jump k of the top. Each jump is taller than the
    line (lw + 2 px); between jumps the rows stay within a pixel (rotation) and each plateau is
    a line thick (bottom - top + 1 within 2 px of lw). Returns (column, row) per plateau between
    two drops: the column midway between them, at the plateau's sub-pixel centre row; None
    when the rows do not step so (a steep stretch)."""
    t, b = top[s - 1:e + 2].astype(float), bot[s - 1:e + 2].astype(float)
    dt, db = np.diff(t), np.diff(b)
    jt, jb = np.flatnonzero(dt > 1), np.flatnonzero(db > 1)
    if jt.size < 2 or jt.size != jb.size or np.any(dt < -1) or np.any(db < -1) \
            or np.any(dt[jt] < lw + 2.0) or np.any(db[jb] < lw + 2.0):
        return None
    span = jt - jb   # columns each wall covers
    if np.any(span < lw - 1.0) or np.any(span > lw + 2.0):
        return None
    # plateau k's top and bottom rows: between top (bottom) jumps k - 1 and k
    pt = [t[a:z + 1] for a, z in zip(np.r_[0, jt + 1], np.r_[jt, t.size - 1])]
    pb = [b[a:z + 1] for a, z in zip(np.r_[0, jb + 1], np.r_[jb, b.size - 1])]
    if any(np.ptp(p) > 1 for p in pt + pb) or any(
            abs(q.max() - p.min() + 1.0 - lw) > 2.0 for p, q in zip(pt, pb)):
        return None
    x = s - 1 + 0.5 * (jt + jb) + 0.5   # drop columns (between the wall's first and last)
    mid = np.floor(0.5 * (x[:-1] + x[1:]) + 0.5).astype(int)
    if np.any(np.diff(np.r_[s - 1, mid, e + 1]) < 1):
        return None
    # a plateau's centre row: midway between the one entering it from its top row and the one
    # leaving it from its bottom row (column_levels), as no column holds it alone
    return [(int(c), 0.5 * float(p.mean() + q.mean())) for c, p, q in zip(mid, pt[1:-1], pb[1:-1])]


def _dashed_walls(path: Runs, tall: np.ndarray, taken: np.ndarray, lw: float) -> np.ndarray:
    """Sub-pixel row per column of a dashed drop (NaN elsewhere).

    A dashed vertical line crosses at most line_width + 1 columns; the tracer keeps one run per
    column there -- one of its dashes, a piece left by a curve crossing it, a censor mark at its
    foot or top -- whose own levels would make a staircase of several drops. A window of at
    most line_width + 1 columns (``col`` span, untraced ones included) around columns taller
    than the line (``tall``), between the plateau columns before and after it (not taller than
    the line, maybe a dash gap away; a centred mark's level is its centre) at rows A above and
    B below (B - A >= line_width + 2 pixels), whose runs lie within the plateaus' rows, with a
    vertical gap between two consecutive runs (a solid wall's runs touch) and no column not
    taller than the line level (within a pixel) with A or B or fainter than half a line (a
    fleck of a steep solid stretch), is one dashed drop: its columns left of the window's
    centre take level A, those right of it B (a middle column the mean), so the step comes out
    as one drop at the centre. Of several windows around the same tall columns, those whose
    plateau columns are level with the next plateau column out (a piece of the wall, or a mark
    holding part of it, is no plateau) and of them the narrowest whose drop is within a line
    width of the tallest one's (a column just off the wall's level is a plateau's: a steep
    staircase) is taken. ``taken`` columns (a solid drop's, :func:`drop_columns`) are in none."""
    col, top, bot, cen = path.col, path.top, path.bot, path.cen
    n = col.size
    out = np.full(n, np.nan)
    width = lw + 1.0
    flat = ~np.asarray(tall, bool)
    cum = np.r_[0, np.cumsum(taken)]
    dash = np.r_[top[1:] > bot[:-1] + 1, False]   # a gap between the runs of columns i and i + 1
    # column i + 1 is a plateau's with column i (adjacent, level within a pixel)
    steady = np.r_[(np.diff(col) == 1) & (np.abs(np.diff(cen)) <= 1.0) & flat[1:] & flat[:-1], False]
    # only tall columns with such a gap nearby can be in a window
    k = int(width) + 1
    gaps = np.r_[0, np.cumsum(dash[:-1])]
    i = np.arange(n)
    near = gaps[np.minimum(i + k, n - 1)] > gaps[np.maximum(i - k, 0)]
    seeds = np.flatnonzero(tall & ~taken & near)
    done = -1
    for j in seeds:
        if j <= done:
            continue
        found = []   # (steady plateau ends, B - A, columns - 1, a, b, A, B) of windows around j
        a = j
        while a > max(done, 0) and col[j] - col[a] + 1 <= width:
            b = j
            while b <= n - 2 and col[b] - col[a] + 1 <= width:
                p, q = a - 1, b + 1
                if flat[p] and flat[q] and cum[q] == cum[a]:
                    A, B = float(cen[p]), float(cen[q])
                    seg = slice(a, b + 1)
                    level = flat[seg] & ((np.abs(cen[seg] - A) <= 1.0) | (np.abs(cen[seg] - B) <= 1.0)
                                         | (path.weight[seg] < 0.5 * lw))
                    if (B - A >= lw + 2.0 and not level.any()
                            and top[seg].min() >= top[p] - 1 and bot[seg].max() <= bot[q] + 1
                            and dash[p:b + 1].any()):
                        found.append((int(steady[p - 1]) + int(steady[q]), B - A, b - a, a, b, A, B))
                b += 1
            a -= 1
        if not found:
            continue
        most = max(f[0] for f in found)
        found = [f for f in found if f[0] == most]
        most = max(f[1] for f in found)
        _, _, _, a, b, A, B = min((f for f in found if f[1] >= most - lw), key=lambda f: f[2])
        side = np.sign(col[a:b + 1] - 0.5 * (col[a] + col[b]))
        out[a:b + 1] = np.where(side < 0, A, np.where(side > 0, B, 0.5 * (A + B)))
        done = b
    return out


def gapped_walls(path: Runs, drop: np.ndarray) -> np.ndarray:
    """The ``drop`` columns (from :func:`drop_columns`) of walls with a vertical gap between
    consecutive columns' runs: a dashed drop, each column's run one dash, whose ends are no
    levels. A solid drop drawn across a few columns (a steep staircase, anti-aliasing) has
    touching runs whose ends are the plateaus' levels."""
    drop = np.asarray(drop, bool)
    n = drop.size
    if n < 2 or not drop.any():
        return np.zeros(n, bool)
    gap = np.zeros(n + 1, bool)   # between column i - 1 and i
    gap[1:n] = (path.top[1:] > path.bot[:-1] + 1) & (path.col[1:] == path.col[:-1] + 1)
    start = np.flatnonzero(drop & ~np.r_[False, drop[:-1]])
    end = np.flatnonzero(drop & ~np.r_[drop[1:], False])
    out = np.zeros(n, bool)
    for s, e in zip(start, end):
        if gap[s:e + 2].any():
            out[s:e + 1] = True
    return out


def column_levels(path: Runs, line_width: float, centred: np.ndarray | None = None,
                  drop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) centre-line pixel per traced column (x = column, y = sub-pixel row).

    ``centred`` flags columns whose run is symmetric about the line (censor marks drawn centred
    on the curve): their level is the run's weighted centre, not a drop. ``drop`` flags
    columns whose run ends are no levels (a dashed drop's traced run is one dash:
    :func:`gapped_walls`): their entering and leaving levels are the plateaus' either side.
    """
    x = path.col.astype(float)
    if x.size == 0:
        return x, x.copy()
    lw = float(line_width)
    tall = _tall(path, lw, centred)
    y_in = np.where(tall, path.top - 0.5 + lw / 2.0, path.cen)
    y_out = np.where(tall, path.bot + 0.5 - lw / 2.0, path.cen)
    if drop is not None and drop.any() and not drop.all():
        keep = np.flatnonzero(~np.asarray(drop, bool))
        i = np.arange(x.size)
        prev = keep[np.maximum(np.searchsorted(keep, i, side="right") - 1, 0)]
        nxt = keep[np.minimum(np.searchsorted(keep, i, side="left"), keep.size - 1)]
        y_in, y_out = np.where(drop, y_out[prev], y_in), np.where(drop, y_in[nxt], y_out)
    y_out = np.maximum(y_out, y_in)
    h = max(0.0, (lw - 1.0) / 2.0)
    level = 0.5 * (np.interp(x - h, x, y_out) + np.interp(x + h, x, y_in))
    if tall[-1]:
        level[-1] = y_out[-1]   # the curve ends with a drop (last patient had the event)
    return x, level


def isotonic_non_increasing(s: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares non-increasing fit (pool-adjacent-violators, via scipy, as reconstruct's
    preprocessing uses it too)."""
    from scipy.optimize import isotonic_regression

    y = np.asarray(s, float)
    if y.size == 0:
        return y.copy()
    return isotonic_regression(y, weights=weights, increasing=False).x


def step_corners(t: np.ndarray, s: np.ndarray, min_step: float, min_width: float = 0.0,
                 plateau: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Step corners from per-column samples (t increasing, s already non-increasing).

    Levels closer than ``min_step`` (survival units; sub-pixel noise) are merged into one
    plateau (mean). Plateaus shorter than ``min_width`` (time units; about a line width, where
    a drawn vertical line hides them) spanning less than that between two longer
    ones are the drop's own columns: they become a single drop, placed to keep the area under
    them (at their centre for a level midway; a drop's columns left out of ``t`` next to them, a
    gap of at most 1.5 min_width, count as theirs).
    Samples sharing a ``plateau`` number > 0 (per sample: a short plateau between two drops)
    form one level, kept however narrow. Each drop yields two corners at the same time.
    Returns (time, survival) from the first sample to the last one.
    """
    t = np.asarray(t, float)
    s = np.asarray(s, float)
    if t.size == 0:
        return t.copy(), s.copy()
    label = np.zeros(t.size, int) if plateau is None else np.asarray(plateau, int)
    # clusters of nearly equal consecutive levels: [t_first, t_last, sum_s, n, plateau number]
    cl: list[list[float]] = []
    for ti, si, li in zip(t, s, label):
        if cl and (abs(cl[-1][2] / cl[-1][3] - si) < min_step or 0 < li == cl[-1][4]):
            cl[-1][1] = ti
            cl[-1][2] += si
            cl[-1][3] += 1
            cl[-1][4] = cl[-1][4] or li
        else:
            cl.append([ti, ti, si, 1, li])
    m = len(cl)
    first = np.array([c[0] for c in cl])
    last = np.array([c[1] for c in cl])
    level = np.array([c[2] / c[3] for c in cl])
    narrow = ((last - first) < min_width) & ~np.array([bool(c[4]) for c in cl])
    narrow[0] = narrow[-1] = False
    keep = np.ones(m, bool)
    forced: dict[int, float] = {}   # kept cluster index -> boundary time before it
    centre = 0.5 * (first + last)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0   # sample spacing (one column)
    i = 1
    while i < m - 1:
        if not narrow[i]:
            i += 1
            continue
        j = i
        while j + 1 < m - 1 and narrow[j + 1]:
            j += 1
        # narrow levels i..j between two plateaus: one drop drawn across a few columns becomes a
        # single drop at their centre; a longer staircase (a steep stretch) is kept
        lo = last[i - 1] + dt if first[i] - last[i - 1] <= 1.5 * min_width else first[i]
        hi = first[j + 1] - dt if first[j + 1] - last[j] <= 1.5 * min_width else last[j]
        if j == i or hi - lo < min_width:
            keep[i:j + 1] = False
            # the drop goes where the step keeps the area under those levels: their centre for
            # a level midway, their end for one within noise of the level before
            mean = sum(c[2] for c in cl[i:j + 1]) / sum(c[3] for c in cl[i:j + 1])
            gone = (level[i - 1] - mean) / (level[i - 1] - level[j + 1]) if level[i - 1] > level[j + 1] else 0.5
            forced[j + 1] = hi - float(np.clip(gone, 0.0, 1.0)) * (hi - lo)
        i = j + 1
    first = np.where(narrow, centre, first)
    last = np.where(narrow, centre, last)
    idx = np.nonzero(keep)[0]
    times: list[float] = [first[idx[0]]]
    surv: list[float] = [level[idx[0]]]
    for a, b in zip(idx[:-1], idx[1:]):
        tb = forced.get(b, 0.5 * (last[a] + first[b]))
        times += [tb, tb]
        surv += [level[a], level[b]]
    times.append(last[idx[-1]])
    surv.append(level[idx[-1]])
    time = np.asarray(times)
    survival = np.minimum.accumulate(np.asarray(surv))
    if time.size >= 2 and time[-1] == time[-2] and survival[-1] == survival[-2]:
        time, survival = time[:-1], survival[:-1]
    return time, survival


def steep_walls(path: Runs, ink: np.ndarray, line_width: float, taken: np.ndarray,
                centred: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(level, flat) for the columns of short steep stretches, read row by row from the ink.

    A stretch is a few traced columns taller than the line between two plateau columns p and q
    (rows A, B: their runs' centres; at most 2 (line_width + 1) + 2 columns between them, and B - A
    at least WALL_DROP_PER_COLUMN (line_width + 2) px per column between them), none
    of them ``taken`` (a flagged, touching or dashed drop's) nor a ``centred`` mark. Column by
    column its runs mix walls with their neighbours' anti-aliasing and JPEG ringing, and a curve
    crossing a wall leaves only part of it traced, so that their mid-run levels make a staircase
    (one drop read as two or three, placed a column off). Row by row the wall is found where it
    is: every row strictly between the plateau lines puts its drop at the coverage-weighted
    column of the arm's ``ink`` (crop map, coverage 0-1) over the columns p..q (symmetric
    ringing keeps that centre; rows hidden by a crossing curve, or inked across more than
    line_width + 2 columns, take their neighbours' column), made non-decreasing down the rows;
    unless fewer than WALL_ROWS of the rows are such wall rows. A column's level is then the
    step's mean over it (pixel rows, area-preserving: a wall inside it gives a level between,
    :func:`step_corners` puts the drop back where it was); ``flat`` marks the stretch's columns
    no wall crosses (a plateau between walls, however short), whose level is the step's at the
    column's centre. NaN / False outside stretches."""
    n = len(path)
    level = np.full(n, np.nan)
    flat = np.zeros(n, bool)
    if n < 3:
        return level, flat
    lw = float(line_width)
    tall = _tall(path, lw, centred)
    free = tall & ~np.asarray(taken, bool)
    ends = np.flatnonzero(~tall)   # plateau columns
    h = ink.shape[0]
    for p, q in zip(ends[:-1], ends[1:]):
        A, B = float(path.cen[p]), float(path.cen[q])
        c0, c1 = int(path.col[p]) + 1, int(path.col[q]) - 1
        span = c1 - c0 + 1
        if (q - p < 2 or not free[p + 1:q].all() or span > 2.0 * (lw + 1.0) + 2.0
                or B - A < WALL_DROP_PER_COLUMN * (lw + 2.0) * span):
            continue
        rows = np.arange(int(np.floor(A + 0.5 * lw)) + 1, int(np.ceil(B - 0.5 * lw)))
        rows = rows[(rows >= 0) & (rows < h)]
        if rows.size < 2:
            continue
        cov = np.clip(ink[rows][:, c0 - 1:c1 + 2], 0.0, 1.0)   # and the plateau columns' ringing
        wsum = cov.sum(axis=1)
        # rows crossing a wall (with its ringing): ink in a few columns; a row inked further
        # across is a plateau's line (a staircase, or marks along it), its centre no wall's
        ok = (wsum >= 0.3) & ((cov > 0).sum(axis=1) <= lw + 2.0)
        if ok.sum() < WALL_ROWS * rows.size:
            continue
        x = (cov @ np.arange(c0 - 1, c1 + 2, dtype=float))[ok] / wsum[ok]
        x = -isotonic_non_increasing(-np.interp(rows, rows[ok], x))
        per_row = (B - A) / rows.size   # pixel rows of drop each ink row stands for
        j = np.arange(p + 1, q)
        c = path.col[j].astype(float)[:, None]
        # a short plateau's line spreads its rows' ink over the columns between its walls (its
        # centre comes out between them): fewer rows than a drop at a column is no wall there
        flat[j] = (np.abs(x[None, :] - c) < 0.5).sum(axis=1) < lw + 2.0
        mean = np.clip(c + 0.5 - x[None, :], 0.0, 1.0).sum(axis=1)
        at = (x[None, :] < c).sum(axis=1) + 0.5 * (x[None, :] == c).sum(axis=1)
        level[j] = A + per_row * np.where(flat[j], at, mean)
    return level, flat
