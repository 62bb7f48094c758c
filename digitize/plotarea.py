"""The plot area (axes box, pixels) implied by a calibration: from the axes' origin, follow the
drawn x-axis line right and the y-axis line up to their ends (long dark runs through the clicked
points). Used when the caller gives no plot area.
"""
from __future__ import annotations

import numpy as np

from digitize.calibrate import Calibration


def _follow_line(dark: np.ndarray, start: np.ndarray, direction: np.ndarray, max_gap: int = 4,
                 half_width: int = 2) -> float:
    """Distance (pixels) along ``direction`` from ``start`` to the end of the dark line through it."""
    h, w = dark.shape
    u = direction / np.hypot(*direction)
    perp = np.array([-u[1], u[0]])
    offs = np.arange(-half_width, half_width + 1)
    last, gap, s = 0.0, 0, 0
    limit = int(np.hypot(h, w))
    while s < limit:
        p = start + s * u
        q = p[None, :] + offs[:, None] * perp[None, :]
        xs = np.rint(q[:, 0]).astype(int)
        ys = np.rint(q[:, 1]).astype(int)
        ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        if not ok.any():
            break
        if dark[ys[ok], xs[ok]].any():
            last, gap = float(s), 0
        else:
            gap += 1
            if gap > max_gap:
                break
        s += 1
    return last


def default_plot_area(image: np.ndarray, calibration: Calibration) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) pixel box of the axes: x-axis line end on the right, y-axis line end at
    the top, never smaller than the data box reaching survival 1.0 and the last x calibration
    point; clipped to the image."""
    import cv2

    img = np.asarray(image)
    h, w = img.shape[:2]
    dark = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) < 145   # about Lab L < 60
    cal = calibration
    # axes origin: where the x-axis line (through X1, X2) meets the y-axis line (through Y1, Y2)
    p1, p2 = np.array([cal.x1.px, cal.x1.py]), np.array([cal.x2.px, cal.x2.py])
    q1, q2 = np.array([cal.y1.px, cal.y1.py]), np.array([cal.y2.px, cal.y2.py])
    ux, uy = p2 - p1, q2 - q1
    if ux[0] < 0:
        ux = -ux
    if uy[1] > 0:
        uy = -uy   # upwards in the image
    try:
        st = np.linalg.solve(np.column_stack([ux, -uy]), q1 - p1)
        origin = p1 + st[0] * ux
    except np.linalg.LinAlgError:
        origin = np.array([min(q1[0], q2[0]), max(p1[1], p2[1])])
    xr = p2 if p2[0] >= p1[0] else p1
    yt = q2 if q2[1] <= q1[1] else q1
    reach = _follow_line(dark, xr, ux)
    if reach < 2.0:   # no drawn x-axis line past X2: allow curves a little beyond the last point
        reach = 0.15 * float(np.hypot(*ux))
    right = xr + reach * ux / np.hypot(*ux)
    top = yt + _follow_line(dark, yt, uy) * uy / np.hypot(*uy)
    # at least the data box up to survival 1.0 (small margin)
    _, py_one = cal.to_pixel(cal.x1.value, 1.0)
    _, py_zero = cal.to_pixel(cal.x1.value, 0.0)
    margin = 0.03 * abs(py_zero - py_one) + 2
    corners = np.array([origin, right, top, right + (top - origin)])
    x0 = int(np.floor(corners[:, 0].min()))
    x1 = int(np.ceil(corners[:, 0].max()))
    # the axis line's top is the frame; without one, reach a little above survival 1.0
    y_top = corners[:, 1].min() if top[1] < yt[1] - 1 else py_one - margin
    y0 = int(np.floor(min(y_top, py_one - 4)))
    y1 = int(np.ceil(corners[:, 1].max()))
    x0, x1 = max(0, x0), min(w - 1, x1)
    # a box frame's top line near survival 1.0 bounds the plot
    lo, hi = max(0, y0 - 2), min(h - 1, int(np.ceil(py_one + 3)))
    if hi > lo and x1 - x0 > 10:
        frac = dark[lo:hi + 1, x0:x1 + 1].mean(axis=1)
        rows = np.nonzero(frac > 0.8)[0]
        if rows.size:
            y0 = lo + int(rows[0])
    y0, y1 = max(0, y0), min(h - 1, y1)
    return x0, y0, x1, y1
