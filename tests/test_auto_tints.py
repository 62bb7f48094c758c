"""A thin curve's anti-aliased tint is the same arm, not a new curve (digitize.colors).

At 72-100 dpi a line 1-1.5 px wide has no fully covered pixels in some of its pieces: a vertical
drop or censor tick off the pixel grid is drawn in the colour blended with the paper, everywhere
the same, and colour clustering sees two colours for one curve. The tint must merge into its
curve; a separate paler curve of the same hue (grey beside black) must not."""
import numpy as np
import pytest

from digitize.colors import find_arm_colors
from digitize.inkmask import rgb_to_lab

W, H = 420, 320


def _tint(rgb, a=0.72):
    return tuple(int(round(255 - a * (255 - c))) for c in rgb)


def _step_curve(img, rgb, y_start, step_px, drop_px, seed, tint_vertical=True, tick_every=37):
    """A KM-like staircase: horizontal runs in the full colour (1 px), drops and censor ticks
    (1 px wide) in its paper tint when ``tint_vertical`` (pixels: image rows/cols)."""
    rng = np.random.default_rng(seed)
    vert = _tint(rgb) if tint_vertical else rgb
    x, y = 20, y_start
    while x < W - 30 and y < H - 30:
        run = int(step_px + rng.integers(-3, 4))
        img[y, x:x + run] = rgb
        for tx in range(x + 3, x + run, tick_every):       # censor ticks on the run
            img[y - 3:y + 4, tx] = vert
        x += run
        d = int(drop_px + rng.integers(0, 3))
        img[y:y + d + 1, x] = vert
        y += d


def _lab_de(a, b):
    return float(np.linalg.norm(rgb_to_lab(np.array([a], float))[0] - rgb_to_lab(np.array([b], float))[0]))


def test_tint_of_a_thin_curve_is_not_a_new_arm():
    img = np.full((H, W, 3), 255, np.uint8)
    blue, red = (0, 114, 181), (188, 60, 41)
    # (most of the blue's pixels are tint - dense censor ticks, long drops - so the clustering
    # meets the tint first, as in a 72 dpi base R figure)
    _step_curve(img, blue, 30, 9, 5, seed=1, tick_every=4)
    _step_curve(img, red, 40, 14, 4, seed=2)
    found = find_arm_colors(img, (0, 0, W - 1, H - 1))
    assert len(found) == 2, found
    # the arms take their full colours, not the paler tints
    assert min(_lab_de(f, blue) for f in found) < 8.0, found
    assert min(_lab_de(f, red) for f in found) < 8.0, found


def test_a_separate_paler_curve_of_the_same_hue_stays_an_arm():
    """Grey (#7f7f7f) is a blend of black with the paper, but drawn as a curve of its own (runs
    and drops in grey, apart from the black curve) it is a second arm."""
    img = np.full((H, W, 3), 255, np.uint8)
    _step_curve(img, (0, 0, 0), 30, 10, 3, seed=1, tint_vertical=False)
    # (both start at S = 1 together: the grey touches the black, as real curves do)
    _step_curve(img, (127, 127, 127), 30, 10, 5, seed=3, tint_vertical=False)
    found = find_arm_colors(img, (0, 0, W - 1, H - 1))
    assert len(found) == 2, found
    assert min(_lab_de(f, (0, 0, 0)) for f in found) < 8.0, found
    assert min(_lab_de(f, (127, 127, 127)) for f in found) < 8.0, found


def _seed1_figure3():
    """The IPD and spec of figure 3 of the R set of seed 1 (simulate.rfigures.r_figure_set):
    two black arms, solid and dashed, lwd 1.5 at 96 dpi, legend right, '+' marks."""
    from simulate.rfigures import random_rspec, simulate_trial

    rng = np.random.default_rng(1)
    for _ in range(4):
        spec = random_rspec(rng, None, None)
        ipd = simulate_trial(rng, spec.names, bool(rng.random() < 0.25))
    return ipd, spec


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="Rscript with survival + survminer not installed")
@pytest.mark.parametrize("case", ["three_72dpi", "two_96dpi"])
def test_black_arms_in_line_styles_at_low_dpi(tmp_path, case):
    """Base R at 72-96 dpi, black arms drawn solid/dashed/dotted with a legend and a risk table:
    the dashed and dotted curves and keys read grey (never fully covered), the solid one near
    black. They are one ink told apart by line style: every arm is found with its own style,
    and a dashed line broken up by the pixel grid adds no unnamed arm."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import RSpec, render_r_figures, simulate_trial

    if case == "three_72dpi":
        names = ["Chemotherapy", "Pembrolizumab", "Combination"]
        spec = RSpec(engine="base", names=names, colours=["#000000"] * 3, linetypes=[1, 2, 3],
                     legend="right", risk_table=True, censor="|", lwd=1.0, width=600, height=480,
                     res=72, base_axis="boxed")
        ipd = simulate_trial(np.random.default_rng(11), names)
    else:
        ipd, spec = _seed1_figure3()
        assert spec.res == 96 and spec.linetypes == [1, 2] and spec.colours == ["#000000"] * 2
        names = spec.names
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    got = {a.name: a for a in det.arms}
    assert set(got) == set(names), list(got)
    assert len({got[n].rgb for n in names}) == 1, [got[n].rgb for n in names]
    assert [got[n].style for n in names] == ["solid", "dashed", "dotted"][:len(names)], \
        [got[n].style for n in names]


def test_grey_curve_found_after_a_more_prominent_black_one():
    """A grey curve (#7f7f7f, half-covered black) is found when the black curve has more
    pixels and is clustered first: black's anti-aliased blends are removed around its own
    strokes only, and blend-coloured ink apart from them that is mostly one colour (a curve's
    covered core) stays a colour of its own. Before: black claimed every pixel on its blend
    line and the grey curve vanished (seed-2 R figures 20, 22, 25: survminer/base R
    black-and-grey palettes)."""
    img = np.full((H, W, 3), 255, np.uint8)
    for dy in (0, 1):   # a 2 px black line: twice the grey's pixels
        _step_curve(img, (0, 0, 0), 30 + dy, 10, 3, seed=1, tint_vertical=False)
    grey = np.full((H, W, 3), 255, np.uint8)
    _step_curve(grey, (127, 127, 127), 60, 12, 5, seed=3, tint_vertical=False)
    dashed = np.where((np.arange(W) // 6) % 3 == 2, 255, 0).astype(bool)   # gaps of a dashed line
    grey[:, dashed] = 255
    img = np.minimum(img, grey)
    found = find_arm_colors(img, (0, 0, W - 1, H - 1))
    assert len(found) == 2, found
    assert min(_lab_de(f, (0, 0, 0)) for f in found) < 8.0, found
    assert min(_lab_de(f, (127, 127, 127)) for f in found) < 8.0, found


def test_pale_dots_of_a_dotted_line_are_not_a_new_arm():
    """A thin dotted line (base R lty 3 at 120 dpi) puts most of its dots down at one sub-pixel
    position: their pale colour (#8f8f8f for #666666) is as uniform as a curve's, but they lie
    a dot's gap from the line's fully covered dots. One colour, not two (bench_styles 'base 2
    grey' lost its dotted arm to a pale 'colour' of its own)."""
    img = np.full((H, W, 3), 255, np.uint8)
    grey, pale = (102, 102, 102), (143, 143, 143)
    for dy in (0, 1):
        _step_curve(img, grey, 30 + dy, 10, 3, seed=1, tint_vertical=False)
    dots = np.full((H, W, 3), 255, np.uint8)
    _step_curve(dots, grey, 60, 12, 5, seed=3, tint_vertical=False)
    x = np.arange(W)
    dots[:, (x % 4) >= 2] = 255                     # dots 2 px long, 2 px apart
    paled = ((x % 12) < 8)[None, :] & (dots[..., 0] == grey[0])
    dots[paled] = pale                              # two dots of three drawn pale
    img = np.minimum(img, dots)
    found = find_arm_colors(img, (0, 0, W - 1, H - 1))
    assert len(found) == 1 and _lab_de(found[0], grey) < 8.0, found
