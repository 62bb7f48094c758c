"""Sensitivity analyses of the overall pooled estimates.

* leave-one-out: re-pool each measure with one study omitted at a time;
* without range-derived studies: re-pool the medians without studies whose SE came from a
  median and range (Hozo/Wan), since a published "range" is often a follow-up range.
"""
from __future__ import annotations

import pandas as pd

from pooling.subgroups import pool_rows

SENSITIVITY_COLUMNS = ["analysis", "omitted", "measure", "k", "estimate", "ci_low", "ci_high",
                       "tau2", "i2"]


def _row(analysis: str, omitted: str, pooled) -> dict:
    r = pooled.row()
    return {"analysis": analysis, "omitted": omitted, "measure": r["measure"], "k": r["k"],
            "estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
            "tau2": r["tau2"], "i2": r["i2"]}


def sensitivity(per_study: pd.DataFrame, measures, method: str, scale: str, hk: bool,
                median_scale: str = "raw", alpha: float = 0.05) -> pd.DataFrame:
    """Leave-one-out and without-range-derived re-analyses as one table (SENSITIVITY_COLUMNS)."""
    out = []
    for measure in measures:
        rows = per_study[per_study["measure"] == measure]
        keys = list(dict.fromkeys(zip(rows["study"], rows["arm"])))
        for study, arm in keys:
            rest = rows[~((rows["study"] == study) & (rows["arm"] == arm))]
            p = pool_rows(rest, "all", measure, method, scale, hk, median_scale, alpha)
            if p is not None:
                out.append(_row("leave-one-out", f"{study} ({arm})" if arm else study, p))
        derived = rows["range_derived"].astype(bool)
        if derived.any():
            p = pool_rows(rows[~derived], "all", measure, method, scale, hk, median_scale, alpha)
            if p is not None:
                omitted = ";".join(rows.loc[derived, "study"].astype(str))
                out.append(_row("without range-derived (Hozo/Wan)", omitted, p))
    return pd.DataFrame(out, columns=SENSITIVITY_COLUMNS)
