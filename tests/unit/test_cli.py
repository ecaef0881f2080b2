"""The ``shock`` command through click's runner."""

from __future__ import annotations

from click.testing import CliRunner

from cluster.cli import cli


def test_simulate_prints_a_table() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--draws", "4", "--days", "40", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert "value-added loss" in res.output
    assert sum(1 for line in res.output.splitlines() if line.startswith("R")) == 22


def test_simulate_is_deterministic_for_a_seed() -> None:
    args = ["simulate", "--draws", "4", "--days", "40", "--seed", "3"]
    first, second = CliRunner().invoke(cli, args), CliRunner().invoke(cli, args)
    table = [line for line in first.output.splitlines() if line.startswith("R")]
    assert table == [line for line in second.output.splitlines() if line.startswith("R")]


def test_bad_option_exits_2() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--draws", "0"])
    assert res.exit_code == 2
    assert "--draws" in res.output
