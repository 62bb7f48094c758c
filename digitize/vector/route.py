"""Which KM figures a PDF holds, page by page, and how each is read.

:func:`survey_pdf` walks every page once: blank pages, vector plots (read exactly by
:mod:`digitize.vector.read`) and embedded bitmaps large enough to be a figure (read by the raster
pipeline at their native resolution). :func:`pick_figure` applies ``--page``/``--panel``;
:func:`run_vector` turns a vector figure into the raster pipeline's
:class:`~digitize.pipeline.PipelineResult` (with reconstruction), so callers need nothing new.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from digitize.vector.objects import PageDrawing, VImage, read_page
from digitize.vector.read import PixelFrame, VectorFigure, read_figures, to_detection, to_extracted
from kmrecon.errors import KMReconError

#: an embedded image covering at least this share of the page may be a figure (a logo is not)
MIN_BITMAP_SHARE = 0.08
#: ... and has at least this many pixels on its shorter side
MIN_BITMAP_SIDE = 150


@dataclass
class PdfFigure:
    """One figure found in a PDF. ``page`` 0-based; ``index`` 1-based within the page."""

    page: int
    index: int
    source: str                           # "vector" | "bitmap"
    drawing: PageDrawing
    vector: VectorFigure | None = None
    bitmap: np.ndarray | None = None      # native pixels of an embedded image (RGB)
    box: tuple[float, float, float, float] | None = None   # where it sits (points, y up)

    def describe(self) -> str:
        if self.vector is not None:
            names = ", ".join(c.name for c in self.vector.curves)
            return (f"page {self.page} figure {self.index}: vector plot, {len(self.vector.curves)} "
                    f"arm(s) ({names}){', risk table' if self.vector.risk_table is not None else ''}")
        h, w = self.bitmap.shape[:2]
        return f"page {self.page} figure {self.index}: embedded image {w}x{h} pixels"


@dataclass
class PdfSurvey:
    """What each page of a PDF holds."""

    n_pages: int
    figures: list[PdfFigure] = field(default_factory=list)
    blank_pages: list[int] = field(default_factory=list)
    other_pages: list[int] = field(default_factory=list)   # drawn on, but no KM figure found

    def on_page(self, page: int) -> list[PdfFigure]:
        return [f for f in self.figures if f.page == page]


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _bitmap_figures(drawing: PageDrawing, vector_boxes) -> list[VImage]:
    """Embedded images big enough to be a figure and not under a vector plot (vector wins)."""
    page_area = drawing.width * drawing.height
    out = []
    for im in drawing.images:
        x0, y0, x1, y1 = im.box
        if im.pixels is None or (x1 - x0) * (y1 - y0) < MIN_BITMAP_SHARE * page_area:
            continue
        if min(im.pixels.shape[:2]) < MIN_BITMAP_SIDE or any(_overlaps(im.box, b) for b in vector_boxes):
            continue
        out.append(im)
    return out


def survey_page(doc, page: int) -> tuple[PageDrawing, list[PdfFigure]]:
    drawing = read_page(doc, page)
    figs = [PdfFigure(page, 0, "vector", drawing, vector=v, box=v.panel.rect)
            for v in read_figures(drawing)]
    for im in _bitmap_figures(drawing, [f.box for f in figs]):
        figs.append(PdfFigure(page, 0, "bitmap", drawing, bitmap=im.pixels, box=im.box))
    figs.sort(key=lambda f: (-f.box[3], f.box[0]))
    for i, f in enumerate(figs):
        f.index = i + 1
    return drawing, figs


def survey_pdf(path, pages=None, first_only: bool = False) -> PdfSurvey:
    """Walk the PDF's pages (all, or the 0-based ``pages`` given); ``first_only``: stop after
    the first page holding a figure (what ``--page auto`` reads)."""
    from digitize.image import _open_pdf, _read_bytes

    path, data = _read_bytes(path)
    doc = _open_pdf(path, data)
    try:
        n = len(doc)
        out = PdfSurvey(n)
        for p in (range(n) if pages is None else pages):
            if not 0 <= p < n:
                raise KMReconError(f"{path.name} has {n} page(s); page {p} (0-based) does not exist")
            drawing, figs = survey_page(doc, p)
            out.figures.extend(figs)
            if not figs:
                (out.blank_pages if drawing.blank else out.other_pages).append(p)
            elif first_only:
                break
        return out
    finally:
        doc.close()


def _pages(pages: list[int]) -> str:
    return ", ".join(str(p) for p in pages)


def pick_figure(survey: PdfSurvey, name: str, page: int | None = None, panel: int | None = None
                ) -> tuple[PdfFigure, list[str]]:
    """The figure ``--page``/``--panel`` select (page None = auto: the first page with one).

    Raises KMReconError saying which pages were blank or held no KM figure, or listing the
    figures when ``panel`` is out of range. Returns (figure, notes for the user)."""
    notes = []
    figs = survey.figures if page is None else survey.on_page(page)
    if not figs:
        where = f"page {page} of {name}" if page is not None else name
        why = []
        if survey.blank_pages:
            why.append(f"blank page(s): {_pages(survey.blank_pages)}")
        if survey.other_pages:
            why.append(f"page(s) without a Kaplan-Meier plot: {_pages(survey.other_pages)}")
        raise KMReconError(f"no Kaplan-Meier figure found on {where} ({'; '.join(why) or 'nothing drawn'}; "
                           "pages are 0-based). Choose the page with --page N, or give the axes "
                           "with --x1/--x2/--y1/--y2 on the page rendered at --dpi")
    if page is None:
        first = figs[0].page
        if survey.blank_pages and any(p < first for p in survey.blank_pages):
            notes.append(f"skipped blank page(s) {_pages([p for p in survey.blank_pages if p < first])}")
        figs = survey.on_page(first)
    if panel is None:
        if len(figs) > 1:
            notes.append(f"page {figs[0].page} holds {len(figs)} figures; reading figure 1 "
                         f"(choose with --panel K): " + "; ".join(f.describe() for f in figs))
        return figs[0], notes
    if not 1 <= panel <= len(figs):
        raise KMReconError(f"--panel {panel}: page {figs[0].page} holds {len(figs)} figure(s): "
                           + "; ".join(f.describe() for f in figs))
    return figs[panel - 1], notes


def render_page(path, page: int, dpi: int) -> np.ndarray:
    from digitize.image import load_image

    return load_image(path, page=page, dpi=dpi)


def _apply_specs(fig: VectorFigure, specs) -> None:
    """Arms given by the user (name + colour) rename the curve drawn in the nearest colour."""
    from digitize.auto.legend import delta_e

    for s in specs:
        best = min(fig.curves, key=lambda c: delta_e(c.rgb, s.rgb))
        old = best.name
        best.name = s.name
        if fig.risk_table is not None and old in fig.risk_table.n_risk and old != s.name:
            fig.risk_table.n_risk[s.name] = fig.risk_table.n_risk.pop(old)


def _read_n(arms, risk, n_total: dict, warnings: list[str]) -> None:
    """N of arms without a risk-table row, read from their exact drops and censor marks."""
    from digitize.vector.counts import n_estimate, n_from_drops

    for a in arms:
        if a.name in n_total or (risk is not None and a.name in risk.n_risk):
            continue
        n = n_from_drops(a.time, a.survival, a.censor_times)
        est = n_estimate(a.time, a.survival, a.censor_times)
        how = "read from the curve's drop heights and censor marks (patients censored at one time share a mark)"
        # patients censored at one time share a mark, so a fit on the marks can only come out
        # low; the early drops (before most such ties) say by how much (measured on R and
        # matplotlib PDFs: the larger of the two is within 1 of N in 15/15 arms, the fit
        # alone in 3/15)
        if n is None or (est is not None and est > n):
            n = est
            how = "estimated from the drop heights (some censorings share a mark)"
        if n is not None:
            n_total[a.name] = n
            warnings.append(f"{a.name}: N = {n} {how}, no risk table; check it against the paper")


def run_vector(fig: PdfFigure, dpi: int, *, specs=None, risk_table=None, total_events=None,
               n_total=None, method: str = "default", reconstruct_ipd: bool = True):
    """(detection, PipelineResult) of a vector figure, in the pixel frame of its page at ``dpi``.

    The curves, censor marks, names and risk table come from the drawing; a ``risk_table`` given
    by the user replaces the printed one. Reconstruction as in
    :func:`digitize.pipeline.run_pipeline`."""
    from digitize.pipeline import PipelineResult

    vf = fig.vector
    if specs:
        _apply_specs(vf, specs)
    frame = PixelFrame.of(fig.drawing, dpi)
    det = to_detection(vf, frame, fig.page, fig.index)
    arms = to_extracted(vf, frame)
    risk = risk_table if risk_table is not None else vf.risk_table
    total_events, n_total = dict(total_events or {}), dict(n_total or {})
    names = {a.name for a in arms}
    for label, d in (("--total-events", total_events), ("N", n_total)):
        unknown = sorted(set(d) - names)
        if unknown:
            raise KMReconError(f"{label} names arm(s) {', '.join(unknown)}, but the arms are "
                               f"{', '.join(sorted(names))}")
    warnings = list(vf.warnings)
    _read_n(arms, risk, n_total, warnings)
    if risk is not None:
        unmatched = sorted(set(risk.arms) - names)
        if unmatched:
            warnings.append(f"risk-table row(s) {', '.join(unmatched)} match no arm (arms: "
                            f"{', '.join(sorted(names))}); they are not used")
    from digitize.extract import ArmSpec

    res = PipelineResult(det.calibration, det.plot_area, [ArmSpec(a.name, a.rgb) for a in arms], arms,
                         risk, total_events, n_total, method, None, warnings)
    if reconstruct_ipd:
        from reconstruct import reconstruct

        data = [a.to_arm_data(risk, n_total.get(a.name), total_events.get(a.name)) for a in arms]
        res.reconstruction = reconstruct(data, method=method, extend_to_risk_times=True)
    return det, res


def vector_detection(fig: PdfFigure, dpi: int, crop=None):
    """FigureDetection of a vector figure in the pixels of its page rendered at ``dpi`` and
    cropped to ``crop`` (x0, y0, x1, y1 in those pixels), as the app shows it."""
    frame = PixelFrame.of(fig.drawing, dpi)
    if crop:
        frame = PixelFrame(frame.left + crop[0] / frame.scale, frame.top - crop[1] / frame.scale,
                           frame.scale)
    return to_detection(fig.vector, frame, fig.page, fig.index)
