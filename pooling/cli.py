"""``kmrecon pool STUDIES.csv --out DIR``: pool survival and medians across studies.

Writes DIR/pooled.csv (columns subgroup, measure, method, scale, k, n, estimate, ci_low,
ci_high, pi_low, pi_high, tau2, i2, q, q_p; subgroup 'all' is the overall row), the per-study,
subgroup-test and sensitivity tables, pooling_results.xlsx and the figures (PNG).
"""
from __future__ import annotations

import argparse

from kmrecon.errors import KMReconError


def _times(text: str) -> list[float]:
    try:
        times = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--times must be comma-separated numbers, got '{text}'") from None
    if not times:
        raise argparse.ArgumentTypeError("--times needs at least one time")
    return times


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("studies", help="study table (CSV or XLSX): study, subgroup and ipd / survival table / median columns")
    parser.add_argument("--times", type=_times, default=None,
                        help="landmark times in the pooling unit (default: whole years 1-5 in that unit, "
                             "e.g. 12,24,36,48,60 for months)")
    parser.add_argument("--unit", choices=["days", "weeks", "months", "years"], default=None,
                        help="pooling time unit: studies with a 'unit' column are converted to it "
                             "(default: the studies' common unit; different units are refused)")
    parser.add_argument("--method", choices=["reml", "dl", "pm", "fe"], default="reml",
                        help="between-study variance estimator, or fe for fixed effect (default reml)")
    parser.add_argument("--scale", choices=["cloglog", "logit", "log", "arcsine", "raw"], default="cloglog",
                        help="scale for pooling survival probabilities (default cloglog)")
    parser.add_argument("--hk", action="store_true", help="Hartung-Knapp CI (t distribution)")
    parser.add_argument("--conf-type", choices=["log-log", "log", "plain"], default="log-log",
                        help="KM CI band for per-study CIs and median CIs from IPD (default log-log)")
    parser.add_argument("--range-method", choices=["hozo", "wan"], default="hozo",
                        help="SD from a median's range (default hozo)")
    parser.add_argument("--median-scale", choices=["raw", "log"], default="raw",
                        help="scale for pooling medians (default raw)")
    parser.add_argument("--no-figures", action="store_true", help="write tables only")
    parser.add_argument("--out", required=True, help="output folder")


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from pooling.pool import pool_studies
    from pooling.report import write_outputs
    from pooling.studies import read_studies
    from pooling.units import check_units, default_landmarks

    if args.method == "fe" and args.hk:
        raise KMReconError("--hk (Hartung-Knapp) is for random-effects models: drop --hk or use "
                           "--method reml, dl or pm")
    studies = read_studies(args.studies)
    _, unit = check_units(studies, getattr(args, "unit", None))   # refuses mixed units early
    times = args.times if args.times is not None else default_landmarks(unit)
    if args.times is None:
        print(f"landmark times: {', '.join(f'{t:g}' for t in times)} ({unit or 'months, assumed'}; "
              "whole years; --times to change)")
    result = pool_studies(studies, times, args.method, args.scale, args.hk,
                          conf_type=args.conf_type, range_method=args.range_method,
                          median_scale=args.median_scale, unit=unit)
    inputs = [args.studies] + [s.ipd_path for s in studies if s.ipd_path]
    written = write_outputs(result, args.out, figures=not args.no_figures, inputs=inputs)
    overall = result.table[result.table["subgroup"] == "all"]
    for r in overall.itertuples():
        print(f"{r.measure:>10}  k={r.k:<3d} {r.estimate:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}]  "
              f"tau2={r.tau2:.3g}  I2={r.i2:.0f}%")
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {len(written)} files to {args.out}")
    if result.table.empty:
        raise KMReconError("nothing was pooled")
    return 0
