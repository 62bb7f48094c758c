"""``kmrecon extract``: outputs, sidecar, automatic-calibration fallback and error exits."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pandas as pd
import pytest

from digitize.sidecar import read_sidecar, rerun
from kmrecon.cli import main
from kmrecon.errors import InputFileError
from simulate.figure import FigureStyle, render_figure
from simulate.ipd import simulate_arm


@pytest.fixture(scope="module")
def figure_files(tmp_path_factory):
    rng = np.random.default_rng(21)
    frames = []
    for name, median in (("Placebo", 12.0), ("Drug", 24.0)):
        df = simulate_arm(70, rng, median=median, follow_up=48.0, accrual=24.0)
        df["time"] = np.maximum(df["time"].round(2), 0.01)
        df.insert(0, "arm", name)
        frames.append(df)
    ipd = pd.concat(frames, ignore_index=True)
    style = FigureStyle(arm_names=("Placebo", "Drug"), dpi=100, width_in=5.5, height_in=4.5,
                        colors=("#1f77b4", "#d62728"), line_width_px=2.0, censor_mark="|",
                        risk_table=True, legend_loc="upper right")
    fig = render_figure(ipd, style)
    d = tmp_path_factory.mktemp("fig")
    paths = fig.save(d)
    return fig, paths


def _cal_args(fig):
    c = fig.truth.calibration
    return [a for k in ("x1", "x2", "y1", "y2")
            for a in (f"--{k}", f"{c[k]['px']:.3f},{c[k]['py']:.3f}={c[k]['value']:g}")]


def _arm_args(fig):
    return [a for n in fig.truth.arms for a in ("--arm", f"{n}=#%02x%02x%02x" % fig.truth.colors[n])]


def test_extract_writes_ipd_curves_marks_and_sidecar(figure_files, tmp_path, capsys):
    fig, paths = figure_files
    out = tmp_path / "res" / "IPD.csv"
    rc = main(["extract", str(paths["image"]), *_cal_args(fig), *_arm_args(fig),
               "--risk-table", str(paths["risk"]), "--total-events", "Placebo=%d" % int(
                   fig.truth.ipd.query("arm == 'Placebo'")["event"].sum()), "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["arm", "time", "event"]
    truth = fig.truth.ipd
    for arm in fig.truth.arms:
        rec, true = ipd[ipd["arm"] == arm], truth[truth["arm"] == arm]
        assert len(rec) == len(true)
        assert abs(rec["event"].sum() - true["event"].sum()) <= max(1, 0.05 * true["event"].sum())
    assert ipd.query("arm == 'Placebo'")["event"].sum() == truth.query("arm == 'Placebo'")["event"].sum()
    curves = pd.read_csv(tmp_path / "res" / "IPD.curves.csv")
    assert list(curves.columns) == ["arm", "time", "survival"] and set(curves["arm"]) == set(fig.truth.arms)
    marks = pd.read_csv(tmp_path / "res" / "IPD.marks.csv")
    assert list(marks.columns) == ["arm", "time"] and len(marks) > 10
    side = read_sidecar(tmp_path / "res" / "IPD.json")
    assert side["_calibration"].to_dict()["x2"]["value"] == fig.truth.calibration["x2"]["value"]
    assert [a.name for a in side["_arms"]] == list(fig.truth.arms)
    assert side["_risk_table"].arms == list(fig.truth.arms)
    assert side["settings"]["method"] == "default" and side["diagnostics"]["arms"]
    assert side["figure"]["sha256"] and side["outputs"]["ipd"] == "IPD.csv"
    assert not list((tmp_path / "res").glob(".*"))   # no temp files left behind
    assert "Placebo" in capsys.readouterr().out
    # the sidecar is enough to redo the run: same IPD
    again = rerun(tmp_path / "res" / "IPD.json").ipd.reset_index(drop=True)
    pd.testing.assert_frame_equal(again[["arm", "event"]], ipd[["arm", "event"]])
    np.testing.assert_allclose(again["time"], ipd["time"], rtol=1e-8)


def test_extract_without_colours_names_arms(figure_files, tmp_path):
    fig, paths = figure_files
    out = tmp_path / "auto.csv"
    assert main(["extract", str(paths["image"]), *_cal_args(fig), "--out", str(out)]) == 0
    assert sorted(pd.read_csv(out)["arm"].unique()) == ["arm1", "arm2"]


def test_without_calibration_asks_for_points(figure_files, tmp_path, monkeypatch, capsys):
    fig, paths = figure_files
    fake = types.ModuleType("digitize.auto")
    fake.detect_figure = lambda image: types.SimpleNamespace(
        calibration=None, arms=[], risk_table=None, warnings=["no tick labels read"], confidence={})
    monkeypatch.setitem(sys.modules, "digitize.auto", fake)
    rc = main(["extract", str(paths["image"]), "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "--x1" in err and "no tick labels read" in err
    assert not (tmp_path / "x.csv").exists()
    monkeypatch.setitem(sys.modules, "digitize.auto", None)   # import fails
    assert main(["extract", str(paths["image"]), "--out", str(tmp_path / "x.csv")]) == 2
    assert "--x1" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--x1", "12,40", "--x2", "1,1=2", "--y1", "1,2=0", "--y2", "1,30=1"], "PX,PY=VALUE"),
    (["--x1", "10,100=0"], "missing --x2"),
    (["--arm", "A=blue"], "NAME=#RRGGBB"),
    (["--out", "ipd.txt"], ".csv or .xlsx"),
])
def test_bad_options_exit_2(figure_files, tmp_path, capsys, extra, message):
    fig, paths = figure_files
    args = ["extract", str(paths["image"]), "--out", str(tmp_path / "o.csv"), *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_bad_figure_and_calibration_exit_2(tmp_path, capsys, figure_files):
    fig, paths = figure_files
    (tmp_path / "zero.png").write_bytes(b"")
    assert main(["extract", str(tmp_path / "zero.png"), *_cal_args(fig), "--out", str(tmp_path / "o.csv")]) == 2
    assert "empty" in capsys.readouterr().err
    bad = ["--x1", "100,400=0", "--x2", "100.5,400=60", "--y1", "100,400=0", "--y2", "100,50=1"]
    assert main(["extract", str(paths["image"]), *bad, "--out", str(tmp_path / "o.csv")]) == 2
    assert "X1 and X2" in capsys.readouterr().err
    assert main(["extract", str(paths["image"]), *_cal_args(fig), "--arm", "Ghost=#00c8c8",
                 "--out", str(tmp_path / "o.csv")]) == 2
    assert "Ghost" in capsys.readouterr().err


def test_read_sidecar_rejects_bad_files(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(InputFileError, match="not a readable JSON"):
        read_sidecar(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"kind": "other"}))
    with pytest.raises(InputFileError, match="kmrecon extract sidecar"):
        read_sidecar(tmp_path / "b.json")
    (tmp_path / "c.json").write_text(json.dumps({"kind": "kmrecon-extract", "format_version": 1,
                                                 "calibration": {}, "arms": [], "plot_area": [1, 2]}))
    with pytest.raises(Exception, match="calibration is missing"):
        read_sidecar(tmp_path / "c.json")


def test_an_arm_traced_over_a_few_columns_is_a_review_item(figure_files, tmp_path, capsys):
    """A colour found in only a short piece of the plot (here a short green stroke; in R
    figures a dashed grey arm lying on a grid line) gives a trace of a few columns and an IPD
    without events: the run says so (REVIEW, exit 3) instead of exiting 0."""
    import cv2

    fig, paths = figure_files
    img = cv2.imread(str(paths["image"]))
    c = fig.truth.calibration
    x, y = int(c["x1"]["px"]) + 40, int(c["y2"]["py"]) + 60
    cv2.line(img, (x, y), (x + 25, y), (0, 160, 0), 2)      # BGR green, 25 px long
    bad = tmp_path / "short.png"
    cv2.imwrite(str(bad), img)
    out = tmp_path / "res" / "IPD.csv"
    rc = main(["extract", str(bad), *_cal_args(fig), *_arm_args(fig), "--arm", "Stroke=#00a000",
               "--risk-table", str(paths["risk"]), "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 3, text
    review = [ln for ln in text.splitlines() if ln.startswith("REVIEW")]
    assert len(review) == 1 and "'Stroke' spans only" in review[0], review
    assert json.loads((tmp_path / "res" / "IPD.json").read_text())["review"][0]["piece"] == "arms"
