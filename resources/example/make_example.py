"""Regenerate the bundled two-arm example (run from anywhere: python resources/example/make_example.py).

Simulates a two-arm trial with known IPD (simulate/ipd.py, fixed seed), then writes what a
reader of the published figure would have: curve.csv (both corners of every KM step as a
digitizer reads them, with small click noise and rounding), risk.csv (numbers at risk every
6 months as printed under the plot), marks.csv (censor-mark times read off the curve, rounded
to 0.1 month) and, for checking, truth_ipd.csv (the IPD the figure was drawn from).
Times are in months.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulate.ipd import km_corners, number_at_risk, simulate_arm

HERE = Path(__file__).resolve().parent
SEED = 2012
ARMS = {"Control": dict(n=150, median=10.0), "Treatment": dict(n=150, median=15.0)}
RISK_TIMES = np.arange(0.0, 49.0, 6.0)


def make(directory: Path = HERE, seed: int = SEED) -> None:
    rng = np.random.default_rng(seed)
    curve, risk, marks, truth = [], [], [], []
    for arm, spec in ARMS.items():
        ipd = simulate_arm(spec["n"], rng, median=spec["median"], shape=1.2, follow_up=48.0,
                           accrual=24.0, dropout_rate=0.01, decimals=2)
        truth.append(ipd.assign(arm=arm)[["arm", "time", "event"]])
        t, s = km_corners(ipd["time"], ipd["event"])
        # digitizer clicks: ~0.05 month and ~0.002 survival jitter, rounded as a tool exports them
        t_noisy = np.round(np.maximum(t + rng.normal(0, 0.05, t.size) * (t > 0), 0.0), 3)
        s_noisy = np.round(np.clip(s + rng.normal(0, 0.002, s.size) * (t > 0), 0.0, 1.0), 4)
        curve.append(pd.DataFrame({"arm": arm, "time": t_noisy, "survival": s_noisy}))
        at = RISK_TIMES[RISK_TIMES <= ipd["time"].max()]
        risk.append(pd.DataFrame({"arm": arm, "time": at, "n_risk": number_at_risk(ipd["time"], at)}))
        cens = np.unique(np.round(ipd.loc[ipd["event"] == 0, "time"].to_numpy(), 1))
        marks.append(pd.DataFrame({"arm": arm, "time": cens}))
    pd.concat(curve).to_csv(directory / "curve.csv", index=False)
    pd.concat(risk).to_csv(directory / "risk.csv", index=False)
    pd.concat(marks).to_csv(directory / "marks.csv", index=False)
    pd.concat(truth).to_csv(directory / "truth_ipd.csv", index=False)


if __name__ == "__main__":
    make()
    print(f"wrote curve.csv, risk.csv, marks.csv, truth_ipd.csv in {HERE}")
