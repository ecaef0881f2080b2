"""An economy named by id or path, re-tagged or aggregated, and the same through the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cluster.cli import cli
from cluster.economies import load, resolve
from cluster.economy import synthetic
from cluster.errors import EconomyError


def test_embedded_id_with_new_domestic_tags() -> None:
    eco = resolve("pymrio-test", domestic=["reg4"])
    assert eco.domestic.tolist() == [False, False, False, True, False, False]
    with pytest.raises(EconomyError, match="'regX'"):
        resolve("pymrio-test", domestic=["regX"])


def test_path_and_concordance(tmp_path: Path) -> None:
    eco = synthetic(4, 3, seed=2, n_domestic=2)
    path = tmp_path / "eco.parquet"
    eco.to_parquet(path)
    again = resolve(str(path))
    assert np.array_equal(again.z, eco.z)
    assert again.domestic.tolist() == eco.domestic.tolist()
    conc = tmp_path / "c.toml"
    conc.write_text('[regions]\nR00 = "home"\nR01 = "home"\nR02 = "abroad"\nR03 = "abroad"\n')
    agg = resolve(str(path), concordance=conc)
    assert agg.regions == ("home", "abroad")
    assert agg.z.sum() == pytest.approx(eco.z.sum(), rel=1e-12)


def test_unknown_spec_names_the_choices() -> None:
    with pytest.raises(EconomyError, match="neither an embedded economy"):
        resolve("no-such-economy")


def test_cli_reads_a_table_path(tmp_path: Path) -> None:
    path = tmp_path / "eco.parquet"
    load("synthetic").to_parquet(path)
    res = CliRunner().invoke(cli, ["economy", "show", str(path)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("economy synthetic-22x10-0")
    res = CliRunner().invoke(cli, ["simulate", "--economy", str(path), "--draws", "2", "--days", "20"])
    assert res.exit_code == 0, res.output
