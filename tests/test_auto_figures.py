"""Zero-click detection on generated KM figures, checked against the renderer's truth: axis
calibration within 1.5 px at both ends of each axis, every risk-table cell, arm names and
colours; and the failure paths (labels unreadable, no table, columns that cannot be aligned)
give warnings and a usable partial result. OCR runs here, so figures are few."""
import json

import numpy as np
import pandas as pd
import pytest

from digitize.auto import detect_figure, ocr

pytestmark = pytest.mark.skipif(not ocr.ocr_available()[0], reason="OCR (rapidocr) not installed")

from digitize.auto.legend import delta_e  # noqa: E402
from simulate.figure import render_figure  # noqa: E402
from simulate.ipd import simulate_arm  # noqa: E402
from simulate.styles import PALETTES, FigureStyle  # noqa: E402


def _ipd(names, seed, n=(180, 150, 120), medians=(14.0, 24.0, 9.0), follow_up=60.0, unit_scale=1.0):
    rng = np.random.default_rng(seed)
    frames = []
    for name, k, med in zip(names, n, medians):
        d = simulate_arm(k, rng, median=med, follow_up=follow_up, accrual=30.0)
        d["time"] = np.round(d["time"] * unit_scale, 2)
        d.insert(0, "arm", name)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def _cal_error_px(cal, truth) -> float:
    """Largest pixel distance between the true axis points and where `cal` maps their values."""
    errs = []
    for k in ("x1", "x2", "y1", "y2"):
        p = truth.calibration[k]
        t, y = truth.to_data(p["px"], p["py"])
        qx, qy = cal.to_pixel(np.array([float(t)]), np.array([float(y) / (100.0 if truth.y_percent else 1.0)]))
        errs.append(float(np.hypot(qx[0] - p["px"], qy[0] - p["py"])))
    return max(errs)


def _assert_table_matches(det, truth):
    assert det.risk_table is not None
    assert np.allclose(det.risk_table.times, truth.risk_table.times)
    for arm, counts in truth.risk_table.n_risk.items():
        assert det.risk_table.n_risk[arm].tolist() == counts.tolist(), arm


def _assert_arms_match(det, truth):
    """Every printed name found once, each with the colour of its own curve: nearer (ΔE) to
    that arm's drawn colour than to any other arm's (JPEG washes thin lines out, so the
    colour itself may be paler than drawn)."""
    assert sorted(a.name for a in det.arms) == sorted(truth.arms)
    for a in det.arms:
        d = {name: delta_e(a.rgb, rgb) for name, rgb in truth.colors.items()}
        assert min(d, key=d.get) == a.name and d[a.name] <= 45, (a.name, a.rgb, truth.colors)


@pytest.fixture(scope="module")
def typical():
    """Two colour arms, legend, coloured risk-table labels, months, 0-1 axis, 150 dpi."""
    style = FigureStyle(dpi=150, arm_names=("Control", "Treatment"), colors=PALETTES["tab10"],
                        legend_loc="upper right", risk_table=True, risk_label_colored=True,
                        censor_mark="+", height_in=5.2)
    fig = render_figure(_ipd(("Control", "Treatment"), 1), style)
    return fig, detect_figure(fig.image)


def test_typical_figure_is_read_completely(typical):
    fig, det = typical
    truth = fig.truth
    assert det.calibration is not None
    assert _cal_error_px(det.calibration, truth) <= 1.5
    _assert_table_matches(det, truth)
    _assert_arms_match(det, truth)
    assert det.time_unit == "months"
    assert det.needs_review == [], det.warnings
    d = json.loads(json.dumps(det.to_dict()))   # plain JSON for the sidecar/project
    assert d["calibration"]["x1"]["value"] == truth.calibration["x1"]["value"]
    x0, y0, x1, y1 = det.plot_area
    tx0, ty0, tx1, ty1 = truth.plot_area
    assert abs(x0 - tx0) <= 3 and abs(y1 - ty1) <= 3 and abs(x1 - tx1) <= 3


def test_degraded_percent_axis_time_row_black_labels():
    """Truncated percent y axis with uneven ticks, tick marks inside, L spines, serif font,
    days, a table with its own time row and black row labels, rotated 0.5 degrees, JPEG."""
    names = ("Placebo", "Drug A", "Drug B")
    style = FigureStyle(dpi=120, font="DejaVu Serif", font_size_pt=9, arm_names=names,
                        colors=PALETTES["nejm"], time_unit="days", y_percent=True, y_percent_sign=True,
                        y_min=0.2, y_ticks=(0.2, 0.3, 0.5, 0.7, 0.9, 1.0), tick_direction="in",
                        spines="L", legend_loc="lower left", legend_frame=False, risk_table=True,
                        risk_label_colored=False, risk_time_row=True, risk_title="No. at risk",
                        rotation_deg=0.5, jpeg_quality=75, height_in=5.6, width_in=6.5)
    ipd = _ipd(names, 2, medians=(40.0, 70.0, 55.0), follow_up=60.0, unit_scale=30.4)
    fig = render_figure(ipd, style)
    det = detect_figure(fig.image)
    truth = fig.truth
    assert det.calibration is not None and det.calibration.y_percent
    assert _cal_error_px(det.calibration, truth) <= 1.5
    _assert_table_matches(det, truth)
    _assert_arms_match(det, truth)
    assert det.time_unit == "days"


def test_unreadable_tick_labels_give_a_partial_result(typical):
    fig, _ = typical
    img = fig.image.copy()
    for tick in fig.truth.x_ticks + fig.truth.y_ticks:   # erase every tick label
        x0, y0, x1, y1 = (int(round(v)) for v in tick["bbox"])
        img[max(0, y0 - 2):y1 + 3, max(0, x0 - 2):x1 + 3] = 255
    det = detect_figure(img)
    assert det.calibration is None
    assert any("x axis" in w and "by hand" in w for w in det.warnings)
    assert any("y axis" in w and "by hand" in w for w in det.warnings)
    assert det.confidence["calibration_x"] == 0 and "calibration_x" in det.needs_review
    # the rest is still there: plot area and named arms
    assert det.plot_area is not None
    _assert_arms_match(det, fig.truth)


def test_figure_without_risk_table():
    style = FigureStyle(dpi=130, arm_names=("Arm A", "Arm B"), colors=PALETTES["lancet"],
                        legend_loc="lower left", risk_table=False)
    fig = render_figure(_ipd(("Arm A", "Arm B"), 3), style)
    det = detect_figure(fig.image)
    assert det.risk_table is None
    assert any("no number-at-risk table" in w for w in det.warnings)
    assert det.confidence["risk_table"] == 0
    assert _cal_error_px(det.calibration, fig.truth) <= 1.5
    _assert_arms_match(det, fig.truth)


def test_table_columns_that_cannot_be_aligned_are_flagged(typical):
    fig, _ = typical
    truth = fig.truth
    img = fig.image.copy()
    # move the numbers of one column a third of the way towards the next tick
    t_mid = truth.risk_table.times[2]
    step = np.diff([t["px"] for t in truth.x_ticks]).mean()
    shift = int(round(step / 3))
    for cell in truth.risk_cells:
        if cell["time"] == t_mid:
            x0, y0, x1, y1 = (int(round(v)) for v in cell["bbox"])
            patch = fig.image[y0 - 1:y1 + 2, x0 - 1:x1 + 2].copy()
            img[y0 - 1:y1 + 2, x0 - 1:x1 + 2] = 255
            img[y0 - 1:y1 + 2, x0 - 1 + shift:x1 + 2 + shift] = patch
    det = detect_figure(img)
    assert det.calibration is not None
    assert any("do not line up" in w for w in det.warnings)
    assert det.confidence["risk_table"] <= 0.4 and "risk_table" in det.needs_review
    # a usable partial result: every other column is right
    rt = det.risk_table
    for arm, counts in truth.risk_table.n_risk.items():
        for t, n in zip(truth.risk_table.times, counts):
            if t != t_mid:
                j = np.flatnonzero(np.isclose(rt.times, t))
                assert j.size == 1 and rt.n_risk[arm][j[0]] == n
