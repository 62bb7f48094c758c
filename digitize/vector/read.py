"""A vector PDF page -> the KM figures on it, read from the drawing itself (no rasterising).

:func:`read_figures` gives one :class:`VectorFigure` per plot (time axis + survival axis with
staircase curves); :func:`to_detection` / :func:`to_extracted` turn one into the seam objects
of the raster pipeline (:class:`digitize.auto.detect.FigureDetection`,
:class:`digitize.extract.ExtractedArm`) in the pixel frame of the page rendered at ``dpi``,
so the CLI, the sidecar, reconstruction and the app use it unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from digitize.vector.objects import PageDrawing
from digitize.vector.roles import (Curve, Panel, RiskRow, attach_marks, drop_confidence_lines,
                                   drop_unmarked_strands,
                                   find_axes, name_curves, pair_axes, read_risk_rows, split_paths, split_strands,
                                   text_glyphs, time_axis_title)
from kmrecon.data import RiskTable


@dataclass
class VectorFigure:
    """One KM plot read from a page's drawing (points, y up)."""

    panel: Panel
    curves: list[Curve]
    risk_rows: list[RiskRow] = field(default_factory=list)
    risk_table: RiskTable | None = None
    warnings: list[str] = field(default_factory=list)
    confidence: dict[str, float] = field(default_factory=dict)

    def time_of(self, x):
        return self.panel.x.value_at(x)

    def survival_of(self, y):
        s = self.panel.y.value_at(y)
        return s / 100.0 if self.panel.percent else s

    @property
    def names(self) -> list[str]:
        return [c.name or f"arm{i + 1}" for i, c in enumerate(self.curves)]


# --------------------------------------------------------------------------- naming

def _match_row(label: str | None, rgb, curves: list[Curve]) -> Curve | None:
    """The curve a risk-table row belongs to: by its label (legend name) or its colour."""
    from digitize.auto.legend import clean_name, similar

    if label:
        lab = clean_name(label)[0]
        scored = [(similar(lab, c.name), c) for c in curves if c.name]
        inside = [c for c in curves if c.name and (lab.lower() in c.name.lower()
                                                   or c.name.lower() in lab.lower())]
        if len(inside) == 1:          # a shortened label ("Drug A" for "Drug A (n=85)")
            scored.append((0.95, inside[0]))
        if scored:
            s, c = max(scored, key=lambda sc: sc[0])
            if s >= 0.8:
                return c
    coloured = [c for c in curves if c.rgb == tuple(rgb)]
    if len(coloured) == 1 and tuple(rgb) != (0, 0, 0):
        return coloured[0]
    return None


def _pair_by_n(rows: list[RiskRow], curves: list[Curve], n_of) -> list[Curve]:
    """The curves in the order that best fits the rows' first counts (N) to each curve's N read
    from its drops (``n_of``); drawing order when that says nothing (tables list the arms in
    the order they are drawn)."""
    from itertools import permutations

    ns = [n_of(c) if n_of is not None else None for c in curves]
    if any(n is None for n in ns):
        return list(curves)
    first = [float(r.counts[0]) for r in rows]
    best = min(permutations(range(len(curves))),
               key=lambda pm: sum(abs(first[k] - ns[j]) / max(first[k], 1.0) for k, j in enumerate(pm)))
    return [curves[j] for j in best]


def _risk_table(rows: list[RiskRow], curves: list[Curve], warnings: list[str], n_of=None
                ) -> RiskTable | None:
    """Rows -> RiskTable keyed by arm name; unnamed curves take their row's label. Rows that
    match no curve by name or colour are paired by N (:func:`_pair_by_n`)."""
    if not rows:
        return None
    owner = {}
    for i, r in enumerate(rows):
        c = _match_row(r.label, r.rgb, curves)
        if c is not None and c.name is None and r.label:
            from digitize.auto.legend import clean_name
            c.name = clean_name(r.label)[0]
        owner[i] = c
    unnamed_rows = [i for i, c in owner.items() if c is None]
    free = [c for c in curves if c not in owner.values()]
    if unnamed_rows and len(unnamed_rows) == len(free) <= 5:
        order = _pair_by_n([rows[i] for i in unnamed_rows], free, n_of)
        if len(free) > 1:
            warnings.append("risk-table rows without a name or colour paired with the curves by "
                            "their numbers at the start; check")
        for i, c in zip(unnamed_rows, order):
            owner[i] = c
            if c.name is None and rows[i].label:
                c.name = rows[i].label
    times = np.unique(np.concatenate([r.times for r in rows]))
    table = {}
    for i, r in enumerate(rows):
        c = owner.get(i)
        name = (c.name if c is not None and c.name else None) or r.label or f"row{i + 1}"
        if c is None:
            warnings.append(f"risk-table row '{name}' matches no curve by name or colour")
        vals = np.full(times.size, np.nan)
        vals[np.searchsorted(times, r.times)] = r.counts
        table[name] = vals
    return RiskTable(times, table)


def _legend_order(curves: list[Curve], swatches) -> list[Curve]:
    """Curves in legend order (top to bottom, left to right); unnamed ones last."""
    pos = {}
    for c in curves:
        for p, t in swatches:
            if p.stroke == c.rgb and p.dash == c.dash and c.name is not None:
                pos.setdefault(id(c), (-p.bbox[1], p.bbox[0]))
    return sorted(curves, key=lambda c: pos.get(id(c), (np.inf, np.inf)))


def _unique_names(curves: list[Curve]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(curves):
        n = c.name or f"arm{i + 1}"
        if n in seen:
            seen[n] += 1
            n = f"{n} ({seen[n]})"
        else:
            seen[n] = 1
        c.name = n


# --------------------------------------------------------------------------- one panel

def read_panel(drawing: PageDrawing, panel: Panel, panels: list[Panel]) -> VectorFigure | None:
    """Curves, censor marks, names and risk table of one plot; None when it has no curve."""
    curves, glyphs, strokes, swatches = split_paths(drawing, panel)
    curves = [c for c in curves if _spans(c, panel)]
    if not curves:
        return None
    warnings: list[str] = []
    curves = split_strands(drop_confidence_lines(curves))
    lost = attach_marks(curves, glyphs + text_glyphs(drawing, panel), strokes)
    curves = drop_unmarked_strands(curves)
    if lost:
        warnings.append(f"{lost} small symbol(s) inside the plot are on no curve (not used as censor marks)")
    name_curves(curves, swatches, panel, panels)
    for c in curves:
        if c.clipped:
            warnings.append(f"{c.name or 'a curve'} runs on outside the plot region (truncated axis); "
                            "only the part drawn inside is read")
    curves = _legend_order(curves, swatches)
    panel.x.titles = time_axis_title(drawing, panel)
    rows = read_risk_rows(drawing, panel, panels)
    table = _risk_table(rows, curves, warnings, n_of=lambda c: _curve_n(c, panel))
    _unique_names(curves)
    conf = {"calibration_x": 1.0 if panel.x.from_ticks else 0.8,
            "calibration_y": 1.0 if panel.y.from_ticks else 0.8,
            "arms": 1.0 if all(c.name and not c.name.startswith("arm") for c in curves) else 0.6,
            "risk_table": 0.0 if table is None else (
                1.0 if set(table.arms) <= {c.name for c in curves} else 0.5)}
    if table is None:
        warnings.append("no number-at-risk table found under the plot")
    return VectorFigure(panel, curves, rows, table, warnings, conf)


def _curve_n(c: Curve, panel: Panel) -> int | None:
    """N of a curve from its drop heights and marks (digitize.vector.counts.n_estimate)."""
    from digitize.vector.counts import n_estimate

    p = c.corners()
    s = panel.y.value_at(p[:, 1]) / (100.0 if panel.percent else 1.0)
    marks = np.array([m[0] for m in c.marks], float)
    return n_estimate(panel.x.value_at(p[:, 0]), s, panel.x.value_at(marks) if marks.size else marks)


def _spans(c: Curve, panel: Panel) -> bool:
    """A curve covers more than a glyph: at least 5 % of the time axis."""
    p = np.vstack(c.pieces)
    return float(np.ptp(p[:, 0])) >= 0.05 * (panel.rect[2] - panel.rect[0])


def find_panels(drawing: PageDrawing) -> list[Panel]:
    xs, ys = find_axes(drawing)
    return pair_axes(xs, ys)


def read_figures(drawing: PageDrawing) -> list[VectorFigure]:
    """Every KM plot drawn as vectors on the page, top to bottom, left to right."""
    panels = find_panels(drawing)
    out = []
    for p in panels:
        f = read_panel(drawing, p, panels)
        if f is not None:
            out.append(f)
    return out


# --------------------------------------------------------------------------- seam objects

@dataclass(frozen=True)
class PixelFrame:
    """PDF points (y up) -> pixels of the page rendered at ``dpi`` (y down, pixel centres)."""

    left: float
    top: float
    scale: float

    @classmethod
    def of(cls, drawing: PageDrawing, dpi: float) -> "PixelFrame":
        return cls(drawing.origin[0], drawing.origin[1] + drawing.height, dpi / 72.0)

    def px(self, x):
        return (np.asarray(x, float) - self.left) * self.scale - 0.5

    def py(self, y):
        return (self.top - np.asarray(y, float)) * self.scale - 0.5


def time_unit(fig: VectorFigure) -> str | None:
    """'days'/'weeks'/'months'/'years' from the time-axis title under the tick labels."""
    import re

    from digitize.auto.detect import _UNITS

    words = " ".join(t.text for t in fig.panel.x.titles).lower()
    for unit, pat in _UNITS:
        if re.search(pat, words):
            return unit
    return None


def calibration_of(fig: VectorFigure, frame: PixelFrame):
    """Four exact calibration points (first/last tick of each axis) in page pixels."""
    from digitize.calibrate import AxisPoint, Calibration

    x, y = fig.panel.x, fig.panel.y
    i, j = int(np.argmin(x.pos)), int(np.argmax(x.pos))
    k, m = int(np.argmin(y.pos)), int(np.argmax(y.pos))
    return Calibration(
        AxisPoint(float(frame.px(x.pos[i])), float(frame.py(x.cross)), float(x.values[i])),
        AxisPoint(float(frame.px(x.pos[j])), float(frame.py(x.cross)), float(x.values[j])),
        AxisPoint(float(frame.px(y.cross)), float(frame.py(y.pos[k])), float(y.values[k])),
        AxisPoint(float(frame.px(y.cross)), float(frame.py(y.pos[m])), float(y.values[m])),
        no_rotation=True, y_percent=fig.panel.percent)


def plot_area_of(fig: VectorFigure, frame: PixelFrame) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = fig.panel.rect
    return (int(np.floor(frame.px(x0))), int(np.floor(frame.py(y1))),
            int(np.ceil(frame.px(x1))), int(np.ceil(frame.py(y0))))


#: coordinate precision of PDF writers (R's pdf() writes 2 decimals of a point)
PDF_PRECISION_PT = 0.02


def _snap_start(fig: VectorFigure, t: np.ndarray, s: np.ndarray):
    """Times within the writer's precision of 0 are 0 and survival within it of 1 is 1: the
    curve starts at (0, 1) exactly (R writes 0.01 pt, ~1e-5 of the axis, off)."""
    dt = PDF_PRECISION_PT * abs(fig.panel.x.slope)
    ds = PDF_PRECISION_PT * abs(fig.panel.y.slope) / (100.0 if fig.panel.percent else 1.0)
    t = np.where(np.abs(t) <= dt, 0.0, t)
    s = np.where(np.abs(s - 1.0) <= ds, 1.0, s)
    return t, s


def to_extracted(fig: VectorFigure, frame: PixelFrame) -> list:
    """ExtractedArm per curve: step corners and censor times in data units, exactly."""
    from digitize.extract import ExtractedArm

    out = []
    for c in fig.curves:
        p = c.corners()
        t, s = _snap_start(fig, fig.time_of(p[:, 0]), fig.survival_of(p[:, 1]))
        marks = np.array(sorted(c.marks)) if c.marks else np.empty((0, 2))
        ct = fig.time_of(marks[:, 0]) if len(marks) else np.empty(0)
        # the last mark sits on the curve's end: within the writer's precision it is that end
        dt = PDF_PRECISION_PT * abs(fig.panel.x.slope)
        ct = np.where((ct > t.max()) & (ct - t.max() <= dt), t.max(), ct)
        out.append(ExtractedArm(c.name, tuple(int(v) for v in c.rgb), t, np.clip(s, 0.0, 1.0), ct,
                                np.column_stack([frame.px(p[:, 0]), frame.py(p[:, 1])]),
                                np.column_stack([frame.px(marks[:, 0]), frame.py(marks[:, 1])])
                                if len(marks) else np.empty((0, 2)), 1.0, []))
    return out


def to_detection(fig: VectorFigure, frame: PixelFrame, page: int, index: int):
    """The FigureDetection the raster detector would have produced, read exactly."""
    from digitize.auto.detect import FigureDetection
    from digitize.extract import ArmSpec

    unit = time_unit(fig)
    return FigureDetection(
        calibration=calibration_of(fig, frame), plot_area=plot_area_of(fig, frame),
        arms=[ArmSpec(c.name, tuple(int(v) for v in c.rgb)) for c in fig.curves],
        risk_table=fig.risk_table, time_unit=unit, confidence=dict(fig.confidence),
        warnings=list(fig.warnings),
        details={"source": "vector", "page": page, "panel": index,
                 "censor_marks": {c.name: len(c.marks) for c in fig.curves}})
