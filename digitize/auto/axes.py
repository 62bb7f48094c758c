"""Find the plot's axis lines and the tick marks on them (pure functions on image arrays).

Coordinates are image pixels (x right, y down, origin top-left). A scanned figure may be
rotated by up to a degree or two, so axis lines are fitted as straight lines rather than
taken as single pixel rows/columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AxisLine:
    """A straight axis line. Horizontal ('h'): y = slope*x + intercept for x in [start, end];
    vertical ('v'): x = slope*y + intercept for y in [start, end]. thickness in pixels."""

    orientation: str
    slope: float
    intercept: float
    start: float
    end: float
    thickness: float
    drawn: bool = True   # False: the edge of a panel or grid standing in for an undrawn axis

    def at(self, t):
        """The other coordinate at position ``t`` along the line (y for 'h', x for 'v')."""
        return self.slope * np.asarray(t, float) + self.intercept

    def point(self, t) -> tuple[float, float]:
        """Image (x, y) of the point at position ``t`` along the line."""
        o = float(self.at(t))
        return (float(t), o) if self.orientation == "h" else (o, float(t))


@dataclass
class Frame:
    """Axis lines of the plot and the plot area box (x0, y0, x1, y1) in pixels."""

    x_axis: AxisLine | None
    y_axis: AxisLine | None
    plot_area: tuple[int, int, int, int] | None


def ink_masks(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ink, dark, darkness) for an RGB uint8 image.

    ink: bool, pixel differs clearly from the background (any colour, text and curves);
    dark: bool, near-black/grey achromatic ink (axis lines, ticks, black text);
    darkness: float 0-1, 1 - grey level / background level (for sub-pixel centroids).
    """
    rgb = image[..., :3].astype(np.int16)
    flat = rgb.reshape(-1, 3)
    sample = flat[:: max(1, flat.shape[0] // 20000)]
    bg = np.median(sample, axis=0)
    dist = np.sqrt(((rgb - bg) ** 2).sum(axis=2, dtype=np.int32))
    ink = dist > 70
    gray = rgb.mean(axis=2)
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    darkness = np.clip(1.0 - gray / max(bg.mean(), 1.0), 0.0, 1.0)
    dark = (darkness > 0.3) & (chroma < 60)
    # a thin grey line (a theme_bw panel border at 72 dpi) drawn across a pixel boundary is
    # split by anti-aliasing into two paler rows/columns, neither dark on its own (188 | 213):
    # two neighbouring grey pixels, each at least 0.1 dark, that together make up a line's ink
    # with paper (below 0.1) on both sides of the pair are dark too. (A filled grey area - bands
    # overlapping - has no paper beside its pixels; a coloured curve's rim is not grey.)
    d = np.where(chroma < 60, darkness, 0.0)
    dp = np.pad(d, 2)
    c = dp[2:-2, 2:-2]
    for ax in (0, 1):
        def sh(k, _ax=ax):  # d shifted by k pixels along the axis (zero outside the image)
            return dp[2 + k:dp.shape[0] - 2 + k, 2:-2] if _ax == 0 else dp[2:-2, 2 + k:dp.shape[1] - 2 + k]
        nxt = sh(1)
        pair = (c >= 0.1) & (nxt >= 0.1) & (c + nxt > 0.3) & (sh(-1) < 0.1) & (sh(2) < 0.1)
        dark |= pair | np.roll(pair, 1, axis=ax)  # both pixels (a pair never starts at the end)
    return ink, dark, darkness


def _line_candidates(mask: np.ndarray, min_len: int) -> list[AxisLine]:
    """Long horizontal lines in a bool mask (fit y = a x + b through each long component)."""
    import cv2  # noqa: PLC0415

    k = max(15, min_len // 4)
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, k), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if w < min_len or h > max(8, 0.06 * w):
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        xs = xs + x
        ys = ys + y
        a, b = np.polyfit(xs, ys, 1) if np.ptp(xs) > 0 else (0.0, float(ys.mean()))
        # thickness: pixels per column along the line
        thick = area / max(w, 1)
        out.append(AxisLine("h", float(a), float(b), float(xs.min()), float(xs.max()), float(thick)))
    return out


def refine_line(darkness: np.ndarray, line: AxisLine) -> AxisLine:
    """Sub-pixel fit of an axis line: darkness-weighted centre across the line at every
    position where nothing else touches it (ticks, curves), then a trimmed straight fit."""
    img = darkness if line.orientation == "h" else darkness.T
    H, W = img.shape
    t = np.arange(int(np.ceil(line.start)), int(np.floor(line.end)) + 1)
    t = t[(t >= 0) & (t < W)]
    if t.size < 10:
        return line
    r = int(np.ceil(line.thickness / 2)) + 2
    offs = np.arange(-r, r + 1)
    base = np.rint(line.at(t)).astype(int)
    rows = base[None, :] + offs[:, None]
    ok = (rows >= 0) & (rows < H)
    prof = np.where(ok, img[np.clip(rows, 0, H - 1), t[None, :]], 0.0)
    clean = (prof[0] < 0.15) & (prof[-1] < 0.15) & ok.all(axis=0) & (prof.sum(axis=0) > 0.3)
    if clean.sum() < 10:
        return line
    c = (rows * prof).sum(axis=0)[clean] / prof.sum(axis=0)[clean]
    tt = t[clean].astype(float)
    a, b = np.polyfit(tt, c, 1)
    keep = np.abs(c - (a * tt + b)) <= 0.5
    if keep.sum() >= 10:
        a, b = np.polyfit(tt[keep], c[keep], 1)
    th = float(np.median(prof.sum(axis=0)[clean]))
    return AxisLine(line.orientation, float(a), float(b), line.start, line.end, max(th, 1.0))


def _n_ticks(darkness: np.ndarray, line: AxisLine) -> int:
    """Tick marks on either side of a candidate axis line (the better side)."""
    return max(find_ticks(darkness, line, +1)[0].size, find_ticks(darkness, line, -1)[0].size)


def _meets(h: AxisLine, v: AxisLine, W: int, H: int) -> bool:
    """A horizontal and a vertical line can be the x and y axes of one plot: the horizontal one
    reaches the vertical one's neighbourhood and lies within its vertical span."""
    xm = float(v.at(h.at(h.start)))
    ymid = float(h.at((h.start + h.end) / 2))
    return h.start <= xm + 0.1 * W and v.start - 0.05 * H <= ymid <= v.end + 0.15 * H


def _merged_lines(mask: np.ndarray, min_len: int) -> list[tuple[float, float, float]]:
    """Horizontal lines of a bool mask as (position, start, end), the pieces of one line (cut
    where curves or text are drawn over it) joined: pieces at the same row within 1.5 px and
    less than 8 % of the mask's width apart (further apart: two panels' grids in line)."""
    pieces = sorted(_line_candidates(mask, max(15, min_len // 6)),
                    key=lambda c: (round(float(c.at((c.start + c.end) / 2))), c.start))
    out: list[list[float]] = []
    for c in pieces:
        y = float(c.at((c.start + c.end) / 2))
        if out and abs(out[-1][0] - y) <= 1.5 and c.start - out[-1][2] <= 0.08 * mask.shape[1]:
            out[-1][1] = min(out[-1][1], c.start)
            out[-1][2] = max(out[-1][2], c.end)
        else:
            out.append([y, c.start, c.end])
    return [tuple(o) for o in out if o[2] - o[1] >= min_len]


def _grid_panels(light: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Panels outlined by light grid lines only (ggplot theme_minimal): a grid spans its whole
    panel, so a group of vertical lines with one common extent and the horizontal lines within
    that extent give the panel box (x0, y0, x1, y1). Curves drawn over a grid line cut it into
    pieces; the pieces are joined first."""
    H, W = light.shape
    hs = _merged_lines(light, int(0.25 * W))
    vs = _merged_lines(light.T, int(0.15 * H))
    out = []
    used: set[int] = set()
    for i, (_, s0, e0) in enumerate(vs):
        if i in used:
            continue
        grp = [j for j, (_, s, e) in enumerate(vs) if abs(s - s0) <= 0.02 * H and abs(e - e0) <= 0.02 * H]
        used.update(grp)
        if len(grp) < 2:
            continue
        y0 = float(np.median([vs[j][1] for j in grp]))
        y1 = float(np.median([vs[j][2] for j in grp]))
        xs = [vs[j][0] for j in grp]
        hin = [h for h in hs if y0 - 2 <= h[0] <= y1 + 2 and h[1] <= min(xs) + 2 and h[2] >= max(xs) - 2]
        if len(hin) < 2:
            continue
        out.append((float(np.median([h[1] for h in hin])), y0, float(np.median([h[2] for h in hin])), y1))
    return out


def find_panels(image: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Plot panels drawn without axis lines, largest first, as boxes (x0, y0, x1, y1) in pixels
    (inclusive pixel rows/columns).

    Two kinds, both common in ggplot2 figures: a filled panel (theme_grey: a light grey
    rectangle crossed by white grid lines) and a grid of light lines on white (theme_minimal).
    'Light' is ink too faint to be text or a curve (colour distance 8-70 from the paper)."""
    import cv2  # noqa: PLC0415

    rgb = image[..., :3].astype(np.int16)
    H, W = rgb.shape[:2]
    # the paper's colour from the image's border (a filled panel may cover most of the image)
    border = np.concatenate([rgb[:2].reshape(-1, 3), rgb[-2:].reshape(-1, 3),
                             rgb[:, :2].reshape(-1, 3), rgb[:, -2:].reshape(-1, 3)])
    bg = np.median(border, axis=0)
    dist = np.sqrt(((rgb - bg) ** 2).sum(axis=2, dtype=np.int32))
    light = (dist > 8) & (dist <= 70)
    boxes = []
    # filled panels: close the gaps white grid lines and curves cut, then large, well-filled
    # rectangles
    # (opening first removes the anti-aliased rims of text and curves, which are light too and
    # would join the panel to its tick labels)
    k = max(5, int(0.012 * max(H, W)))
    opened = cv2.morphologyEx(light.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, lab, st, _ = cv2.connectedComponentsWithStats(closed, connectivity=4)
    for i in range(1, n):
        x, y, w, h, area = st[i]
        if w < 0.25 * W or h < 0.15 * H:
            continue
        # the box is (nearly) all non-paper: light fill, and over it curves, bands, text; only
        # the white grid lines and a legend box show the paper
        if area < 0.5 * w * h or (dist[y:y + h, x:x + w] > 8).mean() < 0.75:
            continue
        boxes.append((float(x), float(y), float(x + w - 1), float(y + h - 1)))
    if not boxes:
        boxes = _grid_panels(light)
    return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def panel_axes(box) -> tuple[AxisLine, AxisLine]:
    """Stand-in x and y axes along a panel's bottom and left edges (just outside the panel, where
    ggplot draws its tick marks)."""
    x0, y0, x1, y1 = box
    xa = AxisLine("h", 0.0, y1 + 0.5, x0, x1, 1.0, drawn=False)
    ya = AxisLine("v", 0.0, x0 - 0.5, y0, y1, 1.0, drawn=False)
    return xa, ya


def find_frame(dark: np.ndarray, darkness: np.ndarray | None = None,
               image: np.ndarray | None = None) -> Frame:
    """Locate the x axis and the y axis, refined to sub-pixel when ``darkness`` is given.
    Either may be None when not drawn.

    Without ``darkness``: the lowest long horizontal line meeting the leftmost long vertical
    line. With it, the axes are told from other long lines (a frame around the whole figure,
    table rules, a legend box) by what makes a line an axis: tick marks along it. Of the pairs
    of lines meeting at a corner with ticks on both, the one spanning the largest box wins;
    else the pair with the most ticks; else (no tick marks) the lowest/leftmost pair. Given the RGB ``image`` too, a figure with no such pair
    (ggplot theme_grey / theme_minimal: no axis lines at all) falls back to the largest panel
    (:func:`find_panels`), whose edges stand in for the axes."""
    H, W = dark.shape
    hs = _line_candidates(dark, int(0.25 * W))
    vs_t = _line_candidates(dark.T, int(0.2 * H))
    vs = [AxisLine("v", c.slope, c.intercept, c.start, c.end, c.thickness) for c in vs_t]
    y_axis = None
    x_axis = None
    ymid = lambda h: float(h.at((h.start + h.end) / 2))  # noqa: E731
    xmid = lambda v: float(v.at((v.start + v.end) / 2))  # noqa: E731
    if darkness is not None and hs and vs:
        # the longest few of each (a figure has few long lines; keep the cost bounded)
        hs_c = sorted(hs, key=lambda h: -(h.end - h.start))[:8]
        vs_c = sorted(vs, key=lambda v: -(v.end - v.start))[:8]
        nh = {id(h): _n_ticks(darkness, h) for h in hs_c}
        nv = {id(v): _n_ticks(darkness, v) for v in vs_c}
        pairs = [(nh[id(h)], nv[id(v)], h, v) for h in hs_c for v in vs_c if _meets(h, v, W, H)]
        # both lines ticked: the largest box is the plot (a risk table drawn with its own axes
        # under it is smaller, as are a boxed plot's top/right lines with the others)
        both = [p for p in pairs if p[0] >= 2 and p[1] >= 2]
        if both:
            x_axis, y_axis = max(both, key=lambda p: (p[2].end - xmid(p[3])) * (ymid(p[2]) - p[3].start))[2:]
        else:
            some = [p for p in pairs if p[0] + p[1] >= 4]
            if some:
                x_axis, y_axis = max(some, key=lambda p: (p[0] + p[1], ymid(p[2]), -xmid(p[3])))[2:]
    if x_axis is None and image is not None:
        panels = find_panels(image)
        if panels:
            x_axis, y_axis = panel_axes(panels[0])
            x0, y0, x1, y1 = panels[0]
            return Frame(x_axis, y_axis, (int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))))
    if x_axis is None and y_axis is None:
        if vs:
            y_axis = min(vs, key=xmid)
        if hs:
            good = [h for h in hs if y_axis is None or _meets(h, y_axis, W, H)] or hs
            x_axis = max(good, key=ymid)
    if darkness is not None:
        x_axis = refine_line(darkness, x_axis) if x_axis is not None else None
        y_axis = refine_line(darkness, y_axis) if y_axis is not None else None
    plot_area = None
    if x_axis is not None or y_axis is not None:
        if x_axis is not None:
            x0 = x_axis.start if y_axis is None else float(y_axis.at(x_axis.at(x_axis.start)))
            x1 = x_axis.end
            y1 = float(x_axis.at((x_axis.start + x_axis.end) / 2))
        if y_axis is not None:
            y0 = y_axis.start
            if x_axis is None:
                x0 = float(y_axis.at((y_axis.start + y_axis.end) / 2))
                x1 = W - 1
                y1 = y_axis.end
        else:
            y0 = 0
        plot_area = (int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1)))
    return Frame(x_axis, y_axis, plot_area)


def find_ticks(darkness: np.ndarray, line: AxisLine, side: int, max_len: int | None = None
               ) -> tuple[np.ndarray, float]:
    """Tick marks on one side of an axis line.

    ``darkness`` is the float 0-1 image; ``side`` +1 looks below/right of the line (larger
    coordinate), -1 above/left. Returns (positions along the line in pixels, sub-pixel
    darkness-weighted centres; tick length in pixels, 0 when none found).
    """
    img = darkness if line.orientation == "h" else darkness.T
    H, W = img.shape
    if max_len is None:
        max_len = int(max(6, 0.035 * max(H, W)))
    t = np.arange(int(np.ceil(line.start)), int(np.floor(line.end)) + 1)
    t = t[(t >= 0) & (t < W)]
    if t.size < 5:
        return np.empty(0), 0.0
    centre = line.at(t)
    edge = centre + side * (line.thickness / 2.0 + 0.5)
    offs = np.arange(1, max_len + 1)
    rows = np.rint(edge[None, :] + side * offs[:, None]).astype(int)
    valid = (rows >= 0) & (rows < H)
    band = np.where(valid, img[np.clip(rows, 0, H - 1), t[None, :]], 0.0)
    on = band > 0.3
    run = np.cumprod(on, axis=0).sum(axis=0)  # ink run length starting next to the line
    if run.max() < 2:
        return np.empty(0), 0.0
    full = run >= max_len  # grid lines / curves crossing: not ticks
    cand = (run >= 2) & ~full
    if cand.sum() == 0:
        return np.empty(0), 0.0
    typical = np.median(run[cand])
    cand &= run >= max(2, 0.6 * typical)
    # group consecutive columns
    idx = np.nonzero(cand)[0]
    groups = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
    pos, widths, crisp = [], [], []
    L = int(max(2, round(typical)))
    for g in groups:
        if g.size > max(4, 0.02 * W):  # too wide to be a tick (text, a curve lying on the axis)
            continue
        lo, hi = max(g[0] - 1, 0), min(g[-1] + 1, t.size - 1)
        cols = np.arange(lo, hi + 1)
        prof = band[:L, cols].mean(axis=0)
        pos.append(float((t[cols] * prof).sum() / max(prof.sum(), 1e-9)))
        widths.append(float(prof.sum()))  # equivalent width in pixels (black ink)
        # a snapped odd-width mark fills an odd number of columns (one, three) about a pixel
        # centre; a mark inking two columns alike (cairo, base R's png()) is centred on the
        # pixel boundary between them, where its weighted centre already lies
        odd = np.count_nonzero(prof >= 0.5 * prof.max()) % 2 == 1
        crisp.append(bool(prof[0] <= 0.15 * prof.max() and prof[-1] <= 0.15 * prof.max()) and odd)
    pos = np.asarray(pos)
    # Agg (matplotlib) snaps tick markers: an odd-width mark to a pixel centre, i.e. to the
    # column floor(x + 0.5) of its true position x - on average half a pixel too far (right,
    # or down). Undo that when the marks show snapping (crisp edges and an odd number of
    # inked columns on an upright image; on a rotated scan it cannot be seen, and is assumed)
    # and their width is odd.
    if pos.size:
        w_px = int(round(float(np.median(widths))))
        rotated = abs(line.slope) > 2e-3
        if w_px % 2 == 1 and (rotated or np.mean(crisp) >= 0.7):
            pos = pos - 0.5
    return pos, float(typical)
