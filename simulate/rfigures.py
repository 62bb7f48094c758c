"""KM figures drawn by R (survminer ``ggsurvplot`` and base R ``plot(survfit)``) from simulated IPD.

Our own matplotlib generator (``simulate.figure``) is a tool, not the target: users bring figures
that R, SAS, Stata and journals drew. This module renders the same kind of known IPD through R
itself, across the options people use (palettes including black, legend position, risk table
on/off with coloured or hidden row labels, confidence bands, censor glyphs, percent scale,
``break.time.by``, ggplot themes; base R ``col``/``lty``/``mark``/``legend()``/``axis()`` and a
``mtext`` risk table), so the reading side can be measured on figures it was not written for.

Truth written beside each figure (``truth.json``): arm names as printed, colours and line types
as drawn, whether names are printed at all, the number-at-risk table R printed (``summary(fit,
times=..., extend=TRUE)``), the axis ranges and an exact calibration. The calibration is measured,
not assumed: the figure is drawn a second time with two small magenta squares at known data
points inside the panel (drawn last, so layout and clipping are unchanged), and their pixel
centroids give the data -> pixel affine (R draws no rotation). Pixel convention as in
``simulate.figure``: x right, y down, pixel centres at integers.

R is a benchmark-only dependency (Debian: r-base-core r-cran-survival r-cran-survminer
r-cran-ggplot2): :func:`r_available` says whether it is there; tests that need it skip without.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kmrecon.data import RiskTable
from simulate.ipd import km_corners, simulate_arm

ENGINES = ("survminer", "base")
THEMES = ("survminer", "bw", "grey", "classic", "minimal")
#: palettes as hex, so the truth knows the drawn colours (ggsci's lancet/jco/nejm values; ggplot's hue)
PALETTES = {
    "hue": ["#F8766D", "#00BFC4", "#7CAE00"],
    "hue3": ["#F8766D", "#00BA38", "#619CFF"],
    "lancet": ["#00468B", "#ED0000", "#42B540"],
    "jco": ["#0073C2", "#EFC000", "#868686"],
    "nejm": ["#BC3C29", "#0072B5", "#E18727"],
    "survminer": ["#E7B800", "#2E9FDF", "#FC4E07"],
    "black": ["#000000", "#000000", "#000000"],
    "greys": ["#000000", "#7F7F7F", "#BEBEBE"],
}
NAME_SETS = [
    ["Obs", "Lev", "Lev+5FU"],
    ["Placebo", "Drug"],
    ["Control", "Experimental"],
    ["Chemotherapy", "Pembrolizumab", "Combination"],
    ["Arm A", "Arm B", "Arm C"],
    ["Surgery alone", "Surgery + chemo"],
]
_MARKER = "#FF00FF"
#: bump when random_rspec or the R code changes, so cached sets are redrawn
SET_VERSION = 3
#: calibration markers (fraction of x range, survival), in increasing x: inside the panel, clear
#: of legends drawn inside it (top right); six of them, spread out, so that R's snapping of each
#: point to the pixel grid averages out in the least-squares fit (sub-pixel at the axis ends)
MK = ((0.04, 0.05), (0.2, 0.62), (0.36, 0.15), (0.52, 0.55), (0.68, 0.1), (0.84, 0.45))


class RUnavailable(RuntimeError):
    """Rscript or one of the R packages is missing."""


def r_available() -> bool:
    """True when Rscript runs and has survival + survminer."""
    exe = shutil.which("Rscript")
    if not exe:
        return False
    try:
        r = subprocess.run([exe, "-e", "suppressMessages({library(survival);library(survminer)})"],
                           capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@dataclass
class RSpec:
    """How R should draw one figure. Sizes: ``width``/``height`` in pixels at ``res`` dpi."""

    engine: str = "survminer"
    names: list[str] = field(default_factory=lambda: ["Control", "Experimental"])
    colours: list[str] = field(default_factory=lambda: ["#F8766D", "#00BFC4"])
    linetypes: list[int] = field(default_factory=lambda: [1, 1])   # R lty: 1 solid 2 dashed 3 dotted 4 dotdash
    legend: str = "top"            # survminer: top/right/bottom/none/inside; base: topright/bottomleft/.../none
    risk_table: bool = True
    risk_table_col: bool = False   # survminer risk.table.col = "strata"
    tables_y_text: bool = True     # survminer: row names printed (False: coloured bars only)
    conf_int: bool = False
    censor: str = "+"              # "+", "|" or "none"
    percent: bool = False          # survival axis in percent
    break_time_by: float = 12.0
    theme: str = "survminer"       # survminer only
    lwd: float = 1.0               # survminer size (mm) / base lwd
    width: int = 1200
    height: int = 900
    res: int = 150
    xlab: str = "Time (months)"
    base_axis: str = "default"     # base R: default | las1 | boxed (bty o, las 1, axis() at breaks)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def names_printed(self) -> bool:
        """Whether the figure prints the arm names anywhere (legend or risk-table labels)."""
        if self.legend != "none":
            return True
        return self.risk_table and (self.engine == "base" or self.tables_y_text)


@dataclass
class RTruth:
    """What R drew: see the module docstring. Times in the IPD's unit (months)."""

    ipd: pd.DataFrame
    spec: RSpec
    risk_table: RiskTable | None
    calibration: dict            # digitize.calibrate.Calibration.to_dict() format
    x_range: tuple[float, float]
    arms: list[str]
    colors: dict[str, tuple[int, int, int]]

    @property
    def y_percent(self) -> bool:
        return self.spec.percent

    def km(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        g = self.ipd[self.ipd["arm"] == arm]
        return km_corners(g["time"].to_numpy(), g["event"].to_numpy())

    def to_dict(self) -> dict:
        rt = None if self.risk_table is None else {
            "times": [float(t) for t in self.risk_table.times],
            "n_risk": {a: [float(v) for v in c] for a, c in self.risk_table.n_risk.items()}}
        return {"spec": self.spec.to_dict(), "arms": self.arms,
                "colors": {a: list(c) for a, c in self.colors.items()}, "risk_table": rt,
                "calibration": self.calibration, "x_range": list(self.x_range),
                "names_printed": self.spec.names_printed}


@dataclass
class RFigure:
    """One R-drawn figure on disk: ``directory/figure.png`` with its truth."""

    directory: Path
    truth: RTruth

    @property
    def image_path(self) -> Path:
        return self.directory / "figure.png"

    def load_image(self) -> np.ndarray:
        from digitize.image import load_image

        return load_image(self.image_path)


# ---------------------------------------------------------------------------------------------
# R code

def _rvec(values, quote=True) -> str:
    if quote:
        return "c(" + ", ".join(json.dumps(str(v)) for v in values) + ")"
    return "c(" + ", ".join(repr(float(v)) if not isinstance(v, int) else str(v) for v in values) + ")"


def _survminer_code(spec: RSpec, n: int) -> str:
    legend = "c(0.8, 0.85)" if spec.legend == "inside" else json.dumps(spec.legend)
    theme = {"survminer": "theme_survminer()", "bw": "theme_bw()", "grey": "theme_grey()",
             "classic": "theme_classic()", "minimal": "theme_minimal()"}[spec.theme]
    censor = "censor = FALSE" if spec.censor == "none" else (
        f"censor = TRUE, censor.shape = {json.dumps(spec.censor)}, censor.size = 3")
    lt = "linetype = 'strata'," if len(set(spec.linetypes)) > 1 else ""
    return f"""
p <- ggsurvplot(fit, data = d, palette = {_rvec(spec.colours[:n])}, legend = {legend},
  legend.labs = {_rvec(spec.names[:n])}, legend.title = "", {lt}
  risk.table = {str(spec.risk_table).upper()},
  {'risk.table.col = "strata",' if spec.risk_table_col else ''}
  tables.y.text = {str(spec.tables_y_text).upper()}, risk.table.height = 0.25,
  conf.int = {str(spec.conf_int).upper()}, {censor},
  surv.scale = {'"percent"' if spec.percent else '"default"'}, break.time.by = {spec.break_time_by},
  xlim = c(0, xmax), size = {spec.lwd}, ggtheme = {theme}, xlab = {json.dumps(spec.xlab)},
  ylab = {'"Survival (%)"' if spec.percent else '"Survival probability"'})
draw <- function(file, marker) {{
  q <- p
  if (marker) q$plot <- q$plot + annotate("point", x = mk_t, y = mk_s, colour = "{_MARKER}",
                                          shape = 15, size = 1.2)
  png(file, width = {spec.width}, height = {spec.height}, res = {spec.res})
  print(q)
  invisible(dev.off())
}}
"""


def _base_code(spec: RSpec, n: int) -> str:
    mark = "" if spec.censor == "none" else (
        "mark = 3," if spec.censor == "+" else 'mark = "|",')
    rows = n + 2 if spec.risk_table else 0
    las = 1 if spec.base_axis in ("las1", "boxed") else 0
    bty = '"o"' if spec.base_axis == "boxed" else '"l"'
    legend = "" if spec.legend == "none" else (
        f'legend({json.dumps(spec.legend)}, legend = {_rvec(spec.names[:n])}, '
        f'col = {_rvec(spec.colours[:n])}, lty = {_rvec(spec.linetypes[:n], False)}, '
        f'lwd = {spec.lwd}, bty = "n", inset = 0.02)')
    table = ""
    if spec.risk_table:
        table = f"""
  mtext("Number at risk", side = 1, line = 4, at = 0, adj = 0, cex = 0.8, font = 2)
  for (i in seq_along(labs)) {{
    mtext(labs[i], side = 1, line = 4 + i, at = par("usr")[1] - 0.04 * xmax, adj = 1, cex = 0.8)
    mtext(nrisk[[i]], side = 1, line = 4 + i, at = brk, cex = 0.8)
  }}"""
    return f"""
labs <- {_rvec(spec.names[:n])}
draw <- function(file, marker) {{
  png(file, width = {spec.width}, height = {spec.height}, res = {spec.res})
  par(mar = c({4 + rows}, {8 if spec.risk_table else 4.5}, 2, 1), las = {las})
  plot(fit, col = {_rvec(spec.colours[:n])}, lty = {_rvec(spec.linetypes[:n], False)},
       lwd = {spec.lwd}, mark.time = {str(spec.censor != 'none').upper()}, {mark}
       conf.int = {str(spec.conf_int).upper()}, xlim = c(0, xmax), xaxt = "n", bty = {bty},
       xlab = {json.dumps(spec.xlab)}, ylab = {'"Survival (%)"' if spec.percent else '"Survival probability"'},
       {'yscale = 100,' if spec.percent else ''} xaxs = "r")
  axis(1, at = brk)
  {legend}{table}
  if (marker) points(mk_t, mk_s, pch = 15, cex = 0.5, col = "{_MARKER}")
  invisible(dev.off())
}}
"""


def _script(spec: RSpec, directory: Path, arms: list[str], xmax: float) -> str:
    n = len(arms)
    body = _survminer_code(spec, n) if spec.engine == "survminer" else _base_code(spec, n)
    return f"""
local({{
setwd({json.dumps(str(directory))})
d <- read.csv("ipd.csv", stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = {_rvec(arms)})
fit <- survfit(Surv(time, event) ~ arm, data = d)
xmax <- {xmax!r}
brk <- seq(0, xmax, by = {spec.break_time_by!r})
sm <- summary(fit, times = brk, extend = TRUE)
tab <- data.frame(arm = sub("^arm=", "", as.character(sm$strata)), time = sm$time, n_risk = sm$n.risk)
write.csv(tab, "risk_printed.csv", row.names = FALSE)
nrisk <- lapply(levels(d$arm), function(a) tab$n_risk[tab$arm == a])
mk_t <- c({", ".join(repr(m[0]) for m in MK)}) * xmax
mk_s <- c({", ".join(repr(m[1]) for m in MK)})
{body}
draw("figure.png", FALSE)
draw("marker.png", TRUE)
}})
"""


def _marker_points(path: Path) -> list[tuple[float, float]]:
    """Pixel centroids (px, py) of the magenta squares (``len(MK)`` of them), left to right."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].astype(float)
    target = np.array([255.0, 0.0, 255.0])
    w = np.clip(1.0 - np.linalg.norm(img - target, axis=2) / 120.0, 0.0, 1.0)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((w > 0.3).astype(np.uint8))
    blobs = []
    for k in range(1, n):
        if stats[k, cv2.CC_STAT_AREA] < 2:
            continue
        ys, xs = np.nonzero(labels == k)
        ww = w[ys, xs]
        blobs.append((float((xs * ww).sum() / ww.sum()), float((ys * ww).sum() / ww.sum()),
                      int(stats[k, cv2.CC_STAT_AREA])))
    blobs = sorted(sorted(blobs, key=lambda b: -b[2])[:len(MK)])
    if len(blobs) != len(MK):
        raise RUnavailable(f"{path}: expected {len(MK)} calibration markers, found {len(blobs)}")
    return [(b[0], b[1]) for b in blobs]


def _calibration(markers, xmax: float, percent: bool) -> dict:
    """Calibration dict from the markers drawn at the data points ``MK`` (least squares; R draws
    the axes unrotated, so x depends on time only and y on survival only)."""
    f = np.array([m[0] * xmax for m in MK])
    v = np.array([m[1] for m in MK])
    sx, px0 = np.polyfit(f, [m[0] for m in markers], 1)
    sy, py0 = np.polyfit(v, [m[1] for m in markers], 1)

    def pt(t, s, value):
        return {"px": float(px0 + sx * t), "py": float(py0 + sy * s), "value": value}

    top = 100.0 if percent else 1.0
    return {"x1": pt(0.0, 0.0, 0.0), "x2": pt(xmax, 0.0, xmax),
            "y1": pt(0.0, 0.0, 0.0), "y2": pt(0.0, 1.0, top), "log_x": False, "no_rotation": False}


def _hex_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def render_r_figures(jobs: list[tuple[pd.DataFrame, RSpec]], root, timeout: float = 600.0
                     ) -> list[RFigure]:
    """Draw each (IPD, spec) into ``root/NNN/`` with one R process; returns the figures.

    IPD columns ``arm, time, event`` (arms in the order of ``spec.names``). Raises
    :class:`RUnavailable` when R or its packages are missing or R fails.
    """
    exe = shutil.which("Rscript")
    if not exe:
        raise RUnavailable("Rscript not found (Debian: r-base-core r-cran-survival r-cran-survminer)")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    parts = ["suppressMessages({library(survival); library(survminer)})"]
    metas = []
    for i, (ipd, spec) in enumerate(jobs):
        d = root / f"{i:03d}"
        d.mkdir(parents=True, exist_ok=True)
        arms = [a for a in spec.names if a in set(ipd["arm"])]
        ipd = ipd[ipd["arm"].isin(arms)].reset_index(drop=True)
        ipd.to_csv(d / "ipd.csv", index=False)
        t_end = float(ipd["time"].max())
        xmax = float(np.ceil(t_end / spec.break_time_by) * spec.break_time_by)
        code = _script(spec, d, arms, xmax)
        (d / "render.R").write_text("suppressMessages({library(survival); library(survminer)})\n" + code)
        parts.append(code)
        metas.append((d, ipd, spec, arms, xmax))
    script = root / "render_all.R"
    script.write_text("\n".join(parts))
    try:
        r = subprocess.run([exe, str(script)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise RUnavailable(f"R took longer than {timeout:.0f} s") from exc
    if r.returncode != 0:
        raise RUnavailable(f"R failed: {r.stderr.strip()[-800:]}")
    out = []
    for d, ipd, spec, arms, xmax in metas:
        cal = _calibration(_marker_points(d / "marker.png"), xmax, spec.percent)
        (d / "marker.png").unlink()
        tab = pd.read_csv(d / "risk_printed.csv")
        risk = None
        if spec.risk_table:
            times = np.array(sorted(tab["time"].unique()), float)
            risk = RiskTable(times, {a: tab.loc[tab["arm"] == a, "n_risk"].to_numpy(float)
                                     for a in arms})
        truth = RTruth(ipd, spec, risk, cal, (0.0, xmax), arms,
                       {a: _hex_rgb(spec.colours[k]) for k, a in enumerate(arms)})
        (d / "truth.json").write_text(json.dumps(truth.to_dict(), indent=1))
        out.append(RFigure(d, truth))
    return out


def load_r_figure(directory) -> RFigure:
    """Read back a figure written by :func:`render_r_figures`."""
    d = Path(directory)
    t = json.loads((d / "truth.json").read_text())
    spec = RSpec(**t["spec"])
    rt = t["risk_table"]
    risk = None if rt is None else RiskTable(np.asarray(rt["times"], float),
                                             {a: np.asarray(v, float) for a, v in rt["n_risk"].items()})
    ipd = pd.read_csv(d / "ipd.csv")
    truth = RTruth(ipd, spec, risk, t["calibration"], tuple(t["x_range"]), list(t["arms"]),
                   {a: tuple(c) for a, c in t["colors"].items()})
    return RFigure(d, truth)


# ---------------------------------------------------------------------------------------------
# a varied set

def simulate_trial(rng: np.random.Generator, names: list[str], crossing: bool = False) -> pd.DataFrame:
    """IPD (months) for a trial with these arms: 40-400 patients an arm, administrative
    censoring over 3-6 years of follow-up, some drop-out; crossing hazards on request."""
    follow_up = float(rng.uniform(36, 72))
    accrual = float(rng.uniform(0.3, 0.7)) * follow_up
    dropout = float(rng.choice([0.0, 0.004, 0.01]))
    base = float(rng.uniform(0.2, 0.9)) * follow_up
    frames = []
    for i, name in enumerate(names):
        shape = (0.6, 2.4, 1.0)[i % 3] if crossing else float(rng.uniform(0.8, 1.4))
        median = base * (float(rng.uniform(0.85, 1.2)) if crossing else float(rng.uniform(0.6, 1.8)))
        df = simulate_arm(int(rng.integers(40, 401)), rng, median=median, shape=shape,
                          follow_up=follow_up, accrual=accrual, dropout_rate=dropout)
        df["time"] = np.maximum(np.round(df["time"], 2), 0.01)
        df.insert(0, "arm", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def random_rspec(rng: np.random.Generator, engine: str | None = None, bw: bool | None = None) -> RSpec:
    """A random spec across the options users' R figures show (see the module docstring).

    bw True: black/grey arms told apart by line type (base R lty 1/2/3, survminer linetype)."""
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    engine = engine or pick(ENGINES)
    names = list(pick(NAME_SETS))
    n = len(names) if rng.random() < 0.5 else 2
    names = names[:n]
    bw = (rng.random() < 0.2) if bw is None else bw
    if bw:
        colours = list(pick([PALETTES["black"], PALETTES["greys"]]))[:n]
        linetypes = [1, 2, 3][:n]
    else:
        colours = list(pick([PALETTES["hue3"] if n == 3 else PALETTES["hue"], PALETTES["lancet"],
                             PALETTES["jco"], PALETTES["nejm"], PALETTES["survminer"]]))[:n]
        linetypes = [1] * n
    res = int(pick([72, 96, 150, 200]))
    inch_w, inch_h = float(rng.uniform(6, 9)), float(rng.uniform(4.5, 7))
    spec = RSpec(engine=engine, names=names, colours=colours, linetypes=linetypes,
                 risk_table=bool(rng.random() < 0.7), conf_int=bool(rng.random() < 0.2),
                 censor=pick(["+", "+", "|", "none"]), percent=bool(rng.random() < 0.3),
                 break_time_by=float(pick([6, 12, 12, 24])), res=res,
                 width=int(inch_w * res), height=int(inch_h * res),
                 lwd=float(pick([0.5, 0.8, 1.0])) if engine == "survminer" else float(pick([1, 1.5, 2])))
    if engine == "survminer":
        spec.legend = pick(["top", "top", "right", "bottom", "inside", "none"])
        spec.theme = pick(THEMES)
        spec.risk_table_col = bool(rng.random() < 0.4)
        spec.tables_y_text = bool(rng.random() < 0.75)
    else:
        spec.legend = pick(["topright", "bottomleft", "topright", "bottomright", "topleft", "right", "none"])
        spec.base_axis = pick(["default", "las1", "boxed"])
    return spec


def r_figure_set(n: int, seed: int, root, *, engine: str | None = None, bw: bool | None = None
                 ) -> list[RFigure]:
    """``n`` varied R figures (cached: a folder already holding ``n`` figures of this seed is
    read back, not redrawn)."""
    root = Path(root) / f"v{SET_VERSION}_seed{seed}_{engine or 'any'}_{'bw' if bw else 'col' if bw is False else 'mix'}_n{n}"
    if all((root / f"{i:03d}" / "truth.json").exists() for i in range(n)):
        return [load_r_figure(root / f"{i:03d}") for i in range(n)]
    rng = np.random.default_rng(seed)
    jobs = []
    for _ in range(n):
        spec = random_rspec(rng, engine, bw)
        crossing = bool(rng.random() < 0.25)
        jobs.append((simulate_trial(rng, spec.names, crossing), spec))
    return render_r_figures(jobs, root)
