"""Regression tests for two digitize failure modes seen on the hard benchmark tier:

- a grey curve under grey confidence bands with a grid: rows of a wide band were taken for grid
  lines and blanked, and the band's edges along that hole were traced as the curve;
- a grey curve inside another grey curve's band: rows mostly covered by the band were taken for
  grid lines and the curve under them blanked; and band blends matched the light-grey arm's
  colour (a black band at 20 % looks like light grey ink), so its trace followed band edges;
- censor marks found where there are none: a drop whose corner has a pixel of noise above it,
  or a drop measured against a lone faint line-high run in a steep staircase, looked like a mark.
"""
from __future__ import annotations

import numpy as np

from digitize.accuracy import curve_errors
from digitize.censor import find_marks
from digitize.inkmask import arm_coverage, grid_lines, local_paper, rgb_to_lab, top_hat
from digitize.trace import Runs
from test_digitize_extract import _extract, _ipd, _style
from simulate.figure import render_figure


def test_top_hat_band_level_ignores_blanked_rows():
    """A band (coverage 0.57) whose rows were blanked (taken for grid lines) but for a strip
    thinner than the opening square: that strip is no curve when the band level is estimated
    from the coverage before blanking; a line over the band keeps its own coverage."""
    cov = np.zeros((60, 80), np.float32)
    cov[10:50, 5:75] = 0.57                      # shaded band
    cov[30, :] = 1.0                             # the curve over it
    blanked = cov.copy()
    blanked[14:28, :] = 0.0                      # band rows taken for grid lines
    blanked[32:50, :] = 0.0
    old = top_hat(blanked, 7)
    new = top_hat(blanked, 7, base=cov)
    assert (old[10:14, 10:70] >= 0.3).all()      # the strip left over looks like ink
    assert not (new[10:14, 10:70] >= 0.3).any()
    assert np.all(new[30, 10:70] > 0.9)


def test_grid_lines_are_thin_and_a_grey_band_is_none():
    """A light-grey band across most of the plot width, with a grey curve in it, and a true grid
    line below: only the grid line is flagged (the band's rows used to be, blanking the curve)."""
    h, w = 200, 300
    img = np.full((h, w, 3), 255, np.uint8)
    img[40:90, 20:290] = 204                      # black band at 20 % opacity
    img[62:64, 20:290] = 140                      # the grey (#8c8c8c) curve inside it
    img[150, :] = 176                             # a grid line
    img[0:200, 120] = 176                         # and a vertical one
    lab = rgb_to_lab(img)
    fg = np.abs(lab[..., 0] - 100.0) > 2.0
    grid = grid_lines(lab, fg)
    assert grid[150, 5:295].all() and grid[100:140, 120].all()
    assert not grid[40:90, 20:119].any() and not grid[40:90, 122:290].any()


def test_grey_curve_lying_on_a_grid_line_is_not_grid():
    """A grey (#8c8c8c) curve's first plateau lies on the dashed grid line at S = 1: its
    pixels, darker than the grid lines' core, stay; the rest of the grid is flagged."""
    img = np.full((200, 300, 3), 255, np.uint8)
    for r in (30, 70, 110, 150, 190):
        img[r, (np.arange(300) % 6) < 4] = 200    # dashed light grey grid lines
    for c in (50, 100, 150, 200, 250):
        img[(np.arange(200) % 6) < 4, c] = 200
    img[29:31, 10:140] = 140                      # the curve on the top line, then its first drop
    img[29:70, 139:141] = 140
    lab = rgb_to_lab(img)
    fg = np.abs(lab[..., 0] - 100.0) > 2.0
    grid = grid_lines(lab, fg)
    dashes = (np.arange(300) % 6) < 4
    assert grid[150, dashes].all() and grid[30, 150:].any() and grid[10:25, 100].any()
    assert not grid[29:31, 10:140].any()


def test_curve_over_another_arms_band_keeps_its_colour():
    """A grey line at half coverage (anti-aliased) over a pink (red at 20 %) band: against the
    paper it is a tinted grey, Delta E ~7 from any grey blend, and the bare band is faint red
    ink; against the local band colour it is the grey arm's ink at coverage 0.5 exactly, and
    the band itself is no arm's ink."""
    img = np.full((120, 200, 3), 255, np.uint8)
    pink, grey = np.array([247, 212, 212]), np.array([140, 140, 140])
    img[20:100, 10:190] = pink
    img[59:61, 10:190] = np.rint(0.5 * grey + 0.5 * pink)
    lab = rgb_to_lab(img)
    bg = np.array([255.0, 255.0, 255.0])
    arms = [(214, 39, 40), tuple(grey)]
    cov0, dist0 = arm_coverage(img, lab, bg, arms)
    cov, dist = arm_coverage(img, lab, bg, arms, paper=local_paper(img, bg))
    assert dist0[1, 60, 20:180].min() > 5.0 and (cov0[0, 30:50, 20:180] > 0.15).all()
    assert dist[1, 60, 20:180].max() < 1.0 and np.allclose(cov[1, 60, 20:180], 0.5, atol=0.03)
    assert (cov[:, 30:50, 20:180] == 0.0).all() and np.isinf(dist[:, 30:50, 20:180]).all()


def test_grey_dashed_curve_under_grey_bands_and_grid():
    names = ("Control", "Treatment")
    ipd = _ipd(names, n=(120, 45), seed=3, dropout=0.02, medians=(14.0, 12.0))
    fig = render_figure(ipd, _style(names, colors=("#000000", "#8c8c8c"), line_styles=("solid", "dashed"),
                                    bands=True, band_alpha=0.21, grid=True, grid_style="dotted", dpi=120,
                                    line_width_px=1.75, censor_mark="|", censor_size_pt=5.4,
                                    jpeg_quality=68, noise_sigma=2.0, width_in=5.5, height_in=4.5))
    _, arms = _extract(fig)
    for a in arms:
        t_true, s_true = fig.truth.km(a.name)
        # the grey arm's trace followed band edges before (IAE ~0.1)
        assert curve_errors(a.time, a.survival, t_true, s_true)["iae"] <= 0.012, a.name


def _path(cols):
    """Runs from (col, top, bot, weight) rows (the centre is the run's middle)."""
    c, t, b, w = (np.array(v) for v in zip(*cols))
    return Runs(c.astype(np.int64), t.astype(np.int64), b.astype(np.int64), 0.5 * (t + b), w.astype(float))


def test_drop_corner_noise_is_no_censor_mark():
    """Plateau (rows 100-101), a drop with 2 px of ink above its corner, the next plateau."""
    rows = [(c, 100, 101, 2.0) for c in range(10)]
    rows += [(10, 98, 115, 6.0), (11, 100, 115, 5.0)]
    rows += [(c, 114, 115, 2.0) for c in range(12, 20)]
    groups, _ = find_marks(_path(rows), 2.0)
    assert groups.shape[0] == 0


def test_lone_faint_run_in_staircase_is_no_reference():
    """A steep staircase: a one-column faint line-high run between two drops is not a plateau
    to measure marks against (the drop after it would look like ink above and below it)."""
    rows = [(c, 100, 101, 2.0) for c in range(10)]
    rows += [(10, 100, 109, 5.0), (11, 109, 109, 0.8), (12, 107, 122, 6.0)]
    rows += [(c, 121, 122, 2.0) for c in range(13, 20)]
    groups, _ = find_marks(_path(rows), 2.0)
    assert groups.shape[0] == 0


def test_centred_tick_is_a_censor_mark():
    rows = [(c, 100, 101, 2.0) for c in range(10)]
    rows += [(10, 95, 106, 10.0), (11, 95, 106, 10.0)]
    rows += [(c, 100, 101, 2.0) for c in range(12, 20)]
    groups, _ = find_marks(_path(rows), 2.0)
    assert groups.shape[0] == 1 and abs(groups[0, 2] - 10.5) < 0.6


def test_mark_on_a_drop_corner_sized_like_the_other_marks():
    """Three ticks on plateaus (4 px above and below the line) set the marks' size: a tick as tall
    above the line on the corner of a drop is a mark, 2 px of noise above another drop is not."""
    rows = []
    for c0 in (0, 20, 40):
        rows += [(c, 100, 101, 2.0) for c in range(c0, c0 + 10)]
        rows += [(c0 + 10, 96, 105, 9.0)]
        rows += [(c, 100, 101, 2.0) for c in range(c0 + 11, c0 + 20)]
    rows += [(60, 96, 118, 12.0)] + [(c, 117, 118, 2.0) for c in range(61, 70)]   # tick on a drop
    rows += [(70, 115, 132, 8.0)] + [(c, 131, 132, 2.0) for c in range(71, 80)]   # noisy corner
    groups, _ = find_marks(_path(rows), 2.0)
    assert np.allclose(groups[:, 2], [10, 30, 50, 60])
