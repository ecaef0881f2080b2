"""The ``shock`` command through click's runner."""

from __future__ import annotations

from click.testing import CliRunner

from cluster.cli import cli


def test_simulate_prints_a_table() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--economy", "synthetic", "--draws", "4", "--days", "40"])
    assert res.exit_code == 0, res.output
    assert "value-added loss" in res.output
    assert sum(1 for line in res.output.splitlines() if line.startswith("R")) == 22


def test_simulate_runs_the_default_economy() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--draws", "2", "--days", "30"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("economy ru-by: 22 regions x 10 sectors")
    rows = [line.split()[0] for line in res.output.splitlines()[3:]]
    assert rows[:2] == ["RU-CEN", "RU-NW"]
    assert rows[-1] == "ROW"


def test_economies_lists_the_embedded_ones() -> None:
    res = CliRunner().invoke(cli, ["economies"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1].startswith("ru-by")
    assert "(default)" in lines[1]
    assert any(line.startswith("synthetic") for line in lines)


def test_economy_show_prints_regions_sectors_and_partners() -> None:
    res = CliRunner().invoke(cli, ["economy", "show", "ru-by"])
    assert res.exit_code == 0, res.output
    assert "RU-CEN" in res.output
    assert "trade of the domestic regions by partner" in res.output
    assert CliRunner().invoke(cli, ["economy", "show", "nope"]).exit_code == 2


def test_simulate_is_deterministic_for_a_seed() -> None:
    args = ["simulate", "--economy", "synthetic", "--draws", "4", "--days", "40", "--seed", "3"]
    first, second = CliRunner().invoke(cli, args), CliRunner().invoke(cli, args)
    table = [line for line in first.output.splitlines() if line.startswith("R")]
    assert table == [line for line in second.output.splitlines() if line.startswith("R")]


def test_bad_option_exits_2() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--draws", "0"])
    assert res.exit_code == 2
    assert "--draws" in res.output
