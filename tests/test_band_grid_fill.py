"""Confidence bands are no arm colours (issue 13): ggplot draws its translucent ribbons over the
panel grid, so inside a band a faint grid line (grey92 on white) is darkened to a grey as dark
as a grey curve, in short straight pieces that follow the band; and where two bands overlap
their blend is a flat fill with thin strips where the bands' edges run close. Zero-click took
such a grey for a curve colour, gave it to an arm and lost a black arm (R set seed 1, figure 49:
survminer theme_bw, two black arms solid/dashed with conf.int).

- digitize.inkmask.faint_grid_lines finds grid lines by their depth below their neighbours
  across the line (a band darkens the line and its neighbours alike);
- digitize.colors._fill_colour: a colour most of whose pixels lie in wide regions is a fill.
"""
import numpy as np
import pytest

from digitize.colors import find_arm_colors
from digitize.inkmask import chroma, faint_grid_lines, rgb_to_lab

ALPHA = 0.3   # survminer's conf.int.alpha


def _band(img: np.ndarray, top: np.ndarray, bot: np.ndarray, x0: int) -> None:
    """Composite a black ribbon (alpha ALPHA) over ``img`` between rows top[i]..bot[i] of column
    x0 + i (in place)."""
    for i, (a, b) in enumerate(zip(top, bot)):
        col = img[a:b + 1, x0 + i].astype(float)
        img[a:b + 1, x0 + i] = np.rint((1 - ALPHA) * col).astype(np.uint8)


def _steps(x: np.ndarray, start: float, drops: list[tuple[int, float]]) -> np.ndarray:
    y = np.full(x.shape, start)
    for at, d in drops:
        y[x >= at] += d
    return y


def _figure():
    """A theme_bw-like panel (white, grey92 grid lines every 40 rows and 50 columns) with two
    black KM curves, each inside its black ribbon (alpha 0.3), drawn as ggplot does: grid, ribbons
    over it, curves. The ribbons overlap over a long stretch (a wide flat fill) and run close
    elsewhere (thin strips of the overlap). Returns (image, the ribbons' region, the curves)."""
    h, w = 360, 640
    img = np.full((h, w, 3), 255, np.uint8)
    img[20::40, :] = 235
    img[:, 25::50] = 235
    x = np.arange(40, 620)
    upper = _steps(x, 40.0, [(90, 12), (160, 20), (240, 16), (330, 25), (420, 10), (500, 18)])
    # the lower curve 40 px below (bands 36 px tall: apart), 32 px (a 4-px strip of overlap),
    # then 8 px (a wide overlap)
    lower = upper + np.where(x < 200, 40.0, np.where(x < 300, 32.0, 8.0))
    grow = np.minimum((x - 40) / 12.0, 14.0)   # the bands widen from the start (to 36 px)
    bands = np.zeros((h, w), bool)
    for y in (upper, lower):
        top = np.rint(y - grow - 4).astype(int)
        bot = np.rint(y + grow + 4).astype(int)
        _band(img, top, bot, int(x[0]))
        for i, (a, b) in enumerate(zip(top, bot)):
            bands[a:b + 1, x[0] + i] = True
    curves = np.zeros((h, w), bool)
    for y in (upper, lower):
        for i, yy in enumerate(np.rint(y).astype(int)):
            curves[yy - 1:yy + 1, x[0] + i] = True
        for i in range(1, x.size):   # the drops
            a, b = sorted((int(round(y[i - 1])), int(round(y[i]))))
            curves[a:b + 1, x[i] - 1:x[i] + 1] = True
    img[curves] = 0
    return img, bands, curves


def test_grid_seen_through_a_band_is_grid_and_curves_are_not():
    img, bands, curves = _figure()
    lab = rgb_to_lab(img)
    grid = faint_grid_lines(lab[..., 0], chroma(lab))
    darkened = bands & ~curves & (img[..., 0] < 170) & (img[..., 0] > 160)   # grey92 x 0.7 = 164
    assert darkened.sum() > 300
    assert grid[darkened].mean() > 0.95
    assert not grid[curves].any()
    # a grey curve lying on a grid line (as dark as the darkened grid: grey64) is no grid, but
    # where it crosses a grid line inside a band it looks like that line (a pixel or two)
    img2 = img.copy()
    img2[140, 100:300] = 164
    lab2 = rgb_to_lab(img2)
    on = np.flatnonzero(faint_grid_lines(lab2[..., 0], chroma(lab2))[140, 110:290]) + 110
    assert all(min(abs(c - g) for g in range(25, 640, 50)) <= 1 for c in on), on


def test_bands_and_their_grid_give_no_arm_colour():
    img, _, _ = _figure()
    found = find_arm_colors(img, (0, 0, img.shape[1] - 1, img.shape[0] - 1))
    assert found and all(max(c) < 60 for c in found), found


@pytest.mark.parametrize("seed", [0, 1])
def test_the_bands_overlap_is_a_fill_and_a_curve_with_dense_marks_is_not(seed):
    """The two black bands' overlap (255 x 0.7 x 0.7 = 125) is a fill; a grey (grey50, 2 px)
    curve with long runs of dense censor marks ('|' 1 x 8 px every 3 px, as base R draws them
    at 72 dpi on a 540-px plot: closed into solid blobs as tall as a mark, about the blob size,
    7 px) is not (R set seed 1, figure 8: its cyan arm was taken for a fill)."""
    from digitize.colors import _fill_colour

    grey = rgb_to_lab(np.array([[127, 127, 127]], float))[0]
    img, _, _ = _figure()
    lab = rgb_to_lab(img)
    assert _fill_colour(lab, lab[..., 0] < 70.0, grey, 9)   # find_arm_colors' blob size, 640 px
    img = np.full((360, 540, 3), 255, np.uint8)
    rng = np.random.default_rng(seed)
    x = np.arange(30, 520)
    y = _steps(x, 60.0, [(int(v), 16.0) for v in np.sort(rng.integers(60, 480, 12))])
    for i, yy in enumerate(np.rint(y).astype(int)):
        img[yy - 1:yy + 1, x[i]] = 127
    for i in range(1, x.size):
        a, b = sorted((int(round(y[i - 1])), int(round(y[i]))))
        img[a:b + 1, x[i] - 1:x[i] + 1] = 127
    for xm in list(range(100, 280, 3)) + list(range(380, 500, 3)):
        yy = int(round(y[xm - 30]))
        img[yy - 4:yy + 4, xm] = 127
    lab = rgb_to_lab(img)
    assert not _fill_colour(lab, lab[..., 0] < 70.0, grey, 7)


def _r_available() -> bool:
    from simulate.rfigures import r_available

    return r_available()


@pytest.mark.skipif(not _r_available(), reason="Rscript with survival + survminer not installed")
def test_black_arms_in_bands_over_a_grid_are_both_found(tmp_path):
    """survminer theme_bw at 72 dpi, two black arms (solid, dashed) with conf.int: the grid
    seen through the bands (grey65) and the bands' overlap (grey49) used to be taken for a curve
    colour, given to 'Placebo' by order, and the solid black arm was lost (R set seed 1, figure
    49). Now the one curve colour is black, both names share it (told apart by line style), and
    each true arm is traced by one found arm."""
    from scipy.optimize import linear_sum_assignment

    from digitize.accuracy import curve_errors
    from digitize.auto.detect import detect_figure
    from digitize.extract import extract_arms
    from simulate.rfigures import render_r_figures
    from tests.test_auto_arms_r import _set_figure

    ipd, spec = _set_figure(1, 49)
    assert spec.engine == "survminer" and spec.conf_int and spec.theme == "bw"
    assert spec.colours == ["#000000", "#000000"] and spec.linetypes == [1, 2]
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    img = fig.load_image()
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), det.arms
    assert all(max(a.rgb) < 60 for a in det.arms), [(a.name, a.rgb) for a in det.arms]
    arms = extract_arms(img, det.calibration, det.arms, plot_area=det.plot_area)
    errs = np.array([[curve_errors(a.time, a.survival, *fig.truth.km(n))["iae"] for n in spec.names]
                     for a in arms])
    r, c = linear_sum_assignment(errs)
    # (given the true colours and calibration the traces come out at 0.016 / 0.011: two black
    # lines in bands told apart by style)
    assert errs[r, c].max() < 0.03, errs.round(4)
