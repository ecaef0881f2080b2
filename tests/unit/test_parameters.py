"""The parameter declarations drive the config, the parameters table and the docs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import cluster
from cluster.config import ConfigError, load
from cluster.parameters import PARAMETERS, Param, column, config_reference
from cluster.plan import Plan

ROOT = Path(cluster.__file__).resolve().parents[1]

#: Where each section's parameters go in a config, and the label a per-label parameter is given for.
PLACE = {
    "package": ("[sanctions]\n{key} = {value}\n", "sanctions.{key}"),
    "sanctions": ("[sanctions]\n{key} = {value}\n", "sanctions.{key}"),
    "ario": ("[ario]\n{key} = {value}\n", "ario.{key}"),
    "project": (
        "[projects.p]\nregion = 'R00'\nsector = 'S01'\n{share}{key} = {value}\n[policies.a]\nprojects = ['p']\n",
        "projects.p.{key}",
    ),
    "counter_trade": ("[policies.a]\ncounter_trade = {{{key} = {value}}}\n", "policies.a.counter_trade.{key}"),
    "cooperation": ("[policies.a]\ncooperation = {{{key} = {value}}}\n", "policies.a.cooperation.{key}"),
    "prices": ("[prices]\n{key} = {value}\n", "prices.{key}"),
    "demand": ("[demand.d]\n{key} = {value}\n", "demand.d.{key}"),
    "adaptation": ("[adaptation]\n{key} = {value}\n", "adaptation.{key}"),
}


def _config(tmp_path: Path, p: Param, value: str) -> Path:
    template, _ = PLACE[p.section]
    if p.over != "scenario":
        value = f"{{default = {value}}}"
    share = "" if p.key in ("capacity", "capacity_share") else "capacity_share = 0.1\n"
    text = "[run]\ndays = 40\n[economy]\nid = 'synthetic'\n" + template.format(key=p.key, value=value, share=share)
    text += "[demand.moving]\nchange = 0.05\n"  # something to simulate: a config that moves nothing is refused
    path = tmp_path / f"{p.section}-{p.key}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("p", PARAMETERS, ids=[f"{p.section}.{p.key}" for p in PARAMETERS])
def test_every_declared_parameter_is_a_config_key_checked_against_its_bounds(tmp_path: Path, p: Param) -> None:
    """A value inside the declared bounds is accepted; one below (above) them is refused naming the key."""
    inside = p.default if p.default is not None else max(p.low, 0.0)
    load(_config(tmp_path, p, repr(float(inside)) if p.kind != "integer" else str(int(inside))))
    _, key = PLACE[p.section]
    for outside in (p.low - 1.0, (p.high + 1.0) if math.isfinite(p.high) else None, 41.0 if p.within_horizon else None):
        if outside is None or not math.isfinite(outside):
            continue
        text = str(int(outside)) if p.kind == "integer" else repr(outside)
        with pytest.raises(ConfigError) as err:
            load(_config(tmp_path, p, text))
        assert f"[{key.format(key=p.key)}" in str(err.value)


def test_the_parameters_table_has_one_column_per_recorded_value() -> None:
    cfg = load(ROOT / "configs" / "eu_embargo.toml")
    plan = Plan.from_config(cfg)
    sectors, partners = cfg.economy.sectors, cfg.partners
    expected: list[str] = []
    for p in PARAMETERS:  # eu_embargo's [sanctions] is its one package: bare names; no package leakage of its own
        if not p.recorded or p.optional or p.section in ("project", "counter_trade", "prices", "demand", "adaptation"):
            continue
        labels = {"sector": sectors, "partner": partners}.get(p.over)
        expected += [column(p, label=lab) for lab in labels] if labels else [column(p)]
    for name in cfg.projects:
        expected += [column(p, owner=name) for p in PARAMETERS if p.section == "project" and p.recorded]
    for pol in cfg.policies:
        if pol.counter_trade is not None:
            expected += [column(p, owner=pol.name) for p in PARAMETERS if p.section == "counter_trade" and p.recorded]
    for p in PARAMETERS:  # world prices last: a run without them keeps its other columns where they were
        if p.section == "prices":
            expected += [column(p, label=lab) for lab in sectors] if p.over == "sector" else [column(p)]
    assert list(plan.names) == expected  # no [adaptation] table: no adaptation columns


def test_docs_config_reference_is_generated_from_the_declarations() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text == config_reference(), "docs/config.md is stale: run python scripts/config_reference.py"
    for p in PARAMETERS:
        assert f"| `{p.key}` |" in text
