"""Regression tests: the axes' box spines of a slightly rotated figure are no black curve's ink.

A thin spine tilted by a fraction of a pixel per column lies between two pixel rows for long
stretches, its dark pixels split between them: no single tilted row line was dark along 80 % of
its length, so ``inkmask.frame_lines`` found no spine and a black curve's trace ran along the
top spine from 1 to the right edge, or hopped down at its end to the x axis's spine and ran on
along it (hard-tier figures at 0.5-0.8 degrees, 82-94 dpi).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from digitize.accuracy import curve_errors
from digitize.calibrate import Calibration
from digitize.extract import ArmSpec, extract_arms
from digitize.inkmask import frame_lines, line_fractions
from simulate.figure import FigureStyle, render_figure


def _arm(rng, name, n, scale, follow_up, cured=0.0):
    """Exponential event times (``scale`` months), a ``cured`` share without event, censored
    uniformly in the last fifth of ``follow_up`` months."""
    t = rng.exponential(scale, n)
    t[rng.uniform(size=n) < cured] = np.inf
    c = rng.uniform(0.8 * follow_up, follow_up, n)
    return pd.DataFrame({"arm": name, "time": np.minimum(t, c), "event": (t <= c).astype(int)})


def test_tilted_thin_line_near_the_border_is_a_spine():
    """A 1-pixel anti-aliased line at 0.8 degrees (half its length split over two rows, each
    about half dark) two rows below the region's top is found as a spine; a curve-like line in
    the middle is not."""
    h, w = 120, 300
    slope = np.tan(np.radians(0.8))
    L = np.full((h, w), 100.0)
    x = np.arange(w)
    for y_line in (2.5, 60.5):
        y = y_line + slope * (x - (w - 1) / 2.0)
        for r in range(h):
            cover = np.clip(1.0 - np.abs(r - y), 0.0, 1.0)   # a 1-pixel line, anti-aliased
            L[r] = np.minimum(L[r], 100.0 - 90.0 * cover)
    lab = np.zeros((h, w, 3), np.float32)
    lab[..., 0] = L
    dark = L < 60.0
    assert line_fractions(dark, slope).max() < 0.8   # no single row line holds the spine
    found, _ = frame_lines(lab, 10, slopes=(slope, -slope))
    assert found[dark & (np.arange(h)[:, None] < 10)].all()
    assert not found[dark & (np.arange(h)[:, None] > 30)].any()


@pytest.mark.parametrize("seed, rotation, jpeg", [(0, 0.8, None), (2, -0.8, 84)])
def test_black_curve_in_a_tilted_box(seed, rotation, jpeg):
    """A black curve ending at about 0.5 beside a red arm with bands, in a box rotated by 0.8
    degrees: traced along the top spine from 1 to the right edge (IAE 0.36, seed 0), or dropped
    at its end to the x axis's spine and on along it to 36 months (seed 2) before."""
    rng = np.random.default_rng(seed)
    ipd = pd.concat([_arm(rng, "A", 80, 10.0, 30.0, cured=0.5), _arm(rng, "B", 80, 10.0, 28.0)])
    style = FigureStyle(arm_names=("A", "B"), colors=("#000000", "#d62728"), dpi=94, width_in=5.9,
                        height_in=4.6, line_width_px=2.4, spines="box", axis_pad=0.02, grid=True,
                        bands=True, x_max=36, x_step=6, rotation_deg=rotation, jpeg_quality=jpeg)
    fig = render_figure(ipd, style)
    cal = Calibration.from_dict(fig.truth.calibration)
    arms = extract_arms(fig.image, cal, [ArmSpec(a, fig.truth.colors[a]) for a in ("A", "B")])
    for arm in arms:
        t, s = fig.truth.km(arm.name)
        err = curve_errors(arm.time, arm.survival, t, s)
        assert err["iae"] < 0.003 and err["max_abs"] < 0.05, (arm.name, err)
        assert abs(arm.time[-1] - t[-1]) < 1.0, (arm.name, arm.time[-1], t[-1])
