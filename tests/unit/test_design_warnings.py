"""``shock validate`` warns when a design is too small for its dimension: measured on the design itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from cluster.cli import cli
from cluster.config import load
from cluster.plan import Plan
from cluster.runs import DESIGN_CORRELATION_LIMIT, design_warnings

ROOT = Path(__file__).resolve().parents[2]


def _sobol(tmp_path: Path, draws: int) -> Path:
    text = (ROOT / "configs" / "eu_embargo.toml").read_text()
    text = re.sub(r'design = "\w+"', 'design = "sobol"', text)
    path = tmp_path / "sobol.toml"
    path.write_text(re.sub(r"(?m)^draws = \d+", f"draws = {draws}", text))
    return path


def _worst(path: Path, draws: int) -> float:
    plan = Plan.from_config(load(path, draws=draws))
    corr = np.abs(np.corrcoef(plan.uniforms(np.arange(draws)), rowvar=False))
    np.fill_diagonal(corr, 0)
    return float(corr.max())


def test_a_sobol_design_with_too_few_points_is_warned_about_with_the_draws_that_fix_it(tmp_path: Path) -> None:
    path = _sobol(tmp_path, 128)
    (line,) = design_warnings(load(path))
    worst = _worst(path, 128)
    assert worst > DESIGN_CORRELATION_LIMIT
    assert f"correlate at {worst:.2f}" in line
    enough = int(re.search(r"use at least ([\d,]+) draws", line).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert _worst(path, enough) <= DESIGN_CORRELATION_LIMIT < _worst(path, enough // 2)
    res = CliRunner().invoke(cli, ["validate", str(path), "--no-estimate"])
    assert res.exit_code == 0
    assert res.stderr == f"warning: {line}\n"


def test_enough_points_raise_no_warning(tmp_path: Path) -> None:
    assert design_warnings(load(_sobol(tmp_path, 1024))) == []
    assert design_warnings(load(ROOT / "configs" / "eu_embargo.toml")) == []
