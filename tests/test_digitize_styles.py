"""Arms that share a colour, told apart by line style (issue 14): two black curves, solid and
dashed, that cross; a dotted one beside a solid one; the eyedropper's snap to a line's core;
R-rendered black-and-white figures (skipped without Rscript)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from digitize.accuracy import curve_errors
from digitize.calibrate import Calibration
from digitize.colors import ink_colour_at
from digitize.extract import ArmSpec, extract_arms
from kmrecon.cli import main
from simulate.figure import render_figure
from simulate.ipd import simulate_arm
from test_digitize_extract import _style

NAMES = ("Control", "Treatment")


def _crossing_ipd(seed: int = 0) -> pd.DataFrame:
    """Two arms whose KM curves cross: early deaths in one (Weibull shape 0.6), late in the other
    (shape 2)."""
    rng = np.random.default_rng(seed)
    frames = []
    for name, shape, median in zip(NAMES, (0.6, 2.0), (12.0, 16.0)):
        d = simulate_arm(120, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0, dropout_rate=0.01)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", name)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def _black(styles, censor="+", **kw):
    names = NAMES[:len(styles)]
    return render_figure(_crossing_ipd(), _style(names, colors=("#000000",) * len(styles), line_styles=styles,
                                                 censor_mark=censor, dpi=120, width_in=6.5, height_in=4.6,
                                                 line_width_px=1.6, **kw))


@pytest.fixture(scope="module")
def solid_dashed():
    fig = _black(("solid", "dashed"))
    # the curves cross (the truth's survival difference changes sign)
    grid = np.linspace(0.5, 30, 60)
    s = [np.interp(grid, *fig.truth.km(a)) for a in NAMES]
    assert (s[0] - s[1]).min() < -0.05 and (s[0] - s[1]).max() > 0.05
    return fig


def _cal_args(fig) -> list[str]:
    c = fig.truth.calibration
    return [a for k in ("x1", "x2", "y1", "y2") for a in (f"--{k}", f"{c[k]['px']},{c[k]['py']}={c[k]['value']}")]


def _cli_iae(fig, tmp_path, arm_args) -> dict[str, float]:
    from PIL import Image

    png = tmp_path / "bw.png"
    Image.fromarray(fig.image).save(png)
    out = tmp_path / "ipd.csv"
    assert main(["extract", str(png), *_cal_args(fig), *arm_args, "--out", str(out)]) == 0
    curves = pd.read_csv(tmp_path / "ipd.curves.csv")
    iae = {}
    for a in NAMES:
        g = curves[curves["arm"] == a]
        iae[a] = curve_errors(g["time"].to_numpy(), g["survival"].to_numpy(), *fig.truth.km(a))["iae"]
    return iae


def test_two_black_arms_solid_and_dashed_by_style(solid_dashed, tmp_path):
    """Before: the first arm took every black pixel, the second was 'not found' (exit 2)."""
    iae = _cli_iae(solid_dashed, tmp_path, ["--arm", f"{NAMES[0]}=#000000,solid",
                                            "--arm", f"{NAMES[1]}=#000000,dashed"])
    assert max(iae.values()) <= 0.004, iae


def test_two_black_arms_told_apart_by_a_point_on_one(solid_dashed, tmp_path):
    """--arm-at on the dashed curve (where it runs well above the solid one) is enough."""
    tr = solid_dashed.truth
    t = 8.0
    s = float(np.interp(t, *tr.km(NAMES[1])))
    px, py, _ = tr.data_to_pixel @ np.array([t, s * (100.0 if tr.y_percent else 1.0), 1.0])
    iae = _cli_iae(solid_dashed, tmp_path, ["--arm", f"{NAMES[0]}=#000000", "--arm", f"{NAMES[1]}=#000000",
                                            "--arm-at", f"{NAMES[1]}={px + 2:.1f},{py - 2:.1f}"])
    assert max(iae.values()) <= 0.004, iae


def test_parse_arm_style_and_errors():
    from digitize.cli import parse_arm, parse_arm_at
    from kmrecon.errors import KMReconError

    spec = parse_arm("Placebo=#1F77B4:12,dashed")
    assert (spec.rgb, spec.tolerance, spec.style) == ((31, 119, 180), 12.0, "dashed")
    assert parse_arm("A=#000000").style is None
    assert parse_arm_at("Arm B=412.5,230") == ("Arm B", (412.5, 230.0))
    for bad in ("A=#000000,wavy",):
        with pytest.raises(KMReconError, match="line style"):
            parse_arm(bad)
    with pytest.raises(KMReconError, match="NAME=PX,PY"):
        parse_arm_at("A=412")


def test_dotted_line_is_not_censor_marks():
    """A dotted black curve beside a solid one, no censor marks drawn: neither arm reports the
    dots as marks, and both curves come back."""
    fig = _black(("solid", "dotted"), censor="none")
    tr = fig.truth
    cal = Calibration.from_dict(tr.calibration)
    arms = extract_arms(fig.image, cal, [ArmSpec(NAMES[0], (0, 0, 0), style="solid"),
                                         ArmSpec(NAMES[1], (0, 0, 0), style="dotted")])
    for a in arms:
        assert a.censor_times.size <= 2, (a.name, a.censor_times)
        err = curve_errors(a.time, a.survival, *tr.km(a.name))
        assert err["iae"] <= 0.006, (a.name, err)


def test_eyedropper_snaps_to_a_thick_lines_core():
    """A 4 px dark-blue line on white: clicks up to 5 px off it (on paper, on its anti-aliased
    rim) read the line's colour, never the paper's; a click far from any ink says so."""
    img = np.full((60, 80, 3), 255, np.uint8)
    line = np.array([20, 40, 120], np.uint8)
    img[28:32, 5:75] = line
    img[27, 5:75] = img[32, 5:75] = (np.asarray(line, float) * 0.4 + 255 * 0.6).astype(np.uint8)   # rim
    for dy in (-5, -3, -1, 0, 2, 4, 5):
        rgb, at, warn = ink_colour_at(img, (40.3, 29.5 + dy))
        assert rgb == tuple(int(v) for v in line), (dy, rgb)
        assert at is not None and 28 <= at[1] <= 31 and not warn
    rgb, at, warn = ink_colour_at(img, (40, 5))
    assert at is None and warn and "paper" in warn[0]
    _, _, warn = ink_colour_at(img, (40, 30), others={"Control": (22, 40, 118)})
    assert warn and "Control" in warn[0]


def test_eyedropper_on_a_grey_line_touching_a_black_one():
    """A 2 px grey line crossing a black one: a click on the grey line reads grey, not black."""
    img = np.full((60, 80, 3), 255, np.uint8)
    img[30:32, 5:75] = 120              # grey, horizontal
    img[5:55, 50:52] = 0                # black, vertical, crossing it
    rgb, at, warn = ink_colour_at(img, (20.0, 33.0))
    assert rgb == (120, 120, 120) and at is not None and not warn


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
def test_base_r_black_solid_dashed_dotted(tmp_path):
    """base R plot(survfit, lty=1:3, col='black', mark.time=TRUE): three black arms, given by style."""
    from simulate.rfigures import RSpec, render_r_figures

    rng = np.random.default_rng(3)
    frames = []
    for name, shape, median in zip("ABC", (0.7, 1.5, 1.0), (10.0, 18.0, 30.0)):
        d = simulate_arm(100, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", name)
        frames.append(d)
    spec = RSpec(engine="base", names=["A", "B", "C"], colours=["#000000"] * 3, linetypes=[1, 2, 3],
                 legend="topright", risk_table=False, censor="+", break_time_by=6.0, lwd=1.0,
                 width=1000, height=700, res=120, xaxs="i", xlab="Months")
    (fig,) = render_r_figures([(pd.concat(frames, ignore_index=True), spec)], tmp_path)
    tr = fig.truth
    assert tr.styles == {"A": "solid", "B": "dashed", "C": "dotted"}
    cal = Calibration.from_dict(tr.calibration)
    arms = extract_arms(fig.load_image(), cal, [ArmSpec(a, (0, 0, 0), style=tr.styles[a]) for a in tr.arms],
                        plot_area=tr.plot_area)
    iae = {a.name: curve_errors(a.time, a.survival, *tr.km(a.name))["iae"] for a in arms}
    assert max(iae.values()) <= 0.006, iae


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
def test_zero_click_base_r_black_arms_named_from_single_letter_table_rows(tmp_path):
    """Zero-click on base R lty=1:3, all black, with a number-at-risk table whose rows are
    labelled 'A', 'B', 'C' (R's strata names; the legend's plain text has no colour): the three
    rows name three arms of the one curve colour, told apart by line style, and each row's
    numbers are that arm's (before: single-letter labels were taken for swatch bars, one arm
    'Arm 1' was kept and rows B and C were dropped)."""
    from digitize.auto import detect_figure
    from simulate.ipd import number_at_risk
    from simulate.rfigures import RSpec, render_r_figures

    rng = np.random.default_rng(3)
    frames = []
    for name, shape, median in zip("ABC", (0.7, 1.5, 1.0), (10.0, 18.0, 30.0)):
        d = simulate_arm(120, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0, dropout_rate=0.01)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", name)
        frames.append(d)
    ipd = pd.concat(frames, ignore_index=True)
    spec = RSpec(engine="base", names=["A", "B", "C"], colours=["#000000"] * 3, linetypes=[1, 2, 3],
                 legend="topright", risk_table=True, censor="+", break_time_by=6.0, lwd=1.0,
                 base_axis="las1", width=1000, height=780, res=120, xaxs="i", xlab="Months")
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    assert {a.name: a.style for a in det.arms} == {"A": "solid", "B": "dashed", "C": "dotted"}, det.warnings
    assert all(a.rgb == (0, 0, 0) for a in det.arms)
    rt = det.risk_table
    assert rt is not None and sorted(rt.n_risk) == ["A", "B", "C"], det.warnings
    for a in "ABC":
        want = number_at_risk(ipd[ipd.arm == a].time, np.asarray(rt.times, float))
        assert np.array_equal(np.asarray(rt.n_risk[a], float), np.asarray(want, float)), (a, rt.n_risk[a], want)
    # same-colour arms stay a review item (colour alone cannot keep their traces apart)
    assert "arms" in det.needs_review
    # base R's (cairo's) tick marks ink two rows alike, centred on the boundary between them:
    # read as such, not shifted half a pixel as if snapped to a pixel centre (matplotlib's Agg)
    truth = Calibration.from_dict(fig.truth.calibration)
    for t, s in ((0.0, 1.0), (0.0, 0.0), (24.0, 0.5)):
        got = np.asarray(det.calibration.to_pixel(t, s), float)
        want = np.asarray(truth.to_pixel(t, s), float)
        assert np.max(np.abs(got - want)) <= 0.25, (t, s, got, want)


def _survminer_bw(seed: int, arms, tmp_path):
    """survminer ggsurvplot(palette black, linetype='strata'): A solid, B dashed (benchmarks'
    bench_styles figure spec), 120 patients an arm."""
    from simulate.rfigures import RSpec, R_LTY, render_r_figures

    rng = np.random.default_rng(seed)
    frames = []
    for name, (shape, median) in zip("AB", arms):
        d = simulate_arm(120, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0, dropout_rate=0.01)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", name)
        frames.append(d)
    spec = RSpec(engine="survminer", names=["A", "B"], colours=["#000000"] * 2,
                 linetypes=[R_LTY["solid"], R_LTY["dashed"]], legend="top", lwd=0.5, theme="survminer",
                 censor_size=4.5, risk_table=True, censor="+", break_time_by=6.0, width=1000, height=780,
                 res=120, xlab="Months")
    (fig,) = render_r_figures([(pd.concat(frames, ignore_index=True), spec)], tmp_path)
    tr = fig.truth
    arms = extract_arms(fig.load_image(), Calibration.from_dict(tr.calibration),
                        [ArmSpec(a, (0, 0, 0), style=tr.styles[a]) for a in tr.arms], plot_area=tr.plot_area)
    return tr, {a.name: a for a in arms}


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
def test_survminer_dashed_tail_is_followed_to_its_end(tmp_path):
    """survminer's dashes (lwd 1.6 px) leave 7 px gaps on a plateau; read between pieces merely
    consecutive in x the gap came out 5 px, the gaps of the long flat tail counted as bare paper
    and the dashed trace ended at 30 of 48 months (IAE 0.013)."""
    tr, arms = _survminer_bw(100, ((0.6, 12.0), (2.0, 16.0)), tmp_path)
    b = arms["B"]
    assert b.time[-1] >= tr.km("B")[0][-1] - 1.0, b.time[-1]
    assert curve_errors(b.time, b.survival, *tr.km("B"))["iae"] <= 0.004


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
def test_dashed_start_hidden_under_the_solid_curve_follows_it(tmp_path):
    """Both curves start at 1 and fall together for two months: the dashed curve's first dashes
    merge into the solid one's strokes, so its trace begins at month 1.9. Held at 1 until there
    (one late drop of 8 %), its IAE was 0.0044; taken along the solid curve that hides it, the
    start is within a few hundredths."""
    tr, arms = _survminer_bw(5, ((1.0, 9.0), (1.0, 18.0)), tmp_path)
    b = arms["B"]
    assert curve_errors(b.time, b.survival, *tr.km("B"))["iae"] <= 0.0035
    assert any("runs together with arm 'A'" in w for w in b.warnings), b.warnings
    t = np.linspace(0.2, 1.8, 17)
    from digitize.accuracy import step_value

    assert np.max(np.abs(step_value(b.time, b.survival, t) - step_value(*tr.km("B"), t))) <= 0.05


def _base_two_black(tmp_path, seed: int, arms, **spec_kw):
    """base R plot(survfit, col = 'black'), two solid curves 'Control' and 'Treated' (120
    patients each; ``arms``: (shape, median) per arm), legend topright, risk table, '+' marks
    unless ``pchs`` says otherwise; ``spec_kw``: lwds / pchs (rfigures.RSpec)."""
    from simulate.rfigures import RSpec, render_r_figures

    rng = np.random.default_rng(seed)
    frames = []
    for name, (shape, median) in zip(NAMES_W, arms):
        d = simulate_arm(120, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0, dropout_rate=0.01)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", name)
        frames.append(d)
    spec = RSpec(engine="base", names=list(NAMES_W), colours=["#000000"] * 2, linetypes=[1, 1],
                 legend="topright", risk_table=True, censor="+", break_time_by=6.0, base_axis="las1",
                 width=1000, height=780, res=120, xaxs="i", xlab="Months", **spec_kw)
    (fig,) = render_r_figures([(pd.concat(frames, ignore_index=True), spec)], tmp_path)
    return fig


def _base_widths(tmp_path, lwds, seed=9):
    """Crossing curves at line widths ``lwds`` (bench_styles' 'base 2 widths crossing')."""
    return _base_two_black(tmp_path, seed, ((0.6, 12.0), (2.0, 16.0)), lwds=list(lwds))


NAMES_W = ("Control", "Treated")


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
@pytest.mark.parametrize("lwds", [(3.0, 1.0), (1.0, 3.0)])
def test_black_arms_told_apart_by_line_width(tmp_path, lwds):
    """Two solid black curves, one drawn at lwd 3 and one at lwd 1, crossing: zero-click finds
    both as arms of styles 'thick' and 'solid', names each from the width of its legend key
    (either order), and traces each within IAE 0.003 of its true KM. Before: one arm was found
    (the two curves traced as one, N estimated from both)."""
    from digitize.auto import detect_figure
    from digitize.linestyle import propose_styles, thick_part  # noqa: F401

    fig = _base_widths(tmp_path, lwds)
    tr = fig.truth
    assert tr.styles == {n: ("thick" if w > 2 else "solid") for n, w in zip(NAMES_W, lwds)}
    det = detect_figure(fig.load_image())
    assert {a.name: a.style for a in det.arms} == tr.styles, det.warnings
    arms = extract_arms(fig.load_image(), det.calibration, list(det.arms), plot_area=det.plot_area)
    for a in arms:
        assert curve_errors(a.time, a.survival, *tr.km(a.name))["iae"] <= 0.003, a.name
    # given by style on the command line, the same
    cal = Calibration.from_dict(tr.calibration)
    arms = extract_arms(fig.load_image(), cal, [ArmSpec(a, (0, 0, 0), style=tr.styles[a]) for a in tr.arms],
                        plot_area=tr.plot_area)
    assert max(curve_errors(a.time, a.survival, *tr.km(a.name))["iae"] for a in arms) <= 0.003


def test_one_solid_line_is_not_split_by_width():
    """A single solid step line of one width (with '+' marks and a thick legend-like blob) is
    one style; a thick and a thin line, each falling across the plot, are two."""
    from digitize.linestyle import propose_styles, split_by_style

    ink = np.zeros((200, 400), bool)
    for x0, x1, y in ((10, 120, 20), (120, 260, 80), (260, 390, 150)):
        ink[y:y + 2, x0:x1] = True                # thin plateaus (2 px)
    ink[20:82, 120:122] = True
    ink[80:152, 260:262] = True
    for x in (60, 200, 330):                      # '+' marks
        y = 20 if x < 120 else 80 if x < 260 else 150
        ink[y - 5:y + 6, x] = True
        ink[y, x - 5:x + 6] = True
    assert propose_styles(ink, 2.0) == ["solid"]
    thick = np.zeros_like(ink)
    for x0, x1, y in ((10, 80, 30), (80, 200, 100), (200, 390, 170)):
        thick[y:y + 6, x0:x1] = True              # thick plateaus (6 px)
    thick[30:106, 80:86] = True
    thick[100:176, 200:206] = True
    both = ink | thick
    assert propose_styles(both, 2.0) == ["solid", "thick"]
    maps = split_by_style(both, ["solid", "thick"], 2.0)
    assert (maps["thick"] & thick).sum() >= 0.9 * thick.sum() and not (maps["thick"] & ink & ~thick).sum() > 20
    assert (maps["solid"] & ink).sum() >= 0.7 * ink.sum() and not (maps["solid"] & thick).any()


def _base_glyphs(tmp_path, pchs=(1, 2), seed=11):
    """Two solid black curves at lwd 1 told apart only by their censor-mark symbols (R pch:
    1 circles, 2 triangles), legend keys showing them."""
    return _base_two_black(tmp_path, seed, ((1.0, 10.0), (1.0, 20.0)), pchs=list(pchs))


def _own_vs_other(fig, arms) -> dict[str, tuple[float, float]]:
    """Per arm: (IAE against its own true KM, IAE against the other arm's)."""
    tr = fig.truth
    out = {}
    for a in arms:
        other = [b for b in tr.arms if b != a.name][0]
        out[a.name] = (curve_errors(a.time, a.survival, *tr.km(a.name))["iae"],
                       curve_errors(a.time, a.survival, *tr.km(other))["iae"])
    return out


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
def test_same_style_arms_named_by_their_mark_symbols(tmp_path):
    """Zero-click: two solid black curves, circles vs triangles. Each legend key's symbol is
    found where it is drawn in the plot (true marks only), each arm's trace keeps to the curve
    carrying its symbols, and the names come out right. Before: the second arm was taken for a
    'dashed' curve (the thin line's anti-aliased pieces) and both traces ran along one curve
    where they met; then, before the stretches between the curves' meetings were given to the
    arm whose marks they carry, the traces swapped for the tail (IAE 0.007 and 0.012)."""
    from digitize.auto import detect_figure
    from digitize.calibrate import Calibration as Cal

    fig = _base_glyphs(tmp_path)
    tr = fig.truth
    det = detect_figure(fig.load_image())
    arms = {a.name: a for a in det.arms}
    assert set(arms) == set(NAMES_W) and all(a.style == "solid" for a in arms.values()), det.warnings
    cal = Cal.from_dict(tr.calibration)
    ipd = tr.ipd
    for name, a in arms.items():
        assert a.marks and len(a.marks) >= 5, (name, a.marks)
        # every symbol found is one of this arm's censorings, drawn on its curve
        t, s = tr.km(name)
        cens = ipd[(ipd.arm == name) & (ipd.event == 0)].time.to_numpy()
        px = np.array([cal.to_pixel(c, float(s[np.searchsorted(t, c, side="right") - 1])) for c in cens], float)
        d = np.array([np.min(np.hypot(px[:, 0] - x, px[:, 1] - y)) for x, y in a.marks])
        assert np.mean(d <= 4.0) >= 0.9, (name, np.round(d, 1))
    got = extract_arms(fig.load_image(), det.calibration, list(det.arms), plot_area=det.plot_area)
    for name, (own, other) in _own_vs_other(fig, got).items():
        assert own <= 0.003 and other >= 20 * own, (name, own, other)


@pytest.mark.skipif(not __import__("simulate.rfigures", fromlist=["r_available"]).r_available(),
                    reason="needs Rscript with survival + survminer")
def test_same_style_arms_told_apart_by_a_click_on_each(tmp_path):
    """Two solid black curves and a point on each (as the user clicks them, in either order):
    each arm's trace is the curve through its point (before: both traced the same curve).
    Known limit: with no marks known beyond the clicks, where one curve's drop passes the
    other's level late on, the traces may swap for the tail (IAE up to ~0.012 here)."""
    fig = _base_glyphs(tmp_path)
    tr = fig.truth
    cal = Calibration.from_dict(tr.calibration)
    pts = {}
    for a in tr.arms:
        t, s = tr.km(a)
        pts[a] = tuple(float(v) for v in cal.to_pixel(25.0, float(s[np.searchsorted(t, 25.0, side="right") - 1])))
    for order in (list(tr.arms), list(tr.arms)[::-1]):
        specs = [ArmSpec(a, (0, 0, 0), at=pts[a]) for a in order]
        got = extract_arms(fig.load_image(), cal, specs, plot_area=tr.plot_area)
        for name, (own, other) in _own_vs_other(fig, got).items():
            assert own <= 0.012 and other >= 5 * own, (order, name, own, other)


def _glyph(kind: str, img: np.ndarray, x: int, y: int, r: int = 5) -> None:
    import cv2

    if kind == "circle":
        cv2.circle(img, (x, y), r, 1, 1)
    else:
        pts = np.array([[x, y - r], [x - r, y + r - 1], [x + r, y + r - 1]], np.int32)
        cv2.polylines(img, [pts], True, 1, 1)


def test_glyph_points_find_each_keys_symbol_on_its_curve():
    """digitize.glyphs on a drawn figure: two step lines of one colour, circles on one and
    triangles on the other, a legend key of each (a line with its symbol across the middle).
    Every symbol found is the right kind (no corner, drop or other symbol), most are found, and
    the keys' templates differ; a key without a symbol gives none."""
    from digitize.glyphs import glyph_points, key_glyph, same_glyph

    img = np.zeros((300, 600), np.uint8)
    # legend keys at the top right: 40 px lines with a symbol in the middle
    for k, kind in enumerate(("circle", "triangle")):
        y = 20 + 20 * k
        img[y, 500:540] = 1
        _glyph(kind, img, 520, y)
    img[80, 500:540] = 1                      # a plain key: no symbol
    # two step curves
    rng = np.random.default_rng(0)
    truth = {}
    for kind, y0, step in (("circle", 100, 12), ("triangle", 60, 7)):
        y, pts = y0, []
        for x0 in range(10, 460, 30):
            img[y, x0:x0 + 30] = 1
            img[y:y + step + 1, x0 + 30] = 1
            xm = int(x0 + 8 + rng.integers(0, 12))
            _glyph(kind, img, xm, y)
            pts.append((xm, y))
            y += step
        truth[kind] = np.array(pts, float)
    ink = img > 0
    t_c, t_t = key_glyph(ink, (495, 12, 545, 28)), key_glyph(ink, (495, 32, 545, 48))
    assert t_c is not None and t_t is not None and not same_glyph(t_c, t_t)
    assert key_glyph(ink, (495, 72, 545, 88)) is None
    excl = np.zeros_like(ink)
    excl[5:90, 490:560] = True                # the legend
    found = glyph_points(ink, [t_c, t_t], excl)
    for pts, kind in zip(found, ("circle", "triangle")):
        other = truth["triangle" if kind == "circle" else "circle"]
        d_own = np.array([np.min(np.hypot(*(truth[kind] - p).T)) for p in pts])
        d_other = np.array([np.min(np.hypot(*(other - p).T)) for p in pts])
        assert pts.shape[0] >= 0.7 * truth[kind].shape[0], (kind, pts.shape)
        assert np.all(d_own <= 2.0) and np.all(d_other > 4.0), (kind, d_own, d_other)
