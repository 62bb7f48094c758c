"""Mean and SD from a median and range (a = minimum, m = median, b = maximum, n patients).

Used when a study reports only a median survival with its range: the SE of that median is
taken as SD/√n. Such studies are flagged, because a survival "range" is often a follow-up
range, and the sensitivity analysis drops them.

* Hozo, Djulbegovic & Hozo (2005), BMC Med Res Methodol 5:13:
  mean ≈ (a + 2m + b)/4 + (a − 2m + b)/(4n);
  SD² ≈ [a² + m² + b² + (n − 3)((a + m)² + (m + b)²)/8 − n·mean²]/(n − 1) (long form), or
  SD² ≈ [(a − 2m + b)²/4 + (b − a)²]/12 (simple form). Their rule: n ≤ 15 the simple form,
  15 < n ≤ 70 range/4, n > 70 range/6.
* Wan et al. (2014), BMC Med Res Methodol 14:135: SD ≈ (b − a)/ξ(n),
  ξ(n) = 2Φ⁻¹((n − 0.375)/(n + 0.25)).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from kmrecon.errors import KMReconError

SD_METHODS = ("hozo", "wan")


def _check(a, m, b, n, label):
    if not (np.isfinite(a) and np.isfinite(m) and np.isfinite(b)):
        raise KMReconError(f"{label}: median and range (min, max) must all be numbers")
    if not a <= m <= b or a == b:
        raise KMReconError(f"{label}: need min <= median <= max with min < max (got {a:g}, {m:g}, {b:g})")
    if not (np.isfinite(n) and n >= 2):
        raise KMReconError(f"{label}: the number of patients n must be at least 2 to use a range")


def hozo_mean(a: float, m: float, b: float, n: float) -> float:
    """Hozo et al. (2005) estimate of the mean."""
    return (a + 2 * m + b) / 4 + (a - 2 * m + b) / (4 * n)


def hozo_sd_formula(a: float, m: float, b: float, n: float) -> float:
    """Hozo's long-form SD (depends on n)."""
    mean = hozo_mean(a, m, b, n)
    var = (a**2 + m**2 + b**2 + (n - 3) * ((a + m) ** 2 + (m + b) ** 2) / 8 - n * mean**2) / (n - 1)
    return float(np.sqrt(max(var, 0.0)))


def hozo_sd_simple(a: float, m: float, b: float) -> float:
    """Hozo's simple-form SD, √([(a − 2m + b)²/4 + (b − a)²]/12) (the n ≤ 15 branch of the rule)."""
    return float(np.sqrt(((a - 2 * m + b) ** 2 / 4 + (b - a) ** 2) / 12))


def hozo_sd(a: float, m: float, b: float, n: float) -> float:
    """SD by Hozo's rule: n ≤ 15 simple form, 15 < n ≤ 70 range/4, n > 70 range/6."""
    if n <= 15:
        return hozo_sd_simple(a, m, b)
    if n <= 70:
        return (b - a) / 4
    return (b - a) / 6


def wan_sd(a: float, m: float, b: float, n: float) -> float:
    """Wan et al. (2014) SD from the range: (b − a)/(2Φ⁻¹((n − 0.375)/(n + 0.25)))."""
    return float((b - a) / (2 * stats.norm.ppf((n - 0.375) / (n + 0.25))))


def median_se_from_range(m: float, a: float, b: float, n: float, method: str = "hozo",
                         label: str = "study") -> float:
    """SE of a reported median from its range and n: SD (Hozo rule or Wan) / √n."""
    _check(a, m, b, n, label)
    if method not in SD_METHODS:
        raise KMReconError(f"unknown range method '{method}': use hozo or wan")
    sd = hozo_sd(a, m, b, n) if method == "hozo" else wan_sd(a, m, b, n)
    return float(sd / np.sqrt(n))
