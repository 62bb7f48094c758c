"""Hostile-input benchmark: bad, broken and malicious inputs to every command and the app.

Each case builds its inputs in a fresh folder, runs one ``kmrecon`` command (or the app,
offscreen) in a subprocess with a 120 s time limit, and is judged on:

* traceback: a Python traceback on stderr, or an exit status other than 0, 2 (user error),
  3 (a command wrote its outputs but something needs review: extract, batch, agree) or 141
  (reader of a pipe went away); in the app, an "Unexpected error" message;
* hang: still running after the time limit (killed);
* damaged: an input (or an existing output that must survive a failed run) changed, or a
  temporary file left behind;
* accepted silently: a bad input that should be refused (exit 2) ran to exit 0 without the
  expected warning;
* refused wrongly: a good input (control case) refused;
* peak memory: the child's maximum resident set (``os.wait4`` rusage, i.e. getrusage of the
  child), target <= 2 GB.

Usage: python3 benchmarks/hostile_inputs.py [--quick] [--only SUBSTRING] [--list] [--keep]
Prints one line per case and the counts. Run from the worktree with PYTHONPATH set.
Cases marked ``known`` depend on the reconstruction solver's limits (helper recon's branch);
they are listed separately.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120.0
PY = sys.executable

# --------------------------------------------------------------------------- case model


@dataclass
class Case:
    name: str
    area: str                      # extract | reconstruct | pool | project | app
    argv: list[str]                # after "kmrecon" (or app: [path])
    setup: object = None           # callable(dir) -> None, builds extra inputs
    expect: str = "error"          # error | ok | any | warn:<text on stdout/stderr>
    protect: list[str] = field(default_factory=list)   # files that must not change
    check: object = None           # callable(dir, stdout, stderr, status) -> str | None (problem)
    shell: str | None = None       # run through the shell instead (pipes)
    env: dict = field(default_factory=dict)
    limits: object = None          # preexec callable
    known: bool = False            # depends on helper recon's solver work
    message: str | None = None     # text the error message must contain (clarity)


# --------------------------------------------------------------------------- fixtures

CAL = {"x1": (62.5, 311.5, 0), "x2": (450.0, 311.5, 30), "y1": (62.5, 311.5, 0), "y2": (62.5, 47.3, 1)}


def cal_args(**over) -> list[str]:
    out = []
    for k in ("x1", "x2", "y1", "y2"):
        px, py, v = over.get(k, CAL[k])
        out += [f"--{k}", f"{px:g},{py:g}={v:g}"]
    return out


ARMS = ["--arm", "A=#1f77b4", "--arm", "B=#d62728"]


def make_base(d: Path) -> None:
    """Good inputs every case starts from: a KM figure (PNG + PDF), curve, risk table, censor
    marks, IPD, a study table and a project."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    ipd_rows = []
    for arm, col, scale in (("A", "#1f77b4", 10), ("B", "#d62728", 20)):
        t = np.minimum(np.sort(rng.exponential(scale, 60)), 30)
        s = np.cumprod(np.where(t < 30, 1 - 1 / np.arange(60, 0, -1), 1))
        ax.step(np.r_[0, t], np.r_[1, s], where="post", color=col, lw=1.5)
        ipd_rows += [(arm, float(x), int(x < 30)) for x in t]
    ax.set_xlim(0, 30)
    ax.set_ylim(0, 1.02)
    fig.savefig(d / "fig.png", dpi=100)
    fig.savefig(d / "fig.pdf")
    plt.close(fig)
    (d / "curve.csv").write_text("arm,time,survival\n" + "".join(
        f"{a},{t},{s}\n" for a in "AB" for t, s in zip(range(0, 30, 2), np.linspace(1, 0.3 if a == "A" else 0.5, 15))))
    (d / "risk.csv").write_text("arm,time,n_risk\nA,0,60\nA,10,30\nA,20,15\nB,0,60\nB,10,40\nB,20,25\n")
    (d / "marks.csv").write_text("arm,time\nA,5\nB,7\n")
    (d / "ipd.csv").write_text("arm,time,event\n" + "".join(f"{a},{t:.4f},{e}\n" for a, t, e in ipd_rows))
    (d / "studies.csv").write_text(
        "study,subgroup,arm,ipd,median,median_ci_low,median_ci_high,n\n"
        "S1,lung,A,ipd.csv,,,,\nS2,liver,B,ipd.csv,,,,\n"
        "S3,lung,,,14,10,20,50\nS4,liver,,,18,12,30,40\n")
    project = {
        "format": "kmrecon-project", "version": 1,
        "image": {"path": "fig.png", "sha256": hashlib.sha256((d / "fig.png").read_bytes()).hexdigest(),
                  "page": 0, "dpi": 200, "crop": None, "png_base64": None},
        "calibration": {k: {"px": v[0], "py": v[1], "value": v[2]} for k, v in CAL.items()},
        "arms": [{"name": "A", "rgb": [31, 119, 180], "tolerance": None,
                  "points_px": [[62.5 + 38.75 * i, 47.3 + 18.0 * i] for i in range(11)],
                  "censor_px": [], "n_total": 60, "total_events": None}],
        "masks": [], "risk_table": {"times": [], "rows": {}},
        "settings": {"method": "default", "time_unit": "months", "study": "", "subgroup": ""},
        "reconstruction": None,
    }
    (d / "project.json").write_text(json.dumps(project))


def base_project(d: Path) -> dict:
    return json.loads((d / "project.json").read_text())


def write(name: str, data, mode: str = "w"):
    def setup(d: Path):
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
    return setup


def _chunk(t: bytes, b: bytes) -> bytes:
    import struct

    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)


def _png(w: int, h: int, bit_depth: int, colour_type: int, row: bytes) -> bytes:
    """A PNG of ``h`` identical rows (``row`` without its filter byte), compressed as a stream
    so that a 20000x20000 image costs no memory here (the benchmark's own RSS would otherwise
    count in every child's peak: fork copies it)."""
    import struct

    comp = zlib.compressobj(9)
    line = b"\0" + row
    parts = [comp.compress(line) for _ in range(h)]
    data = b"".join(parts) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def png_header_only(w: int, h: int) -> bytes:
    """A PNG whose header claims w x h pixels (a decompression bomb's header) with one tiny IDAT."""
    import struct

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b"")


def white_png(w: int, h: int) -> bytes:
    """All-white 1-bit greyscale PNG."""
    return _png(w, h, 1, 0, b"\xff" * ((w + 7) // 8))


def small_png(w: int, h: int, grey: bool = False) -> bytes:
    """A flat-coloured PNG (reddish RGB, or mid grey)."""
    return _png(w, h, 8, 0, bytes([200]) * w) if grey else _png(w, h, 8, 2, bytes([200, 10, 10]) * w)


def project_with(mutate):
    def setup(d: Path):
        p = base_project(d)
        mutate(p, d)
        (d / "bad.json").write_text(json.dumps(p) if not isinstance(p, str) else p)
    return setup


def raw_project(text: str | bytes):
    def setup(d: Path):
        (d / "bad.json").write_bytes(text.encode() if isinstance(text, str) else text)
    return setup


def chain(*setups):
    def setup(d: Path):
        for s in setups:
            if s is not None:
                s(d)
    return setup


# --------------------------------------------------------------------------- checks


def file_mode(name: str, want: int):
    def check(d, out, err, status):
        m = os.stat(d / name).st_mode & 0o777
        return None if m == want else f"{name} has mode {oct(m)}, expected {oct(want)}"
    return check


def same_as(name: str, text: str):
    def check(d, out, err, status):
        return None if (d / name).read_text() == text else f"{name} changed"
    return check


def pooled_tau2_zero(d, out, err, status):
    import pandas as pd

    t = pd.read_csv(d / "out" / "pooled.csv")
    row = t[(t.subgroup == "all") & (t.measure == "median")]
    return None if len(row) and abs(float(row.tau2.iloc[0])) < 1e-9 else f"median tau2 {row.tau2.tolist()} != 0"


def no_argparse_error(d, out, err, status):
    return "argparse refused the value" if "expected one argument" in err else None


def no_plot_area_message(d, out, err, status):
    return "inverted axis reported as a small plot area" if "too small" in err else None


def not_check_colour(d, out, err, status):
    return "asks to check a colour it chose itself" if "check the colour" in (out + err) else None


# --------------------------------------------------------------------------- the cases


def extract_cases() -> list[Case]:
    ok_cal = cal_args()
    C = []

    def ex(name, args, **kw):
        kw.setdefault("protect", ["fig.png", "risk.csv"])
        C.append(Case(name, "extract", ["extract"] + args, **kw))

    # files
    ex("missing figure", ["nope.png", "--out", "o/ipd.csv"])
    ex("empty figure", ["e.png", "--out", "o/ipd.csv"], setup=write("e.png", b""))
    ex("figure is a folder", ["dir.png", "--out", "o/ipd.csv"], setup=lambda d: (d / "dir.png").mkdir())
    ex("garbage .png", ["g.png", "--out", "o/ipd.csv"], setup=write("g.png", os.urandom(5000)))
    ex("text file as .png", ["t.png", "--out", "o/ipd.csv"], setup=write("t.png", "hello\n" * 100))
    ex("truncated PNG", ["tr.png"] + ok_cal + ARMS + ["--out", "o/ipd.csv"],
       setup=lambda d: (d / "tr.png").write_bytes((d / "fig.png").read_bytes()[:3000]))
    ex("PNG bomb header 200000x200000", ["bomb.png", "--out", "o/ipd.csv"],
       setup=write("bomb.png", png_header_only(200000, 200000)), message="megapixel")
    ex("20000x20000 white PNG", ["big.png"] + ok_cal + ARMS + ["--out", "o/ipd.csv"],
       setup=write("big.png", white_png(20000, 20000)), message="megapixel")
    ex("9999x9999 white PNG zero-click", ["w.png", "--out", "o/ipd.csv"],
       setup=write("w.png", white_png(9999, 9999)), message="blank")
    ex("1x1 PNG zero-click", ["one.png", "--out", "o/ipd.csv"], setup=write("one.png", small_png(1, 1)))
    ex("1x1 PNG calibrated", ["one.png"] + ok_cal + ARMS + ["--out", "o/ipd.csv"], setup=write("one.png", small_png(1, 1)))
    ex("5x5 PNG calibrated", ["five.png"] + cal_args(x1=(0, 4, 0), x2=(4, 4, 30), y1=(0, 4, 0), y2=(0, 0, 1)) + ARMS
       + ["--out", "o/ipd.csv"], setup=write("five.png", small_png(5, 5)))
    ex("1x1 greyscale zero-click", ["g1.png", "--out", "o/ipd.csv"], setup=write("g1.png", small_png(1, 1, grey=True)))
    ex("flat grey 300x200 zero-click", ["fg.png", "--out", "o/ipd.csv"], setup=write("fg.png", small_png(300, 200, grey=True)))
    ex("empty PDF (header only)", ["e.pdf", "--out", "o/ipd.csv"], setup=write("e.pdf", b"%PDF-1.4\n%%EOF\n"),
       check=lambda d, o, e, s: "PDFium: Success" in e and "unclear PDFium message" or None)
    ex("garbage PDF", ["g.pdf", "--out", "o/ipd.csv"], setup=write("g.pdf", b"%PDF-1.7\n" + os.urandom(3000)))
    ex("PDF page out of range", ["fig.pdf", "--page", "5"] + ok_cal + ARMS + ["--out", "o/ipd.csv"], message="page")
    ex("PDF negative page", ["fig.pdf", "--page", "-1", "--out", "o/ipd.csv"])
    for dpi in ("0", "5", "5000"):
        ex(f"PDF --dpi {dpi}", ["fig.pdf", "--dpi", dpi, "--out", "o/ipd.csv"], message="10-1200")
    ex("PDF --dpi text", ["fig.pdf", "--dpi", "high", "--out", "o/ipd.csv"])
    # calibration
    ex("--x1 garbage", ["fig.png", "--x1", "abc"] + ok_cal[2:] + ["--out", "o/ipd.csv"])
    ex("--x1 1e400", ["fig.png", "--x1", "1e400,311.5=0"] + ok_cal[2:] + ["--out", "o/ipd.csv"])
    ex("--x1 nan", ["fig.png", "--x1", "nan,311.5=0"] + ok_cal[2:] + ["--out", "o/ipd.csv"])
    ex("three calibration points", ["fig.png"] + ok_cal[:6] + ["--out", "o/ipd.csv"])
    ex("X1, X2 same value", ["fig.png"] + cal_args(x2=(450, 311.5, 0)) + ARMS + ["--out", "o/ipd.csv"])
    ex("X1, X2 same pixel", ["fig.png"] + cal_args(x2=(62.5, 311.5, 30)) + ARMS + ["--out", "o/ipd.csv"])
    ex("axes nearly parallel", ["fig.png"] + cal_args(y2=(450, 300, 1)) + ARMS + ["--out", "o/ipd.csv"])
    ex("inverted time axis", ["fig.png"] + cal_args(x1=(450, 311.5, 0), x2=(62.5, 311.5, 30)) + ARMS
       + ["--out", "o/ipd.csv"], message="time axis")
    ex("inverted survival axis", ["fig.png"] + cal_args(y1=(62.5, 47.3, 0), y2=(62.5, 311.5, 1)) + ARMS
       + ["--out", "o/ipd.csv"], check=no_plot_area_message, message="survival axis")
    ex("log x with 0", ["fig.png", "--log-x"] + ok_cal + ARMS + ["--out", "o/ipd.csv"])
    ex("--x1 -10,311.5=0 (space-separated negative)", ["fig.png", "--x1", "-10,311.5=-2"] + ok_cal[2:] + ARMS
       + ["--out", "o/ipd.csv"], expect="ok", check=no_argparse_error)
    ex("--x1=-10,311.5=0", ["fig.png", "--x1=-10,311.5=-2"] + ok_cal[2:] + ARMS + ["--out", "o/ipd.csv"], expect="ok")
    ex("--plot-area 3 numbers", ["fig.png"] + ok_cal + ARMS + ["--plot-area", "1,2,3", "--out", "o/ipd.csv"])
    ex("--plot-area text", ["fig.png"] + ok_cal + ARMS + ["--plot-area", "a,b,c,d", "--out", "o/ipd.csv"])
    ex("--plot-area 1e400", ["fig.png"] + ok_cal + ARMS + ["--plot-area", "0,0,1e400,5", "--out", "o/ipd.csv"])
    ex("--plot-area empty box", ["fig.png"] + ok_cal + ARMS + ["--plot-area", "100,100,100,100", "--out", "o/ipd.csv"])
    # arms
    for bad in ("A=#1f77b4:1.2.3", "=#1f77b4", " =#1f77b4", "A=#zzzzzz", "A=#1f77b4:-5", "A=#1f77b4:1e400",
                "A", "A=#1f77b"):
        ex(f"--arm {bad!r}", ["fig.png"] + ok_cal + ["--arm", bad, "--out", "o/ipd.csv"])
    ex("duplicate arm names", ["fig.png"] + ok_cal + ["--arm", "A=#1f77b4", "--arm", "A=#d62728", "--out", "o/ipd.csv"])
    ex("arm colour absent", ["fig.png"] + ok_cal + ["--arm", "A=#00ff00", "--out", "o/ipd.csv"],
       expect="warn:no curve")
    # risk table / events
    ex("risk table missing", ["fig.png"] + ok_cal + ARMS + ["--risk-table", "nope.csv", "--out", "o/ipd.csv"])
    ex("risk table 1e9 at risk", ["fig.png"] + ok_cal + ARMS + ["--risk-table", "r9.csv", "--out", "o/ipd.csv"],
       setup=write("r9.csv", "arm,time,n_risk\nA,0,1000000000\nA,10,500\n"))
    ex("risk table text count", ["fig.png"] + ok_cal + ARMS + ["--risk-table", "rt.csv", "--out", "o/ipd.csv"],
       setup=write("rt.csv", "arm,time,n_risk\nA,0,sixty\n"))
    for bad in ("A=1e400", "A=-1", "A=abc", "Z=5", "A=1.5"):
        ex(f"--total-events {bad}", ["fig.png"] + ok_cal + ARMS + ["--total-events", bad, "--out", "o/ipd.csv"])
    ex("--total-events without arms", ["fig.png"] + ok_cal + ["--total-events", "5", "--out", "o/ipd.csv"])
    # outputs
    ex("--out .txt", ["fig.png"] + ok_cal + ARMS + ["--out", "o/ipd.txt"])
    ex("--out under a file", ["fig.png"] + ok_cal + ARMS + ["--out", "afile/ipd.csv"], setup=write("afile", "x"))
    ex("--out = risk table", ["fig.png"] + ok_cal + ARMS + ["--risk-table", "risk.csv", "--out", "risk.csv"])
    ex("--out beside a project (sidecar would replace it)", ["fig.png"] + ok_cal + ARMS + ["--out", "project.csv"],
       protect=["fig.png", "project.json"])
    ex("--out sidecar name is a folder", ["fig.png"] + ok_cal + ARMS + ["--out", "sc.csv"],
       setup=lambda d: (d / "sc.json").mkdir())
    ex("--out into a missing folder (created)", ["fig.png"] + ok_cal + ARMS + ["--out", "new/deeper/ipd.csv"], expect="ok")
    ex("outputs follow umask 022", ["fig.png"] + ok_cal + ARMS + ["--out", "m/ipd.csv"], expect="ok",
       limits=lambda: os.umask(0o022), check=file_mode("m/ipd.json", 0o644))
    ex("outputs follow umask 077", ["fig.png"] + ok_cal + ARMS + ["--out", "m/ipd.csv"], expect="ok",
       limits=lambda: os.umask(0o077), check=file_mode("m/ipd.curves.csv", 0o600))
    ex("overwrite keeps 0644", ["fig.png"] + ok_cal + ARMS + ["--out", "m/ipd.csv"], expect="ok",
       setup=write("m/ipd.csv", "old\n"), limits=lambda: os.umask(0o022), check=file_mode("m/ipd.csv", 0o644))
    ex("control: calibrated extract", ["fig.png"] + ok_cal + ARMS + ["--out", "o/ipd.csv"], expect="ok")
    ex("control: extract from PDF", ["fig.pdf", "--dpi", "100"] + ARMS + ["--out", "o/ipd.csv"], expect="any")
    ex("control: zero-click", ["fig.png", "--out", "o/ipd.csv"], expect="any", check=not_check_colour)
    ex("control: RGBA transparent PNG", ["rgba.png"] + ok_cal + ARMS + ["--out", "o/ipd.csv"], expect="ok",
       setup=lambda d: _rgba(d))
    ex("control: greyscale copy, calibrated", ["grey.png"] + ok_cal + ["--arm", "A=#000000", "--out", "o/ipd.csv"],
       expect="any", setup=lambda d: _grey(d), check=not_check_colour)
    return C


def _pil(code: str, d: Path) -> None:
    """Run a small PIL conversion in a child process (keeps this process small)."""
    subprocess.run([PY, "-c", "from PIL import Image; " + code], cwd=d, check=True)


def _rgba(d: Path):
    _pil("Image.open('fig.png').convert('RGBA').save('rgba.png')", d)


def _grey(d: Path):
    _pil("Image.open('fig.png').convert('L').save('grey.png')", d)


def reconstruct_cases() -> list[Case]:
    C = []

    def rc(name, args, **kw):
        kw.setdefault("protect", ["curve.csv", "risk.csv", "marks.csv"])
        C.append(Case(name, "reconstruct", ["reconstruct"] + args, **kw))

    def curve(name, text, **kw):
        rc(f"curve: {name}", ["c.csv", "--out", "o/ipd.csv"], setup=write("c.csv", text), **kw)

    rc("curve: missing file", ["nope.csv", "--out", "o/ipd.csv"])
    curve("empty file", "")
    curve("header only", "arm,time,survival\n")
    curve("no survival column", "arm,time\nA,1\n")
    curve("text in time", "time,survival\n0,1\nabc,0.5\n")
    curve("text in survival", "time,survival\n0,1\n5,half\n")
    curve("negative survival", "time,survival\n0,1\n5,-0.2\n")
    curve("nan", "time,survival\n0,1\nnan,0.5\n")
    curve("inf", "time,survival\n0,1\ninf,0.5\n")
    curve("1e400", "time,survival\n0,1\n1e400,0.5\n")
    curve("negative time", "time,survival\n0,1\n-50,0.5\n5,0.4\n")
    curve("binary garbage", os.urandom(4000).decode("latin-1"))
    curve("latin-1 bytes", "time,survival\n0,1\n5,0.5\xe9\n".encode("latin-1").decode("latin-1"))
    curve("rising (1 - S given)", "time,survival\n" + "".join(f"{t},{t / 40:.3f}\n" for t in range(0, 30, 2)),
          message="cumulative incidence")
    curve("rising in percent", "time,survival\n" + "".join(f"{t},{t * 2.5:.1f}\n" for t in range(0, 30, 2)),
          message="cumulative incidence")
    curve("unbalanced quotes", 'time,survival\n0,1\n"5,0.5\n')
    curve("ragged rows", "time,survival\n0,1,7,8\n5\n")
    curve("one point", "time,survival\n0,1\n", expect="any")
    curve("control: BOM", "\ufefftime,survival\n0,1\n5,0.8\n10,0.6\n20,0.4\n", expect="ok")
    curve("control: percent", "time,survival\n0,100\n5,80\n10,60\n20,40\n", expect="ok")
    curve("control: unsorted", "time,survival\n10,0.6\n0,1\n20,0.4\n5,0.8\n", expect="ok")
    curve("no drops at all", "time,survival\n0,1\n10,1\n20,1\n", expect="any")
    rc("risk: missing", ["curve.csv", "--risk-table", "nope.csv", "--out", "o/ipd.csv"])
    for nm, text in (("empty", ""), ("header only", "arm,time,n_risk\n"), ("text count", "arm,time,n_risk\nA,0,many\n"),
                     ("negative count", "arm,time,n_risk\nA,0,-5\n"), ("fractional count", "arm,time,n_risk\nA,0,5.5\n"),
                     ("1e400", "arm,time,n_risk\nA,0,1e400\n"), ("1e9 at risk", "arm,time,n_risk\nA,0,1000000000\nA,10,999999\n"),
                     ("increasing counts", "arm,time,n_risk\nA,0,50\nA,10,60\n"),
                     ("duplicate time", "arm,time,n_risk\nA,0,60\nA,0,50\n"), ("negative time", "arm,time,n_risk\nA,-3,60\n"),
                     ("unknown arm", "arm,time,n_risk\nZ,0,60\n"), ("beyond curve end", "arm,time,n_risk\nA,0,60\nA,500,10\n"),
                     ("wrong columns", "a,b,c\n1,2,3\n")):
        rc(f"risk: {nm}", ["curve.csv", "--risk-table", "r.csv", "--out", "o/ipd.csv"], setup=write("r.csv", text))
    for bad in ("A=1e400", "A=100000000", "A=-5", "A=abc", "Z=5", "5", "A=1.5", "=5", "A=10"):
        rc(f"--n {bad}", ["curve.csv", "--risk-table", "risk.csv", "--n", bad, "--out", "o/ipd.csv"])
    for bad in ("A=1e400", "A=-1", "A=500"):
        rc(f"--total-events {bad}", ["curve.csv", "--n", "A=60", "--n", "B=60", "--total-events", bad, "--out", "o/ipd.csv"],
           expect="error" if bad != "A=500" else "any")
    rc("marks: missing", ["curve.csv", "--censor-marks", "nope.csv", "--out", "o/ipd.csv"])
    rc("marks: text", ["curve.csv", "--censor-marks", "m.csv", "--out", "o/ipd.csv"], setup=write("m.csv", "arm,time\nA,soon\n"))
    rc("marks: negative", ["curve.csv", "--censor-marks", "m.csv", "--out", "o/ipd.csv"], setup=write("m.csv", "arm,time\nA,-4\n"))
    rc("--out = curve", ["curve.csv", "--out", "curve.csv"])
    rc("--out = risk table", ["curve.csv", "--risk-table", "risk.csv", "--out", "risk.csv"])
    rc("--out = marks", ["curve.csv", "--censor-marks", "marks.csv", "--out", "marks.csv"])
    rc("--out = curve via ./", ["curve.csv", "--out", "./sub/../curve.csv"], setup=lambda d: (d / "sub").mkdir())
    rc("--out = curve via symlink", ["curve.csv", "--out", "link.csv"], setup=lambda d: os.symlink(d / "curve.csv", d / "link.csv"))
    rc("--out .txt", ["curve.csv", "--out", "o/ipd.txt"])
    rc("--out under a file", ["curve.csv", "--out", "afile/ipd.csv"], setup=write("afile", "x"))
    rc("--out is a folder", ["curve.csv", "--out", "adir.csv"], setup=lambda d: (d / "adir.csv").mkdir())
    rc("--export-formats is a file", ["curve.csv", "--n", "A=60", "--n", "B=60", "--export-formats", "afile",
                                      "--out", "o/ipd.csv"], setup=write("afile", "x"))
    rc("--export-formats over the curve", ["A_ipdfromkm_points.csv", "--n", "A=60", "--export-formats", ".",
                                           "--out", "o/ipd.csv"],
       setup=write("A_ipdfromkm_points.csv", "arm,time,survival\nA,0,1\nA,5,0.8\nA,10,0.6\nA,20,0.4\n"),
       protect=["A_ipdfromkm_points.csv"])
    rc("control: reconstruct with risk table", ["curve.csv", "--risk-table", "risk.csv", "--censor-marks", "marks.csv",
                                                "--out", "o/ipd.csv", "--xlsx", "--export-formats", "o/x"], expect="ok")
    # the solver's limits (helper recon)
    rc("1e4-row drop curve", ["big.csv", "--n", "20000", "--out", "o/ipd.csv"], setup=_drop_curve(10_000), expect="any", known=True)
    rc("1e5-row drop curve", ["big.csv", "--n", "200000", "--out", "o/ipd.csv"], setup=_drop_curve(100_000), expect="any", known=True)
    rc("1e6-row drop curve", ["big.csv", "--out", "o/ipd.csv"], setup=_drop_curve(1_000_000), expect="any", known=True)
    rc("--n 10 million one arm", ["c1.csv", "--n", "10000000", "--out", "o/ipd.csv"],
       setup=write("c1.csv", "time,survival\n0,1\n5,0.8\n10,0.6\n20,0.4\n"), expect="any", known=True)
    return C


def _drop_curve(n: int):
    def setup(d: Path):
        with open(d / "big.csv", "w") as fh:
            fh.write("time,survival\n0,1\n")
            for i in range(1, n + 1):
                fh.write(f"{i / n * 30:.7g},{1 - i / (1.25 * n):.7g}\n")
    return setup


def pool_cases() -> list[Case]:
    C = []
    head = "study,subgroup,median,median_ci_low,median_ci_high,n\n"

    def pl(name, text, args=(), **kw):
        kw.setdefault("protect", ["t.csv", "ipd.csv"])
        C.append(Case(f"pool: {name}", "pool", ["pool", "t.csv", "--out", "out", "--no-figures", *args],
                      setup=chain(write("t.csv", text) if text is not None else None, kw.pop("setup", None)), **kw))

    pl("missing table", None, protect=[])
    pl("empty table", "")
    pl("garbage bytes", os.urandom(3000).decode("latin-1"))
    pl("no study column", "name,subgroup\nA,lung\n")
    pl("no subgroup column", "study,median\nA,5\n")
    pl("empty study name", head + ",lung,10,5,20,30\n")
    pl("subgroup 'all'", head + "A,all,10,5,20,30\n")
    pl("duplicate names, different medians", head + "A,lung,10,5,20,30\nA,lung,12,6,22,40\nB,lung,9,5,15,30\n",
       message="appears on rows")
    pl("same name in two subgroups", head + "A,lung,10,5,20,30\nA,liver,12,6,22,40\n")
    pl("text in median", head + "A,lung,ten,5,20,30\nB,lung,9,5,15,30\n", message="row 2")
    pl("text in CI", head + "A,lung,10,five,20,30\nB,lung,9,5,15,30\n", message="median_ci_low")
    pl("swapped CI", head + "A,lung,100,130,80,30\nB,lung,90,50,150,30\n", message="swap")
    pl("median outside CI", head + "A,lung,200,130,180,30\nB,lung,90,50,150,30\n")
    pl("n = 1e400", head + "A,lung,10,5,20,1e400\n")
    pl("n = 0", head + "A,lung,10,5,20,0\n")
    pl("n negative", head + "A,lung,10,5,20,-4\n")
    pl("n fractional", head + "A,lung,10,5,20,4.5\n")
    pl("negative median", head + "A,lung,-10,-15,20,30\n")
    st = "study,subgroup,time,survival,n_risk,events\n"
    pl("table: 0 at risk at time 0", st + "A,lung,0,1,0,\nA,lung,12,0.8,0,\nB,lung,0,1,50,\nB,lung,12,0.7,30,\n",
       args=["--times", "12"])
    pl("table: text in events", st + "A,lung,0,1,50,\nA,lung,12,0.8,40,many\n", args=["--times", "12"], message="events")
    pl("table: survival rising", st + "A,lung,0,1,50,\nA,lung,12,0.5,40,\nA,lung,24,0.8,30,\n", args=["--times", "12"])
    pl("table: times repeat", st + "A,lung,0,1,50,\nA,lung,12,0.8,40,\nA,lung,12,0.7,30,\n", args=["--times", "12"])
    pl("table: n_risk rising", st + "A,lung,0,1,50,\nA,lung,12,0.8,60,\n", args=["--times", "12"])
    pl("table: survival 1e400", st + "A,lung,0,1,50,\nA,lung,12,1e400,40,\n", args=["--times", "12"])
    pl("ipd missing", "study,subgroup,ipd\nA,lung,nope.csv\n")
    pl("ipd with text times", "study,subgroup,ipd\nA,lung,bad_ipd.csv\n", setup=write("bad_ipd.csv", "time,event\nsoon,1\n"))
    pl("ipd with event 2", "study,subgroup,ipd\nA,lung,bad_ipd.csv\n", setup=write("bad_ipd.csv", "time,event\n5,2\n"))
    pl("ipd with time 1e400", "study,subgroup,ipd\nA,lung,bad_ipd.csv\n", setup=write("bad_ipd.csv", "time,event\n1e400,1\n"))
    pl("ipd is a broken project", "study,subgroup,ipd\nA,lung,bad.json\n", setup=raw_project("{not json"))
    pl("--method fe --hk", head + "A,lung,10,5,20,30\nB,lung,12,6,22,40\n", args=["--method", "fe", "--hk"])
    pl("--times text", head + "A,lung,10,5,20,30\n", args=["--times", "a,b"])
    pl("--times negative", head + "A,lung,10,5,20,30\n", args=["--times=-5"])
    pl("--times 1e400", head + "A,lung,10,5,20,30\n", args=["--times", "1e400"])
    C.append(Case("pool: --out dir holding the table", "pool", ["pool", "out/pooled.csv", "--out", "out", "--no-figures"],
                  setup=write("out/pooled.csv", head + "A,lung,10,5,20,30\nB,lung,12,6,22,40\n"), protect=["out/pooled.csv"]))
    C.append(Case("pool: --out is a file", "pool", ["pool", "studies.csv", "--out", "afile"], setup=write("afile", "x"),
                  protect=["afile", "studies.csv"]))
    C.append(Case("pool: output piped into head", "pool", [], shell="{kmrecon} pool studies.csv --out out --no-figures --times 6,12,24 | head -1",
                  expect="ok"))
    C.append(Case("pool: control, IPD + medians", "pool", ["pool", "studies.csv", "--out", "out", "--times", "6,12,24"], expect="ok",
                  protect=["studies.csv", "ipd.csv"]))
    C.append(Case("pool: control, semicolon CSV", "pool", ["pool", "semi.csv", "--out", "out", "--no-figures"], expect="ok",
                  setup=write("semi.csv", head.replace(",", ";") + "A;lung;10;5;20;30\nB;lung;12;6;22;40\n")))
    C.append(Case("pool: control, BOM", "pool", ["pool", "bom.csv", "--out", "out", "--no-figures"], expect="ok",
                  setup=write("bom.csv", "\ufeff" + head + "A,lung,10,5,20,30\nB,lung,12,6,22,40\n")))
    edge = _reml_edge_table()
    C.append(Case("pool: REML edge case gives tau2 = 0", "pool", ["pool", "edge.csv", "--out", "out", "--no-figures"],
                  expect="ok", setup=write("edge.csv", edge), check=pooled_tau2_zero))
    return C


def _reml_edge_table() -> str:
    """Medians with CIs whose restricted likelihood has a local maximum at τ² > 0 (Fisher
    scoring from DL stops there) and its global maximum at 0 (metafor: τ² = 0). Built from
    the 12-study edge case of tests/test_pool_reference.py: y = 20 + 2·yi, SE = 2·√vi."""
    import math

    yi = [0.133419, -2.148238, 0.219786, 2.206486, -0.149726, -1.594479, 2.221032, 1.202252, 0.228803,
          -1.462126, 1.735493, 1.847534]
    vi = [6.938434, 5.199259, 0.020314, 1.719923, 0.222721, 1.373883, 0.859188, 0.506675, 0.083908,
          0.816967, 0.946357, 2.599542]
    rows = ["study,subgroup,median,median_ci_low,median_ci_high,n"]
    for i, (y, v) in enumerate(zip(yi, vi)):
        m, se = 20 + 2 * y, 2 * math.sqrt(v)
        rows.append(f"S{i + 1},all_{i % 2},{m:.6f},{m - 1.959964 * se:.6f},{m + 1.959964 * se:.6f},50")
    return "\n".join(rows) + "\n"


PROJECT_MUTATIONS = [
    ("version 1e400", lambda p, d: p.update(version=float("inf"))),
    ("version text", lambda p, d: p.update(version="one")),
    ("version newer", lambda p, d: p.update(version=99)),
    ("format missing", lambda p, d: p.pop("format")),
    ("rgb 1e400", lambda p, d: p["arms"][0].update(rgb=[float("inf"), 0, 0])),
    ("rgb 300", lambda p, d: p["arms"][0].update(rgb=[300, 0, 0])),
    ("rgb text", lambda p, d: p["arms"][0].update(rgb="blue")),
    ("n_total 1e400", lambda p, d: p["arms"][0].update(n_total=float("inf"))),
    ("n_total 1e9", lambda p, d: p["arms"][0].update(n_total=10**9)),
    ("n_total text", lambda p, d: p["arms"][0].update(n_total="sixty")),
    ("total_events > n_total", lambda p, d: p["arms"][0].update(total_events=99)),
    ("tolerance negative", lambda p, d: p["arms"][0].update(tolerance=-1)),
    ("arm name blank", lambda p, d: p["arms"][0].update(name="  ")),
    ("arm name number", lambda p, d: p["arms"][0].update(name=5)),
    ("arms not a list", lambda p, d: p.update(arms={"A": 1})),
    ("points with text", lambda p, d: p["arms"][0].update(points_px=[[1, "x"]])),
    ("points 1e400", lambda p, d: p["arms"][0].update(points_px=[[float("inf"), 3]])),
    ("calibration px 1e400", lambda p, d: p["calibration"]["x1"].update(px=float("inf"))),
    ("calibration value text", lambda p, d: p["calibration"]["x1"].update(value="zero")),
    ("calibration not an object", lambda p, d: p.update(calibration=[1, 2])),
    ("crop 1e400", lambda p, d: p["image"].update(crop=[0, 0, float("inf"), 10])),
    ("crop [0,0,0,0]", lambda p, d: p["image"].update(crop=[0, 0, 0, 0])),
    ("crop negative", lambda p, d: p["image"].update(crop=[-50, -50, 100, 100])),
    ("crop outside image [app]", lambda p, d: p["image"].update(crop=[400, 300, 5000, 5000])),
    ("image path a number", lambda p, d: p["image"].update(path=12)),
    ("image path missing file [app]", lambda p, d: p["image"].update(path="gone.png", sha256=None)),
    ("image changed (sha256) [app]", lambda p, d: p["image"].update(sha256="0" * 64)),
    ("image dpi 1e400", lambda p, d: p["image"].update(dpi=float("inf"))),
    ("image page -1", lambda p, d: p["image"].update(page=-1)),
    ("png_base64 a number", lambda p, d: p["image"].update(png_base64=7)),
    ("png_base64 invalid base64", lambda p, d: p["image"].update(png_base64="%%%not base64%%%")),
    ("png_base64 not a PNG", lambda p, d: p["image"].update(png_base64=base64.b64encode(b"hello").decode())),
    ("png_base64 20000x20000", lambda p, d: p["image"].update(png_base64=base64.b64encode(white_png(20000, 20000)).decode())),
    ("png_base64 header bomb", lambda p, d: p["image"].update(png_base64=base64.b64encode(png_header_only(100000, 100000)).decode())),
    ("png_sha256 mismatch", lambda p, d: p["image"].update(png_base64=base64.b64encode((d / "fig.png").read_bytes()).decode(),
                                                          png_sha256="1" * 64)),
    ("risk rows not an object", lambda p, d: p["risk_table"].update(rows=[1, 2])),
    ("risk cell an object", lambda p, d: p.update(risk_table={"times": [0], "rows": {"A": [{"n": 1}]}})),
    ("settings.method bogus", lambda p, d: p["settings"].update(method="magic")),
    ("settings not an object", lambda p, d: p.update(settings="fast")),
    ("masks kind bogus", lambda p, d: p.update(masks=[{"kind": "circle", "points": []}])),
    ("mask radius 1e400", lambda p, d: p.update(masks=[{"kind": "brush", "points": [[1, 1]], "radius": float("inf")}])),
    ("reconstruction event 2", lambda p, d: p.update(reconstruction={"ipd": {"arm": ["A"], "time": [1.0], "event": [2]}})),
    ("reconstruction time -1", lambda p, d: p.update(reconstruction={"ipd": {"arm": ["A"], "time": [-1.0], "event": [1]}})),
    ("reconstruction lists unequal", lambda p, d: p.update(reconstruction={"ipd": {"arm": ["A"], "time": [], "event": [1]}})),
]
PROJECT_RAW = [
    ("not JSON", "{not json"),
    ("empty file", ""),
    ("binary garbage", os.urandom(2000)),
    ("JSON list", "[1, 2, 3]"),
    ("nested 100000 deep", "[" * 100000 + "]" * 100000),
    ("nested objects 50000 deep", '{"a":' * 50000 + "1" + "}" * 50000),
    ("NaN literal", '{"format": "kmrecon-project", "version": NaN}'),
]


def _json_inf(p):
    """json.dumps writes inf as Infinity; a file written by hand has 1e400 (reads as inf)."""
    return json.dumps(p).replace("Infinity", "1e400")


def project_cases() -> list[Case]:
    C = []
    for name, mutate in PROJECT_MUTATIONS:
        def setup(d, mutate=mutate):
            p = base_project(d)
            mutate(p, d)
            (d / "bad.json").write_text(_json_inf(p))
        # [app]: the image is not needed to pool a project's IPD; only the app must refuse it
        C.append(Case(f"project: {name}", "project", ["pool", "t.csv", "--out", "out", "--no-figures", "--times", "6,12"],
                      setup=chain(setup, write("t.csv", "study,subgroup,ipd\nA,lung,bad.json\n")),
                      protect=["bad.json"], expect="any" if "[app]" in name else "error"))
    for name, text in PROJECT_RAW:
        C.append(Case(f"project: {name}", "project", ["pool", "t.csv", "--out", "out", "--no-figures", "--times", "6,12"],
                      setup=chain(raw_project(text), write("t.csv", "study,subgroup,ipd\nA,lung,bad.json\n")),
                      protect=["bad.json"]))
    C.append(Case("project: control with BOM", "project",
                  ["pool", "t.csv", "--out", "out", "--no-figures", "--times", "6,12"],
                  setup=chain(lambda d: (d / "bad.json").write_text("\ufeff" + (d / "project.json").read_text()),
                              write("t.csv", "study,subgroup,ipd\nA,lung,bad.json\n")), expect="ok"))
    return C


APP_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.main_window import MainWindow, install_excepthook
d = sys.argv[2]
w = MainWindow(settings_path=os.path.join(d, "settings.ini"), recovery_dir=os.path.join(d, "recovery"),
               auto_propose=sys.argv[3] == "auto")
install_excepthook(w)
w.open_file(sys.argv[1])
t0 = time.time()
while time.time() - t0 < 100:
    app.processEvents()
    time.sleep(0.02)
    if not w.busy and time.time() - t0 > 0.5:
        break
msgs = [list(m) for m in w.messages]
print(json.dumps({"messages": msgs, "image": None if w.doc.image is None else list(w.doc.image.shape)}))
sys.exit(3 if any(m[1] == "Unexpected error" for m in msgs) else (2 if any(m[0] == "error" for m in msgs) else 0))
"""


def app_cases() -> list[Case]:
    C = []

    def ap(name, file, setup=None, expect="error", auto="auto", **kw):
        C.append(Case(f"app: {name}", "app", [file, auto], setup=setup, expect=expect, **kw))

    ap("missing file", "nope.png")
    ap("empty PNG", "e.png", write("e.png", b""))
    ap("truncated PNG", "tr.png", lambda d: (d / "tr.png").write_bytes((d / "fig.png").read_bytes()[:3000]))
    ap("text as PNG", "t.png", write("t.png", "hello\n" * 50))
    ap("PNG bomb header", "bomb.png", write("bomb.png", png_header_only(200000, 200000)))
    ap("1x1 PNG, zero-click", "one.png", write("one.png", small_png(1, 1)), expect="any")
    ap("9999x9999 white PNG, zero-click", "w.png", write("w.png", white_png(9999, 9999)), expect="any")
    ap("empty PDF", "e.pdf", write("e.pdf", b"%PDF-1.4\n%%EOF\n"))
    ap("control: figure, zero-click", "fig.png", expect="any")
    for name, mutate in PROJECT_MUTATIONS:
        def setup(d, mutate=mutate):
            p = base_project(d)
            mutate(p, d)
            (d / "bad.kmrecon").write_text(_json_inf(p))
        ap(f"project {name}", "bad.kmrecon", setup, protect=["bad.kmrecon"])
    for name, text in PROJECT_RAW:
        ap(f"project {name}", "bad.kmrecon",
           lambda d, text=text: (d / "bad.kmrecon").write_bytes(text.encode() if isinstance(text, str) else text))
    ap("project control: BOM", "p.kmrecon",
       lambda d: (d / "p.kmrecon").write_text("\ufeff" + (d / "project.json").read_text()), expect="ok")
    return C


# --------------------------------------------------------------------------- running


def _snapshot(d: Path, names) -> dict:
    out = {}
    for n in names:
        p = d / n
        out[n] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return out


def _temp_leftovers(d: Path) -> list[str]:
    return [str(p.relative_to(d)) for p in d.rglob(".*") if p.is_file() and p.name not in (".", "..")]


def run_case(case: Case, base: Path, work: Path) -> dict:
    d = work / "case"
    if d.exists():
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(base, d)
    if case.setup:
        case.setup(d)
    protect = list(case.protect)
    before = _snapshot(d, protect)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", **case.env)
    if case.area == "app":
        cmd = [PY, "-c", APP_SCRIPT, str(d / case.argv[0]), str(d), case.argv[1]]
    elif case.shell:
        cmd = ["/bin/sh", "-c", case.shell.format(kmrecon=f"{PY} -m kmrecon")]
    else:
        cmd = [PY, "-m", "kmrecon", *case.argv]
    out_f = open(work / "stdout", "w+")
    err_f = open(work / "stderr", "w+")
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=d, env=env, stdout=out_f, stderr=err_f, start_new_session=True,
                            preexec_fn=case.limits)
    hung = threading.Event()

    def kill():
        hung.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    timer = threading.Timer(TIMEOUT, kill)
    timer.start()
    _, status, ru = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.time() - t0
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    out_f.close()
    err_f.close()
    rc = proc.returncode
    problems = []
    kind = "ok"
    if hung.is_set():
        kind = "hang"
    elif "Traceback (most recent call last)" in err or rc not in (0, 2, 3, 141):
        kind = "traceback"
    elif case.area == "app" and rc == 3:
        kind = "traceback"  # an "Unexpected error" dialog
    after = _snapshot(d, protect)
    damaged = [n for n in protect if before[n] != after[n]]
    leftovers = _temp_leftovers(d)
    if damaged or leftovers:
        problems.append(f"damaged {damaged} leftovers {leftovers}")
    silently = refused = False
    if kind == "ok":
        if case.expect == "error" and rc in (0, 3):   # ran instead of refusing (3: with review lines)
            silently = True
        elif case.expect.startswith("warn:") and case.expect[5:] not in out + err:
            silently = rc == 0
        elif case.expect == "ok" and rc not in (0, 3):
            refused = True
        if case.message and rc != 0 and case.message.lower() not in (out + err).lower():
            problems.append(f"message lacks '{case.message}'")
        if case.check:
            why = case.check(d, out, err, rc)
            if why:
                problems.append(why)
    if case.area == "app":  # the messages the window showed (stdout JSON), not Qt's chatter
        last = (out.strip().splitlines() or [""])[-1][:300]
    else:
        last = (err.strip().splitlines() or out.strip().splitlines() or [""])[-1][:160]
    return {"name": case.name, "area": case.area, "status": rc, "kind": kind, "damaged": bool(damaged or leftovers),
            "silently": silently, "refused": refused, "problems": problems, "seconds": round(seconds, 1),
            "peak_mb": round(ru.ru_maxrss / 1024.0, 1), "known": case.known, "last": last}


def _mount_cases(work: Path) -> list[tuple[Case, object]]:
    """Read-only folder and full disk: small tmpfs mounts (root) or, failing that, permissions
    and a file-size limit. Returns (case, teardown)."""
    cases = []
    ro = work / "ro"
    full = work / "full"
    for p in (ro, full):
        p.mkdir(exist_ok=True)
    root = os.geteuid() == 0
    mounted = []
    if root:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(ro)], capture_output=True).returncode == 0
        ok = ok and subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True).returncode == 0
        ok2 = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(full)], capture_output=True).returncode == 0
        if ok:
            mounted.append(ro)
        if ok2:
            mounted.append(full)
    if ro not in mounted:
        os.chmod(ro, 0o555)

    old_set = [("ipd.csv", "old\n"), ("ipd.curves.csv", "old\n"), ("ipd.marks.csv", "old\n"),
               ("ipd.json", '{"kind": "kmrecon-extract", "old": true}\n')]

    def fill(d: Path):
        # old outputs of an earlier run, then fill the disk to a few kB short
        for n, text in old_set:
            (full / n).write_text(text)
        if full in mounted:
            try:
                with open(full / "filler", "wb") as fh:
                    while True:
                        fh.write(b"\0" * 4096)
            except OSError:
                pass
            os.remove(full / "filler")
            with open(full / "filler", "wb") as fh:  # leave one page (4 kB) free: the first file fits, not all
                try:
                    fh.write(b"\0" * (max(0, shutil.disk_usage(full).free - 4096)))
                except OSError:
                    pass

    def fsize_limit():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    lim = None if full in mounted else fsize_limit

    def all_old(d, out, err, status):
        now = [(n, (full / n).read_text()) for n, _ in old_set]
        bad = [n for (n, t0), (_, t1) in zip(old_set, now) if t0 != t1]
        left = [p.name for p in full.iterdir() if p.name.startswith(".")]
        return f"outputs half replaced {bad} / temp files {left}" if bad or left else None

    cal = cal_args()
    cases.append((Case("extract --out into a read-only folder", "extract",
                       ["extract", "fig.png", *cal, *ARMS, "--out", str(ro / "ipd.csv")]), None))
    cases.append((Case("reconstruct --out into a read-only folder", "reconstruct",
                       ["reconstruct", "curve.csv", "--out", str(ro / "ipd.csv")]), None))
    cases.append((Case("pool --out into a read-only folder", "pool",
                       ["pool", "studies.csv", "--out", str(ro / "res"), "--no-figures", "--times", "6,12,24"]), None))
    cases.append((Case("extract onto a full disk (set stays old)", "extract",
                       ["extract", "fig.png", *cal, *ARMS, "--out", str(full / "ipd.csv")], setup=fill, limits=lim,
                       check=all_old), None))
    cases.append((Case("reconstruct onto a full disk", "reconstruct",
                       ["reconstruct", "curve.csv", "--out", str(full / "r.csv")], setup=fill, limits=lim), None))
    cases.append((Case("pool onto a full disk", "pool",
                       ["pool", "studies.csv", "--out", str(full / "res"), "--times", "6,12,24"], setup=fill, limits=lim), None))

    def teardown():
        for p in mounted:
            subprocess.run(["umount", str(p)], capture_output=True)
        if ro not in mounted:
            os.chmod(ro, 0o755)
    return cases, teardown


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every fourth case (and no heavy ones)")
    ap.add_argument("--only", help="run cases whose area or name contains this text")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--json", help="also write the per-case results here")
    ap.add_argument("--make-base", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.make_base:
        make_base(Path(args.make_base))
        return 0
    work = Path(tempfile.mkdtemp(prefix="kmrecon-hostile-"))
    base = work / "base"
    base.mkdir()
    # the figures are drawn in a child: matplotlib here would inflate every child's peak RSS
    subprocess.run([PY, __file__, "--make-base", str(base)], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    cases = extract_cases() + reconstruct_cases() + pool_cases() + project_cases() + app_cases()
    mount_cases, teardown = _mount_cases(work)
    cases += [c for c, _ in mount_cases]
    if args.only:
        cases = [c for c in cases if args.only.lower() in (c.area + ": " + c.name).lower()]
    if args.quick:
        cases = [c for i, c in enumerate(cases) if i % 4 == 0 and not c.known]
    if args.list:
        for c in cases:
            print(f"{c.area:12s} {c.name}")
        print(f"{len(cases)} cases")
        teardown()
        return 0
    results = []
    try:
        for i, c in enumerate(cases, 1):
            r = run_case(c, base, work)
            results.append(r)
            flag = r["kind"] if r["kind"] != "ok" else ("DAMAGED" if r["damaged"] else "SILENT" if r["silently"]
                                                        else "REFUSED" if r["refused"] else "problem" if r["problems"] else "ok")
            r["last"] = r["last"].replace(str(work / "case") + "/", "")
            print(f"[{i:3d}/{len(cases)}] {flag:9s} exit {r['status']:>3} {r['seconds']:6.1f}s {r['peak_mb']:7.0f}MB  "
                  f"{c.area}: {c.name}{'  (known: solver)' if c.known else ''}"
                  + (f"\n      {r['last']}" if flag != "ok" or os.environ.get("VERBOSE") else "")
                  + "".join(f"\n      ! {p}" for p in r["problems"]), flush=True)
    finally:
        teardown()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    main_r = [r for r in results if not r["known"]]
    known_r = [r for r in results if r["known"]]

    def counts(rs):
        return {"cases": len(rs), "tracebacks": sum(r["kind"] == "traceback" for r in rs),
                "hangs": sum(r["kind"] == "hang" for r in rs), "damaged files": sum(r["damaged"] for r in rs),
                "bad inputs accepted silently": sum(r["silently"] for r in rs),
                "good inputs refused": sum(r["refused"] for r in rs),
                "other problems (messages, checks)": sum(bool(r["problems"]) and not r["damaged"] for r in rs),
                "peak memory max (MB)": max((r["peak_mb"] for r in rs), default=0),
                "cases over 2 GB": sum(r["peak_mb"] > 2048 for r in rs)}
    print("\n== hostile inputs ==")
    for k, v in counts(main_r).items():
        print(f"{k:36s} {v}")
    by_area = {}
    for r in main_r:
        by_area[r["area"]] = by_area.get(r["area"], 0) + 1
    print("cases by area: " + ", ".join(f"{a} {n}" for a, n in by_area.items()))
    if known_r:
        print("\n== solver cases (helper recon's work; rerun after merging) ==")
        for k, v in counts(known_r).items():
            print(f"{k:36s} {v}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    bad = counts(main_r)
    return 0 if not any(bad[k] for k in ("tracebacks", "hangs", "damaged files", "bad inputs accepted silently")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
