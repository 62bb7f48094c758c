"""``kmrecon batch``: zero-click extraction of several figures in worker processes, one row per
figure in summary.csv (a corrupt file is one failed row, the others are extracted), IPD that
matches the figures' truth, unique output names, resume, timeout."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from kmrecon.cli import main
from kmrecon.project import load_project
from reconstruct import reconstruct
from review.batch import collect_figures, run_batch, unique_names
from simulate.figure import FigureStyle, render_figure
from simulate.ipd import simulate_arm


def _figure(folder, seed, arms=("Placebo", "Drug"), medians=(10.0, 20.0)):
    rng = np.random.default_rng(seed)
    frames = []
    for name, med in zip(arms, medians):
        df = simulate_arm(60, rng, median=med, follow_up=36.0, accrual=12.0)
        df["time"] = np.maximum(df["time"].round(2), 0.01)
        df.insert(0, "arm", name)
        frames.append(df)
    ipd = pd.concat(frames, ignore_index=True)
    style = FigureStyle(arm_names=arms, dpi=90, width_in=5.5, height_in=4.2,
                        colors=("#1f77b4", "#d62728", "#2ca02c")[:len(arms)], line_width_px=2.0,
                        censor_mark="|", risk_table=True, legend_loc="upper right")
    fig = render_figure(ipd, style)
    fig.save(folder)
    return fig


@pytest.fixture(scope="module")
def figure_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("figs")
    figs = {}
    for i, sub in enumerate(("trial_a", "trial_b")):     # two files both called figure.png
        figs[sub] = _figure(root / sub, 100 + i)
    (root / "scan_bad.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return root, figs


def test_unique_names_tell_same_stems_apart(tmp_path):
    from pathlib import Path

    names = unique_names([Path("/x/a/figure.png"), Path("/x/b/figure.png"), Path("/x/b/other.png"),
                          Path("/y/a/figure.png")])
    assert len(set(names)) == 4
    assert names[2] == "other"
    assert names[0] != names[3] and all("figure" in n for n in (names[0], names[1], names[3]))


def test_batch_extracts_good_figures_and_fails_the_corrupt_one(figure_folder, tmp_path, capsys):
    root, figs = figure_folder
    out = tmp_path / "batch"
    rc = main(["batch", str(root), "--out", str(out), "-j", "2", "--timeout", "240"])
    captured = capsys.readouterr()
    assert rc == 1, captured.err            # one figure failed
    assert "3/3 100%" in captured.err        # the progress bar reached the end (no TTY needed)
    with open(out / "summary.csv", newline="") as fh:
        rows = {r["figure"].replace("\\", "/").split("/")[-2] + "/" + r["figure"].split("/")[-1]: r
                for r in csv.DictReader(fh)}
    assert len(rows) == 3
    bad = next(r for k, r in rows.items() if k.endswith("scan_bad.png"))
    assert bad["status"] == "failed" and "not a readable image" in bad["reasons"]
    names = set()
    for sub, fig in figs.items():
        row = rows[f"{sub}/figure.png"]
        assert row["status"] in ("confident", "needs review"), row
        assert int(row["arms"]) == len(fig.truth.arms)
        names.add(row["name"])
        ipd = pd.read_csv(out / row["ipd"])
        truth = fig.truth.ipd
        for arm in fig.truth.arms:          # N from the risk table read off the figure
            n_true = int((truth["arm"] == arm).sum())
            n_rec = int((ipd["arm"] == arm).sum())
            assert abs(n_rec - n_true) <= 0.05 * n_true, (arm, n_rec, n_true)
            d_true = int(truth.loc[truth["arm"] == arm, "event"].sum())
            d_rec = int(ipd.loc[ipd["arm"] == arm, "event"].sum())
            assert abs(d_rec - d_true) <= max(3, 0.1 * d_true), (arm, d_rec, d_true)
        project = load_project(out / row["project"])      # a normal project, current result
        assert [a.name for a in project.arms] == list(fig.truth.arms)
        assert project.stored_ipd() is not None and len(project.stored_ipd()) == len(ipd)
        assert set(project.reconstruction["diagnostics"]) == set(fig.truth.arms)   # per arm, as the app
        assert (out / row["name"] / "thumb.png").exists()
        side = json.loads((out / row["sidecar"]).read_text())
        assert side["kind"] == "kmrecon-extract"
        # the project knows how surely the run read corners and marks (sidecar corner_sd_px,
        # censor_reliability): an edit in the app and a new reconstruction weigh them as the run did
        run = {a["name"]: a for a in side["arms"]}
        for a in project.arm_data():
            assert a.time_sd > 0 and a.survival_sd > 0, a.name
            assert np.allclose(a.censor_reliability, run[a.name]["censor_reliability"], atol=1e-4), a.name
        again = reconstruct(project.arm_data(), method=project.settings["method"]).ipd
        for arm in fig.truth.arms:
            got, ran = again[again["arm"] == arm], ipd[ipd["arm"] == arm]
            assert len(got) == len(ran) and got["event"].sum() == ran["event"].sum(), arm
    assert len(names) == 2                   # same stem, two output folders
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["rows"]) == 3

    # resume: nothing is redone, the summary is the same
    before = (out / "summary.csv").read_text()
    rc = main(["batch", str(root), "--out", str(out), "-j", "1"])
    err = capsys.readouterr().err
    assert err.count("(done before)") == 3
    assert (out / "summary.csv").read_text() == before


def test_a_figure_past_the_timeout_is_one_failed_row(figure_folder, tmp_path):
    root, figs = figure_folder
    items = collect_figures([str(root / "trial_a" / "figure.png")])
    rows = run_batch(items, tmp_path / "b", jobs=1, timeout=0.2)
    assert [r["status"] for r in rows] == ["failed"]
    assert "timed out" in rows[0]["reasons"]
    assert json.loads((tmp_path / "b" / items[0].name / "result.json").read_text())["status"] == "failed"


def test_pdf_pages_and_folders_become_items_with_unique_names(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from kmrecon.errors import KMReconError

    with PdfPages(tmp_path / "paper.pdf") as pdf:
        for _ in range(2):
            fig = Figure()
            fig.subplots().plot([0, 1], [1, 0])
            pdf.savefig(fig)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "paper.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a figure")
    items = collect_figures([str(tmp_path)])
    assert [(i.page, i.label.endswith("#page=2")) for i in items] == [(0, False), (1, True), (None, False)]
    assert len({i.name for i in items}) == 3
    assert [i.page for i in collect_figures([str(tmp_path / "paper.pdf")], pages="2")] == [1]
    with pytest.raises(KMReconError, match="no such file"):
        collect_figures([str(tmp_path / "missing.png")])
    (tmp_path / "out" / "paper_p1").mkdir(parents=True)             # a batch folder inside the input
    (tmp_path / "out" / "paper_p1" / "thumb.png").write_bytes(b"x")
    assert len(collect_figures([str(tmp_path)], exclude=tmp_path / "out")) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(KMReconError, match="no figures"):
        collect_figures([str(tmp_path / "empty")])


def test_a_worker_killed_mid_figure_does_not_stop_the_batch(figure_folder, tmp_path):
    """SIGKILL the worker while it extracts the first figure (as the OS does on out-of-memory):
    the pool breaks, the figure is run again alone and the batch ends with a row per figure."""
    import multiprocessing
    import os
    import signal
    import threading
    import time

    root, figs = figure_folder
    items = collect_figures([str(root / "trial_a"), str(root / "trial_b")])
    out = tmp_path / "b"
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("rows", run_batch(items, out, jobs=1, timeout=240)))
    t.start()
    killed = None
    deadline = time.time() + 120
    while time.time() < deadline and killed is None:
        kids = multiprocessing.active_children()
        if kids and (out / items[0].name).exists():
            time.sleep(0.5)
            killed = kids[0].pid
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    t.join(300)
    assert killed is not None and not t.is_alive()
    rows = result["rows"]
    assert [r["name"] for r in rows] == [i.name for i in items]
    assert all(r["status"] in ("confident", "needs review") for r in rows), rows
    assert rows[0].get("retried_after_crash") and not rows[1].get("retried_after_crash")
