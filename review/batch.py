"""Batch zero-click extraction: many figures -> one folder a reviewer works through.

``run_batch`` runs ``kmrecon extract FIGURE`` with nothing given (the very same code path,
:func:`digitize.cli.run`) on each figure in worker processes, one figure per task, and writes::

    DIR/summary.csv          figure,name,status,arms,arm_names,needs_review,reasons,seconds,...
    DIR/summary.json         the same rows (machine-readable; read by the review list)
    DIR/approvals.json       reviewers' approvals (written by the app, atomically)
    DIR/<name>/ipd.csv       IPD (arm,time,event); ipd.curves.csv, ipd.marks.csv, ipd.json (sidecar)
    DIR/<name>/project.kmrecon   a normal KMRecon project of the same result (opens in the app)
    DIR/<name>/thumb.png     a small picture of the figure for the review list
    DIR/<name>/result.json   this figure's summary row (lets a re-run skip it)
    DIR/<name>/log.txt       what extract printed

Each figure ends as ``confident``, ``needs review`` (with the reasons) or ``failed`` (with the
error). A figure that raises, crashes its worker or runs past ``timeout`` seconds is one failed
row; the batch goes on. Summary files are rewritten after every figure, so an interrupted batch
is resumable: figures whose ``result.json`` matches the file's SHA-256 are skipped unless
``force``.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from kmrecon.errors import KMReconError
from kmrecon.jsonio import atomic_path, file_sha256, write_json

FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".pdf")
STATUSES = ("confident", "needs review", "failed")
SUMMARY_FIELDS = ("figure", "name", "status", "arms", "arm_names", "needs_review", "reasons",
                  "seconds", "ipd", "project", "sidecar")
#: an arm traced with less confidence than this (0-1, digitize.extract's score) needs review;
#: the same cut-off zero-click uses for its pieces (digitize.auto.REVIEW_BELOW)
ARM_CONFIDENCE_BELOW = 0.7
#: warnings every zero-click run prints (they say where a value came from, not that it is
#: doubtful) or that repeat a needs-review item already listed
_ROUTINE_WARNINGS = ("risk table read automatically", "low confidence in the automatic", "auto-detect:")
#: extra seconds the parent grants past ``timeout`` before it kills a worker stuck in C code
_HARD_KILL_GRACE = 30.0


@dataclass
class BatchItem:
    """One figure to extract: the file, the PDF page (0-based; None for an image) and its
    output name (a folder under the batch directory, unique within the batch)."""

    figure: str
    page: int | None
    name: str

    @property
    def label(self) -> str:
        return self.figure + (f"#page={self.page + 1}" if self.page is not None else "")


# ---------------------------------------------------------------------------------- inputs
def _pdf_pages(path: Path) -> int:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except Exception:  # noqa: BLE001 - an unreadable PDF becomes one failed row, not a crash
        return 1
    try:
        return len(doc)
    finally:
        doc.close()


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "figure"


def unique_names(paths: list[Path]) -> list[str]:
    """Short folder names for figure files, unique in the batch: the file's stem, prefixed with
    as many parent folders as it takes to tell files apart (``a/figure.png``, ``b/figure.png``
    -> ``a_figure``, ``b_figure``), then a counter if they still clash."""
    parts = [list(p.with_suffix("").parts) for p in paths]
    depth = [1] * len(paths)
    for _ in range(64):
        names = ["_".join(pp[-d:]) for pp, d in zip(parts, depth)]
        clash = {n for n in names if names.count(n) > 1}
        grow = [i for i, n in enumerate(names) if n in clash and depth[i] < len(parts[i])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    names = [_clean("_".join(pp[-d:])) for pp, d in zip(parts, depth)]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n.lower(), 0)
        seen[n.lower()] = k + 1
        out.append(n if k == 0 else f"{n}-{k + 1}")
    return out


def collect_figures(inputs: list[str], pages: str = "all", exclude=None) -> list[BatchItem]:
    """Figure files from files and folders (searched recursively, sorted). A PDF gives one item
    per page (``pages`` "all", or 1-based page numbers "1,3"). Files under ``exclude`` (the batch
    folder itself, whose thumbnails are PNGs too) are skipped. Raises KMReconError for an input
    that does not exist or a folder without figures."""
    skip = Path(exclude).resolve() if exclude is not None else None
    files: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in FIGURE_SUFFIXES
                           and not any(part.startswith(".") for part in f.relative_to(p).parts)
                           and not (skip is not None and f.resolve().is_relative_to(skip)))
            if not found:
                raise KMReconError(f"{p}: no figures in this folder (looked for {', '.join(FIGURE_SUFFIXES)})")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise KMReconError(f"{p}: no such file or folder")
    seen, uniq = set(), []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            uniq.append(r)
    want = None
    if pages != "all":
        try:
            want = [int(v) - 1 for v in str(pages).split(",") if v.strip()]
        except ValueError:
            raise KMReconError(f"--pages '{pages}': give 'all' or page numbers like 1,3") from None
        if not want or min(want) < 0:
            raise KMReconError(f"--pages '{pages}': page numbers start at 1")
    entries: list[tuple[Path, int | None]] = []
    for f in uniq:
        if f.suffix.lower() == ".pdf":
            n = _pdf_pages(f)
            for pg in (range(n) if want is None else [w for w in want if w < n] or [want[0]]):
                entries.append((f, pg))
        else:
            entries.append((f, None))
    stems = [f if pg is None or sum(1 for g, _ in entries if g == f) == 1 else f.with_name(f"{f.stem}_p{pg + 1}{f.suffix}")
             for f, pg in entries]
    names = unique_names(stems)
    return [BatchItem(str(f), pg, n) for (f, pg), n in zip(entries, names)]


# ---------------------------------------------------------------------------------- status
def item_text(item) -> str:
    """A needs-review item as one line: today a piece name ("risk_table"); structured items
    (dicts with message/reason/what) are read defensively."""
    if isinstance(item, str):
        return item.replace("_", " ")
    if isinstance(item, dict):
        for key in ("message", "reason", "text", "what", "piece"):
            if item.get(key):
                where = (item.get("arm") or item.get("piece")) if key != "piece" else None
                where = str(where).replace("_", " ") if where else None
                text = str(item[key]).replace("_", " ") if key == "piece" else str(item[key])
                return f"{where}: {text}" if where and where != text else text
        return json.dumps(item, sort_keys=True)
    for attr in ("message", "reason", "text"):
        if getattr(item, attr, None):
            return str(getattr(item, attr))
    return str(item)


def classify(sidecar: dict, exit_code: int = 0) -> tuple[str, list[str], list[str]]:
    """(status, needs_review items, reasons) of one finished extraction, from its sidecar.

    Needs review when zero-click flagged a piece (its own confidence cut-off), when an arm's
    trace confidence is below :data:`ARM_CONFIDENCE_BELOW` or the arm carries warnings, when the
    reconstruction could not meet the numbers at risk, had to estimate N (no risk table), or
    extract itself says so (exit status 3) - each a place a reviewer must look."""
    auto = ((sidecar.get("settings") or {}).get("auto") or {})
    needs = [item_text(i) for i in (auto.get("needs_review") or [])]
    reasons = list(needs)
    conf = auto.get("confidence") or {}
    for i, text in enumerate(needs):
        key = (auto.get("needs_review") or [])[i]
        if isinstance(key, str) and key in conf:
            reasons[i] = f"{text} (confidence {float(conf[key]):.2f})"
    for arm in sidecar.get("arms") or []:
        c = arm.get("confidence")
        if c is not None and c < ARM_CONFIDENCE_BELOW:
            reasons.append(f"arm '{arm.get('name')}': trace confidence {c:.2f}")
        reasons.extend(w if w.startswith("arm '") else f"arm '{arm.get('name')}': {w}"
                       for w in arm.get("warnings") or [])
    diag = (sidecar.get("diagnostics") or {}).get("arms") or {}
    estimated = []
    for name, d in diag.items():
        iv = [v for v in d.get("intervals") or [] if v.get("n_published") is not None]
        off = [v for v in iv if v.get("n_reconstructed") is not None
               and int(v["n_published"]) != int(v["n_reconstructed"])]
        if off:
            reasons.append(f"arm '{name}': numbers at risk not met at {len(off)} of {len(iv)} times")
        if d.get("n_estimated"):
            estimated.append(name)
    if estimated:
        reasons.append(f"N estimated (no number at risk at time 0) for {', '.join(estimated)}")
    for w in sidecar.get("warnings") or []:
        if not any(w.startswith(r) for r in _ROUTINE_WARNINGS):
            reasons.append(w)
    reasons = list(dict.fromkeys(reasons))        # the pipeline repeats arm warnings in its own list
    if exit_code == 3 and not reasons:
        reasons.append("extract reported that the result needs review")
    return ("needs review" if reasons else "confident"), needs, reasons


# ---------------------------------------------------------------------------------- worker
class _FigureTimeout(BaseException):   # not swallowed by an "except Exception" in the stages
    pass


def _on_alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _FigureTimeout()


def _worker_init() -> None:
    """One thread per worker: the workers already use every core (OpenCV/BLAS would oversubscribe)."""
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001 - only a speed setting
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle


def figure_paths(out_dir: Path, name: str) -> dict[str, Path]:
    d = Path(out_dir) / name
    return {"dir": d, "ipd": d / "ipd.csv", "curves": d / "ipd.curves.csv", "marks": d / "ipd.marks.csv",
            "sidecar": d / "ipd.json", "project": d / "project.kmrecon", "thumb": d / "thumb.png",
            "result": d / "result.json", "log": d / "log.txt"}


def _write_thumb(figure: Path, page: int | None, dpi: int, path: Path, size: int = 240) -> None:
    import cv2
    import numpy as np

    from digitize.image import load_image

    img = load_image(figure, page=page or 0, dpi=min(dpi, 72) if page is not None else dpi)
    h, w = img.shape[:2]
    s = size / max(h, w)
    small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(small[..., ::-1]))
    if ok:
        with atomic_path(path) as tmp:
            tmp.write_bytes(buf.tobytes())


def project_from_sidecar(sidecar_path: Path, study: str | None = None):
    """A :class:`kmrecon.project.Project` holding an extract run (sidecar + its CSVs): the figure
    by path and SHA-256, calibration, arms as step corners and censor marks in image pixels, the
    risk table, and the IPD as a current reconstruction. Opens in the app as any project."""
    import numpy as np
    import pandas as pd

    from digitize.sidecar import read_sidecar
    from kmrecon.project import ArmState, ImageRef, Project, RiskGrid

    data = read_sidecar(sidecar_path)
    base = Path(sidecar_path).parent
    cal = data["_calibration"]
    fig = data.get("figure") or {}
    ref = ImageRef(path=fig.get("path"), sha256=fig.get("sha256"), page=int(fig.get("page", 0)),
                   dpi=int(fig.get("dpi", 200)))
    outs = data.get("outputs") or {}
    curves = pd.read_csv(base / outs.get("curves", "ipd.curves.csv"))
    marks = pd.read_csv(base / outs.get("marks", "ipd.marks.csv"))
    settings = data.get("settings") or {}
    n_total, d_total = settings.get("n_total") or {}, settings.get("total_events") or {}
    arms = []
    for spec, raw in zip(data["_arms"], data["arms"]):
        c = curves[curves["arm"].astype(str) == spec.name].sort_values("time", kind="stable")
        t, s = c["time"].to_numpy(float), c["survival"].to_numpy(float)
        px, py = cal.to_pixel(t, s)
        mt = np.sort(marks.loc[marks["arm"].astype(str) == spec.name, "time"].to_numpy(float))
        if mt.size and t.size:      # a mark sits on the curve: S of the step it falls on
            ms = s[np.clip(np.searchsorted(t, mt, side="right") - 1, 0, t.size - 1)]
            mx, my = cal.to_pixel(mt, ms)
            cpx = np.column_stack([mx, my])
        else:
            cpx = np.empty((0, 2))
        # how surely the run read corners and marks (sidecars before these keys: as given)
        rel = raw.get("censor_reliability")
        read = (tuple((x, y, float(v)) for (x, y), v in zip(cpx.tolist(), rel))
                if isinstance(rel, list) and len(rel) == len(cpx)
                and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in rel) else None)
        sd_px = raw.get("corner_sd_px")
        arms.append(ArmState(name=spec.name, rgb=tuple(spec.rgb), tolerance=spec.tolerance,
                             corner_sd_px=float(sd_px) if isinstance(sd_px, (int, float)) and sd_px > 0 else None,
                             read_marks=read, points_px=np.column_stack([px, py]), censor_px=cpx,
                             n_total=n_total.get(spec.name), total_events=d_total.get(spec.name)))
    grid = RiskGrid()
    rt = data["_risk_table"]
    if rt is not None:
        names = [a.name for a in arms]
        grid = RiskGrid(times=[f"{t:g}" for t in rt.times],
                        rows={n: ["" if not np.isfinite(v) else f"{v:g}" for v in rt.n_risk[n]]
                              if n in rt.n_risk else [""] * len(rt.times) for n in names})
    auto = settings.get("auto") or {}
    project = Project(image=ref, calibration=cal.to_dict(), arms=arms, risk_table=grid)
    project.settings.update(method=settings.get("method", "default"), time_unit=auto.get("time_unit") or "",
                            study=study or Path(fig.get("path") or sidecar_path).stem)
    ipd_file = base / outs.get("ipd", "ipd.csv")
    if ipd_file.exists() and ipd_file.suffix.lower() == ".csv":
        ipd = pd.read_csv(ipd_file)
        project.reconstruction = {"ipd": {"arm": ipd["arm"].astype(str).tolist(),
                                          "time": ipd["time"].astype(float).tolist(),
                                          "event": ipd["event"].astype(int).tolist()},
                                  # per arm, as the app stores a reconstruction's diagnostics
                                  "diagnostics": (data.get("diagnostics") or {}).get("arms") or {},
                                  "inputs": project.inputs_hash()}
    return project


def process_figure(item: BatchItem, out_dir: str, timeout: float | None = None, dpi: int = 200) -> dict:
    """Worker: zero-click extract of one figure into ``out_dir/<name>/``; returns its summary row.
    Never raises for a bad figure: errors and timeouts become a failed row with the reason."""
    from digitize import cli as extract_cli
    from kmrecon.project import save_project

    t0 = time.perf_counter()
    paths = figure_paths(Path(out_dir), item.name)
    paths["dir"].mkdir(parents=True, exist_ok=True)
    figure = Path(item.figure)
    row = {"figure": item.label, "name": item.name, "status": "failed", "arms": 0, "arm_names": "",
           "needs_review": "", "reasons": "", "seconds": 0.0, "ipd": "", "project": "", "sidecar": "",
           "sha256": None, "exit_code": None}
    log = io.StringIO()
    if timeout and hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout))
    try:
        row["sha256"] = file_sha256(figure) if figure.exists() else None
        with contextlib.suppress(Exception):   # first, so a figure that fails has its picture too
            _write_thumb(figure, item.page, dpi, paths["thumb"])
        p = argparse.ArgumentParser(add_help=False)
        extract_cli.add_arguments(p)
        argv = [str(figure), "--out", str(paths["ipd"]), "--dpi", str(dpi)]
        if item.page is not None:
            argv += ["--page", str(item.page)]
        args = p.parse_args(argv)
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            rc = int(extract_cli.run(args) or 0)
        row["exit_code"] = rc
        if rc not in (0, 3) or not paths["sidecar"].exists():
            raise KMReconError(f"extract stopped with exit status {rc}: {log.getvalue().strip()[-300:]}")
        side = json.loads(paths["sidecar"].read_text(encoding="utf-8"))
        status, needs, reasons = classify(side, rc)
        names = [a.get("name", "") for a in side.get("arms") or []]
        save_project(project_from_sidecar(paths["sidecar"], item.name), paths["project"])
        row.update(status=status, arms=len(names), arm_names="; ".join(names), needs_review="; ".join(needs),
                   reasons="; ".join(reasons), ipd=f"{item.name}/ipd.csv",
                   project=f"{item.name}/project.kmrecon", sidecar=f"{item.name}/ipd.json")
    except _FigureTimeout:
        row["reasons"] = f"timed out after {timeout:g} s"
    except KMReconError as exc:
        row["reasons"] = str(exc)
    except MemoryError:
        row["reasons"] = "out of memory"
    except Exception as exc:  # noqa: BLE001 - one figure's bug must not stop the batch
        row["reasons"] = f"internal error ({type(exc).__name__}: {exc}); see {item.name}/log.txt"
        log.write(traceback.format_exc())
    finally:
        if timeout and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
    row["seconds"] = round(time.perf_counter() - t0, 2)
    with contextlib.suppress(OSError):
        paths["log"].write_text(log.getvalue(), encoding="utf-8")
    write_json(row, paths["result"])
    return row


# ---------------------------------------------------------------------------------- summary
def write_summary(rows: list[dict], out_dir) -> Path:
    """``summary.csv`` (one row per figure, SUMMARY_FIELDS) and ``summary.json``, atomically."""
    out_dir = Path(out_dir)
    with atomic_path(out_dir / "summary.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    write_json({"kind": "kmrecon-batch", "format_version": 1, "rows": rows}, out_dir / "summary.json")
    return out_dir / "summary.csv"


def read_summary(out_dir) -> list[dict]:
    """The rows of a batch folder (summary.json, else summary.csv); KMReconError if neither."""
    out_dir = Path(out_dir)
    js, cs = out_dir / "summary.json", out_dir / "summary.csv"
    try:
        if js.exists():
            data = json.loads(js.read_text(encoding="utf-8"))
            rows = data.get("rows") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise KMReconError(f"{js}: not a kmrecon batch summary")
            return rows
        if cs.exists():
            with open(cs, newline="", encoding="utf-8") as fh:
                return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise KMReconError(f"cannot read the batch summary in {out_dir} ({exc})") from None
    raise KMReconError(f"{out_dir} is not a batch folder: it has no summary.csv (run 'kmrecon batch' first)")


def load_approvals(out_dir) -> dict:
    """``approvals.json`` of a batch folder: name -> {"approved": bool, "at": ISO time, "sha256": ...}."""
    p = Path(out_dir) / "approvals.json"
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KMReconError(f"{p} is not readable JSON ({exc}); fix or remove it") from None
    approvals = data.get("approvals") if isinstance(data, dict) else None
    if not isinstance(approvals, dict):
        raise KMReconError(f"{p}: expected {{\"approvals\": {{name: ...}}}}")
    return approvals


def set_approval(out_dir, name: str, approved: bool, reviewer: str = "") -> dict:
    """Record (or withdraw) a reviewer's approval of one figure, atomically; returns all approvals.
    The approval remembers the SHA-256 of the figure's project file, so a later change shows."""
    from datetime import datetime, timezone

    approvals = load_approvals(out_dir)
    proj = figure_paths(Path(out_dir), name)["project"]
    if approved:
        approvals[name] = {"approved": True, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "reviewer": reviewer, "project_sha256": file_sha256(proj) if proj.exists() else None}
    else:
        approvals.pop(name, None)
    write_json({"kind": "kmrecon-approvals", "format_version": 1, "approvals": approvals},
               Path(out_dir) / "approvals.json")
    return approvals


# ---------------------------------------------------------------------------------- progress
class TextProgress:
    """A progress bar on a text stream: redrawn in place on a terminal, one line per figure
    otherwise (log files, pipes, the app reading it), so it works without a TTY."""

    def __init__(self, total: int, stream=None, width: int = 30):
        self.total, self.width = max(total, 1), width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self.done = 0
        self.counts = {s: 0 for s in STATUSES}

    def update(self, row: dict, skipped: bool = False) -> None:
        self.done += 1
        self.counts[row.get("status", "failed")] = self.counts.get(row.get("status", "failed"), 0) + 1
        el = time.perf_counter() - self.t0
        eta = el / self.done * (self.total - self.done)
        fill = int(self.width * self.done / self.total)
        bar = "#" * fill + "." * (self.width - fill)
        what = f"{row.get('name')}: {row.get('status')}" + (" (done before)" if skipped else "")
        line = (f"[{bar}] {self.done}/{self.total} {100 * self.done / self.total:3.0f}% "
                f"{el:5.0f}s eta {eta:4.0f}s  {what}")
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(160))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------- runner
def _previous(item: BatchItem, out_dir: Path) -> dict | None:
    p = figure_paths(out_dir, item.name)["result"]
    if not p.exists():
        return None
    try:
        row = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    fig = Path(item.figure)
    if row.get("figure") != item.label or not fig.exists() or row.get("sha256") != file_sha256(fig):
        return None
    return row


def _failed_row(item: BatchItem, reason: str, seconds: float, out_dir: Path) -> dict:
    row = {"figure": item.label, "name": item.name, "status": "failed", "arms": 0, "arm_names": "",
           "needs_review": "", "reasons": reason, "seconds": round(seconds, 2), "ipd": "", "project": "",
           "sidecar": "", "sha256": None, "exit_code": None}
    with contextlib.suppress(OSError):
        write_json(row, figure_paths(out_dir, item.name)["result"])
    return row


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool whose worker is stuck (in C code the timeout alarm cannot interrupt)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()


def run_batch(items: list[BatchItem], out_dir, *, jobs: int = 1, timeout: float | None = 300.0,
              force: bool = False, retry_failed: bool = False, dpi: int = 200, progress=None) -> list[dict]:
    """Extract every item in ``jobs`` worker processes; returns the summary rows in input order.

    At most ``jobs`` figures are in flight, so the figures on a pool that breaks (a worker killed
    by the OS or by the hard timeout) are known: the overdue one is failed, the others run again
    on a fresh pool, alone, so a crash is pinned on the figure that causes it."""
    import multiprocessing as mp

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    todo: list[BatchItem] = []
    for it in items:
        prev = None if force else _previous(it, out_dir)
        if prev is not None and (prev.get("status") != "failed" or not retry_failed):
            rows[it.name] = prev
            if progress:
                progress.update(prev, skipped=True)
        else:
            todo.append(it)
    order = [it.name for it in items]

    def flush():
        write_summary([rows[n] for n in order if n in rows], out_dir)

    flush()
    ctx = mp.get_context("spawn")    # no inherited threads/Qt state from the parent
    queue = list(todo)
    retry_alone: list[BatchItem] = []
    while queue or retry_alone:
        solo = bool(retry_alone)
        batch_q = retry_alone[:1] if solo else queue
        workers = 1 if solo else max(1, min(jobs, len(batch_q)))
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
        running: dict = {}
        broken = False
        try:
            while (batch_q or running) and not broken:
                while batch_q and len(running) < workers:
                    it = batch_q.pop(0)
                    running[pool.submit(process_figure, it, str(out_dir), timeout, dpi)] = (it, time.perf_counter())
                done, _ = wait(list(running), timeout=5.0, return_when=FIRST_COMPLETED)
                for fut in done:
                    it, t0 = running.pop(fut)
                    try:
                        row = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        running[fut] = (it, t0)   # decided below with the others in flight
                        continue
                    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                        row = _failed_row(it, f"worker error ({type(exc).__name__}: {exc})",
                                          time.perf_counter() - t0, out_dir)
                    if solo:        # its first run was on a pool a crashing worker broke
                        row["retried_after_crash"] = True
                    rows[it.name] = row
                    if progress:
                        progress.update(row)
                    flush()
                if timeout and not broken:
                    late = [f for f, (_, t0) in running.items()
                            if time.perf_counter() - t0 > timeout + _HARD_KILL_GRACE]
                    if late:
                        for f in late:
                            it, t0 = running.pop(f)
                            rows[it.name] = _failed_row(it, f"timed out after {timeout:g} s (worker killed)",
                                                        time.perf_counter() - t0, out_dir)
                            if progress:
                                progress.update(rows[it.name])
                        flush()
                        _kill_workers(pool)
                        broken = True
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if broken:
            suspects = [it for it, _ in running.values()]
            if solo:     # it crashed again alone: that figure is the cause
                for it in suspects:
                    rows[it.name] = _failed_row(it, "the worker process crashed on this figure", 0.0, out_dir)
                    if progress:
                        progress.update(rows[it.name])
                flush()
                retry_alone = retry_alone[1:]
            else:
                retry_alone.extend(suspects)
        elif solo:
            retry_alone = retry_alone[1:]
        if not solo:
            queue = batch_q
    return [rows[n] for n in order if n in rows]
