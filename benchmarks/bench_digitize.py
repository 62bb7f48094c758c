"""Benchmark: digitize synthetic KM figures with known truth and reconstruct their IPD.

For each style tier (clean, typical, hard) render N figures with simulate.figure, extract every
arm from the pixels with the true calibration, colours and risk table given (the plot area is
found from the axis lines, as for a user), reconstruct IPD (default and Guyot methods) and
compare with the true IPD:

  IAE       mean |S_digitized - S_true| over [0, last follow-up] (probability units)
  rec IAE   the same for the reconstructed KM (default/guyot) vs the true KM, and the share of
            arms where it is below the trace's own IAE
  max|dS|   largest |S difference| away from the drops (digitized curve)
  events    |reconstructed - true events| / true events, per arm (%); "arms ev>5%" counts arms
            beyond the issue's 5 % limit
  |dlogHR|  |log HR (Cox, arm k vs first arm) reconstructed - true|
  med err   |median time reconstructed - true| / last follow-up (%), arms whose median is reached
  missed    arms not found (empty, or confidence < 0.3, or IAE > 0.05)
  s/fig     extraction + one reconstruction, seconds (wall clock)

Speed (issue target: <= 2 s per figure on a 2-core machine) is checked here, not by a timed test:
wall-clock seconds depend on the machine's load. The slowest figures are the high-dpi hard ones
(hard #28, #3, #29 at seed 0); to see where the time goes, profile one of them, e.g.
``python -m cProfile -s tottime`` on a script calling ``run_pipeline(..., reconstruct_ipd=False)``.

When a figure has no drawn risk table, the true numbers at risk at the x ticks are given.
Usage: python benchmarks/bench_digitize.py [--n 30] [--quick] [--seed 0] [--tiers clean typical hard]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.accuracy import curve_errors  # noqa: E402
from digitize.calibrate import Calibration  # noqa: E402
from digitize.extract import ArmSpec  # noqa: E402
from digitize.pipeline import run_pipeline  # noqa: E402
from kmrecon.data import RiskTable  # noqa: E402
from simulate.ipd import km_corners, km_table, number_at_risk  # noqa: E402


TIER_SEEDS = {"clean": 0, "typical": 1, "hard": 2}


def _median_time(time, event) -> float:
    tab = km_table(time, event)
    below = tab["survival"].to_numpy() <= 0.5
    return float(tab["time"].to_numpy()[below][0]) if below.any() else float("nan")


def log_hr(ipd, a: str, b: str) -> float:
    """log HR of arm b vs arm a (Cox PH, lifelines); NaN when degenerate (no events in one arm)."""
    import pandas as pd
    from lifelines import CoxPHFitter

    sub = ipd[ipd["arm"].isin([a, b])]
    df = pd.DataFrame({"T": sub["time"].to_numpy(float), "E": sub["event"].to_numpy(int),
                       "x": (sub["arm"] == b).to_numpy(float)})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(CoxPHFitter().fit(df, "T", "E").params_["x"])
    except Exception:  # noqa: BLE001 - degenerate data (no events in one arm)
        return float("nan")


def _log_hrs(ipd, arms) -> dict[str, float]:
    """log HR of each arm vs the first (Cox PH, lifelines)."""
    return {a: log_hr(ipd, arms[0], a) for a in arms[1:]}


def run_figure(fig, methods=("default", "guyot")) -> dict:
    tr = fig.truth
    cal = Calibration.from_dict(tr.calibration)
    specs = [ArmSpec(a, tr.colors[a]) for a in tr.arms]
    risk = tr.risk_table
    if risk is None:
        ticks = np.array([t["value"] for t in tr.x_ticks], float)
        risk = RiskTable(ticks, {a: number_at_risk(tr.ipd.loc[tr.ipd["arm"] == a, "time"], ticks)
                                 for a in tr.arms})
    t0 = time.perf_counter()
    res = run_pipeline(fig.image, cal, specs, risk_table=risk, reconstruct_ipd=False)
    t_extract = time.perf_counter() - t0
    out = {"arms": [], "seconds": t_extract, "methods": {}}
    true_hr = _log_hrs(tr.ipd, tr.arms) if len(tr.arms) > 1 else {}
    for a in res.arms:
        tt, st = tr.km(a.name)
        e = curve_errors(a.time, a.survival, tt, st)
        missed = a.empty or a.confidence < 0.3 or e["iae"] > 0.05
        out["arms"].append({"name": a.name, "iae": e["iae"], "max_abs": e["max_abs"], "missed": missed,
                            "confidence": a.confidence})
    from reconstruct import reconstruct

    for m in methods:
        t1 = time.perf_counter()
        try:
            # as digitize.pipeline does: a trace that stops short of the last risk time is extended
            rec = reconstruct([a.to_arm_data(risk) for a in res.arms], method=m,
                              extend_to_risk_times=True)
        except Exception as exc:  # noqa: BLE001 - reported, not fatal for the benchmark
            out["methods"][m] = {"error": str(exc)}
            continue
        dt = time.perf_counter() - t1
        ev_err, med_err, rec_iae = [], [], []
        for a in tr.arms:
            g = tr.ipd[tr.ipd["arm"] == a]
            r = rec.ipd[rec.ipd["arm"] == a]
            if len(r):
                # the reconstruction's KM against the truth, on the trace's scale (curve_errors)
                rt, rs = km_corners(r["time"].to_numpy(float), r["event"].to_numpy(int))
                tt, st = tr.km(a)
                rec_iae.append(curve_errors(rt, rs, tt, st)["iae"])
            else:
                rec_iae.append(float("nan"))
            d_true = int(g["event"].sum())
            ev_err.append(abs(int(r["event"].sum()) - d_true) / max(d_true, 1) * 100.0)
            mt, mr = _median_time(g["time"], g["event"]), _median_time(r["time"], r["event"])
            if np.isfinite(mt) and np.isfinite(mr):
                med_err.append(abs(mr - mt) / float(g["time"].max()) * 100.0)
        hr = _log_hrs(rec.ipd, tr.arms) if len(tr.arms) > 1 else {}
        dhr = [abs(hr[a] - true_hr[a]) for a in hr if np.isfinite(hr[a]) and np.isfinite(true_hr[a])]
        out["methods"][m] = {"events": ev_err, "median": med_err, "dloghr": dhr, "seconds": dt,
                             "rec_iae": rec_iae}
    return out


def _colour_figure(fig) -> bool:
    """True when no arm is black or grey."""
    from digitize.inkmask import is_neutral

    return not any(is_neutral(fig.truth.colors[a]) for a in fig.truth.arms)


def _q(v, q):
    v = [x for x in v if np.isfinite(x)]
    return float(np.percentile(v, q)) if v else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30, help="figures per tier")
    ap.add_argument("--quick", action="store_true", help="6 figures per tier")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiers", nargs="+", default=["clean", "typical", "hard"])
    ap.add_argument("--verbose", action="store_true", help="one line per figure")
    args = ap.parse_args(argv)
    from simulate.figure import render_figure
    from simulate.styles import random_case

    n = 6 if args.quick else args.n
    rows = []
    every: list[dict] = []
    groups = [(t, None) for t in args.tiers] + ([("all", every)] if len(args.tiers) > 1 else [])
    for tier, pooled in groups:
        if pooled is not None:
            _summarise(tier, pooled, rows)
            continue
        results = []
        for i in range(n):
            rng = np.random.default_rng([args.seed, i, TIER_SEEDS.get(tier, 9)])
            ipd, style = random_case(rng, tier)
            fig = render_figure(ipd, style)
            try:
                r = run_figure(fig)
            except Exception as exc:  # noqa: BLE001
                print(f"  {tier} #{i}: FAILED {type(exc).__name__}: {exc}")
                results.append({"arms": [{"name": a, "iae": np.nan, "max_abs": np.nan, "missed": True}
                                         for a in fig.truth.arms], "seconds": np.nan, "methods": {},
                                "colour": _colour_figure(fig)})
                continue
            r["colour"] = _colour_figure(fig)
            results.append(r)
            if args.verbose:
                iaes = " ".join(f"{a['iae']:.4f}" for a in r["arms"])
                ev = r["methods"].get("default", {}).get("events", [])
                print(f"  {tier} #{i}: dpi {style.dpi} arms {len(r['arms'])} IAE {iaes} "
                      f"events% {' '.join(f'{e:.1f}' for e in ev)} {r['seconds']:.2f}s", flush=True)
                missed = [f"{a['name']} (confidence {a['confidence']:.2f})" for a in r["arms"] if a["missed"]]
                if missed:
                    print(f"    missed: {', '.join(missed)}", flush=True)
                for m, v in r["methods"].items():
                    if "error" in v:
                        print(f"    {m} reconstruction failed: {v['error']}", flush=True)
        every.extend(results)
        _summarise(tier, results, rows)
    hdr = ("tier", "method", "figs", "arms", "IAE med", "IAE p90", "rec IAE med", "rec IAE p90", "rec<trace %",
           "max|dS| med", "max|dS| max",
           "events% med", "events% max", "arms ev>5%", "|dlogHR| med", "|dlogHR| p90", "median err% med",
           "missed", "missed(colour)", "s/fig med", "s/fig max", "rec errors")
    print("\t".join(hdr))
    for r in rows:
        print("\t".join(str(v) if isinstance(v, (int, str)) else f"{v:.4g}" for v in r))
    return 0


def _summarise(tier: str, results: list[dict], rows: list) -> None:
    """One table row per reconstruction method for a tier's figure results."""
    for m in ("default", "guyot"):
        iae = [a["iae"] for r in results for a in r["arms"]]
        mx = [a["max_abs"] for r in results for a in r["arms"]]
        ev = [e for r in results for e in r["methods"].get(m, {}).get("events", [])]
        hr = [e for r in results for e in r["methods"].get(m, {}).get("dloghr", [])]
        med = [e for r in results for e in r["methods"].get(m, {}).get("median", [])]
        missed = sum(a["missed"] for r in results for a in r["arms"])
        missed_c = sum(a["missed"] for r in results if r.get("colour") for a in r["arms"])
        n_arms = sum(len(r["arms"]) for r in results)
        secs = [r["seconds"] + r["methods"].get(m, {}).get("seconds", 0.0) for r in results]
        errs = sum("error" in r["methods"].get(m, {}) for r in results)
        # reconstruction vs trace IAE, arm by arm (arms in truth order; the trace's list follows
        # the extraction's order, which is the specs' = truth order)
        rec_i, trc_i = [], []
        for r in results:
            ri = r["methods"].get(m, {}).get("rec_iae", [])
            if len(ri) == len(r["arms"]):
                rec_i += ri
                trc_i += [a["iae"] for a in r["arms"]]
        rec_i, trc_i = np.asarray(rec_i, float), np.asarray(trc_i, float)
        ok = np.isfinite(rec_i) & np.isfinite(trc_i)
        below = 100.0 * float(np.mean(rec_i[ok] < trc_i[ok])) if ok.any() else float("nan")
        rows.append((tier, m, len(results), n_arms, _q(iae, 50), _q(iae, 90), _q(list(rec_i), 50), _q(list(rec_i), 90),
                     below, _q(mx, 50), _q(mx, 100),
                     _q(ev, 50), _q(ev, 100), sum(e > 5.0 for e in ev), _q(hr, 50), _q(hr, 90), _q(med, 50), missed, missed_c,
                     _q(secs, 50), _q(secs, 100), errs))


if __name__ == "__main__":
    raise SystemExit(main())
