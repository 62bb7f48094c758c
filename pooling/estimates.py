"""Per-study estimates: S(t) at landmark times and the median, each with an SE.

Sources, best first:

* IPD: KM with Greenwood SE; median with Brookmeyer–Crowley CI and SE = CI width/(2z)
  (:mod:`pooling.km`).
* A published survival table (S and numbers at risk at a few times): the life-table
  (actuarial) Greenwood variance. Censoring inside an interval is unknown, so the numbers at
  risk at its ends give the withdrawals c, the effective number at risk is n − c/2
  (Cutler & Ederer 1958), and Var(log S) = Σ d/(n'(n' − d)) with d the deaths (given, or
  q·n' with q = 1 − S_end/S_start).
* A reported median with CI: SE = (U − L)/(2z), or (m − L)/z if U is not reached.
* A reported median with range and n: SE = SD/√n, SD by Hozo's rule (or Wan); flagged.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from kmrecon.errors import KMReconError
from pooling.hozo import median_se_from_range
from pooling.km import confidence_band, fit_km, median_se_from_ci, median_survival, survival_at
from pooling.studies import Study, SurvivalTable


def measure_name(t: float) -> str:
    """Column label of a landmark, e.g. ``S(12)``."""
    return f"S({float(t):g})"


@dataclass
class StudyEstimate:
    """One study's value for one measure. ``estimate`` NaN = not usable (see ``note``)."""

    study: str
    arm: str
    subgroup: str
    measure: str
    source: str          # ipd | table | median_ci | median_range
    n: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    range_derived: bool = False  # SE from Hozo/Wan (median + range)
    note: str = ""

    @property
    def usable(self) -> bool:
        return bool(np.isfinite(self.estimate) and np.isfinite(self.se) and self.se >= 0)


def table_log_var(table: SurvivalTable) -> np.ndarray:
    """Actuarial Greenwood Var(log S) at each table time (0 at time 0)."""
    out = np.zeros(table.times.size)
    acc = 0.0
    for j in range(1, table.times.size):
        n0, n1 = table.n_risk[j - 1], table.n_risk[j]
        s0, s1 = table.survival[j - 1], table.survival[j]
        if s0 <= 0 or n0 <= 0:
            out[j] = np.inf
            continue
        q = 1.0 - s1 / s0
        d = table.events[j]
        if np.isfinite(d):
            c = max(n0 - n1 - d, 0.0)
            n_eff = n0 - c / 2
            term = d / (n_eff * (n_eff - d)) if n_eff > d else np.inf
        else:
            c = (n0 * (1 - q) - n1) / (1 - q / 2) if q < 1 else 0.0
            c = min(max(c, 0.0), max(n0 - n1, 0.0))
            n_eff = n0 - c / 2
            term = q / (n_eff * (1 - q)) if q < 1 else np.inf
        acc += term
        out[j] = acc
    return out


def _table_survival_at(study: Study, t: float, conf_type: str, alpha: float) -> StudyEstimate:
    tab = study.table
    base = dict(study=study.name, arm=study.arm or "", subgroup=study.subgroup,
                measure=measure_name(t), source="table", n=float(tab.n_risk[0]))
    if t > tab.times[-1] + 1e-9:
        raise KMReconError(
            f"study '{study.label}': time {t:g} is beyond its survival table (last time {tab.times[-1]:g}); "
            "drop that landmark time or this study")
    hit = np.nonzero(np.isclose(tab.times, t, rtol=1e-9, atol=1e-9))[0]
    if hit.size == 0:
        return StudyEstimate(**base, estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
                             note=f"no survival reported at {t:g} (table times {', '.join(f'{x:g}' for x in tab.times[1:])})")
    j = hit[0]
    g = table_log_var(tab)[j]
    s = float(tab.survival[j])
    lo, hi = confidence_band(np.array([s]), np.array([g]), conf_type, alpha)
    se = float(s * np.sqrt(g)) if np.isfinite(g) else np.inf   # no variance: left out with a note
    return StudyEstimate(**base, estimate=s, se=se, ci_low=float(lo[0]), ci_high=float(hi[0]))


def study_estimates(study: Study, times, conf_type: str = "log-log", range_method: str = "hozo",
                    alpha: float = 0.05) -> list[StudyEstimate]:
    """S(t) for each landmark time and the median for one study (rows may be unusable: NaN)."""
    rows: list[StudyEstimate] = []
    base = dict(study=study.name, arm=study.arm or "", subgroup=study.subgroup)
    z = stats.norm.ppf(1 - alpha / 2)
    curve = fit_km(study.ipd["time"], study.ipd["event"], f"study '{study.label}'") if study.ipd is not None else None
    for t in times:
        if curve is not None:
            est = survival_at(curve, t, conf_type, alpha, f"study '{study.label}'")
            rows.append(StudyEstimate(**base, measure=measure_name(t), source="ipd", n=float(curve.n),
                                      estimate=est.survival, se=est.se, ci_low=est.ci_low, ci_high=est.ci_high))
        elif study.table is not None:
            rows.append(_table_survival_at(study, float(t), conf_type, alpha))
        # a study with only a median gives no S(t) row
    med = dict(base, measure="median")
    if curve is not None:
        m = median_survival(curve, conf_type, alpha)
        se = median_se_from_ci(m.median, m.ci_low, m.ci_high, alpha)
        note = "" if m.reached else "median not reached"
        if m.reached and not np.isfinite(se):
            note = "median CI not reached: no SE"
        rows.append(StudyEstimate(**med, source="ipd", n=float(curve.n), estimate=m.median if np.isfinite(se) else np.nan,
                                  se=se, ci_low=m.ci_low, ci_high=m.ci_high, note=note))
    elif study.has_median_ci:
        se = median_se_from_ci(study.median, study.median_ci_low, study.median_ci_high, alpha)
        rows.append(StudyEstimate(**med, source="median_ci", n=float(study.n or np.nan), estimate=study.median,
                                  se=se, ci_low=study.median_ci_low, ci_high=study.median_ci_high,
                                  note="" if np.isfinite(study.median_ci_high) else "upper CI not reached: SE = (m - L)/z"))
    elif study.has_median_range:
        se = median_se_from_range(study.median, study.median_min, study.median_max, study.n or np.nan,
                                  range_method, f"study '{study.label}'")
        rows.append(StudyEstimate(**med, source="median_range", n=float(study.n), estimate=study.median, se=se,
                                  ci_low=study.median - z * se, ci_high=study.median + z * se, range_derived=True,
                                  note=f"SE from range by {'Hozo' if range_method == 'hozo' else 'Wan'} (approximate)"))
    elif np.isfinite(study.median):
        rows.append(StudyEstimate(**med, source="", n=float(study.n or np.nan), estimate=np.nan, se=np.nan,
                                  ci_low=np.nan, ci_high=np.nan, note="median without CI or range: no SE"))
    return rows


def estimates_frame(estimates: list[StudyEstimate]) -> pd.DataFrame:
    cols = list(StudyEstimate.__dataclass_fields__)
    return pd.DataFrame([asdict(e) for e in estimates], columns=cols)
