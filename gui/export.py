"""File exports of the GUI that have no home in ``reconstruct.io`` (no Qt here).

- :func:`write_points_csv`: the digitized curve points and censor marks in data units.
- :func:`plot_km_with_risk`: the reconstructed KM curves with a number-at-risk table under them
  (matplotlib; PNG, SVG or PDF by suffix), the usual way a trial reports survival.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kmrecon.errors import KMReconError
from kmrecon.jsonio import atomic_path


def _atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_points_csv(arms, path) -> None:
    """CSV with columns arm, kind ('curve' | 'censor'), time, survival (data units, S in 0-1)
    from a list of :class:`kmrecon.data.ArmData`; readable by ``reconstruct.io.read_curve_csv``
    after filtering kind == 'curve'."""
    df = points_table(arms)
    path = Path(path)
    _atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))


def points_table(arms) -> pd.DataFrame:
    """The digitized points of ArmData as a table (see :func:`write_points_csv`)."""
    rows = []
    for a in arms:
        for t, s in zip(a.time, a.survival):
            rows.append((a.name, "curve", float(t), float(s)))
        for t in a.censor_times:
            s = float(np.interp(t, a.time, a.survival)) if len(a.time) else np.nan
            rows.append((a.name, "censor", float(t), s))
    return pd.DataFrame(rows, columns=["arm", "kind", "time", "survival"])


def plot_km_with_risk(ipd: pd.DataFrame, path, *, colors: dict[str, tuple[int, int, int]] | None = None,
                      risk_times=None, time_unit: str = "", title: str = "") -> None:
    """KM curves of ``ipd`` (arm, time, event) with censor ticks and a number-at-risk table.

    ``risk_times`` (x-axis units) default to round values across follow-up. Format from the
    suffix: .png (150 dpi), .svg or .pdf.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from gui.summary import km_step

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise KMReconError(f"KM plot: use a .png, .svg or .pdf file name (got '{path.name}')")
    if ipd is None or ipd.empty:
        raise KMReconError("nothing to plot: reconstruct first")
    arms = list(dict.fromkeys(ipd["arm"].astype(str)))
    t_max = float(ipd["time"].max())
    if risk_times is None or len(risk_times) == 0:
        risk_times = MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]).tick_values(0, t_max)
        risk_times = [t for t in risk_times if 0 <= t <= t_max * 1.001]
    risk_times = np.asarray(risk_times, float)
    fig = Figure(figsize=(7.5, 5.2 + 0.25 * len(arms)))
    gs = fig.add_gridspec(2, 1, height_ratios=[4, 0.45 + 0.3 * len(arms)], hspace=0.35)
    ax = fig.add_subplot(gs[0])
    tab = fig.add_subplot(gs[1], sharex=ax)
    for k, arm in enumerate(arms):
        sub = ipd[ipd["arm"].astype(str) == arm]
        t, s = km_step(sub["time"], sub["event"])
        c = tuple(v / 255 for v in colors[arm]) if colors and arm in colors else f"C{k}"
        ax.step(t, s, where="post", color=c, lw=1.6, label=f"{arm} (n={len(sub)})")
        ct = np.sort(sub.loc[sub["event"] == 0, "time"].to_numpy(float))
        if ct.size:
            cs = s[np.searchsorted(t, ct, side="right") - 1]
            ax.plot(ct, cs, "|", color=c, ms=6, mew=1)
        n_risk = ((sub["time"].to_numpy(float)[None, :] >= risk_times[:, None]).sum(axis=1))
        for x, n in zip(risk_times, n_risk):
            tab.text(x, len(arms) - 1 - k, str(int(n)), ha="center", va="center", fontsize=8, color=c)
    ax.set_ylim(0, 1.02)
    x_hi = max(t_max, risk_times.max() if risk_times.size else 0)
    ax.set_xlim(-0.04 * x_hi, x_hi * 1.03)    # room for the counts at time 0 right of the row labels
    ax.set_ylabel("Survival probability")
    ax.legend(loc="upper right", frameon=False, fontsize=9)
    ax.grid(alpha=0.25)
    if title:
        ax.set_title(title, fontsize=10)
    ax.set_xticks(risk_times)
    tab.set_ylim(-0.6, len(arms) - 0.4)
    tab.set_yticks(range(len(arms)), [a for a in reversed(arms)], fontsize=8)
    ax.set_xlabel(f"Time ({time_unit})" if time_unit else "Time")
    tab.set_title("Number at risk", fontsize=8, loc="left")
    for side in ("top", "right", "left", "bottom"):
        tab.spines[side].set_visible(False)
    tab.tick_params(axis="y", length=0, pad=10)
    # the counts sit under the KM axis' own ticks: no second time axis under the table
    tab.tick_params(axis="x", bottom=False, labelbottom=False)
    for k, lab in enumerate(reversed(tab.get_yticklabels())):
        arm = arms[k]
        lab.set_color(tuple(v / 255 for v in colors[arm]) if colors and arm in colors else f"C{k}")
    plt_args = {"dpi": 150} if path.suffix.lower() == ".png" else {}
    _atomic(path, lambda tmp: fig.savefig(tmp, format=path.suffix[1:].lower(), bbox_inches="tight", **plt_args))
