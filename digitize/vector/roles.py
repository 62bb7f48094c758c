"""Roles of a page's drawing (:class:`~digitize.vector.objects.PageDrawing`) in KM figures:
axes (tick marks + their numeric labels), curves (staircase paths, one style per arm), censor
marks (small glyphs on a curve), legend (swatch + text) and number-at-risk table (rows of
integers under the x axis, labelled by text).

All geometry is in PDF points, y up. Every rule names the property of KM figures it relies on:

* a tick label is a number printed next to a short straight tick on the axis; the ticks'
  positions and the printed values fit one straight line exactly (linear axes);
* a KM curve is a staircase: its edges are horizontal or vertical and it never rises;
* a censor mark is a glyph much smaller than the plot drawn on its arm's curve;
* a legend entry is a short line in the arm's style with its text just to its right;
* a number-at-risk row is a row of integers at x positions that map to times on the x axis,
  under the plot, with its label to the left.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from digitize.vector.objects import PageDrawing, VPath, VText

_NUM = re.compile(r"^[\(\[]?\s*([-+\u2212]?\d[\d,]*(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+\u2212]?\.\d+)\s*(%?)\s*[\)\]]?$")


def parse_number(text: str) -> tuple[float, bool] | None:
    """'0.25' -> (0.25, False); '80%' -> (80, True); '1,000' -> 1000; anything else None."""
    m = _NUM.match(text.strip())
    if not m:
        return None
    s = m.group(1).replace("\u2212", "-").replace(",", "")
    try:
        return float(s), bool(m.group(2))
    except ValueError:
        return None


# --------------------------------------------------------------------------- edges

@dataclass(frozen=True)
class Edge:
    """A straight stroked segment (points)."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    rgb: tuple[int, int, int]

    @property
    def horizontal(self) -> bool:
        return abs(self.y1 - self.y0) <= 1e-3 * max(1.0, abs(self.x1 - self.x0)) and self.x0 != self.x1

    @property
    def vertical(self) -> bool:
        return abs(self.x1 - self.x0) <= 1e-3 * max(1.0, abs(self.y1 - self.y0)) and self.y0 != self.y1

    @property
    def length(self) -> float:
        return float(np.hypot(self.x1 - self.x0, self.y1 - self.y0))


def edges_of(path: VPath) -> list[Edge]:
    """Straight edges of a stroked path (closing edges of closed subpaths included)."""
    if path.stroke is None or path.curved:
        return []
    out = []
    for sub in path.subpaths:
        pts = np.vstack([sub, sub[:1]]) if path.closed and len(sub) > 2 else sub
        for a, b in zip(pts[:-1], pts[1:]):
            if np.hypot(*(b - a)) > 1e-6:
                out.append(Edge(float(a[0]), float(a[1]), float(b[0]), float(b[1]), path.width, path.stroke))
    return out


# --------------------------------------------------------------------------- axes

@dataclass
class Axis:
    """One calibrated axis: tick positions (points along the axis: x for the time axis, y for
    the survival axis) with their printed values, the tick line's far/near ends across it."""

    kind: str                      # "x" | "y"
    pos: np.ndarray                # tick positions (points)
    values: np.ndarray             # printed values
    cross: float                   # where the ticks meet the axis (y for "x", x for "y")
    labels: list[VText]
    percent: bool = False
    from_ticks: bool = True        # False: positions are label centres (no tick marks drawn)
    titles: list[VText] = field(default_factory=list)   # axis title text (units)

    @property
    def slope(self) -> float:
        return float(np.polyfit(self.pos, self.values, 1)[0])

    def value_at(self, p):
        a, b = np.polyfit(self.pos, self.values, 1)
        return a * np.asarray(p, float) + b

    def pos_of(self, v):
        a, b = np.polyfit(self.pos, self.values, 1)
        return (np.asarray(v, float) - b) / a

    @property
    def step(self) -> float:
        return float(np.median(np.diff(np.sort(self.values)))) if self.values.size > 1 else 1.0


def _numeric_runs(texts: list[VText], rotated: bool = False) -> list[tuple[VText, float, bool]]:
    """Numbers printed horizontally (or also turned a quarter, as base R's survival-axis labels)."""
    out = []
    for t in texts:
        a = t.angle % 360.0
        flat = min(a, 360.0 - a) <= 1
        if not (flat or rotated and min(abs(a - 90), abs(a - 270)) <= 1):
            continue
        p = parse_number(t.text)
        if p is not None:
            out.append((t, p[0], p[1]))
    return out


def _rows(items, key, tol) -> list[list]:
    """Group items whose key() values lie within tol of the group's first item."""
    groups: list[list] = []
    for it in sorted(items, key=key):
        if groups and abs(key(it) - key(groups[-1][0])) <= tol(it):
            groups[-1].append(it)
        else:
            groups.append([it])
    return groups


def _fits_line(pos: np.ndarray, vals: np.ndarray) -> bool:
    """Printed values are a linear function of position (to 0.2 % of the axis span)."""
    if pos.size < 2 or np.ptp(vals) == 0 or np.ptp(pos) == 0 or len(set(vals.tolist())) < pos.size:
        return False
    a, b = np.polyfit(pos, vals, 1)
    return float(np.max(np.abs(a * pos + b - vals))) <= 2e-3 * float(np.ptp(vals))


def _x_tick_for(label: VText, ticks: list[Edge]) -> Edge | None:
    """The vertical tick just above a time-axis label, centred on it."""
    h = label.box[3] - label.box[1]
    w = label.box[2] - label.box[0]
    best, bd = None, None
    for e in ticks:
        x = 0.5 * (e.x0 + e.x1)
        lo = min(e.y0, e.y1)
        gap = lo - label.box[3]
        if abs(x - label.cx) <= 0.5 * w + 0.25 * h and -0.5 * h <= gap <= 2.5 * h:
            d = abs(x - label.cx) + abs(gap)
            if bd is None or d < bd:
                best, bd = e, d
    return best


def _y_tick_for(label: VText, ticks: list[Edge]) -> Edge | None:
    """The horizontal tick just right of a survival-axis label, level with it."""
    h = label.box[3] - label.box[1]
    best, bd = None, None
    for e in ticks:
        y = 0.5 * (e.y0 + e.y1)
        lo = min(e.x0, e.x1)
        gap = lo - label.box[2]
        if abs(y - label.cy) <= 0.6 * h and -0.5 * h <= gap <= 2.5 * h:
            d = abs(y - label.cy) + abs(gap)
            if bd is None or d < bd:
                best, bd = e, d
    return best


def _axis_from(kind: str, group, ticks: list[Edge]) -> Axis | None:
    """An axis from a row (x) or column (y) of numeric labels: with ticks when each label has
    one (exact), else from the label centres (close: labels are centred on their ticks)."""
    find = _x_tick_for if kind == "x" else _y_tick_for
    pairs = [(t, v, pc, find(t, ticks)) for t, v, pc in group]
    with_tick = [p for p in pairs if p[3] is not None]
    if len(with_tick) >= 2:
        e = [p[3] for p in with_tick]
        pos = np.array([0.5 * (t.x0 + t.x1) if kind == "x" else 0.5 * (t.y0 + t.y1) for t in e])
        # the axis side of the tick: the end away from the labels
        cross = float(np.median([max(t.y0, t.y1) if kind == "x" else max(t.x0, t.x1) for t in e]))
        vals = np.array([p[1] for p in with_tick])
        if _fits_line(pos, vals):
            return Axis(kind, pos, vals, cross, [p[0] for p in with_tick],
                        any(p[2] for p in with_tick), True)
    pos = np.array([t.cx if kind == "x" else t.cy for t, _, _ in group])
    vals = np.array([v for _, v, _ in group])
    if len(group) >= 3 and _fits_line(pos, vals):
        labels = [t for t, _, _ in group]
        cross = (max(t.box[3] for t in labels) + 0.5 * labels[0].size if kind == "x"
                 else max(t.box[2] for t in labels) + 0.5 * labels[0].size)
        return Axis(kind, pos, vals, float(cross), labels, any(pc for _, _, pc in group), False)
    return None


def _increasing(items) -> list[list]:
    """Split labels in reading order where the printed value stops increasing: side-by-side
    plots put two time axes on one row, stacked plots two survival axes in one column."""
    runs: list[list] = []
    for it in items:
        if runs and it[1] > runs[-1][-1][1]:
            runs[-1].append(it)
        else:
            runs.append([it])
    return [r for r in runs if len(r) >= 2]


def find_axes(drawing: PageDrawing) -> tuple[list[Axis], list[Axis]]:
    """Every labelled time axis (a row of numbers under ticks) and survival axis (a column of
    numbers left of ticks) on the page."""
    edges = [e for p in drawing.paths for e in edges_of(p)]
    short = max(3.0, 0.03 * max(drawing.width, drawing.height))
    vt = [e for e in edges if e.vertical and e.length <= short]
    ht = [e for e in edges if e.horizontal and e.length <= short]
    nums = _numeric_runs(drawing.texts)
    xs, ys = [], []
    for row in _rows(nums, key=lambda it: it[0].baseline, tol=lambda it: 0.3 * it[0].size):
        for run in _increasing(sorted(row, key=lambda it: it[0].cx)):
            ax = _axis_from("x", run, vt)
            if ax is not None:
                xs.append(ax)
    cols = _rows(_numeric_runs(drawing.texts, rotated=True), key=lambda it: it[0].box[2],
                 tol=lambda it: 0.6 * it[0].size)
    for col in cols:
        for run in _increasing(sorted(col, key=lambda it: it[0].cy)):
            ax = _axis_from("y", run, ht)
            if ax is not None and ax.slope > 0:
                ys.append(ax)
    return xs, ys


def is_survival_axis(ax: Axis) -> bool:
    """Printed values span part of 0-1 (or 0-100 %): a probability axis."""
    lo, hi = float(ax.values.min()), float(ax.values.max())
    top = 100.0 if (ax.percent or hi > 1.5) else 1.0
    return lo >= -1e-9 and hi <= top * 1.0001 and hi - lo >= 0.2 * top


# --------------------------------------------------------------------------- panels

@dataclass
class Panel:
    """A plot: its time and survival axes and the rectangle (points) curves live in."""

    x: Axis
    y: Axis
    rect: tuple[float, float, float, float]   # x0, y0, x1, y1 (points, y up)

    @property
    def percent(self) -> bool:
        return self.y.percent or float(self.y.values.max()) > 1.5

    def contains(self, x, y, pad: float = 0.0) -> np.ndarray:
        x0, y0, x1, y1 = self.rect
        return (x >= x0 - pad) & (x <= x1 + pad) & (y >= y0 - pad) & (y <= y1 + pad)


def pair_axes(xs: list[Axis], ys: list[Axis]) -> list[Panel]:
    """Each survival axis with the time axis just under it, the plot between them."""
    panels = []
    for y in ys:
        if not is_survival_axis(y):
            continue
        below = [x for x in xs if x.cross <= y.pos.min() + 1e-6
                 and x.pos.max() > y.cross and x.pos.min() >= y.cross - 0.5 * np.ptp(x.pos)]
        if not below:
            continue
        x = min(below, key=lambda a: y.pos.min() - a.cross)
        if y.pos.min() - x.cross > 0.5 * np.ptp(y.pos) + 50:
            continue
        top_v = 100.0 if (y.percent or y.values.max() > 1.5) else 1.0
        y_top = max(float(y.pos.max()), float(y.pos_of(top_v)))
        x_hi = float(x.pos.max()) + 0.25 * float(np.ptp(x.pos))
        rect = (y.cross - 1.0, x.cross - 1.0, x_hi, y_top + 0.06 * np.ptp(y.pos) + 1.0)
        panels.append(Panel(x, y, rect))
    panels.sort(key=lambda p: (-p.rect[3], p.rect[0]))
    return panels


# --------------------------------------------------------------------------- curves & marks

@dataclass
class Curve:
    """One arm as drawn: its style and its staircase pieces (point arrays, page points)."""

    rgb: tuple[int, int, int]
    width: float
    dash: tuple[float, ...]
    pieces: list[np.ndarray] = field(default_factory=list)
    marks: list[tuple[float, float]] = field(default_factory=list)   # glyph centres (points)
    name: str | None = None
    group: int = -1        # curves split from one style's pieces share a group (split_strands)
    clipped: bool = False  # part of it runs outside the plot region (cut at the clip path)

    @property
    def key(self):
        return (self.rgb, round(self.width, 2), self.dash)

    def corners(self) -> np.ndarray:
        """All vertices, ordered along the staircase (time up, then survival down)."""
        p = np.vstack(self.pieces)
        order = np.lexsort((-p[:, 1], p[:, 0]))
        p = p[order]
        keep = np.ones(len(p), bool)
        keep[1:] = np.any(np.abs(np.diff(p, axis=0)) > 1e-6, axis=1)
        return p[keep]

    def y_at(self, x: float) -> tuple[float, float]:
        """(lowest, highest) y of the curve at x: a vertical edge spans a range, a slanted one
        (matplotlib merges a drop and a tiny step) is interpolated; before the start and after
        the end, the first and last level."""
        ys = []
        for p in self.pieces:
            x0, x1 = p[:-1, 0], p[1:, 0]
            hit = (np.minimum(x0, x1) <= x + 1e-6) & (np.maximum(x0, x1) >= x - 1e-6)
            for i in np.nonzero(hit)[0]:
                (ax, ay), (bx, by) = p[i], p[i + 1]
                if abs(bx - ax) <= 1e-6:
                    ys += [ay, by]
                else:
                    ys.append(ay + (by - ay) * (x - ax) / (bx - ax))
        if not ys:
            c = self.corners()
            ys = [float(c[0, 1])] if x < c[0, 0] else [float(c[-1, 1])]
        return float(min(ys)), float(max(ys))


def _is_staircase(pts: np.ndarray) -> bool:
    """Never rising as time goes on, edges horizontal or vertical (a KM curve). Edges shorter
    than half a point may be slanted: matplotlib's path simplification merges a drop and a
    tiny step into one edge."""
    d = np.diff(pts, axis=0)
    if len(d) == 0:
        return False
    if d[:, 0].sum() < 0:
        d = -d
    axis_aligned = (np.abs(d[:, 0]) <= 1e-3) | (np.abs(d[:, 1]) <= 1e-3) | (np.abs(d[:, 0]) <= 0.5)
    return bool(axis_aligned.all() and (d[:, 0] >= -1e-3).all() and (d[:, 1] <= 1e-3).all())


def _glyph_size(panel: Panel) -> float:
    x0, y0, x1, y1 = panel.rect
    return max(4.0, 0.06 * min(x1 - x0, y1 - y0))


def _text_right_of(x: float, y: float, texts: list[VText], reach: float) -> VText | None:
    cands = [t for t in texts if t.box[0] >= x - 0.5 and t.box[0] - x <= reach
             and abs(t.cy - y) <= 0.6 * max(t.size, t.box[3] - t.box[1])
             and t.text not in ("+", "|")]
    return min(cands, key=lambda t: t.box[0] - x) if cands else None


def _clip_segment(a: np.ndarray, b: np.ndarray, box) -> tuple[np.ndarray, np.ndarray] | None:
    """Liang-Barsky: the part of segment a-b inside box (x0, y0, x1, y1), or None."""
    d = b - a
    t0, t1 = 0.0, 1.0
    for p_, q_ in ((-d[0], a[0] - box[0]), (d[0], box[2] - a[0]), (-d[1], a[1] - box[1]), (d[1], box[3] - a[1])):
        if abs(p_) < 1e-12:
            if q_ < 0:
                return None
            continue
        t = q_ / p_
        if p_ < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return a + t0 * d, a + t1 * d


def clip_polyline(pts: np.ndarray, box) -> list[np.ndarray]:
    """The visible runs of a polyline inside its clip box (a KM curve drawn on past a truncated
    axis is cut where the plot region ends)."""
    runs: list[list] = []
    for a, b in zip(pts[:-1], pts[1:]):
        seg = _clip_segment(a, b, box)
        if seg is None or np.hypot(*(seg[1] - seg[0])) < 1e-9 and not np.array_equal(a, b):
            continue
        if runs and np.hypot(*(runs[-1][-1] - seg[0])) <= 1e-6:
            runs[-1].append(seg[1])
        else:
            runs.append([seg[0], seg[1]])
    return [np.asarray(r_) for r_ in runs if len(r_) >= 2]


def _visible(p: VPath) -> list[np.ndarray]:
    """Subpaths cut to the path's clip box (all of them when it has none or is a glyph)."""
    if p.clip is None:
        return p.subpaths
    e = 0.01       # points: coordinates and clip boxes are float32 (a curve at the top edge)
    box = (p.clip[0] - e, p.clip[1] - e, p.clip[2] + e, p.clip[3] + e)
    out = []
    for s_ in p.subpaths:
        out.extend(clip_polyline(s_, box) if len(s_) > 1 else [])
    return out


def _frame_line(pts: np.ndarray, panel: Panel) -> bool:
    """A single straight line that is part of the axes: it lies on an axis line, starts on the
    axis line across it (grid lines, frame sides) or crosses most of the plot."""
    (ax, ay), (bx, by) = pts
    x, y = panel.x, panel.y
    if abs(ay - by) <= 1e-3:
        return (abs(ay - x.cross) <= 1.5 or min(ax, bx) <= y.cross + 1.0
                or abs(bx - ax) >= 0.9 * (panel.rect[2] - panel.rect[0]))
    if abs(ax - bx) <= 1e-3:
        return (abs(ax - y.cross) <= 1.5 or min(ay, by) <= x.cross + 1.0
                or abs(by - ay) >= 0.9 * (panel.rect[3] - panel.rect[1]))
    return False


def _chain(segs: list[VPath]) -> list[tuple[np.ndarray, list[int]]] | None:
    """Segments sharing endpoints (to 0.01 pt) -> the polylines they form, each with its
    segments' indices; None when they branch (three segments meeting: not a curve)."""
    key = lambda q: (round(float(q[0]), 2), round(float(q[1]), 2))  # noqa: E731
    adj: dict = {}
    for i, sg in enumerate(segs):
        a, b = key(sg.subpaths[0][0]), key(sg.subpaths[0][-1])
        adj.setdefault(a, []).append((i, b))
        adj.setdefault(b, []).append((i, a))
    if any(len(v) > 2 for v in adj.values()):
        return None
    used: set[int] = set()
    out = []
    for start in sorted(k for k, v in adj.items() if len(v) == 1):
        if any(i in used for i, _ in adj[start]):
            continue
        line, idx, node = [start], [], start
        while True:
            nxt = [(i, o) for i, o in adj[node] if i not in used]
            if not nxt:
                break
            i, node = nxt[0]
            used.add(i)
            idx.append(i)
            line.append(node)
        out.append((np.asarray(line, float), idx))
    return out


def chain_segments(paths: list[VPath], min_segments: int = 3) -> list[VPath]:
    """Curves drawn one segment per path (Stata, some SAS and Excel exports): segments of one
    style that join end to end into a chain of at least ``min_segments`` become one path. A
    censor mark's strokes cross at their middles, so they never chain and stay as they are."""
    groups: dict = {}
    out = []
    for p in paths:
        if (p.stroke is not None and not p.in_form and not p.closed and not p.curved
                and len(p.subpaths) == 1 and len(p.subpaths[0]) == 2):
            groups.setdefault((p.stroke, round(p.width, 2), p.dash), []).append(p)
        else:
            out.append(p)
    for segs in groups.values():
        chains = (_chain(segs) or []) if len(segs) >= min_segments else []
        long = [(pts, idx) for pts, idx in chains if len(idx) >= min_segments]
        merged = {i for _, idx in long for i in idx}
        if long:
            p0 = segs[0]
            out.append(VPath([pts for pts, _ in long], p0.stroke, p0.fill, p0.width, p0.dash,
                             clip=p0.clip))
        out.extend(sg for i, sg in enumerate(segs) if i not in merged)
    return out


def _small_forms(paths: list[VPath], size: float) -> set[int]:
    """Form XObjects no bigger than a glyph (matplotlib draws each marker as one); a whole
    figure placed in a journal page as a form is not one of them."""
    boxes: dict[int, list] = {}
    for p in paths:
        if p.in_form:
            boxes.setdefault(p.form_id, []).append(p.bbox)
    out = set()
    for fid, bs in boxes.items():
        b = np.asarray(bs)
        if max(b[:, 2].max() - b[:, 0].min(), b[:, 3].max() - b[:, 1].min()) <= size:
            out.add(fid)
    return out


def split_paths(drawing: PageDrawing, panel: Panel):
    """Stroked paths inside the panel -> (curve pieces by style, marker forms, small paths,
    legend swatches).

    A piece is a curve piece when it is a staircase longer than a glyph; a small path is a
    glyph (censor mark); a short horizontal line with text right of it is a legend swatch
    (wherever it is); grid lines (one edge across the whole plot) are dropped."""
    g = _glyph_size(panel)
    x0, y0, x1, y1 = panel.rect
    curves: dict = {}
    glyphs: list[tuple[tuple, tuple]] = []        # (bbox, colour): marker forms
    strokes: list[tuple[tuple, tuple]] = []       # (bbox, colour): small single paths
    swatches: list[tuple[VPath, VText]] = []
    forms: dict[int, list[VPath]] = {}
    texts = [t for t in drawing.texts if abs(t.angle) <= 1]
    marker_forms = _small_forms(drawing.paths, g)
    for p in chain_segments(drawing.paths):
        if p.stroke is None and p.fill is None:
            continue
        bx0, by0, bx1, by1 = p.bbox
        w, h = bx1 - bx0, by1 - by0
        pts = p.points
        if p.form_id in marker_forms:          # a marker symbol placed as a form XObject
            forms.setdefault(p.form_id, []).append(p)
            continue
        if p.stroke is not None and h <= 1e-3 and 0 < w <= 0.25 * (x1 - x0) and len(p.subpaths) == 1:
            t = _text_right_of(bx1, by0, texts, 3.0 * g + 10)
            if t is not None:
                swatches.append((p, t))
                continue
        vis = np.vstack(_visible(p)) if p.clip is not None and _visible(p) else pts
        inside = panel.contains(vis[:, 0], vis[:, 1], pad=0.5 * p.width + 1.0)
        if not inside.all():
            continue
        if max(w, h) <= g:
            strokes.append(((bx0, by0, bx1, by1), p.stroke or p.fill))
            continue
        if p.stroke is None or p.curved:
            continue
        if len(p.subpaths) == 1 and len(pts) <= 4 and any(
                _frame_line(pts[i:i + 2], panel) for i in range(len(pts) - 1)):
            continue                                     # axis, grid or frame line (base R's L box)
        if p.closed:
            continue                                     # frames, boxes
        subs = [s_ for s_ in p.subpaths if len(s_) > 1]
        if not subs or not all(_is_staircase(s_) for s_ in subs):
            continue
        key = (p.stroke, round(p.width, 2), p.dash)
        c = curves.setdefault(key, Curve(p.stroke, p.width, p.dash))
        vis = _visible(p)
        c.clipped |= sum(len(v) for v in vis) != sum(len(s_) for s_ in subs) or any(
            not np.allclose(v[[0, -1]], s_[[0, -1]]) for v, s_ in zip(vis, subs))
        c.pieces.extend(s_ if s_[0, 0] <= s_[-1, 0] else s_[::-1] for s_ in vis)
    for parts in forms.values():                         # a form XObject drawn as a marker
        b = np.array([q.bbox for q in parts])
        box = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        if max(box[2] - box[0], box[3] - box[1]) <= g:
            cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
            if panel.contains(np.array([cx]), np.array([cy]))[0]:
                glyphs.append((box, parts[0].stroke or parts[0].fill))
    return list(curves.values()), glyphs, strokes, swatches


def text_glyphs(drawing: PageDrawing, panel: Panel) -> list[tuple[tuple, tuple]]:
    """Censor marks printed as characters ('+', '|') inside the panel: their ink boxes (and
    glyph-sized text objects whose character pdfium dropped, see objects._unread_glyphs)."""
    out = []
    g = _glyph_size(panel)
    for t in drawing.texts:
        unread = t.text == "" and max(t.box[2] - t.box[0], t.box[3] - t.box[1]) <= g
        if (t.text in ("+", "|", "\u2502", "\u00d7", "x") or unread) and panel.contains(
                np.array([0.5 * (t.ink[0] + t.ink[2])]), np.array([t.cy]))[0]:
            out.append((t.ink, t.rgb))
    return out


def _merge_glyphs(glyphs, strokes=()):
    """Glyphs -> one centre per censor mark. ``glyphs`` (text characters, marker forms) are one
    mark each. ``strokes`` are single paths: base R draws the two strokes of a '+' as two
    paths centred on one point (to the 0.01 pt its coordinates are written with), so a
    horizontal and a vertical stroke of one colour centred within 0.011 pt are one mark."""
    out = [(0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]), max(b[2] - b[0], b[3] - b[1]), tuple(c))
           for b, c in glyphs]
    merged: list[list] = []      # [x, y, size, colour, orientations]
    for b, c in sorted(strokes, key=lambda bc: bc[0][0] + bc[0][2]):
        x, y = 0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])
        size, kind = max(b[2] - b[0], b[3] - b[1]), "h" if b[2] - b[0] >= b[3] - b[1] else "v"
        for m in merged[-8:]:
            if (m[3] == tuple(c) and kind not in m[4] and abs(m[0] - x) <= 0.011
                    and abs(m[1] - y) <= 0.011):
                m[2] = max(m[2], size)
                m[4].add(kind)
                break
        else:
            merged.append([x, y, size, tuple(c), {kind}])
    return out + [tuple(m[:4]) for m in merged]


def attach_marks(curves: list[Curve], glyphs, strokes=()) -> int:
    """Give each glyph to the curve of its colour that passes through it; returns how many
    glyphs matched no curve (legend markers, stray symbols)."""
    lost = 0
    for cx, cy, s, col in _merge_glyphs(glyphs, strokes):
        cands = [c for c in curves if c.rgb == tuple(col)] or curves
        best, bd = None, None
        for c in cands:
            lo, hi = c.y_at(cx)
            d = 0.0 if lo - 1e-6 <= cy <= hi + 1e-6 else min(abs(cy - lo), abs(cy - hi))
            if bd is None or d < bd:
                best, bd = c, d
        if best is not None and bd <= 0.75 * s + 0.5:
            best.marks.append((cx, cy))
        else:
            lost += 1
    return lost


def strands(pieces: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Pieces of one style -> curves: a KM curve drawn in several pieces continues where the
    last piece ended (same point), and its pieces never overlap in time; pieces overlapping in
    time are different curves (an estimate and its confidence limits in one style)."""
    out: list[list[np.ndarray]] = []
    for p in sorted(pieces, key=lambda q: float(q[0, 0])):
        for st in out:
            end = st[-1][-1]
            if p[0, 0] >= end[0] - 1e-3 and (np.hypot(*(p[0] - end)) <= 0.05 or p[0, 0] > end[0] + 1e-3
                                              and p[0, 1] <= end[1] + 1e-3):
                st.append(p)
                break
        else:
            out.append([p])
    return out


def _mean_height(pieces: list[np.ndarray], x0: float, x1: float) -> float:
    """Mean y of a staircase over [x0, x1] (points)."""
    p = np.vstack(pieces)
    p = p[np.lexsort((-p[:, 1], p[:, 0]))]
    grid = np.linspace(x0, x1, 64)
    idx = np.clip(np.searchsorted(p[:, 0], grid, side="right") - 1, 0, len(p) - 1)
    return float(np.mean(p[idx, 1]))


def split_strands(curves: list[Curve]) -> list[Curve]:
    """A style holding three overlapping curves is an estimate with its two confidence limits
    in the same line (base R plot.survfit(conf.int=TRUE)): keep the middle one. Other
    overlapping curves of one style become separate arms."""
    out = []
    for c in curves:
        st = strands(c.pieces)
        if len(st) == 1:
            out.append(c)
            continue
        if len(st) == 3:
            lo = max(float(s_[0][0, 0]) for s_ in st)
            hi = min(float(s_[-1][-1, 0]) for s_ in st)
            if hi > lo:
                h = [_mean_height(s_, lo, hi) for s_ in st]
                st = [st[int(np.argsort(h)[1])]]
        for s_ in st:
            out.append(Curve(c.rgb, c.width, c.dash, list(s_), group=id(c), clipped=c.clipped))
    return out


def drop_unmarked_strands(curves: list[Curve]) -> list[Curve]:
    """Of curves drawn in one style, censor marks sit on the estimate, never on its confidence
    limits: when some carry marks, those without are limits."""
    out = []
    for c in curves:
        sib = [o for o in curves if o.group == c.group and c.group != -1]
        if not c.marks and any(o.marks for o in sib):
            continue
        out.append(c)
    return out


def drop_confidence_lines(curves: list[Curve]) -> list[Curve]:
    """Drop dashed/thinner copies of a curve's colour that run above and below it: pointwise
    confidence limits, drawn in the arm's colour (base R plot.survfit, many journals)."""
    out = []
    for c in curves:
        mains = [m for m in curves if m is not c and m.rgb == c.rgb
                 and (not m.dash and c.dash or m.width > c.width + 1e-6)]
        if mains and len(strands(c.pieces)) >= 2:      # an upper and a lower limit
            continue
        out.append(c)
    return out


# --------------------------------------------------------------------------- legend

def _box_gap(b, rect) -> float:
    """Distance (points) from a box to a rectangle; 0 when they overlap."""
    dx = max(rect[0] - b[2], b[0] - rect[2], 0.0)
    dy = max(rect[1] - b[3], b[1] - rect[3], 0.0)
    return float(np.hypot(dx, dy))


def name_curves(curves: list[Curve], swatches, panel: Panel | None = None, others=()) -> None:
    """Name each curve from the legend swatch drawn in its style (colour, dash; width as tie):
    of several such swatches on the page, the one nearest this plot and inside no other."""
    from digitize.auto.legend import clean_name

    if panel is not None:
        swatches = [(p, t) for p, t in swatches
                    if not any(o is not panel and _box_gap(p.bbox, o.rect) == 0 for o in others)]
    for c in curves:
        same = [(p, t) for p, t in swatches if p.stroke == c.rgb and p.dash == c.dash]
        if len(same) > 1:
            same.sort(key=lambda pt: (_box_gap(pt[0].bbox, panel.rect) if panel is not None else 0.0,
                                      abs(pt[0].width - c.width)))
        if same:
            c.name = clean_name(same[0][1].text)[0] or None


# --------------------------------------------------------------------------- risk table

@dataclass
class RiskRow:
    label: str | None
    rgb: tuple[int, int, int]
    times: np.ndarray
    counts: np.ndarray


def _snap_times(raw: np.ndarray, axis: Axis) -> np.ndarray:
    """Risk-table columns sit at round times: the tick step or a simple fraction of it."""
    step = abs(axis.step) or 1.0
    for k in (1, 2, 4, 5, 10, 3, 6, 12):
        s = step / k
        q = raw / s
        if np.all(np.abs(q - np.round(q)) <= 0.12):
            return np.round(np.round(q) * s, 10) + 0.0
    return np.round(raw, 6) + 0.0


def _row_colour(cells: list[VText], label: list[VText]) -> tuple[int, int, int]:
    """A row's colour: its numbers' when printed in colour (risk.table.col = strata), else its
    label's (coloured names or bars), else black."""
    for t in cells + label:
        if max(t.rgb) - min(t.rgb) > 30:
            return t.rgb
    return (label[-1] if label else cells[0]).rgb


_COUNT_WITH_NOTE = re.compile(r"^\s*(\d[\d,]*)\s*\(\s*[\d.,%]+\s*%?\s*\)\s*$")


def _count(text: str) -> int | None:
    """A number-at-risk cell: '120', '1,204', or '120 (85)' / '120 (85%)' (survminer's
    risk.table = "abs_pct" and tables printing events or percentages beside the count)."""
    p = parse_number(text)
    if p is not None:
        return int(p[0]) if not p[1] and float(p[0]).is_integer() and p[0] >= 0 else None
    m = _COUNT_WITH_NOTE.match(text)
    return int(m.group(1).replace(",", "")) if m else None


def _phrase_ending_at(words: list[VText]) -> list[VText]:
    """The words of a row label: the rightmost word and those before it separated by no more
    than a word space (R writes "Drug A" as two text objects)."""
    if not words:
        return []
    words = sorted(words, key=lambda w: w.box[2])
    out = [words[-1]]
    for w in reversed(words[:-1]):
        if out[0].box[0] - w.box[2] <= 0.6 * max(w.size, out[0].size):
            out.insert(0, w)
        else:
            break
    return out


def read_risk_rows(drawing: PageDrawing, panel: Panel, others: list[Panel]) -> list[RiskRow]:
    """Rows of integers under the panel's time-axis labels whose x positions are times on
    that axis; a row printing the times themselves (a time header) is not a count row."""
    ax = panel.x
    label_floor = min(t.box[1] for t in ax.labels)
    lo_limit = label_floor - 1.2 * float(np.ptp(panel.y.pos)) - 100
    for o in others:
        if o is not panel and o.rect[3] < label_floor:
            lo_limit = max(lo_limit, o.rect[3])
    t_lo = float(ax.values.min()) - 0.5 * ax.step
    t_hi = float(ax.values.max()) + 0.5 * ax.step
    cells, words = [], []
    for t in drawing.texts:
        if abs(t.angle) > 1 or not (lo_limit < t.cy < label_floor - 0.2 * t.size):
            continue
        n = _count(t.text)
        time = float(ax.value_at(t.cx))
        if n is not None and t_lo <= time <= t_hi:
            cells.append((t, time, n))
        elif parse_number(t.text) is None and n is None:
            words.append(t)
    rows = []
    for row in _rows(cells, key=lambda it: it[0].baseline, tol=lambda it: 0.35 * it[0].size):
        row.sort(key=lambda it: it[0].cx)
        raw = np.array([it[1] for it in row])
        times = _snap_times(raw, ax)
        counts = np.array([it[2] for it in row], float)
        if len(row) < 2 and ax.values.size > 2:
            continue
        if np.allclose(counts, times, atol=1e-6) or len(set(times.tolist())) < len(times):
            continue                                      # the axis or a time header
        first = row[0][0]
        lab = [w for w in words if w.box[2] <= first.box[0] + 1
               and abs(w.cy - first.cy) <= 0.45 * max(w.size, first.size)]
        phrase = _phrase_ending_at(lab)
        text = " ".join(w.text for w in phrase).strip() if phrase else ""
        rows.append(RiskRow(text if re.search(r"\w", text) else None,
                            _row_colour([it[0] for it in row], phrase), times, counts))
    return rows[::-1]          # top to bottom, as printed


def time_axis_title(drawing: PageDrawing, panel: Panel) -> list[VText]:
    """Words printed just under the time-axis labels, within the axis' span (its title)."""
    floor = min(t.box[1] for t in panel.x.labels)
    size = panel.x.labels[0].size
    x0, x1 = float(panel.x.pos.min()), float(panel.x.pos.max())
    return [t for t in drawing.texts if parse_number(t.text) is None and abs(t.angle) <= 1
            and floor - 3.0 * size <= t.box[3] <= floor + 0.2 * size
            and t.box[2] >= x0 and t.box[0] <= x1]
