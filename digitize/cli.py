"""``kmrecon extract``: KM figure (image or PDF page) -> digitized curves, censor marks and IPD.

Writes ``--out`` (IPD: arm,time,event; .csv or .xlsx) and beside it ``<stem>.curves.csv``
(arm,time,survival), ``<stem>.marks.csv`` (arm,time) and ``<stem>.json`` (sidecar: figure,
calibration, colours, settings, diagnostics; enough to redo the run). Files are written only
after everything succeeded, each atomically. Without calibration options the automatic figure
detector is tried; if it cannot calibrate, the command asks for --x1/--x2/--y1/--y2 (exit 2).
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

from kmrecon.errors import KMReconError

_POINT = re.compile(r"^\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*=\s*([-+0-9.eE%]+)\s*$")
_ARM = re.compile(r"^(?P<name>.+?)=\s*#?(?P<hex>[0-9a-fA-F]{6})(?::(?P<tol>[^:,]*))?"
                  r"(?:\s*,\s*(?P<style>[A-Za-z]+))?\s*$")
#: PDF rendering resolution accepted by --dpi (digitize.image checks the same range)
DPI_RANGE = (10, 1200)
_ARM_AT = re.compile(r"^(?P<name>.+?)=\s*(?P<x>[-+0-9.eE]+)\s*,\s*(?P<y>[-+0-9.eE]+)\s*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("figure", metavar="FIGURE", help="KM figure: PNG, JPEG, TIFF, BMP, WebP or PDF")
    parser.add_argument("--page", type=_page, default=None, metavar="N|auto",
                        help="PDF page, 0-based, or auto (default): the first page with a KM figure, "
                             "blank pages skipped")
    parser.add_argument("--dpi", type=int, default=200,
                        help=f"PDF rendering resolution, {DPI_RANGE[0]}-{DPI_RANGE[1]} (default 200)")
    for name, what in (("x1", "first x-axis point"), ("x2", "second x-axis point"),
                       ("y1", "first y-axis point"), ("y2", "second y-axis point")):
        parser.add_argument(f"--{name}", metavar="PX,PY=VALUE",
                            help=f"{what}: image pixel (x right, y down, origin top-left) = axis value")
    parser.add_argument("--log-x", action="store_true", help="the time axis is logarithmic")
    parser.add_argument("--no-rotation", action="store_true", help="assume the axes are exactly horizontal/vertical")
    parser.add_argument("--reversed-x", action="store_true", help="the time axis runs right to left (rare)")
    parser.add_argument("--reversed-y", action="store_true", help="the survival axis runs top to bottom (rare)")
    parser.add_argument("--plot-area", metavar="X0,Y0,X1,Y1", help="axes box in pixels (default: from the axis lines)")
    parser.add_argument("--arm", metavar="NAME=#RRGGBB", action="append", default=[],
                        help="an arm and its curve colour (repeatable; optional ':TOL' Delta E and ',STYLE' "
                             "line style solid|dashed|dotted|dashdot|thick, which tells arms of one colour apart); "
                             "default: found automatically")
    parser.add_argument("--arm-at", metavar="NAME=PX,PY", action="append", default=[],
                        help="a pixel on that arm's curve (repeatable): tells arms of one colour apart by "
                             "the line style drawn there")
    parser.add_argument("--risk-table", metavar="RISK.csv", help="numbers at risk: columns arm,time,n_risk (arm names as in --arm)")
    parser.add_argument("--total-events", metavar="ARM=D", action="append", default=[], help="total events in ARM (repeatable)")
    parser.add_argument("--method", choices=("default", "guyot"), default="default",
                        help="reconstruction: default (exact solve) or guyot (Guyot et al. 2012)")
    parser.add_argument("--out", metavar="IPD.csv", required=True, help="output IPD (.csv or .xlsx)")
    parser.add_argument("--panel", type=int, metavar="K", default=None,
                        help="which Kaplan-Meier plot of a multi-panel image or PDF page to read, 1-based "
                             "(default: the only one; with several the command lists them and stops)")


def _page(text: str):
    """--page value: 'auto' -> None, else a 0-based page number."""
    if str(text).strip().lower() == "auto":
        return None
    try:
        page = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a page number (0-based) or 'auto'") from None
    if page < 0:
        raise argparse.ArgumentTypeError("pages are numbered from 0")
    return page


def parse_point(text: str, option: str):
    """'PX,PY=VALUE' -> AxisPoint (a trailing % on VALUE is allowed)."""
    from digitize.calibrate import AxisPoint

    m = _POINT.match(text or "")
    if not m:
        raise KMReconError(f"{option} '{text}': write it as PX,PY=VALUE, e.g. {option} 102,540=0")
    try:
        vals = (float(m.group(1)), float(m.group(2)), float(m.group(3).rstrip("%")))
    except ValueError:
        raise KMReconError(f"{option} '{text}': PX, PY and VALUE must be numbers") from None
    if not all(math.isfinite(v) and abs(v) < 1e12 for v in vals):
        raise KMReconError(f"{option} '{text}': PX, PY and VALUE must be ordinary finite numbers")
    return AxisPoint(*vals)


def parse_arm(text: str):
    """'NAME=#RRGGBB[:TOL][,STYLE]' -> ArmSpec (STYLE: solid|dashed|dotted|dashdot|thick)."""
    from digitize.extract import ArmSpec

    m = _ARM.match(text or "")
    if not m:
        raise KMReconError(f"--arm '{text}': write it as NAME=#RRGGBB, e.g. --arm Placebo=#1f77b4")
    hx = m.group("hex")
    rgb = tuple(int(hx[i:i + 2], 16) for i in (0, 2, 4))
    name = m.group("name").strip()
    if not name:
        raise KMReconError(f"--arm '{text}': the arm name is empty; write NAME=#RRGGBB, e.g. --arm Placebo=#1f77b4")
    tol = None
    if m.group("tol") is not None:
        try:
            tol = float(m.group("tol"))
        except ValueError:
            tol = float("nan")
        if not (math.isfinite(tol) and 0 < tol <= 100):
            raise KMReconError(f"--arm '{text}': the tolerance after ':' must be a colour distance "
                               f"(Delta E) between 0 and 100, e.g. --arm {name}=#{hx}:12")
    return ArmSpec(name, rgb, tol, style=m.group("style"))


def parse_arm_at(text: str) -> tuple[str, tuple[float, float]]:
    """'NAME=PX,PY' -> (name, (px, py)): an image pixel on that arm's curve."""
    m = _ARM_AT.match(text or "")
    try:
        if not m:
            raise ValueError
        return m.group("name").strip(), (float(m.group("x")), float(m.group("y")))
    except ValueError:
        raise KMReconError(f"--arm-at '{text}': write it as NAME=PX,PY (a pixel on that arm's curve), "
                           "e.g. --arm-at Placebo=412,230") from None


def apply_arm_at(specs: list, points: list[str], colour_at=None) -> list:
    """Specs with each ``--arm-at`` point set on the arm of that name; a name not among the
    arms adds an arm whose colour is read at the point (``colour_at``: callable (x, y) -> RGB)."""
    from digitize.extract import ArmSpec

    out = list(specs)
    for text in points:
        name, xy = parse_arm_at(text)
        hit = [i for i, s in enumerate(out) if s.name == name]
        if hit:
            s = out[hit[0]]
            out[hit[0]] = ArmSpec(s.name, s.rgb, s.tolerance, style=s.style, at=xy)
        elif colour_at is not None:
            out.append(ArmSpec(name, colour_at(*xy), None, at=xy))
        else:
            raise KMReconError(f"--arm-at '{text}': no arm named '{name}' (arms: "
                               f"{', '.join(s.name for s in out) or 'none'})")
    return out


def _plot_area(text: str | None):
    if not text:
        return None
    try:
        vals = [int(round(float(v))) for v in text.split(",")]
    except (ValueError, OverflowError):
        vals = []
    if len(vals) != 4:
        raise KMReconError(f"--plot-area '{text}': give four pixel numbers X0,Y0,X1,Y1")
    return tuple(vals)


def _calibration(args, image, warnings: list[str]):
    """Calibration from the options, else from the automatic detector; also its arms/risk table.
    The detector reads only the chosen plot of a multi-panel image (``--panel``); what it finds
    is given back in the whole image's pixels."""
    from digitize.calibrate import Calibration

    given = [getattr(args, k) for k in ("x1", "x2", "y1", "y2")]
    if all(given):
        pts = [parse_point(v, f"--{k}") for v, k in zip(given, ("x1", "x2", "y1", "y2"))]
        return Calibration(*pts, log_x=args.log_x, no_rotation=args.no_rotation,
                           reversed_x=getattr(args, "reversed_x", False),
                           reversed_y=getattr(args, "reversed_y", False)), None
    if any(given):
        missing = [f"--{k}" for k, v in zip(("x1", "x2", "y1", "y2"), given) if not v]
        raise KMReconError(f"calibration needs all four points; missing {', '.join(missing)}")
    ask = ("give the axes with --x1 PX,PY=VALUE --x2 PX,PY=VALUE (two points on the time axis) and "
           "--y1 PX,PY=VALUE --y2 PX,PY=VALUE (two points on the survival axis)")
    try:
        from digitize.auto import detect_figure
    except ImportError:
        raise KMReconError(f"automatic axis calibration is not available; {ask}") from None
    try:
        from digitize.auto.panels import select_panel, shift_detection
    except ImportError:  # a detector without the panel finder: read the image whole
        select_panel = shift_detection = None
    sub, panel, panels = (select_panel(image, getattr(args, "panel", None)) if select_panel
                          else (image, None, []))
    try:
        det = detect_figure(sub)
        if panel is not None:
            det = shift_detection(det, panel.region[0], panel.region[1])
            warnings.append(f"read plot {args.panel} of {len(panels)} in the image ({panel.describe()})")
    except KMReconError as exc:
        raise KMReconError(f"automatic axis calibration failed ({exc}); {ask}") from None
    if det is None or getattr(det, "calibration", None) is None:
        why = "; ".join(getattr(det, "warnings", []) or []) if det is not None else ""
        raise KMReconError(f"the axes could not be read automatically{f' ({why})' if why else ''}; {ask}")
    warnings.extend(f"auto-detect: {w}" for w in (det.warnings or []))
    cal = det.calibration
    if args.log_x or args.no_rotation:
        d = cal.to_dict()
        d["log_x"] = d["log_x"] or args.log_x
        d["no_rotation"] = d["no_rotation"] or args.no_rotation
        cal = Calibration.from_dict(d)
    return cal, det


def _check_sidecar_target(path: Path) -> None:
    """The sidecar ``<stem>.json`` may replace an earlier extract sidecar, never another JSON
    (e.g. a KMRecon project saved as study.json beside --out study.csv)."""
    if not path.exists():
        return
    if path.is_dir():
        raise KMReconError(f"--out: the sidecar {path} would replace a folder of that name; choose another --out name")
    import json

    try:
        with open(path, encoding="utf-8-sig") as fh:
            kind = json.load(fh).get("kind")
    except (OSError, ValueError, AttributeError, RecursionError):
        kind = None
    if kind != "kmrecon-extract":
        raise KMReconError(f"--out: the sidecar {path} would replace an existing file that is not a "
                           "kmrecon extract sidecar (a project?); choose another --out name")


def _out_paths(out: Path) -> dict[str, Path]:
    stem = out.with_suffix("")
    return {"ipd": out, "curves": Path(f"{stem}.curves.csv"), "marks": Path(f"{stem}.marks.csv"),
            "sidecar": Path(f"{stem}.json")}


def run(args) -> int:
    from reconstruct.cli import parse_assignments
    from reconstruct.io import read_risk_csv

    from digitize.image import load_image
    from digitize.pipeline import run_pipeline

    from kmrecon.jsonio import check_outputs

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise KMReconError(f"--out {out}: the IPD file must end in .csv or .xlsx")
    if not DPI_RANGE[0] <= args.dpi <= DPI_RANGE[1]:
        raise KMReconError(f"--dpi {args.dpi}: use {DPI_RANGE[0]}-{DPI_RANGE[1]} (150-300 suits most figures)")
    paths = _out_paths(out)
    check_outputs(paths.values(), [args.figure, args.risk_table])
    _check_sidecar_target(paths["sidecar"])
    specs = [parse_arm(a) for a in args.arm]           # cheap checks before any image work
    for text in args.arm_at:
        parse_arm_at(text)
    plot_area = _plot_area(args.plot_area)
    given = [getattr(args, k) for k in ("x1", "x2", "y1", "y2")]
    for v, k in zip(given, ("x1", "x2", "y1", "y2")):
        if v:
            parse_point(v, f"--{k}")
    figure = Path(args.figure)
    warnings: list[str] = []
    image, page, vector = _pdf_route(args, figure, given, warnings)
    if vector is not None:
        return _run_vector(args, figure, vector, specs, warnings)
    from_bitmap = image is not None          # an image embedded in a PDF, at its own pixels
    if image is None:
        image = load_image(figure, page=page, dpi=args.dpi)
    from digitize.jpeg import analysis_image

    # the pixels the digitizer reads (a JPEG's colour restored), once: detection and tracing
    # then find nothing left to restore (each would otherwise restore the file's pixels again)
    image = analysis_image(image)
    cal, det = _calibration(args, image, warnings)
    if from_bitmap and det is not None:
        det.details.update(source="bitmap", page=page, panel=args.panel or 1)
    if det is not None:
        if plot_area is None and det.plot_area is not None:
            plot_area = tuple(det.plot_area)
        for piece in det.needs_review:
            warnings.append(f"low confidence in the automatic {piece.replace('_', ' ')} "
                            f"({det.confidence.get(piece, 0):.2f}): check it in the sidecar or the GUI")
    auto_arms = False
    if not specs and det is not None and getattr(det, "arms", None):
        specs = list(det.arms)
        auto_arms = True
    if args.arm_at:
        from digitize.colors import ink_colour_at

        # the colours the tracer will read (a JPEG's restored)
        specs = apply_arm_at(specs, args.arm_at, lambda x, y: ink_colour_at(image, (x, y))[0])
    risk = read_risk_csv(args.risk_table) if args.risk_table else None
    if risk is None and det is not None and getattr(det, "risk_table", None) is not None:
        risk = det.risk_table
        warnings.append("risk table read automatically from the figure; check it")
    arm_names = [s.name for s in specs]
    total_events = parse_assignments(args.total_events, "--total-events", arm_names) if arm_names else {}
    if args.total_events and not arm_names:
        raise KMReconError("--total-events needs named arms: give them with --arm NAME=#RRGGBB")
    n_total = {}
    if det is not None and not args.arm:  # N printed beside the arms' names ("(n = 410)")
        n_total = {k: v for k, v in (getattr(det, "n_total", None) or {}).items()
                   if k in arm_names and (risk is None or k not in risk.n_risk)}
    dropped: list[dict] = []
    try:
        result = run_pipeline(image, cal, specs or None, risk_table=risk, total_events=total_events,
                              n_total=n_total or None, method=args.method, plot_area=plot_area)
    except KMReconError as exc:
        # an automatically proposed arm with no traceable curve must not stop the others: drop
        # it and say so (REVIEW), unless the user named the arms or nothing would be left
        bad = [s for s in specs if f"arm '{s.name}':" in str(exc)] if det is not None and not args.arm else []
        if not bad or len(bad) == len(specs):
            raise
        specs = [s for s in specs if s not in bad]
        dropped = [{"piece": "arms", "reason": f"arms: no curve could be traced for '{s.name}' ({s.hex}) "
                    "proposed from the figure; it was left out - check the arms"} for s in bad]
        n_total = {k: v for k, v in n_total.items() if k in {s.name for s in specs}}
        total_events = {k: v for k, v in total_events.items() if k in {s.name for s in specs}}
        result = run_pipeline(image, cal, specs, risk_table=risk, total_events=total_events,
                              n_total=n_total or None, method=args.method, plot_area=plot_area)
    result.warnings[:0] = warnings
    if auto_arms:  # the colours were chosen here, not by the user: say how to give them instead
        fix = "the automatic colour choice may be wrong: give the arm's colour with --arm NAME=#RRGGBB"
        result.warnings = [w.replace("check the colour and the plot area", fix).replace("check the colour", fix)
                           for w in result.warnings]
    auto = None
    if det is not None:
        auto = {"used": True, **det.to_dict()}  # every detection, for review and correction
    review = dropped + review_items(det, arms_given=bool(args.arm), risk_given=bool(args.risk_table))
    return _write_outputs(result, figure, page, args.dpi, out, auto, review)


def _pdf_route(args, figure: Path, given, warnings: list[str]):
    """PDF page choice: (image or None, page, vector PdfFigure or None).

    Zero-click on a PDF reads the figure --page/--panel pick (auto: the first page with one)
    from the drawing itself when it is vector, or the raster pipeline runs on the embedded
    bitmap at its native resolution. With calibration points given, the page is rendered at
    --dpi (the points are pixels of that rendering)."""
    from digitize.image import _is_pdf

    try:
        with open(figure, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None, args.page or 0, None      # load_image reports the problem
    if not _is_pdf(figure, head):
        return None, 0, None
    from digitize.vector.route import pick_figure, survey_pdf

    survey = survey_pdf(figure, None if args.page is None else [args.page],
                        first_only=args.page is None and args.panel is None)
    if any(given):
        if args.page is not None:
            return None, args.page, None
        if survey.figures:
            return None, survey.figures[0].page, None
        drawn = sorted(set(range(survey.n_pages)) - set(survey.blank_pages))
        return None, drawn[0] if drawn else 0, None
    fig, notes = pick_figure(survey, figure.name, args.page, args.panel, require_choice=True)
    warnings.extend(notes)
    if fig.source == "vector":
        return None, fig.page, fig
    warnings.append(f"page {fig.page}: the figure is an embedded image; read at its own "
                    f"{fig.bitmap.shape[1]}x{fig.bitmap.shape[0]} pixels")
    return fig.bitmap, fig.page, None


def _run_vector(args, figure: Path, fig, specs, warnings: list[str]) -> int:
    """Zero-click on a vector PDF figure: curves, marks, names and risk table read exactly."""
    from reconstruct.cli import parse_assignments
    from reconstruct.io import read_risk_csv

    from digitize.vector.route import run_vector

    risk = read_risk_csv(args.risk_table) if args.risk_table else None
    names = [c.name for c in fig.vector.curves] if not specs else [s.name for s in specs]
    total_events = parse_assignments(args.total_events, "--total-events", names) if args.total_events else {}
    det, result = run_vector(fig, args.dpi, specs=specs, risk_table=risk, total_events=total_events,
                             method=args.method)
    if risk is None and result.risk_table is not None:
        warnings.append("risk table read from the PDF's text; check it")
    result.warnings[:0] = warnings
    review = review_items(det, arms_given=bool(specs), risk_given=bool(args.risk_table))
    return _write_outputs(result, figure, fig.page, args.dpi, Path(args.out), {"used": True, **det.to_dict()},
                          review)


def _write_outputs(result, figure: Path, page: int, dpi: int, out: Path, auto, review=()) -> int:
    """IPD, curves, marks and sidecar as a set (all written to temporary names, then renamed
    together: a full disk leaves the previous set whole), then the summary on stdout and one
    REVIEW line per finding a person must check; returns the exit status (3 when any)."""
    from kmrecon.jsonio import atomic_paths, dump_json
    from reconstruct.io import ipd_to_file

    from digitize.sidecar import sidecar_dict

    review = short_trace_items(result) + list(review)
    paths = _out_paths(out)
    side = sidecar_dict(result, figure=figure.resolve(), page=page, dpi=dpi,
                        outputs={k: p.name for k, p in paths.items() if k != "sidecar"}, auto=auto,
                        review=list(review))
    with atomic_paths([paths["ipd"], paths["curves"], paths["marks"], paths["sidecar"]]) as (t_ipd, t_cur, t_mk, t_side):
        ipd_to_file(result.ipd, t_ipd)
        result.curves_frame().to_csv(t_cur, index=False, float_format="%.10g")
        result.marks_frame().to_csv(t_mk, index=False, float_format="%.10g")
        dump_json(side, t_side)
    for a in result.arms:
        print(f"{a.name} ({'#%02x%02x%02x' % a.rgb}): {a.time.size} curve points, "
              f"{a.censor_times.size} censor marks, confidence {a.confidence:.2f}")
    print(result.reconstruction.summary())
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    for item in review:  # arms first; one line each, for people and scripts alike
        print(f"REVIEW: {item['reason']}")
    return EXIT_REVIEW if review else 0


#: exit status when outputs were written but something read from the figure needs a person
#: (0 = confident, 2 = could not run; see the README)
EXIT_REVIEW = 3


#: a trace covering less than this share of the plot's width is doubtful (digitize.extract
#: warns under the same share, counted from time 0)
SHORT_TRACE = 0.3


def short_trace_items(result) -> list[dict]:
    """Review items for traced arms covering under :data:`SHORT_TRACE` of the plot's width:
    the curve's colour or ink was mostly not found (a few columns traced give an IPD of no
    events), which must not pass as a confident result."""
    x0, _, x1, _ = result.plot_area
    out = []
    for a in result.arms:
        if a.empty or len(a.trace_px) == 0:
            continue
        span = float(np.ptp(np.asarray(a.trace_px, float)[:, 0]))
        if span < SHORT_TRACE * max(x1 - x0, 1):
            out.append({"piece": "arms", "reason": f"arms: the curve traced for '{a.name}' spans only "
                        f"{span:.0f} of the plot's {x1 - x0:.0f} pixel columns; check its colour and trace"})
    return out


def review_items(det, arms_given: bool = False, risk_given: bool = False) -> list[dict]:
    """The automatic detection's findings a person must check ({"piece", "reason"}, arms
    first), leaving out the pieces the user gave on the command line."""
    if det is None:
        return []
    skip = ({"arms"} if arms_given else set()) | ({"risk_table"} if risk_given else set())
    return [dict(r) for r in (getattr(det, "review_items", None) or []) if r["piece"] not in skip]
