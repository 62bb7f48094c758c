"""Vector-PDF benchmark: KM figures written as PDFs from known IPD, read zero-click by
``digitize.vector`` (page found, curves, censor marks, names, risk table) and reconstructed.

    python benchmarks/bench_vector.py              # 6 matplotlib + 3x4 R PDFs
    python benchmarks/bench_vector.py --quick      # 3 matplotlib + 3x1 R PDFs
    python benchmarks/bench_vector.py --n-mpl 10 --n-r 6 --seed 1 -v

Per PDF and in total: processed (a figure found and reconstructed), arms found and named
(every true arm has a curve under its own name), risk table exact (times and every count as
printed; PDFs that print one), IAE (reconstructed KM vs true KM, mean |dS| over the time axis,
mean over arms), events exact (% arms whose reconstructed event count equals the truth),
seconds per page (survey of the whole PDF + reading + reconstruction, divided by pages).
R PDFs (survminer with risk table, survminer on a percent axis, base R with legend) are made
when Rscript with survival/survminer is installed, else skipped with a note.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.vector.route import pick_figure, run_vector, survey_pdf  # noqa: E402
from simulate.figure import random_case, render_pdf  # noqa: E402
from simulate.pdf_figure import R_STYLES, have_r, write_r_pdf  # noqa: E402
import digitize.auto.detect  # noqa: E402,F401  (imported up front: seconds/page time the reading,
import reconstruct  # noqa: E402,F401  not the first import of the modules)


def _iae(t_true, s_true, t_rec, s_rec, t_max) -> float:
    """Mean |S_true - S_rec| over [0, t_max] (as benchmarks/bench_zero_click.py)."""
    grid = np.linspace(0, t_max, 2001)
    f = lambda t, s: np.asarray(s)[np.clip(np.searchsorted(t, grid, side="right") - 1, 0, None)]  # noqa: E731
    return float(np.mean(np.abs(f(t_true, s_true) - f(t_rec, s_rec))))


class Case:
    """A PDF with its truth: arms, KM per arm, events per arm, printed risk table, axis end."""

    def __init__(self, name, path, arms, km, events, risk, t_max):
        self.name, self.path, self.arms, self.km, self.events = name, path, arms, km, events
        self.risk, self.t_max = risk, t_max   # risk: {arm: (times, counts)} or None


def mpl_cases(n: int, seed: int, folder: Path) -> list[Case]:
    out = []
    tiers = ("typical", "hard")
    for i in range(n):
        ipd, style = random_case(np.random.default_rng([seed, 100 + i]), tiers[i % 2])
        path = folder / f"mpl_{tiers[i % 2]}_{i}.pdf"
        truth = render_pdf(ipd, style, path)
        risk = None
        if truth.risk_table is not None:
            risk = {a: truth.risk_table.for_arm(a) for a in truth.arms}
        ev = {a: int(ipd[(ipd["arm"] == a)]["event"].sum()) for a in truth.arms}
        out.append(Case(path.stem, path, list(truth.arms), truth.km, ev, risk, float(truth.x_range[1])))
    return out


def r_cases(n: int, seed: int, folder: Path) -> list[Case]:
    out = []
    for i in range(n):
        ipd, _ = random_case(np.random.default_rng([seed, 200 + i]), "typical")
        for style in R_STYLES:
            path = folder / f"r_{style}_{i}.pdf"
            truth = write_r_pdf(ipd, style, path)
            risk = None
            if truth.risk_times is not None:
                risk = {a: (truth.risk_times, truth.n_risk(a, truth.risk_times)) for a in truth.arms}
            ev = {a: int(truth.ipd[truth.ipd["arm"] == a]["event"].sum()) for a in truth.arms}
            out.append(Case(path.stem, path, truth.arms, truth.km, ev, risk, truth.t_max))
    return out


def rfigure_cases(n: int, seed: int, folder: Path) -> list[Case]:
    """The lead's varied R figures (simulate/rfigures.py: survminer themes, legends, palettes,
    black-and-white line types, conf. bands, risk-table options; base R axes and legends)
    drawn by R's pdf() device instead of png() - the same scripts, one device swapped."""
    import re
    import subprocess

    from simulate.rfigures import _script, random_rspec, simulate_trial

    rng = np.random.default_rng(seed)
    metas, parts = [], ["suppressMessages({library(survival); library(survminer)})"]
    for i in range(n):
        spec = random_rspec(rng)
        ipd = simulate_trial(rng, spec.names, bool(rng.random() < 0.25))
        arms = [a for a in spec.names if a in set(ipd["arm"])]
        ipd = ipd[ipd["arm"].isin(arms)].reset_index(drop=True)
        d = folder / f"rfig_{spec.engine}_{i:02d}"
        d.mkdir(parents=True, exist_ok=True)
        ipd.to_csv(d / "ipd.csv", index=False)
        xmax = float(np.ceil(float(ipd["time"].max()) / spec.break_time_by) * spec.break_time_by)
        code = re.sub(r"png\(file, width = (\d+), height = (\d+), res = (\d+)\)",
                      lambda m: (f'pdf(sub("png$", "pdf", file), width = {int(m[1]) / int(m[3])!r}, '
                                 f'height = {int(m[2]) / int(m[3])!r})'), _script(spec, d, arms, xmax))
        code = code.replace('draw("marker.png", TRUE)', "")
        parts.append(code)
        metas.append((d, ipd, spec, arms, xmax))
    script = folder / "rfigures_pdf.R"
    script.write_text("\n".join(parts))
    r = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"R failed: {r.stderr.strip()[-500:]}")
    out = []
    for d, ipd, spec, arms, xmax in metas:
        risk = None
        if spec.risk_table:
            import pandas as pd
            tab = pd.read_csv(d / "risk_printed.csv")
            risk = {a: (tab.loc[tab["arm"] == a, "time"].to_numpy(float),
                        tab.loc[tab["arm"] == a, "n_risk"].to_numpy(float)) for a in arms}
        ev = {a: int(ipd[ipd["arm"] == a]["event"].sum()) for a in arms}
        named = spec.legend != "none" or (spec.risk_table and spec.tables_y_text)
        km = (lambda g: lambda a: __import__("simulate.ipd", fromlist=["km_corners"]).km_corners(
            g[g["arm"] == a]["time"].to_numpy(float), g[g["arm"] == a]["event"].to_numpy(int)))(ipd)
        c = Case(d.name, d / "figure.pdf", arms, km, ev, risk, xmax)
        c.names_printed = named
        out.append(c)
    return out


def score(case: Case) -> dict:
    t0 = time.perf_counter()
    res = {"name": case.name, "processed": False, "named": False, "risk_exact": None,
           "iae": float("nan"), "events_exact": 0, "arms": len(case.arms), "error": ""}
    try:
        survey = survey_pdf(case.path)
        fig, _ = pick_figure(survey, case.path.name)
        if fig.source != "vector":
            raise RuntimeError("read as a bitmap")
        _, out = run_vector(fig, 200)
    except Exception as exc:  # report, keep benchmarking
        res["error"] = f"{type(exc).__name__}: {exc}"
        res["sec_page"] = (time.perf_counter() - t0)
        return res
    res["sec_page"] = (time.perf_counter() - t0) / max(1, survey.n_pages)
    res["processed"] = True
    names = [a.name for a in out.arms]
    res["named"] = sorted(names) == sorted(case.arms)
    if not getattr(case, "names_printed", True):     # nothing prints the names: pair by order
        res["named"] = None
        rename = dict(zip(names, case.arms))
        out.reconstruction.ipd["arm"] = out.reconstruction.ipd["arm"].map(rename)
        out.reconstruction.diagnostics = {rename.get(k, k): v for k, v in out.reconstruction.diagnostics.items()}
    if case.risk is not None:
        rt = out.risk_table
        ok = rt is not None and all(
            a in rt.n_risk and np.array_equal(rt.for_arm(a)[0], np.asarray(t, float))
            and np.array_equal(rt.for_arm(a)[1], np.asarray(c, float)) for a, (t, c) in case.risk.items())
        res["risk_exact"] = bool(ok)
    rec = out.reconstruction
    iaes = []
    for a in case.arms:
        if a not in rec.arms:
            continue
        iaes.append(_iae(*case.km(a), *rec.km(a), case.t_max))
        got = int(rec.ipd[rec.ipd["arm"] == a]["event"].sum())
        res["events_exact"] += int(got == case.events[a])
    res["iae"] = float(np.mean(iaes)) if iaes else float("nan")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n-mpl", type=int, default=None)
    ap.add_argument("--n-r", type=int, default=None)
    ap.add_argument("--n-rfig", type=int, default=0,
                    help="also N of the lead's varied R figures (simulate/rfigures.py) as PDFs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", metavar="DIR", help="write the PDFs here (default: a temp folder)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    n_mpl = a.n_mpl if a.n_mpl is not None else (3 if a.quick else 6)
    n_r = a.n_r if a.n_r is not None else (1 if a.quick else 4)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(a.keep) if a.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = mpl_cases(n_mpl, a.seed, folder)
        if n_r and have_r():
            cases += r_cases(n_r, a.seed, folder)
        elif n_r:
            print("note: Rscript with survival/survminer not found; R PDFs skipped")
        if a.n_rfig and have_r():
            cases += rfigure_cases(a.n_rfig, a.seed, folder)
        rows = [score(c) for c in cases]
    print(f"{'pdf':<28}{'proc':>5}{'named':>6}{'risk':>6}{'IAE':>10}{'events':>8}{'s/page':>8}")
    for r in rows:
        risk = "-" if r["risk_exact"] is None else ("yes" if r["risk_exact"] else "NO")
        named = "-" if r["named"] is None else ("yes" if r["named"] else "NO")
        print(f"{r['name']:<28}{'yes' if r['processed'] else 'NO':>5}{named:>6}"
              f"{risk:>6}{r['iae']:>10.5f}{r['events_exact']:>4}/{r['arms']:<3}{r['sec_page']:>8.2f}"
              + (f"  {r['error']}" if r["error"] else ""))
    for label, sel in (("matplotlib", lambda r: r["name"].startswith("mpl")),
                       ("R", lambda r: r["name"].startswith("r_")),
                       ("R varied (rfigures)", lambda r: r["name"].startswith("rfig")), ("all", lambda r: True)):
        rs = [r for r in rows if sel(r)]
        if not rs:
            continue
        risk = [r["risk_exact"] for r in rs if r["risk_exact"] is not None]
        arms = sum(r["arms"] for r in rs)
        iae = np.array([r["iae"] for r in rs], float)
        print(f"TOTAL {label}: {len(rs)} PDFs, processed {sum(r['processed'] for r in rs)}/{len(rs)}, "
              f"named {sum(bool(r['named']) for r in rs)}/{sum(r['named'] is not None for r in rs)}, risk exact {sum(risk)}/{len(risk)}, "
              f"IAE median {np.nanmedian(iae) if np.isfinite(iae).any() else float('nan'):.5f} "
              f"(max {np.nanmax(iae) if np.isfinite(iae).any() else float('nan'):.5f}), events exact "
              f"{100.0 * sum(r['events_exact'] for r in rs) / max(1, arms):.0f}% of {arms} arms, "
              f"s/page median {np.median([r['sec_page'] for r in rs]):.2f} "
              f"(max {max(r['sec_page'] for r in rs):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
