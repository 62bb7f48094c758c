"""Accuracy diagnostics of a reconstruction against its own inputs.

Everything is measured against what the user supplied (the cleaned digitized curve, the
published numbers at risk, D), never against unknown truth: per risk-table interval the
published vs reconstructed number at risk with events and censorings, events vs D, and the
distance between the reconstructed KM and the digitized curve -- IAE (integral of |ΔS| over
the curve's time range divided by that range, so it is unit-free), max |ΔS| (absolute, not
signed) and RMSE (vertical distance of each digitized point to the reconstructed step curve).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from kmrecon.jsonio import json_safe
from kmrecon.km import km_table
from reconstruct.preprocess import PreparedCurve

#: a median on a flat step within this of 0.5 is on a knife edge
PLATEAU_TOLERANCE = 1e-9


@dataclass
class ArmDiagnostics:
    """How well one arm's reconstruction reproduces its inputs (times in x-axis units)."""

    arm: str
    method: str
    intervals: list[dict]          # start, end, n_published, n_reconstructed, events, censored
    events: int
    events_target: int | None      # D when given
    n_total: int
    n_estimated: bool
    iae: float
    max_abs_dev: float
    rmse: float
    median: float | None           # reconstructed KM median (first time S <= 0.5), None if not reached
    median_on_plateau: bool        # S is exactly 0.5 on a flat step: median is a knife edge
    censored: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-safe dict (plain floats/ints/None)."""
        return json_safe(asdict(self))

    @property
    def risk_matched(self) -> bool:
        """True when every published number at risk is reproduced exactly."""
        return all(
            iv["n_published"] is None or iv["n_published"] == iv["n_reconstructed"]
            for iv in self.intervals
        )

    def summary_line(self) -> str:
        ev = f"{self.events}" + (f" (D = {self.events_target})" if self.events_target is not None else "")
        n = f"{self.n_total}" + (" (estimated)" if self.n_estimated else "")
        med = "not reached" if self.median is None else f"{self.median:.4g}"
        if self.median_on_plateau:
            med += " (on a plateau at 0.5: knife edge)"
        published = [iv for iv in self.intervals if iv["n_published"] is not None]
        matched = sum(iv["n_published"] == iv["n_reconstructed"] for iv in published)
        risk = f", at-risk matched {matched}/{len(published)}" if published else ""
        return (
            f"{self.arm}: N = {n}, events {ev}, censored {self.censored}{risk}, "
            f"IAE {self.iae:.5f}, max|dS| {self.max_abs_dev:.4f}, RMSE {self.rmse:.4f}, median {med}"
        )


def km_steps(time, event) -> tuple[np.ndarray, np.ndarray]:
    """KM of IPD as a right-continuous step function: distinct event times and S after each."""
    tab = km_table(time, event)
    tab = tab[tab["events"] > 0]
    return tab["time"].to_numpy(float), tab["survival"].to_numpy(float)


def _step_eval(times: np.ndarray, values: np.ndarray, at: np.ndarray, left: bool = False) -> np.ndarray:
    if times.size == 0:
        return np.ones(np.shape(at))
    side = "left" if left else "right"
    pos = np.searchsorted(times, at, side=side) - 1
    return np.where(pos >= 0, values[np.maximum(pos, 0)], 1.0)


def curve_distance(curve: PreparedCurve, time, event) -> tuple[float, float, float]:
    """(IAE, max |ΔS|, RMSE) of the KM of IPD (time, event) against the cleaned curve."""
    kt, ks = km_steps(time, event)
    t0, t1 = 0.0, curve.t_end
    span = t1 - t0
    grid = np.unique(np.concatenate([curve.time, kt[(kt >= t0) & (kt <= t1)], [t0, t1]]))
    diff = np.abs(curve.evaluate(grid) - _step_eval(kt, ks, grid))
    # both are right-continuous steps, constant on [grid_j, grid_{j+1}): exact integral and sup
    iae = float(np.sum(diff[:-1] * np.diff(grid)) / span) if span > 0 else 0.0
    max_dev = float(max(diff.max(), 0.0))
    # vertical distance from each digitized point to the reconstructed step curve at its time
    hi = _step_eval(kt, ks, curve.time, left=True)
    lo = _step_eval(kt, ks, curve.time)
    s = curve.survival
    dist = np.where(s > hi, s - hi, np.where(s < lo, lo - s, 0.0))
    rmse = float(np.sqrt(np.mean(dist**2)))
    return iae, max_dev, rmse


def km_median(time, event) -> tuple[float | None, bool]:
    """Median of the KM of IPD: first time S <= 0.5 (lifelines' convention), and whether S equals
    0.5 on a flat step there (R's survfit then reports the middle of that step instead)."""
    kt, ks = km_steps(time, event)
    hit = np.flatnonzero(ks <= 0.5 + PLATEAU_TOLERANCE)
    if hit.size == 0:
        return None, False
    j = hit[0]
    return float(kt[j]), bool(abs(ks[j] - 0.5) <= PLATEAU_TOLERANCE)


def interval_table(time, event, risk_times, n_risk, t_end: float) -> list[dict]:
    """Per risk-table interval [t_i, t_{i+1}): published and reconstructed number at risk at t_i,
    events and censorings in the interval; the last interval runs to the curve's end."""
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    starts = np.asarray(risk_times, float)
    published: list[int | None] = [int(v) for v in n_risk]
    if starts.size == 0 or starts[0] > 0:
        starts = np.concatenate([[0.0], starts])
        published = [None] + published
    rows = []
    for j, start in enumerate(starts):
        end = starts[j + 1] if j + 1 < starts.size else np.inf
        inside = (time >= start) & (time < end)
        rows.append(
            {
                "start": float(start),
                "end": float(end) if np.isfinite(end) else float(t_end),
                "n_published": published[j],
                "n_reconstructed": int(np.sum(time >= start)),
                "events": int(event[inside].sum()),
                "censored": int((1 - event[inside]).sum()),
            }
        )
    return rows


def diagnose(name: str, method: str, arm_input, result) -> ArmDiagnostics:
    """Diagnostics of one arm's :class:`~reconstruct.arm.ArmResult` against its input."""
    iae, max_dev, rmse = curve_distance(arm_input.curve, result.time, result.event)
    median, plateau = km_median(result.time, result.event)
    events = int(np.sum(result.event))
    return ArmDiagnostics(
        arm=name,
        method=method,
        intervals=interval_table(
            result.time, result.event, arm_input.risk_times, arm_input.n_risk, arm_input.curve.t_end
        ),
        events=events,
        events_target=arm_input.total_events,
        n_total=int(result.time.size),
        n_estimated=bool(result.n_estimated),
        iae=iae,
        max_abs_dev=max_dev,
        rmse=rmse,
        median=median,
        median_on_plateau=plateau,
        censored=int(result.time.size - events),
        notes=list(arm_input.notes) + list(result.notes),
    )
