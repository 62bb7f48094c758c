"""Kaplan–Meier panels in a multi-panel raster figure (pure functions on image arrays).

A journal figure often holds several KM plots (A: PFS, B: OS; one per subgroup). Each panel has
what makes a plot a plot: an x axis and a y axis meeting at its bottom-left corner, with tick
marks along both (or, in ggplot2 figures drawn without axis lines, a filled or gridded panel).
A number-at-risk table drawn under a plot with its own axes (survminer) shares the plot's x
extent and sits right under it: it belongs to that panel and is not a panel itself.

Coordinates are image pixels (x right, y down); boxes are (x0, y0, x1, y1), inclusive.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitize.auto.axes import AxisLine, _line_candidates, find_panels, find_ticks, ink_masks


@dataclass
class KMPanel:
    """One plot of a figure: ``plot`` is its axes box, ``region`` the part of the image that
    holds it with its tick labels, legend, titles and risk table (what to crop)."""

    plot: tuple[int, int, int, int]
    region: tuple[int, int, int, int]

    def describe(self) -> str:
        x0, y0, x1, y1 = self.plot
        return f"axes at x {x0}-{x1}, y {y0}-{y1} px"


def _ticked_corners(image: np.ndarray) -> list[tuple[float, float, float, float, int]]:
    """Axis pairs meeting at a bottom-left corner, each with at least 2 tick marks:
    (x0, y0, x1, y1, ticks)."""
    ink, dark, darkness = ink_masks(image)
    H, W = dark.shape
    hs = _line_candidates(dark, int(0.12 * W))
    vs = [AxisLine("v", c.slope, c.intercept, c.start, c.end, c.thickness)
          for c in _line_candidates(dark.T, int(0.1 * H))]

    cache: dict[int, int] = {}

    def ticks(line, sides) -> int:  # only for lines that meet another at a corner (cost)
        if id(line) not in cache:
            cache[id(line)] = max(find_ticks(darkness, line, s)[0].size for s in sides)
        return cache[id(line)]

    out = []
    for h in hs:
        hy = float(h.at((h.start + h.end) / 2))
        for v in vs:
            vx = float(v.at((v.start + v.end) / 2))
            # the x axis starts at (or just left of) the y axis; the y axis ends at the x axis
            if not (abs(h.start - vx) <= max(8, 0.02 * W) and abs(hy - v.end) <= max(8, 0.03 * H)):
                continue
            if (h.end - vx) * (hy - v.start) < 0.02 * W * H:
                continue
            nh, nv = ticks(h, (+1, -1)), ticks(v, (-1, +1))
            if nh >= 2 and nv >= 2:
                out.append((vx, float(v.start), float(h.end), hy, nh + nv))
    return out


def _overlap(a, b) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / max(small, 1.0)


def find_km_panels(image: np.ndarray) -> list[KMPanel]:
    """The KM plots of a figure, in reading order (rows top to bottom, left to right).

    Empty when none is recognised (the caller then treats the image as one plot). Boxes from
    ticked axis pairs; figures without any (ggplot theme_grey/minimal) use panels found by
    :func:`digitize.auto.axes.find_panels`. A box straight under another with the same x
    extent is that plot's risk table, not a panel."""
    img = np.asarray(image)[..., :3]
    H, W = img.shape[:2]
    boxes = sorted(_ticked_corners(img), key=lambda b: -b[4])
    if not boxes:
        boxes = [(*b, 0) for b in find_panels(img)]
    kept: list[tuple] = []
    for b in boxes:  # the best-ticked of overlapping candidates
        if all(_overlap(b, k) < 0.5 for k in kept):
            kept.append(b)
    plots = []
    for b in kept:
        w = b[2] - b[0]
        above = [k for k in kept if k is not b and abs(k[0] - b[0]) <= 0.03 * w and abs(k[2] - b[2]) <= 0.03 * w
                 and k[3] < b[1] and b[1] - k[3] <= 0.6 * (k[3] - k[1]) and (b[3] - b[1]) < (k[3] - k[1])]
        if not above:
            plots.append(b[:4])
    # reading order: rows by vertical overlap, then left to right
    plots.sort(key=lambda b: (b[1], b[0]))
    rows: list[list] = []
    for b in plots:
        for r in rows:
            if min(b[3], r[0][3]) - max(b[1], r[0][1]) > 0.3 * min(b[3] - b[1], r[0][3] - r[0][1]):
                r.append(b)
                break
        else:
            rows.append([b])
    ordered = [b for r in rows for b in sorted(r, key=lambda b: b[0])]
    return [KMPanel(tuple(int(round(v)) for v in b), _region(b, ordered, W, H)) for b in ordered]


def _region(b, others, W: int, H: int) -> tuple[int, int, int, int]:
    """Crop for plot ``b``: the image up to its neighbours. Towards a neighbour on the right the
    cut lies just past this plot's right end (the neighbour's y labels and title are its own);
    towards one below, a fifth of the gap above the neighbour's plot (its title)."""
    x0, y0, x1, y1 = 0.0, 0.0, W - 1.0, H - 1.0
    for o in others:
        if o is b:
            continue
        vert = min(b[3], o[3]) - max(b[1], o[1]) > 0
        horiz = min(b[2], o[2]) - max(b[0], o[0]) > 0
        if vert and o[0] >= b[2]:
            x1 = min(x1, b[2] + 0.15 * (o[0] - b[2]))
        elif vert and o[2] <= b[0]:
            x0 = max(x0, o[2] + 0.15 * (b[0] - o[2]))
        elif horiz and o[1] >= b[3]:
            y1 = min(y1, o[1] - 0.2 * (o[1] - b[3]))
        elif horiz and o[3] <= b[1]:
            y0 = max(y0, b[1] - 0.2 * (b[1] - o[3]))
    return int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))


def select_panel(image: np.ndarray, panel: int | None):
    """The image to read for ``--panel`` (1-based) of a raster figure.

    Returns (image, KMPanel or None, all panels found). With ``panel`` None a figure with one
    plot (or none recognised) is returned whole; a figure with several raises
    :class:`kmrecon.errors.KMReconError` listing them, as does a ``panel`` out of range."""
    from kmrecon.errors import KMReconError  # noqa: PLC0415

    from digitize.image import is_blank  # noqa: PLC0415

    if is_blank(image):  # nothing drawn: no panels (detection says the image is blank)
        return image, None, []
    panels = find_km_panels(image)
    listing = "; ".join(f"--panel {k + 1}: {p.describe()}" for k, p in enumerate(panels))
    if panel is None:
        if len(panels) <= 1:
            return image, None, panels
        raise KMReconError(f"the image holds {len(panels)} Kaplan-Meier plots; pick one with {listing}")
    if not panels:
        if panel == 1:
            return image, None, panels
        raise KMReconError(f"--panel {panel}: no separate Kaplan-Meier plots were found in the image; "
                           "leave out --panel or crop the image")
    if not 1 <= panel <= len(panels):
        raise KMReconError(f"--panel {panel}: the image holds {len(panels)} Kaplan-Meier plot(s): {listing}")
    x0, y0, x1, y1 = panels[panel - 1].region
    return np.ascontiguousarray(np.asarray(image)[y0:y1 + 1, x0:x1 + 1]), panels[panel - 1], panels


def shift_detection(det, dx: int, dy: int):
    """Move a detection made on a crop back into the whole image's pixels (calibration points
    and plot area shifted by the crop's corner ``dx, dy``); the crop is recorded in
    ``det.details['panel_offset']`` (other boxes in ``details`` stay in crop pixels)."""
    from digitize.calibrate import Calibration  # noqa: PLC0415

    if det is None or (dx == 0 and dy == 0):
        return det
    if det.calibration is not None:
        d = det.calibration.to_dict()
        for k in ("x1", "x2", "y1", "y2"):
            d[k] = dict(d[k], px=d[k]["px"] + dx, py=d[k]["py"] + dy)
        det.calibration = Calibration.from_dict(d)
    if det.plot_area is not None:
        x0, y0, x1, y1 = det.plot_area
        det.plot_area = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    det.details["panel_offset"] = [int(dx), int(dy)]
    return det
