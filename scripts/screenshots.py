"""Save screenshots of the app's main states: empty, calibrated, traced, reconstructed
(plus the exported KM plot).

    python3 scripts/screenshots.py OUT_DIR [--seed N] [--size 1400x900]

Renders a two-arm synthetic KM figure (simulate.figure), then drives the real window:
calibration from the figure's exact tick pixels, arm colours, Detect, risk table,
Reconstruct; each state is grabbed to OUT_DIR/<n>_<state>.png. Runs offscreen.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--size", default="1400x900")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pandas as pd
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.panels import add_arm, rename_arm
    from simulate.figure import render_figure
    from simulate.ipd import simulate_arm
    from simulate.styles import FigureStyle

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w_px, h_px = (int(v) for v in args.size.lower().split("x"))
    app = QApplication.instance() or QApplication([])
    tmp_dir = tempfile.TemporaryDirectory(prefix="kmrecon-shots-")
    tmp = tmp_dir.name

    def settle(cond=lambda: True, timeout=60.0):
        t0 = time.time()
        while not cond() and time.time() - t0 < timeout:
            app.processEvents()
            time.sleep(0.01)
        for _ in range(5):
            app.processEvents()

    def shot(name):
        settle()
        path = out / name
        win.grab().save(str(path))
        print(path)

    rng = np.random.default_rng(args.seed)
    a = simulate_arm(180, rng, median=14.0); a["arm"] = "Placebo"
    b = simulate_arm(180, rng, median=26.0); b["arm"] = "Drug"
    ipd = pd.concat([a, b], ignore_index=True)
    fig = render_figure(ipd, FigureStyle(arm_names=("Placebo", "Drug"), censor_mark="|", risk_table=True,
                                         legend_loc="upper right"))
    img_path = fig.save(tmp)["image"]

    win = MainWindow(settings_path=os.path.join(tmp, "s.ini"), recovery_dir=tmp, auto_propose=False)
    win.confirm_discard = lambda: "discard"
    win.resize(w_px, h_px)
    win.show()
    shot("1_empty.png")

    win.open_file(str(img_path))
    settle(lambda: win.doc.image is not None and not win.busy)
    cal = {k: (dict(v) if isinstance(v, dict) else v) for k, v in fig.truth.calibration.items()}
    win.doc.edit({"calibration": cal}, "Calibrate")
    win.set_tool("edit")
    shot("2_calibrated.png")

    for k, arm in enumerate(fig.truth.arms):
        i = add_arm(win.doc, rgb=fig.truth.colors[arm])
        rename_arm(win.doc, i, arm)
    win.arm_panel.select_row(0)
    win.detect()
    settle(lambda: "detect" not in win.busy)
    rt = fig.truth.risk_table
    text = "Time " + " ".join(f"{t:g}" for t in rt.times) + "\n" + "\n".join(
        arm + " " + " ".join(f"{v:g}" for v in rt.n_risk[arm]) for arm in fig.truth.arms)
    win.risk_model.paste(text, 0, 0)
    win.tabs.setCurrentIndex(0)
    # zoom on the middle of the plot so the traced steps and markers are visible
    while not win.view.markers_visible():
        win.view.zoom(1.25)
    x0, y0, x1, y1 = fig.truth.plot_area
    win.view.centerOn(x0 + 0.3 * (x1 - x0), (y0 + y1) / 2)
    shot("3_traced.png")

    win.view.fit()
    win.reconstruct()
    settle(lambda: "reconstruct" not in win.busy and win.doc.current_ipd() is not None)
    shot("4_reconstructed.png")
    win.export("plot", str(out / "5_exported_km_plot.png"))   # the KM plot export, for a look
    print(out / "5_exported_km_plot.png")
    for kind, title, msg in win.messages:
        print("message:", kind, title, msg[:200])
    win.close()
    tmp_dir.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
