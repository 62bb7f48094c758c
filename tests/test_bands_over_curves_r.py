"""Curves seen through translucent confidence bands (issue 13): survminer (ggplot) draws the
``conf.int`` ribbons OVER the curves, each in its arm's colour at alpha 0.3, so inside another
arm's ribbon a curve shows ``band + T (colour - paper)``, not its colour (digitize.inkmask.
band_stacks). A pale grey (#BEBEBE) dotted arm under the black and grey arms' ribbons is seen
almost only so; it used to be lost (R seed 0 figure 18).
"""
import numpy as np

from digitize.inkmask import band_stacks
from test_auto_arms_r import _iae, _set_figure, needs_r


def _paired_iae(arms, truth) -> np.ndarray:
    """IAE of each true arm against the traced arm paired with it (least total IAE)."""
    from scipy.optimize import linear_sum_assignment

    errs = np.array([[_iae(a, truth, n) if not a.empty else 1.0 for n in truth.arms] for a in arms])
    r, c = linear_sum_assignment(errs)
    out = np.full(len(truth.arms), 1.0)
    out[c] = errs[r, c]
    return out


def test_band_stacks_recover_opacity_and_layers():
    """Bands composited from the arms' fills at one opacity are explained with that opacity,
    and the layers over a pixel are counted (transmittance (1 - alpha) each); other shading is not."""
    paper = np.array([235.0, 235.0, 235.0])
    fills = [(0, 0, 0), (127, 127, 127), (190, 190, 190)]
    a = 0.3

    def over(c, f):
        return (1 - a) * np.asarray(c, float) + a * np.asarray(f, float)

    one = [over(paper, f) for f in fills]              # each arm's band alone
    two = over(over(paper, fills[0]), fills[2])        # the black and the pale arm's bands
    pale_two = over(over(paper, fills[1]), fills[2])   # the grey and the pale arm's bands
    cols = np.array([one[0]] * 300 + [one[1]] * 300 + [one[2]] * 300 + [two] * 300 + [pale_two] * 200)
    ok, alpha = band_stacks(cols, paper, fills)    # [pixel, arm, layers - 1]
    assert abs(alpha - a) <= 0.011
    assert ok[300:600, 1, 0].all() and not ok[300:600, [0, 2]].any() and not ok[300:600, 1, 1:].any()
    assert ok[600:900, 2, 0].all() and not ok[600:900, :2].any()
    assert ok[900:1200][:, [0, 2], 1].all() and not ok[900:1200, 1].any()   # black + pale
    assert ok[1200:][:, [1, 2], 1].all() and not ok[1200:, 0].any()         # grey + pale
    # all three grey ribbons composite to within a unit of the black ribbon alone: both readings
    assert ok[:300, 0, 0].all() and ok[:300, :, 2].all()
    # a tint no stack of these fills makes (a bluish legend box) explains nothing
    assert band_stacks(np.array([[200.0, 210.0, 250.0]] * 500), paper, fills) is None


@needs_r
def test_pale_dotted_arm_under_ribbons_is_traced_and_found(tmp_path):
    """R seed 0 figure 18: survminer, theme_grey, arms #000000 solid, #7F7F7F dashed, #BEBEBE
    dotted, conf.int ribbons over the curves. Given the true colours the tracer follows each arm
    (the pale one through the others' ribbons); zero-click finds all three arms."""
    from digitize.auto.detect import detect_figure
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec, extract_arms
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(0, 18)
    assert spec.engine == "survminer" and spec.conf_int and spec.theme == "grey"
    assert spec.colours == ["#000000", "#7F7F7F", "#BEBEBE"]
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    tr = fig.truth
    img = fig.load_image()
    cal = Calibration.from_dict(tr.calibration)
    arms = extract_arms(img, cal, [ArmSpec(n, tuple(tr.colors[n])) for n in tr.arms], plot_area=tr.plot_area)
    iae = _paired_iae(arms, tr)
    # the black and dark grey arms closely; the pale dotted one, mostly hidden under two
    # ribbons and the black arm's censor ticks, within 0.05 (it was lost: IAE > 0.1)
    assert iae[:2].max() < 0.006, iae.round(4)
    assert iae[2] < 0.05, iae.round(4)

    # the colour search sees ink against the band under it: the black and the grey curve inside
    # the ribbons' dark overlaps are found (the grey one was taken for a band overlap's blend)
    from digitize.colors import find_arm_colors
    from digitize.inkmask import rgb_to_lab

    true_lab = rgb_to_lab(np.array([tr.colors[n] for n in tr.arms], float))
    got = find_arm_colors(img, tr.plot_area)
    de = np.linalg.norm(rgb_to_lab(np.array(got, float))[:, None, :] - true_lab[None], axis=2)
    assert (de[:, :2].min(axis=0) < 10).all(), got

    det = detect_figure(img)
    assert len(det.arms) == 3, [(a.name, a.rgb) for a in det.arms]
    found = extract_arms(img, det.calibration, det.arms, plot_area=det.plot_area)
    iae = _paired_iae(found, tr)
    assert iae.max() < 0.05, iae.round(4)
