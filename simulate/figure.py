"""Synthetic Kaplan-Meier figures with exact known truth, rendered by matplotlib (Agg).

:func:`render_figure` draws a KM figure from IPD (columns ``arm, time, event``) in a
:class:`~simulate.styles.FigureStyle` and returns the image plus a :class:`FigureTruth`: the IPD,
the colours as drawn, the number-at-risk table as printed, and the exact pixel geometry
(calibration points, tick labels, legend, risk-table cells) read from matplotlib's transforms.

Pixel convention (the same as ``digitize``): image coordinates (px, py) with x to the right
and y DOWN, origin at the top-left; the centre of the pixel in column c, row r is (c, r).
matplotlib display coordinates (x right, y UP, pixel edges at integers) map to it by
``px = display_x - 0.5``, ``py = height - display_y - 0.5``. Every degradation (rotation by an
affine warp, noise, JPEG) is applied after rendering and the same affine is applied to all
truth geometry, so the truth stays exact. Bounding boxes are (x0, y0, x1, y1) in that frame
(after rotation: the axis-aligned box of the rotated corners).

Path snapping is turned off so that lines sit exactly where the transforms say (Agg would
otherwise move straight lines by up to half a pixel).

Typical use::

    ipd, style = random_case(np.random.default_rng(0), "typical")
    fig = render_figure(ipd, style)        # fig.image (HxWx3 RGB), fig.truth, fig.style
    cal = Calibration.from_dict(fig.truth.calibration)     # digitize.calibrate
    fig.save("out/case0")                  # figure.png|jpg, truth.json, ipd.csv, curves.csv, risk.csv
    again = load_saved("out/case0")
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from kmrecon.data import RiskTable
from kmrecon.jsonio import atomic_path, json_safe
from simulate.ipd import km_corners, km_table, number_at_risk
from simulate.styles import (  # noqa: F401  (FigureStyle, random_case: re-exported per contract)
    LEGEND_LOCS, FigureSpecError, FigureStyle, random_case, x_axis_ticks)

__all__ = [
    "FigureSpecError", "FigureStyle", "FigureTruth", "RenderedFigure", "render_figure",
    "random_case", "generate_set", "render_pdf", "scale_truth", "transform_truth",
]

_LINESTYLES = {"solid": "-", "dashed": (0, (5, 3)), "dotted": (0, (1, 1.6))}


# ---------------------------------------------------------------------------------------------
# truth

@dataclass
class FigureTruth:
    """What was drawn, exactly (pixel convention in the module docstring).

    calibration: ``digitize.calibrate.Calibration.to_dict()`` format: x1/x2 on the x-axis line
    at the lowest/highest x tick, y1/y2 on the y-axis line at the lowest/highest y tick, values
    as printed (y 100 on a percent axis). pixel_to_data: 3x3 homogeneous affine, image pixel
    (px, py, 1) -> (time in ``time_unit``, y as printed, 1). y_range/x_range: axis limits in
    printed units. x_ticks/y_ticks: {"value", "label", "px", "py", "bbox"} with (px, py) where
    the tick meets the axis line and bbox the label text box. legend: {"bbox", "loc",
    "entries": [{"arm", "label", "bbox" (text), "handle_bbox"}]}. risk_cells: {"arm", "time",
    "text", "bbox", "rgb"}; risk_row_labels: {"arm", "text", "bbox", "rgb"}; risk_time_row:
    {"time", "text", "bbox"} cells of the optional time row (its label in risk_time_label).
    """

    ipd: pd.DataFrame
    arms: list[str]
    colors: dict[str, tuple[int, int, int]]
    risk_table: RiskTable | None
    calibration: dict
    pixel_to_data: np.ndarray
    plot_area: tuple[int, int, int, int]
    censor_times: dict[str, np.ndarray]
    time_unit: str
    y_percent: bool
    y_range: tuple[float, float]
    x_range: tuple[float, float]
    x_ticks: list[dict]
    y_ticks: list[dict]
    legend: dict | None
    risk_cells: list[dict]
    risk_row_labels: list[dict] = field(default_factory=list)
    risk_time_row: list[dict] = field(default_factory=list)
    risk_time_label: dict | None = None
    risk_title: dict | None = None
    axis_titles: dict = field(default_factory=dict)   # {"x"|"y"|"title": {"text", "bbox"}}
    image_size: tuple[int, int] = (0, 0)               # (width, height) pixels
    line_width_px: float = 0.0
    censor_mark: str = "none"
    line_styles: dict[str, str] = field(default_factory=dict)

    # -- geometry helpers ---------------------------------------------------------------
    @property
    def data_to_pixel(self) -> np.ndarray:
        """3x3 affine (time, y as printed, 1) -> (px, py, 1)."""
        return np.linalg.inv(self.pixel_to_data)

    def to_pixel(self, time, y) -> tuple[np.ndarray, np.ndarray]:
        """Data (time units, y AS PRINTED, e.g. percent) -> image pixel (px, py)."""
        t, y = np.broadcast_arrays(np.asarray(time, float), np.asarray(y, float))
        m = self.data_to_pixel
        return m[0, 0] * t + m[0, 1] * y + m[0, 2], m[1, 0] * t + m[1, 1] * y + m[1, 2]

    def to_data(self, px, py) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel -> (time, y as printed)."""
        px, py = np.broadcast_arrays(np.asarray(px, float), np.asarray(py, float))
        m = self.pixel_to_data
        return m[0, 0] * px + m[0, 1] * py + m[0, 2], m[1, 0] * px + m[1, 1] * py + m[1, 2]

    def km(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        """True KM step corners (time, probability 0-1) of an arm, as drawn."""
        g = self.ipd[self.ipd["arm"] == arm]
        return km_corners(g["time"].to_numpy(), g["event"].to_numpy())

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        rt = None
        if self.risk_table is not None:
            rt = {"times": self.risk_table.times, "n_risk": self.risk_table.n_risk}
        d = {
            "ipd": {c: self.ipd[c].tolist() for c in ("arm", "time", "event")},
            "arms": list(self.arms),
            "colors": {a: list(map(int, c)) for a, c in self.colors.items()},
            "risk_table": rt,
            "calibration": self.calibration,
            "pixel_to_data": self.pixel_to_data,
            "plot_area": list(self.plot_area),
            "censor_times": self.censor_times,
            "time_unit": self.time_unit,
            "y_percent": bool(self.y_percent),
            "y_range": list(self.y_range),
            "x_range": list(self.x_range),
            "x_ticks": self.x_ticks,
            "y_ticks": self.y_ticks,
            "legend": self.legend,
            "risk_cells": self.risk_cells,
            "risk_row_labels": self.risk_row_labels,
            "risk_time_row": self.risk_time_row,
            "risk_time_label": self.risk_time_label,
            "risk_title": self.risk_title,
            "axis_titles": self.axis_titles,
            "image_size": list(self.image_size),
            "line_width_px": self.line_width_px,
            "censor_mark": self.censor_mark,
            "line_styles": self.line_styles,
        }
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: dict) -> "FigureTruth":
        rt = d.get("risk_table")
        risk = None
        if rt is not None:
            risk = RiskTable(
                times=np.asarray(rt["times"], float),
                n_risk={a: np.asarray([np.nan if v is None else v for v in c], float)
                        for a, c in rt["n_risk"].items()},
            )
        ipd = pd.DataFrame(d["ipd"])
        ipd["time"] = ipd["time"].astype(float)
        ipd["event"] = ipd["event"].astype(int)
        ipd["arm"] = ipd["arm"].astype(str)

        def bbox_lists(items):
            return [dict(it, bbox=tuple(it["bbox"])) if "bbox" in it else dict(it) for it in items]

        return cls(
            ipd=ipd,
            arms=list(d["arms"]),
            colors={a: tuple(int(x) for x in c) for a, c in d["colors"].items()},
            risk_table=risk,
            calibration=d["calibration"],
            pixel_to_data=np.asarray(d["pixel_to_data"], float),
            plot_area=tuple(int(v) for v in d["plot_area"]),
            censor_times={a: np.asarray(v, float) for a, v in d["censor_times"].items()},
            time_unit=d["time_unit"],
            y_percent=bool(d["y_percent"]),
            y_range=tuple(d["y_range"]),
            x_range=tuple(d["x_range"]),
            x_ticks=bbox_lists(d["x_ticks"]),
            y_ticks=bbox_lists(d["y_ticks"]),
            legend=d.get("legend"),
            risk_cells=bbox_lists(d.get("risk_cells", [])),
            risk_row_labels=bbox_lists(d.get("risk_row_labels", [])),
            risk_time_row=bbox_lists(d.get("risk_time_row", [])),
            risk_time_label=d.get("risk_time_label"),
            risk_title=d.get("risk_title"),
            axis_titles=d.get("axis_titles", {}),
            image_size=tuple(d.get("image_size", (0, 0))),
            line_width_px=float(d.get("line_width_px", 0.0)),
            censor_mark=d.get("censor_mark", "none"),
            line_styles=dict(d.get("line_styles", {})),
        )


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@dataclass
class RenderedFigure:
    """A rendered figure: image (HxWx3 uint8 RGB, after degradations), its truth and style."""

    image: np.ndarray
    truth: FigureTruth
    style: FigureStyle
    encoded: bytes | None = None      # the JPEG file bytes when style.jpeg_quality is set

    def save(self, directory, stem: str = "figure") -> dict[str, Path]:
        """Write the image (``<stem>.png`` or ``.jpg``: the exact bytes behind ``image``), the
        truth JSON (with the style under "style"), ``ipd.csv`` (arm,time,event),
        ``curves.csv`` (true KM corners arm,time,survival) and ``risk.csv`` (arm,time,n_risk,
        only when a table is drawn). With the default stem the side files are named
        ``truth.json``, ``ipd.csv``...; with another stem they are prefixed ``<stem>_``.
        Returns {"image", "truth", "ipd", "curves"[, "risk"]} -> path. Writes are atomic."""
        import cv2

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        pre = "" if stem == "figure" else f"{stem}_"
        out: dict[str, Path] = {}
        if self.encoded is not None:
            out["image"] = directory / f"{stem}.jpg"
            _atomic_write_bytes(out["image"], self.encoded)
        else:
            ok, buf = cv2.imencode(".png", cv2.cvtColor(self.image, cv2.COLOR_RGB2BGR))
            if not ok:
                raise OSError("PNG encoding failed")
            out["image"] = directory / f"{stem}.png"
            _atomic_write_bytes(out["image"], buf.tobytes())
        td = self.truth.to_dict()
        td["style"] = self.style.to_dict()
        out["truth"] = directory / f"{pre}truth.json"
        _atomic_write_bytes(out["truth"], json.dumps(td, indent=1).encode())
        out["ipd"] = directory / f"{pre}ipd.csv"
        _atomic_write_bytes(out["ipd"], self.truth.ipd.to_csv(index=False).encode())
        rows = []
        for arm in self.truth.arms:
            t, s = self.truth.km(arm)
            rows += [(arm, float(a), float(b)) for a, b in zip(t, s)]
        out["curves"] = directory / f"{pre}curves.csv"
        _atomic_write_bytes(out["curves"], pd.DataFrame(rows, columns=["arm", "time", "survival"])
                            .to_csv(index=False).encode())
        rt = self.truth.risk_table
        if rt is not None:
            rows = [(arm, float(t), int(n)) for arm in rt.arms
                    for t, n in zip(*rt.for_arm(arm))]
            out["risk"] = directory / f"{pre}risk.csv"
            _atomic_write_bytes(out["risk"], pd.DataFrame(rows, columns=["arm", "time", "n_risk"])
                                .to_csv(index=False).encode())
        return out


def load_saved(directory, stem: str = "figure") -> RenderedFigure:
    """Read back a figure written by :meth:`RenderedFigure.save` (image, truth and style)."""
    import cv2

    directory = Path(directory)
    pre = "" if stem == "figure" else f"{stem}_"
    truth_path = directory / f"{pre}truth.json"
    images = [directory / f"{stem}.{ext}" for ext in ("png", "jpg")]
    image_path = next((p for p in images if p.exists()), None)
    if image_path is None or not truth_path.exists():
        raise FigureSpecError(f"{directory} holds no saved figure '{stem}' "
                              f"(need {stem}.png|jpg and {truth_path.name})")
    try:
        d = json.loads(truth_path.read_text())
        truth = FigureTruth.from_dict(d)
        style = FigureStyle.from_dict(d.get("style", {}))
    except (ValueError, KeyError, TypeError) as exc:
        raise FigureSpecError(f"{truth_path} is not a valid figure truth file: {exc}") from exc
    raw = image_path.read_bytes()
    bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FigureSpecError(f"{image_path} cannot be decoded as an image")
    return RenderedFigure(image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), truth=truth, style=style,
                          encoded=raw if image_path.suffix == ".jpg" else None)


# ---------------------------------------------------------------------------------------------
# layout helpers

def _fmt_num(v: float) -> str:
    return ("%.6g" % v) if abs(v - round(v)) > 1e-9 else str(int(round(v)))


def _y_ticks(style: FigureStyle) -> np.ndarray:
    if style.y_ticks:
        return np.asarray(sorted(style.y_ticks), float)
    n = int(round((1.0 - style.y_min) / style.y_step))
    return np.round(style.y_min + style.y_step * np.arange(n + 1), 10)


def _y_label(v: float, style: FigureStyle) -> str:
    if style.y_percent:
        return _fmt_num(round(v * 100, 6)) + ("%" if style.y_percent_sign else "")
    return style.y_label_format % v


def _hex_rgb(c: str) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(int(round(x * 255)) for x in to_rgb(c))


def _arm_order(ipd: pd.DataFrame, style: FigureStyle) -> list[str]:
    present = list(dict.fromkeys(ipd["arm"].astype(str)))
    if style.arm_names:
        missing = [a for a in style.arm_names if a not in present]
        extra = [a for a in present if a not in style.arm_names]
        if missing or extra:
            raise FigureSpecError(f"style.arm_names {list(style.arm_names)} do not match the "
                                  f"IPD arms {present}")
        return list(style.arm_names)
    return present


def _check_ipd(ipd: pd.DataFrame) -> pd.DataFrame:
    missing = {"arm", "time", "event"} - set(ipd.columns)
    if missing:
        raise FigureSpecError(
            f"IPD needs columns arm, time, event (missing {sorted(missing)})")
    ipd = ipd[["arm", "time", "event"]].copy()
    ipd["arm"] = ipd["arm"].astype(str)
    ipd["time"] = ipd["time"].astype(float)
    ipd["event"] = ipd["event"].astype(int)
    if len(ipd) == 0 or (ipd["time"] <= 0).any() or not np.isfinite(ipd["time"]).all():
        raise FigureSpecError("IPD times must be finite and > 0, with at least one row")
    if not ipd["event"].isin([0, 1]).all():
        raise FigureSpecError("IPD event must be 0 or 1")
    return ipd


# ---------------------------------------------------------------------------------------------
# rendering

class _Scene:
    """A built matplotlib figure plus handles to every artist the truth needs."""

    def __init__(self, ipd: pd.DataFrame, style: FigureStyle, risk_times=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.style = style
        self.ipd = _check_ipd(ipd)
        self.arms = _arm_order(self.ipd, style)
        if len(self.arms) > len(style.colors) or len(self.arms) > len(style.line_styles):
            raise FigureSpecError(f"{len(self.arms)} arms but only {len(style.colors)} colours / "
                                  f"{len(style.line_styles)} line styles in the style")
        dpi = style.dpi
        self.width = int(round(style.width_in * dpi))
        self.height = int(round(style.height_in * dpi))
        self.yscale = 100.0 if style.y_percent else 1.0
        t_max = float(self.ipd["time"].max())
        self.x_max, self.x_step = x_axis_ticks(t_max, style)
        n_xt = int(round(self.x_max / self.x_step))
        self.xt = np.round(self.x_step * np.arange(n_xt + 1), 10)
        self.yt = _y_ticks(style)
        pad_x = style.axis_pad * self.x_max
        pad_y = style.axis_pad * (1.0 - style.y_min) * self.yscale
        self.xlim = (-pad_x, self.x_max + pad_x)
        self.ylim = (style.y_min * self.yscale - pad_y, self.yscale + pad_y)
        if risk_times is not None:
            self.risk_times = np.asarray(risk_times, float)
        elif style.risk_step_factor != 1.0:
            step = self.x_step * style.risk_step_factor
            self.risk_times = np.round(step * np.arange(int(self.x_max / step + 1e-9) + 1), 10)
        else:
            self.risk_times = self.xt

        # exact integer pixel size: the figure is width x height pixels at dpi
        self.fig = Figure(figsize=(self.width / dpi, self.height / dpi), dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes([0.15, 0.3, 0.8, 0.6])   # provisional; see _layout
        self.colors = {a: style.colors[i] for i, a in enumerate(self.arms)}
        self._draw_arms()
        self._style_axes()
        self._draw_risk_table()
        self.legend = None
        self.legend_labels = {}
        if style.legend_loc:
            for arm in self.arms:
                n = int((self.ipd["arm"] == arm).sum())
                self.legend_labels[arm] = f"{arm} (n={n})" if style.legend_show_n else arm
        self._layout()
        if style.legend_loc:  # after layout, so the curve-overlap test sees final positions
            self._place_legend()
        self.fig.canvas.draw()

    def _draw_arms(self):
        """KM step curves (ending at each arm's last follow-up), censor marks, CI bands."""
        style, ax = self.style, self.ax
        dpi = style.dpi
        self.lw_pt = style.line_width_px * 72.0 / dpi
        self.lines, self.censor = {}, {}
        for i, arm in enumerate(self.arms):
            g = self.ipd[self.ipd["arm"] == arm]
            t, e = g["time"].to_numpy(), g["event"].to_numpy()
            col = self.colors[arm]
            ls = _LINESTYLES[style.line_styles[i]]
            if style.bands:
                self._band(ax, t, e, col)
            kt, ks = km_corners(t, e)
            (line,) = ax.plot(kt, ks * self.yscale, color=col, lw=self.lw_pt, ls=ls, zorder=3,
                              solid_capstyle="butt", dash_capstyle="butt",
                              solid_joinstyle="miter", dash_joinstyle="miter")
            self.lines[arm] = line
            ct = np.unique(t[e == 0])
            self.censor[arm] = ct if style.censor_mark != "none" else np.empty(0)
            if style.censor_mark != "none" and ct.size:
                tab = km_table(t, e)
                idx = np.searchsorted(tab["time"].to_numpy(), ct, side="right") - 1
                sv = tab["survival"].to_numpy()[idx]
                ax.plot(ct, sv * self.yscale, ls="none", marker=style.censor_mark, color=col,
                        ms=style.censor_size_pt, mew=max(self.lw_pt, 0.6 * 72 / dpi), zorder=4)

    def _style_axes(self):
        style, ax = self.style, self.ax
        fs = style.font_size_pt
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_xticks(self.xt, [_fmt_num(v) for v in self.xt])
        ax.set_yticks(self.yt * self.yscale, [_y_label(v, style) for v in self.yt])
        ax.tick_params(direction=style.tick_direction, labelsize=fs, width=0.8, length=3.5)
        if style.spines == "L":
            ax.spines["top"].set_visible(False)
            ax.spines["right"].set_visible(False)
        if style.grid:
            ax.grid(True, color="#cccccc", lw=0.6, ls=_LINESTYLES[style.grid_style])
            ax.set_axisbelow(True)
        x_title = style.x_title or f"Time ({style.time_unit})"
        ax.set_xlabel(x_title, fontsize=fs)
        y_title = style.y_title + (" (%)" if style.y_percent and not style.y_percent_sign else "")
        ax.set_ylabel(y_title, fontsize=fs)
        if style.title:
            ax.set_title(style.title, fontsize=fs * 1.15)

    def _draw_risk_table(self):
        """Number-at-risk table: its own axes under the plot; cells share the plot's x
        transform so each column is centred on its time. Positions are fixed in _layout."""
        from matplotlib.transforms import blended_transform_factory

        style, ax, fig = self.style, self.ax, self.fig
        fs = style.font_size_pt
        self.rax = None
        self.cells, self.row_labels, self.time_cells = [], [], []
        self.time_label = self.header = None
        if style.risk_table:
            rows = (["__title__"] if style.risk_title else []) + \
                   (["__time__"] if style.risk_time_row else []) + self.arms
            self.n_rows = len(rows)
            self.row_h_pt = fs * 1.55
            rax = fig.add_axes([0.15, 0.02, 0.8, 0.2])
            rax.set_axis_off()
            self.rax = rax
            tr = blended_transform_factory(ax.transData, rax.transAxes)
            self.risk = {}
            for k, row in enumerate(rows):
                yc = 1.0 - (k + 0.5) / self.n_rows
                if row == "__title__":
                    self.header = rax.text(0, yc, style.risk_title, fontsize=fs, ha="left",
                                           va="center")
                elif row == "__time__":
                    self.time_label = rax.text(0, yc, style.time_unit.capitalize(), fontsize=fs,
                                               ha="right", va="center")
                    for tt in self.risk_times:
                        txt = rax.text(tt, yc, _fmt_num(tt), transform=tr, fontsize=fs,
                                       ha="center", va="center")
                        self.time_cells.append((tt, txt))
                else:
                    g = self.ipd[self.ipd["arm"] == row]
                    counts = number_at_risk(g["time"].to_numpy(), self.risk_times)
                    self.risk[row] = counts
                    ccol = self.colors[row] if style.risk_cells_colored else "black"
                    for tt, n in zip(self.risk_times, counts):
                        txt = rax.text(tt, yc, str(int(n)), transform=tr, fontsize=fs,
                                       ha="center", va="center", color=ccol)
                        self.cells.append((row, tt, txt))
                    lcol = self.colors[row] if style.risk_label_colored else "black"
                    lab = rax.text(0, yc, row, fontsize=fs, ha="right", va="center", color=lcol)
                    self.row_labels.append((row, lab))

    def _band(self, ax, t, e, col):
        from lifelines import KaplanMeierFitter

        kmf = KaplanMeierFitter().fit(t, e)
        ci = kmf.confidence_interval_
        tl = ci.index.to_numpy(float)
        lo = ci.iloc[:, 0].to_numpy(float)
        hi = ci.iloc[:, 1].to_numpy(float)
        keep = np.isfinite(lo) & np.isfinite(hi)
        ax.fill_between(tl[keep], lo[keep] * self.yscale, hi[keep] * self.yscale, step="post",
                        color=col, alpha=self.style.band_alpha, lw=0, zorder=2)

    # -- layout: two passes; measure text extents around the axes, then size the axes ----------
    def _texts_around(self):
        ax = self.ax
        items = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible()]
        items += [ax.xaxis.label, ax.yaxis.label]
        if self.style.title:
            items.append(ax.title)
        return items

    def _layout(self):
        from matplotlib.transforms import blended_transform_factory, offset_copy

        fig, ax, style = self.fig, self.ax, self.style
        dpi = style.dpi
        W, H = self.width, self.height
        pad = max(4.0, 0.02 * min(W, H))
        gap = style.font_size_pt * 0.8 * dpi / 72  # between the x-axis title and the table
        r = fig.canvas.get_renderer()
        for _ in range(2):
            fig.canvas.draw()
            axb = ax.get_window_extent(r)
            ext = [t.get_window_extent(r) for t in self._texts_around()]
            left = axb.x0 - min([e.x0 for e in ext] + [axb.x0])
            right = max([e.x1 for e in ext] + [axb.x1]) - axb.x1
            below = axb.y0 - min([e.y0 for e in ext] + [axb.y0])
            above = max([e.y1 for e in ext] + [axb.y1]) - axb.y1
            table_h = 0.0
            if self.rax is not None:
                # row labels sit left of the leftmost cell, with a gap of half the font size
                cell_x0 = min(t.get_window_extent(r).x0 for _, _, t in self.cells)
                shift_pt = min(0.0, (cell_x0 - axb.x0) * 72 / dpi) - style.font_size_pt * 0.6
                trl = offset_copy(blended_transform_factory(ax.transAxes, self.rax.transAxes),
                                  fig=fig, x=shift_pt, units="points")
                labs = [lab for _, lab in self.row_labels]
                if self.time_label is not None:
                    labs.append(self.time_label)
                for lab in labs:
                    lab.set_x(0.0)
                    lab.set_transform(trl)
                widths = [lab.get_window_extent(r).width for lab in labs]
                if self.header is not None:
                    wmax_pt = max(widths) * 72 / dpi
                    self.header.set_x(0.0)
                    self.header.set_transform(offset_copy(
                        blended_transform_factory(ax.transAxes, self.rax.transAxes), fig=fig,
                        x=min(shift_pt - wmax_pt, 0.0), units="points"))
                table_texts = labs + [t for _, _, t in self.cells] + [t for _, t in self.time_cells]
                if self.header is not None:
                    table_texts.append(self.header)
                text_ext = [t.get_window_extent(r) for t in table_texts]
                left = max(left, axb.x0 - min(e.x0 for e in text_ext))
                right = max(right, max(e.x1 for e in text_ext) - axb.x1)
                table_h = self.n_rows * self.row_h_pt * dpi / 72
            x0, x1 = pad + left, W - pad - right
            y0 = pad + below + (table_h + gap if table_h else 0.0)
            y1 = H - pad - above
            if x1 - x0 < 0.35 * W or y1 - y0 < 0.3 * H:
                raise FigureSpecError(
                    f"figure {W}x{H} px is too small for font size {style.font_size_pt} pt "
                    f"and a {('%d-row ' % self.n_rows) if self.rax else ''}risk table")
            ax.set_position([x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H])
            if self.rax is not None:
                self.rax.set_position([x0 / W, pad / H, (x1 - x0) / W, table_h / H])

    def _curve_display_points(self) -> np.ndarray:
        pts = []
        for line in self.lines.values():
            x, y = line.get_data()
            x, y = np.asarray(x, float), np.asarray(y, float)
            for i in range(len(x) - 1):  # densify each segment
                k = np.linspace(0, 1, 12)
                pts.append(np.column_stack([x[i] + k * (x[i + 1] - x[i]),
                                            y[i] + k * (y[i + 1] - y[i])]))
        if not pts:
            return np.empty((0, 2))
        return self.ax.transData.transform(np.vstack(pts))

    def _place_legend(self):
        style, ax = self.style, self.ax
        r = self.fig.canvas.get_renderer()
        handles = [self.lines[a] for a in self.arms]
        labels = [self.legend_labels[a] for a in self.arms]
        locs = [style.legend_loc] + [loc for loc in LEGEND_LOCS if loc != style.legend_loc]
        if not style.legend_avoid_curves:
            locs = locs[:1]
        pts = self._curve_display_points()
        self.legend_loc = locs[0]
        for loc in locs:
            leg = ax.legend(handles, labels, loc=loc, frameon=style.legend_frame,
                            fontsize=style.font_size_pt, handlelength=2.0, framealpha=1.0,
                            edgecolor="#444444", fancybox=False)
            self.fig.canvas.draw()
            bb = leg.get_window_extent(r).padded(2)
            inside = (pts[:, 0] >= bb.x0) & (pts[:, 0] <= bb.x1) & \
                     (pts[:, 1] >= bb.y0) & (pts[:, 1] <= bb.y1)
            if not inside.any():
                self.legend_loc = loc
                break
        else:
            leg = ax.legend(handles, labels, loc=locs[0], frameon=style.legend_frame,
                            fontsize=style.font_size_pt, handlelength=2.0, framealpha=1.0,
                            edgecolor="#444444", fancybox=False)
        self.legend = leg

    # -- truth ------------------------------------------------------------------------------
    def raster(self) -> np.ndarray:
        buf = np.asarray(self.fig.canvas.buffer_rgba())
        if buf.shape[:2] != (self.height, self.width):
            raise RuntimeError(f"rendered {buf.shape[1]}x{buf.shape[0]}, expected "
                               f"{self.width}x{self.height}")
        return buf[..., :3].copy()

    def _img_pt(self, dx, dy):
        return float(dx) - 0.5, float(self.height - dy) - 0.5

    def _bbox(self, artist) -> tuple[float, float, float, float]:
        e = artist.get_window_extent(self.fig.canvas.get_renderer())
        x0, y1 = self._img_pt(e.x0, e.y0)
        x1, y0 = self._img_pt(e.x1, e.y1)
        return (x0, y0, x1, y1)

    def _data_to_img(self, x, y):
        d = self.ax.transData.transform(np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]))
        return d[:, 0] - 0.5, self.height - d[:, 1] - 0.5

    def truth(self) -> FigureTruth:
        style, ax = self.style, self.ax
        # data (time, y printed) -> image affine from three points
        px, py = self._data_to_img([0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
        d2p = np.array([[px[1] - px[0], px[2] - px[0], px[0]],
                        [py[1] - py[0], py[2] - py[0], py[0]],
                        [0.0, 0.0, 1.0]])
        p2d = np.linalg.inv(d2p)

        def axis_point(t, y, value):
            a, b = self._data_to_img(t, y)
            return {"px": float(a[0]), "py": float(b[0]), "value": float(value)}

        xv, yv = self.xt, self.yt * self.yscale
        calib = {
            "x1": axis_point(xv[0], self.ylim[0], xv[0]),
            "x2": axis_point(xv[-1], self.ylim[0], xv[-1]),
            "y1": axis_point(self.xlim[0], yv[0], yv[0]),
            "y2": axis_point(self.xlim[0], yv[-1], yv[-1]),
            "log_x": False, "no_rotation": False, "y_percent": bool(style.y_percent),
        }
        x_ticks = []
        for v, lab in zip(xv, ax.get_xticklabels()):
            a, b = self._data_to_img(v, self.ylim[0])
            x_ticks.append({"value": float(v), "label": lab.get_text(), "px": float(a[0]),
                            "py": float(b[0]), "bbox": self._bbox(lab)})
        y_ticks = []
        for v, lab in zip(yv, ax.get_yticklabels()):
            a, b = self._data_to_img(self.xlim[0], v)
            y_ticks.append({"value": float(v), "label": lab.get_text(), "px": float(a[0]),
                            "py": float(b[0]), "bbox": self._bbox(lab)})
        legend = None
        if self.legend is not None:
            entries = []
            for arm, txt, h in zip(self.arms, self.legend.get_texts(), self.legend.legend_handles):
                entries.append({"arm": arm, "label": txt.get_text(), "bbox": self._bbox(txt),
                                "handle_bbox": self._bbox(h)})
            legend = {"bbox": self._bbox(self.legend), "loc": self.legend_loc,
                      "entries": entries}
        colors = {a: _hex_rgb(self.colors[a]) for a in self.arms}
        risk_cells, row_labels, time_row = [], [], []
        risk_table = None
        if self.rax is not None:
            risk_table = RiskTable(times=self.risk_times,
                                   n_risk={a: self.risk[a].astype(float) for a in self.arms})
            for arm, tt, txt in self.cells:
                risk_cells.append({"arm": arm, "time": float(tt), "text": txt.get_text(),
                                   "bbox": self._bbox(txt), "rgb": _hex_rgb(txt.get_color())})
            for arm, lab in self.row_labels:
                row_labels.append({"arm": arm, "text": lab.get_text(), "bbox": self._bbox(lab),
                                   "rgb": _hex_rgb(lab.get_color())})
            for tt, txt in self.time_cells:
                time_row.append({"time": float(tt), "text": txt.get_text(),
                                 "bbox": self._bbox(txt)})
        def text_box(t):
            return {"text": t.get_text(), "bbox": self._bbox(t)}

        titles = {"x": text_box(ax.xaxis.label), "y": text_box(ax.yaxis.label)}
        if style.title:
            titles["title"] = text_box(ax.title)
        axb = self._bbox(ax)
        return FigureTruth(
            ipd=self.ipd.reset_index(drop=True),
            arms=list(self.arms),
            colors=colors,
            risk_table=risk_table,
            calibration=calib,
            pixel_to_data=p2d,
            plot_area=tuple(int(round(v)) for v in axb),
            censor_times={a: self.censor[a] for a in self.arms},
            time_unit=style.time_unit,
            y_percent=bool(style.y_percent),
            y_range=(float(self.ylim[0]), float(self.ylim[1])),
            x_range=(float(self.xlim[0]), float(self.xlim[1])),
            x_ticks=x_ticks,
            y_ticks=y_ticks,
            legend=legend,
            risk_cells=risk_cells,
            risk_row_labels=row_labels,
            risk_time_row=time_row,
            risk_time_label=text_box(self.time_label) if self.time_label is not None else None,
            risk_title=text_box(self.header) if self.header is not None else None,
            axis_titles=titles,
            image_size=(self.width, self.height),
            line_width_px=float(style.line_width_px),
            censor_mark=style.censor_mark,
            line_styles={a: style.line_styles[i] for i, a in enumerate(self.arms)},
        )


def _rc(style: FigureStyle) -> dict:
    return {"path.snap": False, "font.family": [style.font, "DejaVu Sans"],
            "axes.linewidth": 0.8, "text.antialiased": True, "lines.antialiased": True,
            "pdf.fonttype": 42, "mathtext.default": "regular"}


def _build(ipd, style, risk_times):
    """Render inside the rc context (path.snap is read at draw time). Returns (scene, image)."""
    import matplotlib

    with matplotlib.rc_context(_rc(style)):
        scene = _Scene(ipd, style, risk_times)
        return scene, scene.raster(), scene.truth()


# ---------------------------------------------------------------------------------------------
# degradations (each keeps the truth exact)

def _affine_points(m: np.ndarray, x, y):
    return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]


def _map_bbox(m, bbox):
    x0, y0, x1, y1 = bbox
    xs, ys = _affine_points(m, np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]))
    return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def transform_truth(truth: FigureTruth, m: np.ndarray, size: tuple[int, int] | None = None
                    ) -> FigureTruth:
    """Truth for an image warped by the 3x3 pixel affine ``m`` (old pixel -> new pixel)."""
    import copy

    t = copy.deepcopy(truth)
    for k in ("x1", "x2", "y1", "y2"):
        p = t.calibration[k]
        p["px"], p["py"] = map(float, _affine_points(m, p["px"], p["py"]))
    t.pixel_to_data = truth.pixel_to_data @ np.linalg.inv(m)
    t.plot_area = tuple(int(round(v)) for v in _map_bbox(m, truth.plot_area))
    for tick in t.x_ticks + t.y_ticks:
        tick["px"], tick["py"] = map(float, _affine_points(m, tick["px"], tick["py"]))
        tick["bbox"] = _map_bbox(m, tick["bbox"])
    for item in t.risk_cells + t.risk_row_labels + t.risk_time_row:
        item["bbox"] = _map_bbox(m, item["bbox"])
    for d in [t.risk_time_label, t.risk_title] + list(t.axis_titles.values()):
        if d is not None:
            d["bbox"] = _map_bbox(m, d["bbox"])
    if t.legend is not None:
        t.legend["bbox"] = _map_bbox(m, t.legend["bbox"])
        for e in t.legend["entries"]:
            e["bbox"] = _map_bbox(m, e["bbox"])
            e["handle_bbox"] = _map_bbox(m, e["handle_bbox"])
    if size is not None:
        t.image_size = tuple(size)
    return t


def scale_truth(truth: FigureTruth, factor: float) -> FigureTruth:
    """Truth for the same figure rasterised at ``factor`` times the pixel density (e.g. a PDF
    page rendered at dpi D when the truth is at style.dpi: factor = D / style.dpi). Pixel
    centres map as (p + 0.5) * factor - 0.5."""
    f = float(factor)
    m = np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5], [0.0, 0.0, 1.0]])
    w, h = truth.image_size
    out = transform_truth(truth, m, (int(round(w * f)), int(round(h * f))))
    out.line_width_px = truth.line_width_px * f
    return out


def _degrade(image: np.ndarray, truth: FigureTruth, style: FigureStyle):
    import cv2

    h, w = image.shape[:2]
    encoded = None
    if style.rotation_deg:
        m2 = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(style.rotation_deg), 1.0)
        image = cv2.warpAffine(image, m2, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
        truth = transform_truth(truth, np.vstack([m2, [0.0, 0.0, 1.0]]), (w, h))
    if style.noise_sigma > 0:
        rng = np.random.default_rng(style.seed)
        noisy = image.astype(np.float32) + rng.normal(0.0, style.noise_sigma, image.shape)
        image = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    if style.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(style.jpeg_quality)])
        if not ok:
            raise OSError("JPEG encoding failed")
        encoded = buf.tobytes()
        image = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image), truth, encoded


# ---------------------------------------------------------------------------------------------
# public API

def render_figure(ipd: pd.DataFrame, style: FigureStyle, risk_times=None) -> RenderedFigure:
    """Render a KM figure of ``ipd`` (arm, time, event; time in style.time_unit) in ``style``.

    risk_times: times (x units) of the number-at-risk columns; default the x ticks.
    Each curve ends at its arm's last follow-up time. Censor marks are drawn at every distinct
    censored time, on the curve. Degradations (rotation, noise, JPEG) follow in that order.
    """
    scene, image, truth = _build(ipd, style, risk_times)
    image, truth, encoded = _degrade(image, truth, style)
    return RenderedFigure(image=image, truth=truth, style=style, encoded=encoded)


def render_pdf(ipd: pd.DataFrame, style: FigureStyle, path) -> FigureTruth:
    """Write the figure as a one-page vector PDF and return its truth.

    The page is width_in x height_in inches (72 PDF points per inch). The truth is in pixels of
    the page rasterised at ``style.dpi`` (e.g. ``digitize.image.load_image(path, dpi=style.dpi)``
    or pypdfium2 ``page.render(scale=style.dpi / 72)``), without the raster degradations
    (rotation, noise, JPEG), which a vector page does not have. For another dpi D use
    ``scale_truth(truth, D / style.dpi)``.
    """
    import io

    import matplotlib

    with matplotlib.rc_context(_rc(style)):
        scene = _Scene(ipd, style, None)
        truth = scene.truth()
        # PDF readers hold the page size as float32 and pypdfium2 sizes the bitmap with ceil():
        # a page of exactly W/dpi inches can come out 1 px larger, and the page is then
        # stretched onto it (0.9 px error at the bottom). A page 1e-6 inch smaller rasterises to
        # exactly W x H pixels; the layout changes by < 0.001 px.
        scene.fig.set_size_inches(scene.width / style.dpi - 1e-6, scene.height / style.dpi - 1e-6)
        buf = io.BytesIO()
        scene.fig.savefig(buf, format="pdf")
    path = Path(path)
    _atomic_write_bytes(path, buf.getvalue())
    return truth


def generate_set(n: int, seed: int = 0, tiers=("clean", "typical", "hard")
                 ) -> Iterator[RenderedFigure]:
    """``n`` random figures cycling through ``tiers``; figure i uses rng seed (seed, i), so a
    figure does not depend on how many were generated before it."""
    tiers = tuple(tiers)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        ipd, style = random_case(rng, tiers[i % len(tiers)])
        yield render_figure(ipd, style)
