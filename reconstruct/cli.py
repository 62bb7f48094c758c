"""``kmrecon reconstruct``: digitized curve CSV (+ risk table, N, D, censor marks) -> IPD CSV.

Writes the IPD (``--out``, .csv or .xlsx; ``--xlsx`` adds an .xlsx copy), the diagnostics as
``<out stem>.diagnostics.json`` beside it, and optionally the cleaned curves in IPDfromKM and
survHE input formats (``--export-formats DIR``). All files are written only after the
reconstruction succeeded, each atomically. Bad input exits with code 2 and a message naming
the file and line.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("curve", metavar="CURVE.csv", help="digitized curve: columns arm,time,survival (arm optional)")
    parser.add_argument("--risk-table", metavar="RISK.csv", help="numbers at risk: columns arm,time,n_risk")
    parser.add_argument("--n", metavar="ARM=N", action="append", default=[], help="patients at time 0 in ARM (repeatable; just N for one arm)")
    parser.add_argument("--total-events", metavar="ARM=D", action="append", default=[], help="total events in ARM (repeatable; just D for one arm)")
    parser.add_argument("--censor-marks", metavar="MARKS.csv", help="censor-mark times: columns arm,time")
    parser.add_argument("--method", choices=("default", "guyot"), default="default", help="default: exact solve (recommended); guyot: Guyot et al. 2012 as published")
    parser.add_argument("--out", metavar="IPD.csv", required=True, help="output IPD file (.csv or .xlsx): columns arm,time,event")
    parser.add_argument("--xlsx", action="store_true", help="also write the IPD as .xlsx beside --out")
    parser.add_argument("--export-formats", metavar="DIR", help="also write the cleaned curves as IPDfromKM and survHE input files into DIR")


def parse_assignments(items: list[str], option: str, arms: list[str]) -> dict[str, int]:
    """Parse ``ARM=COUNT`` options (``--n``, ``--total-events``) into {arm: count}; a bare
    COUNT is allowed when there is one arm. Unknown arms and non-integers are user errors."""
    from reconstruct.errors import ReconstructionInputError
    from reconstruct.io import MAX_PATIENTS

    out: dict[str, int] = {}
    for item in items:
        if "=" in item:
            arm, _, value = item.rpartition("=")
            arm = arm.strip()
        elif len(arms) == 1:
            arm, value = arms[0], item
        else:
            raise ReconstructionInputError(
                f"{option} {item}: say which arm, as ARM=VALUE (arms: {', '.join(arms)})"
            )
        if not arm:
            raise ReconstructionInputError(f"{option} {item}: the arm name before '=' is empty")
        if arm not in arms:
            raise ReconstructionInputError(
                f"{option} {item}: no arm '{arm}' (arms: {', '.join(arms)})"
            )
        try:
            number = float(value)
        except ValueError:
            raise ReconstructionInputError(f"{option} {item}: '{value}' is not a number") from None
        if not math.isfinite(number) or number < 0 or number != int(number):
            raise ReconstructionInputError(f"{option} {item}: must be a whole number >= 0")
        if number > MAX_PATIENTS:
            raise ReconstructionInputError(
                f"{option} {item}: more than {MAX_PATIENTS:,} patients; check the number")
        if arm in out:
            raise ReconstructionInputError(f"{option}: arm '{arm}' is given twice")
        out[arm] = int(number)
    return out


def _match_arms(found: dict, arms: list[str], path, what: str) -> dict:
    """Map a file's arms onto the curve's arms (a file without arm column fits a one-arm curve)."""
    from reconstruct.errors import ReconstructionInputError
    from reconstruct.io import DEFAULT_ARM

    if set(found) == {DEFAULT_ARM} and len(arms) == 1:
        return {arms[0]: found[DEFAULT_ARM]}
    unknown = [a for a in found if a not in arms]
    if unknown:
        raise ReconstructionInputError(
            f"{path}: {what} for arm '{unknown[0]}', which is not in the curve file "
            f"(arms: {', '.join(arms)})"
        )
    return found


def build_arms(args) -> list:
    """ArmData per curve arm from the command-line files; checks that name file and line."""
    import numpy as np

    from kmrecon.data import ArmData
    from reconstruct.arm import RISK_END_SLACK
    from reconstruct.errors import ReconstructionInputError
    from reconstruct.io import read_curve_csv, read_marks_csv, read_risk_cells

    curves = read_curve_csv(args.curve)
    arms = list(curves)
    n_given = parse_assignments(args.n, "--n", arms)
    d_given = parse_assignments(args.total_events, "--total-events", arms)
    risk: dict = {}
    risk_path = None
    if args.risk_table:
        risk_path, cells = read_risk_cells(args.risk_table)
        risk = _match_arms(cells, arms, risk_path, "risk-table rows")
    marks = {}
    if args.censor_marks:
        found = read_marks_csv(args.censor_marks)
        marks = _match_arms(found, arms, args.censor_marks, "censor marks")
    out = []
    for arm in arms:
        t, s = curves[arm]
        t_end = float(np.max(t))
        risk_times = n_risk = None
        if arm in risk:
            cells = risk[arm]
            for time in sorted(cells):
                n, line = cells[time]
                if time > t_end * (1 + RISK_END_SLACK) and np.isfinite(n) and n > 0:
                    raise ReconstructionInputError(
                        f"{risk_path} line {line}: risk time {time:g} for arm '{arm}' lies beyond "
                        f"the end of its curve at {t_end:g}"
                    )
                if arm in n_given and np.isfinite(n) and n > n_given[arm]:
                    raise ReconstructionInputError(
                        f"--n {arm}={n_given[arm]} is smaller than the {int(n)} at risk at time "
                        f"{time:g} ({risk_path} line {line})"
                    )
            risk_times = np.array(sorted(cells), float)
            n_risk = np.array([cells[x][0] for x in risk_times], float)
        out.append(
            ArmData(
                name=arm,
                time=t,
                survival=s,
                censor_times=marks.get(arm, np.empty(0)),
                risk_times=risk_times,
                n_risk=n_risk,
                n_total=n_given.get(arm),
                total_events=d_given.get(arm),
            )
        )
    return out


def run(args) -> int:
    from kmrecon.jsonio import atomic_paths, check_outputs, dump_json
    from reconstruct.core import reconstruct
    from reconstruct.errors import ReconstructionInputError
    from reconstruct.io import ipd_to_file, ipdfromkm_files, survhe_files

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise ReconstructionInputError(f"--out {out}: the output must end in .csv or .xlsx")
    diag_path = out.with_name(out.stem + ".diagnostics.json")
    targets = [out, diag_path]
    if args.xlsx and out.suffix.lower() != ".xlsx":
        targets.append(out.with_suffix(".xlsx"))
    inputs = [args.curve, args.risk_table, args.censor_marks]
    check_outputs(targets, inputs)
    arms = build_arms(args)
    texts: dict[Path, str] = {}
    if args.export_formats:
        for arm in arms:
            texts.update(ipdfromkm_files(arm, args.export_formats))
        texts.update(survhe_files(arms, args.export_formats))
    check_outputs(targets + list(texts), inputs, "--export-formats" if texts else "--out")
    rec = reconstruct(arms, method=args.method)

    written = targets + list(texts)
    # every file is written to a temporary name before any is moved into place
    with atomic_paths(written) as tmps:
        for target, tmp in zip(written, tmps):
            if target == diag_path:
                dump_json(rec.to_dict(), tmp)
            elif target in texts:
                tmp.write_text(texts[target], encoding="utf-8")
            else:
                ipd_to_file(rec.ipd, tmp)
    print(rec.summary())
    print("Wrote:")
    for path in written:
        print(f"  {path}")
    return 0
