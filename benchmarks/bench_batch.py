"""Time ``kmrecon batch`` on a set of synthetic figures and print what it took.

    python3 benchmarks/bench_batch.py [--n 50] [-j 2] [--figures DIR] [--out DIR] [--quick]

Writes ``--n`` figures with ``benchmarks/make_figure_set.py`` (unless ``--figures`` points at a
folder already made), runs ``python3 -m kmrecon batch FIGURES --out OUT -j J --force`` as a child
process and prints: wall seconds, CPU seconds of the batch and its workers, the 1-minute load
average before and after (the machine may be shared), the status counts of summary.csv, and
whether every figure has a row. Target (issue 17): 50 figures, -j 2 on 2 cores, <= 180 s.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--figures", type=Path, help="folder of figures (default: make --n of them)")
    ap.add_argument("--out", type=Path, help="batch folder (default: a temporary one)")
    ap.add_argument("--quick", action="store_true", help="6 figures")
    args = ap.parse_args(argv)
    n = 6 if args.quick else args.n
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    figs = args.figures
    if figs is None:
        figs = tmp / "figures"
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_figure_set.py"), str(figs), "--n", str(n)],
                       check=True, stdout=subprocess.DEVNULL)
    out = args.out or tmp / "batch"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    load0 = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kmrecon", "batch", str(figs), "--out", str(out),
                           "-j", str(args.jobs), "--force"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load1 = os.getloadavg()[0]
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    counts = Counter(r["status"] for r in rows)
    n_figs = sum(1 for p in Path(figs).rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".pdf"))
    secs = sorted(float(r["seconds"]) for r in rows)
    progress_lines = sum(1 for line in proc.stderr.splitlines() if "] " in line and "/" in line)
    print(f"figures={n_figs} rows={len(rows)} exit={proc.returncode} jobs={args.jobs} cores={os.cpu_count()}")
    print(f"wall={wall:.1f}s cpu(batch+workers)={cpu:.1f}s cpu/figure={cpu / max(len(rows), 1):.2f}s "
          f"load1 before={load0:.1f} after={load1:.1f}")
    print(f"per-figure seconds (in worker, wall): median={secs[len(secs) // 2]:.1f} max={secs[-1]:.1f}")
    print("status: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"progress lines on stderr={progress_lines}  rows for every figure: {len(rows) == n_figs}  "
          f"(target, issue 17: 50 figures, -j 2 on 2 cores, <= 180 s; compare cpu/2 when the load is high)")
    print(truth_check(rows, out))
    print(f"summary: {out / 'summary.csv'}")
    return 0


def truth_check(rows: list[dict], out: Path) -> str:
    """Is the status right? Against the ipd.csv beside each figure (make_figure_set and
    simulate.rfigures write it): per status, figures with an arm more than 5 % off in events or
    2 % in N, or an arm whose name is not found (a "confident" figure should have none)."""
    import pandas as pd

    lines = []
    for status in ("confident", "needs review"):
        n = off = unnamed = 0
        for r in rows:
            truth_file = Path(r["figure"].split("#page=")[0]).parent / "ipd.csv"
            if r["status"] != status or not truth_file.exists() or not r.get("ipd"):
                continue
            truth, ipd = pd.read_csv(truth_file), pd.read_csv(out / r["ipd"])
            n += 1
            bad = missing = False
            for arm, g in truth.groupby("arm"):
                rec = ipd[ipd["arm"].astype(str) == str(arm)]
                if rec.empty:
                    missing = True
                    continue
                bad |= abs(rec["event"].sum() - g["event"].sum()) > 0.05 * g["event"].sum() \
                    or abs(len(rec) - len(g)) > 0.02 * len(g)
            off += bad
            unnamed += missing
        lines.append(f"truth: {status}: {n} figures, {off} with an arm off (events >5 % or N >2 %), "
                     f"{unnamed} with an arm name not found")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
