"""Figures of a pooling run (matplotlib; no pyplot state kept).

* :func:`forest_plot`: one measure; studies grouped by subgroup, squares sized by weight in the
  overall model, 95 % CIs, a diamond per subgroup and overall, the heterogeneity line, all on
  the back-transformed scale (survival probability, or time for the median).
* :func:`survival_by_subgroup`: pooled S(t) with CIs over the landmark times, one line per
  subgroup and overall ("pooled overall survival by site").
* :func:`pooled_km_figure`: KM curves of the combined IPD with a number-at-risk table.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from pooling.km import n_at_risk
from pooling.pooled_km import km_step

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _group_colors(result) -> dict[str, str]:
    """One colour per subgroup, in study-table order, shared by all figures; black for 'all'."""
    subs = [g for g in dict.fromkeys(result.per_study["subgroup"])]
    colors = {g: _COLORS[i % len(_COLORS)] for i, g in enumerate(subs)}
    colors["all"] = "black"
    return colors


def _unit(result) -> str:
    """The pooling time unit for axis labels ('study time units' when no study gave one)."""
    return (getattr(result, "settings", None) or {}).get("unit") or "study time units"


def _fmt(measure: str, x: float) -> str:
    if not np.isfinite(x):
        return "NR"
    return f"{x:.1f}" if measure == "median" else f"{x:.3f}"


def _het_text(row) -> str:
    txt = f"τ² = {row['tau2']:.3g}, I² = {row['i2']:.0f}%"
    if np.isfinite(row["q"]) and row["k"] > 1:
        txt += f", Q = {row['q']:.2f} (p = {row['q_p']:.3g})"
    return txt


def forest_plot(result, measure: str) -> Figure:
    """Forest plot of one measure (``'S(12)'`` or ``'median'``) from a PoolResult."""
    ps = result.per_study[result.per_study["measure"] == measure]
    ps = ps[np.isfinite(ps["estimate"].astype(float))]
    table = result.table[result.table["measure"] == measure].set_index("subgroup")
    subgroups = [s for s in table.index if s != "all"]
    lines = []  # (kind, label, payload)
    for sub in subgroups:
        rows = ps[ps["subgroup"] == sub]
        if len(subgroups) > 1:
            lines.append(("header", sub, None))
        for r in rows.itertuples():
            lines.append(("study", f"{r.study} ({r.arm})" if r.arm else str(r.study), r))
        if len(subgroups) > 1:
            lines.append(("diamond", f"Subgroup {sub} (k={int(table.loc[sub, 'k'])})", table.loc[sub]))
    lines.append(("diamond", f"Overall (k={int(table.loc['all', 'k'])})", table.loc["all"]))

    n = len(lines)
    height = 1.6 + 0.32 * n  # inches: 0.95 below the axes (xlabel, heterogeneity), 0.55 above
    fig = Figure(figsize=(9.5, height))
    ax = fig.add_axes([0.25, 0.95 / height, 0.45, 1 - 1.5 / height])
    wmax = float(np.nanmax(ps["weight"])) if ps["weight"].notna().any() else 1.0
    xs = []
    for i, (kind, label, payload) in enumerate(lines):
        y = n - i
        ax.text(-0.02, y, label, transform=ax.get_yaxis_transform(), ha="right", va="center",
                fontsize=8.5, fontweight="bold" if kind in ("header", "diamond") else "normal",
                style="italic" if kind == "het" else "normal")
        if kind == "study":
            r = payload
            lo, hi = float(r.ci_low), float(r.ci_high)
            ax.plot([lo, hi], [y, y], color="black", lw=1)
            w = float(r.weight) if np.isfinite(r.weight) else 0.0
            size = 4 + 10 * np.sqrt(w / wmax) if wmax > 0 else 4
            ax.plot([r.estimate], [y], "s", color="#333333", markersize=size,
                    markerfacecolor="#4a6fa5" if not r.range_derived else "#e0a030")
            txt = f"{_fmt(measure, r.estimate)} [{_fmt(measure, lo)}, {_fmt(measure, hi)}]"
            wt = f"{w:.1f}%" if w > 0 else "—"
            xs += [lo, hi, r.estimate]
        elif kind == "diamond":
            est, lo, hi = float(payload["estimate"]), float(payload["ci_low"]), float(payload["ci_high"])
            color = "#b22222" if label.startswith("Overall") else "#555555"
            ax.add_patch(Polygon([[lo, y], [est, y + 0.3], [hi, y], [est, y - 0.3]], closed=True, color=color))
            if np.isfinite(payload["pi_low"]):
                ax.plot([payload["pi_low"], payload["pi_high"]], [y, y], color=color, lw=0.8, ls=":")
            txt = f"{_fmt(measure, est)} [{_fmt(measure, lo)}, {_fmt(measure, hi)}]"
            wt = ""
            xs += [lo, hi]
        else:
            continue
        ax.text(1.03, y, txt, transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=8.5)
        ax.text(1.64, y, wt, transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=8.5)
    fig.text(0.01, 0.12 / height, "Overall heterogeneity: " + _het_text(table.loc["all"]), fontsize=8.5, style="italic")
    ax.text(1.03, n + 0.9, "Estimate [95% CI]", transform=ax.get_yaxis_transform(), fontsize=8.5, fontweight="bold")
    ax.text(1.64, n + 0.9, "Weight", transform=ax.get_yaxis_transform(), ha="right", fontsize=8.5, fontweight="bold")
    overall = float(table.loc["all", "estimate"])
    ax.axvline(overall, color="#b22222", lw=0.8, ls="--")
    xs = np.asarray([x for x in xs if np.isfinite(x)])
    lo, hi = (xs.min(), xs.max()) if xs.size else (0, 1)
    pad = 0.05 * (hi - lo or 1)
    if measure != "median":
        ax.set_xlim(max(0.0, lo - pad), min(1.0, hi + pad))
        ax.set_xlabel(f"Survival probability {measure}")
    else:
        ax.set_xlim(max(0.0, lo - pad), hi + pad)
        ax.set_xlabel(f"Median survival ({_unit(result)})")
    ax.set_ylim(0.4, n + 1.3)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    s = result.settings
    fig.suptitle(f"{measure}: {s['method'].upper()}{' + HK' if s['hk'] else ''} random effects"
                 + (f", {s['scale']} scale" if measure != "median" else f", {s['median_scale']} scale"),
                 fontsize=10, x=0.02, ha="left")
    return fig


def survival_by_subgroup(result) -> Figure | None:
    """Pooled S(t) ± 95 % CI at the landmark times, one line per subgroup and overall."""
    tab = result.table[result.table["measure"] != "median"].copy()
    if tab.empty:
        return None
    tab["t"] = tab["measure"].str.slice(2, -1).astype(float)
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot(111)
    groups = [g for g in dict.fromkeys(tab["subgroup"]) if g != "all"] + ["all"]
    colors = _group_colors(result)
    span = tab["t"].max()
    for i, g in enumerate(groups):
        part = tab[tab["subgroup"] == g].sort_values("t")
        off = (i - (len(groups) - 1) / 2) * 0.006 * span  # keep error bars apart
        color = colors.get(g, "grey")
        t = np.concatenate([[0.0], part["t"] + off])
        s = np.concatenate([[1.0], part["estimate"]])
        kmin, kmax = int(part["k"].min()), int(part["k"].max())
        ax.plot(t, s, "-o", color=color, lw=2.2 if g == "all" else 1.4, ms=4,
                label=f"{'Overall' if g == 'all' else g} (k={kmax if kmin == kmax else f'{kmin}-{kmax}'})")
        ax.errorbar(part["t"] + off, part["estimate"], yerr=[part["estimate"] - part["ci_low"],
                    part["ci_high"] - part["estimate"]], fmt="none", ecolor=color, capsize=3, lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, span * 1.05)
    ax.set_xlabel(f"Time ({_unit(result)})")
    ax.set_ylabel("Pooled survival probability")
    ax.set_title("Pooled overall survival by subgroup (95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def pooled_km_figure(result, conf_type: str = "log-log") -> Figure | None:
    """KM of the combined IPD (overall and per subgroup) with a number-at-risk table."""
    km = result.km
    if km is None:
        return None
    colors = _group_colors(result)
    groups = [g for g in colors if g in km.curves and g != "all"] + ["all"]
    fig = Figure(figsize=(8, 5.2 + 0.22 * len(groups)))
    table_h = 0.05 * (len(groups) + 1)
    ax = fig.add_axes([0.16, 0.12 + table_h + 0.06, 0.8, 0.78 - table_h - 0.06])
    tmax = max(c.t_max for c in km.curves.values())
    for i, g in enumerate(groups):
        t, s, lo, hi = km_step(km.curves[g], conf_type)
        color = colors[g]
        ax.step(t, s, where="post", color=color, lw=2 if g == "all" else 1.3,
                label=f"{'All' if g == 'all' else g} (n={km.curves[g].n})")
        if g == "all":
            ax.fill_between(t, lo, hi, step="post", color="grey", alpha=0.2, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, tmax)
    ax.set_ylabel("Survival probability")
    ax.set_title("Pooled KM of the combined IPD")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel(f"Time ({_unit(result)})")
    times = [t for t in ax.get_xticks() if 0 <= t <= tmax]
    rax = fig.add_axes([0.16, 0.04, 0.8, table_h], sharex=None)
    rax.set_xlim(ax.get_xlim())
    rax.set_ylim(-0.5, len(groups) - 0.5)
    rax.axis("off")
    for i, g in enumerate(groups):
        y = len(groups) - 1 - i
        color = colors[g]
        rax.text(-0.05, y, "All" if g == "all" else g, transform=rax.get_yaxis_transform(), ha="right",
                 va="center", fontsize=8, color=color)
        for t in times:
            rax.text(t, y, str(n_at_risk(km.curves[g], t)), ha="center", va="center", fontsize=8)
    rax.text(-0.05, len(groups) - 0.1, "At risk", transform=rax.get_yaxis_transform(), ha="right",
             va="bottom", fontsize=8, fontweight="bold")
    return fig


def all_figures(result) -> dict[str, Figure]:
    """survival_by_subgroup, forest_<measure> for each pooled measure, pooled_km (when available)."""
    figs = {}
    sbs = survival_by_subgroup(result)
    if sbs is not None:
        figs["survival_by_subgroup"] = sbs
    figs.update({f"forest_{m}": forest_plot(result, m) for m in result.measures})
    km = pooled_km_figure(result, result.settings.get("conf_type", "log-log"))
    if km is not None:
        figs["pooled_km"] = km
    return figs
