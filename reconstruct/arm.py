"""Validated per-arm input shared by both reconstruction methods, and their common result."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kmrecon.data import ArmData
from reconstruct.errors import ReconstructionInputError
from reconstruct.preprocess import PreparedCurve, preprocess_curve


#: risk times up to this fraction of the curve's time range past its last point extend the curve
RISK_END_SLACK = 0.01


@dataclass
class ArmInput:
    """One arm, checked and cleaned. Times in x-axis units; counts are integers.

    risk_times/n_risk: the arm's risk table restricted to times within the curve (may be empty).
    n_total: N when known (from the risk table at time 0 or given), else None.
    """

    name: str
    curve: PreparedCurve
    risk_times: np.ndarray
    n_risk: np.ndarray
    n_total: int | None
    total_events: int | None
    censor_times: np.ndarray
    notes: list[str] = field(default_factory=list)


@dataclass
class ArmResult:
    """Reconstructed IPD for one arm: times (x-axis units) and event flags (1 event, 0 censored)."""

    time: np.ndarray
    event: np.ndarray
    n_total: int
    n_estimated: bool = False
    notes: list[str] = field(default_factory=list)


def _as_count(value: float, what: str) -> int:
    if not np.isfinite(value) or value < 0:
        raise ReconstructionInputError(f"{what} must be a whole number >= 0, got {value!r}")
    if abs(value - round(value)) > 1e-6:
        raise ReconstructionInputError(f"{what} must be a whole number, got {value!r}")
    return int(round(value))


def prepare_arm(arm: ArmData) -> ArmInput:
    """Clean the curve and check the risk table, N, D and censor marks against it."""
    label = f"arm '{arm.name}'"
    curve = preprocess_curve(arm.time, arm.survival, arm.name)
    notes = list(curve.notes)
    t_end = curve.t_end
    if t_end <= 0:
        raise ReconstructionInputError(
            f"{label}: the curve has no points after time 0; digitize the curve along the time axis"
        )
    slack = 1e-9 * max(1.0, abs(t_end))
    times = np.empty(0)
    counts = np.empty(0, int)
    if arm.risk_times is not None and arm.risk_times.size:
        rt = np.asarray(arm.risk_times, float)
        rn = np.asarray(arm.n_risk, float)
        blank = np.isnan(rn)
        if blank.any():
            notes.append(f"ignored {int(blank.sum())} blank risk-table cell(s)")
            rt, rn = rt[~blank], rn[~blank]
        order = np.argsort(rt, kind="stable")
        rt, rn = rt[order], rn[order]
        for j, (tt, nn) in enumerate(zip(rt, rn)):
            if not np.isfinite(tt) or tt < 0:
                raise ReconstructionInputError(
                    f"{label}: risk-table time {tt!r} (column {j + 1}) must be a number >= 0"
                )
        dup = np.flatnonzero(np.diff(rt) == 0)
        if dup.size:
            raise ReconstructionInputError(
                f"{label}: risk-table time {rt[dup[0]]:g} appears twice; keep one count per time"
            )
        counts = np.array(
            [_as_count(nn, f"{label}: number at risk at time {tt:g}") for tt, nn in zip(rt, rn)], int
        )
        up = np.flatnonzero(np.diff(counts) > 0)
        if up.size:
            j = up[0] + 1
            raise ReconstructionInputError(
                f"{label}: number at risk rises from {counts[j - 1]} at time {rt[j - 1]:g} to "
                f"{counts[j]} at time {rt[j]:g} (column {j + 1}); numbers at risk cannot increase"
            )
        # a risk time just past the last click (within RISK_END_SLACK of the time range) is
        # digitizing imprecision: the curve is extended flat to it
        near = (rt > t_end + slack) & (rt <= t_end * (1 + RISK_END_SLACK)) & (counts > 0)
        if near.any():
            new_end = float(rt[near].max())
            curve.time = np.append(curve.time, new_end)
            curve.survival = np.append(curve.survival, curve.survival[-1])
            notes.append(f"extended the curve flat from {t_end:g} to the risk-table time {new_end:g}")
            t_end = new_end
        beyond = rt > t_end + slack
        if beyond.any():
            bad = np.flatnonzero(beyond & (counts > 0))
            if bad.size:
                j = bad[0]
                raise ReconstructionInputError(
                    f"{label}: risk-table time {rt[j]:g} (column {j + 1}, {counts[j]} at risk) lies "
                    f"beyond the end of the digitized curve at {t_end:g}; extend the curve to it or "
                    f"remove that column"
                )
            notes.append(f"ignored {int(beyond.sum())} risk-table time(s) with 0 at risk after the curve ends")
            rt, counts = rt[~beyond], counts[~beyond]
        times = rt
    n_total = None
    if arm.n_total is not None:
        n_total = _as_count(arm.n_total, f"{label}: N (number of patients)")
        if n_total < 1:
            raise ReconstructionInputError(f"{label}: N must be at least 1")
        if counts.size and n_total < counts.max():
            raise ReconstructionInputError(
                f"{label}: N = {n_total} is smaller than the {int(counts.max())} at risk at time "
                f"{times[int(np.argmax(counts))]:g}; fix N or the risk table"
            )
        if times.size and times[0] == 0 and counts[0] != n_total:
            raise ReconstructionInputError(
                f"{label}: N = {n_total} differs from the {counts[0]} at risk at time 0"
            )
    if times.size and times[0] == 0:
        n_total = int(counts[0])
    if n_total is not None and n_total < 1:
        raise ReconstructionInputError(f"{label}: the number at risk at time 0 must be at least 1")
    total_events = None
    if arm.total_events is not None:
        total_events = _as_count(arm.total_events, f"{label}: D (total events)")
        if n_total is not None and total_events > n_total:
            raise ReconstructionInputError(
                f"{label}: D = {total_events} events is more than N = {n_total} patients"
            )
    cens = np.asarray(arm.censor_times, float)
    cens = cens[np.isfinite(cens)]
    if (cens < 0).any():
        raise ReconstructionInputError(
            f"{label}: censor mark at negative time {float(cens.min()):g}; times must be >= 0"
        )
    late = cens > t_end + slack
    if late.any():
        notes.append(f"ignored {int(late.sum())} censor mark(s) after the end of the curve")
        cens = cens[~late]
    return ArmInput(
        name=arm.name,
        curve=curve,
        risk_times=times,
        n_risk=counts,
        n_total=n_total,
        total_events=total_events,
        censor_times=np.sort(cens),
        notes=notes,
    )


def estimate_n(curve: PreparedCurve, lower: int = 1, upper: int | None = None) -> int:
    """Estimate the number of patients N from the heights of the first drops.

    With exact coordinates the first drop gives it directly (n = d / (1 - S_1 / S_0)).

    Before much censoring the number at risk just before drop k is about N * S_{k-1}, so the
    events d_k = N * (S_{k-1} - S_k) must be whole numbers >= 1. The smallest N in
    [lower, upper] whose implied event counts round well (rms rounding error < 0.15) is taken;
    multiples of the true N also fit, hence the smallest. Falls back to the best fit.
    """
    _, before, after = curve.steps()
    # exact coordinates: the first drop's factor 1 - d / n is a fraction with a whole n
    # (the number at risk at the first event, which is N unless someone left before it)
    if before.size and after[0] > 0:
        hazard = 1.0 - after[0] / before[0]
        cand = np.arange(1, 11) / hazard
        whole = np.flatnonzero(np.abs(cand - np.rint(cand)) <= 1e-6 * cand)
        if whole.size and np.rint(cand[whole[0]]) >= lower:
            return int(np.rint(cand[whole[0]]))
    heights = (before - after)[: 25]
    scale = before[: 25]
    heights, scale = heights[heights > 1e-9], scale[heights > 1e-9]
    if heights.size == 0:
        return max(lower, 1)
    if upper is None:
        upper = int(min(20000, max(lower + 10, np.ceil(2.0 / heights.min()))))
    upper = max(upper, lower)
    cand = np.arange(max(lower, 1), upper + 1, dtype=float)[:, None]
    # use only drops early enough that censoring has probably removed little (S above 0.6)
    use = scale >= min(0.6, float(scale.max()))
    d = cand * heights[use][None, :]
    err = np.sqrt(np.mean((d - np.maximum(np.round(d), 1.0)) ** 2, axis=1))
    good = np.flatnonzero(err < 0.15)
    pick = good[0] if good.size else int(np.argmin(err + 1e-4 * cand.ravel()))
    return int(cand[pick, 0])
