"""Benchmark: black-and-white KM figures rendered by R, arms told apart only by line style.

Figures (simulate.rbw, from simulated IPD with known truth; 1000x780 px at 120 dpi): base R
``plot(survfit, lty=..., col="black"/grey, mark.time=TRUE, las=1)`` with legend() and a
number-at-risk table in mtext rows (one figure with R's default las=0: vertical y labels),
survminer ``ggsurvplot(palette=c("black", ...), linetype="strata", risk.table=TRUE)``; crossing
curves included. Two modes:

  assisted   true calibration, arms given as black/grey + line style, the printed numbers at
             risk (every 6 months)
  zero       nothing given: the automatic detector (axes, arms and their styles, risk table)

Per arm: IAE of the digitized curve vs the true KM (probability units, over its follow-up) and
the reconstructed events' error (%). An arm is missed if not found or IAE > 0.05.
Targets (issue 14): every arm found; IAE median <= 0.002; events error median <= 1 %; no arm > 5 %.
Usage: python benchmarks/bench_styles.py [--modes assisted zero] [--quick]
Needs Rscript (survival, survminer).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.accuracy import curve_errors  # noqa: E402
from digitize.calibrate import Calibration  # noqa: E402
from digitize.extract import ArmSpec  # noqa: E402
from digitize.pipeline import run_pipeline  # noqa: E402
from kmrecon.data import RiskTable  # noqa: E402
from simulate.ipd import number_at_risk, simulate_arm  # noqa: E402
from simulate.rbw import have_r, render_r  # noqa: E402

#: (label, kind, styles, colour, seed, (shape, median) per arm)
FIGURES = [
    ("base 2 crossing", "base", ("solid", "dashed"), "#000000", 0, ((0.6, 12.0), (2.0, 16.0))),
    ("base 2 crossing las0", "base", ("solid", "dashed"), "#000000", 7, ((0.6, 12.0), (2.0, 16.0))),
    ("base 2", "base", ("solid", "dashed"), "#000000", 1, ((1.0, 10.0), (1.0, 20.0))),
    ("base 3 lty1:3", "base", ("solid", "dashed", "dotted"), "#000000", 3, ((0.7, 10.0), (1.5, 18.0), (1.0, 30.0))),
    ("base 2 grey", "base", ("solid", "dotted"), "#666666", 4, ((1.0, 14.0), (1.3, 24.0))),
    ("survminer 2 crossing", "survminer", ("solid", "dashed"), "#000000", 0, ((0.6, 12.0), (2.0, 16.0))),
    ("survminer 2", "survminer", ("solid", "dashed"), "#000000", 5, ((1.0, 9.0), (1.0, 18.0))),
    ("survminer 3", "survminer", ("solid", "dashed", "dotted"), "#000000", 6, ((0.8, 8.0), (1.2, 16.0), (1.0, 30.0))),
]


def _ipd(seed: int, arms) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i, (shape, median) in enumerate(arms):
        d = simulate_arm(120, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0, dropout_rate=0.01)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", "ABC"[i])
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def _risk(ipd, arms) -> RiskTable:
    times = np.arange(0.0, 48.0 + 1e-9, 6.0)
    return RiskTable(list(times), {a: [int(v) for v in number_at_risk(ipd[ipd.arm == a].time, times)]
                                   for a in arms})


def run_one(fig, mode: str):
    """Rows (arm, IAE, events error %) for one figure and mode, plus seconds."""
    t0 = time.perf_counter()
    rows = []
    try:
        if mode == "assisted":
            cal = Calibration.from_dict(fig.calibration)
            specs = [ArmSpec(a, fig.colors[a], style=fig.styles[a]) for a in fig.arms]
            res = run_pipeline(fig.image, cal, specs, risk_table=_risk(fig.ipd, fig.arms), plot_area=fig.plot_area)
            names = {a: a for a in fig.arms}
        else:
            from digitize.auto import detect_figure

            det = detect_figure(fig.image)
            if det is None or det.calibration is None or not det.arms:
                return [(a, np.nan, np.nan) for a in fig.arms], time.perf_counter() - t0
            res = run_pipeline(fig.image, det.calibration, list(det.arms), risk_table=det.risk_table,
                               plot_area=det.plot_area)
            # found arms matched to the true ones by curve error (names are not printed by R here)
            names = {}
            for a in fig.arms:
                errs = {x.name: curve_errors(x.time, x.survival, *fig.km(a))["iae"] for x in res.arms
                        if x.name not in names.values()}
                if errs:
                    names[a] = min(errs, key=errs.get)
    except Exception as exc:  # a failure is a missed figure, reported
        print(f"  error: {exc}", file=sys.stderr)
        return [(a, np.nan, np.nan) for a in fig.arms], time.perf_counter() - t0
    by_name = {x.name: x for x in res.arms}
    ipd = res.ipd
    for a in fig.arms:
        x = by_name.get(names.get(a))
        if x is None or x.empty:
            rows.append((a, np.nan, np.nan))
            continue
        iae = curve_errors(x.time, x.survival, *fig.km(a))["iae"]
        true_ev = int(fig.ipd[fig.ipd.arm == a].event.sum())
        got = int(ipd[ipd.arm == x.name].event.sum()) if ipd is not None else -1
        rows.append((a, iae, 100.0 * abs(got - true_ev) / max(true_ev, 1)))
    return rows, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", nargs="+", default=["assisted", "zero"])
    ap.add_argument("--quick", action="store_true", help="the first three figures only")
    args = ap.parse_args()
    if not have_r("survminer"):
        print("Rscript with survival and survminer is needed", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    figs = FIGURES[:3] if args.quick else FIGURES
    results = {m: [] for m in args.modes}
    print("mode\tfigure\tarm\tstyle\tIAE\tevents%\ts")
    for label, kind, styles, colour, seed, arms in figs:
        ipd = _ipd(seed, arms)
        fig = render_r(ipd, dict(zip("ABC", styles)), kind=kind, colors={a: colour for a in "ABC"[:len(styles)]},
                       width=1000, height=780, res=120, risk_table=True, las=0 if "las0" in label else 1)
        for m in args.modes:
            rows, sec = run_one(fig, m)
            for a, iae, ev in rows:
                results[m].append((iae, ev))
                print(f"{m}\t{label}\t{a}\t{fig.styles[a]}\t{iae:.5f}\t{ev:.2f}\t{sec:.1f}")
    print("\nmode\tarms\tmissed\tIAE med\tIAE max\tevents% med\tevents% max\tarms ev>5%")
    for m, r in results.items():
        iae = np.array([v[0] for v in r])
        ev = np.array([v[1] for v in r])
        missed = int(np.sum(~np.isfinite(iae) | (np.nan_to_num(iae, nan=1.0) > 0.05)))
        f = np.isfinite(iae)
        print(f"{m}\t{len(r)}\t{missed}\t{np.median(iae[f]) if f.any() else np.nan:.5f}\t"
              f"{iae[f].max() if f.any() else np.nan:.5f}\t{np.nanmedian(ev) if f.any() else np.nan:.2f}\t"
              f"{np.nanmax(ev) if f.any() else np.nan:.2f}\t{int(np.sum(ev[np.isfinite(ev)] > 5))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
