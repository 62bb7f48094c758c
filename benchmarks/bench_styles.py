"""Benchmark: black-and-white KM figures rendered by R, arms told apart only by line style
(dash pattern or width) or by their censor-mark symbols.

Figures (simulate.rfigures, from simulated IPD with known truth; 1000x780 px at 120 dpi): base R
``plot(survfit, lty=..., lwd=..., col="black"/grey, mark.time=TRUE, las=1)`` with legend() and a
number-at-risk table in mtext rows (one figure with R's default las=0: vertical y labels),
survminer ``ggsurvplot(palette=c("black", ...), linetype="strata", risk.table=TRUE)``; crossing
curves included. Two modes:

  assisted   true calibration, arms given as black/grey + line style (and a click on each
             curve where two share a style), the printed numbers at risk (every 6 months)
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
import tempfile
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
from simulate.rfigures import R_LTY, RSpec, r_available, render_r_figures  # noqa: E402

#: (label, kind, styles, colour, seed, (shape, median) per arm)
FIGURES = [
    ("base 2 crossing", "base", ("solid", "dashed"), "#000000", 0, ((0.6, 12.0), (2.0, 16.0))),
    ("base 2 crossing las0", "base", ("solid", "dashed"), "#000000", 7, ((0.6, 12.0), (2.0, 16.0))),
    ("base 2", "base", ("solid", "dashed"), "#000000", 1, ((1.0, 10.0), (1.0, 20.0))),
    ("base 3 lty1:3", "base", ("solid", "dashed", "dotted"), "#000000", 3, ((0.7, 10.0), (1.5, 18.0), (1.0, 30.0))),
    ("base 2 grey", "base", ("solid", "dotted"), "#666666", 4, ((1.0, 14.0), (1.3, 24.0))),
    ("base 2 widths", "base", ("solid", "thick"), "#000000", 8, ((1.0, 10.0), (1.0, 20.0))),
    ("base 2 widths crossing", "base", ("thick", "solid"), "#000000", 9, ((0.6, 12.0), (2.0, 16.0))),
    ("base 2 marks", "base", ("solid", "solid"), "#000000", 11, ((1.0, 10.0), (1.0, 20.0))),
    ("base 2 marks crossing", "base", ("solid", "solid"), "#000000", 12, ((0.6, 12.0), (2.0, 16.0))),
    ("survminer 2 crossing", "survminer", ("solid", "dashed"), "#000000", 0, ((0.6, 12.0), (2.0, 16.0))),
    ("survminer 2", "survminer", ("solid", "dashed"), "#000000", 5, ((1.0, 9.0), (1.0, 18.0))),
    ("survminer 3", "survminer", ("solid", "dashed", "dotted"), "#000000", 6, ((0.8, 8.0), (1.2, 16.0), (1.0, 30.0))),
]


#: figures whose legend names the arms in words (the detector reads names of 3+ letters; the
#: others' legends say A, B, C and their styles are matched in R's line-type order)
NAMES = {"base 2 widths crossing": ("Control", "Treated"), "base 2 marks": ("Control", "Treated"),
         "base 2 marks crossing": ("Control", "Treated")}
#: figures whose arms differ only by their censor-mark symbols (R pch: 0 square, 1 circle,
#: 2 triangle, 4 cross); in assisted mode each arm is also given a point on its curve (a click)
PCHS = {"base 2 marks": (1, 2), "base 2 marks crossing": (0, 4)}


def _ipd(seed: int, arms, names="ABC") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i, (shape, median) in enumerate(arms):
        d = simulate_arm(120, rng, median=median, shape=shape, follow_up=48.0, accrual=24.0, dropout_rate=0.01)
        d["time"] = np.maximum(d["time"].round(2), 0.01)
        d.insert(0, "arm", names[i])
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def _risk(ipd, arms) -> RiskTable:
    times = np.arange(0.0, 48.0 + 1e-9, 6.0)
    return RiskTable(list(times), {a: [int(v) for v in number_at_risk(ipd[ipd.arm == a].time, times)]
                                   for a in arms})


def bw_spec(kind: str, styles, colour: str, las: int, names="ABC", pchs=None) -> RSpec:
    """The R spec of one figure: arms A, B, C in ``styles`` (solid/dashed/dotted, or thick:
    solid at lwd 3 beside lwd 1 - base R only), all in ``colour``, legend, '+' marks, numbers at
    risk every 6 months; base R ``las`` 0 or 1 and curves starting at the y axis (xaxs "i");
    survminer's default mark size (censor.size 4.5)."""
    n = len(styles)
    common = dict(engine=kind, names=list(names[:n]), colours=[colour] * n,
                  linetypes=[R_LTY["solid" if s == "thick" else s] for s in styles], risk_table=True,
                  censor="+", break_time_by=6.0, width=1000, height=780, res=120, xlab="Months",
                  lwds=[3.0 if s == "thick" else 1.0 for s in styles] if "thick" in styles else None,
                  pchs=list(pchs) if pchs else None)
    if kind == "base":
        return RSpec(legend="topright", lwd=1.0, base_axis="las1" if las == 1 else "default", xaxs="i",
                     **common)
    return RSpec(legend="top", lwd=0.5, theme="survminer", censor_size=4.5, **common)


def _click(tr, cal, arm: str) -> tuple[float, float]:
    """A user's click on an arm's curve (image pixels): its true KM at 40 % of its follow-up."""
    t, s = tr.km(arm)
    x = 0.4 * float(t[-1])
    return tuple(float(v) for v in cal.to_pixel(x, float(s[np.searchsorted(t, x, side="right") - 1])))


def run_one(fig, mode: str):
    """Rows (arm, IAE, events error %) for one figure (an rfigures.RFigure) and mode, plus seconds."""
    tr = fig.truth
    image = fig.load_image()
    t0 = time.perf_counter()
    rows = []
    try:
        if mode == "assisted":
            cal = Calibration.from_dict(tr.calibration)
            specs = [ArmSpec(a, tr.colors[a], style=tr.styles[a], at=_click(tr, cal, a)
                             if list(tr.styles.values()).count(tr.styles[a]) > 1 else None) for a in tr.arms]
            res = run_pipeline(image, cal, specs, risk_table=_risk(tr.ipd, tr.arms), plot_area=tr.plot_area)
            names = {a: a for a in tr.arms}
        else:
            from digitize.auto import detect_figure

            det = detect_figure(image)
            if det is None or det.calibration is None or not det.arms:
                return [(a, np.nan, np.nan) for a in tr.arms], time.perf_counter() - t0
            res = run_pipeline(image, det.calibration, list(det.arms), risk_table=det.risk_table,
                               plot_area=det.plot_area)
            # found arms matched to the true ones by curve error (names are not printed by R here)
            names = {}
            for a in tr.arms:
                errs = {x.name: curve_errors(x.time, x.survival, *tr.km(a))["iae"] for x in res.arms
                        if x.name not in names.values()}
                if errs:
                    names[a] = min(errs, key=errs.get)
    except Exception as exc:  # a failure is a missed figure, reported
        print(f"  error: {exc}", file=sys.stderr)
        return [(a, np.nan, np.nan) for a in tr.arms], time.perf_counter() - t0
    by_name = {x.name: x for x in res.arms}
    ipd = res.ipd
    for a in tr.arms:
        x = by_name.get(names.get(a))
        if x is None or x.empty:
            rows.append((a, np.nan, np.nan))
            continue
        iae = curve_errors(x.time, x.survival, *tr.km(a))["iae"]
        true_ev = int(tr.ipd[tr.ipd.arm == a].event.sum())
        got = int(ipd[ipd.arm == x.name].event.sum()) if ipd is not None else -1
        rows.append((a, iae, 100.0 * abs(got - true_ev) / max(true_ev, 1)))
    return rows, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", nargs="+", default=["assisted", "zero"])
    ap.add_argument("--quick", action="store_true", help="the first three figures only")
    args = ap.parse_args()
    if not r_available():
        print("Rscript with survival and survminer is needed", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    figs = FIGURES[:3] if args.quick else FIGURES
    results = {m: [] for m in args.modes}
    print("mode\tfigure\tarm\tstyle\tIAE\tevents%\ts")
    jobs = [(_ipd(seed, arms, NAMES.get(label, "ABC")),
             bw_spec(kind, styles, colour, 0 if "las0" in label else 1, NAMES.get(label, "ABC"), PCHS.get(label)))
            for label, kind, styles, colour, seed, arms in figs]
    tmp = tempfile.TemporaryDirectory()
    rendered = render_r_figures(jobs, tmp.name)     # one R run for all figures
    for (label, *_), fig in zip(figs, rendered):
        for m in args.modes:
            rows, sec = run_one(fig, m)
            for a, iae, ev in rows:
                results[m].append((iae, ev))
                print(f"{m}\t{label}\t{a}\t{fig.truth.styles[a]}\t{iae:.5f}\t{ev:.2f}\t{sec:.1f}")
    print("\nmode\tarms\tmissed\tIAE med\tIAE max\tevents% med\tevents% max\tarms ev>5%")
    for m, r in results.items():
        iae = np.array([v[0] for v in r])
        ev = np.array([v[1] for v in r])
        missed = int(np.sum(~np.isfinite(iae) | (np.nan_to_num(iae, nan=1.0) > 0.05)))
        f = np.isfinite(iae)
        print(f"{m}\t{len(r)}\t{missed}\t{np.median(iae[f]) if f.any() else np.nan:.5f}\t"
              f"{iae[f].max() if f.any() else np.nan:.5f}\t{np.nanmedian(ev) if f.any() else np.nan:.2f}\t"
              f"{np.nanmax(ev) if f.any() else np.nan:.2f}\t{int(np.sum(ev[np.isfinite(ev)] > 5))}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
