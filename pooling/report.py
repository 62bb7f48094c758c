"""Write a pooling run to disk: CSV tables, one XLSX workbook and PNG figures.

Files (in the output folder): pooled.csv, per_study.csv, subgroup_tests.csv, sensitivity.csv,
hazard_ratio.csv (two-arm IPD studies only), pooled_km_risk.csv (IPD studies only),
notes.txt, pooling_results.xlsx (one sheet per table plus settings) and the figures as PNG
(forest_S(12).png ... forest_median.png, survival_by_subgroup.png, pooled_km.png).
Every file is written to a temporary name in the same folder; all are moved into place together.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kmrecon.errors import KMReconError
from kmrecon.jsonio import atomic_path


def _atomic(path: Path, write) -> Path:  # kept for callers writing one file
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def safe_name(measure: str) -> str:
    """File-name-safe form of a measure, e.g. 'S(12)' -> 'S12'."""
    return "".join(ch for ch in measure if ch.isalnum() or ch in "._-")


def tables(result) -> dict[str, pd.DataFrame]:
    """name -> DataFrame of everything tabular in a PoolResult."""
    out = {
        "pooled": result.table,
        "per_study": result.per_study,
        "subgroup_tests": result.subgroup_tests,
        "sensitivity": result.sensitivity,
    }
    if not result.hr.empty:
        out["hazard_ratio"] = result.hr
    if result.km is not None:
        out["pooled_km_risk"] = result.km.risk_table.rename_axis("group").reset_index()
    return out


def write_outputs(result, out_dir, figures: bool = True, inputs=()) -> dict[str, Path]:
    """Write tables (CSV + one XLSX) and, if ``figures``, PNGs; returns name -> path.

    The files are a set: all are written to temporary names first and renamed only when every
    one is complete, so a full disk leaves the previous run's files as they were. ``inputs``
    (the study table, IPD files) are never overwritten: naming one of them is refused."""
    from kmrecon.jsonio import atomic_paths, check_outputs

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise KMReconError(f"--out {out}: a file of that name exists; give a folder for the results")
    tabs = tables(result)
    settings = pd.DataFrame({"setting": list(result.settings), "value": [str(v) for v in result.settings.values()]})
    figs = {}
    if figures:
        figs = result.figures()
    writers: dict[str, tuple[Path, object]] = {}
    for name, df in tabs.items():
        writers[name] = (out / f"{name}.csv", lambda p, df=df: df.to_csv(p, index=False))

    def write_xlsx(p):
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            for name, df in tabs.items():
                df.to_excel(xw, sheet_name=name[:31], index=False)
            settings.to_excel(xw, sheet_name="settings", index=False)
            pd.DataFrame({"note": result.notes}).to_excel(xw, sheet_name="notes", index=False)

    writers["xlsx"] = (out / "pooling_results.xlsx", write_xlsx)
    writers["notes"] = (out / "notes.txt", lambda p: Path(p).write_text("\n".join(result.notes) + "\n", encoding="utf-8"))
    for name, fig in figs.items():
        writers[name] = (out / f"{safe_name(name)}.png", lambda p, fig=fig: fig.savefig(p, dpi=110, format="png"))
    try:
        check_outputs([p for p, _ in writers.values()], inputs)
        with atomic_paths([p for p, _ in writers.values()]) as tmps:
            for (path, write), tmp in zip(writers.values(), tmps):
                write(tmp)
    finally:
        if figs:
            import matplotlib.pyplot as plt

            for fig in figs.values():
                plt.close(fig)
    return {name: path for name, (path, _) in writers.items()}
