"""Zero-click never loses an arm of an R-drawn figure (issue 13): figures of the R set
(simulate.rfigures, from simulated IPD with known truth) that lost or misnamed an arm.

- base R ``conf.int = TRUE`` draws each arm's confidence limits in the arm's line type: three
  black arms (solid, dashed, dotted) are nine black lines, whose dashes and dots crowd each
  other; every style is still an arm (digitize.linestyle._two_chains);
- a legend placed where the curves run (bottom right, over the tails) has a curve's plateau
  crossing its key strip a few pixels from a key: the key is still read
  (digitize.auto.legend._passing_rows).
"""
import numpy as np
import pytest

from digitize.auto.legend import key_style, swatch_colour
from digitize.auto.text import Token


def _r_available() -> bool:
    from simulate.rfigures import r_available

    return r_available()


needs_r = pytest.mark.skipif(not _r_available(), reason="Rscript with survival + survminer not installed")


def _set_figure(seed: int, k: int):
    """The IPD and spec of figure ``k`` of the R set of ``seed`` (simulate.rfigures.r_figure_set
    draws them in this order from one generator)."""
    from simulate.rfigures import random_rspec, simulate_trial

    rng = np.random.default_rng(seed)
    for _ in range(k + 1):
        spec = random_rspec(rng, None, None)
        ipd = simulate_trial(rng, spec.names, bool(rng.random() < 0.25))
    return ipd, spec


def _iae(a, truth, name) -> float:
    from digitize.accuracy import curve_errors

    return curve_errors(a.time, a.survival, *truth.km(name))["iae"]


@needs_r
def test_black_arms_with_limits_in_their_line_types_are_each_an_arm(tmp_path):
    """Base R at 200 dpi: three black arms, lty 1/2/3, each with its confidence limits in its
    line type (nine black lines), legend top left over the curves' start (its keys and names
    crossed by the curves, so no name is read). Zero-click used to propose two styles (solid,
    dotted: the dashes taken for dots' neighbours) and lost an arm; now each style is an arm,
    flagged as unnamed, and each traces one true arm's estimate."""
    from digitize.auto.detect import detect_figure
    from digitize.extract import extract_arms
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(0, 12)
    assert spec.engine == "base" and spec.conf_int and spec.linetypes == [1, 2, 3] and spec.res == 200
    assert len(set(spec.colours)) == 1 and spec.legend == "topleft"
    names = spec.names
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    img = fig.load_image()
    det = detect_figure(img)
    assert len(det.arms) == 3, ([(a.name, a.rgb, a.style) for a in det.arms], det.warnings)
    assert sorted(a.style for a in det.arms) == ["dashed", "dotted", "solid"], det.arms
    assert any(r["piece"] == "arms" for r in det.review_items)   # unnamed arms never pass silently
    arms = extract_arms(img, det.calibration, det.arms, plot_area=det.plot_area)
    # each true arm is traced by one found arm (its estimate, not one of its limits)
    errs = np.array([[_iae(a, fig.truth, n) for n in names] for a in arms])
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(errs)
    assert errs[r, c].max() < 0.012, errs.round(4)


def test_two_chains_crowded_and_censor_marks_on_a_dashed_line():
    """Two crowded chains (dashes 10 px, dots 4 px, each piece a pitch from its own kind but
    often nearer the other line's) are two styles; a dashed line with censor marks on it (a few
    longer pieces far apart) is not."""
    from digitize.linestyle import _two_chains

    rows = []
    # a dashed line (dash 10, gap 4) and a dotted one (dot 4x1, gap 3) 3 px apart, twice over
    for y0 in (20, 60):
        for x in range(0, 600, 14):
            rows.append((x, y0 + x // 40, 10, 2, 20, 1))
        for x in range(0, 600, 7):
            rows.append((x + 2, y0 + 3 + x // 40, 4, 1, 4, 0))
    st = np.array([r[:5] for r in rows], float)
    cls = np.array([r[5] for r in rows])
    assert _two_chains(st, cls, 1.5)
    # dashes (class 0) with censor marks (class 1) on them: '|' (2 x 12 px) every 60-150 px,
    # or survminer's '+' (11 x 11 px on a 1 px line) every 25-50 px
    rng = np.random.default_rng(0)
    for (mw, mh), (lo, hi), lw in (((2, 12), (60, 150), 1.5), ((11, 11), (25, 50), 1.0)):
        rows = [(x, 20 + x // 40, 7, 1, 7, 0) for x in range(0, 600, 10)]
        x = 0
        while x < 600:
            x += int(rng.integers(lo, hi))
            rows.append((x, 20 + x // 40 - mh // 2, mw, mh, 2 * max(mw, mh), 1))
        st = np.array([r[:5] for r in rows], float)
        cls = np.array([r[5] for r in rows])
        assert not _two_chains(st, cls, lw), (mw, mh)


def _key_strip(curve_row: int):
    """A white image with a legend entry: a 1-px key line (x 45-70, y 50) in blue left of a
    text token at x 80-110, and a yellow curve plateau along row ``curve_row`` from the far left
    through the key strip (ending at x 74: its run in the strip is longer than the key's)."""
    img = np.full((100, 160, 3), 255, np.uint8)
    ink = np.zeros((100, 160), bool)
    img[50, 45:71] = (95, 182, 231)
    ink[50, 45:71] = True
    img[curve_row, 0:75] = (231, 184, 0)
    ink[curve_row, 0:75] = True
    # the text: a few letter-like strokes (x-height 8 px)
    for x in range(82, 110, 6):
        img[46:55, x:x + 2] = 0
        ink[46:55, x:x + 2] = True
    return img, ink, Token((80, 45, 111, 56), 5, "Drug", 0.95)


@pytest.mark.parametrize("curve_row", [53, 47])
def test_key_is_read_with_a_curve_passing_through_its_strip(curve_row):
    img, ink, tok = _key_strip(curve_row)
    rgb = swatch_colour(img, ink, tok, 10.0)
    assert rgb is not None and np.abs(np.subtract(rgb, (95, 182, 231))).max() <= 10, rgb
    assert key_style(ink, tok, 10.0)["dashes"] == 1


def _named_in_their_colours(det, fig) -> None:
    """Every arm of the rendered figure found under its true name, in its drawn colour."""
    from digitize.auto.legend import delta_e

    got = {a.name: a.rgb for a in det.arms}
    assert set(got) == set(fig.truth.spec.names), (got, det.warnings)
    for n, rgb in got.items():
        assert delta_e(rgb, fig.truth.colors[n]) < 15, (n, rgb)


@needs_r
def test_legend_over_the_curve_tails_names_both_arms(tmp_path):
    """Seed-0 R figure 2: base R at 72 dpi, legend bottom right where both curves' tails run;
    a plateau crosses the 'Drug' key's strip 3 px under the key. Both arms are named with
    their colours (the 'Drug' curve used to be kept as an unnamed 'Arm 1')."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(0, 2)
    assert spec.engine == "base" and spec.legend == "bottomright" and spec.res == 72
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    _named_in_their_colours(det, fig)
    assert not any(r["piece"] == "arms" for r in det.review_items), det.review_items


def test_key_drawn_over_a_filled_box_is_read():
    """A ggplot legend key of a plot with confidence bands: a square filled with the band's
    pale colour, the arm's line across it. The key's colour is the line's (not the fill's),
    and it is one solid line."""
    img = np.full((100, 160, 3), 255, np.uint8)
    ink = np.zeros((100, 160), bool)
    img[40:62, 48:72] = (226, 187, 182)          # the filled box (22 x 24 px)
    ink[40:62, 48:72] = True
    img[50:53, 48:72] = (188, 59, 41)            # the line across it (3 px)
    for x in range(82, 110, 6):                  # the text
        img[46:55, x:x + 2] = 0
        ink[46:55, x:x + 2] = True
    tok = Token((80, 45, 111, 56), 5, "Placebo", 0.95)
    rgb = swatch_colour(img, ink, tok, 10.0)
    assert rgb is not None and np.abs(np.subtract(rgb, (188, 59, 41))).max() <= 12, rgb
    key = key_style(ink, tok, 10.0, img)
    assert key is not None and key["dashes"] == 1 and key["thickness"] == 3, key


@needs_r
def test_survminer_legend_keys_on_band_fills_name_both_arms(tmp_path):
    """Seed-1 R figure 34: survminer with confidence bands on theme_grey, legend inside; each
    key is its band's fill with the line across. Both arms are named from the legend with
    their colours (both keys used to be lost: 'Placebo' was kept as an unnamed 'Arm 2')."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(1, 34)
    assert spec.engine == "survminer" and spec.conf_int and spec.legend == "inside"
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    _named_in_their_colours(det, fig)
    assert [e["name"] for e in det.details["legend"]] == list(spec.names)


def test_row_label_loses_the_tick_glued_to_it_and_nothing_else():
    """'Lev' + a 6 px tick at mid-height 3 px after it, ending 2 px left of the y axis: the
    token ends at the 'v'. A label ending in a tall letter, or far from the axis, is kept."""
    from digitize.auto.detect import _without_row_tick

    ink = np.zeros((40, 200), bool)
    for x in range(100, 130, 8):                 # three letters, 10 px tall (rows 10-19)
        ink[10:20, x:x + 4] = True
    ink[14:16, 135:141] = True                   # the tick: 6 x 2 px at mid-height
    tok = Token((100, 10, 141, 20), 4, "Levt", 0.9)
    got = _without_row_tick(tok, ink, 143.0, 10.0)
    assert got.bbox == (100, 10, 128, 20), got.bbox
    # a tall last piece (a letter) is no tick
    ink2 = ink.copy()
    ink2[10:20, 135:141] = True
    assert _without_row_tick(tok, ink2, 143.0, 10.0).bbox == tok.bbox
    # far from the axis: untouched
    assert _without_row_tick(tok, ink, 200.0, 10.0).bbox == tok.bbox


@needs_r
def test_survminer_table_row_labels_are_read_without_their_ticks(tmp_path):
    """Seed-1 R figure 31: survminer at 200 dpi, legend at the bottom, risk table with row
    labels 'Arm A -' / 'Arm B -' (the table's y ticks). The rows read 'Arm A H' and 'Arm' +
    'B1', and the arm took the name 'Arm A H'; now both rows and arms are named as printed."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(1, 31)
    assert spec.engine == "survminer" and spec.risk_table and spec.tables_y_text
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    assert sorted(a.name for a in det.arms) == sorted(spec.names), det.arms
    assert [r["label"] for r in det.details["risk_rows"]] == list(spec.names)
    assert det.risk_table is not None and set(det.risk_table.n_risk) == set(spec.names)


def test_entry_missing_a_letter_takes_its_rows_name():
    from digitize.auto.detect import _lost_end_letters

    assert _lost_end_letters("rm B", "Arm B") and _lost_end_letters("Surgery alon", "Surgery alone")
    assert not _lost_end_letters("Arm B", "Arm B")            # nothing lost
    assert not _lost_end_letters("Arm", "Arm B plus chemo")    # too much lost: another name
    assert not _lost_end_letters("rm", "Arm")                  # too short to tell
    assert not _lost_end_letters("Arm C", "Arm B")


@needs_r
def test_legend_name_crossed_by_a_curve_takes_the_tables_name(tmp_path):
    """Seed-1 R figure 32: base R at 200 dpi, legend top left over the curves; a curve runs
    through the 'A' of 'Arm B', whose entry reads 'rm B'. Paired with the table row 'Arm B',
    the arm is named 'Arm B'."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(1, 32)
    assert spec.engine == "base" and spec.legend == "topleft" and spec.risk_table
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    assert sorted(a.name for a in det.arms) == sorted(spec.names), det.arms


@needs_r
def test_grey_arm_is_found_beside_a_black_one(tmp_path):
    """Seed-2 R figure 22: survminer theme_bw at 200 dpi, a black solid and a grey (#7F7F7F)
    dashed arm. The black curve, found first, used to claim the grey one as its anti-aliased
    blend: 'Lev' took its colour from the legend and was traced from 11 months on only. Both
    arms are now found in their drawn colours and traced whole."""
    from digitize.auto.detect import detect_figure
    from digitize.extract import extract_arms
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(2, 22)
    assert spec.engine == "survminer" and spec.colours == ["#000000", "#7F7F7F"] and spec.theme == "bw"
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    image = fig.load_image()
    det = detect_figure(image)
    _named_in_their_colours(det, fig)
    assert not any("took its colour" in r["reason"] for r in det.review_items), det.review_items
    for a in extract_arms(image, det.calibration, det.arms):
        assert _iae(a, fig.truth, a.name) < 0.003, (a.name, _iae(a, fig.truth, a.name))


@needs_r
def test_pale_legend_key_still_names_its_arm(tmp_path):
    """Seed-2 R figure 20: survminer theme_classic at 72 dpi, black / grey / light grey
    (#BEBEBE, dotted) arms with '+' marks, legend in one row under the plot. The light grey
    dotted key is anti-aliased to #C8-#DC, too pale for the ink mask: 'Arm C' was read but
    dropped from the legend, and the figure came out as two arms. Its key is now read from the
    pale ink beside the names in line with it, and the three arms are traced."""
    from digitize.auto.detect import detect_figure
    from digitize.extract import extract_arms
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(2, 20)
    assert spec.engine == "survminer" and spec.res == 72 and spec.colours[2] == "#BEBEBE"
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    image = fig.load_image()
    det = detect_figure(image)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), (det.arms, det.warnings)
    for a in extract_arms(image, det.calibration, det.arms):
        assert _iae(a, fig.truth, a.name) < 0.005, (a.name, _iae(a, fig.truth, a.name))


@needs_r
def test_thin_black_and_grey_lines_at_72_dpi_keep_both_arms(tmp_path):
    """Seed-2 R figure 9: base R at 72 dpi, lwd 1 (0.75 px), a black solid and a #7F7F7F
    dashed arm with '|' marks. Black reads black only on its drops and marks and #898989 on
    its plateaus; it used to be dropped as 'marks on the grey curve' and both names went to
    #898989 (one arm traced over 57 columns). Both arms are now found, named dark to light as
    their keys, and traced whole."""
    from digitize.auto.detect import detect_figure
    from digitize.extract import extract_arms
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(2, 9)
    assert spec.engine == "base" and spec.res == 72 and spec.colours == ["#000000", "#7F7F7F"]
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    image = fig.load_image()
    det = detect_figure(image)
    _named_in_their_colours(det, fig)
    for a in extract_arms(image, det.calibration, det.arms):
        assert _iae(a, fig.truth, a.name) < 0.004, (a.name, _iae(a, fig.truth, a.name))


@needs_r
def test_black_legend_words_crossed_by_coloured_curves_name_the_arms(tmp_path):
    """Seed-2 R figure 4: base R at 200 dpi, three coloured arms with their limits, legend top
    left inside the plot where the curves start: every name 'Arm A/B/C' has curves running
    through it, so its glyphs were one component with the curves and no name was read (three
    unnamed arms). The black words are now taken from the neutral ink of those components,
    read with the coloured curves painted out, and name their arms."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(2, 4)
    assert spec.engine == "base" and spec.legend == "topleft" and spec.conf_int and spec.res == 200
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    _named_in_their_colours(det, fig)
    assert not any(r["piece"] == "arms" for r in det.review_items), det.review_items
