"""Zero-click axis calibration on real published figures, scored against careful calibrations.

    python benchmarks/bench_axes.py                      # /work/real_figs
    python benchmarks/bench_axes.py FOLDER [-v]          # FOLDER/<case>/figure.png + calib.json
    python benchmarks/bench_axes.py --r 40 [--r-seed 0]  # R-drawn figures (simulate.rfigures)

A case folder holds ``figure.png`` and either ``calib.json`` (real figures: points as
``[px, py, value]``) or ``truth.json`` (R-drawn figures: ``calibration`` as Calibration.to_dict).

For every case, ``detect_figure`` runs on ``figure.png`` with nothing else given. Each of the four
points ``[px, py, value]`` in ``calib.json`` (two on each axis, read from the tick marks to within
1 px) is mapped through both calibrations: the pixel error is the distance between where the
careful calibration and the detected one put that point's data (time, survival); the data error
is the detected value at the careful point's pixel minus its printed value, in % of the axis
range. A figure is calibrated right when every point is within 1.5 px or 0.5 % of the axis range.
Prints one line per figure and the totals; exits 0 (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.auto import detect_figure  # noqa: E402
from digitize.calibrate import Calibration  # noqa: E402
from digitize.image import load_image  # noqa: E402

PX_OK = 1.5        # pixels
RANGE_OK = 0.005   # fraction of the axis range


def truth_calibration(case: Path) -> Calibration:
    """The careful calibration of calib.json (y in percent when its values exceed 1.5), or the
    exact one in an R figure's truth.json."""
    if not (case / "calib.json").is_file():
        return Calibration.from_dict(json.loads((case / "truth.json").read_text())["calibration"])
    calib = json.loads((case / "calib.json").read_text())
    pts = {k: {"px": calib[k][0], "py": calib[k][1], "value": calib[k][2]} for k in ("x1", "x2", "y1", "y2")}
    return Calibration(pts["x1"], pts["x2"], pts["y1"], pts["y2"], log_x=bool(calib.get("log_x", False)))


def _is_case(p: Path) -> bool:
    return (p / "figure.png").is_file() and ((p / "calib.json").is_file() or (p / "truth.json").is_file())


def score(det_cal: Calibration | None, truth: Calibration) -> dict:
    """Worst pixel error and worst data error (fraction of axis range) over the four points."""
    if det_cal is None:
        return {"px": float("inf"), "rel": float("inf"), "ok": False}
    xr = abs(truth.x2.value - truth.x1.value)
    yscale = 100.0 if truth.y_percent else 1.0
    yr = abs(truth.y2.value - truth.y1.value) / yscale
    px_err, rel_err, ok = [], [], True
    for k in ("x1", "x2", "y1", "y2"):
        p = getattr(truth, k)
        t, s = truth.to_data(p.px, p.py)
        qx, qy = det_cal.to_pixel(np.array([float(t)]), np.array([float(s)]))
        e_px = float(np.hypot(qx[0] - p.px, qy[0] - p.py))
        dt, ds = det_cal.to_data(p.px, p.py)
        e_rel = abs(float(dt) - float(t)) / xr if k[0] == "x" else abs(float(ds) - float(s)) / yr
        px_err.append(e_px)
        rel_err.append(e_rel)
        ok &= e_px <= PX_OK or e_rel <= RANGE_OK
    return {"px": max(px_err), "rel": max(rel_err), "ok": ok}


def _r_desc(case: Path) -> str:
    """Short description of an R figure's options (engine, theme, scale)."""
    sp = json.loads((case / "truth.json").read_text())["spec"]
    bits = [sp.get("engine", "")]
    if sp.get("engine") == "survminer":
        bits.append(sp.get("theme", ""))
    if sp.get("percent"):
        bits.append("%")
    if sp.get("risk_table"):
        bits.append("rt")
    return " ".join(b for b in bits if b)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default="/work/real_figs")
    ap.add_argument("-v", action="store_true", help="print the warnings of failed figures")
    ap.add_argument("--r", type=int, default=0, metavar="N", help="score N R-drawn figures instead")
    ap.add_argument("--r-seed", type=int, default=0)
    ap.add_argument("--r-cache", type=Path, default=Path(tempfile.gettempdir()) / "kmrecon_rfigures")
    a = ap.parse_args(argv)
    root = Path(a.folder)
    if a.r:
        from simulate.rfigures import RUnavailable, r_available, r_figure_set  # noqa: PLC0415

        if not r_available():
            print("bench_axes: R (Rscript with survival, survminer) is not installed; R figures skipped")
            return 0
        try:
            figs = r_figure_set(a.r, a.r_seed, a.r_cache)
        except RUnavailable as exc:
            print(f"bench_axes: R figures could not be drawn ({exc}); skipped")
            return 0
        cases = [Path(f.directory) for f in figs]
    else:
        cases = sorted(p for p in root.glob("*") if _is_case(p)) if root.is_dir() else []
    if not cases:
        print(f"bench_axes: no <case>/figure.png + calib.json under {root}; nothing to measure (skipped)")
        return 0
    print(f"{'case':42s} {'ok':>3s} {'max px':>8s} {'max %rng':>8s} {'conf x/y':>9s} {'s':>5s}")
    n_ok, pxs, secs = 0, [], []
    for case in cases:
        truth = truth_calibration(case)
        img = load_image(case / "figure.png")
        t0 = time.perf_counter()
        det = detect_figure(img)
        secs.append(time.perf_counter() - t0)
        s = score(det.calibration, truth)
        n_ok += s["ok"]
        pxs.append(s["px"])
        cx, cy = det.confidence.get("calibration_x", 0), det.confidence.get("calibration_y", 0)
        px = f"{s['px']:8.2f}" if np.isfinite(s["px"]) else "    none"
        rel = f"{100 * s['rel']:8.2f}" if np.isfinite(s["rel"]) else "    none"
        name = case.name if not a.r else f"{case.name} {_r_desc(case)}"
        print(f"{name[:42]:42s} {'yes' if s['ok'] else 'NO':>3s} {px} {rel} {cx:4.2f}/{cy:4.2f} {secs[-1]:5.1f}")
        if a.v and not s["ok"]:
            for w in det.warnings:
                if "axis" in w or "calibrat" in w:
                    print(f"    {w}")
    pxs = np.asarray(pxs)
    fin = pxs[np.isfinite(pxs)]
    print(f"calibrated right (every point within {PX_OK} px or {100 * RANGE_OK:g} % of range): "
          f"{n_ok}/{len(cases)}; calibrated at all: {fin.size}/{len(cases)}; "
          f"median max-px error (calibrated): {np.median(fin) if fin.size else float('nan'):.2f}; "
          f"detection s median {np.median(secs):.1f}, max {np.max(secs):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
