"""Benchmark on the figures users bring: published KM figures and figures R draws.

Two corpora, each in two modes:
  auto      ``kmrecon extract FIGURE`` with nothing given (zero-click), run in-process; its exit
            status is recorded (0 confident, 3 needs review, 2 could not run)
  assisted  the careful calibration, arm colours and printed risk table given (as a user clicks
            and types them), through ``digitize.pipeline.run_pipeline``

1. Real published figures (``--real DIR``: built by ``shared/real/build_figures.py``; each case
   has figure.png, reference.json with what the paper printed, calib.json). Per figure and in
   total: processed, arms found (a detected curve of the arm's colour, ΔE ≤ 45, one to one) and
   named (name as printed, case/punctuation-insensitive; figures that print no names are not
   counted), risk cells read right (auto), N exact (reconstructed N = printed N or first risk
   cell), events vs printed, medians inside the printed 95 % CI, ||log HR| − |log HR printed||
   (the reference arm is not recorded, so both orders), seconds. "fully right": processed, every
   arm found and (where printed) named, every printed risk cell read, N exact.
2. R-rendered figures from simulated IPD (``simulate.rfigures``; survminer and base R across
   options, cached under ``--r-cache``): scored against the true IPD: processed, arms missing,
   IAE (reconstructed KM vs true KM over the x axis), events error, |Δlog HR|, seconds.

    python3 benchmarks/bench_real.py                       # both corpora, both modes
    python3 benchmarks/bench_real.py --real /work/real_figs --r-n 40 --r-seed 0 -v
    python3 benchmarks/bench_real.py --skip-r              # real figures only
    python3 benchmarks/bench_real.py --skip-real --r-n 10  # R set only
    python3 benchmarks/bench_real.py --skip-real --r-seed 2 --jpeg 75 --modes auto  # as JPEG screenshots

Targets (issue 13): real zero-click fully right >= 12 of 14, processed 14 of 14, risk cells right
>= 95 %, no silent merge; R set zero-click processed >= 98 %, arms missing <= 1 %, IAE median
<= 0.003; <= 3 s a figure (median), none over 10 s.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the scores the other benchmarks already define: KM median, Cox log HR, IAE over the axis range
from benchmarks.bench_digitize import _median_time as median_time, log_hr  # noqa: E402
from benchmarks.bench_zero_click import _iae as iae  # noqa: E402

DEFAULT_REAL = [Path("/work/real_figs"), Path(__file__).resolve().parents[2] / "real_figs"]
MAX_DE = 45.0
#: cases whose figure prints no arm names (reference.json notes say so: no legend, labels cropped)
NO_NAMES_NOTE = re.compile(r"no legend in the panel|identified only by colour|labels are cropped", re.I)


# ---------------------------------------------------------------------------------------------
# shared scoring

def norm_name(s: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", s.lower())


def same_name(found: str, truth: str) -> bool:
    a, b = norm_name(found), norm_name(re.sub(r"\(.*?\)", "", truth))
    return bool(a) and (a == b or (len(a) >= 4 and len(b) >= 4 and (a in b or b in a)))


def assign(cost: np.ndarray, limit: float) -> dict[int, int]:
    """One-to-one rows -> columns minimising cost (Hungarian), pairs above ``limit`` dropped."""
    from scipy.optimize import linear_sum_assignment

    if cost.size == 0:
        return {}
    # pairs above the limit never compete: else a wrong pairing of two far pairs can beat a
    # close pair plus a far one (two traced arms, three true ones) and drop the close one
    r, c = linear_sum_assignment(np.where(np.isfinite(cost) & (cost <= limit), cost, 1e9))
    return {int(i): int(j) for i, j in zip(r, c) if cost[i, j] <= limit}


def run_extract_cli(figure: Path, out_dir: Path, extra: list[str] | None = None) -> dict:
    """``kmrecon extract FIGURE --out out_dir/ipd.csv`` in-process: exit status, seconds, sidecar,
    IPD (None when nothing was written), and what it printed."""
    from kmrecon.cli import main

    out = out_dir / "ipd.csv"
    buf_o, buf_e = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf_o), contextlib.redirect_stderr(buf_e):
        try:
            rc = main(["extract", str(figure), "--out", str(out), *(extra or [])])
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
        except Exception as exc:  # noqa: BLE001 - a traceback is a finding, not a crash of the benchmark
            rc = 1
            print(f"TRACEBACK {type(exc).__name__}: {exc}", file=buf_e)
    dt = time.perf_counter() - t0
    side = out_dir / "ipd.json"
    res = {"rc": rc, "seconds": dt, "stdout": buf_o.getvalue(), "stderr": buf_e.getvalue(),
           "sidecar": None, "ipd": None}
    if out.exists() and side.exists():
        res["sidecar"] = json.loads(side.read_text())
        res["ipd"] = pd.read_csv(out)
    return res


# ---------------------------------------------------------------------------------------------
# real published figures

def _printed_n(arm: dict) -> int | None:
    if arm.get("n"):
        return int(arm["n"])
    rt = arm.get("risk_table") or {}
    return int(rt["0"]) if "0" in rt else None


def _median_in_ci(arm: dict, ipd_arm: pd.DataFrame) -> bool | None:
    med = arm.get("median")
    if not med or "ci" not in med and med.get("value") is not None:
        return None
    m = median_time(ipd_arm["time"], ipd_arm["event"])
    if med.get("value") is None:                       # printed NR
        return not np.isfinite(m)
    lo, hi = med["ci"]
    lo = -np.inf if lo is None else lo
    hi = np.inf if hi is None else hi
    return bool(np.isfinite(m) and lo <= m <= hi)


def score_real_case(ref: dict, arms_found: list[tuple[str, tuple]], ipd: pd.DataFrame | None,
                    risk: dict | None, calib: dict) -> dict:
    """Scores of one real figure. arms_found: (name, rgb) of each arm the run produced; risk: the
    risk table it used ({"times", "n_risk"}) or None."""
    from digitize.auto.legend import delta_e

    tarms = ref["arms"]
    names_printed = not any(NO_NAMES_NOTE.search(n) for n in ref.get("notes", [])) and \
        not any("inferred" in a["name"] for a in tarms)
    cols = [tuple(int(calib["arms"][a["name"]].lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)) for a in tarms]
    cost = np.array([[delta_e(rgb, c) for c in cols] for _, rgb in arms_found]) if arms_found else np.zeros((0, 0))
    pair = {j: i for i, j in assign(cost, MAX_DE).items()}      # truth arm j -> found arm i
    # name-first: a found arm carrying the printed name counts for that arm even if its colour
    # was read off (e.g. washed out by JPEG)
    for j, a in enumerate(tarms):
        if j not in pair:
            for i, (nm, _) in enumerate(arms_found):
                if same_name(nm, a["name"]) and i not in pair.values():
                    pair[j] = i
    out = {"arms": len(tarms), "found": len(pair), "extra": max(0, len(arms_found) - len(pair)),
           "named": sum(same_name(arms_found[i][0], tarms[j]["name"]) for j, i in pair.items()),
           "names_printed": names_printed, "cells": 0, "cells_ok": 0, "n_exact": 0, "n_known": 0,
           "events": [], "median_in": [], "dloghr": None}
    for j, a in enumerate(tarms):
        rt = a.get("risk_table") or {}
        out["cells"] += len(rt)
        if j not in pair:
            continue
        fname = arms_found[pair[j]][0]
        if risk is not None and fname in risk["n_risk"]:
            times = np.asarray(risk["times"], float)
            got = np.asarray(risk["n_risk"][fname], float)
            for t, n in rt.items():
                k = np.nonzero(np.isclose(times, float(t), rtol=1e-6, atol=1e-6))[0]
                out["cells_ok"] += bool(k.size and got[k[0]] == n)
        if ipd is None:
            continue
        g = ipd[ipd["arm"] == fname]
        n_true = _printed_n(a)
        if n_true is not None:
            out["n_known"] += 1
            out["n_exact"] += int(len(g) == n_true)
        if a.get("events"):
            out["events"].append(abs(int(g["event"].sum()) - a["events"]) / a["events"] * 100)
        m = _median_in_ci(a, g)
        if m is not None:
            out["median_in"].append(m)
    hr = (ref.get("hazard_ratio") or {}).get("value")
    if hr and ipd is not None and len(pair) == 2 == len(tarms):
        a, b = (arms_found[pair[j]][0] for j in (0, 1))
        lh = log_hr(ipd, a, b)
        if np.isfinite(lh):
            out["dloghr"] = abs(abs(lh) - abs(np.log(hr)))
    all_named = out["named"] == out["arms"] or not names_printed
    out["fully_right"] = (out["found"] == out["arms"] and out["extra"] == 0 and all_named
                          and out["cells_ok"] == out["cells"] and out["n_exact"] == out["n_known"])
    return out


def real_auto(case: Path, tmp: Path) -> dict:
    ref = json.loads((case / "reference.json").read_text())
    calib = json.loads((case / "calib.json").read_text())
    r = run_extract_cli(case / "figure.png", tmp)
    side = r["sidecar"]
    arms = [(a["name"], tuple(a["rgb"])) for a in side["arms"]] if side else []
    s = score_real_case(ref, arms, r["ipd"], side.get("risk_table") if side else None, calib)
    s.update(rc=r["rc"], seconds=r["seconds"], processed=r["ipd"] is not None and r["rc"] in (0, 3),
             review=[ln for ln in r["stdout"].splitlines() + r["stderr"].splitlines()
                     if ln.startswith("REVIEW")],
             error=(r["stderr"].strip().splitlines() or [""])[-1] if r["ipd"] is None else "")
    # a silent merge: fewer arms than the figure has, and the command said nothing needs review
    s["silent_loss"] = s["processed"] and s["found"] < s["arms"] and r["rc"] == 0
    return s


def real_assisted(case: Path) -> dict:
    from digitize.calibrate import AxisPoint, Calibration
    from digitize.extract import ArmSpec
    from digitize.image import load_image
    from digitize.pipeline import run_pipeline
    from kmrecon.data import RiskTable

    ref = json.loads((case / "reference.json").read_text())
    calib = json.loads((case / "calib.json").read_text())
    cal = Calibration(*(AxisPoint(*calib[k]) for k in ("x1", "x2", "y1", "y2")), log_x=calib.get("log_x", False))
    specs = [ArmSpec(a["name"], tuple(int(calib["arms"][a["name"]].lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)))
             for a in ref["arms"]]
    times = sorted({float(t) for a in ref["arms"] for t in (a.get("risk_table") or {})})
    risk = None
    if times:
        risk = RiskTable(np.array(times), {a["name"]: np.array([(a.get("risk_table") or {}).get(
            f"{t:g}", np.nan) for t in times], float) for a in ref["arms"]})
    t0 = time.perf_counter()
    try:
        res = run_pipeline(load_image(case / "figure.png"), cal, specs, risk_table=risk,
                           plot_area=tuple(calib["plot_area"]) if calib.get("plot_area") else None)
        ipd, err = res.ipd, ""
    except Exception as exc:  # noqa: BLE001
        ipd, err = None, f"{type(exc).__name__}: {exc}"
    dt = time.perf_counter() - t0
    arms = [(s.name, s.rgb) for s in specs] if ipd is not None else []
    s = score_real_case(ref, arms, ipd, None, calib)
    s.update(seconds=dt, processed=ipd is not None, error=err)
    return s


def _fmt_real(name, s, mode) -> str:
    ev = f"{np.median(s['events']):.1f}%" if s["events"] else "-"
    med = f"{sum(s['median_in'])}/{len(s['median_in'])}" if s["median_in"] else "-"
    hr = f"{s['dloghr']:.3f}" if s["dloghr"] is not None else "-"
    names = f"{s['named']}/{s['arms']}" if s["names_printed"] else "n/p"
    line = (f"  {name[:34]:34s} {'ok ' if s['processed'] else 'ERR'} "
            f"{'rc=' + str(s.get('rc')) + ' ' if mode == 'auto' else ''}"
            f"found {s['found']}/{s['arms']}{'+' + str(s['extra']) if s['extra'] else ''} "
            f"named {names} ")
    if mode == "auto":
        line += f"cells {s['cells_ok']}/{s['cells']} "
    line += (f"N {s['n_exact']}/{s['n_known']} ev {ev} med-in-CI {med} dlogHR {hr} "
             f"{s['seconds']:.1f}s{' FULL' if mode == 'auto' and s['fully_right'] else ''}")
    if s.get("error"):
        line += f"\n      {s['error'][:220]}"
    return line


def summarise_real(rows: list[dict], mode: str) -> None:
    n = len(rows)
    arms = sum(r["arms"] for r in rows)
    printed = [r for r in rows if r["names_printed"]]
    print(f"  {mode}: processed {sum(r['processed'] for r in rows)}/{n}; arms found "
          f"{sum(r['found'] for r in rows)}/{arms} (+{sum(r['extra'] for r in rows)} extra); "
          f"named {sum(r['named'] for r in printed)}/{sum(r['arms'] for r in printed)} "
          f"(figures printing names)")
    if mode == "auto":
        cells = sum(r["cells_ok"] for r in rows), sum(r["cells"] for r in rows)
        print(f"    risk cells right {cells[0]}/{cells[1]} ({100 * cells[0] / max(cells[1], 1):.1f} %); "
              f"fully right {sum(r['fully_right'] for r in rows)}/{n}; exit 0/3/2+: "
              f"{sum(r['rc'] == 0 for r in rows)}/{sum(r['rc'] == 3 for r in rows)}/"
              f"{sum(r['rc'] not in (0, 3) for r in rows)}; silent arm loss (exit 0): "
              f"{sum(r['silent_loss'] for r in rows)}")
    meds = [m for r in rows for m in r["median_in"]]
    hrs = [r["dloghr"] for r in rows if r["dloghr"] is not None]
    evs = [e for r in rows for e in r["events"]]
    secs = [r["seconds"] for r in rows]
    print(f"    N exact {sum(r['n_exact'] for r in rows)}/{sum(r['n_known'] for r in rows)}; events vs printed "
          f"median {np.median(evs) if evs else float('nan'):.1f} % ({len(evs)} arms); medians in printed CI "
          f"{sum(meds)}/{len(meds)}; ||logHR|-|logHR printed|| median "
          f"{np.median(hrs) if hrs else float('nan'):.3f} ({len(hrs)} figures)")
    print(f"    seconds: median {np.median(secs):.1f}, max {max(secs):.1f}")


# ---------------------------------------------------------------------------------------------
# R-rendered figures

def score_r(fig, ipd: pd.DataFrame | None, found: list[str]) -> dict:
    """Pair reconstructed arms with true arms by name, else by IAE; score each true arm."""
    tr = fig.truth
    xmax = float(tr.x_range[1])
    out = {"arms": len(tr.arms), "missing": len(tr.arms), "iae": [], "events": [], "dloghr": [],
           "named": 0, "extra": 0, "iae_arm": []}
    if ipd is None or not found:
        return out
    cost = np.full((len(found), len(tr.arms)), np.inf)
    for i, a in enumerate(found):
        g = ipd[ipd["arm"] == a]
        if not len(g):
            continue
        from simulate.ipd import km_corners

        t, s = km_corners(g["time"].to_numpy(), g["event"].to_numpy())
        for j, b in enumerate(tr.arms):
            cost[i, j] = iae(*tr.km(b), t, s, xmax)
    pair = assign(cost, 0.05)
    out["missing"] = len(tr.arms) - len(pair)
    out["extra"] = len(found) - len(pair)
    for i, j in pair.items():
        a, b = found[i], tr.arms[j]
        out["iae"].append(cost[i, j])
        out["iae_arm"].append(b)
        d_true = int(tr.ipd.loc[tr.ipd["arm"] == b, "event"].sum())
        d_rec = int(ipd.loc[ipd["arm"] == a, "event"].sum())
        out["events"].append(abs(d_rec - d_true) / max(d_true, 1) * 100)
        out["named"] += int(a == b)
    inv = {j: found[i] for i, j in pair.items()}
    out["pair"] = {tr.arms[j]: a for j, a in inv.items()}
    for j in range(1, len(tr.arms)):
        if 0 in inv and j in inv:
            lt = log_hr(tr.ipd, tr.arms[0], tr.arms[j])
            lr = log_hr(ipd, inv[0], inv[j])
            if np.isfinite(lt) and np.isfinite(lr):
                out["dloghr"].append(abs(lr - lt))
    return out


def r_cells(truth, risk: dict | None, pair: dict) -> tuple[int, int]:
    """(cells read right, cells printed) of the risk table R drew; a true arm's row is the
    row of the arm it was paired with (by IAE). risk: the sidecar's {"times", "n_risk"}."""
    if truth.risk_table is None:
        return 0, 0
    ok = total = 0
    for arm, printed in truth.risk_table.n_risk.items():
        total += len(printed)
        name = pair.get(arm)
        if risk is None or name not in (risk.get("n_risk") or {}):
            continue
        times = np.asarray(risk["times"], float)
        got = np.asarray([np.nan if v is None else v for v in risk["n_risk"][name]], float)
        for t, n in zip(truth.risk_table.times, printed):
            k = np.nonzero(np.isclose(times, float(t), rtol=1e-6, atol=1e-6))[0]
            ok += bool(k.size and got[k[0]] == n)
    return ok, total


def r_auto(fig, tmp: Path) -> dict:
    r = run_extract_cli(fig.image_path, tmp)
    side = r["sidecar"]
    found = [a["name"] for a in side["arms"]] if side else []
    s = score_r(fig, r["ipd"], found)
    s["cells_ok"], s["cells"] = r_cells(fig.truth, side.get("risk_table") if side else None, s.get("pair", {}))
    s.update(rc=r["rc"], seconds=r["seconds"], processed=r["ipd"] is not None and r["rc"] in (0, 3),
             error=(r["stderr"].strip().splitlines() or [""])[-1] if r["ipd"] is None else "")
    s["silent_loss"] = s["processed"] and s["missing"] > 0 and r["rc"] == 0
    return s


def r_assisted(fig) -> dict:
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec
    from digitize.pipeline import run_pipeline

    tr = fig.truth
    cal = Calibration.from_dict(tr.calibration)
    specs = [ArmSpec(a, tuple(tr.colors[a])) for a in tr.arms]
    risk = tr.risk_table
    if risk is None:   # no table drawn: the true numbers at risk at the breaks are given
        from kmrecon.data import RiskTable
        from simulate.ipd import number_at_risk

        brk = np.arange(0, tr.x_range[1] + 1e-9, tr.spec.break_time_by)
        risk = RiskTable(brk, {a: number_at_risk(tr.ipd.loc[tr.ipd["arm"] == a, "time"], brk) for a in tr.arms})
    t0 = time.perf_counter()
    try:
        res = run_pipeline(fig.load_image(), cal, specs, risk_table=risk)
        ipd, err = res.ipd, ""
    except Exception as exc:  # noqa: BLE001
        ipd, err = None, f"{type(exc).__name__}: {exc}"
    s = score_r(fig, ipd, list(tr.arms) if ipd is not None else [])
    s.update(seconds=time.perf_counter() - t0, processed=ipd is not None, error=err)
    if ipd is not None:
        # the traced curve's own IAE (what the reconstruction starts from), per scored arm
        traced = {a.name: a for a in res.arms}
        s["trace_iae"] = []
        for b in s["iae_arm"]:
            a = traced.get(b)
            if a is None or a.empty:
                s["trace_iae"].append(float("nan"))
                continue
            o = np.lexsort((-a.survival, a.time))
            s["trace_iae"].append(iae(*tr.km(b), a.time[o], a.survival[o], float(tr.x_range[1])))
    return s


def _jpeg_copy(src: Path, dst: Path, quality: int) -> Path:
    """``src`` (a figure's folder) copied to ``dst`` with its figure.png re-encoded as JPEG of
    ``quality`` (1-95, Pillow's 4:2:0) and decoded back (kept as PNG: no second loss); made
    once. Returns ``dst``."""
    import io
    import shutil

    from PIL import Image

    if not 1 <= quality <= 95:
        raise SystemExit(f"--jpeg: quality must be 1-95, not {quality}")
    png = dst / "figure.png"
    if not png.exists():
        shutil.copytree(src, dst, dirs_exist_ok=True)
        buf = io.BytesIO()
        Image.open(src / "figure.png").convert("RGB").save(buf, "JPEG", quality=quality)
        buf.seek(0)
        Image.open(buf).save(png)
    return dst


def jpeg_copies(figs: list, quality: int) -> list:
    """The R figures with their PNG re-encoded as JPEG of ``quality`` (1-95) and decoded back,
    in a sibling folder of the cache (truth unchanged): the blocking and colour bleeding of a
    screenshot saved as JPEG, which users bring more often than clean PNGs."""
    from simulate.rfigures import load_r_figure

    out = []
    for f in figs:
        if f.truth.spec.device != "png":   # a vector page is no screenshot
            out.append(f)
            continue
        src = Path(f.directory)
        out.append(load_r_figure(_jpeg_copy(src, src.parent.parent / f"jpeg{quality}" / src.parent.name / src.name,
                                            quality)))
    return out


def real_jpeg_copies(cases: list[Path], quality: int) -> list[Path]:
    """The published figures re-saved as JPEG of ``quality`` (a screenshot of a screenshot: two
    of them were JPEGs already), in a sibling folder of the built figures (kept out of the
    repository like them), references and calibrations unchanged."""
    return [_jpeg_copy(c, c.parent.parent / f"{c.parent.name}_jpeg{quality}" / c.name, quality) for c in cases]


def _desc(spec) -> str:
    bits = [spec.engine, f"{len(spec.names)}arms", f"{spec.res}dpi"]
    if spec.engine == "survminer":
        bits += [spec.theme, f"leg={spec.legend}"]
        if spec.risk_table:
            bits.append("table" + ("-col" if spec.risk_table_col else "") + ("" if spec.tables_y_text else "-noy"))
    else:
        bits += [f"leg={spec.legend}", spec.base_axis] + (["table"] if spec.risk_table else [])
    if len(set(spec.colours)) == 1 or spec.colours[0] == "#000000":
        bits.append("bw")
    if spec.percent:
        bits.append("pct")
    if spec.conf_int:
        bits.append("ci")
    bits.append(f"cens={spec.censor}")
    return " ".join(bits)


def summarise_r(rows: list[dict], mode: str) -> None:
    n = len(rows)
    arms = sum(r["arms"] for r in rows)
    iaes = [v for r in rows for v in r["iae"]]
    evs = [v for r in rows for v in r["events"]]
    hrs = [v for r in rows for v in r["dloghr"]]
    secs = [r["seconds"] for r in rows]
    q = lambda v, p: float(np.percentile(v, p)) if v else float("nan")  # noqa: E731
    print(f"  {mode}: processed {sum(r['processed'] for r in rows)}/{n} "
          f"({100 * sum(r['processed'] for r in rows) / max(n, 1):.0f} %); arms missing "
          f"{sum(r['missing'] for r in rows)}/{arms} ({100 * sum(r['missing'] for r in rows) / max(arms, 1):.1f} %); "
          f"extra {sum(r['extra'] for r in rows)}; named right {sum(r['named'] for r in rows)}/{arms}")
    pairs = [(v, w) for r in rows for v, w in zip(r["iae"], r.get("trace_iae", [])) if np.isfinite(w)]
    if pairs:
        rec, trc = np.array(pairs).T
        print(f"    traced curve IAE median {np.median(trc):.4f} p90 {np.percentile(trc, 90):.4f}; "
              f"reconstruction IAE median {np.median(rec):.4f}; reconstruction below the trace in "
              f"{100 * np.mean(rec < trc):.0f} % of {rec.size} arms")
    print(f"    IAE median {q(iaes, 50):.4f} p90 {q(iaes, 90):.4f}; events error median {q(evs, 50):.2f} % "
          f"max {max(evs) if evs else float('nan'):.1f} % "
          f"(arms > 3 %: {sum(e > 3 for e in evs)}, > 5 %: {sum(e > 5 for e in evs)}); "
          f"|dlogHR| median {q(hrs, 50):.4f}; seconds median {np.median(secs):.1f} max {max(secs):.1f}")
    if mode == "auto":
        cells = sum(r.get("cells_ok", 0) for r in rows), sum(r.get("cells", 0) for r in rows)
        print(f"    risk cells right {cells[0]}/{cells[1]} ({100 * cells[0] / max(cells[1], 1):.1f} %; "
              "tables R drew, rows paired with the arms found)")
        print(f"    exit 0/3/other: {sum(r['rc'] == 0 for r in rows)}/{sum(r['rc'] == 3 for r in rows)}/"
              f"{sum(r['rc'] not in (0, 3) for r in rows)}; silent arm loss (exit 0 with an arm missing): "
              f"{sum(r['silent_loss'] for r in rows)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, help="built real figures (default /work/real_figs)")
    ap.add_argument("--cases", nargs="*", help="only these real cases (substring match)")
    ap.add_argument("--modes", nargs="+", default=["auto", "assisted"], choices=["auto", "assisted"])
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-r", action="store_true")
    ap.add_argument("--r-n", type=int, default=30, help="R-rendered figures (default 30)")
    ap.add_argument("--r-seed", type=int, default=0)
    ap.add_argument("--r-engine", choices=["survminer", "base"], help="only this R engine")
    ap.add_argument("--r-cache", type=Path, default=Path(tempfile.gettempdir()) / "kmrecon_rfigures")
    ap.add_argument("--jpeg", type=int, metavar="Q", default=None,
                    help="read the figures (published and R) re-encoded as JPEG of quality Q (screenshots as "
                         "users bring them)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per figure")
    args = ap.parse_args(argv)
    try:  # a runaway allocation becomes a MemoryError for one figure, not an OOM kill
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, ValueError, OSError):
        pass

    if not args.skip_real:
        real = args.real or next((p for p in DEFAULT_REAL if p.is_dir()), None)
        if real is None or not real.is_dir():
            print("real figures: not found; build them with shared/real/build_figures.py MIRRORS OUT "
                  "and pass --real OUT")
        else:
            cases = sorted(p for p in real.iterdir() if (p / "reference.json").exists())
            if args.cases:
                cases = [c for c in cases if any(k in c.name for k in args.cases)]
            if args.jpeg is not None:
                cases = real_jpeg_copies(cases, args.jpeg)
            print(f"real published figures: {len(cases)} in {real}"
                  + (f", re-encoded as JPEG quality {args.jpeg}" if args.jpeg is not None else ""))
            for mode in args.modes:
                rows = []
                for c in cases:
                    with tempfile.TemporaryDirectory() as tmp:
                        s = real_auto(c, Path(tmp)) if mode == "auto" else real_assisted(c)
                    rows.append(s)
                    if args.verbose:
                        print(_fmt_real(c.name, s, mode))
                        if mode == "auto" and s.get("review"):
                            for ln in s["review"][:6]:
                                print(f"      {ln[:200]}")
                summarise_real(rows, mode)

    if not args.skip_r:
        from simulate.rfigures import RUnavailable, r_available, r_figure_set

        if not r_available():
            print("R-rendered figures: skipped (Rscript with survival + survminer not found; "
                  "Debian: r-base-core r-cran-survival r-cran-survminer r-cran-ggplot2 fonts-urw-base35)")
        else:
            try:
                figs = r_figure_set(args.r_n, args.r_seed, args.r_cache, engine=args.r_engine)
            except RUnavailable as exc:
                print(f"R-rendered figures: R failed ({exc})")
                figs = []
            if args.jpeg is not None and figs:
                figs = jpeg_copies(figs, args.jpeg)
            print(f"R-rendered figures: {len(figs)} (seed {args.r_seed}, cache {args.r_cache}"
                  + (f", re-encoded as JPEG quality {args.jpeg})" if args.jpeg is not None else ")"))
            for mode in args.modes:
                rows = []
                for i, f in enumerate(figs):
                    with tempfile.TemporaryDirectory() as tmp:
                        s = r_auto(f, Path(tmp)) if mode == "auto" else r_assisted(f)
                    rows.append(s)
                    if args.verbose:
                        iaes = ",".join(f"{v:.4f}" for v in s["iae"])
                        if s.get("trace_iae"):
                            iaes += " trace " + ",".join(f"{v:.4f}" for v in s["trace_iae"])
                        evs = ",".join(f"{v:.1f}" for v in s["events"])
                        print(f"  {i:3d} {_desc(f.truth.spec):60s} {'rc=' + str(s.get('rc', '-')):5s} "
                              f"missing {s['missing']}/{s['arms']} named {s['named']} "
                              f"{'cells %d/%d ' % (s['cells_ok'], s['cells']) if s.get('cells') else ''}"
                              f"IAE [{iaes}] ev% [{evs}] "
                              f"{s['seconds']:.1f}s{(' ' + s['error'][:160]) if s['error'] else ''}")
                if rows:
                    summarise_r(rows, mode)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
