"""Does the window stay responsive while a 4000x3000 figure opens and its curves are detected?

    python3 benchmarks/gui_responsiveness.py [--width 4000 --height 3000]

Renders a two-arm KM figure at 4000x3000 px, then in the real MainWindow (offscreen):
open the file (decoded + hashed in a worker), calibrate, add arms, Detect (extract_arms in a
worker). A 10 ms QTimer counts event-loop ticks during each phase; printed: wall time, ticks
seen vs the ideal count, and the longest gap between ticks (the worst UI freeze).
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
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pandas as pd
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.panels import add_arm
    from simulate.figure import render_figure
    from simulate.ipd import simulate_arm
    from simulate.styles import FigureStyle

    rng = np.random.default_rng(0)
    a = simulate_arm(300, rng, median=12.0); a["arm"] = "A"
    b = simulate_arm(300, rng, median=20.0); b["arm"] = "B"
    dpi = 400.0                      # the generator's limit is 600 dpi: use a larger canvas
    width_in = args.width / dpi
    t0 = time.perf_counter()
    fig = render_figure(pd.concat([a, b], ignore_index=True),
                        FigureStyle(arm_names=("A", "B"), dpi=int(dpi), width_in=width_in,
                                    height_in=width_in * args.height / args.width, font_size_pt=14, censor_mark="+",
                                    line_width_px=max(1.5, dpi / 100)))
    tmp_dir = tempfile.TemporaryDirectory(prefix="kmrecon-bench-")
    tmp = tmp_dir.name
    path = fig.save(tmp)["image"]
    print(f"figure {fig.image.shape[1]}x{fig.image.shape[0]} px rendered in {time.perf_counter() - t0:.1f} s")

    app = QApplication.instance() or QApplication([])
    win = MainWindow(settings_path=os.path.join(tmp, "s.ini"), recovery_dir=tmp, auto_propose=False)
    win.confirm_discard = lambda: "discard"
    win.resize(1400, 900)
    win.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))

    def measure(name, start, done):
        ticks.clear()
        timer.start()
        t_start = time.perf_counter()
        start()
        while not done():
            app.processEvents()
            time.sleep(0.002)
        wall = time.perf_counter() - t_start
        timer.stop()
        gaps = np.diff([t_start] + ticks + [time.perf_counter()])
        print(f"{name:7s}: {wall:6.2f} s wall, {len(ticks)} timer ticks (ideal {int(wall / 0.01)}), "
              f"longest event-loop gap {1000 * gaps.max():.0f} ms, median {1000 * np.median(gaps):.0f} ms")

    measure("open", lambda: win.open_file(str(path)),
            lambda: win.doc.image is not None and "open" not in win.busy)
    win.doc.edit({"calibration": fig.truth.calibration}, "calibrate")
    for arm in fig.truth.arms:
        add_arm(win.doc, arm, fig.truth.colors[arm])
    measure("detect", win.detect, lambda: "detect" not in win.busy)
    pts = [len(a.points_px) for a in win.doc.project.arms]
    print(f"detected points per arm: {pts}; messages: {[m[2][:80] for m in win.messages]}")
    win.close()
    tmp_dir.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
