"""The app on a black-and-white figure (issue 14): two black curves, solid and dashed, that
cross; each arm is added with one click on its curve ("Add arm by clicking its curve"), which
reads the colour at the line's core and traces the curve through that point."""
from __future__ import annotations

import numpy as np
import pytest

from digitize.accuracy import curve_errors
from test_digitize_styles import NAMES, _black
from test_gui import calibrate_by_clicking, click_image, make_window, open_and_wait  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _pixel(truth, arm: str, t: float) -> tuple[float, float]:
    s = float(np.interp(t, *truth.km(arm)))
    px, py, _ = truth.data_to_pixel @ np.array([t, s * (100.0 if truth.y_percent else 1.0), 1.0])
    return float(px), float(py)


def test_add_black_arms_by_clicking_their_curves(qtbot, make_window, tmp_path):  # noqa: F811
    fig = _black(("solid", "dashed"))
    path = fig.save(tmp_path)["image"]
    truth = fig.truth
    w = make_window()
    open_and_wait(qtbot, w, path)
    calibrate_by_clicking(qtbot, w, truth.calibration)
    assert w.doc.calibration() is not None
    w.tool_actions["add_arm"].trigger()
    assert w.view.tool == "add_arm"
    # a click beside the line (2 px off, on paper) still lands on the curve
    for k, (arm, t) in enumerate(zip(NAMES, (4.0, 8.0))):
        px, py = _pixel(truth, arm, t)
        click_image(qtbot, w, px + 1, py - 2)
        qtbot.waitUntil(lambda: len(w.doc.project.arms) == k + 1 and "detect" not in w.busy, timeout=30000)
    arms = w.doc.project.arms
    assert [a.rgb for a in arms] == [(0, 0, 0), (0, 0, 0)] or all(max(a.rgb) < 60 for a in arms)
    cal = w.doc.calibration()
    for arm, name in zip(arms, NAMES):
        assert arm.at is not None and arm.points_px.shape[0] > 10
        t, s = cal.to_data(arm.points_px[:, 0], arm.points_px[:, 1])
        err = curve_errors(np.asarray(t), np.asarray(s), *truth.km(name))
        assert err["iae"] <= 0.004, (name, err)
    w.grab().save(str(tmp_path / "bw_arms.png"))
