"""Screenshots of the desktop app as a new user sees it, for looking at after GUI work.

    python3 scripts/gui_screenshots.py [--out /tmp/shots] [--figure resources/example_figure/figure.png]

Opens the figure, lets zero-click propose axes/arms/risk table, detects and reconstructs, then
grabs the main window at 1400x900 and 1024x700 (figure + diagnostics), and the Pooling tab with
the example study table plus the current project's arms. Runs offscreen unless
QT_QPA_PLATFORM says otherwise. Prints the files written.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _wait(app, cond, timeout=120.0):
    t0 = time.time()
    while not cond():
        app.processEvents()
        time.sleep(0.02)
        if time.time() - t0 > timeout:
            raise TimeoutError("the app did not finish in time")


def _grab(app, w, path: Path, size=None, tab=None) -> Path:
    """Resize the window (pixels) and show a tab if asked, let the layout settle, save a grab."""
    if size is not None:
        w.resize(*size)
    if tab is not None:
        w.tabs.setCurrentWidget(tab)
    for _ in range(5):
        app.processEvents()
        time.sleep(0.05)
    w.grab().save(str(path))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/shots")
    ap.add_argument("--figure", default=str(ROOT / "resources/example_figure/figure.png"))
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(settings_path=str(tmp / "s.ini"), recovery_dir=str(tmp / "rec"), autosave_seconds=3600)
    w.confirm_discard = lambda: "discard"
    w.ask_pool_arms = lambda arms, study: list(arms)       # answer the "which arms?" question
    w.resize(1400, 900)
    w.show()
    w.open_file(args.figure)
    _wait(app, lambda: w.doc.image is not None and not w.busy)
    w.detect()
    _wait(app, lambda: not w.busy)
    w.reconstruct()
    _wait(app, lambda: not w.busy)
    written = []
    for size in ((1400, 900), (1024, 700)):
        written.append(_grab(app, w, out / f"main_{size[0]}x{size[1]}.png", size, w.diagnostics))
    if w.pooling_panel is not None:
        w.pooling_panel.load_studies(ROOT / "resources/pooling_example/studies.csv")
        w.add_to_pooling()
        done = []
        w.pooling_panel.pooled.connect(done.append)
        w.pooling_panel.times_edit.setText("12,24,36")   # the example figure follows 48 months
        w.pooling_panel.run_pooling()
        _wait(app, lambda: done or not w.pooling_panel._busy)
        for size in ((1400, 900), (1024, 700)):
            written.append(_grab(app, w, out / f"pooling_{size[0]}x{size[1]}.png", size, w._pool_page))
        w.pooling_panel.result_tabs.setCurrentIndex(1)         # the forest plot
        written.append(_grab(app, w, out / "pooling_plot_1024x700.png"))
    written.append(_grab(app, w, out / "main_minimum.png", w.minimumSizeHint().toTuple(), w.diagnostics))
    print(f"minimum size {w.width()}x{w.height()}, figure view {w.view.width()}x{w.view.height()}")
    for p in written:
        print(p)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
