"""A sanction package's ``targets`` (the run's targets it applies to) and ``divertible`` (the share of the exports
it blocks that friendly buyers can take instead): from the TOML to ``ShockBatch.sanctions``, inherited from
``[sanctions]``, and refused naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cluster.cli import cli
from cluster.config import ConfigError, load
from cluster.plan import Plan
from cluster.runs import run_in_memory
from configs import assert_refused, compile_config, write_config

HEAD = """
[run]
days = 60
draws = 4
[economy]
id = "ru-by"
[sanctions]
coalition = {default = 0.0, EU = 1.0, OSP = 1.0}
import_ban = 0.5
export_ban = 0.5
"""
PACKAGES = """
[sanctions.packages.belarus]
targets = ["BY"]
divertible = {uniform = [0.0, 0.5]}
[sanctions.packages.all]
onset = 10
[policies.status_quo]
[policies.other]
"""


def _of(plan: Plan, country: str) -> np.ndarray:
    return np.array([r.startswith(f"{country}-") for r in plan.regions])


def test_a_belarus_only_package_closes_no_link_of_russia(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path, HEAD + PACKAGES))
    belarus, every = cfg.packages
    assert belarus.targets == tuple(r for r in cfg.economy.regions if r.startswith("BY-"))
    assert every.targets == cfg.targets  # the default: every target of the run
    plan, _, batch = compile_config(write_config(tmp_path, HEAD + PACKAGES))
    ru, by = _of(plan, "RU"), _of(plan, "BY")
    assert np.array_equal(batch.target, ru | by)  # the run's targets, whatever a package applies to
    coalition = np.isin(plan.regions, ["EU", "OSP"])
    emb = batch.sanctions.embargo  # (B, K, R, S, R) [origin, product, destination]
    assert emb.shape[1] == 2
    by_only, for_all = emb[:, 0], emb[:, 1]
    assert not by_only[:, ru].any()  # no link from a Russian region
    assert not by_only[:, :, :, ru].any()  # nor to one
    assert (by_only[:, coalition][:, :, :, by] > 0).all()  # the coalition's exports to Belarus: banned
    assert (by_only[:, by][:, :, :, coalition] > 0).all()  # Belarus's exports to the coalition: banned
    for side in (ru, by):  # the package without targets closes the links of every target
        assert (for_all[:, coalition][:, :, :, side] > 0).all()
        assert (for_all[:, side][:, :, :, coalition] > 0).all()
    closed = emb.any(axis=(0, 1, 3))  # (R, R): a link some package closes for some product
    tgt = ru | by
    allowed = (coalition[:, None] & tgt[None, :]) | (tgt[:, None] & coalition[None, :])
    assert not closed[~allowed].any()  # nothing between partners, nor within the targets


def test_a_belarus_only_package_runs_and_hits_belarus(tmp_path: Path) -> None:
    text = HEAD + "[sanctions.packages.belarus]\ntargets = ['BY']\n"
    out = run_in_memory(write_config(tmp_path, text), batch_size=4).results
    regions = np.array(out["region"].to_pylist())
    loss = out["va_loss"].to_numpy()
    assert loss[np.char.startswith(regions.astype(str), "BY-")].max() > 0


def test_divertible_is_drawn_per_package_and_set_in_the_batch(tmp_path: Path) -> None:
    plan, values, batch = compile_config(write_config(tmp_path, HEAD + PACKAGES))
    names = list(plan.names)
    assert "package.belarus.divertible" in names
    assert "package.all.divertible" in names
    drawn = values[:, names.index("package.belarus.divertible")]
    assert drawn.std() > 0
    assert ((drawn >= 0) & (drawn <= 0.5)).all()
    div = batch.sanctions.divertible
    assert div.shape == (4 * 2, 2)  # (scenarios x policies, packages)
    assert np.array_equal(div[:, 0], np.repeat(drawn, 2))  # the same draw under every policy
    assert np.array_equal(div[:, 1], np.ones(8))  # the default: all of it
    assert np.array_equal(values[:, names.index("package.all.divertible")], np.ones(4))


def test_the_sanctions_table_own_package_takes_both_keys(tmp_path: Path) -> None:
    text = HEAD + "targets = ['BY-MI', 'BY-BR']\ndivertible = 0.25\n"
    cfg = load(write_config(tmp_path, text))
    assert cfg.packages[0].targets == ("BY-BR", "BY-MI")  # in the economy's order
    plan, _, batch = compile_config(write_config(tmp_path, text))
    assert "divertible" in plan.names  # bare, as onset
    assert np.array_equal(batch.sanctions.divertible, np.full((4, 1), 0.25))
    closed = batch.sanctions.embargo[:, 0].any(axis=(0, 2))  # (R, R): some product closed on the link
    hit = np.isin(plan.regions, ["BY-BR", "BY-MI"])
    assert not closed[~hit][:, ~hit].any()  # only links of the two regions
    assert closed[hit].any()
    assert closed[:, hit].any()


def test_packages_inherit_targets_and_divertible_from_sanctions(tmp_path: Path) -> None:
    text = (
        HEAD
        + """targets = ["BY"]
divertible = 0.0
[sanctions.packages.inherits]
[sanctions.packages.own]
targets = ["RU-CEN", "BY-MI"]
divertible = 0.75
"""
    )
    cfg = load(write_config(tmp_path, text))
    inherits, own = cfg.packages
    assert inherits.targets == tuple(r for r in cfg.economy.regions if r.startswith("BY-"))
    assert own.targets == ("RU-CEN", "BY-MI")
    plan, _, batch = compile_config(write_config(tmp_path, text))
    assert np.array_equal(batch.sanctions.divertible[0], [0.0, 0.75])
    emb = batch.sanctions.embargo
    ru = _of(plan, "RU")
    assert not emb[:, 0][:, ru].any()
    assert emb[:, 1][:, plan.regions.index("EU"), :, plan.regions.index("RU-CEN")].any()
    assert not emb[:, 1][:, plan.regions.index("EU"), :, plan.regions.index("RU-NW")].any()


def test_the_config_hash_of_a_config_without_the_keys_records_neither(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path, HEAD))
    assert cfg.resolved["sanctions"] == {
        "coalition": {"default": 0.0, "EU": 1.0, "OSP": 1.0},
        "import_ban": 0.5,
        "export_ban": 0.5,
    }
    given = load(write_config(tmp_path, HEAD + "targets = ['BY']\n", "given.toml"))
    assert given.config_hash != cfg.config_hash


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("[sanctions.packages.a]\ntargets = ['EU']\n", "sanctions.packages.a.targets", "region EU is not among"),
        ("[sanctions.packages.a]\ntargets = ['BY', 'XX']\n", "sanctions.packages.a.targets", "unknown region or"),
        ("[sanctions.packages.a]\ntargets = []\n", "sanctions.packages.a.targets", "drop the key"),
        ("[sanctions.packages.a]\ntargets = 'BY'\n", "sanctions.packages.a.targets", "expected a list"),
        ("[sanctions.packages.a]\ntargets = [1]\n", "sanctions.packages.a.targets", "expected a list"),
        ("[sanctions]\ntargets = ['CN']\n[sanctions.packages.a]\n", "sanctions.targets", "region CN is not among"),
        ("[sanctions]\ntargets = []\n", "sanctions.targets", "the run's targets are RU-CEN"),
        ("[sanctions.packages.a]\ndivertible = 1.5\n", "sanctions.packages.a.divertible", "[0.0, 1.0]"),
        ("[sanctions.packages.a]\ndivertible = -0.1\n", "sanctions.packages.a.divertible", "[0.0, 1.0]"),
        (
            "[sanctions.packages.a]\ndivertible = {uniform = [0.5, 1.2]}\n",
            "sanctions.packages.a.divertible",
            "[0.0, 1.0]",
        ),
        (
            "[sanctions.packages.a]\ndivertible = {metals = 0}\n",
            "sanctions.packages.a.divertible",
            "unknown distribution",
        ),
        ("[sanctions]\ndivertible = 2\n[sanctions.packages.a]\n", "sanctions.divertible", "[0.0, 1.0]"),
    ],
)
def test_bad_targets_and_divertible_are_refused_naming_the_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    path = write_config(tmp_path, "[economy]\nid = 'ru-by'\n" + text)
    assert_refused(path, key, hint)


def test_a_country_with_regions_outside_the_targets_is_refused(tmp_path: Path) -> None:
    """With only Russia's regions as targets, ``targets = ["BY"]`` names regions that are not targets."""
    text = (
        "[economy]\nid = 'ru-by'\ntargets = ['RU-CEN', 'RU-NW']\n"
        "[sanctions.packages.a]\ntargets = ['RU']\ncoalition = {EU = 1.0}\nexport_ban = 0.5\n"
    )
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(path)
    message = str(err.value)
    assert "[sanctions.packages.a.targets] = 'RU'" in message, message
    assert "country RU has regions (RU-SOU" in message, message
    assert "the run's targets are RU-CEN, RU-NW ([economy] targets)" in message, message
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    ok = load(write_config(tmp_path, text.replace("['RU']", "['RU-NW']"), "ok.toml"))
    assert ok.packages[0].targets == ("RU-NW",)
