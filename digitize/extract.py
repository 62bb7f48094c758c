"""Extract each arm's KM curve and censor marks from a calibrated figure image.

Chain per arm (all in image pixels until the last step): classify pixels by nearest arm colour
in Lab (:mod:`digitize.inkmask`), remove same-hue shaded bands (top-hat), split columns into ink
runs and trace the curve (:mod:`digitize.trace`), find censor marks (:mod:`digitize.censor`),
read the centre-line level per column and turn it into step corners in data units
(:mod:`digitize.steps`). Methods follow the step-aware digitizing practice described for KM
figures (colour masks by nearest colour, column tracing with continuity, isotonic monotone fit,
centre line rather than edge).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from digitize.calibrate import Calibration
from digitize.censor import find_marks
from digitize.inkmask import (DARKER_L, arm_coverage, assign_arms, background_color, chroma, darker_halos,
                              default_tolerance, drawn_boxes, foreground, frame_lines, grid_lines, is_neutral,
                              KEEP_HUE_SHARE, keeps_hue, leaning_to_colour, local_paper, rgb_to_lab, top_hat)
from digitize.linestyle import SOLID_LIKE
from digitize.cilines import MIN_TRIPLE_SHARE
from digitize.shades import separate_shades
from digitize.steps import (column_levels, drop_columns, gapped_walls, isotonic_non_increasing, steep_walls,
                            step_corners)
from digitize.trace import BarePaper, Runs, column_runs, hidden_foot, line_width_guess, trace_path
from kmrecon.data import ArmData, RiskTable
from kmrecon.errors import KMReconError

#: coverage from which a pixel nearest a coloured arm's colour is its ink even beyond the
#: tolerance, if it keeps the arm's hue (:func:`digitize.inkmask.keeps_hue`)
CORE_COVERAGE = 0.8
#: top-hat coverage above which a pixel counts as curve ink
INK_THRESHOLD = 0.3
#: runs with less summed coverage than this (pixels) are speckle
MIN_RUN_WEIGHT = 0.35
#: largest hue difference (degrees, Lab) between an arm's colour and the ink traced for it
MAX_HUE_DIFF = 40.0
#: a coloured arm's trace that looks grey must keep at least this fraction of the colour's chroma
#: in its 3x3 neighbourhood (per unit coverage) to count as the arm washed out by JPEG
LOCAL_CHROMA_MIN = 0.15
#: traces with a confidence (inked fraction of their span x extent) below this are tried again
#: with a wider colour tolerance
WIDEN_BELOW = 0.5
#: a coloured arm is traced again with the washed pixels leaning to its hue off the neutral
#: arms' traces (:func:`digitize.inkmask.leaning_to_colour`) if they hold at least this many
#: columns beyond its trace's end
LEAN_MIN_COLUMNS = 5
#: ... and that lie farther than this (pixels) from a black or grey arm's traced centre line
LEAN_TRACE_RADIUS = 1
#: shortest side of a drawn box (legend frame) taken out of every arm's ink: pixels, and
#: share of the plot area's smaller side
BOX_MIN_SIDE = 16
BOX_MIN_SIDE_SHARE = 0.04
#: merge plateau levels closer than this many pixels (centre-line noise)
MIN_STEP_PX = 0.3


@dataclass
class ArmSpec:
    """An arm to extract: its name, RGB colour as drawn, and Lab Delta E tolerance (None = adaptive).

    style: its line style (linestyle.STYLES) or None; at: an image pixel (x, y) on its curve or
    None. Either tells arms of one colour apart (extract_arms). marks: image pixels (x, y) of
    censor marks known to be this arm's (zero-click: where its legend key's symbol is drawn,
    digitize.glyphs), or None: arms of one colour and style keep off each other's marks."""

    name: str
    rgb: tuple[int, int, int]
    tolerance: float | None = None
    style: str | None = None
    at: tuple[float, float] | None = None
    marks: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self):
        self.name = str(self.name)
        try:
            rgb = tuple(int(v) for v in self.rgb)
        except (TypeError, ValueError) as exc:
            raise KMReconError(f"arm '{self.name}': colour must be three integers 0-255, got {self.rgb!r}") from exc
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
            raise KMReconError(f"arm '{self.name}': colour must be three integers 0-255, got {self.rgb!r}")
        self.rgb = rgb
        if self.tolerance is not None:
            self.tolerance = float(self.tolerance)
            if not 0 < self.tolerance <= 100:
                raise KMReconError(f"arm '{self.name}': tolerance must be a Delta E in (0, 100]")
        if self.style is not None:
            from digitize.linestyle import STYLES

            self.style = str(self.style).strip().lower()
            if self.style not in STYLES:
                raise KMReconError(f"arm '{self.name}': line style must be one of {', '.join(STYLES)}, "
                                   f"not {self.style!r}")
        if self.at is not None:
            try:
                at = tuple(float(v) for v in self.at)
            except (TypeError, ValueError) as exc:
                raise KMReconError(f"arm '{self.name}': the point on its curve must be two pixel numbers") from exc
            if len(at) != 2 or not all(np.isfinite(at)):
                raise KMReconError(f"arm '{self.name}': the point on its curve must be two pixel numbers")
            self.at = at

    @property
    def hex(self) -> str:
        return "#%02x%02x%02x" % self.rgb


@dataclass
class ExtractedArm:
    """One arm read off the figure: step corners (data units), censor marks, pixel trace."""

    name: str
    rgb: tuple[int, int, int]
    time: np.ndarray
    survival: np.ndarray
    censor_times: np.ndarray
    trace_px: np.ndarray
    censor_px: np.ndarray
    confidence: float
    warnings: list[str] = field(default_factory=list)
    #: per censor mark (order of censor_times), how sure the reading is (digitize.censor.find_marks)
    censor_reliability: np.ndarray | None = None
    #: standard uncertainty of a traced corner in data units: time (x-axis units) and survival,
    #: from the calibration's data units per pixel and the traced line width
    time_sd: float | None = None
    survival_sd: float | None = None
    #: the same uncertainty in image pixels (:func:`corner_sd_px`), kept by the app's project so
    #: hand-edited points converted with a changed calibration carry it too
    corner_sd_px: float | None = None

    def to_arm_data(self, risk_table: RiskTable | None = None, n_total: int | None = None,
                    total_events: int | None = None) -> ArmData:
        """The reconstruction input for this arm; the risk-table row named like the arm is used."""
        rt = rn = None
        if risk_table is not None and self.name in risk_table.n_risk:
            rt, rn = risk_table.for_arm(self.name)
        rel = self.censor_reliability
        if rel is not None and np.shape(rel) != np.shape(self.censor_times):
            rel = None  # marks edited since they were read: take them as given
        return ArmData(name=self.name, time=self.time, survival=self.survival,
                       censor_times=self.censor_times, risk_times=rt, n_risk=rn,
                       n_total=n_total, total_events=total_events, censor_reliability=rel,
                       time_sd=self.time_sd, survival_sd=self.survival_sd)

    @property
    def empty(self) -> bool:
        return self.time.size == 0


def axis_slopes(cal: Calibration) -> tuple[float, float]:
    """Tilt of the drawn axes in pixels: (dy/dx of the time axis, dx/dy of the survival axis)."""
    dx, dy = cal.x2.px - cal.x1.px, cal.x2.py - cal.x1.py
    ex, ey = cal.y2.px - cal.y1.px, cal.y2.py - cal.y1.py
    sh = dy / dx if abs(dx) > 1e-9 else 0.0
    sv = ex / ey if abs(ey) > 1e-9 else 0.0
    return float(np.clip(sh, -0.1, 0.1)), float(np.clip(sv, -0.1, 0.1))


def _validate_image(image) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise KMReconError(f"image must be an HxWx3 uint8 RGB array, got shape {img.shape} {img.dtype}")
    if img.shape[0] < 10 or img.shape[1] < 10:
        raise KMReconError(f"image is too small ({img.shape[1]}x{img.shape[0]} pixels)")
    return img


def _empty_arm(spec: ArmSpec, warning: str) -> ExtractedArm:
    return ExtractedArm(spec.name, spec.rgb, np.empty(0), np.empty(0), np.empty(0),
                        np.empty((0, 2)), np.empty((0, 2)), 0.0, [warning])


def extract_arms(image, calibration: Calibration, arms: list[ArmSpec], *, mask: np.ndarray | None = None,
                 plot_area: tuple[int, int, int, int] | None = None, progress=None) -> list[ExtractedArm]:
    """Extract every arm's curve and censor marks.

    image: HxWx3 uint8 RGB. calibration: pixel <-> data map. arms: names and colours.
    mask: bool HxW, True = ignore (legend, text). plot_area: (x0, y0, x1, y1) pixels of the axes
    box; default from the calibration and the drawn axis lines.
    progress: optional callable(fraction 0-1).
    Arms whose colour is not found come back empty with a warning (never an exception).
    """
    from digitize.jpeg import analysis_image
    from digitize.plotarea import default_plot_area

    img = analysis_image(_validate_image(image))
    if not arms:
        raise KMReconError("no arms to extract: give at least one arm colour")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise KMReconError(f"arm names must be unique, got {names}")
    if plot_area is None:
        plot_area = default_plot_area(img, calibration)
    # arms drawn in one colour are told apart by their line style (_style_group): the pixels
    # are classified by the distinct colours, each colour's first arm standing for it
    user_arms, arms, colour_of = arms, *_colour_groups(arms)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in plot_area)
    x0, x1 = max(0, min(x0, x1)), min(w - 1, max(x0, x1))
    y0, y1 = max(0, min(y0, y1)), min(h - 1, max(y0, y1))
    if x1 - x0 < 10 or y1 - y0 < 10:
        raise KMReconError(f"plot area {plot_area} is too small; check the calibration points")
    crop = img[y0:y1 + 1, x0:x1 + 1]
    ch, cw = crop.shape[:2]
    lab = rgb_to_lab(crop)
    bg = background_color(crop)
    bg_lab = rgb_to_lab(bg[None])[0]
    fg = foreground(lab, bg_lab)
    slopes = axis_slopes(calibration)
    grid = grid_lines(lab, fg, slopes=slopes)
    ignore = grid.copy()
    if mask is not None:
        m = np.asarray(mask, bool)
        if m.shape != (h, w):
            raise KMReconError(f"mask is {m.shape[1]}x{m.shape[0]} but the image is {w}x{h}")
        ignore |= m[y0:y1 + 1, x0:x1 + 1]
    paper = local_paper(crop, bg)
    cov, dist = arm_coverage(crop, lab, bg, [a.rgb for a in arms], paper=paper)
    tols = [a.tolerance if a.tolerance is not None else default_tolerance(a.rgb, bg) for a in arms]
    reach = [t * 1.6 if a.tolerance is None else t for t, a in zip(tols, arms)]
    nearest = assign_arms(cov, dist, reach, [a.rgb for a in arms])
    border = max(3, int(round(0.012 * cw)))
    frame = frame_lines(lab, max(border, int(0.04 * min(ch, cw))), slopes=slopes)
    nearest, by_shade = separate_shades(crop, nearest, cov, dist, [a.rgb for a in arms], bg, ignore | frame[0])
    light = np.r_[rgb_to_lab(np.array([a.rgb for a in arms], float))[:, 0], np.inf]   # [-1]: no arm
    halos = darker_halos(nearest, cov, [a.rgb for a in arms], bg)
    # JPEG keeps a thin coloured line's darkness but washes its chroma: its core can lie nearer a
    # black or grey arm's blend than its own, yet it still points from the paper towards its hue,
    # which no black or grey ink does (over a band at most the band's share): such a pixel is the
    # coloured arm's ink, not the neutral arm's (_arm_runs)
    claim = leaning_to_colour(nearest, lab, bg_lab, dist, reach, [a.rgb for a in arms], ink=fg,
                              share=KEEP_HUE_SHARE)
    # bare paper for the tracer: a curve there would be visible (fg dilated by a pixel)
    import cv2

    occupied = cv2.dilate(fg.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    # user-masked areas may hide the curve: bridging them is cheap (lookups shared by all arms)
    empty = BarePaper.of(~occupied & ~ignore)
    # (axes map, first spine row, drawn boxes): a drawn box (a legend's frame and what it holds:
    # its swatches of the arms' colours) is no curve's ink
    frame = frame + (drawn_boxes(lab, max(BOX_MIN_SIDE, int(BOX_MIN_SIDE_SHARE * min(ch, cw))), slopes,
                                 exclude=frame[0]),)
    # start column: time 0 (or the left edge)
    # where the curves start: time 0, or the plot's left edge if 0 is not on the axis
    if calibration.log_x:
        px0 = float(x0)
    else:
        px0 = float(calibration.to_pixel(0.0, 1.0)[0])
        px0 = px0 if px0 >= x0 - 1 else float(x0)
    start_col = int(np.clip(round(px0) - x0, 0, cw - 1))

    def dashed_paper(own_ink: np.ndarray, blocked: np.ndarray, also=False) -> tuple[BarePaper, int]:
        """Bare paper for a dashed/dotted arm whose ink is ``own_ink``: its dash gaps are its
        own drawing, not paper (``blocked``: no paper either; ``also``: paper whatever it
        holds), and its typical gap (pixels)."""
        from digitize.linestyle import gap_length, gaps_filled

        gap = gap_length(own_ink)
        return BarePaper.of(~occupied & ~blocked & ~gaps_filled(own_ink, gap) | also), gap

    def run(k: int, ign: np.ndarray, extra: np.ndarray | None = None) -> ExtractedArm:
        spec, tol = arms[k], tols[k]
        args = ((crop, lab, bg_lab), cov, dist, PixelOwners(nearest, by_shade, light, halos[k], claim), ign, empty,
                calibration, (x0, y0), frame, start_col)
        limits = colour_of.count(k) == 1   # one arm in this colour: stacked lines are its limits
        res = _extract_one(spec, k, tol, *args, extra=extra, limits=limits)
        # a trace with many uninked columns (JPEG washes thin lines' colour out of tolerance) is
        # tried again with a wider tolerance, kept if it is surer or reaches further as surely
        if spec.tolerance is None and (res.confidence < WIDEN_BELOW or res.empty):
            wider = _extract_one(spec, k, tol * 1.6, *args, extra=extra, limits=limits)
            if _surer(wider, res, cw):
                wider.warnings.append(f"colour tolerance widened to Delta E {tol * 1.6:.0f}")
                res = wider
        if res.confidence < WIDEN_BELOW and not res.empty:
            # a dashed line's gaps are its own drawing, not bare paper: a trace ending at its
            # first gaps (dashes longer apart than the tracer bridges over paper, at 150-200
            # dpi) is tried again with the gaps filled, as for arms told apart by style
            pixels, _, _, owners, _, _, *rest = args
            got = _arm_runs(spec, k, tol, pixels, cov, dist, owners, ign, frame, extra)
            if not isinstance(got, str):
                bare, _ = dashed_paper(got[2] > 0, ign)
                dashed = _extract_one(spec, k, tol, pixels, cov, dist, owners, ign, bare, *rest,
                                      extra=extra, limits=limits)
                if _surer(dashed, res, cw):
                    res = dashed
        return res

    def run_group(k: int, member):
        """member None: (the colour's ink map, line width) or (None, 0); else (spec, style,
        its style's ink map, the colour's ink map): that arm's extraction."""
        if member is None:
            got = _arm_runs(arms[k], k, tols[k], (crop, lab, bg_lab), cov, dist,
                            PixelOwners(nearest, by_shade, light, halos[k], claim), ignore, frame)
            return (None, 0.0) if isinstance(got, str) else (got[2] > 0, got[1])
        spec, style, own_ink, ink, cut, limits = member
        if cut is not None:
            own_ink = own_ink & ~cut
        other = ink & ~own_ink
        ign = ignore | (cv2.dilate(other.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~own_ink
        if cut is not None:
            ign &= ~cut
        bare = empty
        gap = 0
        if style not in SOLID_LIKE:
            bare, gap = dashed_paper(own_ink, ignore, cut if cut is not None else False)
        elif cut is not None:
            # another arm's marks: bare paper for this arm (a chain through them is not its curve)
            bare = BarePaper.of(~occupied & ~ignore | cut)
        tol = tols[k]
        args = ((crop, lab, bg_lab), cov, dist, PixelOwners(nearest, by_shade, light, halos[k], claim), ign, bare,
                calibration, (x0, y0), frame, start_col)
        # limits: None (not looked for), else the share of the arm's columns the stacking must
        # hold (_style_group); judged with the style's dash gaps bridged
        lim = dict(limits=limits is not None, limit_gap=gap,
                   limit_share=MIN_TRIPLE_SHARE if limits is None else limits,
                   hidden_by=other if style not in SOLID_LIKE else None)
        res = _extract_one(spec, k, tol, *args, **lim)
        if spec.tolerance is None and (res.confidence < WIDEN_BELOW or res.empty):
            wider = _extract_one(spec, k, tol * 1.6, *args, **lim)
            if _surer(wider, res, cw):
                wider.warnings.append(f"colour tolerance widened to Delta E {tol * 1.6:.0f}")
                res = wider
        return res

    out = []
    for k in range(len(arms)):
        out.append(run(k, ignore))
        if progress is not None:
            progress(0.9 * (k + 1) / len(arms))
    # a thin coloured line that JPEG washed to grey (a dashed one above all) lies nearer a black or
    # grey arm's blend than its own, yet its chroma still leans to its hue; so does a neutral
    # line's next to a coloured one (JPEG spreads chroma over a few pixels), but that lies on the
    # neutral arm's trace: the leaning pixels off every neutral trace are tried as the arm's ink
    lean = leaning_to_colour(nearest, lab, bg_lab, dist, reach, [a.rgb for a in arms], paper, fg)
    if (lean >= 0).any():
        neutral_lines = np.zeros((ch, cw), bool)
        for a in out:
            if is_neutral(a.rgb) and not a.empty:
                neutral_lines |= _trace_band(a, (ch, cw), (x0, y0), LEAN_TRACE_RADIUS)
        for k in np.unique(lean[lean >= 0]).tolist():
            extra = (lean == k) & ~neutral_lines
            if _columns_beyond(out[k], extra, (x0, y0)) >= LEAN_MIN_COLUMNS:
                again = run(k, ignore, extra)
                if _surer(again, out[k], cw):
                    out[k] = again
    # two arms tracing the same line (near colours, thin or JPEG-washed lines): the arm whose
    # colour explains that ink worse is traced again without it
    for _ in range(2):
        conflict = _shared_trace(out, lab, (x0, y0))
        if conflict is None:
            break
        winner, loser = conflict
        block = _trace_band(out[winner], (ch, cw), (x0, y0))
        again = run(loser, ignore | block)
        old = out[loser]
        # curves that really coincide for a while (one drawn over the other) keep their trace:
        # the re-trace must not lose the start nor much coverage, nor the old trace's own line
        # (its columns off the winner's line: ink only the loser explains)
        keeps_start = (not again.empty and again.trace_px[0, 0] <= old.trace_px[0, 0] + 10
                       and again.confidence >= old.confidence - 0.05)
        own = ~_on_line(old, out[winner])
        keeps_own = own.sum() < 0.2 * own.size or _on_line(old, again)[own].mean() >= 0.5
        if keeps_start and keeps_own and _overlap(out[winner], again) < 0.2:
            out[loser] = again
        else:
            break
    if progress is not None:
        progress(1.0)
    if len(arms) == len(user_arms):
        return out
    final: list[ExtractedArm | None] = [None] * len(user_arms)
    for k in range(len(arms)):
        members = [i for i, c in enumerate(colour_of) if c == k]
        if len(members) == 1:
            final[members[0]] = out[k]
            continue
        res = _style_group(k, [user_arms[i] for i in members], run_group, (x0, y0), calibration)
        for i, r in zip(members, res):
            final[i] = r
    return final


#: arms whose colours differ by less than this (Lab Delta E) are drawn in one colour ...
SAME_COLOUR_DE = 3.0
#: ... and so are arms within this whose line style or a point on whose curve is given (a
#: colour picked off a thin line is its blend with the paper, a little lighter than the ink)
SAME_STYLED_DE = 12.0


def _colour_groups(arms: list[ArmSpec]) -> tuple[list[ArmSpec], list[int]]:
    """(one spec per distinct colour, the colour index of each arm): arms within
    SAME_COLOUR_DE of an earlier arm's colour (SAME_STYLED_DE if both are styled) share it."""
    reps: list[ArmSpec] = []
    labs: list[np.ndarray] = []
    colour_of: list[int] = []
    for a in arms:
        lab = rgb_to_lab(np.array([a.rgb], float))[0]
        styled = a.style is not None or a.at is not None
        near = [j for j, l in enumerate(labs) if np.linalg.norm(lab - l) < SAME_COLOUR_DE or (
            styled and (reps[j].style is not None or reps[j].at is not None)
            and np.linalg.norm(lab - l) < SAME_STYLED_DE)]
        if near:
            colour_of.append(near[0])
        else:
            colour_of.append(len(reps))
            reps.append(a)
            labs.append(lab)
    return reps, colour_of


def _style_group(k: int, specs: list[ArmSpec], run_group, offset,
                 calibration: Calibration | None = None) -> list[ExtractedArm]:
    """The arms ``specs`` drawn in colour ``k``: each traced through the ink pieces of its own
    line style (linestyle.split_by_style), with its dash gaps counted as its drawing, not as
    bare paper. Styles come from the specs, else from a point on the curve (``at``: the style
    of the ink there), else in R's line-type order (solid, dashed, dotted, dash-dot) among the
    styles found in the ink (linestyle.propose_styles), with a warning."""
    from digitize.linestyle import BY_LENGTH, propose_styles, split_by_style, style_at

    ink, lw = run_group(k, None)
    if ink is None:
        return [_empty_arm(s, f"arm '{s.name}': no pixels of colour {s.hex} found inside the plot area; "
                           "check the colour") for s in specs]
    x0, y0 = offset
    found = propose_styles(ink, lw)
    styles: list[str | None] = [s.style for s in specs]
    notes: list[list[str]] = [[] for _ in specs]
    if any(st is None and s.at is not None for st, s in zip(styles, specs)):
        cand = sorted(set(found) | {st for st in styles if st}, key=BY_LENGTH.index)
        maps = split_by_style(ink, cand, lw)
        for i, s in enumerate(specs):
            if styles[i] is None and s.at is not None:
                styles[i] = style_at(ink, maps, (s.at[0] - x0, s.at[1] - y0))
                if styles[i] is None:
                    notes[i].append(f"arm '{s.name}': no {s.hex} ink near its point "
                                    f"({s.at[0]:.0f}, {s.at[1]:.0f}); its line style was guessed")
    order = [st for st in ("solid", "dashed", "dotted", "dashdot", "thick") if st in found] + \
        [st for st in ("solid", "dashed", "dotted", "dashdot") if st not in found]
    for i, s in enumerate(specs):
        if styles[i] is None:
            free = [st for st in order if st not in styles]
            styles[i] = free[0] if free else "solid"
            notes[i].append(f"arm '{s.name}': shares colour {s.hex} with another arm; line style taken "
                            f"as {styles[i]} (give it with --arm NAME=#RRGGBB,STYLE or --arm-at NAME=PX,PY)")
    distinct = sorted(set(styles), key=BY_LENGTH.index)
    maps = split_by_style(ink, distinct, lw)
    out: list[ExtractedArm | None] = [None] * len(specs)
    # solid arms first: the long strokes off their traces are dashed or dotted curves running
    # together (or with their marks merged into one piece), which each of those arms may follow
    # by continuity
    order_ = sorted(range(len(specs)), key=lambda i: styles[i] not in SOLID_LIKE)
    shared = None
    band_r = int(np.ceil(lw)) + 1
    cuts = _mark_cuts(specs, styles, ink.shape, offset)
    # confidence limits are one choice for the whole plot (R: conf.int): when the colour's one
    # solid arm - the style whose stacking has no dash gaps to bridge - shows them or not, so do
    # its dashed/dotted arms; without such an arm each judges its own, more strictly
    solid_limits = _limit_ink(maps["solid"], styles.count("solid"), lw) if "solid" in maps else None
    ci_shown = bool(solid_limits.any()) if solid_limits is not None and styles.count("solid") == 1 else None

    def limit_share(i: int) -> float | None:
        """None: no limits looked for (several arms of this style stack their curves); else
        the share of the arm's columns its three stacked lines must hold (cilines.limit_runs)."""
        if styles.count(styles[i]) != 1 or (styles[i] not in SOLID_LIKE and ci_shown is False):
            return None
        return CI_SHARE_UNSURE if styles[i] not in SOLID_LIKE and ci_shown is None else MIN_TRIPLE_SHARE

    def trace(i: int, own: np.ndarray) -> ExtractedArm:
        nonlocal shared
        s = specs[i]
        if styles[i] not in SOLID_LIKE and "solid" in maps:
            if shared is None:
                solid_band = np.zeros(ink.shape, bool)
                for j in order_:
                    if styles[j] == "solid" and out[j] is not None and not out[j].empty:
                        solid_band |= _trace_band(out[j], ink.shape, offset, radius=int(np.ceil(lw)) + 2)
                shared = maps["solid"] & ~solid_band & ~solid_limits
            own = own | shared
        res = run_group(k, (s, styles[i], own, ink, cuts.get(i), limit_share(i)))
        if styles[i] not in SOLID_LIKE and calibration is not None and len(specs) >= 2:
            # two curves of one colour: a hidden stretch of one is hidden by the other; with a
            # third it could be any curve traced before: the one passing nearest where the
            # arm's trace begins
            from digitize.linestyle import hidden_start_along

            if len(specs) == 2:
                solids = [out[j] for j in order_ if styles[j] == "solid" and out[j] is not None]
            else:
                solids = [out[j] for j in order_ if j != i and out[j] is not None]
            res = hidden_start_along(res, solids, calibration, lw, nearest=len(specs) > 2)
        res.warnings[:0] = notes[i]
        return res

    for i in order_:
        own = maps[styles[i]]
        # arms of one colour and one style: each traced on the ink its predecessors' traces
        # left (their strokes cover it where the curves run together or cross)
        for j in order_:
            if j != i and out[j] is not None and styles[j] == styles[i] and not out[j].empty:
                own = own & ~_trace_band(out[j], ink.shape, offset, radius=band_r)
        out[i] = trace(i, own)
    # which of those curves is which arm: the one carrying the arm's marks (``marks``, zero-click)
    # or through its point (``at``, a click), if given
    for st in dict.fromkeys(styles):
        group = [i for i in order_ if styles[i] == st]
        if len(group) < 2:
            continue
        perm = _curves_by_points([specs[i] for i in group], [out[i] for i in group], 2.0 * lw + 3.0)
        if perm is None:
            for i in group:
                out[i].warnings.insert(0, f"arm '{specs[i].name}': another arm has the same colour and line "
                                          f"style ({specs[i].hex}, {st}); their curves were told apart by "
                                          "continuity, which is which by order - give a point on each "
                                          "(--arm-at NAME=PX,PY) or check them")
            continue
        bands = {i: _trace_band(out[i], ink.shape, offset, radius=band_r) for i in group}
        if len(group) == 2:
            # two curves that touch or cross: which stretch between touches is whose, by the
            # arms' marks on it (the first tracing may have swapped curves where they met)
            a, b = (group[p] for p in perm)      # a: the curve of group[0]'s points, b: group[1]'s
            plan = _stretch_owners(out[a], out[b], specs[group[0]], specs[group[1]], 2.0 * lw + 3.0,
                                   ink.shape, offset, band_r)
            if plan is not None:
                new = {g: trace(g, maps[st] & ~other) for g, other in zip(group, plan)}
                out[group[0]], out[group[1]] = new[group[0]], new[group[1]]
                perm = [0, 1]
        if any(g != group[p] for g, p in zip(group, perm)):
            # traced again, each arm on the ink the other chosen curves leave
            new = {}
            for g, p in zip(group, perm):
                own = maps[st].copy()
                for q in group:
                    if q != group[p]:
                        own &= ~bands[q]
                new[g] = trace(g, own)
            for g in group:
                out[g] = new[g]
        for i in group:
            out[i].warnings.append(f"arm '{specs[i].name}': shares colour and line style ({specs[i].hex}, {st}) "
                                   "with another arm; its curve is the one "
                                   + ("carrying its censor-mark symbols" if specs[i].marks else "through its point"))
    return out


#: a dashed/dotted arm's own stacking must hold this share of its columns when no solid arm of
#: its colour tells whether the plot draws limits (bridged dashes of curves running together
#: stack too, over about a third of the columns on B/W figures without limits)
CI_SHARE_UNSURE = 0.5


def _limit_ink(solid: np.ndarray, n_solid: int, lw: float) -> np.ndarray:
    """Bool map of the solid arm's confidence-limit lines in a colour's solid ink (digitize.
    cilines; none unless exactly one arm of the colour is solid): the long strokes off that arm's
    trace are otherwise taken for dashed/dotted curves running together (shared ink), and a
    dashed arm would follow a solid limit line."""
    import cv2

    from digitize.cilines import limit_runs
    from digitize.trace import column_runs, run_pixels

    out = np.zeros(solid.shape, bool)
    if n_solid != 1 or not solid.any():
        return out
    runs = column_runs(solid, solid.astype(np.float32))
    on = limit_runs(runs)
    if on.any():
        lim = runs.take(np.flatnonzero(on))
        rows, cols, _ = run_pixels(lim.col, lim.top, lim.bot)
        out[rows, cols] = True
        r = int(np.ceil(lw))
        out = cv2.dilate(out.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
    return out & solid


def _mark_cuts(specs: list[ArmSpec], styles: list, shape, offset) -> dict[int, np.ndarray]:
    """Per arm of one colour and style as another: bool crop map of discs round the other
    arms' marks (``spec.marks``, else their ``at`` point), which that arm's trace keeps off.
    Disc radius: half the spacing of a mark's symbol, about a text height (6 px at least)."""
    import cv2

    x0, y0 = offset
    out: dict[int, np.ndarray] = {}
    for i, s in enumerate(specs):
        mates = [j for j, t in enumerate(specs) if j != i and styles[j] == styles[i]]
        pts = [p for j in mates for p in (specs[j].marks or ((specs[j].at,) if specs[j].at is not None else ()))]
        if not pts:
            continue
        m = np.zeros(shape, np.uint8)
        for px, py in pts:
            cv2.circle(m, (int(round(px - x0)), int(round(py - y0))), 6, 1, -1)
        out[i] = m > 0
    return out


def _column_rows(arm: ExtractedArm, offset, width: int) -> np.ndarray:
    """Crop row of a trace's centre line in each crop column (NaN outside its span; a drop's
    column takes its mean row)."""
    x = np.rint(arm.trace_px[:, 0] - offset[0]).astype(int)
    y = arm.trace_px[:, 1] - offset[1]
    ok = (x >= 0) & (x < width)
    out = np.full(width, np.nan)
    if not ok.any():
        return out
    s = np.bincount(x[ok], weights=y[ok], minlength=width)
    n = np.bincount(x[ok], minlength=width)
    have = n > 0
    out[have] = s[have] / n[have]
    lo, hi = int(np.flatnonzero(have)[0]), int(np.flatnonzero(have)[-1])
    cols = np.arange(lo, hi + 1)
    out[lo:hi + 1] = np.interp(cols, np.flatnonzero(have), out[have])
    return out


def _stretch_owners(a: ExtractedArm, b: ExtractedArm, spec_a: ArmSpec, spec_b: ArmSpec, reach: float,
                    shape, offset, band_r: int):
    """Two curves of one colour and style traced as ``a`` and ``b`` (for the arms of ``spec_a``
    and ``spec_b``) may have swapped where they touch or cross (two continuations both fit a
    KM curve there). Between touches each stretch is either side's; a stretch goes to the arm
    whose own marks (``spec.marks``, else ``at``) lie more on it, a stretch with no marks
    keeps the side of the one before. Returns the bool crop maps of ink each arm must keep off
    (the other's stretches), or None when nothing is to be swapped."""
    w = shape[1]
    ya, yb = _column_rows(a, offset, w), _column_rows(b, offset, w)
    both = ~np.isnan(ya) & ~np.isnan(yb)
    if not both.any():
        return None
    d = np.nan_to_num(ya) - np.nan_to_num(yb)
    touch = both & (np.abs(d) <= reach)
    # ... or cross (a drop of one passing the other's level: either could go on either way)
    flip = both[1:] & both[:-1] & (np.sign(d[1:]) * np.sign(d[:-1]) < 0)
    touch[1:] |= flip
    touch[:-1] |= flip
    # stretches: runs of columns between touches (each index: a stretch number, -1 on touches)
    seg = np.cumsum(np.r_[0, np.diff(touch.astype(int)) != 0])
    marks = [np.asarray(s.marks if s.marks else ([s.at] if s.at is not None else []), float).reshape(-1, 2)
             - np.asarray(offset, float) for s in (spec_a, spec_b)]

    def on(rows: np.ndarray, pts: np.ndarray) -> np.ndarray:
        c = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
        return ~np.isnan(rows[c]) & (np.abs(np.nan_to_num(rows[c]) - pts[:, 1]) <= reach) & ~touch[c]

    on_a = [on(ya, m) for m in marks]
    on_b = [on(yb, m) for m in marks]
    swapped = np.zeros(w, bool)
    state = False
    for k in np.unique(seg):
        cols = seg == k
        if touch[cols].all():
            swapped[cols] = state
            continue
        c_of = [np.clip(np.rint(m[:, 0]).astype(int), 0, w - 1) for m in marks]
        inside = [cols[c] for c in c_of]
        keep = int((on_a[0] & inside[0]).sum() + (on_b[1] & inside[1]).sum())
        swap = int((on_b[0] & inside[0]).sum() + (on_a[1] & inside[1]).sum())
        if keep != swap:
            state = swap > keep
        swapped[cols] = state
    if not swapped.any():
        return None
    band_a = _trace_band(a, shape, offset, radius=band_r)
    band_b = _trace_band(b, shape, offset, radius=band_r)
    colmask = np.broadcast_to(swapped[None, :], shape)
    near_touch = np.broadcast_to(touch[None, :], shape)
    # arm A keeps off curve b where b is not its own, and off curve a where a became B's
    off_a = (band_b & ~colmask | band_a & colmask) & ~near_touch
    off_b = (band_a & ~colmask | band_b & colmask) & ~near_touch
    return off_a & ~(band_a & ~colmask | band_b & colmask), off_b & ~(band_b & ~colmask | band_a & colmask)


def _curves_by_points(specs: list[ArmSpec], arms: list[ExtractedArm], reach: float) -> list[int] | None:
    """For arms of one colour and style: the traced curve (index into ``arms``) that is each
    arm's, as the assignment that puts the most of the arms' own marks (``spec.marks``, else
    their point ``spec.at``; image pixels) within ``reach`` pixels of their curves, ties broken
    by the least total distance of the points. None unless every arm has points and a curve."""
    from itertools import permutations

    pts = [np.asarray(s.marks if s.marks else ([s.at] if s.at is not None else []), float).reshape(-1, 2)
           for s in specs]
    if any(p.shape[0] == 0 for p in pts) or any(a.empty or a.trace_px.shape[0] == 0 for a in arms):
        return None
    near = np.zeros((len(specs), len(arms)))
    dist = np.zeros((len(specs), len(arms)))
    for i, p in enumerate(pts):
        for j, a in enumerate(arms):
            d = np.min(np.hypot(a.trace_px[None, :, 0] - p[:, 0:1], a.trace_px[None, :, 1] - p[:, 1:2]), axis=1)
            near[i, j] = float(np.sum(d <= reach))
            dist[i, j] = float(np.sum(np.minimum(d, 10 * reach)))
    best = max(permutations(range(len(arms))),
               key=lambda q: (sum(near[i, q[i]] for i in range(len(q))), -sum(dist[i, q[i]] for i in range(len(q)))))
    return list(best)


def _surer(new: ExtractedArm, old: ExtractedArm, width: int) -> bool:
    """A second trace of an arm replaces the first if it is surer (confidence higher by 0.05)
    or reaches further (by 5 % of the plot's ``width``, pixels) as surely: overall, or over the
    first trace's span (a washed-out stretch beyond it is inked more sparsely)."""
    if new.empty:
        return False
    if old.empty or new.trace_px[-1, 0] <= old.trace_px[-1, 0] + 0.05 * width:
        return new.confidence > old.confidence + 0.05
    lo, hi = old.trace_px[0, 0], old.trace_px[-1, 0]
    return (new.confidence >= old.confidence - 0.05
            or _inked_share(new, lo, hi) >= _inked_share(old, lo, hi) - 0.05)


def _inked_share(arm: ExtractedArm, lo: float, hi: float) -> float:
    """Fraction of the image columns ``lo``..``hi`` (pixels) where the arm's trace has ink."""
    x = arm.trace_px[:, 0]
    return np.count_nonzero((x >= lo) & (x <= hi)) / max(hi - lo + 1.0, 1.0)


def _columns_beyond(arm: ExtractedArm, ink: np.ndarray, offset) -> int:
    """Number of crop columns holding ``ink`` (bool map) right of the arm's trace's end."""
    cols = np.flatnonzero(ink.any(axis=0))
    if arm.empty:
        return int(cols.size)
    return int(np.count_nonzero(cols > arm.trace_px[-1, 0] - offset[0]))


def _on_line(a: ExtractedArm, b: ExtractedArm) -> np.ndarray:
    """Bool per traced column of ``a``: trace ``b`` has the same column within 3 pixels."""
    out = np.zeros(a.trace_px.shape[0], bool)
    if out.size == 0 or b.trace_px.shape[0] == 0:
        return out
    _, ia, ib = np.intersect1d(a.trace_px[:, 0], b.trace_px[:, 0], return_indices=True)
    out[ia] = np.abs(a.trace_px[ia, 1] - b.trace_px[ib, 1]) <= 3.0
    return out


def _overlap(a: ExtractedArm, b: ExtractedArm) -> float:
    """Fraction of the shorter trace's columns where the two traces lie on the same line."""
    if a.trace_px.shape[0] == 0 or b.trace_px.shape[0] == 0:
        return 0.0
    return float(_on_line(a, b).sum()) / min(a.trace_px.shape[0], b.trace_px.shape[0])


def _shared_trace(out: list[ExtractedArm], lab: np.ndarray, offset) -> tuple[int, int] | None:
    """(winner, loser) for the most overlapping pair of traces, if any pair shares > 20 %: the
    winner is the arm whose colour is nearest (Lab) to the ink seen along the shared trace."""
    best, pair = 0.2, None
    for i in range(len(out)):
        for j in range(i + 1, len(out)):
            f = _overlap(out[i], out[j])
            if f > best:
                best, pair = f, (i, j)
    if pair is None:
        return None
    i, j = pair
    x0, y0 = offset
    h, w = lab.shape[:2]
    xs = np.clip(np.rint(out[i].trace_px[:, 0] - x0).astype(int), 0, w - 1)
    ys = np.rint(out[i].trace_px[:, 1] - y0).astype(int)
    cand = np.stack([lab[np.clip(ys + d, 0, h - 1), xs] for d in (-1, 0, 1)])   # (3, N, 3)
    ink = np.take_along_axis(cand, np.argmin(cand[..., 0], axis=0)[None, :, None], axis=0)[0]
    seen = np.median(ink, axis=0)
    li, lj = (rgb_to_lab(np.array([out[k].rgb], float))[0] for k in (i, j))
    return (i, j) if np.linalg.norm(seen - li) <= np.linalg.norm(seen - lj) else (j, i)


def _trace_band(arm: ExtractedArm, shape, offset, radius: int = 2) -> np.ndarray:
    """Bool map (crop) of the pixels within ``radius`` pixels (a square) of a trace's centre line."""
    import cv2

    x0, y0 = offset
    m = np.zeros(shape, np.uint8)
    xs = np.clip(np.rint(arm.trace_px[:, 0] - x0).astype(int), 0, shape[1] - 1)
    ys = np.clip(np.rint(arm.trace_px[:, 1] - y0).astype(int), 0, shape[0] - 1)
    m[ys, xs] = 1
    # the vertical segments between consecutive columns
    for (xa, ya), (xb, yb) in zip(zip(xs[:-1], ys[:-1]), zip(xs[1:], ys[1:])):
        if xb == xa + 1 and abs(yb - ya) > 1:
            m[min(ya, yb):max(ya, yb) + 1, xb] = 1
    return cv2.dilate(m, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0


def _colour_mismatch(spec: ArmSpec, pixels, path: Runs) -> str | None:
    """A message when the traced ink is visibly not the arm's colour (hue, or colour vs grey)."""
    rgb_crop, lab_crop, _ = pixels
    if len(path) == 0:
        return None
    bg_lab = np.median(lab_crop[::7, ::7].reshape(-1, 3), axis=0)
    inks = []
    step = max(1, len(path) // 400)
    for c, t, b in zip(path.col[::step], path.top[::step], path.bot[::step]):
        col = lab_crop[t:b + 1, c]
        inks.append(col[int(np.argmax(np.linalg.norm(col - bg_lab, axis=1)))])
    seen = np.median(np.asarray(inks), axis=0)
    want = rgb_to_lab(np.array([spec.rgb], float))[0]
    c_seen, c_want = float(np.hypot(*seen[1:])), float(np.hypot(*want[1:]))
    bad = False
    if c_want >= 15.0 and c_seen >= 8.0:
        h = abs(np.degrees(np.arctan2(seen[2], seen[1]) - np.arctan2(want[2], want[1]))) % 360.0
        bad = min(h, 360.0 - h) > MAX_HUE_DIFF
    elif c_want >= 15.0:
        # JPEG (4:2:0) washes a thin line's core to grey; its 3x3 neighbourhood keeps some of
        # the colour: judged there, per unit of the neighbourhood's coverage
        bad = c_seen < 0.2 * c_want and _local_chroma(spec, rgb_crop, path, step) < LOCAL_CHROMA_MIN * c_want
    else:
        bad = c_seen > 30.0
    if not bad:
        return None
    import cv2

    seen_rgb = cv2.cvtColor(seen.astype(np.float32).reshape(1, 1, 3), cv2.COLOR_Lab2RGB).reshape(3)
    seen_rgb = tuple(int(v) for v in np.clip(np.rint(seen_rgb * 255), 0, 255))
    return (f"arm '{spec.name}': no curve drawn in colour {spec.hex} (the curve found there is about "
            f"#%02x%02x%02x); check the colour" % seen_rgb)


def _local_chroma(spec: ArmSpec, rgb_crop: np.ndarray, path: Runs, step: int) -> float:
    """Median Lab chroma of the 3x3 mean around the traced ink's darkest pixels, divided by that
    mean's coverage by the arm's colour: about the colour's own chroma where JPEG only moved it
    out of the line's core, near 0 for a black or grey line."""
    bg = np.median(rgb_crop[::7, ::7].reshape(-1, 3), axis=0).astype(float)
    v = np.asarray(spec.rgb, float) - bg
    boxes = []
    for c, t, b in zip(path.col[::step], path.top[::step], path.bot[::step]):
        r = t + int(np.argmin(rgb_crop[t:b + 1, c].astype(float).sum(axis=1)))
        boxes.append(rgb_crop[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].reshape(-1, 3).astype(float).mean(axis=0))
    if not boxes:
        return 0.0
    boxes = np.asarray(boxes)
    a = (boxes - bg) @ v / max(float(v @ v), 1.0)
    return float(np.median(chroma(rgb_to_lab(boxes)) / np.maximum(a, 0.05)))


@dataclass
class PixelOwners:
    """Which arm each plot-area pixel (crop) is given to, as one arm's extraction sees it."""

    #: arm index per pixel (-1: none; inkmask.assign_arms, shades.separate_shades)
    nearest: np.ndarray
    #: bool map of pixels given by darkness, not colour (shades.separate_shades)
    by_shade: np.ndarray
    #: the arms' L* lightness followed by +inf for no arm (indexed by the arm index)
    light: np.ndarray
    #: this arm's inkmask.darker_halos map, or None
    halo: np.ndarray | None
    #: the coloured arm whose hue each pixel a black or grey arm holds keeps
    #: (inkmask.leaning_to_colour at KEEP_HUE_SHARE; -1: none)
    claim: np.ndarray


def _arm_runs(spec: ArmSpec, k: int, tol: float, pixels, cov, dist, owners: PixelOwners, ignore, frame,
              extra: np.ndarray | None = None) -> tuple[Runs, float, np.ndarray] | str:
    """The arm's ink as vertical runs, its line width (pixels) and its coverage map (crop, 0-1,
    bands removed), or a message if none.
    frame: (axes map, first spine row, drawn boxes map).
    extra: bool map of more pixels that are the arm's ink, or None."""
    import cv2

    _, lab, bg_lab = pixels
    nearest, by_shade, light, halo, claim = owners.nearest, owners.by_shade, owners.light, owners.halo, owners.claim
    own = (nearest == k) & ((dist[k] <= tol) | by_shade)
    if is_neutral(spec.rgb):
        # a coloured line's washed core is not this arm's ink, unless darker than that colour
        # (this arm's line mixed with the coloured one where they run together)
        idx = np.flatnonzero((own & (claim >= 0)).reshape(-1))
        own.reshape(-1)[idx] = lab.reshape(-1, 3)[idx, 0] < light[claim.reshape(-1)[idx]] - DARKER_L
    else:
        own |= claim == k
        # a thin line's dark core whose colour JPEG mixed with a near curve's or band's (4:2:0):
        # still this arm's ink if its colour keeps the arm's hue
        core = np.flatnonzero(((nearest == k) & ~own & (cov[k] >= CORE_COVERAGE)).reshape(-1))
        own.reshape(-1)[core] = keeps_hue(lab.reshape(-1, 3)[core], spec.rgb, bg_lab)
    if extra is not None:
        own |= extra
    sel = own & ~ignore
    if is_neutral(spec.rgb):   # black/grey curves: the axes, ticks and frame are the same colour
        sel &= ~frame[0]
    a = np.where(sel, np.clip(cov[k], 0.0, 1.0), 0.0).astype(np.float32)
    if float(a.max(initial=0.0)) < 0.5:
        return (f"arm '{spec.name}': no pixels of colour {spec.hex} found inside the plot area; check "
                "the colour (or pick it from the curve) or widen the tolerance")
    lw_guess = line_width_guess(a)
    # drawn boxes only now: a legend frame's ink (as dark, about as thick) keeps the width guess
    # up where a dashed curve's faint dash ends alone would pull it below the line's width
    a[frame[2]] = 0.0
    # band level from the ink before blanking grid lines/frame (thin band strips left beside
    # their holes would look like lines), and for a coloured arm from every pixel its colour
    # explains, won or not: where bands of near colours overlap, their pixels go to either arm
    # in small patches (every grey ink is within a black or grey arm's tolerance)
    # (a grey arm's band is cut by darker arms' lines and the rims they took: their pixels are too
    # dark to be its band, and fill those cuts, which would leave band strips thinner than the square)
    base = own | (light[nearest] < light[k] - DARKER_L) if is_neutral(spec.rgb) else own | (dist[k] <= tol)
    th = top_hat(a, int(max(7, 2 * round(lw_guess) + 3)) | 1,
                 base=np.where(base, np.clip(cov[k], 0.0, 1.0), 0.0).astype(np.float32))
    ink = cv2.morphologyEx((th >= INK_THRESHOLD).astype(np.uint8), cv2.MORPH_CLOSE,
                           np.ones((3, 1), np.uint8)) > 0
    runs = column_runs(ink, np.clip(th, 0, 1))
    runs = runs.take(runs.weight >= max(MIN_RUN_WEIGHT, 0.4 * lw_guess))   # speckle, faint hairlines
    if halo is not None:
        # a grey arm's faint runs next to a much darker curve: that curve's halo (anti-aliasing,
        # JPEG ringing over a band), not the grey line
        level = halo[np.clip(np.rint(runs.cen).astype(np.int64), 0, halo.shape[0] - 1), runs.col]
        runs = runs.take(runs.weight >= level * (runs.bot - runs.top + 1))
    if len(runs) < 3:
        return f"arm '{spec.name}': colour {spec.hex} found, but it forms no curve"
    short = (runs.bot - runs.top + 1) <= 2 * lw_guess + 2
    lw = float(np.median(runs.weight[short])) if short.any() else lw_guess
    return runs, max(0.8, lw), np.where(ink, np.clip(th, 0.0, 1.0), 0.0)


def _path_line_width(path: Runs, lw: float) -> float:
    """Line width (pixels) re-read off the traced path: the median ink of its thinnest runs (at
    most a pixel taller than its lower-quartile run height: plateaus, not drops, nor marks
    overlapping into a ribbon where censoring is dense). The arm's first estimate, from all its
    runs, is pulled down by faint ink off the curve (a band's edge, anti-aliased pixels of a
    grey curve, a dashed line's ends); too thin a line makes every plateau column look taller
    than a line, so no column is a plateau to measure censor marks against, and a drop drawn
    over a few columns (rotation, a thick or dashed line) wider than the line, so it is read as
    a staircase of several drops."""
    height = path.bot - path.top + 1
    if height.size < 10:
        return lw
    return max(0.8, float(np.median(path.weight[height <= np.percentile(height, 25) + 1])))


def _last_drop_to_axis(runs: Runs, path: Runs, lw: float, axis_row: float) -> Runs:
    """The path with its last column's run carried down to the x axis (crop row ``axis_row``)
    when the arm's ink right below it continues as a vertical line to the axis: a curve's last
    drop to 0 that the tracer does not chain, because it is dashed (its dashes are runs of their
    own), cut by a crossing curve, or tilted by the page's rotation over a few columns (a long
    drop at 1 degree drifts a column every 57 rows). Each piece may lie a column either side of
    the one before, within a drift of 1 + 2 % of the rows followed; gaps up to 3.5 line widths
    ``lw`` + 2 pixels (dashed and dotted lines, a crossing curve)."""
    if len(path) < 2 or path.bot[-1] >= axis_row - lw - 2.0:
        return path
    c0 = c = int(path.col[-1])
    top, start = int(path.top[-1]), int(path.bot[-1])
    bottom = start
    w, wc = float(path.weight[-1]), float(path.weight[-1] * path.cen[-1])
    while True:
        # a piece below starts at most a line width + 2 px above the one before (a tilted
        # line's pieces in neighbouring columns overlap by rows); a run from higher up is a
        # vertical line the curve ends against (the right spine)
        near = (np.abs(runs.col - c) <= 1) & (np.abs(runs.col - c0) <= 1 + 0.02 * (bottom - start)) & \
            (runs.bot > bottom) & (runs.top > top - lw - 2.0) & (runs.top - bottom - 1 <= 3.5 * lw + 2.0)
        cand = np.flatnonzero(near)
        if not cand.size:
            break
        j = int(cand[np.argmax(runs.bot[cand])])
        fresh = (runs.bot[j] - max(bottom, runs.top[j] - 1)) / (runs.bot[j] - runs.top[j] + 1)
        c, top, bottom = int(runs.col[j]), int(runs.top[j]), int(runs.bot[j])
        w, wc = w + float(runs.weight[j] * fresh), wc + float(runs.weight[j] * fresh * runs.cen[j])
    if bottom < axis_row - lw - 2.0:
        return path
    out = path.take(np.arange(len(path)))
    out.bot[-1], out.weight[-1], out.cen[-1] = bottom, w, wc / max(w, 1e-9)
    return out


def _path_levels(path: Runs, lw: float, is_mark: np.ndarray, drop: np.ndarray, axis_row: float,
                 tilt: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Centre-line (x, y) per traced column (crop pixels); a last drop into the x axis reaches it
    (the axis is drawn over the curve, or excluded for a black curve), at the column where the
    drop, tilted like the survival axis (``tilt``: dx/dy), meets it: on a rotated page a long
    drop drifts columns, so its foot under the column of its top would be a later time.
    ``drop``: columns whose run ends are no levels (a dashed drop's dashes: steps.gapped_walls,
    steps.drop_columns)."""
    xcol, level = column_levels(path, lw, centred=is_mark, drop=drop)
    if path.bot[-1] >= axis_row - lw - 2 and path.bot[-1] - path.top[-1] + 1 > lw + 2:
        xcol, level = xcol.copy(), level.copy()
        level[-1] = axis_row
        xcol[-1] += tilt * (axis_row - (path.top[-1] + lw / 2.0))
    return xcol, level


def _step_curve(spec: ArmSpec, path: Runs, lw: float, groups: np.ndarray, px: np.ndarray, py: np.ndarray,
                cal: Calibration, start_px: float, neutral: bool, drop: np.ndarray,
                plateau: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Step corners (time, survival) in data units from the centre line (image pixels px, py),
    leaving out the columns of drops drawn across a few columns (``drop``, ``plateau`` from
    steps.drop_columns); lw: the path's line width (pixels), censor marks ``groups`` from
    censor.find_marks."""
    t, s = cal.to_data(px[~drop], py[~drop])
    order = np.argsort(t, kind="stable")
    t, s, plateau = t[order], s[order], plateau[~drop][order]
    s_iso = isotonic_non_increasing(s)
    ppu, _ = cal.pixels_per_unit()
    min_step = MIN_STEP_PX / max(ppu, 1e-9)
    # the curve's ends: projecting line caps stick out half a line width
    cap = max(0.0, lw / 2.0 - 0.5)
    t_first, _ = cal.to_data(px[0] + cap, py[0])
    t_last, _ = cal.to_data(px[-1] - cap, py[-1])
    if groups.size:
        # a censor mark at the very end ("+" arms stick out past the curve's end): end there
        gl = int(groups[-1, 1])
        half = float(path.top[int(groups[-1, 3])] - path.top[gl]) + lw / 2.0 + 1.0
        if groups[-1, 2] >= path.col[-1] - half - lw:
            t_last, _ = cal.to_data(groups[-1, 2] + (px[0] - path.col[0]), py[-1])
    # plateau widths are judged in a coordinate linear in pixels (log10 time on a log axis)
    u = np.log10(np.maximum(t, 1e-300)) if cal.log_x else t
    u_per_px = abs(float(u[-1] - u[0])) / max(abs(float(px[-1] - px[0])), 1.0) if u.size > 1 else 0.0
    uu, ss = step_corners(u, s_iso, min_step, min_width=(lw + 1.0) * u_per_px, plateau=plateau)
    tt = np.power(10.0, uu) if cal.log_x else uu
    tt[0] = max(tt[0], float(t_first)) if tt.size > 1 else tt[0]
    if tt.size > 1 and float(t_last) > tt[-2]:
        tt[-1] = float(t_last)
    # the curve starts at time 0 (or the plot's left edge): a stub hidden by the axis, the line
    # cap or another curve is extended
    warnings: list[str] = []
    t0 = float(cal.to_data(start_px, py[0])[0])
    if not cal.log_x and cal.to_pixel(0.0, 1.0)[0] >= start_px - 1:
        t0 = 0.0
    if tt[0] > t0:
        if px[0] - start_px > 3 * lw + 3 + (3 if neutral else 0):
            warnings.append(f"arm '{spec.name}': the traced curve starts at time {tt[0]:.3g}, not at 0; "
                            "the start was hidden or is outside the plot area")
        if 1.0 - ss[0] > 2.0 * min_step and not cal.log_x:
            # KM curves start at 1: the hidden part held 1 until the first traced column
            tt, ss = np.r_[t0, tt[0], tt], np.r_[1.0, 1.0, ss]
        else:
            tt, ss = np.r_[t0, tt], np.r_[ss[0], ss]
    ss = np.clip(ss, 0.0, 1.0)
    if path.bot[-1] - path.top[-1] + 1 > lw + 2 and ss[-1] < 4.0 / max(ppu, 1e-9):
        # ends with a drop to (a few pixels from) zero: the last patient had the event. A last
        # level that short (at most a line width and a pixel each side) is the drop's foot (line
        # cap, the axis drawn over it), not a plateau of 1/N: the drop goes straight to 0
        k = int(np.flatnonzero(ss != ss[-1])[-1]) + 1 if np.any(ss != ss[-1]) else 0
        t_per_px = abs(float(tt[-1] - tt[0])) / max(abs(float(px[-1] - px[0])), 1.0)
        if k >= 1 and tt[k - 1] == tt[k] and tt[-1] - tt[k] <= (lw + 2.0) * t_per_px and not cal.log_x:
            tt, ss = tt[:k + 1], np.r_[ss[:k], 0.0]
        else:
            tt, ss = np.r_[tt, tt[-1]], np.r_[ss, 0.0]
    # a first plateau within centre-line noise of 1 is the curve's start at 1
    if 1.0 - ss[0] < 3.0 * min_step:
        lead = np.cumprod(ss >= ss[0] - 1e-12).astype(bool)
        ss = np.where(lead, 1.0, ss)
    if not cal.log_x:
        tt = np.maximum(tt, 0.0)   # the line cap and rotation can put the first column left of 0
    tt = np.maximum.accumulate(tt)   # cap/end adjustments never reorder corners
    return tt, ss, warnings


def _other_ink(k: int, cov: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Bool map (crop) of the other arms' solid ink, which hides arm ``k``'s line where drawn over
    it: pixels nearest another arm and covered by it at least half (no band, no anti-aliased
    rim), grown by a pixel (where two lines meet, JPEG and anti-aliasing leave the pixels between
    them to neither)."""
    import cv2

    idx = np.clip(nearest, 0, cov.shape[0] - 1)
    solid = (nearest >= 0) & (nearest != k) & (np.take_along_axis(cov, idx[None], axis=0)[0] >= 0.5)
    return cv2.dilate(solid.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _extract_one(spec: ArmSpec, k: int, tol: float, pixels, cov, dist, owners: PixelOwners, ignore, empty,
                 cal: Calibration, offset: tuple[int, int], frame, start_col: int,
                 extra: np.ndarray | None = None, limits: bool = True, limit_gap: int = 0,
                 limit_share: float = MIN_TRIPLE_SHARE, hidden_by: np.ndarray | None = None) -> ExtractedArm:
    """One arm's trace, censor marks and step corners. ``limits``: leave out confidence-limit
    lines drawn in the arm's colour (digitize.cilines; False where several arms share the colour's
    ink: their stacked curves are not one estimate with its limits); ``limit_gap``: the dash gap
    (pixels) of a dashed/dotted arm's line, bridged when judging the stacking (0: solid);
    ``limit_share``: cilines.limit_runs's min_share; ``hidden_by``: for a dashed/dotted arm
    sharing its colour, the other curves' ink (crop bool map): a trace ending where its dashes
    merge into that ink goes on along its own dashes beyond (:func:`_resume_after_hidden`)."""
    ch, cw = cov.shape[1:]
    x0, y0 = offset
    got = _arm_runs(spec, k, tol, pixels, cov, dist, owners, ignore, frame, extra)
    if isinstance(got, str):
        return _empty_arm(spec, got)
    runs, lw, ink_cov = got
    ci_note = None
    if limits:
        from digitize.cilines import limit_runs

        on_limit = limit_runs(runs, limit_share, gap=limit_gap)
        if on_limit.any():
            ci_note = (f"arm '{spec.name}': confidence-limit lines drawn in its colour (above and below the "
                       "curve) were left out; the middle line was traced")
    if ci_note is None:
        idx = trace_path(runs, empty, line_width=lw, max_gap=max(20, int(0.2 * cw)), start_col=start_col)
    else:
        free = np.flatnonzero(~on_limit)
        idx = free[trace_path(runs.take(free), empty, line_width=lw, max_gap=max(20, int(0.2 * cw)),
                              start_col=start_col)]
        idx = _off_limit_strays(runs, idx, _middle_of_three(runs, empty, lw, cw, start_col), lw)
        # the runs left for what follows: those off the limits and the trace's own
        keep = ~on_limit
        keep[idx] = True
        idx = (np.cumsum(keep) - 1)[idx]
        runs = runs.take(np.flatnonzero(keep))
    if hidden_by is not None and idx.size:
        for _ in range(RESUME_MAX):   # each meeting with the other curve ends the chain again
            more = _resume_after_hidden(runs, idx, empty, lw, hidden_by, cw)
            if more.size == idx.size:
                break
            idx = more
    # a drop starts at its plateau: a last column whose ink reaches well above it and on to the
    # x axis or the top of the plot is a vertical line the curve ends against (the right spine),
    # not the curve's last drop (a censor mark there reaches neither)
    # the axes' tilt (pixels): the time axis's dy/dx, the survival axis's dx/dy
    tilt_h, tilt_v = axis_slopes(cal)

    def axis_row(col) -> float:
        """Crop row of the x axis under column ``col``: the spine row found at the middle column
        (frame_lines), tilted like the axes (a page rotated by 0.5 degrees puts it 9 rows off
        1000 columns away: a last drop to 0 would stop short of it)."""
        if frame[1] >= ch:
            return float(ch - 1)
        return float(min(frame[1] + tilt_h * (int(col) - (cw - 1) / 2.0), ch - 1))

    while idx.size > 2 and runs.top[idx[-1]] < runs.top[idx[-2]] - (lw + 2.0) and \
            (runs.bot[idx[-1]] >= axis_row(runs.col[idx[-1]]) - lw - 2.0 or runs.top[idx[-1]] <= lw + 2.0):
        idx = idx[:-1]
    path = runs.take(idx)
    # the traced ink must have this colour's hue (JPEG and anti-aliasing wash colours out but
    # keep their hue): else a wrong colour would pick up another curve through faint blends
    mismatch = _colour_mismatch(spec, pixels, path)
    if mismatch:
        return _empty_arm(spec, mismatch)
    lw = _path_line_width(path, lw)
    row = axis_row(path.col[-1])
    path = _last_drop_to_axis(runs, path, lw, row)
    groups, is_mark = find_marks(path, lw)
    drop, plateau, mid_row = drop_columns(path, lw, centred=is_mark)
    # short steep stretches left as they are: walls read row by row from the ink
    steep, flat = steep_walls(path, ink_cov, lw, drop | ~np.isnan(mid_row), centred=is_mark)
    mid_row = np.where(np.isnan(steep), mid_row, steep)
    first = flat & ~np.r_[False, flat[:-1]]
    plateau = np.where(flat, plateau.max(initial=0) + np.cumsum(first), plateau)
    xcol, level = _path_levels(path, lw, is_mark, gapped_walls(path, drop) | ~np.isnan(mid_row), row, tilt_v)
    # a last drop running on under other arms' ink ends on a hidden plateau (the other ink's map
    # only for a trace ending taller than the line)
    foot = None
    if not is_mark[-1] and path.bot[-1] - path.top[-1] + 1 > lw + 2.0:
        foot = hidden_foot(path, lw, _other_ink(k, cov, owners.nearest), row - lw - 2.0)
    if foot is not None:
        level, mid_row = level.copy(), mid_row.copy()
        level[-1], mid_row[-1] = foot, np.nan
    px, py = xcol + x0, np.where(np.isnan(mid_row), level, mid_row) + y0
    neutral = is_neutral(spec.rgb)
    tt, ss, warnings = _step_curve(spec, path, lw, groups, px, py, cal, float(x0 + start_col), neutral,
                                   drop, plateau)
    if ci_note:
        warnings.append(ci_note)
    # censor marks -> data
    if groups.size:
        cx = groups[:, 2] + x0
        cy = path.cen[groups[:, 3].astype(int)] + y0
        ct, _ = cal.to_data(cx, cy)
        # marks lie on the drawn curve: clip to its span (line caps, rotation)
        ct = np.clip(np.asarray(ct, float), tt[0], tt[-1])
        order = np.argsort(ct, kind="stable")
        # pixels, times and reliabilities in one (time) order: row j of each is mark j
        censor_px = np.column_stack([cx, cy])[order]
        censor_times, censor_rel = ct[order], groups[order, 4]
    else:
        censor_px = np.empty((0, 2))
        censor_times = np.empty(0)
        censor_rel = np.empty(0)
    span = (path.col[-1] - path.col[0] + 1)
    coverage = len(path) / max(span, 1)
    extent = min(1.0, span / max(0.3 * (cw - start_col), 1.0))
    confidence = float(np.clip(coverage * extent, 0.0, 1.0))
    if extent < 1.0:
        warnings.append(f"arm '{spec.name}': the traced curve spans only {span} pixel columns; "
                        "check the colour and the plot area")
    sd_px = corner_sd_px(lw)
    time_sd, survival_sd = corner_sd(cal, px, py, sd_px)
    return ExtractedArm(spec.name, spec.rgb, tt, ss, censor_times, np.column_stack([px, py]), censor_px,
                        confidence, warnings, censor_rel, time_sd, survival_sd, sd_px)


#: a dashed/dotted trace is resumed (_resume_after_hidden) from its own dashes starting at most
#: this share of the plot's width right of its end ...
RESUME_REACH_SHARE = 0.1
#: ... and covering at least this many line widths of columns; at most RESUME_MAX times
RESUME_MIN_LW = 4.0
RESUME_MAX = 8


def _resume_after_hidden(runs: Runs, idx: np.ndarray, empty, lw: float, hidden_by: np.ndarray,
                         cw: int) -> np.ndarray:
    """A dashed/dotted arm's trace (``idx`` into ``runs``, its own style's ink) that ends where
    its line runs into another curve of its colour: the dashes it draws while running together
    with that curve, and those of its drops across it, merge into that curve's ink and are left
    to it; the tracer's chain ends there, as a chain across bare dash gaps and a hidden drop
    costs more than the few dashes until the next meeting earn (seen: a dotted arm's last 8
    months after it met a solid one, read as held at its level to the end). The own dashes right
    of the end, below or level with it (never rising), are traced on their own; they continue
    the curve when their chain starts within RESUME_REACH_SHARE of the plot's width, covers at
    least RESUME_MIN_LW line widths of columns, and the other curve's ink lies between the end
    and that start (what hid the curve there). Returns the indices, continued or not."""
    end = int(idx[-1])
    ce, te = int(runs.col[end]), int(runs.top[end])
    later = np.flatnonzero((runs.col > ce) & (runs.top >= te - lw))
    if later.size == 0:
        return idx
    sub = later[trace_path(runs.take(later), empty, line_width=lw, max_gap=max(20, int(0.2 * cw)),
                           start_col=ce + 1)]
    if sub.size == 0:
        return idx
    c0 = int(runs.col[sub[0]])
    if c0 - ce > max(20.0, RESUME_REACH_SHARE * cw) or (runs.col[sub[-1]] - c0 + 1) < RESUME_MIN_LW * lw:
        return idx
    if runs.cen[sub[0]] < runs.cen[end] - lw:
        return idx
    between = hidden_by[te:int(runs.bot[sub[0]]) + 1, ce:c0 + 1]
    if not between.any():
        return idx
    return np.r_[idx, sub]


#: a trace off the middle of three lines over this many columns (pixels) follows a limit there
STRAY_STRETCH = 12


def _off_limit_strays(runs: Runs, idx: np.ndarray, mid: np.ndarray, lw: float) -> np.ndarray:
    """The trace ``idx`` (indices into ``runs``, limit runs left out) with the middle line's
    runs ``mid`` (:func:`_middle_of_three`) over each stretch of at least :data:`STRAY_STRETCH`
    columns where the trace strays from it by more than a line width (``lw``, pixels): there it
    follows a limit whose labels were lost. Elsewhere the trace holds every column the estimate
    shows; a single stray run is the chains' noise, not the trace's."""
    if not mid.size:
        return idx
    c0, c1 = runs.col[mid[0]], runs.col[mid[-1]]
    y = np.interp(runs.col[idx], runs.col[mid], runs.cen[mid])
    off = np.maximum(np.maximum(runs.top[idx] - y, y - runs.bot[idx]), 0.0)
    stray = (runs.col[idx] >= c0) & (runs.col[idx] <= c1) & (off > lw + 1.0)
    edges = np.flatnonzero(np.diff(np.r_[0, stray.astype(np.int8), 0]))
    drop = np.zeros(idx.size, bool)
    add = np.zeros(mid.size, bool)
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist()):
        lo_c, hi_c = runs.col[idx[a]], runs.col[idx[b - 1]]
        if hi_c - lo_c + 1 >= STRAY_STRETCH:
            drop[a:b] = True
            add |= (runs.col[mid] >= lo_c) & (runs.col[mid] <= hi_c)
    return np.unique(np.r_[idx[~drop], mid[add]])


def _middle_of_three(runs: Runs, empty, lw: float, cw: int, start_col: int) -> np.ndarray:
    """Indices (into ``runs``) of the estimate between its two confidence-limit lines, all in
    one colour: three chains traced one after the other, each on the runs the earlier ones left
    (their runs become occluded gaps for the later ones), and the middle of the three taken
    column by column (digitize.cilines.middle_line). Labelling runs as limits by their stacking
    loses the labels where lines merge or a dashed line's gaps hide one; the order of the three
    lines holds in every column."""
    from digitize.cilines import middle_line

    left = np.ones(len(runs), bool)
    chains = []
    for _ in range(3):
        sub = np.flatnonzero(left)
        if sub.size < 2:
            return np.empty(0, np.int64)
        got = sub[trace_path(runs.take(sub), empty, line_width=lw, max_gap=max(20, int(0.2 * cw)),
                             start_col=start_col)]
        chains.append(got)
        left[got] = False
    return middle_line(runs, chains, lw)


def corner_sd_px(lw: float) -> float:
    """Standard uncertainty of a traced corner in pixels: read to the pixel (uniform rounding:
    sd 1/sqrt(12) px) and, along a drawn line ``lw`` pixels wide, to about a quarter of the line
    width (anti-aliasing, where the line's centre is)."""
    return float(np.sqrt(1.0 / 12.0 + (max(lw, 1.0) / 4.0) ** 2))


def corner_sd(cal: Calibration, px: np.ndarray, py: np.ndarray, sd_px: float) -> tuple[float, float]:
    """A corner's uncertainty ``sd_px`` (pixels) in data units (time, survival): times the data
    units per pixel of each axis at the trace (pixels ``px``, ``py``; their median point)."""
    px, py = np.asarray(px, float), np.asarray(py, float)
    if px.size == 0:
        return 0.0, 0.0
    x0, y0 = float(np.median(px)), float(np.median(py))
    t0, s0 = cal.to_data(np.array([x0, x0 + 1.0, x0]), np.array([y0, y0, y0 + 1.0]))
    t0, s0 = np.asarray(t0, float), np.asarray(s0, float)
    dt = float(np.hypot(t0[1] - t0[0], t0[2] - t0[0]))
    ds = float(np.hypot(s0[1] - s0[0], s0[2] - s0[0]))
    return sd_px * dt, sd_px * ds
