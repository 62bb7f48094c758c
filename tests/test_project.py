"""kmrecon.project: the project file (plain JSON, validated, atomic) and project_ipd."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kmrecon.project import (ArmState, ImageRef, MaskShape, Project, ProjectError, RiskGrid,
                             decode_png, encode_png, file_sha256, load_project, project_ipd,
                             rasterize_masks, save_project, validate_risk_grid)
from simulate.ipd import km_corners, km_table, simulate_arm

CAL = {"x1": {"px": 100.0, "py": 400.0, "value": 0.0}, "x2": {"px": 700.0, "py": 400.0, "value": 60.0},
       "y1": {"px": 100.0, "py": 400.0, "value": 0.0}, "y2": {"px": 100.0, "py": 50.0, "value": 1.0},
       "log_x": False, "no_rotation": False, "y_percent": None}


def to_px(t, s):
    """Data -> pixel for CAL (600 px per 60 months, 350 px per unit survival)."""
    return np.column_stack([100 + 10.0 * np.asarray(t), 400 - 350.0 * np.asarray(s)])


def sample_project(image=None) -> Project:
    img = image if image is not None else np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    return Project(
        image=ImageRef(png_base64=encode_png(img)),
        calibration=json.loads(json.dumps(CAL)),
        arms=[ArmState("A", (10, 20, 30), 12.5, points_px=[[100, 50], [150, 60.5]], censor_px=[[120, 50]],
                       n_total=100, total_events=40, style="solid", at=(130.0, 50.0),
                       marks=((120.5, 50.0), (140.0, 60.25)), corner_sd_px=0.61,
                       read_marks=((120.0, 50.0, 0.35),)),
              ArmState("B", (200, 0, 0))],
        masks=[MaskShape("rect", [(1, 2), (10, 12)]), MaskShape("brush", [(5, 5), (9, 7)], 2.0)],
        risk_table=RiskGrid(times=["0", "12"], rows={"A": ["100", "80"], "B": ["90", ""]}),
        settings={"method": "guyot", "time_unit": "months", "study": "S1", "subgroup": "all"})


def test_round_trip_is_exact(tmp_path):
    p = sample_project()
    path = tmp_path / "p.kmrecon"
    save_project(p, path)
    q = load_project(path)
    assert q.to_dict() == p.to_dict()
    assert np.array_equal(q.load_image(), decode_png(p.image.png_base64))
    assert json.loads(path.read_text())["format"] == "kmrecon-project"   # plain JSON on disk


def test_atomic_save_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "p.kmrecon"
    save_project(sample_project(), path)
    before = path.read_bytes()
    bad = sample_project()
    bad.settings["x"] = float("nan")            # strict JSON refuses NaN -> write fails midway
    with pytest.raises(ValueError):
        save_project(bad, path)
    assert path.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["p.kmrecon"]   # no temp file left behind


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d.pop("format"), "not a KMRecon project"),
    (lambda d: d["arms"][0].update(rgb=[1, 2]), "arms[0].rgb"),
    (lambda d: d["arms"][1].update(name="A"), "share a name"),
    (lambda d: d["arms"][0].update(points_px=[[1, "x"]]), "points"),
    (lambda d: d["arms"][0].update(n_total=-3), "arms[0].n_total"),
    (lambda d: d["arms"][0].update(marks=[[1, 2, 3]]), "arms[0].marks"),
    (lambda d: d["arms"][0].update(marks=[[1, float("inf")]]), "arms[0].marks"),
    (lambda d: d["arms"][0].update(corner_sd_px=-1), "arms[0].corner_sd_px"),
    (lambda d: d["arms"][0].update(read_marks=[[1, 2]]), "arms[0].read_marks"),
    (lambda d: d["arms"][0].update(read_marks=[[1, 2, 1.5]]), "arms[0].read_marks[0] reliability"),
    (lambda d: d["calibration"].update(x1={"px": "a"}), "calibration.x1"),
    (lambda d: d["risk_table"]["rows"].update(A=["1"]), "risk_table row 'A'"),
    (lambda d: d["masks"][0].update(kind="circle"), "masks[0].kind"),
    (lambda d: d.update(reconstruction={"ipd": {"arm": ["A"], "time": [], "event": [1]}}), "reconstruction.ipd"),
    (lambda d: d.update(image={"page": 0}), "image"),
    (lambda d: d.update(settings=[1, 2]), "settings: expected an object"),
    (lambda d: d.update(arms=[{"name": "A", "rgb": ["r", "g", "b"]}]), "arms[0].rgb[0]: expected a whole number"),
])
def test_bad_files_name_the_field(tmp_path, mutate, where):
    d = sample_project().to_dict()
    mutate(d)
    path = tmp_path / "bad.kmrecon"
    path.write_text(json.dumps(d))
    with pytest.raises(ProjectError) as exc:
        load_project(path)
    assert where in str(exc.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ProjectError, match="not found"):
        load_project(tmp_path / "missing.kmrecon")
    p = tmp_path / "x.kmrecon"
    p.write_text("{not json")
    with pytest.raises(ProjectError, match="line 1"):
        load_project(p)


def test_referenced_image_checks_hash(tmp_path):
    import cv2

    img = np.zeros((20, 30, 3), np.uint8)
    img[5:10, 5:25] = (255, 0, 0)
    f = tmp_path / "fig.png"
    cv2.imwrite(str(f), img[..., ::-1])
    p = Project(image=ImageRef(path="fig.png", sha256=file_sha256(f), crop=(5, 5, 25, 10)))
    got = p.load_image(tmp_path)
    assert got.shape == (5, 20, 3) and np.all(got == (255, 0, 0))
    cv2.imwrite(str(f), np.ones((20, 30, 3), np.uint8)[..., ::-1])
    with pytest.raises(ProjectError, match="changed"):
        p.load_image(tmp_path)
    f.unlink()
    with pytest.raises(ProjectError, match="missing"):
        p.load_image(tmp_path)


def test_risk_grid_validation_reasons():
    g = RiskGrid(times=["0", "12", "6", "x", ""], rows={"A": ["100", "120", "-1", "50", ""],
                                                       "B": ["50", "40.5", "30", "", ""]})
    table, errors = validate_risk_grid(g, {"A": 110})
    assert table is None
    assert "increase" in errors[(0, 2)] and "not a number" in errors[(0, 3)]
    assert "rise" in errors[(1, 1)] and "more than the arm's N = 110" in errors[(1, 1)]
    assert "whole number" in errors[(1, 2)] and "whole number" in errors[(2, 1)]
    assert (0, 4) not in errors                        # an all-blank column is ignored
    ok = RiskGrid(times=["0", "12", "24", ""], rows={"A": ["100", "80", "", ""], "B": ["50", "40", "30", ""]})
    table, errors = validate_risk_grid(ok)
    assert errors == {} and list(table.times) == [0, 12, 24]
    assert np.isnan(table.n_risk["A"][2]) and list(table.for_arm("A")[1]) == [100, 80]


def test_rasterize_masks():
    m = rasterize_masks([MaskShape("rect", [(10, 5), (2, 1)]), MaskShape("brush", [(30, 30)], 3)], (40, 50))
    assert m.shape == (40, 50) and m[1:6, 2:11].all() and not m[0, 0] and not m[7, 12]
    assert m[30, 30] and m[30, 33] and not m[30, 35]
    assert rasterize_masks([], (4, 4)) is None


@pytest.fixture(scope="module")
def truth_ipd():
    rng = np.random.default_rng(5)
    parts = []
    for arm, med in (("A", 10.0), ("B", 20.0)):
        d = simulate_arm(120, rng, median=med, follow_up=60, accrual=20)
        d["arm"] = arm
        parts.append(d)
    return pd.concat(parts, ignore_index=True)[["arm", "time", "event"]]


def _digitized_project(ipd) -> Project:
    arms = []
    grid_times = [0, 12, 24, 36, 48]
    rows = {}
    for arm in ("A", "B"):
        sub = ipd[ipd["arm"] == arm]
        t, s = km_corners(sub["time"], sub["event"])
        arms.append(ArmState(arm, points_px=to_px(t, s)))
        rows[arm] = [str(int((sub["time"] >= g).sum())) for g in grid_times]
    return Project(image=ImageRef(png_base64=encode_png(np.zeros((8, 8, 3), np.uint8))),
                   calibration=json.loads(json.dumps(CAL)), arms=arms,
                   risk_table=RiskGrid(times=[str(g) for g in grid_times], rows=rows))


def _iae(a, b, t_max=60.0):
    grid = np.linspace(0, t_max, 2001)

    def s(d):
        tab = km_table(d["time"], d["event"])
        i = np.searchsorted(tab["time"].to_numpy(), grid, side="right") - 1
        return np.where(i >= 0, tab["survival"].to_numpy()[np.clip(i, 0, None)], 1.0)
    return float(np.mean(np.abs(s(a) - s(b))))


def test_project_ipd_reconstructs_and_reuses_stored_result(tmp_path, truth_ipd):
    p = _digitized_project(truth_ipd)
    arms = p.arm_data()
    assert [a.name for a in arms] == ["A", "B"] and arms[0].risk_times.tolist() == [0, 12, 24, 36, 48]
    path = tmp_path / "s.kmrecon"
    save_project(p, path)
    ipd = project_ipd(path)
    assert list(ipd.columns) == ["arm", "time", "event"]
    for arm in ("A", "B"):
        got, ref = ipd[ipd["arm"] == arm], truth_ipd[truth_ipd["arm"] == arm]
        assert len(got) == len(ref)
        assert _iae(got, ref) < 0.01
        assert abs(got["event"].sum() - ref["event"].sum()) <= 0.05 * ref["event"].sum()
    # a stored, current reconstruction is returned as is; a stale one is recomputed
    p.reconstruction = {"ipd": {"arm": ["A"], "time": [1.0], "event": [1]}, "inputs": p.inputs_hash()}
    save_project(p, path)
    assert project_ipd(path).to_dict("list") == {"arm": ["A"], "time": [1.0], "event": [1]}
    p.arms[0].points_px[1, 0] += 1
    save_project(p, path)
    assert len(project_ipd(path)) == len(truth_ipd)


def test_arm_data_keeps_each_drop_falling_on_a_rotated_calibration(truth_ipd):
    """Step corners stored in pixels come back in the curve's order: on a calibration with a
    hair of rotation (as the automatic one often has) a drop's two corners come back ~1e-14
    apart in time, and a plain time sort put the lower one first in about one drop in six
    (the curve then rose there and its traced IAE tripled)."""
    p = _digitized_project(truth_ipd)
    p.calibration["x1"]["py"] += 0.013
    p.calibration["y2"]["px"] += 0.0017
    cal = p.build_calibration()
    for arm in p.arms:
        sub = truth_ipd[truth_ipd["arm"] == arm.name]
        t, s = km_corners(sub["time"], sub["event"])
        arm.points_px = np.column_stack(cal.to_pixel(t, s))
    for a in p.arm_data():
        assert np.all(np.diff(a.survival) <= 1e-9), a.name
        assert np.all(np.diff(a.time) >= -1e-9), a.name


def test_arm_data_carries_how_surely_corners_and_marks_were_read(truth_ipd):
    """A detected arm's corner uncertainty is kept in pixels and comes out in data units of the
    current calibration (so it follows a corrected calibration); each censor mark keeps the
    reliability it was read with while it stays where it was read, and counts as sure once a
    person moved or added it. Before: the app's reconstruction took every traced corner and
    mark as exact (a traced black arm reconstructed at IAE 0.009 against its trace's 0.001)."""
    p = _digitized_project(truth_ipd)
    assert all(a.time_sd is None and a.censor_reliability is None for a in p.arm_data())
    arm = p.arms[0]
    arm.corner_sd_px = 0.7
    arm.censor_px = np.array([[300.0, 200.0], [200.0, 150.0], [250.0, 180.0]])
    arm.read_marks = ((200.0, 150.0, 0.2), (250.2, 180.1, 0.6), (300.0, 200.0, 0.9))
    a = p.arm_data()[0]
    # CAL: 10 px per month, 350 px per unit survival
    assert a.time_sd == pytest.approx(0.07) and a.survival_sd == pytest.approx(0.7 / 350)
    assert a.censor_times.tolist() == pytest.approx([10.0, 15.0, 20.0])
    assert a.censor_reliability.tolist() == pytest.approx([0.2, 0.6, 0.9])   # time order
    arm.censor_px = np.array([[300.0, 200.0], [203.0, 150.0]])              # one moved, one deleted
    assert p.arm_data()[0].censor_reliability.tolist() == pytest.approx([1.0, 0.9])
    p.calibration["x2"]["value"] = 120.0                                     # x axis recalibrated
    assert p.arm_data()[0].time_sd == pytest.approx(0.14)


def test_arm_data_explains_what_is_missing():
    p = sample_project()
    p.calibration = {}
    with pytest.raises(ProjectError, match="calibrate the axes"):
        p.arm_data()
    p = sample_project()
    with pytest.raises(ProjectError, match="arm 'B' has fewer than 2"):
        p.arm_data()
    p.risk_table.rows["A"][1] = "abc"
    with pytest.raises(ProjectError, match="row 'A', column 2"):
        p.arm_data()
