"""Final-demand paths in configs: ``[demand.NAME]`` shocks by region or country and sector, with dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from cluster.config import ConfigError, load
from cluster.plan import Plan
from cluster.runs import run_in_memory

BASE = """
[run]
start = 2022-01-01
days = 150
draws = 4
[economy]
id = "ru-by"
[sanctions]
onset = 2022-02-24
coalition = {default = 0.0, EU = 1.0, OSP = 1.0}
import_ban = {machinery = 0.8}
"""
PUSH = """
[demand.military]
regions = ["RU"]
sectors = ["construction", "services"]
change = {uniform = [0.2, 0.4]}
onset = 2022-04-01
ramp_days = 30
"""


def _write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_demand_shock_names_its_regions_by_country_and_its_dates(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, BASE + PUSH))
    (shock,) = cfg.demand
    assert shock.regions == tuple(r for r in cfg.economy.regions if r.startswith("RU-"))
    assert shock.sectors == ("construction", "services")
    assert shock.values.dist("onset").fixed_value() == 90  # 1 April 2022
    names = Plan.from_config(cfg).names
    assert {"demand.military.change", "demand.military.onset", "demand.military.duration"} <= set(names)


def test_a_demand_push_raises_value_added_from_its_onset_only(tmp_path: Path) -> None:
    without = run_in_memory(_write(tmp_path, BASE, "a.toml"), batch_size=8).periods
    push = run_in_memory(_write(tmp_path, BASE + PUSH, "b.toml"), batch_size=8).periods

    def loss(table, period: str) -> np.ndarray:  # type: ignore[no-untyped-def]
        rows = table.filter(pc.and_(pc.equal(table["region"], "RU"), pc.equal(table["period"], period)))
        return rows.sort_by([("scenario_id", "ascending")])["va_loss"].to_numpy()

    assert np.array_equal(loss(without, "2022Q1"), loss(push, "2022Q1"))  # before 1 April: the same bits
    assert np.all(loss(push, "2022Q2") < loss(without, "2022Q2"))  # extra orders: more output, less loss


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("[demand.a]\nregions = ['Mars']\nchange = 0.1\n", "demand.a.regions", "unknown region or country"),
        ("[demand.a]\nsectors = ['steel']\nchange = 0.1\n", "demand.a.sectors", "the economy's sectors"),
        ("[demand.a]\nchange = -1.5\n", "demand.a.change", "[-1.0, 10.0]"),
        ("[demand.a]\nchange = 0.1\nends = 3\n", "demand.a.ends", "unknown key"),
    ],
)
def test_bad_demand_shocks_are_refused_naming_the_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, "[economy]\nid = 'ru-by'\n" + text))
    assert f"[{key}]" in str(err.value)
    assert hint in str(err.value)


def test_a_push_on_an_import_banned_sector_crowds_out_its_buyers(tmp_path: Path) -> None:
    """The same push on machinery and vehicles, whose imported inputs are banned, *raises* Russia's loss: the
    extra final orders reach producers short of inputs, and proportional rationing takes the difference out of
    their intermediate buyers (docs/model.md, crowding out). A demand push helps only where capacity is free."""
    machinery = PUSH.replace('["construction", "services"]', '["machinery", "vehicles"]')
    without = run_in_memory(_write(tmp_path, BASE, "a.toml"), batch_size=8).results
    push = run_in_memory(_write(tmp_path, BASE + machinery, "b.toml"), batch_size=8).results
    ru = pc.starts_with(without["region"], "RU-")
    assert push.filter(ru)["va_loss"].to_numpy().sum() > without.filter(ru)["va_loss"].to_numpy().sum()
