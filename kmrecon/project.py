"""The KMRecon project file: one plain-JSON document holding the image and every edit.

A project records what the user did, in image pixels where it was drawn (so re-calibrating
moves the data, as in Engauge): the image (embedded as base64 PNG, or referenced by path
with its SHA-256), the four calibration points (possibly incomplete while the user is still
clicking), the arms (name, colour, tolerance, step-corner points and censor marks in pixels,
N and D, how surely the digitizer read corners and marks), mask shapes, the number-at-risk grid as typed (text cells, so an invalid cell is
kept and shown rather than lost), settings, and the last reconstruction (IPD).

Files are validated on load (:class:`ProjectError` names the bad field) and written
atomically (temporary file in the same directory + ``os.replace``). Never pickle.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kmrecon.data import ArmData, RiskTable
from kmrecon.errors import KMReconError
from kmrecon.jsonio import atomic_path, file_sha256  # noqa: F401  (file_sha256 re-exported for gui)

FORMAT = "kmrecon-project"
VERSION = 1
CALIBRATION_KEYS = ("x1", "x2", "y1", "y2")


class ProjectError(KMReconError):
    """A project file is missing, not JSON, or has a bad field (the message names it)."""


#: largest project file read (bytes); an embedded 100-megapixel PNG is well below
MAX_PROJECT_BYTES = 1 << 30
#: largest pixel coordinate accepted in a project (images are at most 100 megapixels)
MAX_COORD = 1e7
#: largest N, D or number at risk per arm (as the command line: reconstruct.io.MAX_PATIENTS)
MAX_PATIENTS = 10_000_000


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value, where: str, lo: float | None = None, hi: float | None = None,
            integer: bool = False) -> float:
    """A JSON number (not a bool or text), finite (1e400 reads as infinity), within [lo, hi],
    whole if ``integer``; ProjectError naming ``where`` otherwise."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProjectError(f"{where}: expected {kind}, got {_show(value)}")
    if not math.isfinite(value) or (integer and value != int(value)):
        raise ProjectError(f"{where}: expected {kind}, got {_show(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"{lo:g}" if hi is None else f"{lo:g}-{hi:g}" if lo is not None else f"at most {hi:g}"
        raise ProjectError(f"{where}: {value:g} is out of range ({rng if hi is not None else 'at least ' + rng})")
    return int(value) if integer else float(value)


def _text(value, where: str, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ProjectError(f"{where}: expected text, got {_show(value)}")
    return value


def _points(value, where: str) -> np.ndarray:
    if value is not None and not isinstance(value, (list, tuple, np.ndarray)):
        raise ProjectError(f"{where}: expected a list of [x, y] pixel pairs, got {_show(value)}")
    try:
        arr = np.asarray(value if value is not None else [], dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ProjectError(f"{where}: expected a list of [x, y] pixel pairs") from None
    if not np.all(np.isfinite(arr)) or (arr.size and float(np.max(np.abs(arr))) > MAX_COORD):
        raise ProjectError(f"{where}: pixel coordinates must be finite numbers within +-{MAX_COORD:g}")
    return arr


def _read_marks(value, where: str) -> tuple[tuple[float, float, float], ...]:
    """Validated [[x, y, reliability], ...]: pixels as :func:`_points`, reliability in 0-1."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, (list, tuple)) and len(m) == 3 for m in value):
        raise ProjectError(f"{where}: expected a list of [x, y, reliability] triples")
    xy = _points([m[:2] for m in value], where)
    rel = [_number(m[2], f"{where}[{j}] reliability", 0, 1) for j, m in enumerate(value)]
    return tuple((float(x), float(y), r) for (x, y), r in zip(xy, rel))


def _opt_int(value, where: str) -> int | None:
    if value is None:
        return None
    return _number(value, where, 0, MAX_PATIENTS, integer=True)


@dataclass
class ImageRef:
    """Where the figure comes from. ``png_base64`` embeds it; otherwise ``path`` (+ ``sha256`` of
    the file's bytes, checked on load) with the PDF ``page``/``dpi`` and an optional ``crop``
    (x0, y0, x1, y1) in rendered pixels."""

    path: str | None = None
    sha256: str | None = None
    page: int = 0
    dpi: int = 200
    crop: tuple[int, int, int, int] | None = None
    png_base64: str | None = None

    def to_dict(self) -> dict:
        out = {"path": self.path, "sha256": self.sha256, "page": self.page, "dpi": self.dpi,
               "crop": list(self.crop) if self.crop else None, "png_base64": self.png_base64}
        if self.png_base64:  # checked on load: a damaged embedded image is refused, not shown
            out["png_sha256"] = hashlib.sha256(self.png_base64.encode("ascii")).hexdigest()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "ImageRef":
        if not isinstance(d, dict):
            raise ProjectError("image: expected an object")
        from digitize.image import DPI_RANGE

        crop = d.get("crop")
        if crop is not None:
            if not isinstance(crop, list) or len(crop) != 4:
                raise ProjectError("image.crop: expected [x0, y0, x1, y1] in pixels")
            crop = tuple(_number(v, f"image.crop[{i}]", 0, MAX_COORD, integer=True) for i, v in enumerate(crop))
            if crop[2] <= crop[0] or crop[3] <= crop[1]:
                raise ProjectError(f"image.crop {list(crop)}: x1 must be right of x0 and y1 below y0 "
                                   "(an empty crop); open the figure again and crop it")
        sha = _text(d.get("sha256"), "image.sha256")
        for key in ("sha256", "png_sha256"):
            v = _text(d.get(key), f"image.{key}")
            if v is not None and (len(v) != 64 or any(c not in "0123456789abcdefABCDEF" for c in v)):
                raise ProjectError(f"image.{key}: expected 64 hexadecimal digits")
        ref = cls(path=_text(d.get("path"), "image.path"), sha256=sha,
                  page=_number(d.get("page", 0), "image.page", 0, 100_000, integer=True),
                  dpi=_number(d.get("dpi", 200), "image.dpi", DPI_RANGE[0], DPI_RANGE[1], integer=True),
                  crop=crop, png_base64=_text(d.get("png_base64"), "image.png_base64"))
        if ref.path is not None and not ref.path.strip():
            raise ProjectError("image.path: empty; give the figure's file name or embed the image")
        if ref.path is None and ref.png_base64 is None:
            raise ProjectError("image: needs either an embedded png_base64 or a path")
        if ref.png_base64 is not None:
            _png_size(ref.png_base64)  # readable PNG within the pixel limit, checked before any decoding
        png_sha = d.get("png_sha256")
        if png_sha and ref.png_base64:
            got = hashlib.sha256(ref.png_base64.encode("ascii", "replace")).hexdigest()
            if got != png_sha.lower():
                raise ProjectError("image.png_base64: the embedded image does not match its png_sha256 "
                                   "(the file was damaged or edited); restore a backup or re-open the figure")
        return ref


@dataclass
class ArmState:
    """One arm as edited: ``points_px`` (N, 2) step corners and ``censor_px`` (M, 2) censor marks,
    both in image pixels (x right, y down); ``tolerance`` is a Lab ΔE (None = adaptive)."""

    name: str
    rgb: tuple[int, int, int] = (0, 0, 0)
    tolerance: float | None = None
    points_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    censor_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    n_total: int | None = None
    total_events: int | None = None
    #: a pixel (x, y) on its curve (clicked), and its line style (solid|dashed|dotted|dashdot|thick):
    #: either tells arms of one colour apart (digitize.extract.ArmSpec)
    at: tuple[float, float] | None = None
    style: str | None = None
    #: image pixels (x, y) of censor marks known to be this arm's (zero-click: where its legend
    #: key's symbol is drawn), or None; they tell arms of one colour and one style apart
    marks: tuple[tuple[float, float], ...] | None = None
    #: how surely the digitizer read a corner, in pixels (standard uncertainty from the traced
    #: line width: digitize.extract.corner_sd_px), or None for coordinates taken as exact
    corner_sd_px: float | None = None
    #: censor marks as the digitizer read them: (x, y, reliability 0-1) in image pixels; a mark
    #: of ``censor_px`` still at one of these places keeps its reliability, one a person placed
    #: or moved counts as sure (1)
    read_marks: tuple[tuple[float, float, float], ...] | None = None

    def __post_init__(self):
        self.points_px = _points(self.points_px, f"arm '{self.name}' points")
        if self.marks is not None:
            self.marks = tuple((float(x), float(y)) for x, y in self.marks)
        if self.read_marks is not None:
            self.read_marks = tuple((float(x), float(y), float(r)) for x, y, r in self.read_marks)
        self.censor_px = _points(self.censor_px, f"arm '{self.name}' censor marks")
        self.rgb = tuple(int(c) for c in self.rgb)

    def copy(self) -> "ArmState":
        return copy.deepcopy(self)

    def to_dict(self) -> dict:
        return {"name": self.name, "rgb": list(self.rgb), "tolerance": self.tolerance,
                "points_px": self.points_px.round(3).tolist(),
                "censor_px": self.censor_px.round(3).tolist(),
                "n_total": self.n_total, "total_events": self.total_events,
                "at": None if self.at is None else [float(v) for v in self.at], "style": self.style,
                "marks": None if self.marks is None else [[round(x, 3), round(y, 3)] for x, y in self.marks],
                "corner_sd_px": self.corner_sd_px,
                "read_marks": None if self.read_marks is None
                else [[round(x, 3), round(y, 3), round(r, 4)] for x, y, r in self.read_marks]}

    def censor_reliability(self) -> np.ndarray | None:
        """Per mark of ``censor_px``: the reliability it was read with if it is still where the
        digitizer found it (within half a pixel), else 1 (placed or moved by a person); None
        when no mark was read by the digitizer (every mark as given)."""
        if not self.read_marks or not len(self.censor_px):
            return None
        read = np.asarray(self.read_marks, float)
        d = np.hypot(self.censor_px[:, None, 0] - read[None, :, 0], self.censor_px[:, None, 1] - read[None, :, 1])
        near = np.argmin(d, axis=1)
        return np.where(d[np.arange(len(near)), near] <= 0.5, read[near, 2], 1.0)

    @classmethod
    def from_dict(cls, d: dict, i: int) -> "ArmState":
        where = f"arms[{i}]"
        if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"].strip():
            raise ProjectError(f"{where}.name: each arm needs a non-empty name (text)")
        rgb = d.get("rgb", [0, 0, 0])
        if not isinstance(rgb, list) or len(rgb) != 3:
            raise ProjectError(f"{where}.rgb: expected three integers 0-255")
        rgb = tuple(_number(c, f"{where}.rgb[{j}]", 0, 255, integer=True) for j, c in enumerate(rgb))
        tol = d.get("tolerance")
        if tol is not None:
            tol = _number(tol, f"{where}.tolerance", 0, 100)
            if tol <= 0:
                raise ProjectError(f"{where}.tolerance: expected a positive number or null")
        n_total = _opt_int(d.get("n_total"), f"{where}.n_total")
        events = _opt_int(d.get("total_events"), f"{where}.total_events")
        if n_total is not None and events is not None and events > n_total:
            raise ProjectError(f"{where}.total_events: {events} events is more than n_total = {n_total}")
        at = d.get("at")
        if at is not None and (not isinstance(at, (list, tuple)) or len(at) != 2
                               or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in at)):
            raise ProjectError(f"{where}.at: expected two pixel numbers [x, y] or null")
        style = d.get("style")
        if style is not None and style not in ("solid", "dashed", "dotted", "dashdot", "thick"):
            raise ProjectError(f"{where}.style: expected solid, dashed, dotted, dashdot, thick or null")
        marks = d.get("marks")
        if marks is not None:
            marks = tuple(map(tuple, _points(marks, f"{where}.marks")))
        sd_px = d.get("corner_sd_px")
        if sd_px is not None:
            sd_px = _number(sd_px, f"{where}.corner_sd_px", 0, 100)
        read = d.get("read_marks")
        if read is not None:
            read = _read_marks(read, f"{where}.read_marks")
        return cls(name=str(d["name"]), rgb=rgb, tolerance=tol, corner_sd_px=sd_px, read_marks=read,
                   at=None if at is None else (float(at[0]), float(at[1])), style=style, marks=marks,
                   points_px=_points(d.get("points_px"), f"{where}.points_px"),
                   censor_px=_points(d.get("censor_px"), f"{where}.censor_px"),
                   n_total=n_total, total_events=events)


@dataclass
class MaskShape:
    """A region excluded from detection: ``kind`` "rect" with ``points`` [[x0, y0], [x1, y1]], or
    "brush" with the stroke's centre points and ``radius`` (pixels)."""

    kind: str
    points: list[tuple[float, float]]
    radius: float = 0.0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "points": [list(map(float, p)) for p in self.points],
                "radius": self.radius}

    @classmethod
    def from_dict(cls, d: dict, i: int) -> "MaskShape":
        if not isinstance(d, dict) or d.get("kind") not in ("rect", "brush"):
            raise ProjectError(f"masks[{i}].kind: expected 'rect' or 'brush'")
        pts = _points(d.get("points"), f"masks[{i}].points")
        if d["kind"] == "rect" and len(pts) != 2:
            raise ProjectError(f"masks[{i}]: a rectangle needs two corner points")
        return cls(kind=d["kind"], points=[tuple(p) for p in pts.tolist()],
                   radius=_number(d.get("radius", 0.0), f"masks[{i}].radius", 0, 10_000))


def rasterize_masks(masks: list[MaskShape], shape: tuple[int, int]) -> np.ndarray | None:
    """Bool HxW array, True where detection must ignore pixels; None when there are no masks."""
    if not masks:
        return None
    import cv2

    canvas = np.zeros(shape[:2], np.uint8)
    for m in masks:
        pts = np.asarray(m.points, float)
        if m.kind == "rect":
            (x0, x1), (y0, y1) = np.sort(pts[:, 0]), np.sort(pts[:, 1])
            cv2.rectangle(canvas, (int(x0), int(y0)), (int(math.ceil(x1)), int(math.ceil(y1))), 1, -1)
        else:
            r = max(1, int(round(m.radius)))
            ipts = np.round(pts).astype(np.int32)
            for p in ipts:
                cv2.circle(canvas, (int(p[0]), int(p[1])), r, 1, -1)
            if len(ipts) > 1:
                cv2.polylines(canvas, [ipts.reshape(-1, 1, 2)], False, 1, thickness=2 * r)
    return canvas.astype(bool)


@dataclass
class RiskGrid:
    """The number-at-risk table as typed: ``times`` header cells and one row of cells per arm.
    Cells are text so that an invalid entry survives a save; see :func:`validate_risk_grid`."""

    times: list[str] = field(default_factory=list)
    rows: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"times": list(self.times), "rows": {k: list(v) for k, v in self.rows.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "RiskGrid":
        if not isinstance(d, dict):
            raise ProjectError("risk_table: expected an object with 'times' and 'rows'")
        raw_times = d.get("times", [])
        if not isinstance(raw_times, list) or len(raw_times) > 10_000:
            raise ProjectError("risk_table.times: expected a list of time cells")
        times = [_cell(t, "risk_table.times") for t in raw_times]
        raw_rows = d.get("rows") or {}
        if not isinstance(raw_rows, dict):
            raise ProjectError("risk_table.rows: expected an object {arm: [cells]}")
        rows = {}
        for arm, cells in raw_rows.items():
            if not isinstance(cells, list):
                raise ProjectError(f"risk_table row '{arm}': expected a list of cells")
            cells = [_cell(c, f"risk_table row '{arm}'") for c in cells]
            if len(cells) != len(times):
                raise ProjectError(f"risk_table row '{arm}': {len(cells)} cells for {len(times)} times")
            rows[str(arm)] = cells
        return cls(times=times, rows=rows)

    def is_empty(self) -> bool:
        return not any(c.strip() for c in self.times) and not any(
            c.strip() for row in self.rows.values() for c in row)


def _cell(value, where: str) -> str:
    """A risk-table cell as typed: text, or a number/null written by hand (kept as text)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ProjectError(f"{where}: cells must be text or numbers, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProjectError(f"{where}: {_show(value)} is not a finite number")
    return value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _parse_number(text: str) -> float | None:
    text = text.strip().replace("\u2212", "-")
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def validate_risk_grid(grid: RiskGrid, n_totals: dict[str, int | None] | None = None
                       ) -> tuple[RiskTable | None, dict[tuple[int, int], str]]:
    """Parse the grid into a :class:`RiskTable` and list what is wrong, cell by cell.

    Returns (table or None, errors) where errors maps (row, column) -> reason; row 0 is the
    time header, row i >= 1 is the i-th arm row. Rules: times numeric, >= 0 and increasing;
    counts whole numbers >= 0, non-increasing along the row, and not above the arm's N.
    Columns whose time cell and counts are all blank are ignored.
    """
    errors: dict[tuple[int, int], str] = {}
    arms = list(grid.rows)
    keep_cols = [j for j in range(len(grid.times))
                 if grid.times[j].strip() or any(grid.rows[a][j].strip() for a in arms)]
    times = np.full(len(grid.times), np.nan)
    for j in keep_cols:
        try:
            t = _parse_number(grid.times[j])
        except ValueError:
            errors[(0, j)] = f"time '{grid.times[j]}' is not a number"
            continue
        if t is None:
            errors[(0, j)] = "time is missing for this column"
        elif t < 0:
            errors[(0, j)] = "time must not be negative"
        else:
            times[j] = t
    prev_t = -np.inf
    for j in keep_cols:
        if np.isfinite(times[j]):
            if times[j] <= prev_t:
                errors[(0, j)] = f"times must increase left to right ({times[j]:g} after {prev_t:g})"
            prev_t = max(prev_t, times[j])
    counts: dict[str, np.ndarray] = {}
    for i, arm in enumerate(arms, start=1):
        row = np.full(len(grid.times), np.nan)
        prev = np.inf
        n_total = (n_totals or {}).get(arm)
        for j in keep_cols:
            text = grid.rows[arm][j]
            try:
                v = _parse_number(text)
            except ValueError:
                errors[(i, j)] = f"'{text}' is not a number"
                continue
            if v is None:
                continue
            if v < 0 or v != int(v):
                errors[(i, j)] = f"number at risk must be a whole number >= 0 (got {text.strip()})"
                continue
            why = []
            if v > prev:
                why.append(f"number at risk cannot rise over time ({v:g} after {prev:g})")
            if n_total is not None and v > n_total:
                why.append(f"{v:g} at risk is more than the arm's N = {n_total}")
            if why:
                errors[(i, j)] = "; ".join(why)
            prev = min(prev, v)
            row[j] = v
        counts[arm] = row
    if errors or not keep_cols:
        return None, errors
    cols = np.asarray(keep_cols)
    table = RiskTable(times=times[cols], n_risk={a: counts[a][cols] for a in arms})
    return table, errors


@dataclass
class Project:
    """Everything a session holds; see the module docstring for units."""

    image: ImageRef | None = None
    calibration: dict = field(default_factory=dict)   # Calibration.to_dict() format, may be partial
    arms: list[ArmState] = field(default_factory=list)
    masks: list[MaskShape] = field(default_factory=list)
    risk_table: RiskGrid = field(default_factory=RiskGrid)
    settings: dict = field(default_factory=lambda: {"method": "default", "time_unit": "",
                                                    "study": "", "subgroup": ""})
    reconstruction: dict | None = None    # {"ipd": {arm, time, event lists}, "diagnostics": {...}, "inputs": hash}

    # -- calibration -------------------------------------------------------------------
    def calibration_complete(self) -> bool:
        return all(isinstance(self.calibration.get(k), dict)
                   and self.calibration[k].get("value") is not None for k in CALIBRATION_KEYS)

    def build_calibration(self):
        """The :class:`digitize.calibrate.Calibration` of the four points (CalibrationError if
        they are degenerate); None while points or values are missing."""
        if not self.calibration_complete():
            return None
        from digitize.calibrate import Calibration

        return Calibration.from_dict(self.calibration)

    # -- reconstruction inputs -----------------------------------------------------------
    def arm_data(self) -> list[ArmData]:
        """ArmData per arm (data units) from the pixel points, the calibration and the risk grid.
        Raises KMReconError naming what is missing."""
        cal = self.build_calibration()
        if cal is None:
            raise ProjectError("calibrate the axes first: place X1, X2, Y1, Y2 and type their values")
        table, errors = validate_risk_grid(self.risk_table, {a.name: a.n_total for a in self.arms})
        if errors:
            (r, c), why = sorted(errors.items())[0]
            where = "time row" if r == 0 else f"row '{list(self.risk_table.rows)[r - 1]}'"
            raise ProjectError(f"risk table {where}, column {c + 1}: {why}")
        out = []
        for arm in self.arms:
            if len(arm.points_px) < 2:
                raise ProjectError(f"arm '{arm.name}' has fewer than 2 curve points: detect or add them")
            t, s = cal.to_data(arm.points_px[:, 0], arm.points_px[:, 1])
            # time order, a drop's corners upper first: the pixel round trip of a slightly
            # rotated calibration leaves ~1e-14 between a drop's two times, which a plain time
            # sort sends either way (a drawn drop would rise)
            span = max(float(np.max(np.abs(t))), 1e-12)
            order = np.lexsort((-s, np.round(t / span, 9)))
            ct = cal.to_data(arm.censor_px[:, 0], arm.censor_px[:, 1])[0] if len(arm.censor_px) else []
            ct = np.asarray(ct, float)
            rel, by_time = arm.censor_reliability(), np.argsort(ct, kind="stable")
            time_sd = survival_sd = None
            if arm.corner_sd_px:    # traced: each corner is a measurement, in this calibration's units
                from digitize.extract import corner_sd

                time_sd, survival_sd = corner_sd(cal, arm.points_px[:, 0], arm.points_px[:, 1], arm.corner_sd_px)
            rt = rn = None
            if table is not None and arm.name in table.n_risk:
                rt, rn = table.for_arm(arm.name)
                if rt.size == 0:
                    rt = rn = None
            out.append(ArmData(name=arm.name, time=np.asarray(t)[order], survival=np.asarray(s)[order],
                               censor_times=ct[by_time], risk_times=rt, n_risk=rn,
                               n_total=arm.n_total, total_events=arm.total_events,
                               censor_reliability=None if rel is None else rel[by_time],
                               time_sd=time_sd, survival_sd=survival_sd))
        if not out:
            raise ProjectError("add at least one arm and detect or place its curve")
        return out

    def inputs_hash(self) -> str:
        """Hash of everything reconstruction depends on: tells whether a stored result is stale."""
        d = {"calibration": self.calibration, "arms": [a.to_dict() for a in self.arms],
             "risk": self.risk_table.to_dict(), "method": self.settings.get("method", "default")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def stored_ipd(self) -> pd.DataFrame | None:
        """The saved reconstruction's IPD if it matches the current inputs, else None."""
        rec = self.reconstruction
        if not rec or rec.get("inputs") != self.inputs_hash():
            return None
        return pd.DataFrame({k: rec["ipd"][k] for k in ("arm", "time", "event")})

    # -- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION,
                "image": self.image.to_dict() if self.image else None,
                "calibration": copy.deepcopy(self.calibration),
                "arms": [a.to_dict() for a in self.arms],
                "masks": [m.to_dict() for m in self.masks],
                "risk_table": self.risk_table.to_dict(),
                "settings": dict(self.settings),
                "reconstruction": self.reconstruction}

    @classmethod
    def from_dict(cls, d: dict) -> "Project":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ProjectError("not a KMRecon project (missing \"format\": \"kmrecon-project\")")
        version = _number(d.get("version", 0), "version", 0, None, integer=True)
        if version > VERSION:
            raise ProjectError(f"project version {version} is newer than this KMRecon reads ({VERSION}); "
                               "update KMRecon")
        cal = d.get("calibration") or {}
        if not isinstance(cal, dict):
            raise ProjectError("calibration: expected an object")
        for k in CALIBRATION_KEYS:
            p = cal.get(k)
            if p is None:
                continue
            if not isinstance(p, dict):
                raise ProjectError(f"calibration.{k}: expected {{\"px\": .., \"py\": .., \"value\": ..}}")
            for c in ("px", "py"):
                _number(p.get(c), f"calibration.{k}.{c}", -MAX_COORD, MAX_COORD)
            if p.get("value") is not None:
                _number(p["value"], f"calibration.{k}.value", -1e12, 1e12)
        for flag in ("log_x", "no_rotation", "reversed_x", "reversed_y"):
            if cal.get(flag) is not None and not isinstance(cal[flag], bool):
                raise ProjectError(f"calibration.{flag}: expected true or false")
        for key, kind in (("arms", list), ("masks", list)):
            if d.get(key) is not None and not isinstance(d[key], kind):
                raise ProjectError(f"{key}: expected a list")
        arms = [ArmState.from_dict(a, i) for i, a in enumerate(d.get("arms") or [])]
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ProjectError("arms: two arms share a name; arm names must be unique")
        rec = d.get("reconstruction")
        if rec is not None:
            _check_reconstruction(rec)
        raw_settings = d.get("settings") or {}
        if not isinstance(raw_settings, dict):
            raise ProjectError("settings: expected an object")
        if raw_settings.get("method", "default") not in ("default", "guyot"):
            raise ProjectError(f"settings.method: expected 'default' or 'guyot', got {_show(raw_settings['method'])}")
        for key in ("time_unit", "study", "subgroup"):
            if key in raw_settings:
                _text(raw_settings[key], f"settings.{key}", allow_none=False)
        if raw_settings.get("embed_image") is not None and not isinstance(raw_settings["embed_image"], bool):
            raise ProjectError("settings.embed_image: expected true or false")
        settings = cls().settings
        settings.update(raw_settings)
        if d.get("image") is not None and not isinstance(d["image"], dict):
            raise ProjectError("image: expected an object with a path or an embedded png_base64")
        return cls(image=ImageRef.from_dict(d["image"]) if d.get("image") else None,
                   calibration=cal, arms=arms,
                   masks=[MaskShape.from_dict(m, i) for i, m in enumerate(d.get("masks") or [])],
                   risk_table=RiskGrid.from_dict(d.get("risk_table") or {}),
                   settings=settings, reconstruction=rec)

    # -- image --------------------------------------------------------------------------
    def load_image(self, base_dir: str | os.PathLike | None = None) -> np.ndarray:
        """The figure as HxWx3 uint8 RGB (embedded PNG, or the referenced file re-read)."""
        if self.image is None:
            raise ProjectError("the project has no image")
        if self.image.png_base64:
            return decode_png(self.image.png_base64)
        if not self.image.path:
            raise ProjectError("the project has no image")
        path = Path(self.image.path)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.exists():
            raise ProjectError(f"the project's image file '{path}' is missing: put it back or re-open the figure")
        if self.image.sha256 and file_sha256(path) != self.image.sha256:
            raise ProjectError(f"the image file '{path}' has changed since the project was saved "
                               "(SHA-256 differs): re-open the original figure")
        from digitize.image import load_image

        img = load_image(path, page=self.image.page, dpi=self.image.dpi)
        if self.image.crop:
            x0, y0, x1, y1 = self.image.crop
            h, w = img.shape[:2]
            if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
                raise ProjectError(f"image.crop {list(self.image.crop)} does not lie inside the {w}x{h} "
                                   "figure; open the figure again and crop it")
            img = np.ascontiguousarray(img[y0:y1, x0:x1])
        return img


def _check_reconstruction(rec) -> None:
    """The stored reconstruction: equal-length arm/time/event lists with text arms, finite
    times >= 0 and events 0/1 (a damaged result is refused rather than pooled)."""
    ipd = rec.get("ipd") if isinstance(rec, dict) else None
    if not isinstance(ipd, dict) or not all(isinstance(ipd.get(k), list) for k in ("arm", "time", "event")) \
            or not len(ipd["arm"]) == len(ipd["time"]) == len(ipd["event"]):
        raise ProjectError("reconstruction.ipd: expected equal-length arm, time, event lists")
    if not all(isinstance(a, str) for a in ipd["arm"]):
        raise ProjectError("reconstruction.ipd.arm: expected arm names (text)")
    for i, (t, e) in enumerate(zip(ipd["time"], ipd["event"])):
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise ProjectError(f"reconstruction.ipd.time[{i}]: expected a finite time >= 0, got {_show(t)}")
        if e not in (0, 1) or isinstance(e, float) and e not in (0.0, 1.0):
            raise ProjectError(f"reconstruction.ipd.event[{i}]: expected 0 or 1, got {_show(e)}")
    if rec.get("inputs") is not None and not isinstance(rec["inputs"], str):
        raise ProjectError("reconstruction.inputs: expected text (a hash)")


def encode_png(image: np.ndarray) -> str:
    """RGB uint8 array -> base64 PNG text (lossless)."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ProjectError("could not encode the image as PNG")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def _png_size(text: str) -> tuple[bytes, int, int]:
    """(PNG bytes, width, height) of an embedded image, read from its header only; refuses
    invalid base64, a non-image and more pixels than digitize.image.MAX_PIXELS."""
    from digitize.image import MAX_PIXELS, _header_size

    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ProjectError("image.png_base64 is not valid base64") from None
    size = _header_size(raw)
    if size is None:
        raise ProjectError("image.png_base64 does not hold a readable PNG")
    w, h = size
    if w <= 0 or h <= 0 or w * h > MAX_PIXELS:
        raise ProjectError(f"image.png_base64 is {w}x{h} pixels, more than the {MAX_PIXELS / 1e6:.0f}-"
                           "megapixel limit; re-open a smaller copy of the figure")
    return raw, w, h


def decode_png(text: str) -> np.ndarray:
    import cv2

    raw, _, _ = _png_size(text)
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ProjectError("image.png_base64 does not hold a readable PNG")
    return np.ascontiguousarray(img[..., ::-1])


def write_json_atomic(data: dict, path) -> None:
    """Write compact strict JSON atomically (project files and their autosave copies).
    Unlike :func:`kmrecon.jsonio.write_json` nothing is coerced: a NaN anywhere in a project
    is a bug, so the write fails and the previous file stays as it was."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, allow_nan=False)


def save_project(project: Project, path) -> None:
    """Write the project as plain JSON, atomically."""
    write_json_atomic(project.to_dict(), path)


def load_project(path) -> Project:
    """Read and validate a project file; ProjectError says what is wrong."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ProjectError(f"'{path}' is a folder, not a project file")
        if path.stat().st_size > MAX_PROJECT_BYTES:
            raise ProjectError(f"'{path}' is larger than {MAX_PROJECT_BYTES >> 20} MB; not a KMRecon project")
        text = path.read_text(encoding="utf-8-sig")  # a UTF-8 byte-order mark is accepted
    except FileNotFoundError:
        raise ProjectError(f"project file '{path}' not found") from None
    except UnicodeDecodeError:
        raise ProjectError(f"'{path}' is not a text (UTF-8 JSON) file; is it a KMRecon project?") from None
    except OSError as exc:
        raise ProjectError(f"cannot read project file '{path}': {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"'{path}' is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise ProjectError(f"'{path}' is nested too deeply to be a KMRecon project") from None
    try:
        return Project.from_dict(data)
    except ProjectError as exc:
        raise ProjectError(f"'{path}': {exc}") from None
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError, RecursionError) as exc:
        # a shape the checks above did not foresee: still name the file, never a traceback
        raise ProjectError(f"'{path}' is a malformed project file ({exc})") from None


def project_ipd(path) -> pd.DataFrame:
    """IPD (arm, time, event) of a saved project: the stored reconstruction if it is current,
    otherwise reconstructed now from the saved points, calibration and risk table."""
    project = load_project(path)
    ipd = project.stored_ipd()
    if ipd is not None:
        return ipd
    from reconstruct import reconstruct

    rec = reconstruct(project.arm_data(), method=project.settings.get("method", "default"))
    return rec.ipd[["arm", "time", "event"]].reset_index(drop=True)
