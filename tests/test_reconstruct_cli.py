"""`kmrecon reconstruct` end to end, file readers/writers, and every bad-input case
(exit code 2, message naming the file and line, no output left behind)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kmrecon.cli import main
from kmrecon.data import ArmData
from reconstruct import ReconstructionInputError, reconstruct
from reconstruct.io import (
    read_curve_csv,
    read_marks_csv,
    read_risk_csv,
    write_diagnostics_json,
    write_ipd,
    write_ipdfromkm,
    write_survhe,
)
from simulate.ipd import km_corners, number_at_risk, simulate_arm

EXAMPLE = Path(__file__).resolve().parents[1] / "resources" / "example"


@pytest.fixture
def one_arm(tmp_path):
    """A one-arm curve without an arm column, its risk table and censor marks (known IPD)."""
    rng = np.random.default_rng(3)
    ipd = simulate_arm(60, rng, median=10.0, dropout_rate=0.02)
    t, s = km_corners(ipd["time"], ipd["event"])
    pd.DataFrame({"time": t, "survival": 100 * s}).to_csv(tmp_path / "curve.csv", index=False)
    rt = np.arange(0.0, ipd["time"].max(), 12.0)
    pd.DataFrame({"time": rt, "n_risk": number_at_risk(ipd["time"], rt)}).to_csv(
        tmp_path / "risk.csv", index=False
    )
    pd.DataFrame({"time": ipd.loc[ipd["event"] == 0, "time"]}).to_csv(tmp_path / "marks.csv", index=False)
    return tmp_path, ipd


def test_example_end_to_end(tmp_path, capsys):
    out = tmp_path / "out" / "ipd.csv"
    code = main(["reconstruct", str(EXAMPLE / "curve.csv"), "--risk-table", str(EXAMPLE / "risk.csv"),
                 "--censor-marks", str(EXAMPLE / "marks.csv"), "--out", str(out), "--xlsx",
                 "--export-formats", str(tmp_path / "formats")])
    assert code == 0
    text = capsys.readouterr().out
    assert str(out) in text and "IAE" in text and "Control" in text
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["arm", "time", "event"]
    risk = pd.read_csv(EXAMPLE / "risk.csv")
    assert ipd.groupby("arm").size().to_dict() == risk[risk.time == 0].set_index("arm")["n_risk"].to_dict()
    assert pd.read_excel(out.with_suffix(".xlsx")).shape == ipd.shape
    diag = json.loads((out.parent / "ipd.diagnostics.json").read_text())
    assert set(diag["arms"]) == {"Control", "Treatment"}
    for arm in diag["arms"].values():
        assert all(iv["n_published"] == iv["n_reconstructed"] for iv in arm["intervals"])
        assert arm["iae"] < 0.01  # noisy digitization of the true curve
    assert (tmp_path / "formats" / "Control_survival.txt").exists()
    assert (tmp_path / "formats" / "Treatment_ipdfromkm_points.csv").exists()


def test_one_arm_without_arm_column_percent_and_marks(one_arm, capsys):
    d, ipd = one_arm
    out = d / "ipd.csv"
    code = main(["reconstruct", str(d / "curve.csv"), "--risk-table", str(d / "risk.csv"),
                 "--censor-marks", str(d / "marks.csv"), "--out", str(out)])
    assert code == 0
    got = pd.read_csv(out).sort_values(["time", "event"]).reset_index(drop=True)
    want = ipd.sort_values(["time", "event"]).reset_index(drop=True)
    np.testing.assert_allclose(got["time"], want["time"], rtol=1e-9)  # all censorings marked: exact
    np.testing.assert_array_equal(got["event"], want["event"])


def test_n_and_d_options(one_arm):
    d, ipd = one_arm
    out = d / "ipd.csv"
    D = int(ipd["event"].sum())
    assert main(["reconstruct", str(d / "curve.csv"), "--n", str(len(ipd)), "--total-events", f"arm={D}",
                 "--method", "guyot", "--out", str(out)]) == 0
    res = pd.read_csv(out)
    assert len(res) == len(ipd)
    assert main(["reconstruct", str(d / "curve.csv"), "--n", f"arm={len(ipd)}", "--total-events", str(D),
                 "--out", str(out)]) == 0
    assert pd.read_csv(out)["event"].sum() == D


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BAD_CASES = {
    # name: (curve text, risk text or None, extra args, expected message pieces)
    "non-numeric": ("time,survival\n0,1\n2,abc\n", None, [], ["curve.csv line 3", "abc"]),
    "negative time": ("time,survival\n0,1\n-3,0.9\n", None, [], ["curve.csv line 3", "negative"]),
    "risk increases": ("time,survival\n0,1\n5,0.8\n10,0.5\n", "time,n_risk\n0,50\n5,40\n10,45\n", [],
                       ["risk.csv line 4", "cannot increase"]),
    "risk beyond curve": ("time,survival\n0,1\n5,0.8\n10,0.5\n", "time,n_risk\n0,50\n5,40\n20,10\n", [],
                          ["risk.csv line 4", "beyond"]),
    "N below at risk": ("time,survival\n0,1\n5,0.8\n10,0.5\n", "time,n_risk\n0,50\n5,40\n", ["--n", "30"],
                        ["--n", "risk.csv line 2"]),
    "missing column": ("t,s\n0,1\n", None, [], ["missing column", "time,survival"]),
    "non-numeric risk": ("time,survival\n0,1\n5,0.8\n", "time,n_risk\n0,50\n5,many\n", [],
                         ["risk.csv line 3", "many"]),
    "unknown arm in --n": ("time,survival\n0,1\n5,0.8\n", None, ["--n", "B=10"], ["no arm 'B'"]),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_exits_2_names_row_and_writes_nothing(case, tmp_path, capsys):
    curve, risk, extra, pieces = BAD_CASES[case]
    args = ["reconstruct", str(_write(tmp_path / "curve.csv", curve))]
    if risk is not None:
        args += ["--risk-table", str(_write(tmp_path / "risk.csv", risk))]
    out = tmp_path / "res" / "ipd.csv"
    code = main(args + extra + ["--out", str(out), "--xlsx"])
    err = capsys.readouterr().err
    assert code == 2
    for piece in pieces:
        assert piece in err, err
    assert not (tmp_path / "res").exists() or not any((tmp_path / "res").iterdir())


def test_missing_file_exits_2(tmp_path, capsys):
    code = main(["reconstruct", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "ipd.csv")])
    assert code == 2 and "not found" in capsys.readouterr().err
    assert not (tmp_path / "ipd.csv").exists()


def test_failed_run_keeps_previous_output(tmp_path, capsys):
    out = tmp_path / "ipd.csv"
    out.write_text("previous result\n")
    _write(tmp_path / "curve.csv", "time,survival\n0,1\n2,x\n")
    assert main(["reconstruct", str(tmp_path / "curve.csv"), "--out", str(out)]) == 2
    assert out.read_text() == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.csv", "ipd.csv"]


def test_readers_multi_arm_and_blank_cells(tmp_path):
    _write(tmp_path / "c.csv", "arm,time,survival\nA,0,1\nB,0,1\nA,3,0.5\nB,4,0.7\n")
    curves = read_curve_csv(tmp_path / "c.csv")
    assert set(curves) == {"A", "B"}
    np.testing.assert_allclose(curves["A"][0], [0, 3])
    _write(tmp_path / "r.csv", "arm,time,n_risk\nA,0,10\nA,3,5\nB,0,8\nB,3,\n")
    table = read_risk_csv(tmp_path / "r.csv")
    np.testing.assert_allclose(table.times, [0, 3])
    assert np.isnan(table.n_risk["B"][1])
    _write(tmp_path / "m.csv", "arm,time\nA,2.5\nA,1.0\n")
    np.testing.assert_allclose(read_marks_csv(tmp_path / "m.csv")["A"], [1.0, 2.5])
    _write(tmp_path / "dup.csv", "arm,time,n_risk\nA,0,10\nA,0,9\n")
    with pytest.raises(ReconstructionInputError, match="line 3"):
        read_risk_csv(tmp_path / "dup.csv")


def test_writers_round_trip_and_export_formats(tmp_path):
    rng = np.random.default_rng(4)
    ipd = simulate_arm(40, rng)
    t, s = km_corners(ipd["time"], ipd["event"])
    arm = ArmData("Arm 1", t, s, risk_times=[0, 12, 24], n_risk=number_at_risk(ipd["time"], [0, 12, 24]))
    rec = reconstruct([arm])
    write_ipd(rec.ipd, tmp_path / "x.csv")
    write_ipd(rec.ipd, tmp_path / "x.xlsx")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "x.csv"), rec.ipd, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "x.xlsx"), rec.ipd, check_dtype=False)
    with pytest.raises(ReconstructionInputError):
        write_ipd(rec.ipd, tmp_path / "x.txt")
    write_diagnostics_json(rec, tmp_path / "d.json")
    assert json.loads((tmp_path / "d.json").read_text())["arms"]["Arm 1"]["n_total"] == 40
    files = write_ipdfromkm(arm, tmp_path / "fmt")
    points = pd.read_csv(files[0])
    assert list(points.columns) == ["time", "survival"] and points["survival"].iloc[0] == 1.0
    assert list(pd.read_csv(files[1]).columns) == ["trisk", "nrisk"]
    surv, nrisk = write_survhe([arm], tmp_path / "fmt")
    sv = pd.read_csv(surv, sep="\t")
    nr = pd.read_csv(nrisk, sep="\t")
    assert list(sv.columns) == ["ID", "time", "survival"]
    assert list(nr.columns) == ["Interval", "time", "lower", "upper", "nrisk"]
    # lower/upper are 1-based rows of the survival file covering each risk interval
    for _, row in nr.iterrows():
        assert sv["time"].iloc[row["lower"] - 1] >= row["time"]
    assert nr["upper"].iloc[-1] == len(sv)
    assert not list(tmp_path.glob(".*"))  # no temp files left
