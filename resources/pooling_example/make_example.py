"""Build the bundled example meta-analysis from simulated studies (fixed seed, months).

Ten study rows across four sites of metastasectomy (lung, liver, spine, brain), each giving
what papers typically give: IPD (as reconstructed by KMRecon; two studies have two arms),
a yearly survival table with numbers at risk (one row per time, or the compact ``;`` form),
a median with its 95 % CI, or a median with a range and n. The true (simulated) medians are
written to truth.csv. Run from anywhere:

    python resources/pooling_example/make_example.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in __import__("sys").path:
    __import__("sys").path.insert(0, str(ROOT))

from pooling.km import fit_km, median_survival  # noqa: E402
from simulate.ipd import km_table, number_at_risk, simulate_arm  # noqa: E402

SEED = 20240611
TIMES = [12, 24, 36, 48, 60]
FOLLOW_UP, ACCRUAL = 96.0, 30.0   # months: every patient followed 66-96 months unless dead

# name, subgroup, form, n, true median (months), Weibull shape; two-arm: second arm's (n, median)
STUDIES = [
    ("Adams 2015", "lung", "ipd", 110, 44.0, 1.1, None),
    ("Baker 2018", "lung", "ipd2", 90, 36.0, 1.0, (90, 52.0)),
    ("Chen 2012", "lung", "table", 75, 48.0, 1.0, None),
    ("Dubois 2016", "liver", "ipd2", 120, 40.0, 1.2, (110, 56.0)),
    ("Evans 2011", "liver", "table_compact", 85, 34.0, 1.1, None),
    ("Fischer 2019", "liver", "median_ci", 140, 38.0, 1.0, None),
    ("Garcia 2014", "spine", "ipd", 70, 22.0, 0.9, None),
    ("Hansen 2017", "spine", "median_range", 45, 20.0, 1.0, None),
    ("Ito 2013", "brain", "ipd", 80, 16.0, 0.8, None),
    ("Jones 2020", "brain", "median_range", 60, 14.0, 0.9, None),
]


def _arm(rng, n, median, shape):
    return simulate_arm(n, rng, median=median, shape=shape, follow_up=FOLLOW_UP, accrual=ACCRUAL,
                        dropout_rate=0.004, decimals=1)


def _table_rows(ipd: pd.DataFrame) -> dict[str, list]:
    """S, number at risk and deaths per interval at TIMES, as a paper's table prints them."""
    tab = km_table(ipd["time"], ipd["event"])
    surv = [float(tab.loc[tab["time"] <= t, "survival"].min()) if (tab["time"] <= t).any() else 1.0 for t in TIMES]
    risk = number_at_risk(ipd["time"], TIMES).tolist()
    edges = [0.0, *TIMES]
    deaths = [int(((ipd["time"] > a) & (ipd["time"] <= b) & (ipd["event"] == 1)).sum()) for a, b in zip(edges, edges[1:])]
    return {"survival": [round(s, 3) for s in surv], "n_risk": risk, "events": deaths}


def build(out: Path = HERE) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    (out / "ipd").mkdir(parents=True, exist_ok=True)
    rows, truth = [], []
    for name, sub, form, n, med, shape, second in STUDIES:
        ipd = _arm(rng, n, med, shape).assign(arm="resection")
        truth.append({"study": name, "arm": "resection", "true_median": med})
        if second is not None:
            ipd2 = _arm(rng, second[0], second[1], shape).assign(arm="resection+chemo")
            truth.append({"study": name, "arm": "resection+chemo", "true_median": second[1]})
            ipd = pd.concat([ipd, ipd2], ignore_index=True)
        if ipd["time"].max() < TIMES[-1]:
            raise RuntimeError(f"{name}: follow-up ends before {TIMES[-1]} months; change SEED")
        base = {"study": name, "subgroup": sub}
        stem = name.lower().replace(" ", "_")
        if form.startswith("ipd"):
            path = out / "ipd" / f"{stem}.csv"
            ipd[["arm", "time", "event"]].to_csv(path, index=False)
            rows.append({**base, "ipd": f"ipd/{stem}.csv"})
        elif form == "table":
            t = _table_rows(ipd)
            rows.append({**base, "time": 0, "survival": 1.0, "n_risk": n})
            for j, tt in enumerate(TIMES):
                rows.append({**base, "time": tt, "survival": t["survival"][j], "n_risk": t["n_risk"][j],
                             "events": t["events"][j]})
        elif form == "table_compact":
            t = _table_rows(ipd)
            rows.append({**base, "n": n, "time": ";".join(map(str, TIMES)),
                         "survival": ";".join(f"{100 * s:.1f}" for s in t["survival"]),  # percent, as printed
                         "n_risk": ";".join(map(str, t["n_risk"]))})
        else:
            curve = fit_km(ipd["time"], ipd["event"])
            m = median_survival(curve, "log-log")
            if form == "median_ci":
                rows.append({**base, "n": n, "median": round(m.median, 1), "median_ci_low": round(m.ci_low, 1),
                             "median_ci_high": round(m.ci_high, 1) if np.isfinite(m.ci_high) else "NR"})
            else:  # a median with the range of survival/follow-up times, as many surgical series report
                rows.append({**base, "n": n, "median": round(m.median, 1), "median_min": float(ipd["time"].min()),
                             "median_max": float(ipd["time"].max())})
    cols = ["study", "subgroup", "arm", "ipd", "time", "survival", "n_risk", "events", "median",
            "median_ci_low", "median_ci_high", "median_min", "median_max", "n"]
    table = pd.DataFrame(rows).reindex(columns=cols)
    for c in ("time", "n_risk"):
        table[c] = table[c].map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(int(v)))
    for c in ("events", "n"):
        table[c] = table[c].astype("Int64")
    table.to_csv(out / "studies.csv", index=False)
    pd.DataFrame(truth).to_csv(out / "truth.csv", index=False)
    return table


if __name__ == "__main__":
    print(build().to_string())
