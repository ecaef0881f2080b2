"""Market adaptation and project spending in configs: ``[adaptation]`` (export diversion to friendly buyers,
supplier expansion) and a project's ``signed`` day and ``capex_sectors``, from the TOML to the ``ShockBatch``."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from cluster.config import ConfigError, load
from cluster.core import ShockBatch
from cluster.economy import synthetic
from cluster.parameters import declared
from configs import assert_refused, compile_config, write_config

HEAD = """
[run]
start = 2022-01-01
days = 120
draws = 4
[economy]
id = "ru-by"
[sanctions]
onset = {uniform = [10, 40]}
coalition = {default = 0.0, EU = 1.0, OSP = 1.0}
import_ban = {machinery = 0.8}
export_ban = {oil_gas_mining = 0.5}
"""
ADAPTATION = """
[adaptation]
diversion = {default = 0.1, oil_gas_mining = {uniform = [0.3, 0.7]}}
diversion_tau = {default = 120, metals = {uniform = [60, 240]}}
absorption = {beta = [2, 2]}
expansion = {default = 0.0, machinery = 0.25}
expansion_tau = 400
"""
PROJECT = """
[projects.p]
region = "BY-MI"
sector = "machinery"
capacity_share = 0.2
capex = 1.0
lead_time_years = 0.5
[policies.status_quo]
[policies.build]
projects = ["p"]
"""


# ----------------------------------------------------------------------------------------- [adaptation] --
def test_adaptation_compiles_to_the_drawn_values_for_every_policy(tmp_path: Path) -> None:
    plan, values, batch = compile_config(write_config(tmp_path, HEAD + ADAPTATION + PROJECT))
    n_pol = len(plan.policies)
    assert n_pol == 2
    ad = batch.adaptation
    for p in declared("adaptation"):
        assert p.target == f"adaptation.{p.key}"
        got = getattr(ad, p.key)
        assert got.shape == (4 * n_pol, len(plan.sectors))
        for k, sector in enumerate(plan.sectors):
            drawn = values[:, plan.names.index(f"adaptation.{p.key}.{sector}")]
            assert np.array_equal(got[:, k], np.repeat(drawn, n_pol)), (p.key, sector)  # every policy alike
    oil, metals, machinery = (plan.sectors.index(k) for k in ("oil_gas_mining", "metals", "machinery"))
    assert np.all((ad.diversion[:, oil] >= 0.3) & (ad.diversion[:, oil] <= 0.7))
    assert ad.diversion[:, oil].std() > 0  # drawn per scenario
    assert np.all(ad.diversion[:, plan.sectors.index("services")] == 0.1)
    assert np.all((ad.diversion_tau[:, metals] >= 60) & (ad.diversion_tau[:, metals] <= 240))
    assert np.all(ad.expansion[:, machinery] == 0.25)
    assert np.all(ad.expansion_tau == 400.0)
    assert np.all((ad.absorption > 0) & (ad.absorption < 1))
    # The default buyers: the economy's friendly regions that are not targets, in every row.
    friendly = [r for r, f in zip(plan.regions, load(tmp_path / "c.toml").economy.friendly, strict=True) if f]
    assert friendly
    assert np.array_equal(ad.buyers, np.repeat(np.isin(plan.regions, friendly)[None, :], 4 * n_pol, axis=0))


def test_adaptation_buyers_given_by_label(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path, HEAD + ADAPTATION + 'buyers = ["CN", "IN"]\n'))
    assert cfg.adaptation is not None
    assert cfg.adaptation.buyers == ("CN", "IN")
    _, _, batch = compile_config(tmp_path / "c.toml")
    assert set(np.flatnonzero(batch.adaptation.buyers[0])) == {cfg.economy.regions.index(r) for r in ("CN", "IN")}


def test_without_adaptation_the_batch_is_quiet_and_the_config_unchanged(tmp_path: Path) -> None:
    """No [adaptation] table: no columns, the core's quiet values, and the resolved config (its hash) as it was."""
    plan, _, batch = compile_config(write_config(tmp_path, HEAD + PROJECT))
    assert not any(n.startswith("adaptation.") for n in plan.names)
    quiet = ShockBatch.quiet(plan.baseline, batch.batch).adaptation
    for f in fields(quiet):
        assert np.array_equal(getattr(batch.adaptation, f.name), getattr(quiet, f.name)), f.name
    without = load(tmp_path / "c.toml")
    assert "adaptation" not in without.resolved
    with_it = load(write_config(tmp_path, HEAD + ADAPTATION + PROJECT, "d.toml"))
    assert with_it.resolved["adaptation"]["expansion_tau"] == 400
    assert with_it.config_hash != without.config_hash


def test_an_adaptation_run_simulates(tmp_path: Path) -> None:
    from cluster.runs import run_in_memory

    run = run_in_memory(write_config(tmp_path, HEAD + ADAPTATION + PROJECT), batch_size=8)
    assert "adaptation.diversion.oil_gas_mining" in run.params.column_names


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("[adaptation]\nbuyers = ['RU-CEN']\n", "adaptation.buyers", "target region"),
        ("[adaptation]\nbuyers = ['Mars']\n", "adaptation.buyers", "unknown region"),
        ("[adaptation]\nbuyers = 'CN'\n", "adaptation.buyers", "list of region labels"),
        ("[adaptation]\ndiversion = 1.5\n", "adaptation.diversion", "[0.0, 1.0]"),
        ("[adaptation]\ndiversion = {metals = -0.1}\n", "adaptation.diversion.metals", "[0.0, 1.0]"),
        ("[adaptation]\nabsorption = {uniform = [0.5, 1.2]}\n", "adaptation.absorption", "[0.0, 1.0]"),
        ("[adaptation]\nexpansion = {default = 2}\n", "adaptation.expansion.default", "[0.0, 1.0]"),
        ("[adaptation]\ndiversion_tau = 0.5\n", "adaptation.diversion_tau", "[1.0, inf]"),
        ("[adaptation]\nexpansion_tau = {steel = 30}\n", "adaptation.expansion_tau.steel", "unknown sector"),
        ("[adaptation]\ndiversions = 0.1\n", "adaptation.diversions", "unknown key"),
        ("adaptation = 3\n", "adaptation", "expected a table"),
    ],
)
def test_bad_adaptation_is_refused_naming_the_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    economy = "[economy]\nid = 'ru-by'\n"
    path = write_config(tmp_path, economy + text if text.startswith("[") else text + economy)  # top-level keys first
    assert_refused(path, key, hint)


# ------------------------------------------------------------------------------- projects: signed, capex --
def test_project_signed_as_a_date_and_the_default_capex_mix(tmp_path: Path) -> None:
    text = HEAD + PROJECT.replace("capex = 1.0", "capex = 1.0\nsigned = 2022-06-01")
    cfg = load(write_config(tmp_path, text))
    project = cfg.projects["p"]
    assert project.signed == 151  # 1 June 2022
    assert dict(project.capex_sectors) == {"construction": 0.6, "machinery": 0.4}
    assert "signed" not in cfg.resolved["run"]
    plan, _, batch = compile_config(tmp_path / "c.toml")
    pj = batch.projects
    build, status_quo = slice(1, None, 2), slice(0, None, 2)  # scenario-major rows: (status_quo, build) each
    assert np.all(pj.signed[build, 0] == 151)
    assert np.all(pj.online[build, 0] == 151 + 182)  # half a year after signing
    mix = np.zeros(len(plan.sectors))
    mix[plan.sectors.index("construction")], mix[plan.sectors.index("machinery")] = 0.6, 0.4
    assert np.array_equal(pj.capex_mix[build, 0], np.repeat(mix[None, :], 4, axis=0))
    assert np.all(pj.capex[build, 0] == 1.0)
    assert np.all(pj.capex_mix[status_quo] == 0)
    assert np.all(pj.capex[status_quo] == 0)


def test_project_signed_defaults_to_the_first_onset(tmp_path: Path) -> None:
    plan, values, batch = compile_config(write_config(tmp_path, HEAD + PROJECT))
    onset = np.rint(values[:, plan.names.index("onset")]).astype(np.int64)
    assert np.array_equal(batch.projects.signed[1::2, 0], onset)
    assert np.array_equal(batch.projects.online[1::2, 0], onset + 182)


def test_project_signed_may_lie_past_the_horizon_and_capex_sectors_are_given(tmp_path: Path) -> None:
    text = HEAD + PROJECT.replace(
        "capex = 1.0", "capex = 1.0\nsigned = 500\ncapex_sectors = {construction = 0.5, services = 0.25, metals = 0.25}"
    )
    plan, _, batch = compile_config(write_config(tmp_path, text))
    assert np.all(batch.projects.signed[1::2, 0] == 500)
    row = batch.projects.capex_mix[1, 0]
    assert row[plan.sectors.index("services")] == 0.25
    assert row.sum() == pytest.approx(1.0)


def test_synthetic_project_without_capex_needs_no_capex_sectors(tmp_path: Path) -> None:
    text = "[economy]\nid = 'synthetic'\n[projects.p]\nregion = 'R00'\nsector = 'S01'\ncapacity_share = 0.1\n"
    cfg = load(write_config(tmp_path, text + "[policies.a]\nprojects = ['p']\n"))
    assert dict(cfg.projects["p"].capex_sectors) == {}
    _, _, batch = compile_config(tmp_path / "c.toml")
    assert np.all(batch.projects.capex_mix == 0)


SYNTHETIC_PROJECT = "[economy]\nid = 'synthetic'\n[projects.p]\nregion = 'R00'\nsector = 'S01'\ncapacity_share = 0.1\n"


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        (SYNTHETIC_PROJECT + "capex = 2.0\n", "projects.p.capex_sectors", "needs capex_sectors"),
        (
            SYNTHETIC_PROJECT + "capex = 2.0\ncapex_sectors = {steel = 1.0}\n",
            "projects.p.capex_sectors",
            "unknown sector 'steel'",
        ),
        (
            SYNTHETIC_PROJECT + "capex = 2.0\ncapex_sectors = {S00 = 0.5, S02 = 0.4}\n",
            "projects.p.capex_sectors",
            "must sum to 1",
        ),
        (
            SYNTHETIC_PROJECT + "capex = 2.0\ncapex_sectors = {S00 = 1.2, S02 = -0.2}\n",
            "projects.p.capex_sectors",
            "must be a number > 0",
        ),
        (SYNTHETIC_PROJECT + "capex_sectors = {S00 = 'all'}\n", "projects.p.capex_sectors", "must be a number > 0"),
        (SYNTHETIC_PROJECT + "capex_sectors = [0.5, 0.5]\n", "projects.p.capex_sectors", "expected a table"),
        (SYNTHETIC_PROJECT + "capex_sectors = {}\n", "projects.p.capex_sectors", "expected a table"),
        (SYNTHETIC_PROJECT + "signed = 2022-03-01\n", "projects.p.signed", "needs [run] start"),
        ("[run]\nstart = 2022-01-01\n" + SYNTHETIC_PROJECT + "signed = 2021-12-01\n", "projects.p.signed", "[0.0"),
        (SYNTHETIC_PROJECT + "signed = -3\n", "projects.p.signed", "[0.0"),
        (SYNTHETIC_PROJECT + "signed = 'soon'\n", "projects.p.signed", "expected a number"),
    ],
)
def test_bad_project_spending_is_refused_naming_the_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    path = write_config(tmp_path, text + "[policies.a]\nprojects = ['p']\n")
    assert_refused(path, key, hint)


def test_capex_sectors_the_region_has_no_final_demand_for_are_refused(tmp_path: Path) -> None:
    """The core spends capex as final demand of the project's region, split like its baseline final demand: a
    product the region buys none of cannot take it."""
    eco = synthetic(4, 3, seed=0, n_domestic=1)
    y = eco.y.copy()
    by = y.reshape(4, 3, 4, -1)  # [origin, product, destination, category]
    by[:, 1, 1, :] += by[:, 1, 0, :]  # R00's final demand for S01 moves to R01 (outputs unchanged)
    by[:, 1, 0, :] = 0.0
    replace(eco, y=y).to_parquet(tmp_path / "eco.parquet")
    project = "[projects.p]\nregion = 'REGION'\nsector = 'S00'\ncapacity_share = 0.1\ncapex = 1.0\n"
    mix = "capex_sectors = {S01 = 0.5, S02 = 0.5}\n[policies.a]\nprojects = ['p']\n"
    text = "[economy]\npath = 'eco.parquet'\n" + project + mix
    with pytest.raises(ConfigError) as err:
        load(write_config(tmp_path, text.replace("REGION", "R00")))
    assert "[projects.p.capex_sectors]" in str(err.value)
    assert "no baseline final demand for S01" in str(err.value)
    cfg = load(write_config(tmp_path, text.replace("REGION", "R01")))  # R01 does buy S01
    assert dict(cfg.projects["p"].capex_sectors) == {"S01": 0.5, "S02": 0.5}
