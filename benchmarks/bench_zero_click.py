"""Zero-click benchmark: detect_figure on generated KM figures, scored against the truth.

    python benchmarks/bench_zero_click.py            # 40 figures (clean/typical/hard)
    python benchmarks/bench_zero_click.py --quick    # 10 figures
    python benchmarks/bench_zero_click.py --n 60 --seed 3 --tiers typical hard -v

Prints: % figures calibrated within 1 px at both ends of each axis; % risk-table cells exactly
right; % arms named correctly (figures that print names: legend or risk-table labels); end-to-end
IAE median (detect -> digitize.extract -> reconstruct, when those are installed); % figures with
nothing to correct; seconds per figure (detection only, and end to end).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.auto import detect_figure  # noqa: E402
from digitize.auto.legend import delta_e  # noqa: E402


def calibration_error_px(det, truth) -> float:
    """Largest pixel distance, over the four truth axis points (both ends of each axis), between
    where the truth draws that point and where the detected calibration puts its data value."""
    cal = det.calibration
    if cal is None:
        return float("inf")
    errs = []
    scale = 100.0 if truth.y_percent else 1.0
    for k in ("x1", "x2", "y1", "y2"):
        p = truth.calibration[k]
        t, y = truth.to_data(p["px"], p["py"])
        qx, qy = cal.to_pixel(np.array([float(t)]), np.array([float(y) / scale]))
        errs.append(float(np.hypot(qx[0] - p["px"], qy[0] - p["py"])))
    return max(errs)


def names_printed(truth) -> bool:
    return truth.legend is not None or bool(truth.risk_row_labels)


def arm_scores(det, truth) -> tuple[int, int]:
    """(arms named right, arms): right = one detected arm has the true name and a colour
    nearer (ΔE) to that arm's drawn colour than to any other arm's, within ΔE 45 (JPEG and
    anti-aliasing wash thin lines out, so the colour seen may be paler than the one drawn)."""
    ok = 0
    for a in truth.arms:
        for d in det.arms:
            if d.name != a:
                continue
            dist = {n: delta_e(d.rgb, c) for n, c in truth.colors.items()}
            if min(dist, key=dist.get) == a and dist[a] <= 45:
                ok += 1
                break
    return ok, len(truth.arms)


def risk_scores(det, truth) -> tuple[int, int]:
    """(cells exactly right, cells printed)."""
    rt = truth.risk_table
    if rt is None:
        return 0, 0
    total = sum(int(np.isfinite(c).sum()) for c in rt.n_risk.values())
    got = det.risk_table
    if got is None:
        return 0, total
    ok = 0
    for arm, counts in rt.n_risk.items():
        if arm not in got.n_risk:
            continue
        for t, n in zip(rt.times, counts):
            if not np.isfinite(n):
                continue
            j = np.nonzero(np.isclose(got.times, t, rtol=1e-6, atol=1e-9))[0]
            if j.size and got.n_risk[arm][j[0]] == n:
                ok += 1
    return ok, total


def _iae(t_true, s_true, t_rec, s_rec, t_max) -> float:
    """Mean |S_true - S_rec| over [0, t_max] (IAE with time scaled to the axis range)."""
    grid = np.linspace(0, t_max, 2001)
    f = lambda t, s: np.asarray(s)[np.clip(np.searchsorted(t, grid, side="right") - 1, 0, None)]  # noqa: E731
    return float(np.mean(np.abs(f(t_true, s_true) - f(t_rec, s_rec))))


def end_to_end_iae(image, calibration, arms, risk_table, plot_area, truth) -> float | None:
    """IAE of the reconstructed KM vs the true KM (mean over arms; detected arms are paired
    with true arms by name, else by colour), or None when digitize.extract/reconstruct are
    missing or nothing was detected; NaN when the chain raised."""
    try:
        from digitize.extract import extract_arms
        from reconstruct import reconstruct
    except ImportError:
        return None
    if calibration is None or not arms:
        return None
    try:
        ex = extract_arms(image, calibration, arms, plot_area=plot_area)
        # as digitize.pipeline does: a trace that stops short of the last risk time is extended
        rec = reconstruct([e.to_arm_data(risk_table) for e in ex], extend_to_risk_times=True)
    except Exception as exc:  # report, keep benchmarking
        print(f"      end-to-end failed: {type(exc).__name__}: {exc}")
        return float("nan")
    pairs = {}
    for a in arms:
        if a.name in truth.arms:
            pairs[a.name] = a.name
    for a in arms:
        if a.name not in pairs:
            free = [t for t in truth.arms if t not in pairs.values()]
            if free:
                pairs[a.name] = min(free, key=lambda t: delta_e(truth.colors[t], a.rgb))
    got = set(rec.ipd["arm"].unique())
    vals = [_iae(*truth.km(t), *rec.km(a), float(truth.x_range[1])) for a, t in pairs.items() if a in got]
    return float(np.mean(vals)) if vals else float("nan")


def truth_inputs(truth):
    """Calibration, arms and risk table exactly as drawn (the reference for end-to-end IAE)."""
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec

    cal = Calibration.from_dict(truth.calibration)
    return cal, [ArmSpec(a, tuple(truth.colors[a])) for a in truth.arms], truth.risk_table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--quick", action="store_true", help="10 figures")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiers", nargs="+", default=["clean", "typical", "hard"])
    ap.add_argument("--no-e2e", action="store_true", help="skip extraction + reconstruction")
    ap.add_argument("--compare", action="store_true",
                    help="also run extraction + reconstruction from the true calibration, colours and table")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per figure")
    args = ap.parse_args(argv)
    try:  # a runaway allocation downstream becomes a MemoryError for one figure, not an OOM kill
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, ValueError, OSError):
        pass
    from simulate.figure import generate_set

    n = 10 if args.quick else args.n
    rows = []
    for i, fig in enumerate(generate_set(n, seed=args.seed, tiers=tuple(args.tiers))):
        truth = fig.truth
        t0 = time.perf_counter()
        det = detect_figure(fig.image)
        dt = time.perf_counter() - t0
        cal_err = calibration_error_px(det, truth)
        a_ok, a_n = arm_scores(det, truth)
        r_ok, r_n = risk_scores(det, truth)
        t1 = time.perf_counter()
        iae = None if args.no_e2e else end_to_end_iae(fig.image, det.calibration, det.arms,
                                                      det.risk_table, det.plot_area, truth)
        dt_e2e = dt + time.perf_counter() - t1
        iae_ref = None
        if args.compare and not args.no_e2e:
            cal, arms_t, rt = truth_inputs(truth)
            iae_ref = end_to_end_iae(fig.image, cal, arms_t, rt, truth.plot_area, truth)
        printed = names_printed(truth)
        nothing = (cal_err <= 1.0 and r_ok == r_n and len(det.arms) == a_n
                   and (a_ok == a_n or not printed))
        rows.append(dict(tier=fig.style.tier, cal=cal_err, a_ok=a_ok, a_n=a_n if printed else 0,
                         r_ok=r_ok, r_n=r_n, iae=iae, iae_ref=iae_ref, nothing=nothing, dt=dt,
                         dt_e2e=dt_e2e))
        if args.verbose:
            print(f"{i:3d} {fig.style.tier:8s} dpi={fig.style.dpi:3d} cal={cal_err:7.2f}px "
                  f"arms={a_ok}/{a_n}{'' if printed else '(unprinted)'} risk={r_ok}/{r_n} "
                  f"iae={iae if iae is None else round(iae, 4)}"
                  f"{'' if iae_ref is None else f' (truth inputs {iae_ref:.4f})'} {dt:.2f}s "
                  f"{'OK' if nothing else 'FIX'} {'; '.join(det.warnings)[:300]}", flush=True)
            if a_ok < a_n and printed:
                print("      arms: truth", {a: truth.colors[a] for a in truth.arms},
                      "detected", [(d.name, d.rgb) for d in det.arms])
    cal_ok = np.mean([r["cal"] <= 1.0 for r in rows])
    cells = sum(r["r_ok"] for r in rows), sum(r["r_n"] for r in rows)
    arms = sum(r["a_ok"] for r in rows if r["a_n"]), sum(r["a_n"] for r in rows)
    iaes = [r["iae"] for r in rows if r["iae"] is not None]
    print(f"zero-click benchmark: {len(rows)} figures, tiers {', '.join(args.tiers)}, seed {args.seed}")
    print(f"  calibrated within 1 px (both ends, both axes): {100 * cal_ok:5.1f} %   (target >= 97 %)")
    print(f"  risk-table cells exactly right:               {100 * cells[0] / max(cells[1], 1):5.1f} %   "
          f"({cells[0]}/{cells[1]}; target >= 98 %)")
    print(f"  arms named correctly:                         {100 * arms[0] / max(arms[1], 1):5.1f} %   "
          f"({arms[0]}/{arms[1]}; target >= 95 %)")
    if iaes:
        finite = [v for v in iaes if np.isfinite(v)]
        print(f"  end-to-end IAE median:                        {np.median(finite) if finite else float('nan'):.4f}"
              f"     ({len(finite)}/{len(rows)} figures; target <= 0.002)")
    else:
        print("  end-to-end IAE median:                        n/a (--no-e2e, or digitize.extract/reconstruct missing)")
    refs = [r["iae_ref"] for r in rows if r["iae_ref"] is not None and np.isfinite(r["iae_ref"])]
    if refs:
        print(f"    same chain from the TRUE calibration/colours/table: IAE median {np.median(refs):.4f}")
    print(f"  figures with nothing to correct:              {100 * np.mean([r['nothing'] for r in rows]):5.1f} %   (target >= 90 %)")
    print(f"  seconds per figure: detection {np.mean([r['dt'] for r in rows]):.2f} s, "
          f"end to end {np.mean([r['dt_e2e'] for r in rows]):.2f} s   (target <= 3 s)")
    for tier in args.tiers:
        rs = [r for r in rows if r["tier"] == tier]
        if rs:
            print(f"    {tier:8s} n={len(rs):3d} cal<=1px {100 * np.mean([r['cal'] <= 1 for r in rs]):5.1f} %  "
                  f"nothing-to-correct {100 * np.mean([r['nothing'] for r in rs]):5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
