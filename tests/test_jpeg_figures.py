"""Figures saved as JPEG (issue 13): screenshots users bring keep brightness at full resolution
but colour at half (4:2:0 chroma subsampling) and ring around every line.

- digitize.jpeg finds the subsampling from the pixels and gives each pixel back the colour its
  own brightness implies: a thin line's core gets its drawn colour back, the pale fringe beside
  it (the colour it lost) returns to paper;
- the colour search widens its idea of "one colour" by the ringing it measures (a JPEG grey arm
  beside a black one is still an arm);
- words whose letters JPEG glues into one piece are still read (a legend name);
- a grey table rule is no arm even where JPEG-dulled drops of coloured curves look grey.
The R-drawn cases skip without Rscript.
"""
import io

import numpy as np
import pytest

from digitize.inkmask import rgb_to_lab
from tests.test_auto_arms_r import _set_figure, needs_r

BLUE = (0, 114, 181)
ORANGE = (225, 135, 39)


def _jpeg(img: np.ndarray, quality: int = 75) -> np.ndarray:
    """``img`` saved as JPEG (Pillow's default 4:2:0 subsampling) and decoded back."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def _steps(colour, shape=(240, 360), width: int = 1, seed: int = 0, paper=(255, 255, 255)) -> np.ndarray:
    """A falling step curve drawn anti-aliased in ``colour`` (RGB) on ``paper``."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full(shape + (3,), paper, np.uint8)
    x, y = 20.0, 30.0
    while x < shape[1] - 30:
        nx = x + rng.uniform(8, 30)
        ny = y + rng.uniform(2, 10)
        for a, b in (((x, y), (nx, y)), ((nx, y), (nx, ny))):
            cv2.line(img, (int(a[0] * 16), int(a[1] * 16)), (int(b[0] * 16), int(b[1] * 16)),
                     tuple(int(v) for v in colour), width, cv2.LINE_AA, shift=4)
        x, y = nx, ny
    return img


def _delta_e(a, b) -> float:
    return float(np.linalg.norm(rgb_to_lab(np.array([a], float))[0] - rgb_to_lab(np.array([b], float))[0]))


def test_subsampling_is_told_from_the_pixels():
    from digitize.jpeg import analysis_image, chroma_subsampled, restore_chroma

    png = np.minimum(_steps(BLUE), _steps(ORANGE, seed=1))
    jpg = _jpeg(png)
    assert not chroma_subsampled(png)
    assert chroma_subsampled(jpg)
    assert not chroma_subsampled(restore_chroma(jpg))        # restoring twice changes nothing
    assert analysis_image(png) is png                          # lossless figures untouched
    grey = _jpeg(np.minimum(_steps((0, 0, 0)), _steps((127, 127, 127), seed=1)))
    assert not chroma_subsampled(grey)                         # no colour: nothing to restore


def test_a_thin_lines_colour_comes_back_and_its_fringe_goes():
    """A 1-px blue step curve as JPEG: its darkest pixels read dull (#1B648F-like), the paper
    beside it bluish. Restored, the core is nearer the colour the lossless figure shows (not all
    the way: chroma spread onto white paper is clipped away by the decoder and lost) and the
    fringe is paper."""
    import cv2

    from digitize.jpeg import restore_chroma

    png = _steps(BLUE)
    jpg = _jpeg(png)
    fixed = restore_chroma(jpg)
    drawn = png.min(axis=2) < 128                              # the line's well-covered pixels
    lum = lambda im: im.astype(float) @ [0.299, 0.587, 0.114]  # noqa: E731
    core = drawn & (lum(png) < np.percentile(lum(png)[drawn], 50))

    def core_colour(im):
        return np.median(im[core], axis=0)

    lossless = core_colour(png)
    before, after = _delta_e(core_colour(jpg), lossless), _delta_e(core_colour(fixed), lossless)
    assert before > 12 and after < 0.75 * before, (before, after)
    # the paper 1-4 px beside the line (pure paper in the lossless figure)
    inked = (png < 255).any(axis=2).astype(np.uint8)
    fringe = (cv2.dilate(inked, np.ones((9, 9), np.uint8)) > 0) & (inked == 0)
    chroma = lambda im: np.hypot(*rgb_to_lab(im[fringe].astype(float))[:, 1:].T)  # noqa: E731
    assert np.percentile(chroma(fixed), 90) < 0.5 * np.percentile(chroma(jpg), 90)


def test_a_grey_arm_beside_a_black_one_survives_jpeg():
    """A black curve (2 px) and a #7F7F7F one (1 px) as JPEG quality 50: compression noise
    spreads the grey's pixels over several Delta E, so the test "mostly one colour" (else the
    grey is taken for black's anti-aliasing) must allow for the ringing measured."""
    from digitize.colors import find_arm_colors
    from digitize.jpeg import ringing

    png = np.minimum(_steps((0, 0, 0), width=2), _steps((127, 127, 127), seed=3, width=1))
    jpg = _jpeg(png, 50)
    assert ringing(png) < 0.05 < 0.1 < ringing(jpg)
    found = find_arm_colors(jpg, (0, 0, png.shape[1] - 1, png.shape[0] - 1))
    assert len(found) == 2, found
    assert min(_delta_e(f, (127, 127, 127)) for f in found) < 10, found


def test_a_grey_rule_is_no_arm_beside_dulled_coloured_drops():
    """Pale anti-aliased drops of a dull blue curve (a JPEG's #587DA0) lie within 20 Delta E of
    a grey rule's colour; they are the blue curve's (nearer its blend with the paper), so the
    rule has no drops (javelin gastric 100, a published figure with an inset table)."""
    from digitize.auto.detect import _has_drops

    dull = (88, 125, 160)
    img = _steps(dull, shape=(240, 360), width=2)
    img[200:202, 40:300] = (158, 158, 158)           # an inset table's rules
    img[220, 40:300] = (158, 158, 158)
    pale = [tuple(int(v) for v in c) for c in img.reshape(-1, 3)
            if 15 < _delta_e(c, (255, 255, 255)) and _delta_e(c, (158, 158, 158)) <= 20][:1]
    assert pale, "the blue curve's anti-aliasing has pale pixels near the rule's grey"
    pa = (0, 0, 359, 239)
    assert _has_drops(img, pa, (158, 158, 158))                 # by distance alone: drops
    assert not _has_drops(img, pa, (158, 158, 158), others=[dull])
    assert _has_drops(img, pa, dull, others=[(158, 158, 158)])  # the curve keeps its own


def _r_jpeg(tmp_path, seed: int, k: int):
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(seed, k)
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    return fig, spec, _jpeg(fig.load_image())


@needs_r
def test_survminer_grey_panel_as_jpeg_has_two_arms_named(tmp_path):
    """Seed-2 figure 2 (survminer theme_grey, 96 dpi, two arms with a legend on top) as JPEG
    quality 75 used to give five curve colours: the two arms, a darker copy of the blue one and
    two pale fringes (#EDF0D4, #AFE5FF) of the lines on the grey panel; the legend's names went
    to the wrong ones."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 2)
    assert spec.theme == "grey" and spec.res == 96
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]
    for a in det.arms:
        true = spec.colours[spec.names.index(a.name)]
        rgb = tuple(int(true[i:i + 2], 16) for i in (1, 3, 5))
        assert _delta_e(a.rgb, rgb) < 15, (a.name, a.rgb, true)


@needs_r
def test_jpeg_legend_word_glued_into_one_piece_is_read(tmp_path):
    """Seed-2 figure 13 (survminer theme_classic, 72 dpi, legend on the right) as JPEG: the
    letters of 'Control' touch (one ink piece), and lone pieces were never read as words; the
    yellow arm stayed unnamed."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 13)
    assert spec.res == 72 and spec.legend == "right"
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]


@needs_r
def test_jpeg_grey_arms_at_72_dpi_are_found(tmp_path):
    """Seed-2 figure 20 (survminer, 72 dpi, black / #7F7F7F / #BEBEBE arms with '+' marks) as
    JPEG quality 75: only black was found (the grey's pixels spread over several Delta E by the
    compression, read as black's anti-aliasing), and the legend's line-and-cross keys under the
    plot were read as '1' - a phantom risk-table row that hid the legend. Now the #7F7F7F arm
    is found, no risk table is invented and the legend names the arms."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 20)
    assert spec.res == 72 and spec.colours[:2] == ["#000000", "#7F7F7F"]
    det = detect_figure(img)
    assert any(_delta_e(a.rgb, (127, 127, 127)) < 10 for a in det.arms), [(a.name, a.rgb) for a in det.arms]
    assert any(_delta_e(a.rgb, (0, 0, 0)) < 10 for a in det.arms)
    assert det.risk_table is None
    assert sorted(a.name for a in det.arms) == sorted(spec.names)


@needs_r
def test_jpeg_duller_parts_of_one_curve_are_not_another_arm(tmp_path):
    """Seed-2 figure 10 (survminer theme_minimal, 200 dpi, three arms, '+' marks) as JPEG: the
    blue arm's thin parts read duller (#649CD8) than its marks (#639AF6) at the same brightness -
    chroma lost to subsampling, not a paler blend with the paper - and were kept as a fourth,
    unnamed arm. A duller tint hanging on a curve's own ink is that curve's."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 10)
    assert spec.res == 200 and len(spec.names) == 3
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]


def test_the_app_reads_colours_from_the_restored_figure_and_shows_the_file(qtbot):
    """In the app a click reads a colour where the tracer will look for it (the restored
    pixels of a JPEG); the figure shown stays the file's own. A PNG is read as it is."""
    from digitize.colors import ink_colour_at
    from gui.document import Document
    from kmrecon.project import ImageRef

    png = np.minimum(_steps(BLUE), _steps(ORANGE, seed=1))
    jpg = _jpeg(png)
    doc = Document()
    doc.set_image(jpg, ImageRef())
    assert doc.analysis_image is not doc.image and np.array_equal(doc.image, jpg)
    ys, xs = np.nonzero(np.abs(png.astype(int) - BLUE).sum(axis=2) < 90)   # on the blue curve
    at = (float(xs[len(xs) // 2]), float(ys[len(ys) // 2]))
    lossless = ink_colour_at(png, at)[0]
    assert _delta_e(ink_colour_at(doc.analysis_image, at)[0], lossless) < _delta_e(ink_colour_at(jpg, at)[0], lossless)
    doc.set_image(png, ImageRef())
    assert doc.analysis_image is doc.image


@needs_r
def test_jpeg_two_digit_labels_read_upwards_stay_one_label(tmp_path):
    """Seed-1 figure 32 (base R, 200 dpi, percent, y labels along the axis: las = 0) as JPEG:
    '40' came apart into '4' and '0', and with '4' at 40's place the y axis fitted as 0-8 %
    (flagged, but wrong). Two digits stacked upwards are 1.4 times as tall as wide: they are
    a label read along the axis, its pieces one label."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 1, 32)
    assert spec.engine == "base" and spec.percent and spec.res == 200
    det = detect_figure(img)
    from digitize.calibrate import Calibration

    tcal = Calibration.from_dict(fig.truth.calibration) if isinstance(fig.truth.calibration, dict) \
        else fig.truth.calibration
    for s_true in (0.0, 1.0):   # survival read back at the true pixel rows of 0 and 100 %
        px, py = tcal.to_pixel(np.array([0.0]), np.array([s_true]))
        got = det.calibration.to_data(px, py)[1][0]
        assert abs(got - s_true) < 0.01, (s_true, got)
    assert sorted(a.name for a in det.arms) == sorted(spec.names)


@needs_r
def test_row_swatches_of_a_table_without_row_names_stay_labels(tmp_path):
    """Seed-0 figure 13 (survminer, tables.y.text = FALSE: each risk-table row labelled by a
    short line in its arm's colour, read as '1'): the rule that a key read as a number is no
    cell applies right of the y axis only, so the rows still pair with the arms by colour
    (no 'matched by order' to review)."""
    from digitize.auto.detect import detect_figure
    from simulate.rfigures import render_r_figures

    ipd, spec = _set_figure(0, 13)
    assert spec.engine == "survminer" and not spec.tables_y_text and spec.risk_table
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    det = detect_figure(fig.load_image())
    assert not any("by order" in r["reason"] for r in det.review_items), det.review_items
    assert sorted(det.risk_table.n_risk) == sorted(spec.names)


def test_a_name_takes_the_pure_colour_not_a_bleed_between_two_curves():
    """Synthetic zero-click figure 14 (seed 0; 80 dpi, JPEG 76, red/orange/blue arms): where
    the blue and red lines run close they bleed into purple (#483D6F), and the legend's
    'Combination' key matched the purple, leaving the true blue an unnamed extra arm. A
    matched colour lying between an unclaimed colour and another arm's gives way to it."""
    from digitize.auto.detect import detect_figure
    from simulate.figure import generate_set

    for i, fig in enumerate(generate_set(40, seed=0, tiers=("clean", "typical", "hard"))):
        if i == 14:
            break
    assert fig.style.jpeg_quality is not None
    det = detect_figure(fig.image)
    truth = {a: fig.truth.colors[a] for a in fig.truth.arms}
    assert sorted(a.name for a in det.arms) == sorted(truth), [(a.name, a.rgb) for a in det.arms]
    for a in det.arms:   # each name on the curve nearest its drawn colour
        near = min(truth, key=lambda n: _delta_e(a.rgb, truth[n]))
        assert near == a.name, (a.name, a.rgb, truth)


@needs_r
def test_jpeg_black_arms_told_apart_by_their_keys_styles_get_no_third_arm(tmp_path):
    """Seed-1 figure 3 (base R, 96 dpi, two black arms lty 1 and 2, legend keys showing the
    styles, risk table naming both) as JPEG: both arms read as the same restored black, so the
    'one ink' step had nothing to merge and said so by returning False - and a third style read
    in the broken-up dashes was added as an unnamed 'Arm 3'. Keys and table rows name every
    curve of that ink: two arms, each in its key's style."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 1, 3)
    assert spec.engine == "base" and spec.colours == ["#000000", "#000000"] and spec.res == 96
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.style) for a in det.arms]
    style = {a.name: a.style for a in det.arms}
    assert [style[n] for n in spec.names] == ["solid", "dashed"]


@needs_r
def test_jpeg_thin_solid_black_line_stays_one_stroke(tmp_path):
    """Seed-1 figure 29 (base R, 96 dpi, two black arms lty 1 and 2, no legend, rows named
    'Arm A', 'Arm B'): as JPEG the 1-px solid line's core is lightened where it falls between
    pixel rows, strict ink broke it into short pieces, no solid line was read and the styles
    went to the arms the wrong way round. Half-covered pixels joined to strict ink keep it whole:
    Arm A (R's first line type) is solid."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 1, 29)
    assert spec.engine == "base" and spec.legend == "none" and spec.linetypes[:2] == [1, 2]
    det = detect_figure(img)
    style = {a.name: a.style for a in det.arms}
    assert style == {spec.names[0]: "solid", spec.names[1]: "dashed"}, style


@needs_r
def test_jpeg_names_read_twice_keep_the_surer_reading(tmp_path):
    """An arm's name is printed twice (legend or curve label, and its risk-table row); JPEG
    misreads one copy. Seed-0 figure 10 (survminer, legend on top, rows 'Arm A -', 'Arm B -'):
    the row's tick read as a letter ('Arm BH', score 0.59) was taken as the legend's 'Arm B'
    spelled in full. Seed-0 figure 24 (base R, names written beside the curves and on the
    rows): the label read 'Fiacebo' (0.96) kept its misreading though the row read 'Placebo'
    (1.00)."""
    from digitize.auto.detect import detect_figure

    for k in (10, 24):
        fig, spec, img = _r_jpeg(tmp_path / str(k), 0, k)
        det = detect_figure(img)
        assert sorted(a.name for a in det.arms) == sorted(spec.names), (k, [a.name for a in det.arms])


@needs_r
def test_jpeg_black_legend_words_over_coloured_curves_are_read(tmp_path):
    """Seed-2 figure 4 (base R, 200 dpi, three coloured arms with confidence limits, legend
    top left drawn over the curves): as JPEG, specks of the curves washed to low chroma glued
    to the black letters and only 'Arm C' was read; two arms stayed unnamed. Black text is
    read from its dark strokes: all three names."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 4)
    assert spec.engine == "base" and spec.legend == "topleft" and spec.conf_int
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]


def test_the_command_line_restores_a_jpeg_once(tmp_path, monkeypatch):
    """`kmrecon extract` on a JPEG: detection and tracing read the same restored pixels, so the
    colour is restored once (it was restored by each, 0.05-0.2 s apiece), and the figure's
    arms still come back."""
    import json

    from PIL import Image

    import digitize.jpeg as jpeg
    from kmrecon.cli import main
    from simulate.figure import generate_set

    for i, fig in enumerate(generate_set(40, seed=0, tiers=("clean", "typical", "hard"))):
        if i == 14:
            break
    path = tmp_path / "figure.jpg"
    Image.fromarray(fig.image).save(path, "JPEG", quality=90)
    calls = []
    real = jpeg.restore_chroma
    monkeypatch.setattr(jpeg, "restore_chroma", lambda rgb: calls.append(1) or real(rgb))
    rc = main(["extract", str(path), "--out", str(tmp_path / "ipd.csv")])
    assert rc in (0, 3)
    assert len(calls) == 1
    side = json.loads((tmp_path / "ipd.json").read_text())
    assert sorted(a["name"] for a in side["arms"]) == sorted(fig.truth.arms)


@needs_r
def test_jpeg_dense_marks_washed_duller_stay_their_curves(tmp_path):
    """Seed-2 figure 23 (base R, 200 dpi, two arms with confidence limits, dense '|' marks) as
    JPEG: the blue arm's ribbons of marks read #206583, as dark as the blue (#0C6BA6) and only
    duller. A tint was merged into its curve only when lighter (nearer the paper), so this one
    was kept as a third, unnamed arm. In a JPEG the fuller colour may be as dark and more
    saturated."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 23)
    assert spec.engine == "base" and spec.conf_int and spec.res == 200
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]


@needs_r
def test_jpeg_blend_of_two_thin_lines_and_paper_is_no_arm(tmp_path):
    """Seed-2 figure 0 (base R, 72 dpi, blue and yellow arms with confidence limits, 0.75-px
    lines) as JPEG: where the lines run close they blend with each other and with the paper
    between them (#B8C4A6, lighter than any mix of the two inks alone) and were kept as unnamed
    arms. Such a colour is a mix, flagged for review, not an arm; both arms keep their names."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 0)
    assert spec.engine == "base" and spec.conf_int and spec.res == 72
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]
    assert any("looks like a mix" in r["reason"] for r in det.review)


def test_jpeg_row_tick_spread_over_three_rows_is_no_letter():
    """A risk-table row label touching the table's y axis with survminer's tick after it
    ('Surgery + chemo -', 96 dpi, text 9 px high): as JPEG the 1-px tick spreads over three
    rows (seed-2 R figure 26 read it as a letter: 'Surgery + chemof'). The label ends before
    it; a lower-case letter there (half a text height tall) stays."""
    from digitize.auto.detect import _without_row_tick
    from digitize.auto.text import Token

    th = 9.0
    ink = np.zeros((30, 140), bool)
    ink[10:19, 20:100] = True              # the glyphs of the label, 9 px high
    ink[10:19, 24:26] = False              # (gaps between letters)
    ink[13:16, 103:106] = True             # the tick: 3 px long, 3 rows (a 1-px stroke as JPEG)
    tok = Token((20, 10, 106, 19), 12, "Surgery + chemof", 0.9)
    cut = _without_row_tick(tok, ink, axis_x=106.5, th=th)
    assert cut.bbox[2] == 100
    ink[13:16, 103:106] = False
    ink[12:18, 103:107] = True             # an 'o': six rows
    tok = Token((20, 10, 107, 19), 12, "Surgery + chemo", 0.9)
    assert _without_row_tick(tok, ink, axis_x=107.5, th=th) is tok


@needs_r
def test_jpeg_colour_fringe_on_a_grey_panel_is_no_arm(tmp_path):
    """Seed-2 figure 11 (survminer theme_grey, 200 dpi, three arms) as JPEG: beside the orange
    line the compression overshoots its chroma onto the grey panel at the panel's brightness
    (#FFE5B3 on #EBEBEB), which was kept as a fourth, unnamed arm. A colour as light as the
    plot's paper is no ink: flagged, not an arm."""
    from digitize.auto.detect import detect_figure

    fig, spec, img = _r_jpeg(tmp_path, 2, 11)
    assert spec.theme == "grey" and len(spec.names) == 3
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(spec.names), [(a.name, a.rgb) for a in det.arms]


def test_a_colour_brighter_than_its_paper_is_a_fringe_not_ink():
    """digitize.colors.jpeg_fringe: ink darkens every channel of its paper, and a visible curve
    darkens it clearly. The fringes JPEG leaves beside saturated lines are no ink; curves,
    pale bands and light curves on a dark panel are."""
    from digitize.colors import jpeg_fringe

    white, grey, dark = (255, 255, 255), (235, 235, 235), (60, 60, 60)
    assert jpeg_fringe((255, 229, 179), grey)          # beside an orange line on theme_grey
    assert jpeg_fringe((255, 193, 189), grey)          # beside a red one
    assert jpeg_fringe((255, 254, 202), white)         # beside a yellow line on white (7 luma down)
    assert not jpeg_fringe((239, 192, 0), white)       # a yellow curve
    assert not jpeg_fringe((255, 243, 192), white)     # a pale yellow band (15 luma down)
    assert not jpeg_fringe((232, 215, 196), grey)      # an orange band over the grey panel
    assert not jpeg_fringe((248, 118, 109), dark)      # a light curve on a dark panel
    assert not jpeg_fringe((250, 250, 250), white)     # no colour: not judged here


def test_names_pair_with_curves_by_order_past_a_tables_rules():
    """A published figure with a small table inside the plot (javelin gastric 100: black rules)
    and rows named in black under it, no legend: the rules are a third 'curve colour', and
    names were paired by order only when names and colours were as many - so neither arm was
    named ('no colour found'). Colours that draw no drops are no curves to pair with."""
    import sys

    from digitize.auto import detect_figure
    from digitize.auto.legend import delta_e
    from simulate.figure import render_figure
    from simulate.styles import FigureStyle

    sys.path.insert(0, ".")
    from tests.test_auto_figures import _ipd

    names = ("Avelumab", "Chemotherapy")
    style = FigureStyle(dpi=100, arm_names=names, colors=("#647F9C", "#74373F"), legend_loc=None,
                        risk_table=True, risk_label_colored=False, censor_mark="|", height_in=5.0)
    fig = render_figure(_ipd(names, 3, medians=(10.0, 8.0)), style)
    img = fig.image.copy()
    for y in (60, 90, 120, 150):            # the inset table's rules, clear of the curves
        img[y:y + 1, 380:570] = 0
    det = detect_figure(img)
    assert sorted(a.name for a in det.arms) == sorted(names), det.review
    for a in det.arms:
        d = {n: delta_e(a.rgb, rgb) for n, rgb in fig.truth.colors.items()}
        assert min(d, key=d.get) == a.name
    assert any("by order" in r["reason"] for r in det.review)   # a guess, said so


def test_a_row_name_cut_short_is_no_surer_reading():
    """One name read twice keeps the surer reading ('Fiacebo' 0.96 on the curve, 'Placebo' 1.00
    on the row), but a row read with a letter cut off ('Contro' beside survminer's tick, R seed
    0 figure 19) is no better reading of the legend's 'Control', however sure."""
    from digitize.auto.detect import _misread_twice
    from digitize.auto.legend import NamedColour

    def entry(name, score):
        return NamedColour(name, (0, 0, 0), "legend", (0, 0, 1, 1), score)

    assert _misread_twice(entry("Fiacebo", 0.96), "Placebo", 1.0)
    assert not _misread_twice(entry("Placebo", 1.0), "Fiacebo", 0.96)
    assert not _misread_twice(entry("Control", 0.99), "Contro", 1.0)
    assert not _misread_twice(entry("Experimental", 0.99), "Experimenta", 1.0)


def test_a_fuller_row_name_unless_markedly_less_sure():
    """A legend entry read cut short takes its row's fuller name ('Stage' -> 'Stage III', the
    row read at 0.89; synthetic zero-click figure 20), but a row whose tick was read as a
    letter at 0.59 ('Arm BH', R seed-0 figure 10 as JPEG) does not rename the legend's 'Arm B'."""
    from digitize.auto.detect import _fuller_name
    from digitize.auto.legend import NamedColour

    def entry(name, score):
        return NamedColour(name, (0, 0, 0), "legend", (0, 0, 1, 1), score)

    assert _fuller_name(entry("Stage", 0.997), "Stage III", 0.888)
    assert _fuller_name(entry("Surgery", 1.0), "Surgery alone", 0.99)
    assert not _fuller_name(entry("Arm B", 1.0), "Arm BH", 0.594)
