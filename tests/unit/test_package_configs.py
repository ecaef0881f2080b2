"""Sanction packages in configs: named packages with dates, defaults from [sanctions], their columns, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from cluster.config import ConfigError, load
from cluster.plan import Plan
from cluster.runs import run_in_memory

HEAD = """
[run]
start = 2022-01-01
days = 200
draws = 4
[economy]
id = "ru-by"
[sanctions]
coalition = {default = 0.0, EU = 1.0, OSP = 1.0}
leakage = 0.1
substitutability = 0.5
[sanctions.packages.first]
onset = 2022-02-24
import_ban = {machinery = 0.8, electronics = 0.9}
"""
SECOND = """
[sanctions.packages.oil]
onset = 2022-05-01
end = 2022-06-15
export_ban = {oil_gas_mining = 0.6}
leakage = {oil_gas_mining = 0.3}
"""


def _write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_named_packages_take_dates_defaults_and_their_own_columns(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, HEAD + SECOND))
    assert [p.name for p in cfg.packages] == ["first", "oil"]
    first, oil = cfg.packages
    assert first.values.dist("onset").fixed_value() == 54  # 24 February 2022
    assert oil.values.dist("onset").fixed_value() == 120  # 1 May
    assert oil.values.dist("duration").fixed_value() == 45  # lifted on 15 June
    assert first.values.dist("duration") is None  # for good
    assert first.values.per("coalition")["EU"].fixed_value() == 1.0  # the [sanctions] default
    assert oil.values.per("leakage")["oil_gas_mining"].fixed_value() == 0.3  # its own
    assert oil.values.per("leakage")["metals"].fixed_value() == 0.0  # its own table's default, not [sanctions]'s
    names = Plan.from_config(cfg).names
    assert names[0] == "package.first.onset"
    assert "package.oil.export_ban.oil_gas_mining" in names
    assert "substitutability.metals" in names  # run-level parameters keep their bare names
    assert "leakage.metals" in names  # [sanctions] leakage: one draw, shared by the packages without their own
    assert "package.oil.leakage.oil_gas_mining" in names
    assert not any(n.startswith("package.first.leakage") for n in names)
    assert not any(n.startswith("onset") for n in names)
    assert "package.first.divertible" in names  # one per package, as onset
    assert "package.oil.divertible" in names
    assert not any("targets" in n for n in names)  # a package's targets are structural: not recorded
    assert first.targets == oil.targets == cfg.targets  # by default, every target of the run


def test_a_later_package_changes_nothing_before_its_onset(tmp_path: Path) -> None:
    """Everything fixed: the run with the oil package is bit-identical to the run without it up to its onset
    (1 May 2022, in the second quarter), in every period that ends before, and differs after."""
    one = run_in_memory(_write(tmp_path, HEAD, "one.toml"), batch_size=8).periods
    two = run_in_memory(_write(tmp_path, HEAD + SECOND, "two.toml"), batch_size=8).periods
    for label, same in (("2022Q1", True), ("2022Q2", False)):
        a = one.filter(pc.equal(one["period"], label))
        b = two.filter(pc.equal(two["period"], label))
        for name in ("va_loss", "exports_lost", "unmet_final_demand"):
            equal = np.array_equal(a[name].to_numpy(), b[name].to_numpy())
            assert equal == same, (label, name)
    assert one.filter(pc.equal(one["period"], "2022Q1"))["va_loss"].to_numpy().max() > 0


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("[sanctions.packages.a]\nonset = 2022-03-01\n", "sanctions.packages.a.onset", "needs [run] start"),
        ("[run]\nstart = 2022-01-01\n[sanctions.packages.a]\nend = 'soon'\n", "sanctions.packages.a.end", "date"),
        (
            "[run]\nstart = 2022-01-01\n[sanctions.packages.a]\nonset = 2022-03-01\nend = 2022-02-01\n",
            "sanctions.packages.a.end",
            "after the onset",
        ),
        ("[sanctions.packages.a]\nonset = 3\nend = 10\nduration = 5\n", "sanctions.packages.a.end", "not both"),
        (
            "[sanctions.packages.a]\nonset = {uniform = [1, 5]}\nend = 10\n",
            "sanctions.packages.a.end",
            "fixed onset",
        ),
        ("[sanctions.packages.a]\nimport_bans = 0.5\n", "sanctions.packages.a.import_bans", "unknown key"),
        ("[sanctions]\npackages = {}\n", "sanctions.packages", "at least one package"),
        ("[sanctions]\nimport_ban = 2\n[sanctions.packages.a]\n", "sanctions.import_ban", "[0.0, 1.0]"),
        ("[sanctions.packages.a]\ntargets = ['R09']\n", "sanctions.packages.a.targets", "not among the run's targets"),
        ("[sanctions.packages.a]\ndivertible = 1.5\n", "sanctions.packages.a.divertible", "[0.0, 1.0]"),
        ("[run]\ndays = 30\nstart = 2022-01-01\n[sanctions]\nonset = 2022-03-01\n", "sanctions.onset", "[0.0, 29"),
    ],
)
def test_bad_packages_are_refused_naming_the_key(tmp_path: Path, text: str, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, "[economy]\nid = 'synthetic'\n" + text))
    message = str(err.value)
    assert f"[{key}]" in message, message
    assert hint in message, message


def test_a_named_package_may_start_after_the_horizon_and_then_never_acts(tmp_path: Path) -> None:
    """A shortened run of a phased sequence: the later package is accepted, and the run is the run without it."""
    late = SECOND.replace("onset = 2022-05-01\nend = 2022-06-15", "onset = 2023-02-05")
    short = HEAD.replace("days = 200", "days = 60")
    with_late = run_in_memory(_write(tmp_path, short + late, "late.toml"), batch_size=8).results
    without = run_in_memory(_write(tmp_path, short, "without.toml"), batch_size=8).results
    assert with_late.equals(without)


def test_a_config_with_dates_runs_to_a_run_folder_whose_manifest_is_json(tmp_path: Path) -> None:
    """Dates in packages reach the manifest as ISO strings (the manifest is JSON; the hash is taken of it)."""
    import json

    from cluster.runs import run_config

    path = _write(tmp_path, HEAD + SECOND)
    run_config(path, out=str(tmp_path / "run"), executor="serial", batch_size=8)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["config"]["sanctions"]["packages"]["oil"]["onset"] == "2022-05-01"
    assert manifest["config"]["run"]["start"] == "2022-01-01"
