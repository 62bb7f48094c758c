"""Transformations for pooling survival probabilities (two-stage approach).

S and its SE are moved to a scale where they are closer to normal, pooled there and moved back.
Variances come from the delta method:

========  ==============  ============================
scale     y               Var(y)
========  ==============  ============================
cloglog   log(−log S)     SE² / (S·log S)²
logit     log(S/(1−S))    SE² / (S(1−S))²
log       log S           SE² / S²
arcsine   asin √S         SE² / (4 S (1−S))
raw       S               SE²
========  ==============  ============================

exp(−exp(y)) is decreasing, so on the cloglog scale the CI limits swap on the way back;
:func:`back_transform_interval` sorts them.
"""
from __future__ import annotations

import numpy as np

from kmrecon.errors import KMReconError

SCALES = ("cloglog", "logit", "log", "arcsine", "raw")


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise KMReconError(f"unknown scale '{scale}': use one of {', '.join(SCALES)}")
    return scale


def clip_survival(s: float, se: float, n: float | None, label: str = "study") -> tuple[float, float, str]:
    """Keep S off 0 and 1 and give it a usable SE.

    S = 1 (no event yet) or S = 0 (all dead) is undefined on the cloglog/logit scales and has a
    Greenwood SE of 0 (infinite weight) on every scale. Such values move half a patient in from
    the bound, S = 1 − 0.5/n or 0.5/n, with the binomial SE √(S(1−S)/n); n is the number of
    patients (100 if unknown). Returns (S, SE, note) with an empty note when nothing changed.
    """
    if 0.0 < s < 1.0 and se > 0.0:
        return s, se, ""
    n_eff = float(n) if n and n > 0 else 100.0
    new_s = min(max(s, 0.5 / n_eff), 1.0 - 0.5 / n_eff)
    new_se = float(np.sqrt(new_s * (1 - new_s) / n_eff))
    note = (f"{label}: S={s:.4g} with SE={se:.3g} is on a bound; used S={new_s:.4g}, "
            f"SE={new_se:.3g} (half a patient in from the bound, binomial SE)")
    return new_s, new_se, note


def to_scale(s, se, scale: str):
    """(y, v): S and SE(S) mapped to ``scale`` (arrays or floats). S must be inside (0, 1)."""
    check_scale(scale)
    s = np.asarray(s, dtype=float)
    se = np.asarray(se, dtype=float)
    if scale == "cloglog":
        return np.log(-np.log(s)), se**2 / (s * np.log(s)) ** 2
    if scale == "logit":
        return np.log(s / (1 - s)), se**2 / (s * (1 - s)) ** 2
    if scale == "log":
        return np.log(s), se**2 / s**2
    if scale == "arcsine":
        return np.arcsin(np.sqrt(s)), se**2 / (4 * s * (1 - s))
    return s, se**2


def from_scale(y, scale: str, bounded: bool = True):
    """Inverse of :func:`to_scale`; ``bounded`` clips into [0, 1] (probabilities; not medians)."""
    check_scale(scale)
    y = np.asarray(y, dtype=float)
    if scale == "cloglog":
        out = np.exp(-np.exp(y))
    elif scale == "logit":
        out = 1 / (1 + np.exp(-y))
    elif scale == "log":
        out = np.exp(y)
    elif scale == "arcsine":
        out = np.sin(np.clip(y, 0, np.pi / 2)) ** 2
    else:
        out = y
    return np.clip(out, 0.0, 1.0) if bounded else out


def back_transform_interval(lo, hi, scale: str, bounded: bool = True):
    """Interval limits back on the natural scale, lower first (cloglog swaps them)."""
    a, b = from_scale(lo, scale, bounded), from_scale(hi, scale, bounded)
    return np.minimum(a, b), np.maximum(a, b)
