"""Regression test for a hard-tier failure with grey arms over shaded bands (seed 3 #17): a
light-grey arm's own band cut by a darker grey arm's line (and the rim that line takes). The
band level was estimated from the light arm's pixels only, so the band strips left either side
of the cut, thinner than the opening square, kept their coverage and were traced as the curve
(events 7 % off).
"""
from __future__ import annotations

import numpy as np

from digitize.extract import ArmSpec, PixelOwners, _arm_runs
from digitize.inkmask import arm_coverage, assign_arms, default_tolerance, local_paper, rgb_to_lab


def test_band_cut_by_a_darker_line_leaves_no_strips():
    """A narrow diagonal band (too thin to be found as shaded paper) crossed lengthwise by a
    darker grey line: the light arm's ink is its own line only, no strip of band beside the cut."""
    h, w = 150, 110
    img = np.full((h, w, 3), 255, np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    u = y - 1.2 * x                                              # rows along the diagonal
    img[(u >= 0) & (u < 20) & (x > 5) & (x < 95)] = 227          # the band, 20 rows tall
    img[(u >= 6) & (u < 8) & (x > 2) & (x < 100)] = 140          # the darker arm's line
    img[((u == 5) | (u == 8)) & (x > 2) & (x < 100)] = 175       # its anti-aliased rim
    img[138:140, 5:105] = 189                                    # the light arm's own line
    arms = [ArmSpec("dark", (140, 140, 140)), ArmSpec("light", (189, 189, 189))]
    bg = np.array([255.0, 255.0, 255.0])
    lab = rgb_to_lab(img)
    cov, dist = arm_coverage(img, lab, bg, [a.rgb for a in arms], paper=local_paper(img, bg))
    tols = [default_tolerance(a.rgb, bg) for a in arms]
    nearest = assign_arms(cov, dist, [1.6 * t for t in tols], [a.rgb for a in arms])
    light = np.r_[rgb_to_lab(np.array([a.rgb for a in arms], float))[:, 0], np.inf]
    none = np.zeros((h, w), bool)
    runs, _, _ = _arm_runs(arms[1], 1, tols[1], (img, lab, rgb_to_lab(bg[None])[0]), cov, dist,
                           PixelOwners(nearest, none, light, None, np.full((h, w), -1)), none, (none, h, none))
    off = (runs.top < 137) | (runs.bot > 140)
    assert not (off & (runs.col >= 15) & (runs.col < 85)).any()   # 112 strip runs there before
    assert np.isin(np.arange(10, 100), runs.col[~off]).all()
