"""The exact Kaplan-Meier table of IPD, shared by reconstruction diagnostics and the truth tools.

(lifelines' KaplanMeierFitter gives the same numbers; this small numpy version is used where
a per-time table with integer counts is needed in a hot loop without a fitter object.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def km_table(time, event) -> pd.DataFrame:
    """Exact Kaplan-Meier table at each distinct time: time, n_risk, events, censored, survival."""
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    order = np.argsort(time, kind="stable")
    time, event = time[order], event[order]
    uniq, idx = np.unique(time, return_index=True)
    d = np.add.reduceat(event, idx) if time.size else np.empty(0, int)
    total = np.diff(np.append(idx, time.size))
    n_risk = time.size - idx
    surv = np.cumprod(1.0 - d / n_risk) if time.size else np.empty(0)
    return pd.DataFrame(
        {"time": uniq, "n_risk": n_risk, "events": d, "censored": total - d, "survival": surv}
    )
