"""Summary statistics of reconstructed IPD for the diagnostics panel (lifelines, no Qt).

Medians with 95% CI come from lifelines' Kaplan-Meier fit (Brookmeyer-Crowley style CI read
off the pointwise log(-log) band); the hazard ratio from a Cox model with the arm as the only
covariate (lifelines ``CoxPHFitter``), second arm vs first, as trial reports usually give it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def summarize_ipd(ipd: pd.DataFrame) -> dict:
    """{"arms": {arm: {n, events, median, median_lower, median_upper}}, "hr": {...} | None}.
    Medians not reached are inf (lifelines' convention)."""
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.utils import median_survival_times

    out: dict = {"arms": {}, "hr": None}
    arms = list(dict.fromkeys(ipd["arm"].astype(str)))
    for arm in arms:
        sub = ipd[ipd["arm"].astype(str) == arm]
        if sub.empty:
            continue
        kmf = KaplanMeierFitter().fit(sub["time"].astype(float), sub["event"].astype(int))
        ci = median_survival_times(kmf.confidence_interval_)
        out["arms"][arm] = {"n": int(len(sub)), "events": int(sub["event"].sum()),
                            "median": float(kmf.median_survival_time_),
                            "median_lower": float(ci.iloc[0, 0]), "median_upper": float(ci.iloc[0, 1])}
    if len(arms) == 2:
        df = pd.DataFrame({"time": ipd["time"].astype(float), "event": ipd["event"].astype(int),
                           "x": (ipd["arm"].astype(str) == arms[1]).astype(float)})
        if df["event"].sum() > 0 and df["x"].nunique() == 2:
            try:
                cph = CoxPHFitter().fit(df, "time", "event")
                s = cph.summary.loc["x"]
                out["hr"] = {"arm": arms[1], "reference": arms[0], "hr": float(s["exp(coef)"]),
                             "lower": float(s["exp(coef) lower 95%"]),
                             "upper": float(s["exp(coef) upper 95%"]), "p": float(s["p"])}
            except Exception:  # noqa: BLE001 - convergence failure: report no HR rather than crash
                out["hr"] = None
    return out


def km_step(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier step corners (t, S) via lifelines, starting at (0, 1)."""
    from lifelines import KaplanMeierFitter

    sf = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, int)).survival_function_
    return sf.index.to_numpy(float), sf.iloc[:, 0].to_numpy(float)
