"""KM figures drawn by R (survminer ``ggsurvplot`` and base R ``plot(survfit)``) from simulated IPD.

Our own matplotlib generator (``simulate.figure``) is a tool, not the target: users bring figures
that R, SAS, Stata and journals drew. This module renders the same kind of known IPD through R
itself, across the options people use (palettes including black, legend position, risk table
on/off with coloured or hidden row labels, confidence bands, censor glyphs, percent scale,
``break.time.by``, ggplot themes; base R ``col``/``lty``/``mark``/``legend()``/``axis()`` and a
``mtext`` risk table), so the reading side can be measured on figures it was not written for.

The same R code writes a PNG (``device="png"``) or a vector PDF (``device="pdf"``: the page is
``width/res`` x ``height/res`` inches; survminer's ``print`` leaves a blank first page before the
figure, as its users' PDFs have). :func:`pdf_style_spec` gives the five vector-PDF styles the
vector benchmark and tests use; black-and-white figures (arms told apart by ``linetypes``) are
specs too (``bw=True`` in :func:`random_rspec`, or by hand).

Truth written beside each figure (``truth.json``): arm names as printed, colours and line types
as drawn, whether names are printed at all, the number-at-risk table R printed (``summary(fit,
times=..., extend=TRUE)``), the axis ranges, the plot panel and an exact calibration. The
calibration is R's own: after drawing, R converts the data points (0, 0), (xmax, 0) and (0, 1)
to device inches (base R: ``grconvertX/Y`` from user coordinates; survminer: ``deviceLoc`` in
the survival panel's viewport with ggplot's built ranges), so nothing is measured from pixels.
Pixel convention as in ``simulate.figure``: x right, y down, pixel centres at integers; for a
PDF, the pixels of its figure page rendered at ``res`` dpi (pypdfium2 scale ``res/72``).

R is a benchmark-only dependency (Debian: r-base-core r-cran-survival r-cran-survminer
r-cran-ggplot2): :func:`r_available` says whether it is there; tests that need it skip without.
Install fonts-urw-base35 with it: fontconfig then gives R's Helvetica its Nimbus Sans, the font
the R tests and benchmark sets were made with. Squeezed tables and legends depend on the font:
on a fresh Debian machine without it (DejaVu Sans, wider) 6 R tests failed, and with Liberation
Sans alone (fonts-liberation) 2 others.
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
from simulate.ipd import km_corners, number_at_risk, simulate_arm

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
#: bump when random_rspec or the R code changes, so cached sets are redrawn
SET_VERSION = 4
DEVICES = ("png", "pdf")
#: R line types (lty) by the style names digitize.extract.ArmSpec uses
R_LTY = {"solid": 1, "dashed": 2, "dotted": 3, "dashdot": 4}
LTY_STYLE = {v: k for k, v in R_LTY.items()}
#: R's linetype strings for lty 1-4, so survminer (ggplot) draws the same dashes as base R
_GG_LTY = {1: "solid", 2: "dashed", 3: "dotted", 4: "dotdash"}


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
    lwds: list[float] | None = None  # base R: one lwd per arm (curves told apart by width)
    pchs: list[int] | None = None  # base R: one censor-mark symbol per arm (R pch: 1 circle, 2 triangle, 3 plus, 4 cross)
    width: int = 1200
    height: int = 900
    res: int = 150
    xlab: str = "Time (months)"
    base_axis: str = "default"     # base R: default | las1 | boxed (bty o, las 1, axis() at breaks)
    device: str = "png"            # png | pdf (vector; same R code, width/res x height/res inches)
    xaxs: str = "r"                # base R: "r" pads the time axis 4 %, "i" starts curves at the y axis
    censor_size: float = 3.0       # survminer censor.size (mm; survminer's own default is 4.5)

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
    """What R drew: see the module docstring. Times in the IPD's unit (months); calibration and
    plot area in pixels (of the PNG, or of the PDF's figure page rendered at ``spec.res`` dpi)."""

    ipd: pd.DataFrame
    spec: RSpec
    risk_table: RiskTable | None
    calibration: dict            # digitize.calibrate.Calibration.to_dict() format
    x_range: tuple[float, float]
    arms: list[str]
    colors: dict[str, tuple[int, int, int]]
    plot_area: tuple[int, int, int, int] | None = None   # panel (x0, y0, x1, y1) pixels

    @property
    def y_percent(self) -> bool:
        return self.spec.percent

    @property
    def styles(self) -> dict[str, str]:
        """Arm -> line style name (solid/dashed/dotted/dashdot/thick) as drawn: 'thick' for a solid
        line at least twice as wide as the thinnest arm's (``spec.lwds``)."""
        out = {a: LTY_STYLE.get(int(self.spec.linetypes[k]), "solid") for k, a in enumerate(self.arms)}
        if self.spec.lwds:
            thin = min(self.spec.lwds[:len(self.arms)])
            for k, a in enumerate(self.arms):
                if out[a] == "solid" and self.spec.lwds[k] >= 2.0 * thin:
                    out[a] = "thick"
        return out

    def n_risk(self, arm: str, times) -> np.ndarray:
        """True number at risk of ``arm`` at ``times`` (from the IPD)."""
        g = self.ipd[self.ipd["arm"] == arm]
        return number_at_risk(g["time"].to_numpy(float), np.asarray(times, float))

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
                "names_printed": self.spec.names_printed,
                "plot_area": None if self.plot_area is None else list(self.plot_area)}


@dataclass
class RFigure:
    """One R-drawn figure on disk: ``directory/figure.png`` (or ``figure.pdf``) with its truth."""

    directory: Path
    truth: RTruth

    @property
    def image_path(self) -> Path:
        return self.directory / f"figure.{self.truth.spec.device}"

    def load_image(self) -> np.ndarray:
        """RGB pixels: the PNG, or the PDF's last (figure) page rendered at ``spec.res`` dpi, the
        pixels the calibration is in."""
        if self.truth.spec.device == "pdf":
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(self.image_path))
            try:
                page = doc[len(doc) - 1]
                return np.asarray(page.render(scale=self.truth.spec.res / 72.0).to_pil().convert("RGB"))
            finally:
                doc.close()
        from digitize.image import load_image

        return load_image(self.image_path)


# ---------------------------------------------------------------------------------------------
# R code

def _rvec(values, quote=True) -> str:
    if quote:
        return "c(" + ", ".join(json.dumps(str(v)) for v in values) + ")"
    return "c(" + ", ".join(repr(float(v)) if not isinstance(v, int) else str(v) for v in values) + ")"


def _open_device(spec: RSpec) -> str:
    """R call opening the output device (``file`` is the path without extension)."""
    if spec.device == "pdf":
        return f'pdf(paste0(file, ".pdf"), width = {spec.width / spec.res!r}, height = {spec.height / spec.res!r})'
    return f'png(paste0(file, ".png"), width = {spec.width}, height = {spec.height}, res = {spec.res})'


#: writes the calibration coordinates (device inches, origin bottom left): t = 0 and xmax, S = 0
#: and 1, then the panel's corners; ``cx``, ``cy`` convert data values to inches
_WRITE_COORDS = """
  writeLines(format(c(cx(c(0, xmax)), cy(c(0, 1)), px, py), digits = 12), "coords.txt")
"""


def _survminer_code(spec: RSpec, n: int) -> str:
    legend = "c(0.8, 0.85)" if spec.legend == "inside" else json.dumps(spec.legend)
    theme = {"survminer": "theme_survminer()", "bw": "theme_bw()", "grey": "theme_grey()",
             "classic": "theme_classic()", "minimal": "theme_minimal()"}[spec.theme]
    censor = "censor = FALSE" if spec.censor == "none" else (
        f"censor = TRUE, censor.shape = {json.dumps(spec.censor)}, censor.size = {spec.censor_size!r}")
    lt = "linetype = 'strata'," if len(set(spec.linetypes)) > 1 else ""
    # ggplot's default linetype scale is not R's lty 1-4: set the drawn dashes explicitly
    lt_scale = "" if not lt else (
        f"p$plot <- p$plot + scale_linetype_manual(values = {_rvec([_GG_LTY.get(int(v), 'solid') for v in spec.linetypes[:n]])}, "
        f"labels = {_rvec(spec.names[:n])}, name = \"\")")
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
{lt_scale}
draw <- function(file) {{
  {_open_device(spec)}
  suppressMessages(print(p))
  # the survival panel: the tallest panel viewport (the risk table's is below it)
  grid.force()
  ls_ <- grid.ls(viewports = TRUE, print = FALSE)
  sel <- grepl("^panel\\\\.[0-9]", ls_$name) & ls_$type == "vpListing"
  full <- ifelse(ls_$vpPath[sel] == "", ls_$name[sel], paste0(ls_$vpPath[sel], "::", ls_$name[sel]))
  full <- unique(sub("^ROOT::", "", full))
  go <- function(f) {{ upViewport(0); downViewport(do.call(vpPath, as.list(strsplit(f, "::")[[1]]))) }}
  hts <- sapply(full, function(f) {{ go(f); a0 <- deviceLoc(unit(0, "npc"), unit(0, "npc"), valueOnly = TRUE)
    a1 <- deviceLoc(unit(1, "npc"), unit(1, "npc"), valueOnly = TRUE); a1$y - a0$y }})
  go(full[which.max(hts)])
  lim <- ggplot_build(p$plot)$layout$panel_params[[1]]
  xr <- lim$x.range; yr <- lim$y.range
  p0 <- deviceLoc(unit(0, "npc"), unit(0, "npc"), valueOnly = TRUE)
  p1 <- deviceLoc(unit(1, "npc"), unit(1, "npc"), valueOnly = TRUE)
  cx <- function(v) p0$x + (v - xr[1]) / diff(xr) * (p1$x - p0$x)
  cy <- function(v) p0$y + (v - yr[1]) / diff(yr) * (p1$y - p0$y)
  px <- c(p0$x, p1$x); py <- c(p0$y, p1$y)
  {_WRITE_COORDS.strip()}
  invisible(dev.off())
}}
"""


def _base_code(spec: RSpec, n: int) -> str:
    mark = "" if spec.censor == "none" else (
        f"mark = {_rvec(spec.pchs[:n], False)}," if spec.pchs else
        "mark = 3," if spec.censor == "+" else 'mark = "|",')
    rows = n + 2 if spec.risk_table else 0
    las = 1 if spec.base_axis in ("las1", "boxed") else 0
    bty = '"o"' if spec.base_axis == "boxed" else '"l"'
    lwd = spec.lwd if spec.lwds is None else _rvec(spec.lwds[:n], False)
    pch = "" if not spec.pchs or spec.censor == "none" else f", pch = {_rvec(spec.pchs[:n], False)}"
    legend = "" if spec.legend == "none" else (
        f'legend({json.dumps(spec.legend)}, legend = {_rvec(spec.names[:n])}, '
        f'col = {_rvec(spec.colours[:n])}, lty = {_rvec(spec.linetypes[:n], False)}, '
        f'lwd = {lwd}, bty = "n", inset = 0.02{pch})')
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
draw <- function(file) {{
  {_open_device(spec)}
  par(mar = c({4 + rows}, {8 if spec.risk_table else 4.5}, 2, 1), las = {las})
  plot(fit, col = {_rvec(spec.colours[:n])}, lty = {_rvec(spec.linetypes[:n], False)},
       lwd = {lwd}, mark.time = {str(spec.censor != 'none').upper()}, {mark}
       conf.int = {str(spec.conf_int).upper()}, xlim = c(0, xmax), xaxt = "n", bty = {bty},
       xlab = {json.dumps(spec.xlab)}, ylab = {'"Survival (%)"' if spec.percent else '"Survival probability"'},
       {'yscale = 100,' if spec.percent else ''} xaxs = {json.dumps(spec.xaxs)})
  axis(1, at = brk)
  {legend}{table}
  cx <- function(v) grconvertX(v, "user", "inches")
  cy <- function(v) grconvertY(v, "user", "inches")
  u <- par("usr"); px <- cx(u[1:2]); py <- cy(u[3:4])
  {_WRITE_COORDS.strip()}
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
st <- if (is.null(sm$strata)) rep(levels(d$arm)[1], length(sm$time)) else sub("^arm=", "", as.character(sm$strata))
tab <- data.frame(arm = st, time = sm$time, n_risk = sm$n.risk)   # a one-arm figure has no strata
write.csv(tab, "risk_printed.csv", row.names = FALSE)
nrisk <- lapply(levels(d$arm), function(a) tab$n_risk[tab$arm == a])
{body}
draw("figure")
}})
"""


def _calibration(path: Path, spec: RSpec, xmax: float) -> tuple[dict, tuple[int, int, int, int]]:
    """Calibration dict and plot area (pixels) from the device inches R wrote (``coords.txt``:
    x of t = 0 and xmax, y of S = 0 and 1, panel x0, x1, y0, y1; origin bottom left).

    Pixels: ``inches * res``, y flipped; R's device puts pixel edges at integers, ours pixel
    centres, hence the half pixel. R draws the axes unrotated."""
    v = [float(t) for t in path.read_text().split()]
    if len(v) != 8 or not np.all(np.isfinite(v)):
        raise RUnavailable(f"{path}: R wrote no usable plot coordinates")
    fx = lambda x: x * spec.res - 0.5                      # noqa: E731
    fy = lambda y: spec.height - y * spec.res - 0.5        # noqa: E731
    x0, xm, y0, y1 = fx(v[0]), fx(v[1]), fy(v[2]), fy(v[3])
    top = 100.0 if spec.percent else 1.0
    cal = {"x1": {"px": x0, "py": y0, "value": 0.0}, "x2": {"px": xm, "py": y0, "value": xmax},
           "y1": {"px": x0, "py": y0, "value": 0.0}, "y2": {"px": x0, "py": y1, "value": top},
           "log_x": False, "no_rotation": False}
    ax, bx = sorted((fx(v[4]), fx(v[5])))
    ay, by = sorted((fy(v[6]), fy(v[7])))
    return cal, (int(round(ax)), int(round(ay)), int(round(bx)), int(round(by)))


def _hex_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


_LIBS = "suppressMessages({library(survival); library(survminer); library(grid)})"


def render_r_figures(jobs: list[tuple[pd.DataFrame, RSpec]], root, timeout: float = 600.0
                     ) -> list[RFigure]:
    """Draw each (IPD, spec) into ``root/NNN/`` with one R process; returns the figures.

    IPD columns ``arm, time, event`` (arms in the order of ``spec.names``). Raises
    :class:`RUnavailable` when R or its packages are missing or R fails.
    """
    exe = shutil.which("Rscript")
    if not exe:
        raise RUnavailable("Rscript not found (Debian: r-base-core r-cran-survival r-cran-survminer "
                           "r-cran-ggplot2 fonts-urw-base35)")
    bad = sorted({s.device for _, s in jobs} - set(DEVICES))
    if bad:
        raise ValueError(f"RSpec.device must be one of {DEVICES}, not {bad}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    parts = [_LIBS]
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
        (d / "render.R").write_text(_LIBS + "\n" + code)
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
        cal, area = _calibration(d / "coords.txt", spec, xmax)
        tab = pd.read_csv(d / "risk_printed.csv")
        risk = None
        if spec.risk_table:
            times = np.array(sorted(tab["time"].unique()), float)
            risk = RiskTable(times, {a: tab.loc[tab["arm"] == a, "n_risk"].to_numpy(float)
                                     for a in arms})
        truth = RTruth(ipd, spec, risk, cal, (0.0, xmax), arms,
                       {a: _hex_rgb(spec.colours[k]) for k, a in enumerate(arms)}, area)
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
    area = t.get("plot_area")
    truth = RTruth(ipd, spec, risk, t["calibration"], tuple(t["x_range"]), list(t["arms"]),
                   {a: tuple(c) for a, c in t["colors"].items()}, None if area is None else tuple(area))
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


# ---------------------------------------------------------------------------------------------
# named styles (the vector benchmark's five R PDF styles) as specs

#: the R PDF styles of benchmarks/bench_vector.py and tests/test_vector_pdf.py
PDF_STYLES = ("survminer", "survminer_percent", "survminer_ci", "base", "base_ci")
#: base R's colours there (red, blue, darkgreen, orange, purple, black) as hex
_BASE_COLS = ["#FF0000", "#0000FF", "#006400", "#FFA500", "#A020F0", "#000000"]


def nice_step(t_max: float) -> float:
    """A tick step giving 4-8 ticks, as R's pretty() would (1, 2, 2.5 or 5 times a power of 10)."""
    raw = t_max / 6.0
    p = 10.0 ** np.floor(np.log10(raw))
    return float(min((m * p for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(t_max / s - 6)))


def pdf_style_spec(style: str, names: list[str], break_time_by: float, device: str = "pdf") -> RSpec:
    """The spec of one of :data:`PDF_STYLES` (7 x 7 in survminer, 7 x 5 in base R at 100 dpi):

    - ``survminer``: ggsurvplot defaults (hue palette, legend on top) with its risk table;
    - ``survminer_percent``: the same on a percent survival axis;
    - ``survminer_ci``: confidence bands, '|' marks, dashed strata and a risk table coloured by
      stratum without row labels (the names are printed only in the legend);
    - ``base``: ``plot(survfit)`` in red/blue/... with a legend, labels parallel to the axes;
    - ``base_ci``: the same with confidence limits in each arm's line type, labels horizontal.
    """
    if style not in PDF_STYLES:
        raise ValueError(f"style must be one of {PDF_STYLES}, not {style!r}")
    n = len(names)
    if style.startswith("base"):
        ci = style == "base_ci"
        return RSpec(engine="base", names=list(names), colours=_BASE_COLS[:n],
                     linetypes=list(range(1, n + 1)) if ci else [1] * n, legend="topright",
                     risk_table=False, conf_int=ci, censor="+", break_time_by=break_time_by,
                     lwd=1.0, width=700, height=500, res=100, base_axis="boxed" if ci else "default",
                     device=device)
    ci = style == "survminer_ci"
    cols = PALETTES["hue3"] if n == 3 else PALETTES["hue"]
    return RSpec(engine="survminer", names=list(names), colours=cols[:n],
                 linetypes=list(range(1, n + 1)) if ci else [1] * n, legend="top", risk_table=True,
                 risk_table_col=ci, tables_y_text=not ci, conf_int=ci, censor="|" if ci else "+",
                 percent=style == "survminer_percent", break_time_by=break_time_by, theme="survminer",
                 lwd=1.0, width=700, height=700, res=100, device=device)
