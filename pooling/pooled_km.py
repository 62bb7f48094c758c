"""Pooled KM curves from the combined IPD of all IPD studies, and a stratified Cox HR.

The combined-IPD curve treats patients of all studies as one cohort (a "one-stage" picture
of the pooled data, not a weighted estimate), drawn overall and per subgroup with its
number-at-risk table. For studies with exactly two IPD arms, the hazard ratio of the second
arm against the first (order of first appearance in each study's IPD) comes from a Cox model
stratified by study (lifelines ``CoxPHFitter(strata=...)``), so every study keeps its own
baseline hazard.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kmrecon.errors import KMReconError
from pooling.km import KMCurve, confidence_band, fit_km
from pooling.studies import Study


@dataclass
class PooledKM:
    """KM curves of the combined IPD (``"all"`` and each subgroup) with risk tables."""

    curves: dict[str, KMCurve]
    risk_times: np.ndarray
    risk_table: pd.DataFrame   # index = group, columns = risk_times, number at risk


def combined_ipd(studies: list[Study]) -> pd.DataFrame:
    """study, subgroup, arm, time, event of every IPD study (empty when there is none)."""
    parts = [s.ipd.assign(study=s.name, subgroup=s.subgroup) for s in studies if s.ipd is not None]
    if not parts:
        return pd.DataFrame(columns=["study", "subgroup", "arm", "time", "event"])
    return pd.concat(parts, ignore_index=True)[["study", "subgroup", "arm", "time", "event"]]


def pooled_km(studies: list[Study], risk_times) -> PooledKM | None:
    """KM of the combined IPD overall and per subgroup; None without IPD studies."""
    ipd = combined_ipd(studies)
    if ipd.empty:
        return None
    risk_times = np.asarray(sorted({0.0, *map(float, risk_times)}))
    curves = {"all": fit_km(ipd["time"], ipd["event"], "combined IPD")}
    for sub, part in ipd.groupby("subgroup", sort=True):
        curves[str(sub)] = fit_km(part["time"], part["event"], f"subgroup '{sub}'")
    groups = {"all": ipd, **{str(k): v for k, v in ipd.groupby("subgroup", sort=True)}}
    table = pd.DataFrame({t: [int((g["time"] >= t).sum()) for g in groups.values()] for t in risk_times},
                         index=list(groups))
    return PooledKM(curves, risk_times, table)


def km_step(curve: KMCurve, conf_type: str = "log-log"):
    """(t, S, lower, upper) arrays for drawing a KM step curve from time 0."""
    lo, hi = confidence_band(curve.survival, curve.greenwood, conf_type)
    t = np.concatenate([[0.0], curve.times, [curve.t_max]])
    s = np.concatenate([[1.0], curve.survival, [curve.survival[-1]]])
    lo = np.concatenate([[1.0], lo, [lo[-1]]])
    hi = np.concatenate([[1.0], hi, [hi[-1]]])
    return t, s, lo, hi


def stratified_hr(studies: list[Study]) -> pd.DataFrame:
    """HR (second arm vs first) from a Cox model stratified by study, over two-arm IPD studies.

    Returns one row (comparison, k, n, hr, ci_low, ci_high, p) or an empty frame when fewer
    than one study has two IPD arms.
    """
    from lifelines import CoxPHFitter

    cols = ["comparison", "k", "n", "events", "hr", "ci_low", "ci_high", "p"]
    parts, pairs = [], []
    seen = set()
    for s in studies:
        if s.ipd_arms is None or s.name in seen:
            continue
        arms = list(dict.fromkeys(s.ipd_arms["arm"]))
        if len(arms) != 2:
            continue
        seen.add(s.name)
        df = s.ipd_arms.assign(treat=(s.ipd_arms["arm"] == arms[1]).astype(int), stratum=s.name)
        parts.append(df[["time", "event", "treat", "stratum"]])
        pairs.append(f"{arms[1]} vs {arms[0]}")
    if not parts:
        return pd.DataFrame(columns=cols)
    data = pd.concat(parts, ignore_index=True)
    try:
        cph = CoxPHFitter().fit(data, "time", "event", strata=["stratum"])
    except Exception as exc:  # lifelines raises convergence errors of several types
        raise KMReconError(f"the stratified Cox model did not fit ({exc}); check the two-arm IPD") from exc
    summ = cph.summary.loc["treat"]
    comparison = pairs[0] if len(set(pairs)) == 1 else "second arm vs first (" + "; ".join(sorted(set(pairs))) + ")"
    return pd.DataFrame([{
        "comparison": comparison, "k": len(parts), "n": len(data), "events": int(data["event"].sum()),
        "hr": float(summ["exp(coef)"]), "ci_low": float(summ["exp(coef) lower 95%"]),
        "ci_high": float(summ["exp(coef) upper 95%"]), "p": float(summ["p"]),
    }], columns=cols)
