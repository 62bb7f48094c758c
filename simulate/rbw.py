"""Black-and-white KM figures rendered by R (base ``plot(survfit)`` or survminer ``ggsurvplot``)
from known IPD, with the exact calibration R used: arms told apart only by line type.

Needs ``Rscript`` with the survival package (survminer for ``kind="survminer"``);
:func:`have_r` says whether it is there. Pixel convention (as ``digitize``): x right, y down,
origin top-left, the centre of the pixel in column c, row r at (c, r).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: R line types by our style names
R_LTY = {"solid": 1, "dashed": 2, "dotted": 3, "dashdot": 4}

_BASE = r"""
library(survival)
a <- commandArgs(TRUE)
d <- read.csv(a[1]); d$arm <- factor(d$arm, levels=strsplit(a[3], "\t")[[1]])
lty <- as.integer(strsplit(a[4], ",")[[1]]); col <- strsplit(a[5], ",")[[1]]
W <- as.integer(a[6]); H <- as.integer(a[7]); R <- as.integer(a[8]); xmax <- as.numeric(a[9])
lwd <- as.numeric(a[10])
risk <- a[11] == "1"; las <- as.integer(a[12])
fit <- survfit(Surv(time, event) ~ arm, data=d)
png(a[2], width=W, height=H, res=R)
if (risk) par(mar=c(4 + 1.2 * nlevels(d$arm) + 1, 7, 2, 2))
plot(fit, lty=lty, col=col, lwd=lwd, mark.time=TRUE, xlab="", ylab="Survival probability",
     xlim=c(0, xmax), xaxs="i", las=las, xaxt="n")
times <- seq(0, xmax, by=6)
axis(1, at=times)
title(xlab="Months", line=2.2)
legend("topright", legend=levels(d$arm), lty=lty, col=col, lwd=lwd, bty="n")
if (risk) {
  ss <- summary(fit, times=times, extend=TRUE)
  mtext("Number at risk", side=1, line=3.5, at=0, adj=0, cex=0.85)
  for (i in seq_along(levels(d$arm))) {
    lev <- levels(d$arm)[i]
    n <- ss$n.risk[ss$strata == paste0("arm=", lev)]
    mtext(n, side=1, line=3.5 + 1.2 * i, at=times, cex=0.85)
    mtext(lev, side=1, line=3.5 + 1.2 * i, at=-0.06 * xmax, adj=1, cex=0.85)
  }
}
u <- par("usr")
cat(grconvertX(c(0, xmax), "user", "device"), grconvertY(c(0, 1), "user", "device"),
    grconvertX(u[1:2], "user", "device"), grconvertY(u[3:4], "user", "device"), "\n")
invisible(dev.off())
"""

_SURVMINER = r"""
suppressMessages({library(survival); library(survminer); library(grid)})
a <- commandArgs(TRUE)
d <- read.csv(a[1]); d$arm <- factor(d$arm, levels=strsplit(a[3], "\t")[[1]])
lty <- as.integer(strsplit(a[4], ",")[[1]]); col <- strsplit(a[5], ",")[[1]]
W <- as.integer(a[6]); H <- as.integer(a[7]); R <- as.integer(a[8]); xmax <- as.numeric(a[9])
lwd <- as.numeric(a[10])
fit <- survfit(Surv(time, event) ~ arm, data=d)
risk <- a[11] == "1"
g <- ggsurvplot(fit, data=d, palette=col, linetype="strata", censor.shape="+", size=lwd * 0.5,
                xlim=c(0, xmax), break.time.by=6, legend.labs=levels(d$arm), legend.title="",
                risk.table=risk, tables.height=0.25, risk.table.y.text.col=FALSE)
g$plot <- g$plot + scale_linetype_manual(values=lty, labels=levels(d$arm), name="")
p <- g$plot
png(a[2], width=W, height=H, res=R)
print(if (risk) g else p, newpage=TRUE)
grid.force()
ls_ <- grid.ls(viewports=TRUE, print=FALSE)
sel <- grepl("^panel\\.[0-9]", ls_$name) & ls_$type == "vpListing"
full <- ifelse(ls_$vpPath[sel] == "", ls_$name[sel], paste0(ls_$vpPath[sel], "::", ls_$name[sel]))
full <- unique(sub("^ROOT::", "", full))
go <- function(f) { upViewport(0); downViewport(do.call(vpPath, as.list(strsplit(f, "::")[[1]]))) }
# the survival panel: the tallest one (the risk table's is below it)
hts <- sapply(full, function(f) { go(f); a0 <- deviceLoc(unit(0, "npc"), unit(0, "npc"), valueOnly=TRUE)
  a1 <- deviceLoc(unit(1, "npc"), unit(1, "npc"), valueOnly=TRUE); a1$y - a0$y })
go(full[which.max(hts)])
lim <- ggplot_build(p)$layout$panel_params[[1]]
xr <- lim$x.range; yr <- lim$y.range
p0 <- deviceLoc(unit(0, "npc"), unit(0, "npc"), valueOnly=TRUE)
p1 <- deviceLoc(unit(1, "npc"), unit(1, "npc"), valueOnly=TRUE)
fx <- function(v) (p0$x + (v - xr[1]) / diff(xr) * (p1$x - p0$x)) * R
fy <- function(v) H - (p0$y + (v - yr[1]) / diff(yr) * (p1$y - p0$y)) * R
cat(fx(0), fx(xmax), fy(0), fy(1), p0$x * R, p1$x * R, H - p0$y * R, H - p1$y * R, "\n")
invisible(dev.off())
"""


@dataclass
class RFigure:
    """An R-rendered figure: RGB image, its calibration (``Calibration.to_dict`` format), plot
    area (x0, y0, x1, y1 pixels), arms in order, their line styles and the IPD drawn."""

    image: np.ndarray
    calibration: dict
    plot_area: tuple[int, int, int, int]
    arms: list[str]
    styles: dict[str, str]
    colors: dict[str, tuple[int, int, int]]
    ipd: pd.DataFrame

    def km(self, arm: str):
        from simulate.ipd import km_corners

        g = self.ipd[self.ipd["arm"] == arm]
        return km_corners(g["time"].to_numpy(), g["event"].to_numpy())


def have_r(kind: str = "base") -> bool:
    """Rscript is installed (with survminer, for ``kind="survminer"``)."""
    if shutil.which("Rscript") is None:
        return False
    if kind == "base":
        return True
    r = subprocess.run(["Rscript", "-e", "library(survminer)"], capture_output=True, timeout=120)
    return r.returncode == 0


def render_r(ipd: pd.DataFrame, styles: dict[str, str], *, kind: str = "base", colors: dict[str, str] | None = None,
             width: int = 900, height: int = 650, res: int = 120, lwd: float = 1.0,
             x_max: float | None = None, risk_table: bool = False, las: int = 0) -> RFigure:
    """Render ``ipd`` (arm, time, event) with R; ``styles``: arm -> solid|dashed|dotted|dashdot
    (in drawing order), ``colors``: arm -> R colour (default black). risk_table: numbers at
    risk every 6 time units under the plot (base R: mtext rows; survminer: risk.table=TRUE);
    las: base R's tick-label orientation (0: parallel to the axis, R's default; 1: horizontal)."""
    from PIL import Image

    arms = list(styles)
    colors = colors or {a: "#000000" for a in arms}
    x_max = float(x_max if x_max is not None else np.ceil(ipd["time"].max() / 6.0) * 6.0)
    with tempfile.TemporaryDirectory() as tmp:
        csv, png, script = Path(tmp, "d.csv"), Path(tmp, "f.png"), Path(tmp, "f.R")
        ipd[["arm", "time", "event"]].to_csv(csv, index=False)
        script.write_text(_BASE if kind == "base" else _SURVMINER)
        r = subprocess.run(["Rscript", str(script), str(csv), str(png), "\t".join(arms),
                            ",".join(str(R_LTY[styles[a]]) for a in arms), ",".join(colors[a] for a in arms),
                            str(width), str(height), str(res), str(x_max), str(lwd),
                            "1" if risk_table else "0", str(int(las))],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"Rscript failed: {r.stderr[-2000:]}")
        vals = [float(v) for v in r.stdout.split()[-8:]]
        image = np.asarray(Image.open(png).convert("RGB"))
    # R's device coordinates put pixel edges at integers; ours put pixel centres there
    px0, pxm, py0, py1, ux0, ux1, uy0, uy1 = (v - 0.5 for v in vals)
    cal = {"x1": {"px": px0, "py": py0, "value": 0.0}, "x2": {"px": pxm, "py": py0, "value": x_max},
           "y1": {"px": px0, "py": py0, "value": 0.0}, "y2": {"px": px0, "py": py1, "value": 1.0},
           "log_x": False, "no_rotation": True, "y_percent": False}
    area = (int(round(ux0)), int(round(min(uy0, uy1))), int(round(ux1)), int(round(max(uy0, uy1))))
    rgb = {a: tuple(int(colors[a].lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)) for a in arms}
    return RFigure(image, cal, area, arms, dict(styles), rgb, ipd)
