"""Scenario configs: every bad input is refused once, at load, naming the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cluster.cli import cli
from cluster.config import ConfigError, load
from cluster.distributions import Dist
from cluster.plan import Plan

SMOKE = Path(__file__).parents[2] / "configs" / "smoke.toml"

GOOD = """
[run]
draws = 4
days = 30
[economy]
id = "synthetic"
[sanctions]
import_ban = {default = 0.5}
[projects.p1]
region = "R00"
sector = "S01"
capacity_share = 0.2
[policies.status_quo]
[policies.build]
projects = ["p1"]
"""

BAD = {
    "unknown top-level key": ("[runn]\ndraws = 3\n", "runn", "unknown key"),
    "unknown key in a section": ("[run]\ndraw = 3\n", "run.draw", "allowed keys"),
    "wrong type": ("[run]\ndraws = 'many'\n", "run.draws", "whole number"),
    "negative draws": ("[run]\ndraws = -1\n", "run.draws", ">= 1"),
    "probability above 1": ("[sanctions]\ncoalition = {R10 = 1.5}\n", "sanctions.coalition.R10", "[0.0, 1.0]"),
    "ban outside [0, 1]": (
        "[sanctions]\nimport_ban = {S01 = {uniform = [0.2, 1.4]}}\n",
        "sanctions.import_ban.S01",
        "[0.0, 1.0]",
    ),
    "unknown sector": ("[sanctions]\nimport_ban = {steel = 0.5}\n", "sanctions.import_ban.steel", "unknown sector"),
    "unknown region": ("[economy]\nid = 'synthetic'\ntargets = ['Mars']\n", "economy.targets", "unknown region"),
    "impossible uniform": (
        "[sanctions]\nleakage = {uniform = [0.5, 0.1]}\n",
        "sanctions.leakage.uniform",
        "low <= high",
    ),
    "impossible beta": ("[sanctions]\nleakage = {beta = [0, 2]}\n", "sanctions.leakage.beta", "> 0"),
    "impossible lognormal": (
        "[sanctions]\nsubstitution_tau = {lognormal = {median = -5, sigma = 1}}\n",
        "sanctions.substitution_tau.lognormal",
        "median > 0",
    ),
    "unknown distribution": (
        "[sanctions]\nleakage = {gauss = [0, 1]}\n",
        "sanctions.leakage.gauss",
        "a distribution is",
    ),
    "unknown project": ("[policies.p]\nprojects = ['nope']\n", "policies.p.projects", "unknown project"),
    "unknown included policy": ("[policies.p]\ninclude = ['q']\n", "policies.p.include", "unknown policy"),
    "sobol needs a power of 2": ("[run]\ndraws = 100\ndesign = 'sobol'\n", "run.draws", "power of 2"),
    "unknown economy": ("[economy]\nid = 'atlantis'\n", "economy", "neither an embedded economy"),
    "not TOML": ("[run\n", "(at line 1, column 5)", "not valid TOML"),
}


def _write(tmp_path: Path, text: str, economy: bool = True) -> Path:
    path = tmp_path / "c.toml"
    if economy and "[economy]" not in text:
        text = "[economy]\nid = 'synthetic'\n" + text
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_config_is_refused_naming_the_key(tmp_path: Path, case: str) -> None:
    text, key, hint = BAD[case]
    path = _write(tmp_path, text, economy="[economy]" not in text and case != "not TOML")
    with pytest.raises(ConfigError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert key, "every case names the key (or the place in the file) its message must show"
    assert (f"{key}" if case == "not TOML" else f"[{key}]") in message
    assert hint in message
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load("does/not/exist.toml")


def test_good_config_and_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    cfg = load(path, draws=9, seed=5)
    assert (cfg.draws, cfg.seed, cfg.days) == (9, 5, 30)
    assert [p.name for p in cfg.policies] == ["status_quo", "build"]
    assert cfg.projects["p1"].values.dist("success") == Dist("fixed", (1.0,))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output


def test_shipped_configs_validate() -> None:
    for name in ("smoke", "eu_embargo", "replay_2022"):
        res = CliRunner().invoke(cli, ["validate", str(SMOKE.with_name(f"{name}.toml"))])
        assert res.exit_code == 0, res.output


@pytest.mark.parametrize("design", ["monte_carlo", "latin_hypercube", "sobol"])
def test_draws_do_not_depend_on_batching(design: str) -> None:
    """Scenario i's parameters are the same whichever batch asks for them (seeds by index)."""
    cfg = load(SMOKE, draws=16)
    plan = Plan.from_config(cfg)
    plan = Plan(**{**plan.__dict__, "design": design})
    whole = plan.draw(np.arange(16))
    parts = np.concatenate([plan.draw(np.arange(0, 5)), plan.draw(np.arange(5, 16))])
    assert np.array_equal(whole, parts)
    assert np.array_equal(plan.draw(np.array([11])), whole[[11]])
    assert whole[:, list(plan.uncertain)].std(axis=0).min() > 0  # every uncertain parameter varies


def test_policies_share_the_draws() -> None:
    """Common random numbers: the parameters recorded for every policy of a scenario are identical."""
    plan = Plan.from_config(load(SMOKE, draws=6, days=40))
    params = plan.run(np.arange(3))[1]
    table = params.to_pydict()
    names = plan.names
    for sid in range(3):
        rows = [i for i, s in enumerate(table["scenario_id"]) if s == sid]
        assert len(rows) == len(plan.policies)
        for name in names:
            assert len({table[name][i] for i in rows}) == 1, name


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_config_run_writes_nothing(tmp_path: Path, case: str) -> None:
    """``shock run`` refuses a bad config before anything starts: exit 2, the key named, no run folder."""
    text, key, _ = BAD[case]
    path = _write(tmp_path, text, economy="[economy]" not in text and case != "not TOML")
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["run", str(path), "--out", str(out), "--executor", "serial"])
    assert res.exit_code == 2
    assert key
    assert (f"{key}" if case == "not TOML" else f"[{key}]") in res.output
    assert res.output.count("\n") == 1, res.output  # one line
    assert not out.exists()


TWINS = """
[run]
draws = 8
days = 60
[economy]
id = "ru-by"
[sanctions]
onset = {uniform = [5, 20]}
import_ban = {default = {uniform = [0.2, 0.8]}}
export_ban = {oil_gas_mining = {uniform = [0.3, 1.0]}}
leakage = {default = {uniform = [0.0, 0.3]}}
substitutability = {default = {beta = [2, 2]}}
[projects.p1]
region = "BY-MI"
sector = "machinery"
capacity_share = 0.3
lead_time_years = {uniform = [0.0, 0.1]}
success = 0.6
[policies.status_quo]
[policies.twin_a]
projects = ["p1"]
cooperation = {weight = 2.0, speedup = 1.5}
[policies.twin_b]
projects = ["p1"]
cooperation = {weight = 2.0, speedup = 1.5}
"""


def test_policies_with_identical_levers_give_identical_rows(tmp_path: Path) -> None:
    """Common random numbers: two policies with the same levers see the same draws, so every metric of every
    (scenario, region) is the same to the bit; a policy with other levers does differ."""
    from cluster.runs import run_in_memory

    path = tmp_path / "twins.toml"
    path.write_text(TWINS)
    table = run_in_memory(path, batch_size=8).results.to_pydict()
    rows: dict[str, dict[tuple[int, str], tuple[object, ...]]] = {}
    metrics = [name for name in table if name not in ("scenario_id", "policy", "region")]
    for i, policy in enumerate(table["policy"]):
        key = (table["scenario_id"][i], table["region"][i])
        rows.setdefault(policy, {})[key] = tuple(table[m][i] for m in metrics)
    assert len(rows["twin_a"]) == 8 * 22
    assert rows["twin_a"] == rows["twin_b"]
    assert rows["twin_a"] != rows["status_quo"]


def test_a_pickled_plan_runs_to_the_same_bits() -> None:
    """A plan travels to Ray workers by pickle: the copy must compile and simulate exactly like the original
    (nothing may depend on object identity, which pickling does not keep)."""
    import pickle

    plan = Plan.from_config(load(SMOKE, draws=8, days=40))
    copy = pickle.loads(pickle.dumps(plan))
    ids = np.arange(8)
    here, there = plan.run(ids), copy.run(ids)
    assert len(here) == len(there) == 5  # results, params, periods, no trajectories, trade
    for mine, theirs in zip(here, there, strict=True):
        assert mine == theirs if mine is None else mine.equals(theirs)
    assert here[0].column("va_loss").to_numpy().sum() > 0  # the package bites: the comparison is not of zeros


def test_overrides_stay_through_further_overrides() -> None:
    """``with_overrides`` keeps the overrides the config was loaded with (a Config built with --draws and --days,
    then given an --out, still runs those draws and days)."""
    cfg = load(SMOKE, draws=7, days=40).with_overrides(out="elsewhere")
    assert (cfg.draws, cfg.days, cfg.out) == (7, 40, "elsewhere")
    assert cfg.config_hash == load(SMOKE, draws=7, days=40, out="elsewhere").config_hash
