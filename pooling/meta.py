"""Inverse-variance meta-analysis of one effect per study: fixed effect and random effects.

Estimators of the between-study variance τ²:

* ``fe``  fixed effect (τ² = 0);
* ``dl``  DerSimonian & Laird (1986), τ² = max(0, (Q − df)/(Σw − Σw²/Σw));
* ``reml`` restricted maximum likelihood (Viechtbauer 2005, Fisher scoring as in metafor),
  checked against τ² = 0 and a grid so a local maximum is never reported;
* ``pm``  Paule & Mandel (1982): τ² solving Σw*(y − μ)² = k − 1 (0 if already below at 0).

Pooled μ = Σw*y/Σw* with w* = 1/(v + τ²), SE = 1/√Σw*, z-based CI; with Hartung & Knapp (2001)
SE² = Σw*(y − μ)²/((k − 1)Σw*) and a t_{k−1} CI (no truncation, metafor's default).
Q and I² = max(0, (Q − df)/Q) are the fixed-effect Cochran statistics for every method (metafor
reports a τ²-based I² for REML/PM instead). Prediction interval (Higgins et al. 2009):
μ ± t_{k−2}·√(τ² + SE²), k ≥ 3.

statsmodels' ``combine_effects`` supplies Q, the fixed-effect fit and the DL/PM τ². It is wrapped
because it leaves the DL τ² and I² untruncated (negative when Q < df) and has no REML.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from kmrecon.errors import KMReconError
from pooling.transform import back_transform_interval, check_scale, from_scale, to_scale

METHODS = ("fe", "dl", "reml", "pm")


@dataclass
class MetaResult:
    """One pooled estimate on the analysis scale (``scale``); ``natural()`` moves it back."""

    method: str
    scale: str
    hk: bool
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    q: float
    q_p: float
    i2: float           # percent
    pvalue: float       # test of estimate = 0 on the analysis scale
    weights: np.ndarray  # relative weights, percent
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)

    def natural(self, bounded: bool = True) -> dict:
        """estimate, CI and PI back on the natural scale; ``bounded`` clips into [0, 1]
        (survival probabilities; pass False for medians)."""
        lo, hi = back_transform_interval(self.ci_low, self.ci_high, self.scale, bounded)
        plo, phi = back_transform_interval(self.pi_low, self.pi_high, self.scale, bounded)
        return {"estimate": float(from_scale(self.estimate, self.scale, bounded)), "ci_low": float(lo),
                "ci_high": float(hi), "pi_low": float(plo), "pi_high": float(phi)}


class MetaAnalysis:
    """Fitter in the lifelines style: ``MetaAnalysis("reml", hk=True).fit(yi, vi).result_``.

    ``yi``, ``vi`` are effects and their variances already on ``scale`` (like metafor's rma);
    ``scale`` only says how :meth:`MetaResult.natural` back-transforms.
    """

    def __init__(self, method: str = "reml", scale: str = "raw", hk: bool = False, alpha: float = 0.05):
        if method not in METHODS:
            raise KMReconError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
        self.method = method
        self.scale = check_scale(scale)
        self.hk = bool(hk)
        self.alpha = float(alpha)
        self.result_: MetaResult | None = None

    def fit(self, yi, vi) -> "MetaAnalysis":
        self.result_ = meta_analysis(yi, vi, self.method, self.hk, self.alpha, self.scale)
        return self

    def fit_survival(self, s, se) -> "MetaAnalysis":
        """Transform S and SE(S) to this scale, then fit."""
        yi, vi = to_scale(s, se, self.scale)
        return self.fit(yi, vi)


def tau2_reml(yi, vi, tau2_start: float = 0.0, tol: float = 1e-10, max_iter: int = 1000) -> float:
    """REML τ² by the fixed-point/Fisher-scoring update of metafor:
    τ² ← max(0, Σw²[(y − μ)² − v]/Σw² + 1/Σw), w = 1/(v + τ²)."""
    tau2 = max(float(tau2_start), 0.0)
    for _ in range(max_iter):
        w = 1.0 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        new = max(0.0, np.sum(w**2 * ((yi - mu) ** 2 - vi)) / np.sum(w**2) + 1.0 / np.sum(w))
        if abs(new - tau2) < tol * max(1.0, tau2):
            return new
        tau2 = new
    return tau2


def restricted_loglik(tau2: float, yi, vi) -> float:
    """REML log-likelihood of τ² (up to a constant): −½[Σlog(v + τ²) + log Σw + Σw(y − μ)²]."""
    w = 1.0 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    return float(-0.5 * (np.sum(np.log(vi + tau2)) + np.log(np.sum(w)) + np.sum(w * (yi - mu) ** 2)))


def tau2_reml_global(yi, vi, tau2_start: float = 0.0) -> float:
    """REML τ² at the global maximum of the restricted likelihood on τ² ≥ 0.

    The Fisher-scoring update (:func:`tau2_reml`) climbs to the nearest local maximum; the
    restricted likelihood can have two (a boundary maximum at 0 and an interior one), and
    metafor keeps the higher. So the candidates are: the update started from ``tau2_start``
    (DL) and from 0, τ² = 0 itself, and the best point of a log-spaced grid up to
    100·(var(y) + max v) refined by bounded search (the fallback when scoring fails to settle).
    """
    from scipy.optimize import minimize_scalar

    cands = [0.0, tau2_reml(yi, vi, tau2_start), tau2_reml(yi, vi, 0.0)]
    top = 100.0 * (float(np.var(yi)) + float(np.max(vi))) + 1e-12
    grid = np.concatenate([[0.0], np.geomspace(top * 1e-8, top, 200)])
    ll = np.array([restricted_loglik(t, yi, vi) for t in grid])
    j = int(np.argmax(ll))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    if hi > lo:
        res = minimize_scalar(lambda t: -restricted_loglik(t, yi, vi), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12 * max(1.0, hi)})
        cands.append(float(res.x))
    cands.append(float(grid[j]))
    cands = [c for c in cands if np.isfinite(c) and c >= 0]
    lls = [restricted_loglik(c, yi, vi) for c in cands]
    best = cands[int(np.argmax(lls))]
    if best > 0:  # polish with scoring from there (the fixed point metafor reports)
        polished = tau2_reml(yi, vi, best)
        if restricted_loglik(polished, yi, vi) >= max(lls) - 1e-12 * max(1.0, abs(max(lls))):
            best = polished
    return best


def tau2_pm(yi, vi) -> float:
    """Paule–Mandel τ²: the root of Q_gen(τ²) = k − 1 (Q_gen falls monotonically in τ²), 0 when
    Q_gen(0) ≤ k − 1. Bracketed root finding, so it cannot fail to converge."""
    from scipy.optimize import brentq

    df = yi.size - 1
    if _q_gen(0.0, yi, vi) <= df:
        return 0.0
    hi = max(float(np.var(yi)), 1e-12)
    while _q_gen(hi, yi, vi) > df and hi < 1e300:
        hi *= 10.0
    return float(brentq(lambda t: _q_gen(t, yi, vi) - df, 0.0, hi, xtol=1e-14, rtol=1e-12, maxiter=500))


def _q_gen(tau2, yi, vi):
    w = 1.0 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    return np.sum(w * (yi - mu) ** 2)


def meta_analysis(yi, vi, method: str = "reml", hk: bool = False, alpha: float = 0.05,
                  scale: str = "raw") -> MetaResult:
    """Pool ``yi`` (variances ``vi``) with ``method`` (fe|dl|reml|pm), optionally Hartung–Knapp."""
    import warnings

    from statsmodels.stats.meta_analysis import combine_effects as _combine

    def combine_effects(*a, **kw):
        # statsmodels takes the square root of its (possibly negative) untruncated τ²-based
        # variances and warns; only its τ² is used here, truncated below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return _combine(*a, **kw)

    if method not in METHODS:
        raise KMReconError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
    if method == "fe" and hk:
        raise KMReconError("the Hartung-Knapp CI is for random-effects models: drop --hk or use "
                           "method reml, dl or pm")
    yi = np.asarray(yi, dtype=float).ravel()
    vi = np.asarray(vi, dtype=float).ravel()
    if yi.size == 0 or yi.size != vi.size:
        raise KMReconError("meta-analysis needs one variance per effect and at least one study")
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi)) and np.all(vi > 0)):
        raise KMReconError("meta-analysis needs finite effects and positive finite variances")
    k = yi.size
    z = stats.norm.ppf(1 - alpha / 2)
    if k == 1:  # the study itself; no heterogeneity to estimate
        se = float(np.sqrt(vi[0]))
        return MetaResult(method, scale, hk, 1, float(yi[0]), se, float(yi[0] - z * se),
                          float(yi[0] + z * se), np.nan, np.nan, 0.0, 0.0, np.nan, 0.0,
                          float(2 * stats.norm.sf(abs(yi[0]) / se)), np.array([100.0]), yi, vi)

    w_fe = 1.0 / vi
    mu_fe = np.sum(w_fe * yi) / np.sum(w_fe)
    df = k - 1
    if method == "dl":
        res = combine_effects(yi, vi, method_re="chi2")
        tau2 = max(0.0, float(res.tau2))  # statsmodels leaves it negative when Q < df
    elif method == "pm":
        # statsmodels iterates the PM equation; it is only defined when Q(τ²=0) > k − 1, and its
        # iteration can stop early: the bracketed root (tau2_pm) is the fallback
        tau2 = 0.0
        if _q_gen(0.0, yi, vi) > df:
            tau2 = max(0.0, float(combine_effects(yi, vi, method_re="iterated").tau2))
            if not (np.isfinite(tau2) and abs(_q_gen(tau2, yi, vi) - df) <= 1e-6 * df):
                tau2 = tau2_pm(yi, vi)
    elif method == "reml":
        dl = combine_effects(yi, vi, method_re="chi2")
        tau2 = tau2_reml_global(yi, vi, max(0.0, float(dl.tau2)))
    else:
        tau2 = 0.0
    q = float(np.sum(w_fe * (yi - mu_fe) ** 2))
    q_p = float(stats.chi2.sf(q, df))
    i2 = 100.0 * max(0.0, (q - df) / q) if q > 0 else 0.0  # statsmodels' i2 is not truncated

    w = 1.0 / (vi + tau2)
    mu = float(np.sum(w * yi) / np.sum(w))
    if hk:
        se = float(np.sqrt(np.sum(w * (yi - mu) ** 2) / (df * np.sum(w))))
        crit = stats.t.ppf(1 - alpha / 2, df)
        pval = float(2 * stats.t.sf(abs(mu) / se, df)) if se > 0 else 0.0
    else:
        se = float(1.0 / np.sqrt(np.sum(w)))
        crit = z
        pval = float(2 * stats.norm.sf(abs(mu) / se))
    if method != "fe" and k >= 3:
        half = stats.t.ppf(1 - alpha / 2, k - 2) * np.sqrt(tau2 + se**2)
        pi_lo, pi_hi = mu - half, mu + half
    else:
        pi_lo = pi_hi = np.nan
    return MetaResult(method, scale, hk, k, mu, se, mu - crit * se, mu + crit * se, float(pi_lo),
                      float(pi_hi), float(tau2), q, q_p, float(i2), pval, 100.0 * w / np.sum(w), yi, vi)
