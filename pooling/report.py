"""Write a pooling run to disk: CSV tables, one XLSX workbook and PNG figures.

Files (in the output folder): pooled.csv, per_study.csv, subgroup_tests.csv, sensitivity.csv,
hazard_ratio.csv (two-arm IPD studies only), pooled_km_risk.csv (IPD studies only),
notes.txt, pooling_results.xlsx (one sheet per table plus settings) and the figures as PNG
(forest_S(12).png ... forest_median.png, survival_by_subgroup.png, pooled_km.png).
Every file is written to a temporary name in the same folder and moved into place.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kmrecon.errors import KMReconError
from kmrecon.jsonio import atomic_path


def _atomic(path: Path, write) -> Path:
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


def write_outputs(result, out_dir, figures: bool = True) -> dict[str, Path]:
    """Write tables (CSV + one XLSX) and, if ``figures``, PNGs; returns name -> path."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KMReconError(f"cannot create the output folder {out}: {exc}") from exc
    written: dict[str, Path] = {}
    tabs = tables(result)
    for name, df in tabs.items():
        written[name] = _atomic(out / f"{name}.csv", lambda p, df=df: df.to_csv(p, index=False))
    settings = pd.DataFrame({"setting": list(result.settings), "value": [str(v) for v in result.settings.values()]})

    def write_xlsx(p):
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            for name, df in tabs.items():
                df.to_excel(xw, sheet_name=name[:31], index=False)
            settings.to_excel(xw, sheet_name="settings", index=False)
            pd.DataFrame({"note": result.notes}).to_excel(xw, sheet_name="notes", index=False)

    written["xlsx"] = _atomic(out / "pooling_results.xlsx", write_xlsx)
    written["notes"] = _atomic(out / "notes.txt", lambda p: Path(p).write_text("\n".join(result.notes) + "\n"))
    if figures:
        import matplotlib.pyplot as plt

        for name, fig in result.figures().items():
            written[name] = _atomic(out / f"{safe_name(name)}.png", lambda p, fig=fig: fig.savefig(p, dpi=110, format="png"))
            plt.close(fig)
    return written
