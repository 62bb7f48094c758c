"""Per-study Kaplan–Meier summaries from IPD: survival at landmark times and the median.

Time is in the study's own unit (days or months, as in its IPD); survival is a probability.

* KM and its event table come from lifelines' ``KaplanMeierFitter``.
* Greenwood (1926): G(t) = Σ d_j / (n_j (n_j − d_j)) = Var(log S(t)); SE(S) = S·√G.
* Pointwise CIs (z = Φ⁻¹(1 − α/2)): ``log`` S·exp(±zσ) (R's default), ``log-log``
  S^exp(±zσ/log S) (lifelines' band), ``plain`` S ± zSσ. lifelines only offers the
  log-log band, so the bands are computed here.
* Median: smallest t with S(t) ≤ 0.5, with R survival's rule for a flat step lying exactly at
  0.5 (the midpoint of that step; lifelines returns its left end). Brookmeyer & Crowley (1982)
  CI: the times where the CI band crosses 0.5 (lower limit where the lower band first falls to
  0.5, upper limit where the upper band does); NaN means "not reached".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from kmrecon.errors import KMReconError

CONF_TYPES = ("log-log", "log", "plain")
#: R survival's tolerance for "the curve is exactly at the quantile" (sqrt of machine epsilon)
_FLAT_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass
class KMCurve:
    """A fitted KM curve at its distinct observed times (study time units).

    survival[j] and greenwood[j] hold just after times[j]; n_risk/events are the counts at
    times[j]; n is the number of patients; t_max the largest follow-up time.
    """

    times: np.ndarray
    n_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    greenwood: np.ndarray
    n: int
    n_events: int
    t_max: float


@dataclass
class LandmarkEstimate:
    """S(t) with Greenwood SE and a pointwise CI; n_risk is the number still at risk at t."""

    time: float
    survival: float
    se: float
    ci_low: float
    ci_high: float
    n_risk: int
    log_var: float  # Greenwood G(t) = Var(log S(t))


@dataclass
class MedianEstimate:
    """Median survival with its Brookmeyer–Crowley CI; NaN = not reached."""

    median: float
    ci_low: float
    ci_high: float

    @property
    def reached(self) -> bool:
        return bool(np.isfinite(self.median))


def fit_km(time, event, label: str = "study") -> KMCurve:
    """Fit a KM curve to IPD (``time`` in study units, ``event`` 1 = death, 0 = censored)."""
    from lifelines import KaplanMeierFitter  # heavy import kept local

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    if time.size == 0:
        raise KMReconError(f"{label}: the IPD has no patients")
    if time.shape != event.shape:
        raise KMReconError(f"{label}: time and event columns differ in length")
    if not np.all(np.isfinite(time)) or np.any(time < 0):
        raise KMReconError(f"{label}: IPD times must be finite and >= 0")
    if not np.all(np.isin(event, (0, 1))):
        raise KMReconError(f"{label}: IPD event must be 1 (event) or 0 (censored)")
    kmf = KaplanMeierFitter().fit(time, event)
    tab = kmf.event_table
    t = tab.index.to_numpy(dtype=float)
    n_risk = tab["at_risk"].to_numpy(dtype=float)
    d = tab["observed"].to_numpy(dtype=float)
    surv = kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    greenwood = np.cumsum(term)  # inf once S reaches 0
    return KMCurve(t, n_risk, d, surv, greenwood, int(time.size), int(event.sum()), float(time.max()))


def confidence_band(surv, log_var, conf_type: str = "log-log", alpha: float = 0.05):
    """Pointwise (lower, upper) CI of S for Greenwood Var(log S) = ``log_var``."""
    if conf_type not in CONF_TYPES:
        raise KMReconError(f"unknown CI type '{conf_type}': use one of {', '.join(CONF_TYPES)}")
    s = np.asarray(surv, dtype=float)
    sigma = np.sqrt(np.asarray(log_var, dtype=float))
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            lo, hi = s * np.exp(-z * sigma), np.minimum(s * np.exp(z * sigma), 1.0)
        elif conf_type == "plain":
            lo, hi = np.maximum(s - z * s * sigma, 0.0), np.minimum(s + z * s * sigma, 1.0)
        else:
            log_s = np.log(s)
            # log S < 0, so exp(-zσ/log S) > 1 gives the lower limit
            lo = s ** np.exp(-z * sigma / log_s)
            hi = s ** np.exp(z * sigma / log_s)
            flat = s >= 1.0  # no events yet: the band collapses to 1
            lo, hi = np.where(flat, 1.0, lo), np.where(flat, 1.0, hi)
    zero = s <= 0.0
    lo, hi = np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)
    return np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=1.0)


def survival_at(curve: KMCurve, t: float, conf_type: str = "log-log", alpha: float = 0.05,
                label: str = "study") -> LandmarkEstimate:
    """KM S(t) with Greenwood SE and CI; t beyond the last follow-up time is an error."""
    t = float(t)
    if t > curve.t_max:
        raise KMReconError(
            f"{label}: time {t:g} is beyond the study's follow-up (last time {curve.t_max:g}); "
            "drop that landmark time or this study"
        )
    j = np.searchsorted(curve.times, t, side="right") - 1
    s = float(curve.survival[j]) if j >= 0 else 1.0
    g = float(curve.greenwood[j]) if j >= 0 else 0.0
    lo, hi = confidence_band(np.array([s]), np.array([g]), conf_type, alpha)
    se = s * np.sqrt(g) if np.isfinite(g) else 0.0
    return LandmarkEstimate(t, s, float(se), float(lo[0]), float(hi[0]), n_at_risk(curve, t), g)


def n_at_risk(curve: KMCurve, t: float) -> int:
    """Number of patients still at risk at time t (time >= t)."""
    return int(curve.n - _removed(curve)[curve.times < t].sum())


def _removed(curve: KMCurve) -> np.ndarray:
    """Patients leaving the risk set at each curve time (events + censored)."""
    nxt = np.append(curve.n_risk[1:], 0.0)
    return np.maximum(curve.n_risk - nxt, 0).astype(int)


def quantile_crossing(times, values, p: float = 0.5, t_max: float | None = None) -> float:
    """First time a non-increasing step function falls to ``p`` or below (R survival's rule).

    ``values[j]`` holds from ``times[j]`` on. When the function sits exactly on ``p`` (within
    √eps) the answer is the midpoint of that flat step, up to the next drop or ``t_max`` at the
    end of the curve (R ``quantile.survfit``). NaN when it never gets there (not reached).
    """
    x = np.asarray(times, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan")
    keep = np.ones(y.size, bool)
    keep[1:] = y[1:] != y[:-1]  # drop repeats (censor-only times)
    x, y = x[keep], y[keep]
    hit = np.nonzero(y <= p + _FLAT_TOL)[0]
    if hit.size == 0:
        return float("nan")
    i = hit[0]
    if abs(y[i] - p) < _FLAT_TOL:
        upper = x[i + 1] if i + 1 < x.size else (t_max if t_max is not None else x[i])
        return float((x[i] + upper) / 2)
    return float(x[i])


def median_survival(curve: KMCurve, conf_type: str = "log-log", alpha: float = 0.05) -> MedianEstimate:
    """Median with the Brookmeyer–Crowley CI for the chosen band (NaN = not reached)."""
    lo, hi = confidence_band(curve.survival, curve.greenwood, conf_type, alpha)
    return MedianEstimate(
        quantile_crossing(curve.times, curve.survival, 0.5, curve.t_max),
        quantile_crossing(curve.times, lo, 0.5, curve.t_max),
        quantile_crossing(curve.times, hi, 0.5, curve.t_max),
    )


def median_se_from_ci(median: float, ci_low: float, ci_high: float, alpha: float = 0.05) -> float:
    """SE of a median from its CI (McGrath et al. 2025): (U − L)/(2z), or (m − L)/z when the
    upper limit is not reached (NaN). NaN if neither works."""
    z = stats.norm.ppf(1 - alpha / 2)
    if np.isfinite(ci_low) and np.isfinite(ci_high):
        return float((ci_high - ci_low) / (2 * z))
    if np.isfinite(ci_low) and np.isfinite(median):
        return float((median - ci_low) / z)
    return float("nan")
