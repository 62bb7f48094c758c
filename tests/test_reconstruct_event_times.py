"""Where a traced drop's events are timed (issue 15): at the centre of the traced staircase
between the window's own top and bottom levels, not between the reconstructed levels.

Pixel rows put the traced levels up to half a row off the reconstructed ones (which are
whole-patient fractions); timing the events by the reconstructed levels moved a clean vertical
drop by up to the window's width times that mismatch over the drop's height.
"""
import numpy as np

from kmrecon.data import ArmData
from reconstruct import reconstruct
from simulate.ipd import km_corners, number_at_risk

WIDTH, HEIGHT, X_MAX = 500, 400, 60.0


def _clean_trace(time, event):
    """Corners of the true KM with survival rounded to pixel rows, both corners of each drop in
    the drop's own column, and the time uncertainty of a 1 px line."""
    t, s = km_corners(time, event)
    sy = np.rint(s * HEIGHT) / HEIGHT
    sd = float(np.sqrt(1 / 12 + (1.0 / 4) ** 2))
    rt = np.array([0.0, 24.0, 48.0])
    return ArmData("A", t, sy, risk_times=rt, n_risk=number_at_risk(time, rt),
                   time_sd=sd * X_MAX / WIDTH, survival_sd=sd / HEIGHT)


def test_isolated_vertical_drops_keep_their_traced_time():
    # 23 patients, events at column centres far apart (every drop a single clean edge): the
    # reconstructed events fall exactly on the traced drops
    col = X_MAX / WIDTH
    ev = (np.arange(1, 16) * 30 + 7) * col           # 15 events, 30 columns apart
    cens = np.array([5.5, 13.3, 27.1, 39.9, 52.0, 55.0, 58.0, 59.0])
    time = np.r_[ev, cens]
    event = np.r_[np.ones(ev.size, int), np.zeros(cens.size, int)]
    rec = reconstruct([_clean_trace(time, event)]).ipd
    got = np.sort(rec.loc[rec.event == 1, "time"].to_numpy())
    assert got.size == ev.size
    np.testing.assert_allclose(got, ev, atol=1e-9)
