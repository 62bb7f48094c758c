"""Regenerate the bundled example figure (python resources/example_figure/make_figure.py).

Renders the two-arm trial of ``resources/example`` (same simulated IPD, ``truth_ipd.csv``) as
a published-style KM figure: legend, "+" censor marks, light grid, and a number-at-risk table
every 12 months under the plot. Writes figure.png and, for checking, truth.json (exact
calibration, colours, risk table), ipd.csv, curves.csv and risk.csv. Times are in months.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulate.figure import FigureStyle, render_figure

HERE = Path(__file__).resolve().parent
TRUTH_IPD = HERE.parent / "example" / "truth_ipd.csv"


def make(directory: Path = HERE) -> None:
    ipd = pd.read_csv(TRUTH_IPD)
    style = FigureStyle(
        dpi=150, arm_names=("Control", "Treatment"), colors=("#1f77b4", "#d62728"),
        censor_mark="+", grid=True, legend_loc="upper right", risk_table=True,
        x_max=48, x_step=12, time_unit="months", seed=2012,
    )
    fig = render_figure(ipd, style, risk_times=np.arange(0, 49, 12))
    fig.save(directory)


if __name__ == "__main__":
    make()
    print(f"wrote figure.png and its truth files in {HERE}")
