"""The shared seam classes, the IPD simulator and the command dispatcher."""
import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from kmrecon.cli import SUBCOMMANDS, main
from kmrecon.data import ArmData, RiskTable
from simulate.ipd import km_corners, km_table, number_at_risk, simulate_arm


def test_risk_table_rows_must_match_times():
    with pytest.raises(ValueError, match="row 'B' has 2 counts for 3 times"):
        RiskTable(times=[0, 12, 24], n_risk={"A": [100, 80, 50], "B": [90, 70]})


def test_risk_table_for_arm_drops_blank_cells():
    rt = RiskTable(times=[0, 12, 24], n_risk={"A": [100, np.nan, 50]})
    t, n = rt.for_arm("A")
    assert t.tolist() == [0, 24] and n.tolist() == [100, 50]


def test_arm_data_validates_lengths_and_pairs():
    with pytest.raises(ValueError, match="3 times but 2 survival"):
        ArmData("A", [0, 1, 2], [1, 0.9])
    with pytest.raises(ValueError, match="go together"):
        ArmData("A", [0, 1], [1, 0.9], risk_times=[0])


def test_simulated_km_corners_match_lifelines():
    ipd = simulate_arm(300, np.random.default_rng(7), median=10, decimals=1, dropout_rate=0.02)
    t, s = km_corners(ipd.time, ipd.event)
    assert (t[0], s[0]) == (0.0, 1.0)
    assert np.all(np.diff(t) >= 0) and np.all(np.diff(s) <= 0)
    kmf = KaplanMeierFitter().fit(ipd.time, ipd.event)
    # right-continuity: the lower corner of each drop is S at that time
    np.testing.assert_allclose(kmf.survival_function_at_times(t[2::2]).to_numpy(), s[2::2])
    assert t[-1] == ipd.time.max()


def test_km_table_and_number_at_risk_agree():
    ipd = simulate_arm(120, np.random.default_rng(3), decimals=0)
    tab = km_table(ipd.time, ipd.event)
    assert tab.events.sum() == ipd.event.sum()
    assert tab.events.sum() + tab.censored.sum() == len(ipd)
    np.testing.assert_array_equal(number_at_risk(ipd.time, tab.time), tab.n_risk)


def test_simulator_median_is_roughly_right():
    ipd = simulate_arm(4000, np.random.default_rng(11), median=12, follow_up=200, accrual=1)
    kmf = KaplanMeierFitter().fit(ipd.time, ipd.event)
    assert abs(kmf.median_survival_time_ - 12) < 1.0


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "reconstruct" in capsys.readouterr().out


def test_cli_lists_every_stage():
    assert set(SUBCOMMANDS) == {"reconstruct", "extract", "pool", "gui", "batch", "agree"}


def test_write_json_is_strict_and_atomic(tmp_path):
    import json

    from kmrecon.jsonio import file_sha256, write_json

    path = tmp_path / "sub" / "a.json"
    write_json({"x": np.float64("nan"), "n": np.int64(3), "a": np.arange(2), "t": (1, 2)}, path)
    assert json.loads(path.read_text()) == {"x": None, "n": 3, "a": [0, 1], "t": [1, 2]}
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_json({"bad": object()}, path)
    assert path.read_bytes() == before  # the failed write left the old file intact
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]  # and no temp file behind
    import hashlib

    assert file_sha256(path) == hashlib.sha256(before).hexdigest()
