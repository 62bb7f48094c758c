"""The whole digitize chain in one call: image + calibration + arms (+ risk table, N, D) ->
extracted curves and censor marks -> reconstructed IPD with diagnostics.

Used by ``kmrecon extract`` and by the GUI; both only collect inputs and show results.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from digitize.calibrate import Calibration
from digitize.extract import ArmSpec, ExtractedArm, extract_arms
from kmrecon.data import RiskTable
from kmrecon.errors import KMReconError


@dataclass
class PipelineResult:
    """Everything one run produced (and what it was run with)."""

    calibration: Calibration
    plot_area: tuple[int, int, int, int]
    specs: list[ArmSpec]
    arms: list[ExtractedArm]
    risk_table: RiskTable | None = None
    total_events: dict[str, int] = field(default_factory=dict)
    n_total: dict[str, int] = field(default_factory=dict)
    method: str = "default"
    reconstruction: object | None = None      # reconstruct.Reconstruction
    warnings: list[str] = field(default_factory=list)

    @property
    def ipd(self) -> pd.DataFrame | None:
        return None if self.reconstruction is None else self.reconstruction.ipd

    def curves_frame(self) -> pd.DataFrame:
        """Digitized step corners of every arm: arm, time, survival."""
        rows = [pd.DataFrame({"arm": a.name, "time": a.time, "survival": a.survival}) for a in self.arms]
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["arm", "time", "survival"])

    def marks_frame(self) -> pd.DataFrame:
        """Censor-mark times of every arm: arm, time."""
        rows = [pd.DataFrame({"arm": a.name, "time": a.censor_times}) for a in self.arms]
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["arm", "time"])


def auto_arm_specs(image, plot_area) -> list[ArmSpec]:
    """Arms named arm1, arm2, ... in the colours :func:`digitize.colors.find_arm_colors` finds."""
    from digitize.colors import find_arm_colors

    colours = find_arm_colors(image, plot_area)
    if not colours:
        raise KMReconError("no curve colours found inside the plot area; give them with --arm NAME=#RRGGBB")
    return [ArmSpec(f"arm{i + 1}", c) for i, c in enumerate(colours)]


def run_pipeline(
    image,
    calibration: Calibration,
    arms: list[ArmSpec] | None = None,
    *,
    risk_table: RiskTable | None = None,
    total_events: dict[str, int] | None = None,
    n_total: dict[str, int] | None = None,
    method: str = "default",
    mask: np.ndarray | None = None,
    plot_area: tuple[int, int, int, int] | None = None,
    reconstruct_ipd: bool = True,
    progress=None,
) -> PipelineResult:
    """Extract every arm and reconstruct its IPD.

    arms None: colours found automatically (names arm1, arm2, ...). risk_table rows, N and D are
    matched to arms by name. An arm whose colour is not found raises :class:`KMReconError`
    naming it (nothing to reconstruct from). progress: callable(fraction 0-1).
    """
    from digitize.jpeg import analysis_image
    from digitize.plotarea import default_plot_area

    img = analysis_image(np.asarray(image))
    if plot_area is None:
        plot_area = default_plot_area(img, calibration)
    plot_area = tuple(int(v) for v in plot_area)
    specs = list(arms) if arms else auto_arm_specs(img, plot_area)
    total_events = dict(total_events or {})
    n_total = dict(n_total or {})
    names = {s.name for s in specs}
    warnings: list[str] = []
    for label, d in (("--total-events", total_events), ("N", n_total)):
        unknown = sorted(set(d) - names)
        if unknown:
            raise KMReconError(f"{label} names arm(s) {', '.join(unknown)}, but the arms are "
                               f"{', '.join(sorted(names))}")
    if risk_table is not None:
        unmatched = sorted(set(risk_table.arms) - names)
        missing = sorted(names - set(risk_table.arms))
        if unmatched:
            warnings.append(f"risk-table row(s) {', '.join(unmatched)} match no arm (arms: "
                            f"{', '.join(sorted(names))}); they are not used")
        if missing and not unmatched:
            warnings.append(f"no risk-table row for arm(s) {', '.join(missing)}")

    def stage(lo, hi):
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))

    extracted = extract_arms(img, calibration, specs, mask=mask, plot_area=plot_area,
                             progress=stage(0.0, 0.7))
    empty = [a for a in extracted if a.empty]
    if empty:
        raise KMReconError("; ".join(a.warnings[0] for a in empty))
    for a in extracted:
        warnings.extend(a.warnings)
    result = PipelineResult(calibration, plot_area, specs, extracted, risk_table, total_events,
                            n_total, method, None, warnings)
    if reconstruct_ipd:
        from reconstruct import reconstruct

        data = [a.to_arm_data(risk_table, n_total.get(a.name), total_events.get(a.name)) for a in extracted]
        # A traced curve can stop a little short of the last risk-table time (the tail is
        # thin or hidden under a mark); extend it flat there instead of failing the figure.
        result.reconstruction = reconstruct(data, method=method, progress=stage(0.7, 1.0),
                                            extend_to_risk_times=True)
    if progress is not None:
        progress(1.0)
    return result
