"""``kmrecon agree``: two extractions of one figure, one with an arm's numbers at risk altered:
that arm (and only it) is flagged; identical extractions agree; arms are matched by curve when
names differ; folder against folder pairs figures by name."""
from __future__ import annotations

import copy
import csv
import shutil

import numpy as np
import pandas as pd
import pytest

from kmrecon.cli import main
from review.agree import compare, load_extraction, match_arms
from simulate.figure import FigureStyle, render_figure
from simulate.ipd import simulate_arm

ARMS = ("Placebo", "Drug", "Combo")


@pytest.fixture(scope="module")
def two_extractions(tmp_path_factory):
    """The same 3-arm figure extracted twice (calibration and colours given: fast), B with the
    Drug arm's numbers at risk after time 0 read 20 % low."""
    rng = np.random.default_rng(7)
    frames = []
    for name, med in zip(ARMS, (8.0, 16.0, 30.0)):
        df = simulate_arm(80, rng, median=med, follow_up=36.0, accrual=12.0)
        df["time"] = np.maximum(df["time"].round(2), 0.01)
        df.insert(0, "arm", name)
        frames.append(df)
    style = FigureStyle(arm_names=ARMS, dpi=90, width_in=5.5, height_in=4.5,
                        colors=("#1f77b4", "#d62728", "#2ca02c"), line_width_px=2.0, censor_mark="|",
                        risk_table=True, legend_loc="upper right")
    fig = render_figure(pd.concat(frames, ignore_index=True), style)
    root = tmp_path_factory.mktemp("agree")
    paths = fig.save(root / "fig")
    c = fig.truth.calibration
    common = [a for k in ("x1", "x2", "y1", "y2")
              for a in (f"--{k}", f"{c[k]['px']:.3f},{c[k]['py']:.3f}={c[k]['value']:g}")]
    common += [a for n in ARMS for a in ("--arm", f"{n}=#%02x%02x%02x" % fig.truth.colors[n])]
    risk = pd.read_csv(paths["risk"])
    altered = risk.copy()
    sel = (altered["arm"] == "Drug") & (altered["time"] > 0) & (altered["n_risk"] > 5)
    altered.loc[sel, "n_risk"] = (altered.loc[sel, "n_risk"] * 0.8).round().astype(int)
    altered.to_csv(root / "risk_b.csv", index=False)
    out = {}
    for who, rfile in (("A", paths["risk"]), ("B", root / "risk_b.csv")):
        target = root / who / "fig1" / "ipd.csv"
        assert main(["extract", str(paths["image"]), *common, "--risk-table", str(rfile),
                     "--out", str(target)]) == 0
        out[who] = target.with_suffix(".json")
    return out, int(sel.sum()), root


def test_altered_risk_table_flags_that_arm_only(two_extractions, tmp_path, capsys):
    files, n_altered, _ = two_extractions
    report = tmp_path / "report.html"
    rc = main(["agree", str(files["A"]), str(files["B"]), "--out", str(report)])
    out = capsys.readouterr().out
    assert rc == 3, out
    rows = list(csv.DictReader(open(report.with_suffix(".csv"))))
    flagged = {r["arm"] for r in rows if r["flag"] == "True"}
    assert flagged == {"Drug"}
    cells = next(r for r in rows if r["arm"] == "Drug" and r["metric"] == "risk table cells differing")
    assert int(cells["a"]) == n_altered
    for arm in ("Placebo", "Combo"):   # untouched arms: the very same reconstruction
        for r in rows:
            if r["arm"] == arm and r["metric"] in ("N", "events", "mean |ΔS|"):
                assert float(r["diff"]) == 0.0, r
    n = next(r for r in rows if r["arm"] == "Drug" and r["metric"] == "N")
    assert n["a"] == n["b"] == "80"          # N at time 0 was not altered
    ev = next(r for r in rows if r["arm"] == "Drug" and r["metric"] == "events")
    assert int(ev["a"]) != int(ev["b"])      # fewer at risk later = more events or censorings moved
    page = report.read_text()
    assert "data:image/png;base64," in page and "Drug" in page and "disagreement" in page
    assert report.with_suffix(".png").stat().st_size > 10_000

    rc = main(["agree", str(files["A"]), str(files["A"]), "--out", str(tmp_path / "same.html")])
    assert rc == 0
    assert "agree" in capsys.readouterr().out


def test_arms_with_other_names_are_matched_by_curve(two_extractions):
    files, _, _ = two_extractions
    a = load_extraction(files["A"])
    b = copy.deepcopy(a)
    b.arms = [b.arms[2], b.arms[0], b.arms[1]]            # shuffled and renamed by reviewer B
    for k, arm in enumerate(b.arms):
        arm.name = f"Arm {k + 1}"
    pairs, only_a, only_b = match_arms(a.arms, b.arms)
    assert not only_a and not only_b
    assert {(a.arms[i].name, how) for i, j, how in pairs} == {(n, "curve") for n in ARMS}
    assert {a.arms[i].name: b.arms[j].name for i, j, _ in pairs} == {"Combo": "Arm 1", "Placebo": "Arm 2",
                                                                     "Drug": "Arm 3"}
    assert compare(a, b).agree

    swapped = copy.deepcopy(a)                            # B read the legend the wrong way round
    swapped.arms[0].name, swapped.arms[1].name = a.arms[1].name, a.arms[0].name
    rep = compare(a, swapped)
    assert not rep.agree
    assert any("look swapped" in f and "A's 'Placebo' with B's 'Drug'" in f for f in rep.flags)
    combo = [r["metric"] for r in rep.rows if r["arm"] == "Combo" and r["flag"]]
    assert all(m.startswith("log HR vs") for m in combo)     # only its HR vs the mixed-up reference


def test_folder_against_folder_pairs_by_name(two_extractions, tmp_path, capsys):
    files, _, root = two_extractions
    fa, fb = tmp_path / "A", tmp_path / "B"
    shutil.copytree(root / "A", fa)
    shutil.copytree(root / "B", fb)
    shutil.copytree(root / "A" / "fig1", fa / "fig2")      # fig2: both reviewers agree
    shutil.copytree(root / "A" / "fig1", fb / "fig2")
    shutil.copytree(root / "A" / "fig1", fb / "fig3")      # fig3: only reviewer B did it
    out = tmp_path / "report"
    rc = main(["agree", str(fa), str(fb), "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 3
    assert "fig1: " in printed and "disagreement" in printed.split("fig1: ")[1].splitlines()[0]
    assert "fig2: agree" in printed and "fig3: only in B" in printed
    rows = list(csv.DictReader(open(out / "agreement.csv")))
    assert {r["figure"] for r in rows} == {"fig1", "fig2"}
    assert {r["arm"] for r in rows if r["flag"] == "True"} == {"Drug"}
    assert all(r["figure"] == "fig1" for r in rows if r["flag"] == "True")
    index = (out / "index.html").read_text()
    assert "fig1.html" in index and "fig2.html" in index and "only in B" in index
    assert (out / "fig1.html").exists()
