"""The JSON sidecar written beside ``kmrecon extract`` output: what was run (figure, page, dpi,
calibration, arm colours, plot area, risk table, N/D, method) and what came out (per-arm
diagnostics, warnings), enough to redo the run. Plain JSON, validated on load, written
atomically.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from digitize.calibrate import Calibration
from digitize.extract import ArmSpec
from kmrecon.data import RiskTable
from kmrecon.errors import InputFileError
from kmrecon.jsonio import file_sha256, json_safe, write_json

KIND = "kmrecon-extract"
FORMAT_VERSION = 1


def sidecar_dict(result, *, figure: Path | None = None, page: int = 0, dpi: int = 200,
                 outputs: dict[str, str] | None = None, auto: dict | None = None,
                 review: list[dict] | None = None) -> dict:
    """The sidecar content for a :class:`digitize.pipeline.PipelineResult`; ``review``: the
    findings a person must check ({"piece", "reason"}, arms first; empty = confident)."""
    from kmrecon import __version__

    fig = None
    if figure is not None:
        figure = Path(figure)
        fig = {"path": str(figure), "sha256": file_sha256(figure) if figure.exists() else None,
               "page": int(page), "dpi": int(dpi)}
    rt = None
    if result.risk_table is not None:
        rt = {"times": result.risk_table.times, "n_risk": result.risk_table.n_risk}
    arms = []
    for spec, a in zip(result.specs, result.arms):
        arms.append({"name": spec.name, "rgb": list(spec.rgb), "hex": spec.hex,
                     "tolerance": spec.tolerance, "confidence": a.confidence,
                     "n_points": int(a.time.size), "n_censor_marks": int(a.censor_times.size),
                     "warnings": list(a.warnings),
                     # how surely corners (pixels) and marks (in the marks file's order) were read
                     "corner_sd_px": a.corner_sd_px,
                     "censor_reliability": None if a.censor_reliability is None
                     else [round(float(v), 4) for v in a.censor_reliability]})
    rec = result.reconstruction
    return json_safe({
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "kmrecon_version": __version__,
        "figure": fig,
        "calibration": result.calibration.to_dict(),
        "plot_area": list(result.plot_area),
        "arms": arms,
        "settings": {"method": result.method, "total_events": result.total_events,
                     "n_total": result.n_total, "auto": auto},
        "risk_table": rt,
        "diagnostics": rec.to_dict() if rec is not None else None,
        "warnings": list(result.warnings),
        "review": list(review or []),
        "outputs": outputs or {},
    })


def write_sidecar(data: dict, path) -> Path:
    """Write the sidecar atomically (temp file in the same folder + os.replace)."""
    return write_json(data, path)


def read_sidecar(path) -> dict:
    """Load and validate a sidecar; returns the dict plus parsed objects under keys
    ``_calibration`` (Calibration), ``_arms`` (list[ArmSpec]), ``_risk_table`` (RiskTable|None)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise InputFileError(f"sidecar not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path.name} is not a readable JSON sidecar ({exc})") from exc
    except RecursionError:
        raise InputFileError(f"{path.name} is nested too deeply to be a kmrecon sidecar") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise InputFileError(f"{path.name} is not a kmrecon extract sidecar (kind must be '{KIND}')")
    version = data.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, (int, float)) or not math.isfinite(version):
        raise InputFileError(f"{path.name}: format_version must be a number (got {str(version)[:40]})")
    if version > FORMAT_VERSION:
        raise InputFileError(f"{path.name} was written by a newer kmrecon (format "
                             f"{data.get('format_version')}); update kmrecon")
    try:
        cal = Calibration.from_dict(data["calibration"])
        arms = [ArmSpec(a["name"], tuple(a["rgb"]), a.get("tolerance")) for a in data["arms"]]
        rt = data.get("risk_table")
        risk = None if rt is None else RiskTable(
            rt["times"], {k: [math.nan if v is None else v for v in vals] for k, vals in rt["n_risk"].items()})
        plot_area = tuple(int(v) for v in data["plot_area"])
        if len(plot_area) != 4:
            raise ValueError("plot_area needs 4 numbers")
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InputFileError(f"{path.name}: invalid sidecar field ({exc})") from exc
    data["_calibration"], data["_arms"], data["_risk_table"] = cal, arms, risk
    data["_plot_area"] = plot_area
    return data


def rerun(path):
    """Redo a ``kmrecon extract`` run from its sidecar: same figure (checked by sha256), page,
    dpi, calibration, plot area, arm colours, risk table, N/D and method. Returns a
    :class:`digitize.pipeline.PipelineResult`."""
    from digitize.image import load_image
    from digitize.pipeline import run_pipeline

    data = read_sidecar(path)
    fig = data.get("figure")
    if not fig or not fig.get("path"):
        raise InputFileError(f"{Path(path).name} does not say which figure was digitized")
    figure = Path(fig["path"])
    if not figure.is_absolute():
        figure = (Path(path).parent / figure) if not figure.exists() else figure
    if fig.get("sha256") and figure.exists() and file_sha256(figure) != fig["sha256"]:
        raise InputFileError(f"{figure} has changed since the run recorded in {Path(path).name}")
    settings = data.get("settings") or {}
    details = ((settings.get("auto") or {}).get("details") or {})
    if details.get("source") == "vector":     # read from the PDF's drawing: read it again
        from digitize.vector.route import pick_figure, run_vector, survey_pdf

        page = int(fig.get("page", 0))
        vec, _ = pick_figure(survey_pdf(figure, [page]), figure.name, page, int(details.get("panel", 1)))
        if vec.source == "vector":
            return run_vector(vec, int(fig.get("dpi", 200)), specs=data["_arms"],
                              risk_table=data["_risk_table"],
                              total_events=settings.get("total_events") or {},
                              n_total=settings.get("n_total") or {},
                              method=settings.get("method", "default"))[1]
    if details.get("source") == "bitmap":     # an image embedded in the PDF: its own pixels
        from digitize.vector.route import pick_figure, survey_pdf

        page = int(fig.get("page", 0))
        emb, _ = pick_figure(survey_pdf(figure, [page]), figure.name, page, int(details.get("panel", 1)))
        image = emb.bitmap if emb.bitmap is not None else None
    else:
        image = None
    if image is None:
        image = load_image(figure, page=int(fig.get("page", 0)), dpi=int(fig.get("dpi", 200)))
    return run_pipeline(image, data["_calibration"], data["_arms"], risk_table=data["_risk_table"],
                        total_events=settings.get("total_events") or {},
                        n_total=settings.get("n_total") or {}, method=settings.get("method", "default"),
                        plot_area=data["_plot_area"])
