"""``kmrecon agree A B --out REPORT``: compare two extractions of the same figure (two
reviewers), or two folders of them (paired by name). Writes a CSV (one row per arm x metric)
and a one-page HTML report with the curves overlaid; see :mod:`review.agree` for the metrics
and :class:`review.agree.Thresholds` for what is flagged. Exit status: 0 the extractions agree,
3 some disagreement was flagged (or a figure is only on one side), 2 bad input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kmrecon.errors import KMReconError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from review.agree import Thresholds

    parser.add_argument("a", metavar="A", help="first extraction: extract sidecar (.json) or project (.kmrecon/.json), or a folder of them")
    parser.add_argument("b", metavar="B", help="second extraction (same kind as A: file or folder)")
    parser.add_argument("--out", metavar="REPORT", required=True,
                        help="REPORT.html (CSV and plot PNG beside it) or REPORT.csv, or a folder; "
                             "a folder when A and B are folders")
    parser.add_argument("--times", metavar="T1,T2,...", help="landmark times for S(t) (default: round times on the axis)")
    th = Thresholds()
    for name, help_text in (("n_rel", "flag |ΔN| above this fraction of N"),
                            ("events_rel", "flag |Δevents| above this fraction of the events"),
                            ("median_rel", "flag |Δmedian| above this fraction of the follow-up"),
                            ("s_abs", "flag |ΔS| at a landmark above this"),
                            ("mean_abs_ds", "flag the mean |ΔS| between the curves above this"),
                            ("log_hr", "flag |Δ log HR| above this")):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, default=None,
                            help=f"{help_text} (default {getattr(th, name):g})")


def _landmarks(text):
    if not text:
        return None
    try:
        return sorted(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise KMReconError(f"--times '{text}': give times like 12,24,36") from None


def run(args) -> int:
    from review.agree import compare_folders, compare_paths, thresholds_from, write_report

    a, b, out = Path(args.a), Path(args.b), Path(args.out)
    kw = {"landmarks": _landmarks(args.times), "thresholds": thresholds_from(args)}
    for p in (a, b):
        if not p.exists():
            raise KMReconError(f"{p}: no such file or folder")
    if a.is_dir() != b.is_dir():
        raise KMReconError("give two files or two folders, not one of each")
    if a.is_dir():
        if out.suffix.lower() in (".html", ".csv"):
            raise KMReconError(f"--out {out}: comparing folders writes several files; give a folder")
        reports, only_a, only_b, errors = compare_folders(a, b, out, **kw)
        for rep in reports:
            print(f"{rep.key}: {'agree' if rep.agree else f'{len(rep.flags)} disagreement(s)'}")
        for k in only_a:
            print(f"{k}: only in A")
        for k in only_b:
            print(f"{k}: only in B")
        for k, why in errors.items():
            print(f"{k}: not compared: {why}", file=sys.stderr)
        print(f"wrote {out / 'index.html'}, {out / 'agreement.csv'}")
        return 3 if (any(not r.agree for r in reports) or only_a or only_b or errors) else 0
    rep = compare_paths(a, b, **kw)
    if out.suffix.lower() == ".html":
        html_path, csv_path = out, out.with_suffix(".csv")
    elif out.suffix.lower() == ".csv":
        html_path, csv_path = out.with_suffix(".html"), out
    else:
        html_path, csv_path = out / "agreement.html", out / "agreement.csv"
    write_report(rep, html_path, csv_path)
    if rep.agree:
        print(f"the two extractions agree on {len(rep.pairs)} arm(s)")
    for s in rep.flags:
        print(f"disagreement: {s}")
    print(f"wrote {html_path}, {csv_path}, {html_path.with_suffix('.png')}")
    return 0 if rep.agree else 3
