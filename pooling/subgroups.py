"""Pooling one measure (S(t) or the median) across studies, overall and per subgroup.

Survival probabilities are pooled on the chosen transformed scale (:mod:`pooling.transform`);
medians on the raw time scale (default, as the reference workflow does) or the log scale.
Subgroup differences: Q_between = Σ_g w_g(μ_g − μ̄)², w_g = 1/SE_g², over the subgroups'
own (random-effects) pooled estimates on the analysis scale, χ² with G − 1 df
(Borenstein et al. 2009, ch. 19, separate τ² per subgroup, as RevMan and R meta do).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pooling.meta import MetaResult, meta_analysis
from pooling.transform import clip_survival, to_scale

MEDIAN_SCALES = ("raw", "log")
POOLED_COLUMNS = ["subgroup", "measure", "method", "scale", "k", "n", "estimate", "ci_low", "ci_high",
                  "pi_low", "pi_high", "tau2", "i2", "q", "q_p"]


@dataclass
class Pooled:
    """A pooled measure: the meta-analysis on its scale and the row for pooled.csv."""

    subgroup: str
    measure: str
    result: MetaResult
    n: float
    labels: list[str]   # the studies pooled, in order of result.weights
    notes: list[str]

    def row(self) -> dict:
        r = self.result
        nat = r.natural(bounded=self.measure != "median")
        return {"subgroup": self.subgroup, "measure": self.measure, "method": r.method + ("+hk" if r.hk else ""),
                "scale": r.scale, "k": r.k, "n": int(self.n) if np.isfinite(self.n) else self.n, **nat, "tau2": r.tau2, "i2": r.i2, "q": r.q,
                "q_p": r.q_p}


def effect_scale(measure: str, scale: str, median_scale: str = "raw") -> str:
    return median_scale if measure == "median" else scale


def analysis_values(rows: pd.DataFrame, measure: str, scale: str, median_scale: str = "raw"):
    """(yi, vi, notes) on the analysis scale for usable per-study rows of one measure."""
    s = rows["estimate"].to_numpy(float)
    se = rows["se"].to_numpy(float)
    notes: list[str] = []
    if measure == "median":
        if median_scale == "log":
            return np.log(s), (se / s) ** 2, notes
        return s, se**2, notes
    s_adj, se_adj = s.copy(), se.copy()
    for i, (_, row) in enumerate(rows.iterrows()):
        s_adj[i], se_adj[i], note = clip_survival(s[i], se[i], row["n"], f"{_label(row)} {measure}")
        if note:
            notes.append(note)
    yi, vi = to_scale(s_adj, se_adj, scale)
    return np.asarray(yi, float), np.asarray(vi, float), notes


def _label(row) -> str:
    return f"{row['study']} ({row['arm']})" if row.get("arm") else str(row["study"])


def pool_rows(rows: pd.DataFrame, subgroup: str, measure: str, method: str, scale: str, hk: bool,
              median_scale: str = "raw", alpha: float = 0.05) -> Pooled | None:
    """Pool the usable rows of one measure; None when no study has it. Rows with an estimate
    but no finite SE are left out with a note naming them (never silently)."""
    est = rows["estimate"].astype(float)
    se = rows["se"].astype(float)
    dropped = rows[np.isfinite(est) & ~np.isfinite(se)]
    early = [f"{_label(r)} {measure}: no usable SE (e.g. 0 at risk or S = 0 in its table); left out"
             for _, r in dropped.iterrows()]
    rows = rows[np.isfinite(est) & np.isfinite(se)]
    if rows.empty:
        return None
    sc = effect_scale(measure, scale, median_scale)
    yi, vi, notes = analysis_values(rows, measure, scale, median_scale)
    notes = early + notes
    bad = ~(vi > 0) | ~np.isfinite(vi) | ~np.isfinite(yi)
    if bad.any():
        notes += [f"{_label(r)} {measure}: SE is 0; left out" for (_, r), b in zip(rows.iterrows(), bad) if b]
        rows, yi, vi = rows[~bad], yi[~bad], vi[~bad]
        if rows.empty:
            return None
    res = meta_analysis(yi, vi, method, hk, alpha, sc)
    n = float(np.nansum(rows["n"].astype(float)))
    return Pooled(subgroup, measure, res, n, [_label(r) for _, r in rows.iterrows()], notes)


def subgroup_test(pooled: list[Pooled]) -> dict | None:
    """Test for subgroup differences from the subgroups' pooled estimates (G ≥ 2)."""
    pooled = [p for p in pooled if np.isfinite(p.result.se) and p.result.se > 0]
    if len(pooled) < 2:
        return None
    mu = np.array([p.result.estimate for p in pooled])
    w = 1.0 / np.array([p.result.se for p in pooled]) ** 2
    mbar = np.sum(w * mu) / np.sum(w)
    q = float(np.sum(w * (mu - mbar) ** 2))
    df = len(pooled) - 1
    return {"measure": pooled[0].measure, "groups": len(pooled), "q_between": q, "df": df,
            "p": float(stats.chi2.sf(q, df)), "subgroups": ";".join(p.subgroup for p in pooled)}
