"""Axis calibration: four clicked points (X1, X2 on the time axis, Y1, Y2 on the survival axis).

The map from image pixels (x right, y down, origin top-left) to data is affine,
``data = A @ (px, py) + c``, so a slightly rotated or sheared scan is handled: time is constant
along lines parallel to the y axis (through Y1, Y2) and survival is constant along lines parallel
to the x axis (through X1, X2). With ``no_rotation`` the map is axis-aligned (time from px only,
survival from py only). A log time axis is linear in log10(time). A survival axis labelled 0-100
is normalised to probabilities (``y_percent``; auto when a label exceeds 1.5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kmrecon.errors import KMReconError

#: smallest pixel distance between the two points of one axis
MIN_AXIS_PIXELS = 5.0
#: smallest angle (degrees) between the two axes; real figures are ~90 degrees
MIN_AXIS_ANGLE = 45.0


class CalibrationError(KMReconError):
    """The four calibration points or their values cannot define the axes."""


@dataclass
class AxisPoint:
    """A calibration point: image pixel position and the axis value printed there."""

    px: float
    py: float
    value: float

    def to_dict(self) -> dict:
        return {"px": float(self.px), "py": float(self.py), "value": float(self.value)}


def _point(d, name: str) -> AxisPoint:
    if isinstance(d, AxisPoint):
        return d
    try:
        return AxisPoint(float(d["px"]), float(d["py"]), float(d["value"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise CalibrationError(
            f"calibration point {name} must have numeric px, py and value (got {d!r})"
        ) from exc


@dataclass
class Calibration:
    """Pixel <-> data map from four axis points; validated on construction."""

    x1: AxisPoint
    x2: AxisPoint
    y1: AxisPoint
    y2: AxisPoint
    log_x: bool = False
    no_rotation: bool = False
    y_percent: bool | None = None
    #: the time axis runs right to left / the survival axis top to bottom (set only when the
    #: figure really is drawn so; otherwise such points are a calibration mistake and refused)
    reversed_x: bool = False
    reversed_y: bool = False

    def __post_init__(self):
        self.x1, self.x2 = _point(self.x1, "X1"), _point(self.x2, "X2")
        self.y1, self.y2 = _point(self.y1, "Y1"), _point(self.y2, "Y2")
        self.log_x, self.no_rotation = bool(self.log_x), bool(self.no_rotation)
        for name, p in (("X1", self.x1), ("X2", self.x2), ("Y1", self.y1), ("Y2", self.y2)):
            if not all(math.isfinite(v) for v in (p.px, p.py, p.value)):
                raise CalibrationError(f"calibration point {name} has a non-finite coordinate or value")
        if self.x1.value == self.x2.value:
            raise CalibrationError(
                f"X1 and X2 have the same value ({self.x1.value:g}); click two different x-axis ticks"
            )
        if self.y1.value == self.y2.value:
            raise CalibrationError(
                f"Y1 and Y2 have the same value ({self.y1.value:g}); click two different y-axis ticks"
            )
        if self.log_x and (self.x1.value <= 0 or self.x2.value <= 0):
            raise CalibrationError("a log time axis needs X1 and X2 values greater than 0")
        ux = np.array([self.x2.px - self.x1.px, self.x2.py - self.x1.py])
        uy = np.array([self.y2.px - self.y1.px, self.y2.py - self.y1.py])
        if np.hypot(*ux) < MIN_AXIS_PIXELS:
            raise CalibrationError("X1 and X2 are (almost) the same pixel; place them far apart on the x axis")
        if np.hypot(*uy) < MIN_AXIS_PIXELS:
            raise CalibrationError("Y1 and Y2 are (almost) the same pixel; place them far apart on the y axis")
        if self.no_rotation:
            if abs(ux[0]) < MIN_AXIS_PIXELS:
                raise CalibrationError("X1 and X2 lie in the same pixel column; with 'no rotation' they must differ in x")
            if abs(uy[1]) < MIN_AXIS_PIXELS:
                raise CalibrationError("Y1 and Y2 lie in the same pixel row; with 'no rotation' they must differ in y")
        else:
            cosang = abs(float(ux @ uy)) / (np.hypot(*ux) * np.hypot(*uy))
            angle = math.degrees(math.acos(min(1.0, cosang)))
            if angle < MIN_AXIS_ANGLE:
                raise CalibrationError(
                    f"the X1-X2 and Y1-Y2 lines are {angle:.0f} degrees apart (nearly parallel); X1, X2 "
                    "must lie on the horizontal time axis and Y1, Y2 on the vertical survival axis"
                )
        if self.y_percent is None:
            self.y_percent = bool(max(abs(self.y1.value), abs(self.y2.value)) > 1.5)
        self.y_percent = bool(self.y_percent)
        self._build()
        self._check_direction()

    def _check_direction(self) -> None:
        """Time increases to the right and survival upwards in a KM figure; points that say
        otherwise are almost always swapped values (X1 typed as X2's) and would read the
        curve backwards, so they are refused unless the axis is declared reversed."""
        self.reversed_x, self.reversed_y = bool(self.reversed_x), bool(self.reversed_y)
        dt_dpx, ds_dpy = self._m[0, 0], self._m[1, 1]
        if (dt_dpx < 0) != self.reversed_x:
            raise CalibrationError(
                f"the time axis runs {'right to left' if dt_dpx < 0 else 'left to right'}: X1 "
                f"(value {self.x1.value:g}) is at pixel x {self.x1.px:g} and X2 (value {self.x2.value:g}) at "
                f"x {self.x2.px:g}. Check that the values belong to the points"
                + ("; if the figure's time axis really runs right to left, say the axis is reversed"
                   " (--reversed-x)" if dt_dpx < 0 else "")
            )
        if (ds_dpy > 0) != self.reversed_y:
            raise CalibrationError(
                f"the survival axis runs {'downwards' if ds_dpy > 0 else 'upwards'}: Y1 (value "
                f"{self.y1.value:g}) is at pixel y {self.y1.py:g} and Y2 (value {self.y2.value:g}) at y "
                f"{self.y2.py:g} (pixel y grows downwards). Check that the values belong to the points"
                + ("; if the survival axis really is drawn upside down, say the axis is reversed "
                   "(--reversed-y)" if ds_dpy > 0 else "")
            )

    # ------------------------------------------------------------------ maps
    def _xv(self, v: float) -> float:
        return math.log10(v) if self.log_x else float(v)

    def _build(self) -> None:
        """Affine matrix M (2x3): (time', survival) = M @ (px, py, 1); time' = log10(time) on log axes."""
        scale = 0.01 if self.y_percent else 1.0
        tx1, tx2 = self._xv(self.x1.value), self._xv(self.x2.value)
        sy1, sy2 = self.y1.value * scale, self.y2.value * scale
        if self.no_rotation:
            a = (tx2 - tx1) / (self.x2.px - self.x1.px)
            b = (sy2 - sy1) / (self.y2.py - self.y1.py)
            m = np.array([[a, 0.0, tx1 - a * self.x1.px], [0.0, b, sy1 - b * self.y1.py]])
        else:
            # oblique basis: B = [X2-X1, Y2-Y1]; p = X1 + B @ (s, r) gives time = tx1 + s (tx2 - tx1);
            # p = Y1 + B @ (s', r') gives survival = sy1 + r' (sy2 - sy1).
            bm = np.array([[self.x2.px - self.x1.px, self.y2.px - self.y1.px],
                           [self.x2.py - self.x1.py, self.y2.py - self.y1.py]])
            binv = np.linalg.inv(bm)
            row_t = (tx2 - tx1) * binv[0]
            row_s = (sy2 - sy1) * binv[1]
            c_t = tx1 - row_t @ np.array([self.x1.px, self.x1.py])
            c_s = sy1 - row_s @ np.array([self.y1.px, self.y1.py])
            m = np.array([[row_t[0], row_t[1], c_t], [row_s[0], row_s[1], c_s]])
        if not np.all(np.isfinite(m)) or abs(np.linalg.det(m[:, :2])) < 1e-300:
            raise CalibrationError("calibration points do not define a usable map; re-place them")
        self._m = m
        self._minv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]

    @property
    def matrix(self) -> np.ndarray:
        """2x3 affine map pixel -> (time or log10 time, survival probability)."""
        return self._m.copy()

    def to_data(self, px, py) -> tuple[np.ndarray, np.ndarray]:
        """Pixels -> (time in x-axis units, survival probability 0-1)."""
        px = np.asarray(px, float)
        py = np.asarray(py, float)
        m = self._m
        t = m[0, 0] * px + m[0, 1] * py + m[0, 2]
        s = m[1, 0] * px + m[1, 1] * py + m[1, 2]
        if self.log_x:
            t = np.power(10.0, t)
        return t, s

    def to_pixel(self, time, survival) -> tuple[np.ndarray, np.ndarray]:
        """(time in x-axis units, survival probability) -> pixels (px, py)."""
        t = np.asarray(time, float)
        if self.log_x:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.log10(t)
        s = np.asarray(survival, float)
        mi = self._minv
        return mi[0, 0] * t + mi[0, 1] * s + mi[0, 2], mi[1, 0] * t + mi[1, 1] * s + mi[1, 2]

    def pixels_per_unit(self) -> tuple[float, float]:
        """Pixel length of one unit of survival (probability) along the y direction and of the
        whole time span X1->X2 along x; used to scale tolerances."""
        x0, y0 = self.to_pixel(self.x1.value, 0.0)
        _, y1 = self.to_pixel(self.x1.value, 1.0)
        return float(abs(y1 - y0)), float(np.hypot(self.x2.px - self.x1.px, self.x2.py - self.x1.py))

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict:
        return {
            "x1": self.x1.to_dict(), "x2": self.x2.to_dict(),
            "y1": self.y1.to_dict(), "y2": self.y2.to_dict(),
            "log_x": self.log_x, "no_rotation": self.no_rotation, "y_percent": self.y_percent,
            **({"reversed_x": True} if self.reversed_x else {}),
            **({"reversed_y": True} if self.reversed_y else {}),
        }

    @classmethod
    def from_dict(cls, d) -> "Calibration":
        if not isinstance(d, dict):
            raise CalibrationError(f"calibration must be a JSON object, got {type(d).__name__}")
        missing = [k for k in ("x1", "x2", "y1", "y2") if k not in d]
        if missing:
            raise CalibrationError(f"calibration is missing point(s) {', '.join(missing)}")
        yp = d.get("y_percent")
        return cls(
            x1=_point(d["x1"], "X1"), x2=_point(d["x2"], "X2"),
            y1=_point(d["y1"], "Y1"), y2=_point(d["y2"], "Y2"),
            log_x=bool(d.get("log_x", False)), no_rotation=bool(d.get("no_rotation", False)),
            y_percent=None if yp is None else bool(yp),
            reversed_x=bool(d.get("reversed_x", False)), reversed_y=bool(d.get("reversed_y", False)),
        )
