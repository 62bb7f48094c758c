"""Vector PDF figures with known IPD: matplotlib (``simulate.figure.render_pdf``) and R.

R-written PDFs are the ones most published KM figures come from: survminer ``ggsurvplot`` with
its number-at-risk table (printed by the ``pdf()`` device, which leaves survminer's blank first
page in place), the same on a percent survival axis, the same with confidence bands, '|' marks,
dashed strata and a risk table coloured by stratum without row labels ("survminer_ci"), and
base R ``plot(survfit)`` with a legend, also with confidence limits drawn in each arm's line
("base_ci", survival labels horizontal).
They need ``Rscript`` with the survival and survminer packages; :func:`have_r` says whether
they can be made here.

Typical use::

    ipd, style = random_case(np.random.default_rng(0), "typical")
    write_r_pdf(ipd, "survminer", "fig.pdf", time_step=12)   # -> RPdfTruth
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulate.figure import render_pdf  # noqa: F401  (the matplotlib writer, re-exported)

R_STYLES = ("survminer", "survminer_percent", "survminer_ci", "base", "base_ci")

_R_SCRIPT = r"""
args <- commandArgs(TRUE)
csv <- args[1]; out <- args[2]; style <- args[3]; step <- as.numeric(args[4])
suppressMessages({library(survival); library(survminer)})
d <- read.csv(csv, stringsAsFactors = FALSE, check.names = FALSE)
arms <- unique(d$arm)
d$arm <- factor(d$arm, levels = arms)
fit <- survfit(Surv(time, event) ~ arm, data = d)
if (startsWith(style, "base")) {
  cols <- c("red", "blue", "darkgreen", "orange", "purple", "black")[seq_along(arms)]
  ci <- style == "base_ci"
  ltys <- if (ci) seq_along(arms) else rep(1, length(arms))
  pdf(out, width = 7, height = 5)
  plot(fit, col = cols, lty = ltys, conf.int = ci, mark.time = TRUE, xlab = "Time (months)",
       ylab = "Survival probability", xaxt = "n", las = if (ci) 1 else 0,
       xlim = c(0, step * ceiling(max(d$time) / step)))
  axis(1, at = seq(0, step * ceiling(max(d$time) / step), by = step))
  legend("topright", legend = arms, col = cols, lty = ltys)
  invisible(dev.off())
} else {
  ci <- style == "survminer_ci"
  p <- ggsurvplot(fit, data = d, risk.table = TRUE, legend.labs = arms, break.time.by = step,
                  xlim = c(0, step * ceiling(max(d$time) / step)),
                  surv.scale = if (style == "survminer_percent") "percent" else "default",
                  conf.int = ci, censor.shape = if (ci) "|" else "+",
                  linetype = if (ci) "strata" else 1,
                  risk.table.col = if (ci) "strata" else "black",
                  tables.y.text = !ci, xlab = "Time (months)")
  pdf(out, width = 7, height = 7)
  print(p)
  invisible(dev.off())
}
"""


@dataclass
class RPdfTruth:
    """What an R-written PDF shows: the IPD (arm, time, event), arm names in legend order and
    the risk-table times survminer prints (every ``time_step``; None for base R)."""

    ipd: pd.DataFrame
    arms: list[str]
    style: str
    time_step: float
    risk_times: np.ndarray | None

    def km(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        from simulate.ipd import km_corners

        g = self.ipd[self.ipd["arm"] == arm]
        return km_corners(g["time"].to_numpy(float), g["event"].to_numpy(int))

    def n_risk(self, arm: str, times) -> np.ndarray:
        from simulate.ipd import number_at_risk

        g = self.ipd[self.ipd["arm"] == arm]
        return number_at_risk(g["time"].to_numpy(float), np.asarray(times, float))

    @property
    def t_max(self) -> float:
        return float(self.time_step * np.ceil(self.ipd["time"].max() / self.time_step))


def have_r() -> bool:
    """Rscript on the PATH with survival and survminer installed."""
    if shutil.which("Rscript") is None:
        return False
    try:
        r = subprocess.run(["Rscript", "-e", "suppressMessages({library(survival); library(survminer)})"],
                           capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def nice_step(t_max: float) -> float:
    """A tick step giving 4-8 ticks, as R's pretty() would (1, 2, 2.5 or 5 times a power of 10)."""
    raw = t_max / 6.0
    p = 10.0 ** np.floor(np.log10(raw))
    return float(min((m * p for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(t_max / s - 6)))


def write_r_pdf(ipd: pd.DataFrame, style: str, path, time_step: float | None = None,
                timeout: float = 180) -> RPdfTruth:
    """Write ``ipd`` (arm, time, event) as an R PDF in ``style`` (one of :data:`R_STYLES`).
    Times are rounded to 4 decimals (what R reads back from the CSV)."""
    if style not in R_STYLES:
        raise ValueError(f"style must be one of {R_STYLES}, not {style!r}")
    d = ipd[["arm", "time", "event"]].copy()
    d["time"] = d["time"].astype(float).round(4)
    d["event"] = d["event"].astype(int)
    step = float(time_step) if time_step else nice_step(float(d["time"].max()))
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "ipd.csv", Path(tmp) / "fig.R"
        d.to_csv(csv, index=False)
        script.write_text(_R_SCRIPT)
        r = subprocess.run(["Rscript", str(script), str(csv), str(path), style, repr(step)],
                           capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not path.exists():
        raise RuntimeError(f"Rscript failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    arms = list(dict.fromkeys(d["arm"]))
    t_end = step * np.ceil(d["time"].max() / step)
    risk = None if style.startswith("base") else np.round(np.arange(0, t_end + step / 2, step), 10)
    return RPdfTruth(d, arms, style, step, risk)
