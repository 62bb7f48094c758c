"""Benchmark: reconstruction accuracy against known truth, default vs Guyot (2012).

Simulates two-arm trials (simulate/ipd.py: n 20-1000 per arm, Weibull shapes 0.7-1.5, light to
heavy drop-out, half with times rounded to 0.1 -> ties), feeds each arm's exact KM step corners
(perfect coordinates) in four information settings -- plus two noisy risk-table settings:
"noisy clicks" (manual digitizing: ~0.05 time-unit and 0.002 survival click jitter, rounded)
and "pixel trace" (what the digitize stage reads off a figure: a 400 px high, 400-800 px wide
plot, both coordinates quantised to pixels after +-0.5 px jitter, drops within a pixel column
merged, 2 % of drops lost) -- and prints, per setting and method:
IAE of the reconstructed KM vs the TRUE KM (time scaled to its range) median/p90,
max |dS| (vs the true KM) median/p90, the same away from true drop edges ("off-edge", see
max_dev_off_edges: with time jitter the plain max |dS| is about the largest drop), |events - true events| mean and % exact, |delta log HR| of a Cox model
(lifelines CoxPHFitter) on the reconstructed vs the true pair median/p90, |median time error|
median/p90 (time units = months), the median reconstruction time per 300 patients ("s/300 pts"),
and the time to reconstruct one 10,000-patient arm.

    python benchmarks/bench_reconstruct.py            # 110 pairs = 220 arms (a few minutes)
    python benchmarks/bench_reconstruct.py --quick    # 25 pairs
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

from kmrecon.data import ArmData  # noqa: E402
from reconstruct import reconstruct  # noqa: E402
from reconstruct.diagnostics import curve_distance, km_median, km_steps  # noqa: E402
from reconstruct.preprocess import preprocess_curve  # noqa: E402
from simulate.ipd import km_corners, number_at_risk, simulate_arm  # noqa: E402

SETTINGS = ("risk table", "risk + D", "N only", "risk + marks", "risk, noisy clicks", "risk, pixel trace")
NOISY = ("risk, noisy clicks", "risk, pixel trace")
#: half-width of the window around true drop times left out of "off-edge" max |dS| (fraction of
#: the time range; the preprocessor's drop-edge tolerance, 2 x TIME_JITTER)
EDGE_WINDOW = 0.006
METHODS = ("guyot", "default")


def simulate_pair(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    n = int(np.exp(rng.uniform(np.log(20), np.log(1000))))
    median = rng.uniform(6, 24)
    shape = rng.uniform(0.7, 1.5)
    log_hr = rng.uniform(-0.8, 0.1)
    follow = rng.uniform(36, 72)
    dropout = rng.choice([0.0, 0.005, 0.02, 0.05])
    decimals = rng.choice([None, 1])
    out = {}
    for arm, lhr in (("control", 0.0), ("treated", log_hr)):
        m = median * np.exp(-lhr / shape)  # Weibull PH: median scales by HR^(-1/shape)
        n_arm = max(10, int(n * rng.uniform(0.8, 1.2)))
        out[arm] = simulate_arm(n_arm, rng, median=m, shape=shape, follow_up=follow, accrual=24.0,
                                dropout_rate=dropout, decimals=decimals)
    return out


def arm_input(name: str, ipd: pd.DataFrame, setting: str, rng: np.random.Generator | None = None,
              uncertainty: bool = True, extra: dict | None = None) -> ArmData:
    """One arm's reconstruction input in ``setting``; the noisy settings pass the digitizing
    uncertainty (time_sd, survival_sd) as the digitize stage does, unless ``uncertainty`` is off.
    ``extra`` (pixel trace) receives "drop_time": each true drop's traced time."""
    t, s = km_corners(ipd["time"], ipd["event"])
    sd = {}
    if setting == "risk, noisy clicks":
        t, s = noisy_clicks(t, s, rng or np.random.default_rng(0))
        sd = {"time_sd": 0.05, "survival_sd": 0.002}
    elif setting == "risk, pixel trace":
        t, s = pixel_trace(t, s, float(ipd["time"].max()), rng or np.random.default_rng(0), sd_out=sd)
    drop_time = sd.pop("drop_time", None)
    if extra is not None and drop_time is not None:
        extra["drop_time"] = drop_time
    t_end = float(ipd["time"].max())
    rt = np.arange(0.0, t_end + 1e-9, 6.0)
    nr = number_at_risk(ipd["time"], rt)
    kw = dict(name=name, time=t, survival=s)
    if uncertainty:
        kw.update(sd)
    if setting in ("risk table", "risk + D", "risk + marks") + NOISY:
        kw.update(risk_times=rt, n_risk=nr)
    if setting == "risk + D":
        kw["total_events"] = int(ipd["event"].sum())
    if setting == "N only":
        kw["n_total"] = len(ipd)
    if setting == "risk + marks":
        kw["censor_times"] = ipd.loc[ipd["event"] == 0, "time"].to_numpy()
    return ArmData(**kw)


def noisy_clicks(t, s, rng, time_sd: float = 0.05, surv_sd: float = 0.002):
    """Step corners clicked by hand: each point off by ~``time_sd`` time units and ~``surv_sd``
    in survival (normal), rounded to 3 and 4 decimals; points at time 0 keep survival exact."""
    t, s = np.asarray(t, float), np.asarray(s, float)
    t = np.round(np.maximum(t + rng.normal(0, time_sd, t.size) * (t > 0), 0), 3)
    s = np.round(np.clip(s + rng.normal(0, surv_sd, s.size) * (t > 0), 0, 1), 4)
    return t, s


def pixel_trace(t, s, t_max, rng, height_px: int = 400, drop_missing: float = 0.02, sd_out: dict | None = None):
    """Step corners as the digitize stage reads them off a rendered figure: the plot is
    ``height_px`` pixels high (S quantised to 1/height_px after +-0.5 px jitter) and 400-800 px
    wide over an x range rounded up to a multiple of 12 (time quantised to one pixel column
    after +-0.5 px jitter, so that drops closer than a pixel merge and the two corners of a
    drop can land one column apart); a fraction ``drop_missing`` of drops is lost entirely."""
    width = int(rng.integers(400, 801))
    x_max = 12.0 * np.ceil(t_max / 12.0)
    t, s = np.asarray(t, float).copy(), np.asarray(s, float).copy()
    # corners come in pairs (top, bottom) at each drop time after the start point
    pairs = np.flatnonzero((t[1:] == t[:-1]) & (s[1:] < s[:-1])) + 1
    lost = pairs[rng.random(pairs.size) < drop_missing]
    keep = np.ones(t.size, bool)
    keep[lost] = keep[lost - 1] = False
    keep[0] = True
    t, s = t[keep], s[keep]
    tx = np.rint(t / x_max * width + rng.uniform(-0.5, 0.5, t.size)) * x_max / width
    sy = np.rint(s * height_px + rng.uniform(-0.5, 0.5, s.size)) / height_px
    tx[0], sy[0] = 0.0, 1.0
    if sd_out is not None:
        # each true drop's time as traced: the mean of its two corners' columns; a lost drop's
        # events can only show in the next traced drop (or the curve's end), so it takes that
        # drop's time -- for :func:`quantisation_floor`
        idx = np.cumsum(keep) - 1
        mean_col = 0.5 * (tx[idx[pairs - 1]] + tx[idx[pairs]])
        gone = np.isin(pairs, lost)
        kept = np.flatnonzero(~gone)
        # the next kept drop's time, or the last traced point's after the last kept drop
        later = np.r_[mean_col[kept], tx[-1]][np.searchsorted(kept, np.arange(pairs.size))]
        sd_out["drop_time"] = np.where(gone, later, mean_col)
        # +-0.5 px uniform jitter, then rounding to the pixel: sd sqrt(2 / 12) px per coordinate
        sd_px = float(np.sqrt(2.0 / 12.0))
        sd_out.update(time_sd=sd_px * x_max / width, survival_sd=sd_px / height_px)
    return np.clip(tx, 0, None), np.clip(sy, 0, 1)


def trace_distance(truth, t, s) -> float:
    """IAE of the input curve itself (the trace or clicks, as a step curve) against the true KM,
    on the same scale as the reconstruction's IAE: what the reconstruction starts from."""
    from reconstruct.preprocess import preprocess_curve

    cur = preprocess_curve(t, s)
    grid = np.unique(np.concatenate([truth.time, cur.time, [0.0, truth.t_end]]))
    grid = grid[grid <= truth.t_end]
    diff = np.abs(truth.evaluate(grid) - cur.evaluate(grid))
    return float(np.sum(diff[:-1] * np.diff(grid)) / truth.t_end) if truth.t_end > 0 else 0.0


def max_dev_off_edges(ipd: pd.DataFrame, rec: pd.DataFrame) -> float:
    """max |dS| between the reconstructed and the true KM away from the true drop edges: at
    times more than EDGE_WINDOW of the time range from every true drop time.

    With time jitter on the input, the sup-norm error is at least the height of any drop whose
    time is off at all (between the true and the read time the curves differ by that drop), so
    max |dS| mostly measures the largest drop; this one measures the levels."""
    tt, ts = km_steps(ipd["time"].to_numpy(float), ipd["event"].to_numpy(int))
    rt, rs = km_steps(rec["time"].to_numpy(float), rec["event"].to_numpy(int))
    t_end = float(ipd["time"].max())
    grid = np.unique(np.concatenate([tt, rt, [0.0, t_end]]))
    grid = grid[grid <= t_end]
    mids = 0.5 * (grid[:-1] + grid[1:])
    if mids.size == 0:
        return 0.0
    pos = np.searchsorted(tt, mids)
    gap = np.minimum(np.abs(mids - tt[np.maximum(pos - 1, 0)]) if tt.size else np.inf,
                     np.abs(tt[np.minimum(pos, tt.size - 1)] - mids) if tt.size else np.inf)
    far = gap > EDGE_WINDOW * t_end
    if not far.any():
        return 0.0

    def at(t, s, x):
        i = np.searchsorted(t, x, side="right") - 1
        return np.where(i >= 0, s[np.maximum(i, 0)], 1.0)

    return float(np.max(np.abs(at(tt, ts, mids[far]) - at(rt, rs, mids[far]))))


def jitter_floor(ipd: pd.DataFrame, clicked_time: np.ndarray) -> float:
    """max |dS| of an oracle against the true KM in the "noisy clicks" setting: the true KM
    (true levels and event counts) with each drop moved to the mean time of its two clicked
    corners. No reconstruction knows drop times better than its input, so this is the floor
    that time jitter alone puts under max |dS|."""
    tt, ts = km_steps(ipd["time"].to_numpy(float), ipd["event"].to_numpy(int))
    k = tt.size
    # km_corners order: (0, 1), then top and bottom corner of each drop, then the end point
    moved = np.maximum.accumulate(0.5 * (clicked_time[1:1 + 2 * k:2] + clicked_time[2:2 + 2 * k:2]))
    grid = np.unique(np.concatenate([tt, moved, [0.0, float(ipd["time"].max())]]))

    def at(t, x):
        i = np.searchsorted(t, x, side="right") - 1
        return np.where(i >= 0, ts[np.maximum(i, 0)], 1.0)

    return float(np.max(np.abs(at(tt, grid) - at(moved, grid))))


def quantisation_floor(ipd: pd.DataFrame, truth, drop_time: np.ndarray) -> float:
    """IAE against the true KM of an oracle in the "pixel trace" setting: the true KM (true
    levels and event counts) with each drop moved to the mean time of its two traced corners
    (pixel columns), and a lost drop's events to the next traced drop. No reconstruction times
    drops better than its input shows them, so this is the part of the IAE that time
    quantisation and lost drops alone leave."""
    tt, ss = km_steps(ipd["time"].to_numpy(float), ipd["event"].to_numpy(int))
    moved = np.maximum.accumulate(np.asarray(drop_time, float))
    t_end = truth.t_end
    grid = np.unique(np.concatenate([truth.time, moved, [0.0, t_end]]))
    grid = grid[grid <= t_end]
    i = np.searchsorted(moved, grid, side="right") - 1
    oracle = np.where(i >= 0, ss[np.maximum(i, 0)], 1.0)
    diff = np.abs(truth.evaluate(grid) - oracle)
    return float(np.sum(diff[:-1] * np.diff(grid)) / t_end) if t_end > 0 else 0.0


def log_hr(frame: pd.DataFrame) -> float:
    from lifelines import CoxPHFitter

    df = pd.DataFrame({"time": frame["time"], "event": frame["event"],
                       "treated": (frame["arm"] == "treated").astype(float)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(df, "time", "event")
    return float(cph.params_["treated"])


def run(n_pairs: int, seed: int, settings=SETTINGS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_pairs):
        pair = simulate_pair(rng)
        truth = pd.concat([ipd.assign(arm=a) for a, ipd in pair.items()], ignore_index=True)
        true_hr = log_hr(truth)
        true_curve = {a: preprocess_curve(*km_corners(ipd["time"], ipd["event"])) for a, ipd in pair.items()}
        for setting in settings:
            # digitizing noise from its own stream, so the simulated pairs do not depend on
            # which settings run
            noise = np.random.default_rng([seed, p, SETTINGS.index(setting)])
            extras = {a: {} for a in pair}
            arms = [arm_input(a, ipd, setting, noise, extra=extras[a]) for a, ipd in pair.items()]
            for method in METHODS:
                t_rec = time.perf_counter()
                rec = reconstruct(arms, method=method)
                # seconds per 300 patients, shared by the pair's arms by their size
                sec300 = (time.perf_counter() - t_rec) * 300.0 / max(sum(len(x) for x in pair.values()), 1)
                d_hr = abs(log_hr(rec.ipd) - true_hr)
                for a, ipd in pair.items():
                    diag = rec.diagnostics[a]
                    sub = rec.ipd[rec.ipd["arm"] == a]
                    iae, max_dev, _ = curve_distance(true_curve[a], sub["time"].to_numpy(), sub["event"].to_numpy())
                    arm_in = arms[[x.name for x in arms].index(a)]
                    trace_iae = trace_distance(true_curve[a], arm_in.time, arm_in.survival)
                    off_edge = max_dev_off_edges(ipd, sub)
                    true_med, _ = km_median(ipd["time"], ipd["event"])
                    med_err = (abs(diag.median - true_med)
                               if diag.median is not None and true_med is not None else np.nan)
                    floor = (jitter_floor(ipd, arms[[x.name for x in arms].index(a)].time)
                             if setting == "risk, noisy clicks" else np.nan)
                    q_floor = (quantisation_floor(ipd, true_curve[a], extras[a]["drop_time"])
                               if "drop_time" in extras[a] else np.nan)
                    rows.append(dict(pair=p, setting=setting, method=method, arm=a, n=len(ipd), floor=floor,
                                     q_floor=q_floor,
                                     iae=iae, trace_iae=trace_iae, max_dev=max_dev, off_edge=off_edge,
                                     ev_err=abs(diag.events - int(ipd["event"].sum())),
                                     d_loghr=d_hr, med_err=med_err, risk_ok=diag.risk_matched,
                                     sec300=sec300))
    return pd.DataFrame(rows)


def summarise(res: pd.DataFrame) -> pd.DataFrame:
    def q(x, p):
        x = np.asarray(x, float)
        x = x[np.isfinite(x)]
        return float(np.quantile(x, p)) if x.size else np.nan

    out = []
    for (setting, method), g in res.groupby(["setting", "method"], sort=False):
        pairs = g.drop_duplicates("pair")
        out.append({
            "setting": setting, "method": method, "arms": len(g),
            "trace IAE med": q(g.trace_iae, 0.5),
            "IAE med": q(g.iae, 0.5), "IAE p90": q(g.iae, 0.9),
            "IAE<trace %": 100 * float(np.mean(g.iae < g.trace_iae)),
            "max|dS| med": q(g.max_dev, 0.5), "max|dS| p90": q(g.max_dev, 0.9),
            "off-edge med": q(g.off_edge, 0.5), "off-edge p90": q(g.off_edge, 0.9),
            "ev err mean": g.ev_err.mean(), "ev exact %": 100 * (g.ev_err == 0).mean(),
            "|dlogHR| med": q(pairs.d_loghr, 0.5), "|dlogHR| p90": q(pairs.d_loghr, 0.9),
            "med err med": q(g.med_err, 0.5), "med err p90": q(g.med_err, 0.9),
            "risk ok %": 100 * g.risk_ok.mean(),
            "s/300 pts": q(pairs.sec300, 0.5),
        })
    return pd.DataFrame(out)


def time_big_arm(seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    ipd = simulate_arm(10_000, rng, dropout_rate=0.01)
    arm = arm_input("big", ipd, "risk table")
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        reconstruct([arm])
        best = min(best, time.perf_counter() - t0)
    return best


def estimate_n_on_figures(n_figures: int, seed: int = 0) -> pd.DataFrame:
    """N estimated without a risk table from curves traced off rendered figures (clean and
    typical tiers of ``simulate.figure.generate_set``, true calibration and colours): one row
    per arm with the true N, the estimate and the reconstruction's time and traced peak memory."""
    import tracemalloc

    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec, extract_arms
    from reconstruct.arm import estimate_n, prepare_arm
    from simulate.figure import generate_set

    rows = []
    for i, fig in enumerate(generate_set(n_figures, seed=seed, tiers=("clean", "typical"))):
        cal = Calibration.from_dict(fig.truth.calibration)
        arms = extract_arms(fig.image, cal, [ArmSpec(a, fig.truth.colors[a]) for a in fig.truth.arms])
        for arm in arms:
            data = arm.to_arm_data()
            n_true = int((fig.truth.ipd["arm"] == arm.name).sum())
            n_est = estimate_n(prepare_arm(data).curve)
            tracemalloc.start()
            t0 = time.perf_counter()
            reconstruct([data])
            secs = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            rows.append(dict(figure=i, arm=arm.name, n_true=n_true, n_est=n_est, ratio=n_est / n_true,
                             seconds=secs, peak_mb=peak))
    return pd.DataFrame(rows)


LIMIT_CASES = {
    # name: (drops or rows, mode) -- hostile sizes from the reliability issue
    "1e5 drops, N given": "n=100001; t=np.arange(1, n); s=1-t/n; "
                          "tt=np.repeat(t, 2); ss=np.c_[np.r_[1, s[:-1]], s].ravel(); kw=dict(n_total=n)",
    "1e6 rows, every row a drop": "n=1000000; tt=np.arange(1, n+1.); ss=1-tt/(n+1); kw={}",
    "N = 1e7, risk table": "tt=np.array([0,1,1,2,2,3,3,5.]); ss=np.array([1,1,.9,.9,.7,.7,.5,.5]); "
                           "kw=dict(risk_times=[0,2.5], n_risk=[10**7, 5*10**6])",
    "N = 1e7, D given": "tt=np.array([0,1,1,2,2,3,3,5.]); ss=np.array([1,1,.9,.9,.7,.7,.5,.5]); "
                        "kw=dict(n_total=10**7, total_events=3333333)",
    "N = 1e9 at risk (refused)": "tt=np.array([0,1,1,5.]); ss=np.array([1,1,.9,.9]); "
                                 "kw=dict(risk_times=[0,2], n_risk=[10**9, 9*10**8])",
}


def limits(timeout: float = 120.0) -> None:
    """Hostile sizes, each in its own process: wall time, peak memory (RSS) and the outcome."""
    import resource
    import subprocess

    root = Path(__file__).resolve().parents[1]
    for name, setup in LIMIT_CASES.items():
        code = ("import sys, numpy as np; sys.path.insert(0, %r)\n"
                "from kmrecon.data import ArmData\nfrom kmrecon.errors import KMReconError\n"
                "from reconstruct import reconstruct\n%s\n"
                "try:\n    r = reconstruct([ArmData('A', tt, ss, **kw)]); print(r.diagnostics['A'].summary_line()[:90])\n"
                "except KMReconError as e:\n    print('refused:', str(e)[:90])\n") % (str(root), setup)
        t0 = time.perf_counter()
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
            msg = (out.stdout.strip() or out.stderr.strip().splitlines()[-1]) if out.returncode == 0 or out.stdout \
                else f"exit {out.returncode}: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ''}"
        except subprocess.TimeoutExpired:
            msg = f"HANG (> {timeout:.0f} s)"
        secs = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KB -> GB
        print(f"limits: {name:28s} {secs:6.1f} s  peak RSS so far {peak:.2f} GB  {msg}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="25 pairs instead of 110")
    ap.add_argument("--pairs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--settings", nargs="*", default=None, help="run only these settings (no target checks)")
    ap.add_argument("--figures", type=int, default=None,
                    help="also estimate N on this many traced generated figures (default 20, 0 = skip; "
                         "needs digitize)")
    ap.add_argument("--limits", action="store_true",
                    help="only time the hostile sizes (1e5 drops, 1e6 rows, N = 1e7, 1e9 at risk)")
    args = ap.parse_args(argv)
    if args.limits:
        limits()
        return
    n_pairs = args.pairs or (25 if args.quick else 110)
    t0 = time.perf_counter()
    res = run(n_pairs, args.seed, args.settings or SETTINGS)
    table = summarise(res)
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.float_format", lambda v: f"{v:.4f}"):
        print(f"{n_pairs} simulated pairs ({2 * n_pairs} arms), seed {args.seed}; "
              "all settings use perfect coordinates except 'risk, noisy clicks' and 'risk, pixel trace'")
        print(table.to_string(index=False))
    fl = res.loc[(res.setting == "risk, noisy clicks") & (res.method == "default"), "floor"]
    if fl.notna().any():
        print(f"time-jitter floor of max|dS| in 'risk, noisy clicks' (true KM, drops moved to the mean "
              f"time of their clicked corners): median {fl.median():.4f} p90 {fl.quantile(0.9):.4f}")
    qf = res.loc[(res.setting == "risk, pixel trace") & (res.method == "default"), "q_floor"]
    if qf.notna().any():
        print(f"time-quantisation floor of IAE in 'risk, pixel trace' (true KM, each drop at the mean time of its "
              f"two traced corners' pixel columns, a lost drop's events at the next traced drop): "
              f"median {qf.median():.4f} p90 {qf.quantile(0.9):.4f}")
    if args.settings:
        return
    big = time_big_arm()
    print(f"10,000-patient arm (risk table, default method): {big:.3f} s (best of 3)")
    row = table[(table.setting == "risk table") & (table.method == "default")].iloc[0]
    rowd = table[(table.setting == "risk + D") & (table.method == "default")].iloc[0]
    checks = {
        "IAE median <= 0.001": row["IAE med"] <= 0.001,
        "IAE p90 <= 0.004": row["IAE p90"] <= 0.004,
        "|dlogHR| median <= 0.008": row["|dlogHR| med"] <= 0.008,
        "events exact with D in 100% of arms": rowd["ev exact %"] == 100.0,
        "10,000-patient arm < 0.5 s": big < 0.5,
    }
    for setting in NOISY:
        rown = table[(table.setting == setting) & (table.method == "default")].iloc[0]
        checks.update({
            f"{setting}: IAE median <= 0.003": rown["IAE med"] <= 0.003,
            f"{setting}: IAE p90 <= 0.012": rown["IAE p90"] <= 0.012,
            f"{setting}: max|dS| median <= 0.02": rown["max|dS| med"] <= 0.02,
            f"{setting}: off-edge max|dS| median <= 0.02": rown["off-edge med"] <= 0.02,
            f"{setting}: |dlogHR| median <= 0.008": rown["|dlogHR| med"] <= 0.008,
        })
    rowp = table[(table.setting == "risk, pixel trace") & (table.method == "default")].iloc[0]
    checks.update({
        "risk, pixel trace: IAE median <= 0.0008 (issue 15)": rowp["IAE med"] <= 0.0008,
        "risk, pixel trace: IAE p90 <= 0.002 (issue 15)": rowp["IAE p90"] <= 0.002,
    })
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    n_fig = 20 if args.figures is None else args.figures
    if n_fig:
        est = estimate_n_on_figures(n_fig)
        dev = np.abs(est["ratio"] - 1)
        print(f"N unknown, no risk table: estimate_n on {len(est)} arms of {n_fig} traced figures (clean + typical): "
              f"estimate / true N median {est['ratio'].median():.2f}, range {est['ratio'].min():.2f}-"
              f"{est['ratio'].max():.2f}; within 10 % {100 * (dev < 0.1).mean():.0f} %, within 25 % "
              f"{100 * (dev < 0.25).mean():.0f} %, within 50 % {100 * (dev < 0.5).mean():.0f} %; reconstruction "
              f"max {est['seconds'].max():.2f} s, peak traced memory max {est['peak_mb'].max():.0f} MB")
    print(f"benchmark wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
