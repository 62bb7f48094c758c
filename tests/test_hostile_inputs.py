"""Bad and hostile inputs: each is refused with a KMReconError naming what to fix (exit 2 from
the command line), never a traceback, a damaged input or a silently wrong result. The heavy
cases (huge images, solver limits, full disks, the app) are in benchmarks/hostile_inputs.py."""
from __future__ import annotations

import base64
import errno
import io
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from kmrecon.cli import _join_signed_values, main
from kmrecon.errors import KMReconError
from kmrecon.jsonio import OutputError, atomic_path, atomic_paths, check_outputs
from kmrecon.project import ProjectError, Project, load_project

CURVE = "arm,time,survival\n" + "".join(f"A,{t},{1 - t / 40:.4f}\n" for t in range(0, 30, 2))
RISK = "arm,time,n_risk\nA,0,60\nA,10,30\nA,20,15\n"
MARKS = "arm,time\nA,5\n"


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "curve.csv").write_text(CURVE)
    (tmp_path / "risk.csv").write_text(RISK)
    (tmp_path / "marks.csv").write_text(MARKS)
    return tmp_path


# ----------------------------------------------------------------------------- command line

@pytest.mark.parametrize("extra, message", [
    (["--n", "A=1e400"], "whole number"),
    (["--n", "A=100000000"], "more than 10,000,000"),
    (["--n", "A=-5"], "whole number"),
    (["--n", "A=abc"], "not a number"),
    (["--n", "=5"], "arm name before '=' is empty"),
    (["--n", "Z=5"], "no arm 'Z'"),
    (["--total-events", "A=1e400"], "whole number"),
    (["--risk-table", "big.csv"], "more than 10,000,000 patients"),
    (["--risk-table", "text.csv"], "line 2: n_risk 'many' is not a number"),
])
def test_reconstruct_refuses_bad_numbers(inputs, capsys, extra, message):
    (inputs / "big.csv").write_text("arm,time,n_risk\nA,0,1000000000\n")
    (inputs / "text.csv").write_text("arm,time,n_risk\nA,0,many\n")
    status, _, err = run(["reconstruct", "curve.csv", *extra, "--out", "o/ipd.csv"], capsys)
    assert status == 2 and message in err
    assert not (inputs / "o").exists()


@pytest.mark.parametrize("flag, name", [(None, "curve.csv"), ("--risk-table", "risk.csv"),
                                        ("--censor-marks", "marks.csv")])
def test_reconstruct_never_overwrites_an_input(inputs, capsys, flag, name):
    before = (inputs / name).read_bytes()
    argv = ["reconstruct", "curve.csv"] + ([flag, name] if flag else []) + ["--out", f"./x/../{name}"]
    (inputs / "x").mkdir()
    status, _, err = run(argv, capsys)
    assert status == 2 and "would overwrite the input" in err
    assert (inputs / name).read_bytes() == before


def test_rising_curve_is_called_cumulative_incidence(inputs, capsys):
    (inputs / "inc.csv").write_text("time,survival\n" + "".join(f"{t},{t / 40:.3f}\n" for t in range(0, 30, 2)))
    status, _, err = run(["reconstruct", "inc.csv", "--n", "50", "--out", "o/ipd.csv"], capsys)
    assert status == 2 and "cumulative incidence" in err


def test_outputs_follow_the_umask_and_form_a_set(inputs, capsys):
    old = os.umask(0o022)
    try:
        (inputs / "o").mkdir()
        (inputs / "o" / "ipd.csv").write_text("old\n")
        os.chmod(inputs / "o" / "ipd.csv", 0o644)
        status, _, _ = run(["reconstruct", "curve.csv", "--risk-table", "risk.csv", "--out", "o/ipd.csv"], capsys)
    finally:
        os.umask(old)
    assert status == 0
    for name in ("ipd.csv", "ipd.diagnostics.json"):
        assert stat.S_IMODE((inputs / "o" / name).stat().st_mode) == 0o644
    assert not [p for p in (inputs / "o").iterdir() if p.name.startswith(".")]


def test_output_under_a_file_is_a_clear_error(inputs, capsys):
    (inputs / "afile").write_text("x")
    status, _, err = run(["reconstruct", "curve.csv", "--out", "afile/ipd.csv"], capsys)
    assert status == 2 and "cannot write" in err and "afile" in err


def test_atomic_path_wraps_os_errors_and_cleans_up(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        with atomic_path(tmp_path / "f" / "out.csv") as tmp:
            tmp.write_text("never")
    with pytest.raises(OutputError, match="No space left"):   # a full disk during the write
        with atomic_path(tmp_path / "g.csv") as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_a_set_of_outputs_is_all_old_or_all_new(tmp_path):
    names = [tmp_path / f"{n}.csv" for n in "abc"]
    for p in names:
        p.write_text("old")
    with pytest.raises(OutputError):
        with atomic_paths(names) as tmps:
            tmps[0].write_text("new")
            tmps[1].write_text("new")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmps[2]))
    assert [p.read_text() for p in names] == ["old"] * 3
    assert len(list(tmp_path.iterdir())) == 3
    with atomic_paths(names) as tmps:
        for t in tmps:
            t.write_text("new")
    assert [p.read_text() for p in names] == ["new"] * 3


def test_check_outputs_sees_through_symlinks(tmp_path):
    (tmp_path / "in.csv").write_text("x")
    os.symlink(tmp_path / "in.csv", tmp_path / "link.csv")
    with pytest.raises(OutputError, match="overwrite the input"):
        check_outputs([tmp_path / "link.csv"], [tmp_path / "in.csv"])


@pytest.mark.parametrize("argv, joined", [
    (["extract", "f.png", "--x1", "-10,482=0"], ["extract", "f.png", "--x1=-10,482=0"]),
    (["extract", "f.png", "--y2", "-3.5,-2=1"], ["extract", "f.png", "--y2=-3.5,-2=1"]),
    (["extract", "f.png", "--x1", "10,482=0"], ["extract", "f.png", "--x1", "10,482=0"]),
    (["pool", "t.csv", "--out", "-dir"], ["pool", "t.csv", "--out", "-dir"]),
])
def test_negative_pixel_points_need_no_equals_sign(argv, joined):
    assert _join_signed_values(argv) == joined


@pytest.mark.parametrize("arm, message", [
    ("A=#1f77b4:1.2.3", "tolerance"), ("A=#1f77b4:-5", "tolerance"), ("A=#1f77b4:1e400", "tolerance"),
    (" =#1f77b4", "arm name is empty"), ("A=#zzzzzz", "NAME=#RRGGBB"),
])
def test_extract_arm_option(tmp_path, monkeypatch, capsys, arm, message):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(["extract", "nofig.png", "--arm", arm, "--out", "o/ipd.csv"], capsys)
    assert status == 2 and message in err


@pytest.mark.parametrize("dpi", ["0", "5", "5000"])
def test_dpi_range_is_stated_once(tmp_path, monkeypatch, capsys, dpi):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(["extract", "f.pdf", "--dpi", dpi, "--out", "o/ipd.csv"], capsys)
    assert status == 2 and "10-1200" in err


def test_extract_does_not_replace_a_project_with_its_sidecar(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.json").write_text(json.dumps({"format": "kmrecon-project", "version": 1}))
    before = (tmp_path / "study.json").read_bytes()
    status, _, err = run(["extract", "fig.png", "--out", "study.csv"], capsys)
    assert status == 2 and "not a kmrecon extract sidecar" in err
    assert (tmp_path / "study.json").read_bytes() == before


def test_empty_pdf_message_is_clear(tmp_path):
    from digitize.image import ImageLoadError, load_image

    (tmp_path / "e.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    with pytest.raises(ImageLoadError) as exc:
        load_image(tmp_path / "e.pdf")
    assert "PDFium: Success" not in str(exc.value) and "damaged" in str(exc.value)


def test_zero_click_on_tiny_and_blank_images():
    from digitize.auto import detect_figure

    with pytest.raises(KMReconError, match="at least 20x20"):
        detect_figure(np.zeros((1, 1, 3), np.uint8))
    det = detect_figure(np.full((3000, 3000, 3), 255, np.uint8))   # bails out before the pipeline
    assert det.calibration is None and any("blank" in w for w in det.warnings) and det.seconds < 5


# ----------------------------------------------------------------------------- calibration

def _cal(**over):
    from digitize.calibrate import AxisPoint, Calibration

    pts = {"x1": (100, 500, 0), "x2": (600, 500, 30), "y1": (100, 500, 0), "y2": (100, 50, 1)}
    pts.update(over)
    flags = {k: pts.pop(k) for k in ("reversed_x", "reversed_y") if k in pts}
    return Calibration(*(AxisPoint(*pts[k]) for k in ("x1", "x2", "y1", "y2")), **flags)


@pytest.mark.parametrize("over, message", [
    ({"x1": (600, 500, 0), "x2": (100, 500, 30)}, "time axis runs right to left"),
    ({"y1": (100, 50, 0), "y2": (100, 500, 1)}, "survival axis runs downwards"),
])
def test_calibration_direction_is_checked(over, message):
    from digitize.calibrate import CalibrationError

    with pytest.raises(CalibrationError, match=message):
        _cal(**over)


def test_a_reversed_axis_can_be_declared():
    cal = _cal(x1=(600, 500, 0), x2=(100, 500, 30), reversed_x=True)
    t, _ = cal.to_data(np.array([600.0, 100.0]), np.array([500.0, 500.0]))
    assert t == pytest.approx([0, 30])
    from digitize.calibrate import Calibration

    assert Calibration.from_dict(cal.to_dict()).reversed_x


# ----------------------------------------------------------------------------- project files

def _project(tmp_path, mutate=None, text=None, name="p.kmrecon"):
    d = Project().to_dict()
    d["arms"] = [{"name": "A", "rgb": [1, 2, 3], "points_px": [[1, 2], [3, 4]], "n_total": 10}]
    d["image"] = {"path": "fig.png", "sha256": None, "page": 0, "dpi": 200, "crop": None, "png_base64": None}
    if mutate:
        mutate(d)
    path = tmp_path / name
    path.write_text(text if text is not None else json.dumps(d).replace("Infinity", "1e400"), encoding="utf-8")
    return path


def _png(w, h) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (w, h), 1).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=float("inf")), "version: expected a whole number"),
    (lambda d: d["arms"][0].update(rgb=[float("inf"), 0, 0]), "arms[0].rgb[0]"),
    (lambda d: d["arms"][0].update(n_total=float("inf")), "arms[0].n_total"),
    (lambda d: d["arms"][0].update(name=" "), "arms[0].name"),
    (lambda d: d["image"].update(crop=[0, 0, 0, 0]), "empty crop"),
    (lambda d: d["image"].update(crop=[-5, 0, 10, 10]), "image.crop[0]"),
    (lambda d: d["image"].update(crop=[0, 0, float("inf"), 10]), "image.crop[2]"),
    (lambda d: d["image"].update(path=12), "image.path: expected text"),
    (lambda d: d["image"].update(png_base64=7), "image.png_base64: expected text"),
    (lambda d: d["image"].update(png_base64=_png(20000, 20000)), "megapixel"),
    (lambda d: d["image"].update(png_base64=_png(30, 20), png_sha256="0" * 64), "png_sha256"),
    (lambda d: d["calibration"].update(x1={"px": float("inf"), "py": 1, "value": 0}), "calibration.x1.px"),
    (lambda d: d.update(risk_table={"times": ["0"], "rows": {"A": [{"a": 1}]}}), "risk_table row 'A'"),
    (lambda d: d["settings"].update(method="magic"), "settings.method"),
])
def test_project_fields_are_typed_and_ranged(tmp_path, mutate, message):
    with pytest.raises(ProjectError) as exc:
        load_project(_project(tmp_path, mutate))
    assert message in str(exc.value)


@pytest.mark.parametrize("text, message", [
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"a":' * 50000 + "1" + "}" * 50000, "nested too deeply"),
    ("\x00\xff\xfe", "not valid JSON"),
])
def test_project_files_that_are_not_projects(tmp_path, text, message):
    with pytest.raises(ProjectError, match=message):
        load_project(_project(tmp_path, text=text))


def test_project_with_a_byte_order_mark_loads(tmp_path):
    path = _project(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_project(path).arms[0].name == "A"


def test_embedded_image_round_trip_and_crop_inside_image(tmp_path):
    from kmrecon.project import encode_png, save_project

    img = np.zeros((40, 60, 3), np.uint8)
    img[10:20, 5:50] = (200, 30, 30)
    p = load_project(_project(tmp_path))
    p.image.png_base64, p.image.path = encode_png(img), None
    save_project(p, tmp_path / "e.kmrecon")
    saved = json.loads((tmp_path / "e.kmrecon").read_text())
    assert len(saved["image"]["png_sha256"]) == 64
    assert np.array_equal(load_project(tmp_path / "e.kmrecon").load_image(), img)
    (tmp_path / "fig.png").write_bytes(base64.b64decode(encode_png(img)))
    q = load_project(_project(tmp_path, lambda d: d["image"].update(crop=[50, 30, 500, 500])))
    with pytest.raises(ProjectError, match="does not lie inside"):
        q.load_image(tmp_path)


# ----------------------------------------------------------------------------- pooling

HEAD = "study,subgroup,median,median_ci_low,median_ci_high,n\n"


@pytest.mark.parametrize("table, message", [
    (HEAD + "A,lung,10,5,20,30\nA,lung,12,6,22,40\n", "appears on rows 2 and 3 with different 'median'"),
    (HEAD + "A,lung,10,5,20,30\nA,liver,10,5,20,30\n", "different 'subgroup'"),
    (HEAD + "A,lung,ten,5,20,30\n", "row 2, column 'median': 'ten' is not a number"),
    (HEAD + "A,lung,10,5,twenty,30\n", "column 'median_ci_high'"),
    (HEAD + "A,lung,100,130,80,30\n", "swap median_ci_low and median_ci_high"),
    (HEAD + "A,lung,200,130,180,30\n", "outside its CI"),
    (HEAD + "A,lung,10,5,20,1e400\n", "not a finite number"),
    ("study,subgroup,time,survival,n_risk,events\nA,lung,0,1,0,\nA,lung,12,0.8,0,\n", "0 at risk at time 0"),
    ("study,subgroup,time,survival,n_risk,events\nA,lung,0,1,50,\nA,lung,12,0.8,40,lots\n", "column 'events'"),
])
def test_pool_refuses_bad_study_tables(tmp_path, table, message):
    from pooling.studies import read_studies

    (tmp_path / "t.csv").write_text(table)
    with pytest.raises(KMReconError) as exc:
        read_studies(tmp_path / "t.csv")
    assert message in str(exc.value)


def test_pool_fixed_effect_with_hk_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(HEAD + "A,lung,10,5,20,30\nB,lung,12,6,22,40\n")
    status, _, err = run(["pool", "t.csv", "--method", "fe", "--hk", "--out", "o", "--no-figures"], capsys)
    assert status == 2 and "random-effects" in err


def test_pool_never_writes_over_its_study_table(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o").mkdir()
    table = HEAD + "A,lung,10,5,20,30\nB,lung,12,6,22,40\n"
    (tmp_path / "o" / "pooled.csv").write_text(table)
    status, _, err = run(["pool", "o/pooled.csv", "--out", "o", "--no-figures"], capsys)
    assert status == 2 and "would overwrite the input" in err
    assert (tmp_path / "o" / "pooled.csv").read_text() == table
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["pooled.csv"]


def test_pool_notes_rows_it_cannot_use(tmp_path):
    from pooling.pool import pool_studies

    table = ("study,subgroup,time,survival,n_risk,events\nA,lung,0,1,50,\nA,lung,12,0.8,40,\nA,lung,24,0,30,\n"
             "B,lung,0,1,40,\nB,lung,12,0.7,30,\nB,lung,24,0.5,20,\n")
    (tmp_path / "t.csv").write_text(table)
    res = pool_studies(tmp_path / "t.csv", times=[12, 24])
    assert any("A S(24)" in n and "left out" in n for n in res.notes)
    assert any("below Greenwood" in n for n in res.notes)


def test_pool_piped_into_head_ends_quietly(tmp_path):
    import subprocess
    import sys

    (tmp_path / "t.csv").write_text(HEAD + "A,lung,10,5,20,30\nB,lung,12,6,22,40\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    r = subprocess.run(f"{sys.executable} -m kmrecon pool t.csv --out o --no-figures | head -c 1",
                       shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr


# ----------------------------------------------------------------------------- the app

def test_app_logs_unexpected_errors_instead_of_showing_a_traceback(qtbot, tmp_path):
    from gui.main_window import MainWindow

    w = MainWindow(settings_path=str(tmp_path / "s.ini"), recovery_dir=str(tmp_path / "rec"),
                   autosave_seconds=3600, auto_propose=False)
    qtbot.addWidget(w)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        import traceback

        w.report_unexpected(exc, traceback.format_exc())
    kind, title, text = w.messages[-1]
    assert title == "Unexpected error" and "Traceback" not in text and "errors.log" in text
    log = (tmp_path / "rec" / "errors.log").read_text()
    assert "Traceback" in log and "boom" in log


def test_app_shows_bad_project_fields_as_a_message(qtbot, tmp_path):
    from gui.main_window import MainWindow

    w = MainWindow(settings_path=str(tmp_path / "s.ini"), recovery_dir=str(tmp_path / "rec"),
                   autosave_seconds=3600, auto_propose=False)
    qtbot.addWidget(w)
    path = _project(tmp_path, lambda d: d["image"].update(crop=[0, 0, 0, 0]))
    w.open_file(str(path))
    kind, title, text = w.messages[-1]
    assert title == "Cannot open file" and "image.crop" in text
