"""``kmrecon batch FIGURE... --out DIR [-j N]``: zero-click extraction of many figures into a
folder to review (see :mod:`review.batch` for what is written). Exit status: 0 every figure
confident, 3 some need review, 1 some failed (the summary says which and why), 2 bad input.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from kmrecon.errors import KMReconError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("figures", metavar="FIGURE", nargs="+",
                        help="figure files (PNG, JPEG, TIFF, BMP, WebP, PDF) or folders (searched recursively)")
    parser.add_argument("--out", metavar="DIR", required=True, help="batch folder (summary.csv, one folder per figure)")
    parser.add_argument("-j", "--jobs", type=int, default=None,
                        help="worker processes (default: number of CPU cores)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds one figure may take before it is failed (default 300; 0 = no limit)")
    parser.add_argument("--pages", default="all", help="PDF pages to extract: 'all' (default) or 1-based numbers, e.g. 1,3")
    parser.add_argument("--dpi", type=int, default=200, help="PDF rendering resolution (default 200)")
    parser.add_argument("--force", action="store_true", help="redo figures already extracted in DIR")
    parser.add_argument("--retry-failed", action="store_true", help="redo figures that failed in an earlier run")


def run(args) -> int:
    from pathlib import Path

    from review.batch import TextProgress, collect_figures, run_batch

    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise KMReconError(f"-j {jobs}: give at least 1 worker process")
    if args.timeout < 0:
        raise KMReconError("--timeout must be 0 (no limit) or a positive number of seconds")
    out = Path(args.out)
    items = collect_figures(args.figures, args.pages, exclude=out)
    if out.exists() and not out.is_dir():
        raise KMReconError(f"--out {out}: exists and is not a folder")
    print(f"kmrecon batch: {len(items)} figure(s), {jobs} worker(s) -> {out}", file=sys.stderr)
    t0 = time.perf_counter()
    rows = run_batch(items, out, jobs=jobs, timeout=args.timeout or None, force=args.force,
                     retry_failed=args.retry_failed, dpi=args.dpi, progress=TextProgress(len(items)))
    counts = {s: sum(r.get("status") == s for r in rows) for s in ("confident", "needs review", "failed")}
    print(f"{counts['confident']} confident, {counts['needs review']} need review, {counts['failed']} failed "
          f"in {time.perf_counter() - t0:.1f} s; summary: {out / 'summary.csv'}")
    for r in rows:
        if r.get("status") == "failed":
            print(f"failed: {r['figure']}: {r.get('reasons')}", file=sys.stderr)
    if counts["failed"]:
        return 1
    return 3 if counts["needs review"] else 0
