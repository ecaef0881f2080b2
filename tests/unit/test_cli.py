"""The ``shock`` command through click's runner."""

from __future__ import annotations

from click.testing import CliRunner

from cluster.cli import cli


def _rows(output: str) -> list[list[str]]:
    """The summary rows of ``shock simulate`` (policy ``levers``), split into cells."""
    return [line.split() for line in output.splitlines() if line.startswith("levers ")]


def test_simulate_prints_a_table() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--economy", "synthetic", "--draws", "4", "--days", "40"])
    assert res.exit_code == 0, res.output
    assert "va_loss_pct per policy and region" in res.output
    rows = _rows(res.output)
    assert [row[1] for row in rows] == [f"R{i:02d}" for i in range(22)]
    assert all(row[2] == row[1] for row in rows)  # a synthetic region's long name is its label
    assert all(row[3] == "4" for row in rows)  # four draws in every region
    losses = [float(row[4]) for row in rows]
    assert max(losses) > 0  # the package does bite somewhere


def test_simulate_runs_the_default_economy() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--draws", "2", "--days", "40"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("economy ru-by: 22 regions x 10 sectors")
    regions = [row[1] for row in _rows(res.output)]
    assert regions[:2] == ["RU-CEN", "RU-NW"]
    assert regions[-1] == "ROW"
    assert "Central Federal District" in res.output  # long names beside the codes


def test_user_errors_are_one_line_programming_errors_keep_their_traceback() -> None:
    """``InputError`` -> one line and exit 2; anything else (``ShapeError`` included) -> exit 1, traceback kept."""
    import click

    from cluster.errors import InputError, ShapeError

    @click.command("boom")
    @click.argument("kind")
    def boom(kind: str) -> None:
        raise InputError("config x.toml: [run.draws] = -1: must be >= 1") if kind == "user" else ShapeError("bad")

    cli.add_command(boom)
    try:
        user = CliRunner().invoke(cli, ["boom", "user"])
        assert user.exit_code == 2
        assert user.output == "error: config x.toml: [run.draws] = -1: must be >= 1\n"
        bug = CliRunner().invoke(cli, ["boom", "bug"])
        assert bug.exit_code == 1
        assert isinstance(bug.exception, ShapeError)
        assert bug.exc_info is not None
        assert bug.exc_info[2] is not None  # the traceback is there for the report
    finally:
        cli.commands.pop("boom")


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
    assert _rows(first.output) == _rows(second.output)
    assert len(_rows(first.output)) == 22


def test_bad_option_exits_2() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--draws", "0"])
    assert res.exit_code == 2
    assert "--draws" in res.output
