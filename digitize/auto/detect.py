"""Zero-click detection: calibration, plot area, arm names/colours, risk table and time unit
read from a KM figure image, each with a confidence.

Pipeline: axis lines and tick marks (:mod:`.axes`) -> text tokens from ink components
(:mod:`.text`) -> one batched OCR pass over the tokens that matter (tick labels, the area under
the plot, legend candidates; :mod:`.ocr`) -> robust axis fits (:mod:`.ticklabels`) -> legend
and risk table (:mod:`.legend`, :mod:`.risktable`). Nothing here raises on a bad figure: the
pieces that could not be found are None, with a warning saying what to do by hand.
"""
from __future__ import annotations

import re
import time as _time
from dataclasses import dataclass, field
from dataclasses import replace as _replace

import numpy as np

from kmrecon.errors import KMReconError

from digitize.auto import ocr
from digitize.auto.axes import Frame, find_frame, find_ticks, ink_masks
from digitize.auto.legend import (NamedColour, abbreviates, blend_distance, clean_name, delta_e,
                                  harmonise_names, is_swatch, key_style, leading_swatch, match_names,
                                  merge_phrases, refine_colour, similar, split_at_swatches, squashed,
                                  swatch_colour)
from digitize.auto.risktable import CellPixels, TableRead, cell_number, read_table
from digitize.auto.text import (Token, attach_units, find_tokens, ink_colour, is_wordy, keep_colour, merge_boxes,
                                parse_number, rows_of, split_by_colour)
from digitize.auto.ticklabels import AxisFit, fit_axis, label_positions, lost_point_readings
from digitize.calibrate import Calibration
from digitize.extract import ArmSpec
from kmrecon.data import RiskTable
from kmrecon.jsonio import json_safe

#: a piece with confidence below this is reported as needing review
REVIEW_BELOW = 0.7
#: the pieces a detection is made of, in the order a person should check them (arms first:
#: a lost or misnamed arm spoils everything downstream)
PIECES = ("arms", "risk_table", "calibration_x", "calibration_y")
_PIECE_WORDS = {"arms": "arms", "risk_table": "risk table", "calibration_x": "x-axis calibration",
                "calibration_y": "y-axis calibration"}
_PIECE_FIX = {"arms": "check each arm's name and colour", "risk_table": "check the numbers at risk "
              "against the figure (or give --risk-table)", "calibration_x": "check the time-axis "
              "points (or give --x1/--x2)", "calibration_y": "check the survival-axis points (or give "
              "--y1/--y2)"}
MAX_OCR_TOKENS = 160
_UNITS = (("days", r"\bdays?\b"), ("weeks", r"\bweeks?\b|\bwks?\b"),
          ("months", r"\bmonths?\b|\bmos?\b"), ("years", r"\byears?\b|\byrs?\b"))


@dataclass
class FigureDetection:
    """What zero-click mode found. Pieces not found are None/empty with a warning;
    ``confidence`` (0-1) per piece: "calibration_x", "calibration_y", "arms", "risk_table"."""

    calibration: Calibration | None
    plot_area: tuple[int, int, int, int] | None    # (x0, y0, x1, y1) image pixels
    arms: list[ArmSpec] = field(default_factory=list)   # names + curve colours
    risk_table: RiskTable | None = None
    time_unit: str | None = None                   # "days" | "weeks" | "months" | "years"
    confidence: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)    # what was read where (for review overlays)
    seconds: float = 0.0
    #: specific findings a person must check: {"piece": one of :data:`PIECES`, "reason": text}
    review: list[dict] = field(default_factory=list)
    #: patients per arm as printed beside its name ("Drug A (n = 120)"), by arm name
    n_total: dict = field(default_factory=dict)

    def flag(self, piece: str, reason: str, warn: bool = True) -> None:
        """Record a finding that needs a person (and, by default, warn with the same text)."""
        if not any(r["piece"] == piece and r["reason"] == reason for r in self.review):
            self.review.append({"piece": piece, "reason": reason})
        if warn and reason not in self.warnings:
            self.warnings.append(reason)

    @property
    def needs_review(self) -> list[str]:
        """Pieces whose confidence is below :data:`REVIEW_BELOW` (or missing), or that carry a
        specific finding in :attr:`review`; in :data:`PIECES` order (arms first)."""
        flagged = {r["piece"] for r in self.review}
        return [k for k in PIECES if self.confidence.get(k, 0.0) < REVIEW_BELOW or k in flagged]

    @property
    def review_items(self) -> list[dict]:
        """Every finding to check, arms first: the specific ones in :attr:`review`, and for a
        low-confidence piece without one a generic item naming its confidence."""
        items = list(self.review)
        have = {r["piece"] for r in items}
        for k in PIECES:
            c = self.confidence.get(k, 0.0)
            if c < REVIEW_BELOW and k not in have:
                what = _PIECE_WORDS[k]
                items.append({"piece": k, "reason": f"{what}: {'not found' if c <= 0 else f'low confidence ({c:.2f})'}"
                                                    f" - {_PIECE_FIX[k]}"})
        return sorted(items, key=lambda r: PIECES.index(r["piece"]) if r["piece"] in PIECES else len(PIECES))

    def to_dict(self) -> dict:
        """JSON-safe summary (for the sidecar/project; calibration in Calibration.to_dict form)."""
        rt = None
        if self.risk_table is not None:
            rt = {"times": [float(t) for t in self.risk_table.times],
                  "n_risk": {a: [None if np.isnan(v) else int(v) for v in c]
                             for a, c in self.risk_table.n_risk.items()}}
        return {
            "calibration": self.calibration.to_dict() if self.calibration is not None else None,
            "plot_area": [int(v) for v in self.plot_area] if self.plot_area else None,
            "arms": [{"name": a.name, "rgb": [int(c) for c in a.rgb]} for a in self.arms],
            "risk_table": rt,
            "time_unit": self.time_unit,
            "confidence": {k: round(float(v), 3) for k, v in self.confidence.items()},
            "needs_review": self.needs_review,
            "review": self.review_items,
            "n_total": {k: int(v) for k, v in self.n_total.items()},
            "warnings": list(self.warnings),
            "details": json_safe(self.details),
            "seconds": round(self.seconds, 3),
        }


def _as_rgb(image) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] < 3 or a.shape[0] < 20 or a.shape[1] < 20:
        raise KMReconError(f"the image is {a.shape[1] if a.ndim > 1 else a.size}x{a.shape[0]} pixels; automatic "
                           "detection needs a figure of at least 20x20 pixels")
    a = a[..., :3]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def _exclusion(shape, frame: Frame, tick_len: dict) -> np.ndarray:
    """Pixels of the axis lines and their tick bands (never text)."""
    import cv2  # noqa: PLC0415

    m = np.zeros(shape, np.uint8)
    for key, line in (("x", frame.x_axis), ("y", frame.y_axis)):
        if line is None:
            continue
        half = int(np.ceil(line.thickness / 2 + tick_len.get(key, 0) + 1))
        p0, p1 = line.point(line.start), line.point(line.end)
        cv2.line(m, (int(round(p0[0])), int(round(p0[1]))), (int(round(p1[0])), int(round(p1[1]))),
                 1, thickness=2 * half + 1)
    return m.astype(bool)


def _long_lines(ink: np.ndarray) -> np.ndarray:
    """Straight horizontal/vertical ink runs longer than 1/15 of the image (grid lines, frames,
    plateaus): letters touching them would otherwise join one huge component."""
    import cv2  # noqa: PLC0415

    L = max(30, max(ink.shape) // 15)
    m = ink.astype(np.uint8)
    lines = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((1, L), np.uint8))
    lines |= cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((L, 1), np.uint8))
    return lines.astype(bool)


#: RGB chroma (max - min channel) below which a pixel is neutral ink (black text and its
#: anti-aliased edges, even over a coloured line) and at or above which it is coloured ink
TEXT_CHROMA = 40


def _text_crop(img: np.ndarray, bbox, pad: int, paint: np.ndarray, bg_rgb) -> np.ndarray:
    """The image around a token box (``pad`` pixels more each side) for OCR, with the ``paint``
    pixels (bool HxW: coloured curves through black words) set to the paper ``bg_rgb``."""
    x0, y0, x1, y1 = bbox
    box = np.s_[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
    c, out = img[box], paint[box]
    if out.any():
        c = c.copy()
        c[out] = np.asarray(bg_rgb).astype(c.dtype)
    return c


def _words_over_curves(img: np.ndarray, ink: np.ndarray, exclude: np.ndarray, pa, th: float,
                       tokens: list[Token], bg_rgb) -> tuple[list[Token], np.ndarray]:
    """Black words that coloured curves run through (a legend placed inside the plot where the
    curves pass: base R ``legend("topleft")``), as phrase tokens, and the coloured pixels to
    paint out of their OCR crops (bool HxW).

    Glued to the curves, such words are part of one component as long as a curve and are
    dropped as 'not text'. General property: legend and label text is printed in black while
    the arms are coloured, so the neutral ink of those long components, inside the plot, is
    looked at again for phrases; a phrase is kept only if it reads as words with the curves
    painted out (black censor ticks on coloured curves are neutral pieces too, and no words).
    Pixels; ``th`` = text height; ``bg_rgb`` the paper."""
    import cv2  # noqa: PLC0415

    H, W = ink.shape
    none = np.zeros_like(ink)
    if pa is None:
        return [], none
    n, lab, st, _ = cv2.connectedComponentsWithStats((ink & ~exclude).astype(np.uint8), connectivity=8)
    big = (st[:, 3] > 0.12 * H) | (st[:, 2] > 0.25 * W)
    big[0] = False
    if not big.any():
        return [], none
    glued = big[lab]
    x0, y0, x1, y1 = (int(v) for v in pa)
    inside = np.zeros_like(ink)
    inside[y0 + 3:y1 - 2, x0 + 3:x1 - 2] = True
    rgb = img[..., :3].astype(np.int16)
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    coloured = glued & inside & (chroma >= TEXT_CHROMA)
    if np.count_nonzero(coloured) < 20 * th:   # no coloured curve: nothing to take apart
        return [], none
    # black text: neutral and darker than halfway to black (its strokes' cores); the paper
    # showing between dense coloured curves and JPEG's washed specks there are lighter
    from digitize.inkmask import LUMA  # noqa: PLC0415

    dark = rgb[..., :3] @ LUMA < 0.5 * float(np.asarray(bg_rgb, float)[:3] @ LUMA)
    found, _ = find_tokens(glued & inside & (chroma < TEXT_CHROMA) & dark, exclude, text_height=th)
    taken = [t.bbox for t in tokens]
    found = [t for t in found if 0.45 * th <= t.h <= 2.5 * th and t.w <= 0.5 * W
             and not any(b[0] < t.bbox[2] and t.bbox[0] < b[2] and b[1] < t.bbox[3] and t.bbox[1] < b[3]
                         for b in taken)]
    phrases = [p for p in merge_boxes(found, 1.0 * th, 0.5 * th) if p.n_parts >= 2 and p.w >= 1.5 * th]
    if not phrases:
        return [], none
    pad = max(1, int(round(0.2 * th)))
    crops = [_text_crop(img, p.bbox, pad, coloured, bg_rgb) for p in phrases]
    # words read with the curves painted out read cleanly (0.99+ measured); pieces of ticks
    # and curves read as letters only at low scores ('Dors' 0.59 on KEYNOTE-189)
    words = [p for p, (txt, sc) in zip(phrases, ocr.read_crops(crops)) if is_wordy(txt) and sc >= 0.9]
    return words, (coloured if words else none)


def _text_height(ink: np.ndarray, plot_area) -> float:
    """Typical character height (pixels) from ink components outside the plot area."""
    import cv2  # noqa: PLC0415

    m = ink.copy()
    if plot_area is not None:
        x0, y0, x1, y1 = plot_area
        m[max(0, y0 - 2):y1 + 3, max(0, x0 - 2):x1 + 3] = False
    n, _, st, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    hs = st[1:, 3][(st[1:, 3] >= 4) & (st[1:, 3] <= 0.08 * ink.shape[0]) & (st[1:, 2] <= 3 * st[1:, 3])]
    return float(np.median(hs)) if hs.size else max(6.0, 0.02 * ink.shape[0])


def _arm_styles(det, img, legend, colours, text_mask, warnings, th) -> None:
    """Arms sharing a colour get line styles (digitize.linestyle.styles_for_arms), named from the
    legend swatches (the short line left of each entry's text, about 4.6 text heights long).
    A black-and-white figure's legend (or risk table) names more arms than there are colours:
    with one curve colour and no arm named yet, every name is an arm of that colour."""
    from digitize.linestyle import styles_for_arms  # noqa: PLC0415

    if det.plot_area is None:
        return
    names = [e.name for e in legend if e.name]
    if not names and det.risk_table is not None:   # rows named by their printed labels
        names = [n for n in det.risk_table.n_risk if not n.startswith("row ")]
    if not det.arms and len(colours) == 1 and len(names) >= 2 and len(set(names)) == len(names):
        det.arms = [ArmSpec(n, tuple(colours[0])) for n in names]
        resolved = [f"'{n}'" for n in names] + ["matches no printed arm name", "no curve colours found"]
        warnings[:] = [w for w in warnings if not (w.startswith("arms:") and any(r in w for r in resolved))]
        warnings.append(f"arms: {len(names)} printed arm names share one curve colour; told apart by line style")
    if not det.arms:
        return
    one_ink = _one_ink_for_styled_keys(det, legend, warnings)
    printed = bool(names) or any(not a.name.startswith("Arm ") for a in det.arms)
    # a black-and-white figure (one black or grey curve colour): curves beyond the printed
    # names (a label misread) are still arms
    from digitize.inkmask import is_neutral  # noqa: PLC0415

    bw = len(colours) == 1 and is_neutral(tuple(colours[0]))
    if one_ink and det.risk_table is not None and len(det.risk_table.n_risk) == len(det.arms):
        # every curve of the ink is named by both the legend keys and the table rows: a further
        # style read in it is a broken-up dashed line (low dpi), not an unnamed arm
        bw = False
    boxes = {e.name: (int(e.bbox[0] - 4.6 * th), e.bbox[1], e.bbox[0] - 1, e.bbox[3]) for e in legend}
    try:
        det.arms, notes = styles_for_arms(img, det.plot_area, det.arms, boxes, text_mask,
                                          add_unnamed=not printed or bw)
    except Exception as exc:  # a failure there must not lose the rest of the detection
        notes = [f"arms: line styles could not be read ({exc})"]
    try:
        told = _arms_by_glyph(det, img, legend, text_mask, th)
    except Exception as exc:  # a failure there must not lose the rest of the detection
        told = []
        warnings.append(f"arms: censor-mark symbols could not be read ({exc})")
    for n in notes:
        if any(f"'{a}'" in n for a in told) and "taken as" in n:
            continue
        if "matches no printed arm name" in n:   # an arm without a name never passes silently
            det.flag("arms", n)
        else:
            warnings.append(n)
    if told:
        warnings.append(f"arms: {', '.join(repr(a) for a in told)} share colour and line style; told apart "
                        "by the censor-mark symbols of their legend keys")


def _arms_by_glyph(det, img, legend, text_mask, th) -> list[str]:
    """Arms of one colour whose legend keys show different censor-mark symbols on one line
    style (base R ``pch``): each gets a point on its curve where its key's symbol is drawn in
    the plot (digitize.glyphs), and the keys' common style; the tracer then tells their curves
    apart by continuity and names them by those points. Returns the arms so told apart."""
    from digitize import glyphs  # noqa: PLC0415
    from digitize.inkmask import background_color, rgb_to_lab  # noqa: PLC0415

    by_name = {e.name: e for e in legend}
    told: list[str] = []
    done: set[int] = set()
    lab = None
    for i, a in enumerate(det.arms):
        if i in done:
            continue
        group = [j for j, b in enumerate(det.arms) if j not in done and delta_e(a.rgb, b.rgb) <= 10.0]
        done.update(group)
        keys = [by_name.get(det.arms[j].name) for j in group]
        if len(group) < 2 or any(e is None or not (e.key or {}).get("marker") for e in keys):
            continue
        dashes = {int((e.key or {}).get("dashes", 1)) for e in keys}
        if len(dashes) != 1:
            continue                  # keys of different line styles: told apart by style
        if lab is None:
            lab = rgb_to_lab(np.asarray(img)[..., :3])
            paper = rgb_to_lab(background_color(np.asarray(img)[..., :3])[None].astype(float))[0]
            off = np.linalg.norm(lab - paper, axis=2) > 25.0
        ink = off & (np.linalg.norm(lab - rgb_to_lab(np.array([a.rgb], float))[0], axis=2) < 40.0)
        temps = []
        for e in keys:
            box = (int(e.bbox[0] - 4.6 * th), int(e.bbox[1] - 0.3 * th), e.bbox[0] - 2, int(e.bbox[3] + 0.3 * th))
            temps.append(glyphs.key_glyph(ink, box))
        if any(t is None for t in temps) or any(glyphs.same_glyph(temps[p], temps[q])
                                                for p in range(len(temps)) for q in range(p + 1, len(temps))):
            continue
        x0, y0, x1, y1 = (int(v) for v in det.plot_area)
        pts = glyphs.glyph_points(ink[y0:y1 + 1, x0:x1 + 1], temps, text_mask[y0:y1 + 1, x0:x1 + 1])
        if any(p.shape[0] == 0 for p in pts):
            continue
        style = "solid" if dashes == {1} else None
        for j, p in zip(group, pts):
            b = det.arms[j]
            marks = tuple((float(x + x0), float(y + y0)) for x, y in p)
            det.arms[j] = ArmSpec(b.name, b.rgb, b.tolerance, style=style or b.style, at=marks[0], marks=marks)
            told.append(b.name)
    return told


def _one_ink_for_styled_keys(det: FigureDetection, legend, warnings: list[str]) -> bool:
    """Black-and-white arms whose greys differ only by anti-aliasing take one ink.

    General property: at 72-100 dpi a thin black line drawn dashed or dotted is never fully
    covered, so its curve and its legend key read as a grey (#404040, #666666) and the solid
    line as near black - the same ink. When the legend keys of these neutral arms show
    different line styles and their greys lie within Delta E 25 of each other, line style is
    what tells them apart: they all take the darkest grey (the fullest coverage), so the style
    reading (digitize.linestyle) splits that ink among them by their keys' styles. True when
    it did so, or when they were read in that one ink already (a JPEG's restored colour): either
    way the keys' styles name every curve of the ink."""
    from digitize.inkmask import is_neutral  # noqa: PLC0415

    keys = {e.name: e.key for e in legend if e.key}
    group = [a for a in det.arms if is_neutral(a.rgb, 12.0) and a.style is None]
    if len(group) < 2 or any(delta_e(a.rgb, b.rgb) >= 25 for a in group for b in group):
        return False
    if len({keys[a.name]["dashes"] for a in group if a.name in keys}) < 2:
        return False
    darkest = min((a.rgb for a in group), key=lambda c: float(rgb_lab(c)[0]))
    # a key whose grey is the darkest ink diluted takes that ink, which is a curve colour when an
    # arm of the group has it without having taken it from a print: no colour is missing
    took = {a.name for a in group if any(r["reason"] == _took_colour(a.name, src) for r in det.review
                                         for src in ("legend", "risk_table"))}
    if any(tuple(a.rgb) == tuple(darkest) and a.name not in took for a in group):
        for n in took:
            gone = {_took_colour(n, src) for src in ("legend", "risk_table")}
            det.review[:] = [r for r in det.review if r["reason"] not in gone]
            det.warnings[:] = [w for w in det.warnings if w not in gone]
    if all(tuple(a.rgb) == tuple(darkest) for a in group):
        return True
    names = {a.name for a in group}
    det.arms = [_replace(a, rgb=tuple(darkest)) if a.name in names else a for a in det.arms]
    warnings.append("arms: " + ", ".join(f"'{n}'" for n in sorted(names)) + " are drawn in one black "
                    "or grey ink (their greys differ by anti-aliasing; their legend keys differ in line "
                    "style): told apart by line style")
    return True


def _pair_by_numbers(det: FigureDetection, img: np.ndarray, warnings: list[str]) -> None:
    """Re-pair curves and risk-table rows that were paired by order (no colour, legend or
    label tied them) when the numbers at risk contradict that pairing and another one fits
    (digitize.auto.pairing: the patients a row lacks to explain a curve's fall and censor
    marks). Names printed on the rows move with their rows, i.e. the curve colours are
    swapped; unlabelled rows move between named arms. The pairing stays flagged for review."""
    by_colour = det.details.get("colour_by_order") or []
    by_rows = det.details.get("rows_by_order") or []
    guessed = by_colour if by_colour and not by_rows else by_rows if by_rows and not by_colour else []
    colours_move = guessed is by_colour
    rt = det.risk_table
    if len(guessed) < 2 or rt is None or det.calibration is None:
        return
    arms = {a.name: a for a in det.arms}
    guessed = [g for g in guessed if g in arms and g in rt.n_risk]
    if len(guessed) < 2 or len({arms[g].rgb for g in guessed}) < len(guessed):
        return  # arms of one colour (told apart by style): pairing by colour is not the question
    from digitize.auto.pairing import best_pairing  # noqa: PLC0415
    from digitize.extract import extract_arms  # noqa: PLC0415

    try:
        ext = extract_arms(img, det.calibration, [arms[g] for g in guessed], plot_area=det.plot_area)
    except Exception as exc:  # the check is a refinement: never lose the detection over it
        warnings.append(f"arms: the pairing of rows and curves could not be checked ({exc})")
        return
    if any(e.empty for e in ext):
        return
    rows = [rt.for_arm(g) for g in guessed]
    curves = [(e.time, e.survival, e.censor_times, e.survival_sd or 0.005) for e in ext]
    best, cost = best_pairing(rows, curves)
    now = float(np.trace(cost))
    new = float(sum(cost[i, j] for i, j in enumerate(best)))
    det.details["pairing_shortfall"] = {"order": round(now, 1), "best": round(new, 1)}
    # switch only when the order pairing leaves patients unexplained and the other clearly fewer
    if best == list(range(len(guessed))) or now - new < max(3.0, new):
        return
    if colours_move:   # names belong to their rows: the colours move
        rgb = {guessed[j]: arms[guessed[i]].rgb for i, j in enumerate(best)}
        det.arms = [_replace(a, rgb=rgb[a.name]) if a.name in rgb else a for a in det.arms]
        moved = ", ".join(f"'{g}' -> #%02x%02x%02x" % rgb[g] for g in guessed)
    else:                       # unlabelled rows move between the named arms
        counts = {guessed[i]: rt.n_risk[guessed[j]] for i, j in enumerate(best)}
        det.risk_table = RiskTable(rt.times, {k: counts.get(k, v) for k, v in rt.n_risk.items()})
        moved = ", ".join(f"row of '{guessed[j]}' -> '{guessed[i]}'" for i, j in enumerate(best))
    det.flag("arms" if colours_move else "risk_table",
             f"arms: pairing rows and curves by order left {now:.0f} patient(s) unexplained by the numbers "
             f"at risk (deaths and censor marks); paired by the numbers instead ({moved}, "
             f"{new:.0f} unexplained) - check them")


def _arm_colours(image, plot_area, warnings) -> list[tuple[int, int, int]]:
    """Curve colours in the plot area (digitize.colors.find_arm_colors), most prominent first."""
    from digitize.colors import find_arm_colors  # noqa: PLC0415

    try:
        return [tuple(int(v) for v in c) for c in find_arm_colors(image, plot_area)]
    except Exception as exc:  # a failure there must not lose the rest of the detection
        warnings.append(f"arm colours: automatic colour detection failed ({exc}); pick them by hand")
        return []


def _drop_mark_colours(image, plot_area, colours: list) -> list:
    """Drop colours whose ink is only marks ON other curves. General property: journals often
    draw censoring ticks (or "+" marks) in black over coloured curves; every such mark is a
    short piece sitting on another curve's line, whereas a curve of its own runs free of the
    others over most of its length (it touches them only where they cross or start together at
    S = 1). A colour whose pieces almost all (>= 85 %) touch another found colour's ink is marks,
    not an arm (pixels: plot-area crop; "touch" = within 2 px)."""
    import cv2  # noqa: PLC0415

    from digitize.inkmask import background_color  # noqa: PLC0415

    if len(colours) < 2 or plot_area is None:
        return colours
    img = np.asarray(image)
    x0, y0, x1, y1 = (int(round(v)) for v in plot_area)
    crop = img[max(0, y0):y1 + 1, max(0, x0):x1 + 1].astype(np.int32)
    b = max(3, int(round(0.012 * crop.shape[1])))   # the frame and axis lines at the border
    crop = crop[b:-b, b:-b]
    if crop.shape[0] < 10 or crop.shape[1] < 10:
        return colours
    masks = [np.abs(crop - np.array(c, np.int32)).max(axis=2) < 40 for c in colours]
    kernel = np.ones((5, 5), np.uint8)
    bg = tuple(background_color(crop))
    keep = []
    for i, c in enumerate(colours):
        others = np.zeros_like(masks[i])
        for j, m in enumerate(masks):
            # a paler blend of this colour with the paper may be its own thin line's
            # anti-aliasing (a 0.75 px black line reads #888888 where it straddles two rows,
            # black only where it falls on one): touching it says nothing about marks
            if j != i and not (blend_distance(c, colours[j], bg) <= 5.0
                               and delta_e(colours[j], bg) < delta_e(c, bg)):
                others |= m
        others &= ~masks[i]
        near = cv2.dilate(others.astype(np.uint8), kernel) > 0
        n, lab = cv2.connectedComponents(masks[i].astype(np.uint8), connectivity=8)
        if n - 1 < 5:
            keep.append(i)
            continue
        touching = np.unique(lab[near & masks[i]])
        frac = np.count_nonzero(touching > 0) / float(n - 1)
        # marks are short: no piece spans more than 3 % of the plot's width (a curve cut into
        # pieces by marks drawn over it still has long runs between them)
        widths = cv2.connectedComponentsWithStats(masks[i].astype(np.uint8), connectivity=8)[2][1:, 2]
        if frac < 0.85 or widths.max() > 0.03 * crop.shape[1]:
            keep.append(i)
    return [colours[i] for i in keep] or colours


def _unit_of(text: str) -> str | None:
    for unit, pat in _UNITS:
        if re.search(pat, text, re.I):
            return unit
    return None


def _axis_tokens(fit_tokens, positions, fit: AxisFit | None):
    out = []
    for t, (p, ft) in zip(fit_tokens, positions):
        out.append({"text": t.text, "value": parse_number(t.text), "pos": p, "from_tick": ft,
                    "bbox": list(t.bbox), "score": round(t.score, 3),
                    "inlier": bool(fit is not None and np.any(np.isclose(fit.pos, p)))})
    return out


def _axis_ticks(darkness, frame: Frame):
    """Tick marks on both axes: (x positions, x tick length, y positions, y tick length).

    Outside ticks are looked for first, then inside ones. The axes' corner hides a tick drawn
    there, so the other axis line stands in for it (only where both lines are drawn: a panel's
    edge is no axis crossing, ggplot pads its data range inside the panel)."""
    xa, ya = frame.x_axis, frame.y_axis
    xt, xlen = (np.empty(0), 0.0)
    yt, ylen = (np.empty(0), 0.0)
    # a panel edge standing in for an undrawn axis has ticks outside only (inside, the ink
    # touching it is the curves)
    if xa is not None:
        xt, xlen = find_ticks(darkness, xa, +1)
        if xt.size < 2 and xa.drawn:
            xt, xlen = find_ticks(darkness, xa, -1)
    if ya is not None:
        yt, ylen = find_ticks(darkness, ya, -1)
        if yt.size < 2 and ya.drawn:
            yt, ylen = find_ticks(darkness, ya, +1)
    if xa is not None and ya is not None and xa.drawn and ya.drawn:
        y_corner = float(xa.at(float(ya.at(xa.at(xa.start)))))
        x_corner = float(ya.at(y_corner))
        if not np.any(np.abs(xt - x_corner) < 2):
            xt = np.sort(np.append(xt, x_corner))
        if not np.any(np.abs(yt - y_corner) < 2):
            yt = np.sort(np.append(yt, y_corner))
    return xt, xlen, yt, ylen


def _even(values: np.ndarray, min_gap: float) -> bool:
    """Evenly spaced (within 12 % of the median step), steps of at least ``min_gap``."""
    d = np.diff(np.sort(values))
    return d.size >= 2 and np.median(d) >= min_gap and np.all(np.abs(d - np.median(d)) <= 0.12 * np.median(d))


def _frame_from_labels(ink: np.ndarray) -> Frame | None:
    """Stand-in axes for a plot drawn with neither axis lines, tick marks, a panel nor a grid:
    its tick labels alone. The x labels are the topmost row of at least four evenly spaced
    small text boxes (a risk table's rows, with the same spacing, lie below it); the y labels
    a column of at least three right-aligned, evenly spaced boxes left of it and above it.
    The axes are put just inside them. None when no such pair is found (geometry only: OCR
    and the robust fit judge the values later)."""
    tokens, th = find_tokens(ink, _long_lines(ink))
    if not tokens or th <= 0:
        return None
    small = [t for t in tokens if 0.6 * th <= t.h <= 1.6 * th and t.w <= 5 * th]
    xrow = None
    for row in rows_of(small, 0.4 * th):
        if len(row) >= 4 and _even(np.array([t.cx for t in row]), 2.5 * th):
            xrow = row
            break
    if xrow is None:
        return None
    top = min(t.bbox[1] for t in xrow)
    cols: list[list[Token]] = []
    for t in sorted((t for t in small if t.cy < top and t.bbox[2] < xrow[-1].cx), key=lambda t: t.bbox[2]):
        if cols and abs(t.bbox[2] - cols[-1][0].bbox[2]) <= 0.4 * th:
            cols[-1].append(t)
        else:
            cols.append([t])
    cols = [c for c in cols if len(c) >= 3 and _even(np.array([t.cy for t in c]), 1.5 * th)
            and max(t.bbox[2] for t in c) <= xrow[0].cx + th]
    if not cols:
        return None
    col = max(cols, key=lambda c: (len(c), c[0].bbox[2]))
    from digitize.auto.axes import AxisLine  # noqa: PLC0415

    x0 = max(t.bbox[2] for t in col) + 0.5 * th
    y1 = top - 0.5 * th
    y0 = min(t.cy for t in col)
    x1 = xrow[-1].cx
    xa = AxisLine("h", 0.0, y1, x0, x1, 1.0, drawn=False)
    ya = AxisLine("v", 0.0, x0, y0, y1, 1.0, drawn=False)
    return Frame(xa, ya, (int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))))


#: a lone ink piece is a word whose letters touch when at least this many runs of ink cross
#: its middle rows ...
GLUED_RUNS = 4
#: ... none of them longer than this share of the text height (a line is one long run)
GLUED_RUN_MAX = 1.0


def _glued_word(ink: np.ndarray, tok: Token, th: float) -> bool:
    """Whether one ink component (``tok``, n_parts 1) is a word whose letters touch: at low
    resolution and in JPEG the anti-aliasing of neighbouring letters joins them ('Control' at
    72 dpi is one piece). A word's middle rows cross a letter stroke every half glyph; a curve
    piece (a step, a plateau with censor ticks) has one long run there or a single crossing."""
    x0, y0, x1, y1 = tok.bbox
    sub = ink[y0:y1, x0:x1]
    h = sub.shape[0]
    if h < 3 or sub.shape[1] < 2 * th:
        return False
    mid = sub[h // 4: h - h // 4].astype(np.int8)
    edges = np.diff(mid, axis=1, prepend=0, append=0)
    starts = (edges == 1).sum(axis=1)
    # longest run in any middle row: positions of starts and ends
    longest = 0
    for r in range(mid.shape[0]):
        b, e = np.flatnonzero(edges[r] == 1), np.flatnonzero(edges[r] == -1)
        if b.size:
            longest = max(longest, int((e - b).max()))
    return bool(np.median(starts) >= GLUED_RUNS and longest <= GLUED_RUN_MAX * th)


def _text_regions(tokens: list[Token], frame: Frame, ylen: float, th: float, W: int,
                  ink: np.ndarray | None = None):
    """Split word tokens into (under the x axis, y tick labels, others = legend/title
    candidates); words of one label are joined before OCR ("Stage" + "II"). A lone piece is
    a candidate when it is a word whose letters touch (:func:`_glued_word`, needs ``ink``)."""
    xa, ya = frame.x_axis, frame.y_axis
    pa = frame.plot_area
    below, yl, other = [], [], []
    for t in tokens:
        yx = float(ya.at(t.cy))
        if t.bbox[1] > float(xa.at(t.cx)) + 1:
            below.append(t)
        elif (t.bbox[2] <= yx + 1 and yx - t.bbox[2] <= ylen + 3.5 * th
              and pa[1] - 1.5 * th <= t.cy <= pa[3] + 1.5 * th and t.w <= 8 * th):
            yl.append(t)
        elif t.h <= 2.4 * th:  # th may be a lower-case height: ascender + descender words
            other.append(t)
    # one y label per row: pieces of it (a decimal point too faint to join '0' and '6') are one
    yl = merge_boxes(yl, 0.8 * th, 0.4 * th)
    left = [t for t in below if t.bbox[2] < float(ya.at(t.cy)) - 0.2 * th]  # row labels
    below = [t for t in below if t not in left] + merge_boxes(left, 0.8 * th, 0.6 * th)
    # (a word space is up to about a text height wide: 'Arm' + 'B' in Helvetica at 150 dpi
    # leaves 0.82 th; separate legend entries or labels stand farther apart)
    other = [p for p in merge_boxes(other, 1.0 * th, 0.5 * th)
             if p.w >= 1.5 * th and 0.6 * th <= p.h <= 2.4 * th
             and (p.n_parts >= 2 or (ink is not None and _glued_word(ink, p, th)))]
    other = sorted(other, key=lambda t: -t.w)[: max(0, MAX_OCR_TOKENS - len(below) - len(yl))]
    below = sorted(below, key=lambda t: t.cy)[:MAX_OCR_TOKENS]
    return below, yl, other


def _without_row_tick(t: Token, ink: np.ndarray, axis_x: float, th: float) -> Token:
    """A risk-table row label without the tick mark glued to its right end.

    General property: ggplot/survminer draw the table's y axis ticks right after the row
    labels ("Obs -", "Arm A -"): a short thin horizontal stroke at the label's mid-height,
    a few pixels from its last letter. At 72-200 dpi the two join one token and OCR reads the
    tick as a letter ('Levt', 'Arm A H', 'B1'), so the row's name matches no legend entry. A
    token ending within a text height of the y axis (``axis_x``, pixels) whose last piece,
    apart from the rest by an empty column, is such a stroke (at most 0.34 text heights and
    3 px tall - JPEG spreads a 1-px tick over three rows -, at most a text height long, centred
    within 0.3 text heights of the token's middle; a lower-case letter is half a text height
    tall) ends before that piece. Other tokens are returned as they are."""
    x0, y0, x1, y1 = t.bbox
    if not (axis_x - 1.2 * th <= x1 <= axis_x + 1) or x1 - x0 < 1.5 * th:
        return t
    sub = ink[y0:y1, x0:x1]
    inked = sub.any(axis=0)
    if not inked.any() or not inked[-1]:
        return t
    gaps = np.flatnonzero(~inked)
    if gaps.size == 0:
        return t
    g = int(gaps[-1])                       # the last empty column: the piece starts after it
    piece = sub[:, g + 1:]
    rows = np.flatnonzero(piece.any(axis=1))
    if (piece.shape[1] > th or rows[-1] - rows[0] + 1 > max(3.0, 0.34 * th)
            or abs(y0 + 0.5 * (rows[0] + rows[-1]) - 0.5 * (y0 + y1 - 1)) > 0.3 * th):
        return t
    keep = np.flatnonzero(inked[:g + 1])
    if keep.size == 0:
        return t
    return Token((x0, y0, x0 + int(keep[-1]) + 1, y1), t.n_parts, t.text, t.score, t.rgb, t.extra)


def _along_axis(t: Token, th: float) -> bool:
    """A y tick label written along the axis (rotated a quarter turn): a token of several
    glyphs stacked upwards, taller than wide and much taller than a line of text. (Two digits
    stacked are about 1.4 times as tall as wide: '80' read upwards at 200 dpi is 35 x 24 px;
    upright, two digits are wider than tall.)"""
    return t.h > 1.25 * t.w and t.h > 1.6 * th


def _stack_rotated(yl: list[Token], th: float) -> list[Token]:
    """Y tick labels written along the axis come apart at their decimal point ('0' | '.' |
    '8' stacked upwards, the point too small to join its neighbours): when some labels of the
    axis are read as rotated (:func:`_along_axis`), pieces in one column (x ranges overlapping
    by 60 % of the narrower) less than 0.8 text heights apart vertically are one label."""
    if not any(_along_axis(t, th) for t in yl):
        return yl
    out: list[Token] = []
    for t in sorted(yl, key=lambda t: t.bbox[1]):
        for i, p in enumerate(out):
            xov = min(p.bbox[2], t.bbox[2]) - max(p.bbox[0], t.bbox[0])
            if xov >= 0.6 * min(p.w, t.w) and t.bbox[1] - p.bbox[3] <= 0.8 * th:
                out[i] = Token((min(p.bbox[0], t.bbox[0]), p.bbox[1], max(p.bbox[2], t.bbox[2]),
                                max(p.bbox[3], t.bbox[3])), p.n_parts + t.n_parts)
                break
        else:
            out.append(t)
    return out


def _readings(text: str) -> list[float]:
    """Values one tick label may have: as read, then with a decimal point OCR lost."""
    v = parse_number(text)
    return ([] if v is None else [v]) + [a for a in lost_point_readings(text) if a != v]


def _label_fit(labels: list[Token], positions, increasing: bool, allow_log: bool, reread):
    """Robust value-vs-pixel fit of one axis' tick labels. When the labels as read disagree
    (a label left out, fewer than three agreeing, a residual over a pixel) each label is read
    again (other scales, binarized; ``reread(tokens) -> [[text, ...], ...]``) and the fit
    picks per label the reading that agrees with the others (tick labels are evenly valued)."""
    pos = [p for p, _ in positions]
    ft = [f for _, f in positions]
    texts = [t.text for t in labels]
    readings = [_readings(t.text) for t in labels]
    fit = fit_axis(pos, readings, ft, texts, increasing, allow_log=allow_log)
    if reread is None or not labels or (
            fit is not None and not fit.rejected and len(fit.values) >= 3 and fit.residual_px <= 1.0):
        return fit
    for k, more in enumerate(reread(labels)):
        for txt in more:
            readings[k] += [v for v in _readings(txt) if v not in readings[k]]
    fit2 = fit_axis(pos, readings, ft, texts, increasing, allow_log=allow_log)
    if fit2 is not None and (fit is None or (len(fit2.values), -fit2.residual_px)
                             > (len(fit.values), -fit.residual_px)):
        return fit2
    return fit


def _fit_x(rows_below, xt, xa, xlen, pa, th, det: FigureDetection, reread=None):
    """Time-axis fit from the first row of numbers under the axis; (fit or None, row index)."""
    warnings = det.warnings
    for i, row in enumerate(rows_below):
        nums = [t for t in row
                if parse_number(t.text) is not None and pa[0] - 3 * th <= t.cx <= pa[2] + 3 * th]
        if len(nums) >= 2 and min(t.bbox[1] for t in nums) - float(xa.at(nums[0].cx)) <= xlen + 4 * th:
            break
    else:
        warnings.append("x axis: no tick labels could be read under the axis; "
                        "calibrate the x axis by hand")
        return None, None
    xlab = [t for t in attach_units(rows_below[i], 1.2 * th) if parse_number(t.text) is not None]
    xpos = [label_positions([t], xt, "x", max(3.0, 0.6 * t.w))[0] for t in xlab]
    xfit = _label_fit(xlab, xpos, True, True, reread)
    det.details["x_labels"] = _axis_tokens(xlab, xpos, xfit)
    _warn_fit("x", xfit, warnings)
    return xfit, i


def _fit_y(ylab, yt, th, det: FigureDetection, reread=None):
    """Survival-axis fit from the numbers left of the y axis (never a log axis)."""
    warnings = det.warnings
    if len(ylab) < 2:
        warnings.append("y axis: no tick labels could be read left of the axis; "
                        "calibrate the y axis by hand")
        return None
    ypos = label_positions(ylab, yt, "y", max(3.0, 0.7 * th))
    yfit = _label_fit(ylab, ypos, False, False, reread)
    det.details["y_labels"] = _axis_tokens(ylab, ypos, yfit)
    _warn_fit("y", yfit, warnings)
    return yfit


def _warn_fit(axis: str, fit, warnings: list[str]) -> None:
    """Say when an axis fit failed, or which misread tick labels it left out."""
    if fit is None:
        warnings.append(f"{axis} axis: fewer than two tick labels agree on a scale; "
                        f"calibrate the {axis} axis by hand")
    elif fit.rejected:
        warnings.append(f"{axis} axis: ignored tick label(s) {', '.join(map(repr, fit.rejected))} "
                        "that disagree with the others")


def detect_figure(image: np.ndarray, progress=None) -> FigureDetection:
    """Detect calibration, plot area, arms, risk table and time unit in an RGB uint8 figure.

    ``progress(fraction)`` is called with 0-1 as the work advances. Never raises on a figure it
    cannot read: missing pieces are None with a warning (calibrate/enter them by hand). Raises
    ValueError only for an array that is not an image.
    """
    t_start = _time.perf_counter()
    step = (lambda f: progress(float(f))) if progress else (lambda f: None)
    from digitize.jpeg import analysis_image

    img = analysis_image(_as_rgb(image))
    W = img.shape[1]
    warnings: list[str] = []
    conf = {"calibration_x": 0.0, "calibration_y": 0.0, "arms": 0.0, "risk_table": 0.0}
    det = FigureDetection(None, None, [], None, None, conf, warnings)
    # a KM figure has drawn axes: an image of one flat colour has nothing to read (and would
    # cost the full pipeline's time and memory on a huge blank page)
    from digitize.image import is_blank

    if is_blank(img):
        warnings.append("the image is blank (one flat colour): no x axis line, no y axis line and no "
                        "curves drawn; check that this is the figure")
        det.seconds = _time.perf_counter() - t_start
        return det
    step(0.02)
    # ------------------------------------------------------------------ axes and ticks
    ink, dark, darkness = ink_masks(img)
    frame = find_frame(dark, darkness, img)
    if frame.x_axis is None or frame.y_axis is None:
        frame = _frame_from_labels(ink) or frame
    det.plot_area = pa = frame.plot_area
    xa, ya = frame.x_axis, frame.y_axis
    for name, line in (("x", xa), ("y", ya)):
        if line is None:
            warnings.append(f"no {name} axis line found; calibrate the {name} axis by hand")
    xt, xlen, yt, ylen = _axis_ticks(darkness, frame)
    step(0.1)
    ok, why = ocr.ocr_available()
    if not ok:
        warnings.append(f"{why}. Without OCR nothing is read from the figure's text: calibrate the "
                        "axes, name the arms and enter the risk table by hand")
    if not ok or xa is None or ya is None:
        det.seconds = _time.perf_counter() - t_start
        return det
    # ------------------------------------------------------------------ text: one OCR pass
    exclude = _exclusion(ink.shape, frame, {"x": xlen, "y": ylen}) | _long_lines(ink)
    tokens, th = find_tokens(ink, exclude, text_height=_text_height(ink, pa))
    bg_rgb = np.asarray(_background(img), float)
    over_curves, paint_out = _words_over_curves(img, ink, exclude, pa, th, tokens, bg_rgb)
    tokens += over_curves
    # a token wider than half the image is no text, except a row of a tight risk table under
    # the plot whose numbers touch (one token of many glyphs, cut at the columns later); a label
    # written along the y axis is a glyph height wide and several glyphs tall
    tokens = [t for t in tokens
              if (0.45 * th <= t.h <= 2.5 * th and (
                  t.w <= 0.5 * W or (t.bbox[1] > frame.plot_area[3] and t.n_parts >= 8 and t.h <= 1.5 * th)))
              or (0.8 * th <= t.w <= 1.8 * th and t.h <= 6 * th)]
    # rows of a squeezed risk table printed in the arms' colours overlap: one token per colour
    tokens = [p for t in tokens for p in (split_by_colour(img, ink, t, th, bg_rgb)
                                          if t.bbox[1] > pa[3] else [t])]
    below, yl, other = _text_regions(tokens, frame, ylen, th, W, ink)
    below = [_without_row_tick(t, ink, float(ya.at(t.cy)), th) for t in below]
    yl = _stack_rotated(yl, th)
    # legend keys inside a phrase split it into entries (a survminer legend on one row)
    other, swatches = split_at_swatches(other, tokens, ink & ~paint_out, th, 0.8 * th, 0.5 * th)
    todo = below + yl + other
    step(0.2)
    pad = max(1, int(round(0.2 * th)))

    upright = {id(t) for t in yl if _along_axis(t, th)}

    def crop(tok: Token) -> np.ndarray:
        c = _text_crop(img, tok.bbox, pad, paint_out, bg_rgb)
        if "ink_rgb" in tok.extra:  # one colour's row of two overlapping ones
            c = keep_colour(c, tok.extra["ink_rgb"], bg_rgb, tok.extra.get("other_rgb"))
        # a y tick label written along the axis (base R's default las = 0: read bottom to top)
        # is a tall narrow token: turned a quarter clockwise it reads left to right
        return np.ascontiguousarray(np.rot90(c, k=-1)) if id(tok) in upright else c

    for t, (txt, sc) in zip(todo, ocr.read_crops([crop(t) for t in todo])):
        t.text, t.score = txt, sc
        t.rgb = tuple(t.extra["ink_rgb"]) if "ink_rgb" in t.extra else ink_colour(img, ink, t.bbox)
    for t in todo:  # nothing (or a non-Latin glyph) read: try other scales; rare, so cheap
        if not t.text or not t.text.isascii() or t.score < 0.5:
            for h in (28, 48, 22):
                txt, sc = ocr.read_crops([crop(t)], h)[0]
                if txt and txt.isascii() and sc >= 0.5:
                    t.text, t.score = txt, sc
                    break
    for t in below:
        # a legend key under the plot ('-+-', a line with a marker) reads as '1' or '-' - the
        # number of a phantom risk-table row: a straight run across a token far wider than the
        # digits read (a digit is about 0.6 text heights wide; '2' has a base as wide as itself).
        # Left of the y axis such a key is a risk-table row's label (survminer without row
        # names) and keeps its reading for the table reader.
        if (t.text and cell_number(t.text) is not None and is_swatch(ink, t, th)
                and t.w > (0.75 * len(t.text.strip()) + 0.5) * th and t.bbox[0] > float(ya.at(t.cy))):
            t.text, t.score = "", 0.0
    det.details["ocr"] = [{"text": t.text, "score": round(t.score, 3), "bbox": list(t.bbox)}
                          for t in todo]
    step(0.6)

    def reread(tok: Token) -> list[str]:
        return [r[0] for r in (ocr.read_crops([crop(tok)], 28) + ocr.read_crops([crop(tok)], 48))]

    # ------------------------------------------------------------------ calibration
    def reread_labels(toks: list[Token]) -> list[list[str]]:
        """Each tick label read again: two other scales and binarized (one batch each)."""
        crops = [crop(t) for t in toks]
        runs = [ocr.read_crops(crops, 28), ocr.read_crops(crops, 48), ocr.read_crops(crops, 36, binarize=True),
                ocr.read_crops(crops, 48, binarize=True)]
        return [[r[k][0] for r in runs] for k in range(len(toks))]

    rows_below = rows_of([t for t in below if t.text], 0.6 * th)
    xfit, x_row_i = _fit_x(rows_below, xt, xa, xlen, pa, th, det, reread_labels)
    ylab = [t for t in yl if parse_number(t.text) is not None]
    yfit = _fit_y(ylab, yt, th, det, reread_labels)
    if xfit is not None:
        conf["calibration_x"] = xfit.confidence
    if yfit is not None:
        conf["calibration_y"] = yfit.confidence
    if xfit is not None and yfit is not None:
        det.calibration = _calibration(xfit, yfit, xa, ya, ylab, warnings)
        if det.calibration is None:
            conf["calibration_x"] = conf["calibration_y"] = 0.0
        elif det.calibration.y_percent and max(det.calibration.y1.value, det.calibration.y2.value) < 30:
            # a survival axis in percent reaches 50-100 % even when truncated: a top label of
            # a few percent is misread labels (rotated '0.8' read as '8'), never silent
            top = max(det.calibration.y1.value, det.calibration.y2.value)
            det.flag("calibration_y", f"y axis: the highest survival label read is {top:g} %; a survival "
                     "axis reaches higher - check the y tick labels (or give --y1/--y2)")
    for k in ("calibration_x", "calibration_y"):
        if 0 < conf[k] < REVIEW_BELOW:
            warnings.append(f"{k.replace('_', ' ')}: low confidence ({conf[k]:.2f}); check the axis points")
    step(0.7)
    # ------------------------------------------------------------------ time unit (x title)
    rest = rows_below[x_row_i + 1:] if x_row_i is not None else rows_below
    for row in rest[:3]:
        u = _unit_of(" ".join(t.text for t in row))
        if u:
            det.time_unit = u
            break
    # ------------------------------------------------------------------ risk table
    table: TableRead | None = None
    if xfit is not None:
        yx = float(ya.at(pa[3]))
        is_cell = lambda t: cell_number(t.text) is not None and t.bbox[2] > yx  # noqa: E731
        table_rows = [merge_phrases(r, 0.9 * th, is_cell) for r in rest]
        table = read_table(table_rows, xfit.value_at, xfit.values, xfit.pos, th, yx, reread,
                           pixels=CellPixels(img, ink, pad))
        if table is None:
            warnings.append("risk table: no number-at-risk table found under the plot; "
                            "enter it by hand if the paper prints one")
        else:
            for w in table.warnings:  # a blank, misplaced or doubtful cell needs a person
                if "on a second reading" in w:
                    warnings.append(w)
                else:
                    det.flag("risk_table", w)
            conf["risk_table"] = table.confidence
            det.details["risk_cells"] = table.cells()
            det.details["risk_rows"] = [{"label": r.label, "rgb": list(r.rgb) if r.rgb else None,
                                         "censored": None if r.censored is None else
                                         [None if np.isnan(v) else int(v) for v in r.censored]}
                                        for r in table.rows]
            det.details["risk_table_bbox"] = list(table.bbox) if table.bbox else None
    else:
        warnings.append("risk table: not read because the x axis could not be calibrated")
    step(0.8)
    # ------------------------------------------------------------------ legend and arms
    # a legend may sit under the plot too: words below the risk table (or the axis title)
    under = []
    if table is not None and table.bbox is not None:
        under = [t for t in below if t.text and t.bbox[1] > table.bbox[3]]
    elif x_row_i is not None:
        under = [t for r in rows_below[x_row_i + 2:] for t in r]
    # text inside the plot (HR and p-value lines, curve labels) is not a curve: blank it
    # before looking for the curves' colours
    bg = np.asarray(_background(img), np.uint8)
    img_c = img.copy()
    for t in other:
        if t.text and is_wordy(t.text) and t.score >= 0.6:
            x0, y0, x1, y1 = t.bbox
            img_c[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = bg
    colours = _arm_colours(img_c, pa, warnings)
    img_t = img_c.copy()   # every text piece blanked: letters are neither curves nor marks
    for t in tokens:
        x0, y0, x1, y1 = t.bbox
        img_t[max(0, y0 - 1):y1 + 2, max(0, x0 - 1):x1 + 2] = bg
    kept = _drop_mark_colours(img_t, pa, colours)
    if len(kept) < len(colours):
        det.details["mark_colours"] = ["#%02x%02x%02x" % c for c in colours if c not in kept]
    colours = kept
    legend = _legend_entries(img, ink, other + under, th, pa, colours)
    det.details["legend"] = [{"name": e.name, "rgb": list(e.rgb) if e.rgb else None,
                              "bbox": list(e.bbox), "n": e.n, "key": e.key} for e in legend]
    text_mask = exclude.copy()  # axis lines, ticks and every text token: not curve ink
    for t in tokens:
        text_mask[max(0, t.bbox[1] - 1):t.bbox[3] + 1, max(0, t.bbox[0] - 1):t.bbox[2] + 1] = True
    for e in legend:  # legend swatches too
        x0, y0, x1, y1 = e.bbox
        text_mask[max(0, y0 - 2):y1 + 2, max(0, int(x0 - 4.6 * th)):x1 + 1] = True
    curve_labels = _curve_label_candidates(other, legend, th, pa)
    _name_arms(det, colours, legend, table, warnings, img, text_mask, curve_labels)
    # an arm that took its colour from its legend key (a grey curve the colour search took for
    # a black line's anti-aliased edge) is a curve colour of its own: the figure is then not a
    # one-colour black-and-white drawing whose extra line styles are unnamed arms
    named = [tuple(a.rgb) for a in det.arms if all(delta_e(a.rgb, c) > 10.0 for c in colours)]
    _arm_styles(det, img, legend, colours + list(dict.fromkeys(named)), text_mask, warnings, th)
    _pair_by_numbers(det, img, warnings)
    step(1.0)
    det.seconds = _time.perf_counter() - t_start
    return det


def _calibration(xfit: AxisFit, yfit: AxisFit, xa, ya, ylab, warnings) -> Calibration | None:
    """Calibration through the fitted lines at the extreme agreeing labels of each axis
    (points on the axis lines; values as printed; percent when labels say so)."""
    from digitize.calibrate import AxisPoint, CalibrationError  # noqa: PLC0415

    xv = (float(xfit.values.min()), float(xfit.values.max()))
    yv = (float(yfit.values.min()), float(yfit.values.max()))
    pts = []
    for v in xv:
        px = float(xfit.pos_of(v))
        pts.append(AxisPoint(px, float(xa.at(px)), v))
    for v in yv:
        py = float(yfit.pos_of(v))
        pts.append(AxisPoint(float(ya.at(py)), py, v))
    percent = any("%" in t.text for t in ylab) or max(abs(v) for v in yv) > 1.5
    try:
        return Calibration(pts[0], pts[1], pts[2], pts[3], log_x=xfit.log, y_percent=percent)
    except CalibrationError as exc:
        warnings.append(f"calibration from the tick labels is unusable ({exc}); calibrate by hand")
        return None


#: RGB distance from the paper of a pale legend key's ink (the ink mask takes 70)
PALE_KEY_DIST = 25.0


def _legend_entries(img, ink, cands: list[Token], th: float, pa, curve_colours=()) -> list[NamedColour]:
    """Legend entries: word phrases with a coloured line swatch on their left (or printed in
    a colour themselves: small coloured text is diluted by the paper, so a faint colour that
    is a paler blend of a coloured curve's counts too)."""
    from digitize.inkmask import chroma as _chroma  # noqa: PLC0415

    paper = _background(img)
    tinted = [c for c in curve_colours if _chromatic(c)]

    def text_names_curve(c) -> bool:
        if _chromatic(c):
            return True
        faint = float(_chroma(rgb_lab(c))) >= 6.0
        return faint and any(blend_distance(k, c, paper) <= 6.0 for k in tinted)

    words = [t for t in cands if t.text and (is_wordy(t.text) or t.n_parts >= 1)
             and not is_swatch(ink, t, th)]  # a key between two names never joins them
    out = []
    keyless = []
    for row in rows_of(words, 0.5 * th):
        for ph in merge_phrases(row, 0.9 * th):
            name, n = clean_name(ph.text)
            if (not _is_name(name.split(" ")[0]) or len(name) > 40 or ph.score < 0.6
                    or len(re.findall(r"[A-Za-z]", name)) < 3):
                continue
            rgb = swatch_colour(img, ink, ph, th)
            if rgb is None:
                rgb = leading_swatch(img, ink, ph, th)
            if rgb is None:
                c = ink_colour(img, ink, ph.bbox)
                if text_names_curve(c) and _mostly_tinted(img, ink, ph.bbox):
                    rgb = c  # coloured text without a swatch (not black text a curve crosses)
            if rgb is None:
                keyless.append((ph, name, n))
                continue
            out.append(NamedColour(name, rgb, "legend", ph.bbox, ph.score, n, key_style(ink, ph, th, img)))
    # a name in line with read entries (their row, or their column) whose key is too pale for
    # the ink mask (a light grey dotted key at 72 dpi: anti-aliased to #DCDCDC): its key read
    # from the pale ink, so that the legend keeps every arm it names
    if out and keyless:
        d = img[..., :3].astype(np.float32) - np.asarray(paper, np.float32)
        pale = ink | (np.sqrt((d * d).sum(axis=2)) > PALE_KEY_DIST)
        for ph, name, n in keyless:
            in_line = any(abs(ph.cy - (e.bbox[1] + e.bbox[3]) / 2.0) <= 0.5 * th
                          or abs(ph.bbox[0] - e.bbox[0]) <= 0.6 * th for e in out)
            rgb = swatch_colour(img, pale, ph, th) if in_line else None
            if rgb is not None:
                out.append(NamedColour(name, rgb, "legend", ph.bbox, ph.score, n, key_style(pale, ph, th, img)))
    if len(out) >= 2:
        # legend texts are left-aligned in one column: entries elsewhere are stray words
        x0 = np.array([e.bbox[0] for e in out], float)
        support = [(np.abs(x0 - v) <= 0.6 * th).sum() for v in x0]
        if max(support) >= 2:
            col = x0[int(np.argmax(support))]
            out = [e for e in out if abs(e.bbox[0] - col) <= 0.6 * th]
    for e, name in zip(out, harmonise_names([e.name for e in out])):
        e.name = name
    # "(n = 74)" printed on its own line under an entry (a column header): that arm's N
    for e in out:
        if e.n is not None:
            continue
        for t in cands:
            if not t.text or t.bbox[1] < e.bbox[3] - 1 or t.bbox[1] - e.bbox[3] > 1.2 * th:
                continue
            if not (e.bbox[0] - th <= t.cx <= e.bbox[2] + th):
                continue
            rest, n = clean_name(t.text)
            if n is not None and not re.search(r"[A-Za-z]{2}", rest):
                e.n = n
                break
    # two entries read alike ('Stage I' for 'Stage III'): read them again at other scales
    for e in out:
        others = {o.name for o in out if o is not e}
        if e.name in others:
            x0, y0, x1, y1 = e.bbox
            pad = max(1, int(round(0.2 * th)))
            crop = img[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
            alts = [clean_name(ocr.read_crops([crop], h)[0][0])[0] for h in (24, 28, 48, 60)]
            alts = [a for a in alts if a and a not in others and is_wordy(a.split(" ")[0])
                    and len(a) >= len(e.name)]
            if alts:  # the fullest distinct reading ('Stage' is a truncated 'Stage III')
                e.name = max(alts, key=len)
    return out


def _lost_end_letters(part: str, full: str) -> bool:
    """True when ``part`` is ``full`` with one to three characters lost at its start or end
    (case and spaces ignored; ``part`` at least three characters).

    General property: a curve crossing a legend name joins the letter it crosses, which is
    then no text: the entry reads 'rm B' for 'Arm B' when a curve runs through the 'A'. Paired
    one to one with the risk-table row that prints the whole name, the entry takes it."""
    a, b = squashed(part), squashed(full)
    return len(a) >= 3 and 1 <= len(b) - len(a) <= 3 and (b.startswith(a) or b.endswith(a))


#: a row's reading this much less sure than a legend entry's is no fuller name of it
FULLER_SCORE_MARGIN = 0.2


def _fuller_name(entry, full: str, full_score: float) -> bool:
    """True when a table row's label ``full`` (OCR score ``full_score``) is the fuller form of
    the legend entry ``entry`` read cut short ('Surgery' of 'Surgery alone', 'Stage' of 'Stage
    III' at 0.89: a last word crossed by a curve or set apart; 'rm B' of 'Arm B'), unless the
    row's reading is markedly less sure (:data:`FULLER_SCORE_MARGIN` below the entry's): 'Arm
    BH' at 0.59, survminer's tick read as a letter, is no fuller name of the legend's 'Arm B'."""
    return (abbreviates(entry.name, full) or _lost_end_letters(entry.name, full)) \
        and full_score + FULLER_SCORE_MARGIN >= float(entry.score)


def _misread_twice(entry, full: str, full_score: float) -> bool:
    """True when ``entry`` (a legend or curve label) and a table row's label ``full`` read with
    OCR score ``full_score`` are one name read twice, the row's reading the surer: as long
    within a character (no spaces), at least 0.7 alike, the row's score higher.

    General property: an arm's name printed twice (legend or curve label, and its risk-table
    row) is one string; JPEG ringing or a crossing line misreads one copy a glyph or two
    ('Fiacebo' for 'Placebo', 'Arm BH' for 'Arm B') and the recogniser is less sure of it."""
    a, b = squashed(entry.name), squashed(full)
    # (a row read with its last letter cut off - 'Contro' for the legend's 'Control' - is no
    # surer reading of the name, however sure of what it read)
    return (a != b and abs(len(a) - len(b)) <= 1 and similar(entry.name, full) >= 0.7
            and full_score > float(entry.score) and not _lost_end_letters(full, entry.name))


def _is_name(word: str) -> bool:
    """A word that can start an arm's name: wordy, or three or more letters and no digit
    ('Obs', which digit-fixing OCR rules would read as 0-6-5)."""
    return is_wordy(word) or (not re.search(r"\d", word or "")
                              and len(re.findall(r"[A-Za-z]", word or "")) >= 3)


def _mostly_tinted(img, ink, bbox) -> bool:
    """Whether most ink pixels in a text box are tinted (coloured text), rather than a few
    (black text crossed by a coloured curve)."""
    from digitize.inkmask import chroma  # noqa: PLC0415

    x0, y0, x1, y1 = bbox
    m = ink[y0:y1, x0:x1]
    if m.sum() == 0:
        return False
    c = chroma(rgb_lab(img[y0:y1, x0:x1][m]))
    return bool(np.mean(c >= 6.0) >= 0.5)


def _beside_free_curve(e: NamedColour, colours, used: set, image, pa) -> int | None:
    """Index of the unclaimed curve a name inside the plot area is written beside, or None.
    A coloured key names a coloured curve: the nearest neutral ink to a legend entry is often
    the legend's own frame."""
    if pa is None or not (pa[0] <= e.bbox[0] and e.bbox[2] <= pa[2] + 0.35 * (pa[2] - pa[0])
                          and pa[1] <= e.bbox[1] and e.bbox[3] <= pa[3]):
        return None
    free = [i for i in range(len(colours)) if i not in used
            and (e.rgb is None or not _chromatic(e.rgb) or _chromatic(colours[i]))]
    m = _match_curve_labels([e], [colours[i] for i in free], image, pa, {})
    return free[next(iter(m))] if m else None


def _mix_distance(rgb, a, b, paper=None) -> float:
    """ΔE from ``rgb`` to the nearest mix of colours ``a`` and ``b`` (linear in RGB, 15-85 % of
    the way from one to the other); with ``paper``, also the mixes holding paper besides at
    least 15 % of each: two thin lines running close (0.75 px at 72 dpi) blend with each other
    and with the paper between them, lighter than either's pure mix."""
    from digitize.inkmask import rgb_to_lab  # noqa: PLC0415

    c, a, b = (np.asarray(v, float) for v in (rgb, a, b))
    d = b - a
    t = float(np.clip((c - a) @ d / max(float(d @ d), 1e-9), 0.15, 0.85))
    best = delta_e(c, a + t * d)
    if paper is not None:
        w = np.linspace(0.15, 0.85, 29)
        al, be = (v.ravel() for v in np.meshgrid(w, w))
        ok = al + be <= 1.0
        mixes = al[ok, None] * a + be[ok, None] * b + (1.0 - al[ok] - be[ok])[:, None] * np.asarray(paper, float)
        best = min(best, float(np.min(np.linalg.norm(rgb_to_lab(mixes) - rgb_to_lab(c[None])[0], axis=1))))
    return best


def _between(rgb, a, b, max_de: float = 8.0) -> bool:
    """Whether ``rgb`` is a mix of colours ``a`` and ``b`` within ``max_de`` ΔE."""
    return _mix_distance(rgb, a, b) < max_de


def _mix_of(rgb, arms, max_de: float = 8.0, paper=None) -> tuple[str, str] | None:
    """Names of two arms whose colours mix (linearly, in RGB; with ``paper`` too) into ``rgb``
    within ``max_de`` ΔE, or None. Only unnamed extra colours are tested: a printed name
    outranks this."""
    best, pair = max_de, None
    for i in range(len(arms)):
        for j in range(i + 1, len(arms)):
            de = _mix_distance(rgb, arms[i].rgb, arms[j].rgb, paper)
            if de < best:
                best, pair = de, (arms[i].name, arms[j].name)
    return pair


def _drops_crop(image, pa) -> np.ndarray:
    """The plot area :func:`_has_drops` reads (inside its frame lines), RGB as float."""
    x0, y0, x1, y1 = (int(v) for v in pa)
    return image[y0 + 2:y1 - 1, x0 + 2:x1 - 1, :3].astype(float)


def _has_drops(image, pa, rgb, exclude=None, others=(), lab=None) -> bool:
    """Whether ink of colour ``rgb`` in the plot area has vertical segments (a KM curve's drops
    or censor ticks) in at least three columns; ruled lines of an inset table have none. For a
    neutral ``rgb`` (rules and frames are black or grey), ink nearer a paper blend of one of
    the ``others`` (the arms' colours) is theirs: a grey rule's colour is near the pale
    anti-aliased, JPEG-dulled drops of coloured curves too, and a grey curve's own drops are
    neutral, nearest its own blend whatever the others. ``lab``: :func:`_drops_crop` in Lab,
    when the caller asks about several colours (converted once, about 50 ms a megapixel)."""
    import cv2  # noqa: PLC0415

    from digitize.colors import blend_distances  # noqa: PLC0415
    from digitize.inkmask import rgb_to_lab  # noqa: PLC0415

    if pa is None:
        return True
    x0, y0, x1, y1 = (int(v) for v in pa)
    sub = _drops_crop(image, pa)
    if sub.size == 0:
        return True
    lab = rgb_to_lab(sub) if lab is None else lab
    m = np.linalg.norm(lab - rgb_to_lab(np.asarray(rgb, float)), axis=2) <= 20
    if others and not _chromatic(rgb):
        bg = np.asarray(_background(image), float)
        px, lp = sub[m], lab[m]
        own = blend_distances(lp, px, np.asarray(rgb, float), bg)[0]
        theirs = np.min([blend_distances(lp, px, np.asarray(o, float), bg)[0] for o in others], axis=0)
        m[m] = own <= theirs
    if exclude is not None:
        m &= ~exclude[y0 + 2:y1 - 1, x0 + 2:x1 - 1]
    v = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, np.ones((4, 1), np.uint8))
    return int((v.any(axis=0)).sum()) >= 3


def _free_name(arms) -> str:
    """The first 'Arm k' not yet taken."""
    taken = {a.name for a in arms}
    k = 1
    while f"Arm {k}" in taken:
        k += 1
    return f"Arm {k}"


#: text that is about the curves, not a curve's name (HR, p-values, medians, axis words)
_NOT_A_NAME = re.compile(r"hazard|ratio|\bHR\b|\bCI\b|\bP\s*[<=>]|p-?value|log-?rank|median|"
                         r"censor|months?|years?|survival|probability|at risk|strata|events\b|\d\s*%|=", re.I)


def _curve_label_candidates(cands: list[Token], legend: list[NamedColour], th: float, pa
                            ) -> list[NamedColour]:
    """Names written beside the curves (NEJM style): word phrases inside the plot area (or just
    right of it) that are not legend entries and not statistics text (HR, p, median)."""
    out = []
    taken = [e.bbox for e in legend]
    words = [t for t in cands if t.text and is_wordy(t.text) and t.score >= 0.6]
    for row in rows_of(words, 0.5 * th):
        for ph in merge_phrases(row, 0.9 * th):
            name, n = clean_name(ph.text)
            x0, y0, x1, y1 = ph.bbox
            inside = pa[0] < x0 and x1 <= pa[2] + 0.35 * (pa[2] - pa[0]) and pa[1] <= y0 and y1 <= pa[3]
            if (not inside or _NOT_A_NAME.search(name) or len(name.split()) > 4
                    or len(re.findall(r"[A-Za-z]", name)) < 3 or len(re.findall(r"\d", name)) > 2):
                continue
            if any(not (x1 <= b[0] or b[2] <= x0 or y1 <= b[1] or b[3] <= y0) for b in taken):
                continue
            out.append(NamedColour(name, None, "curve_label", ph.bbox, ph.score, n))
    return _join_label_lines(out, th)


#: a name's line that goes on to the next: it ends in a joining word or sign
_NAME_GOES_ON = re.compile(r"(\b(plus|and|with|or|vs\.?|versus)|[+&/,-])$", re.I)


def _join_label_lines(labels: list[NamedColour], th: float) -> list[NamedColour]:
    """A curve's name set on two lines ("Nivolumab plus" over "chemotherapy", NEJM style) is
    one name: two labels stacked a line apart (gap under 0.7 text heights, left edges,
    centres or right edges within a text height) whose second line goes on with a lower-case
    word, or whose first ends in a joining word ('plus', 'and', '+'). Two names stacked
    ('Arm A' over 'Arm B') stay two."""
    out = sorted(labels, key=lambda e: e.bbox[1])
    k = 0
    while k < len(out):
        a = out[k]
        for m in range(k + 1, len(out)):
            b = out[m]
            ax0, ay0, ax1, ay1 = a.bbox
            bx0, by0, bx1, by1 = b.bbox
            aligned = min(abs(ax0 - bx0), abs(ax1 - bx1), abs((ax0 + ax1) - (bx0 + bx1)) / 2) <= th
            goes_on = (b.name[:1].islower() or _NAME_GOES_ON.search(a.name.strip()) is not None)
            if -0.2 * th <= by0 - ay1 <= 0.7 * th and aligned and goes_on:
                out[k] = a = NamedColour(f"{a.name} {b.name}", None, "curve_label",
                                         (min(ax0, bx0), ay0, max(ax1, bx1), by1), min(a.score, b.score),
                                         a.n if a.n is not None else b.n)
                del out[m]
                break
        else:
            k += 1
    return out


def _match_curve_labels(labels: list[NamedColour], colours, image, pa, details: dict
                        ) -> dict[int, NamedColour]:
    """Curve index -> the label written beside that curve: each label goes to the curve whose
    ink comes nearest to its box (one label per curve, Hungarian assignment), if that curve is
    within about two text heights and clearly nearer than any other curve."""
    if not labels or not colours or pa is None:
        return {}
    from digitize.inkmask import rgb_to_lab  # noqa: PLC0415

    x0p, y0p, x1p, y1p = (int(v) for v in pa)
    H, W = image.shape[:2]
    cols = np.array([rgb_to_lab(np.asarray(c, float)) for c in colours])
    cost = np.full((len(labels), len(colours)), np.inf)
    for i, lab in enumerate(labels):
        x0, y0, x1, y1 = lab.bbox
        h = max(4, y1 - y0)
        wx0, wx1 = max(x0p, x0 - 3 * h), min(W, x1 + 3 * h)
        wy0, wy1 = max(0, y0 - 3 * h), min(H, y1 + 3 * h)
        sub = rgb_to_lab(image[wy0:wy1, wx0:wx1, :3].astype(float))
        yy, xx = np.mgrid[wy0:wy1, wx0:wx1]
        dx = np.maximum(0, np.maximum(x0 - xx, xx - (x1 - 1)))
        dy = np.maximum(0, np.maximum(y0 - yy, yy - (y1 - 1)))
        dist = np.hypot(dx, dy)
        outside = (dx > 0) | (dy > 0)  # the label's own letters are not curve ink
        for j in range(len(colours)):
            near = (np.linalg.norm(sub - cols[j], axis=2) <= 18) & outside
            if near.sum() >= 3:
                cost[i, j] = float(np.sort(dist[near])[min(2, near.sum() - 1)]) / h
    # every way of giving the labels distinct nearby curves (or none, at a price): a label's
    # curve is accepted when any assignment giving it another costs clearly more
    import itertools  # noqa: PLC0415

    none_cost = 2.5
    choices = [[None] + [j for j in range(len(colours)) if cost[i, j] <= 2.0] for i in range(len(labels))]
    best, scored = None, []
    if np.prod([len(c) for c in choices]) <= 20000:
        for combo in itertools.product(*choices):
            picked = [j for j in combo if j is not None]
            if len(set(picked)) < len(picked):
                continue
            total = sum(none_cost if j is None else cost[i, j] for i, j in enumerate(combo))
            scored.append((total, combo))
        scored.sort(key=lambda t: t[0])
        best = scored[0] if scored else None
    out = {}
    if best is not None:
        t0, combo = best
        for i, j in enumerate(combo):
            if j is None:
                continue
            alt = min((t for t, c in scored if c[i] != j), default=np.inf)
            if alt - t0 >= 0.5 + 0.6 * cost[i, j]:
                out[int(j)] = labels[i]
    details["curve_labels"] = [{"name": lab.name, "bbox": list(lab.bbox),
                                "curve": next((int(j) for j, v in out.items() if v is lab), None)}
                               for lab in labels]
    return out


def rgb_lab(rgb):
    from digitize.inkmask import rgb_to_lab  # noqa: PLC0415

    return rgb_to_lab(np.asarray(rgb, float))


def _background(img):
    from digitize.inkmask import background_color  # noqa: PLC0415

    return background_color(img)


def _chromatic(rgb) -> bool:
    """A colour that can tell an arm from black text (Lab chroma above 12)."""
    from digitize.inkmask import is_neutral  # noqa: PLC0415

    return rgb is not None and not is_neutral(rgb, 12.0)


def _took_colour(name: str, source: str) -> str:
    """The review item for an arm whose colour is its legend key's (or table label's) only."""
    return (f"arms: '{name}' took its colour from the {source.replace('_', ' ')} (no curve of that "
            "colour was found); check its colour")


def _same_neutral_ink(rgb, colours, used: set) -> int | None:
    """Index of a curve colour already taken by another name that a black or grey print is the
    same ink as (Delta E <= 15, both neutral: a black key swatch reads #202020 at 72 dpi): two
    arms drawn in one ink, not a colour missing from the plot. None when there is none."""
    from digitize.inkmask import is_neutral  # noqa: PLC0415

    if not is_neutral(rgb, 12.0):
        return None
    near = [i for i in used if i < len(colours) and is_neutral(colours[i], 12.0) and delta_e(colours[i], rgb) <= 15.0]
    return min(near, key=lambda i: delta_e(colours[i], rgb)) if near else None


def _name_arms(det: FigureDetection, colours, legend: list[NamedColour], table: TableRead | None,
               warnings: list[str], image: np.ndarray, exclude: np.ndarray,
               curve_labels: list[NamedColour] = ()) -> None:
    """Fill det.arms (names + colours) and det.risk_table (rows keyed by arm name).

    Printed names decide how many arms there are: legend entries (name + swatch colour), else
    risk-table row labels (printed in the arm's colour, or with counts in it). Each name takes
    the nearest curve colour found in the plot; a name whose colour is not among them keeps
    the printed colour. Without printed names the curves are called "Arm 1", "Arm 2", ...
    """
    conf = det.confidence
    rows = table.rows if table is not None else []
    plot_lab = None

    def has_drops(rgb, others) -> bool:
        """_has_drops on this figure, its plot area converted to Lab once for every colour."""
        nonlocal plot_lab
        if plot_lab is None and det.plot_area is not None:
            from digitize.inkmask import rgb_to_lab  # noqa: PLC0415

            plot_lab = rgb_to_lab(_drops_crop(image, det.plot_area))
        return _has_drops(image, det.plot_area, rgb, exclude, others, lab=plot_lab)

    by_label = {i: lab.name for i, lab in _match_curve_labels(curve_labels, colours, image,
                                                                 det.plot_area, det.details).items()}
    labelled_rows = [r for r in rows if r.label]
    for r, name in zip(labelled_rows, harmonise_names([r.label for r in labelled_rows])):
        r.label = name
    # row colours tell arms apart when they differ between rows (black and grey labels for
    # black and grey curves) or are chromatic; identical black labels say nothing
    rgbs = [r.rgb for r in rows if r.rgb is not None]
    differ = len(rgbs) > 1 and max(delta_e(a, b) for a in rgbs for b in rgbs) > 20
    informative = (lambda rgb: rgb is not None and (differ or _chromatic(rgb)))  # noqa: E731
    entries: list[NamedColour] = list(legend)
    if labelled_rows:
        # with labelled table rows, a legend entry must name one of them (else it is a stray
        # word inside the plot); no such entry: the rows name the arms
        # (while some rows carry no name, a legend entry with a swatch may name one of them)
        unnamed_rows = len(rows) - len(labelled_rows)
        entries = [e for e in entries
                   if max(similar(e.name, clean_name(r.label)[0]) for r in labelled_rows) >= 0.6
                   or (unnamed_rows > 0 and e.source == "legend")]
        if len({e.name for e in entries}) < len(entries):
            # the legend was misread into duplicates ('Stage I' twice): take the names from
            # the table rows, pairing entries and rows by similarity and then by order
            from scipy.optimize import linear_sum_assignment  # noqa: PLC0415

            names = [clean_name(r.label)[0] for r in labelled_rows]
            cost = np.array([[-similar(e.name, nm) + 0.05 * abs(i - j) for j, nm in enumerate(names)]
                             for i, e in enumerate(entries)])
            for i, j in zip(*linear_sum_assignment(cost)):
                if -cost[i, j] + 0.05 * abs(i - j) >= 0.6:
                    entries[i].name = names[j]
        # a row the legend does not name is still an arm (a legend entry was missed). Each arm
        # is printed once in the legend and once in the table, so entries and rows pair one to
        # one: a row is named by the legend only if it is its entry's pair, not merely similar
        # to an entry ('Fulvestrant 250 mg' is not named by the entry 'Fulvestrant 500 mg',
        # which pairs with the row 'Fulvestrant 500 mg': names of arms differ in one word or dose)
        claimed: set[int] = set()
        if entries:
            from scipy.optimize import linear_sum_assignment  # noqa: PLC0415

            sim = np.array([[similar(e.name, clean_name(r.label)[0]) for r in labelled_rows]
                            for e in entries])
            for i, j in zip(*linear_sum_assignment(-sim)):
                if sim[i, j] >= 0.6:
                    claimed.add(int(j))
                    # an entry read cut short ('Surgery' of 'Surgery alone': its last word
                    # crossed by a curve or set apart) takes its row's fuller name
                    full = clean_name(labelled_rows[j].label)[0]
                    if _fuller_name(entries[i], full, labelled_rows[j].label_score) \
                            or _misread_twice(entries[i], full, labelled_rows[j].label_score):
                        entries[i].name = full
        for k, r in enumerate(labelled_rows):
            nm = clean_name(r.label)[0]
            if entries and k not in claimed:
                entries.append(NamedColour(nm, r.rgb if informative(r.rgb) else None, "risk_table",
                                           (0, 0, 0, 0), 1.0))
    source = "legend"
    if not entries:
        source = "risk_table"
        entries = [NamedColour(clean_name(r.label)[0], r.rgb if informative(r.rgb) else None,
                               "risk_table", (0, 0, 0, 0), 1.0) for r in rows if r.label]
    # a coloured risk-table label gives a truer colour than a thin legend swatch
    labelled = [r for r in rows if r.label]
    for e in entries:
        if e.source != "legend" or not labelled:
            continue
        sims = [similar(clean_name(r.label)[0], e.name) for r in labelled]
        r = labelled[int(np.argmax(sims))]
        mutual = max(entries, key=lambda o: similar(clean_name(r.label)[0], o.name)) is e
        if max(sims) >= 0.8 and mutual and informative(r.rgb):
            e.rgb = r.rgb
    arms = []
    how = 0.0
    if entries:
        with_rgb = [e for e in entries if e.rgb is not None]
        from digitize.inkmask import background_color  # noqa: PLC0415

        bg = tuple(background_color(image))
        # a name printed beside a curve (its full form, or the table's short form of it) is
        # that curve's, whatever colour a table label's anti-aliasing suggests
        pre: dict[int, NamedColour] = {}
        for e in entries:
            if e.source == "legend" and e.key is not None:
                continue  # a drawn key says more than a position
            hits = [i for i, nm in by_label.items() if i not in pre and similar(nm, e.name) >= 0.75]
            if len(hits) == 1:
                pre[hits[0]] = e
                if abbreviates(e.name, by_label[hits[0]]):
                    e.name = by_label[hits[0]]  # the table's short form: take the full name
        rest = [i for i in range(len(colours)) if i not in pre]
        m = {rest[i]: e for i, e in match_names([colours[i] for i in rest],
                                                 [e for e in with_rgb if all(e is not p for p in pre.values())],
                                                 bg).items()}
        m.update(pre)
        # a matched colour that is only a paler blend of an unclaimed one (a band, an
        # anti-aliased edge) gives way to that fuller colour
        for i in list(m):
            if not _chromatic(colours[i]):  # greys are distinct curves, not pale blacks
                continue
            for u in range(len(colours)):
                if (u not in m and blend_distance(colours[u], colours[i], bg) <= 10
                        and delta_e(colours[u], bg) > delta_e(colours[i], bg) + 10):
                    m[u] = m.pop(i)
                    break
        # a matched colour lying between an unclaimed colour and another matched one (in RGB:
        # two lines bled into each other where they run close, purple between a red and a blue
        # curve in a JPEG) gives way to the unclaimed, purer colour
        for i in list(m):
            for u in range(len(colours)):
                if u in m or not _chromatic(colours[u]):
                    continue
                if any(_between(colours[i], colours[u], colours[j]) for j in m if j != i):
                    m[u] = m.pop(i)
                    break
        by_entry = {id(e): i for i, e in m.items()}
        used = set(m)
        n_guess = 0
        # a black-and-white figure: more printed names than curve colours, none of them with a
        # colour of its own (plain legend text, identical black table labels) and one curve
        # colour - every name is an arm of that colour, told apart later by line style
        # (_arm_styles); a name is never left without a curve while that curve is 'Arm 1'
        shared = (len(colours) == 1 and len(entries) >= 2 and not m and not with_rgb
                  and len({e.name for e in entries}) == len(entries))
        if shared:
            warnings.append(f"arms: {len(entries)} printed arm names share one curve colour; told apart "
                            "by line style")
        # colours that draw no drops (a table's rules, a frame) are no curves to pair names with
        # by order: a black rule beside two coloured curves must not stop two names taking them
        rules: set[int] = set()
        if len(entries) < len(colours) and any(e.rgb is None for e in entries):
            rules = {i for i in range(len(colours)) if i not in used and not has_drops(
                colours[i], [c for j, c in enumerate(colours) if j != i])}
        for k, e in enumerate(entries):
            if id(e) in by_entry:
                # both are the line's colour diluted by the paper (anti-aliasing, JPEG); the
                # one farther from the paper is the less diluted
                c = tuple(colours[by_entry[id(e)]])
                if e.rgb is not None and delta_e(e.rgb, bg) > delta_e(c, bg) + 5:
                    c = tuple(int(v) for v in e.rgb)
                arms.append(ArmSpec(e.name, c))
            elif e.rgb is not None and (pos := _beside_free_curve(e, colours, used, image, det.plot_area)) is not None:
                # a name written inside the plot whose key colour matched no curve (a diluted
                # swatch): the curve it is written beside
                used.add(pos)
                arms.append(ArmSpec(e.name, tuple(colours[pos])))
                warnings.append(f"arms: '{e.name}' was matched to the curve it is written beside")
            elif e.rgb is not None and (ink := _same_neutral_ink(e.rgb, colours, used)) is not None:
                # a black key matching a black curve another name took: the two arms share the
                # ink (told apart by line style or marks, and flagged below as drawn in one
                # colour) - a curve of that colour was found. Of the key snapped to the plot's
                # ink and the curve colour, the one farther from the paper is less diluted.
                c = tuple(colours[ink])
                if e.source != "risk_table":
                    r = refine_colour(image, det.plot_area, e.rgb, exclude)
                    if delta_e(r, bg) > delta_e(c, bg) + 5:
                        c = tuple(int(v) for v in r)
                arms.append(ArmSpec(e.name, c))
                warnings.append(f"arms: '{e.name}' is drawn in the same ink as another arm (its "
                                f"{source.replace('_', ' ')} colour)")
            elif e.rgb is not None:
                n_guess += 1 if colours else 0
                # a label's text colour is solid; a thin swatch is snapped to the plot's ink
                rgb = tuple(int(v) for v in e.rgb) if e.source == "risk_table" else \
                    refine_colour(image, det.plot_area, e.rgb, exclude)
                arms.append(ArmSpec(e.name, rgb))
                if colours:
                    det.flag("arms", _took_colour(e.name, source))
            else:
                free = [i for i in range(len(colours)) if i not in used and i not in rules]
                # the text written beside a curve names it
                lab = [i for i in free if i in by_label and similar(by_label[i], e.name) >= 0.75]
                if lab:
                    used.add(lab[0])
                    arms.append(ArmSpec(e.name, tuple(colours[lab[0]])))
                elif shared:
                    used.add(0)
                    arms.append(ArmSpec(e.name, tuple(colours[0])))
                elif free and len(entries) == len(colours) - len(rules):
                    used.add(free[0])
                    n_guess += 2
                    arms.append(ArmSpec(e.name, tuple(colours[free[0]])))
                    det.flag("arms", f"arms: '{e.name}' was given a curve colour by order; check it")
                    det.details.setdefault("colour_by_order", []).append(e.name)
                else:
                    det.flag("arms", f"arms: no colour found for '{e.name}'; pick it by hand")
                    n_guess += 2
        extra = [i for i in range(len(colours)) if i not in used]
        named_curves = len(used)
        n_bands = 0
        for i in extra:
            c = colours[i]
            hx = f"#{c[0]:02x}{c[1]:02x}{c[2]:02x}"
            # a confidence band is the paler blend of its curve's colour: not an arm
            band_of = [a for a in arms if _chromatic(a.rgb) and blend_distance(a.rgb, c, bg) <= 8
                       and delta_e(c, bg) + 10 < delta_e(a.rgb, bg)]
            if band_of:
                warnings.append(f"arms: colour {hx} is a paler shade of '{band_of[0].name}' "
                                "(a confidence band); not an arm")
                n_bands += 1
                continue
            mix = _mix_of(c, arms, paper=bg)
            if mix is not None:
                # JPEG and anti-aliasing smear two lines into each other where they run close;
                # the blend is no curve of its own - but say so, in case it is one
                det.flag("arms", f"arms: colour {hx} found in the plot looks like a mix of '{mix[0]}' and "
                         f"'{mix[1]}' (where their lines run close) and was not taken as an arm; if it "
                         "is a curve of its own, add it")
                n_bands += 1
                continue
            if not has_drops(c, [a.rgb for a in arms]):
                warnings.append(f"arms: colour {hx} draws only straight horizontal lines (rules, a "
                                "frame); not an arm")
                n_bands += 1
                continue
            name = by_label.get(i)
            if name is None:
                name = _free_name(arms)
                det.flag("arms", f"arms: a curve drawn in {hx} has no printed name (the {source.replace('_', ' ')} "
                         f"names {len(entries)} arm(s), {len(colours)} curve colours were found); it is "
                         f"kept as '{name}' - name it, or delete it if it is not a curve")
            else:  # the name is printed beside this curve, clearly nearer it than any other
                named_curves += 1
                warnings.append(f"arms: the curve drawn in {hx} was named '{name}' from the text "
                                "written beside it")
            arms.append(ArmSpec(name, tuple(c)))
        how = 1.0 - 0.15 * n_guess / max(len(entries), 1) - (0.1 if named_curves < len(colours) - n_bands else 0.0)
        if n_guess > 1:
            how = min(how, 0.5)
        n_curves = len(colours) - n_bands
        if source == "legend" and colours and named_curves < n_curves and len(entries) != n_curves:
            det.flag("arms", f"arms: the legend names {len(entries)} arm(s) but {n_curves} curves "
                     "were found; check that every curve has its own name")
    else:
        arms = []
        for i, c in enumerate(colours):
            arms.append(ArmSpec(by_label.get(i) or f"Arm {i + 1}", tuple(c)))
        unnamed = [a.name for i, a in enumerate(arms) if i not in by_label]
        if unnamed:
            det.flag("arms", "arms: no printed name found for " + ", ".join(
                f"the curve drawn in #{a.rgb[0]:02x}{a.rgb[1]:02x}{a.rgb[2]:02x} (called '{a.name}')"
                for a in arms if a.name in unnamed) + "; rename them from the figure's legend or caption")
            how = 0.6 if len(colours) == 1 else 0.4
        elif colours:  # each name clearly nearest its own curve (see _match_curve_labels)
            warnings.append("arms: the arms were named from the text written beside the curves ("
                            + ", ".join(f"'{a.name}'" for a in arms) + ")")
            how = 0.8
    if not arms:
        det.flag("arms", "arms: no curve colours found in the plot area; pick the arm colours by hand")
        how = 0.0
    seen: dict[str, int] = {}
    for k, a in enumerate(arms):  # names must be unique downstream
        if a.name in seen:
            seen[a.name] += 1
            arms[k] = ArmSpec(f"{a.name} ({seen[a.name]})", a.rgb, a.tolerance)
            det.flag("arms", f"arms: two arms read as '{a.name}'; the second is now '{arms[k].name}' - "
                     "rename it")
            how = min(how, 0.4)
        else:
            seen[a.name] = 1
    # arms told apart by line style only (black solid vs black dashed): colour cannot separate
    # their curves, so the traces need a person (style matching is for the extraction to do)
    from digitize.inkmask import is_neutral  # noqa: PLC0415

    for i in range(len(arms)):
        for j in range(i + 1, len(arms)):
            a, b = arms[i], arms[j]
            if is_neutral(a.rgb, 12.0) and is_neutral(b.rgb, 12.0) and delta_e(a.rgb, b.rgb) < 25:
                keys = {e.name: e.key for e in legend if e.key}
                how_told = (" (their legend keys differ in line style)"
                            if a.name in keys and b.name in keys
                            and keys[a.name]["dashes"] != keys[b.name]["dashes"] else "")
                det.flag("arms", f"arms: '{a.name}' and '{b.name}' are drawn in the same colour"
                         f"{how_told}; colour alone cannot keep their curves apart - check both traces")
                how = min(how, 0.5)
    det.arms = arms
    conf["arms"] = float(max(0.0, how))
    names_now = {a.name for a in arms}
    det.n_total = {e.name: int(e.n) for e in legend if e.n is not None and e.name in names_now}
    # ---------------------------------------------------------------- table rows -> arms
    if table is None:
        return
    arm_names = [a.name for a in arms]
    mapping: dict[int, str] = {}
    free = set(arm_names)
    labelled = [k for k, r in enumerate(rows) if r.label]
    if labelled and arm_names:
        from scipy.optimize import linear_sum_assignment  # noqa: PLC0415

        sim = np.array([[similar(a, clean_name(rows[k].label)[0]) for a in arm_names] for k in labelled])
        for i, j in zip(*linear_sum_assignment(-sim)):
            if sim[i, j] >= 0.75:
                mapping[labelled[i]] = arm_names[j]
                free.discard(arm_names[j])
    for k, r in enumerate(rows):
        if k in mapping or not informative(r.rgb):
            continue
        d = {a.name: delta_e(a.rgb, r.rgb) for a in arms if a.name in free}
        if d and min(d.values()) <= 40:
            best = min(d, key=d.get)
            mapping[k] = best
            free.discard(best)
    order_guess = False
    for k, r in enumerate(rows):
        if k not in mapping:
            if r.label and not arms:
                mapping[k] = clean_name(r.label)[0]
            elif free:
                mapping[k] = [a for a in arm_names if a in free][0]
                free.discard(mapping[k])
                order_guess = len(rows) > 1
            else:
                mapping[k] = r.label or f"row {k + 1}"
                det.flag("risk_table", f"risk table: row {k + 1} ('{r.label or ''}') matches no arm "
                         f"(arms: {', '.join(arm_names) or 'none'}); its numbers are not used - check "
                         "the arms and the row")
    if order_guess:
        det.details["rows_by_order"] = [mapping[k] for k in range(len(rows))
                                        if mapping[k] in arm_names and not rows[k].label]
        det.flag("risk_table", "risk table: rows were matched to arms by order ("
                 + ", ".join(f"row {k + 1} -> '{mapping[k]}'" for k in range(len(rows))) + "); check them")
        conf["risk_table"] = min(conf["risk_table"], 0.5)
    n_risk = {}
    for k, r in enumerate(rows):
        n_risk.setdefault(mapping[k], r.counts)
    det.risk_table = RiskTable(table.times, n_risk)
    # first column = N when the legend prints n
    for e in legend:
        n = e.n
        if n is not None and e.name in n_risk and np.isfinite(n_risk[e.name][0]) and n_risk[e.name][0] != n:
            det.flag("risk_table", f"risk table: row '{e.name}' starts at {n_risk[e.name][0]:g} but the "
                     f"legend says n={n}; check the first number")
            conf["risk_table"] = min(conf["risk_table"], 0.5)
