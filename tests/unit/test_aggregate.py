"""Aggregation by a concordance: totals preserved block by block, tags carried, steady state kept, bad files refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cluster.aggregate import Concordance, aggregate, read_concordance
from cluster.core import ShockBatch, simulate
from cluster.economy import Economy
from cluster.errors import EconomyError
from cluster.loaders import from_iosystem

pymrio = pytest.importorskip("pymrio")

REGIONS = {"reg1": "home", "reg2": "home", "reg3": "west", "reg4": "west", "reg5": "east", "reg6": "east"}
SECTORS = {
    "food": "primary",
    "mining": "primary",
    "manufactoring": "industry",
    "electricity": "industry",
    "construction": "services",
    "trade": "services",
    "transport": "logistics",
    "other": "services",
}
TOML = "\n".join(
    [
        "[regions]",
        *(f'{k} = "{v}"' for k, v in REGIONS.items()),
        "[sectors]",
        *(f'{k} = "{v}"' for k, v in SECTORS.items()),
    ]
)
CSV = "kind,source,target\n" + "".join(
    [*(f"region,{k},{v}\n" for k, v in REGIONS.items()), *(f"sector,{k},{v}\n" for k, v in SECTORS.items())]
)


@pytest.fixture(scope="module")
def io() -> Any:
    system = pymrio.load_test()
    system.calc_all()
    return system


@pytest.fixture(scope="module")
def economy(io: Any) -> Economy:
    base = from_iosystem(io, id="pymrio-test", domestic=("reg1", "reg2"))
    return replace(base, coalition=np.array([0, 0, 1, 1, 1, 0], dtype=bool), friendly=np.arange(6) == 5)


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    path = tmp_path / "districts.toml"
    path.write_text(TOML)
    return path


def _members(labels: tuple[str, ...], mapping: dict[str, str], target: str) -> list[int]:
    return [i for i, lab in enumerate(labels) if mapping[lab] == target]


def test_totals_are_preserved_block_by_block(economy: Economy, toml_file: Path) -> None:
    agg = aggregate(economy, read_concordance(toml_file))
    assert agg.regions == ("home", "west", "east")
    assert agg.sectors == ("primary", "industry", "services", "logistics")
    assert agg.fd_categories == economy.fd_categories
    assert agg.z.shape == (12, 12)
    assert agg.y.shape == (12, 3 * 7)
    np.testing.assert_allclose(agg.z.sum(), economy.z.sum(), rtol=1e-12)
    np.testing.assert_allclose(agg.y.sum(), economy.y.sum(), rtol=1e-12)
    s0, s1, c = len(economy.sectors), len(agg.sectors), len(agg.fd_categories)

    def sources(i: int) -> list[int]:  # source industries of target industry i
        rs = _members(economy.regions, REGIONS, agg.regions[i // s1])
        ss = _members(economy.sectors, SECTORS, agg.sectors[i % s1])
        return [r * s0 + s for r in rs for s in ss]

    for i in range(agg.n):
        for j in range(agg.n):
            np.testing.assert_allclose(agg.z[i, j], economy.z[np.ix_(sources(i), sources(j))].sum(), rtol=1e-12)
        for t, region in enumerate(agg.regions):
            cols = [r * c + k for r in _members(economy.regions, REGIONS, region) for k in range(c)]
            for k in range(c):
                want = economy.y[np.ix_(sources(i), cols[k::c])].sum()
                np.testing.assert_allclose(agg.y[i, t * c + k], want, rtol=1e-12, atol=1e-12 * abs(economy.y).max())
        np.testing.assert_allclose(agg.x[i], economy.x[sources(i)].sum(), rtol=1e-12)
        np.testing.assert_allclose(agg.value_added[i], economy.value_added[sources(i)].sum(), rtol=1e-12)


def test_tags_follow_the_documented_rule(economy: Economy, toml_file: Path) -> None:
    agg = aggregate(economy, read_concordance(toml_file))
    assert agg.domestic.tolist() == [True, False, False]
    assert agg.coalition.tolist() == [False, True, False]  # east merges coalition reg5 with reg6
    assert agg.friendly.tolist() == [False, False, False]
    assert agg.country == ("home", "west", "east")
    assert agg.id == "pymrio-test:districts"
    assert agg.provenance["concordance"] == str(toml_file)
    assert agg.unit == economy.unit


def test_csv_and_toml_agree(economy: Economy, toml_file: Path, tmp_path: Path) -> None:
    (tmp_path / "districts.csv").write_text(CSV)
    from_csv = aggregate(economy, read_concordance(tmp_path / "districts.csv"))
    from_toml = aggregate(economy, read_concordance(toml_file))
    np.testing.assert_array_equal(from_csv.z, from_toml.z)
    np.testing.assert_array_equal(from_csv.y, from_toml.y)
    assert (from_csv.regions, from_csv.sectors) == (from_toml.regions, from_toml.sectors)


def test_identity_stays_detailed(economy: Economy, tmp_path: Path) -> None:
    path = tmp_path / "same.csv"
    path.write_text("kind,source,target\n" + "".join(f"sector,{s},{s}\n" for s in economy.sectors))
    agg = aggregate(economy, read_concordance(path))  # no region entries: regions kept as they are
    assert (agg.regions, agg.sectors) == (economy.regions, economy.sectors)
    np.testing.assert_array_equal(agg.z, economy.z)
    np.testing.assert_array_equal(agg.y, economy.y)
    np.testing.assert_array_equal(agg.domestic, economy.domestic)
    assert agg.country == economy.country


def test_categories_and_keep_unlisted(economy: Economy, tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    cats = {cat: ("households" if i == 0 else "other") for i, cat in enumerate(economy.fd_categories)}
    path.write_text(
        "keep_unlisted = true\n[regions]\nreg5 = 'rest'\nreg6 = 'rest'\n[categories]\n"
        + "".join(f'"{k}" = "{v}"\n' for k, v in cats.items())
    )
    agg = aggregate(economy, read_concordance(path))
    assert agg.regions == ("rest", "reg1", "reg2", "reg3", "reg4")
    assert agg.fd_categories == ("households", "other")
    np.testing.assert_allclose(agg.y.sum(), economy.y.sum(), rtol=1e-12)
    hh = economy.y[:, 0::7].sum()
    np.testing.assert_allclose(agg.y[:, 0::2].sum(), hh, rtol=1e-12)
    assert agg.domestic.tolist() == [False, True, True, False, False]
    with pytest.raises(EconomyError, match=r"does not map the regions \['reg1', 'reg2', 'reg3', 'reg4'\]"):
        aggregate(economy, read_concordance(path, keep_unlisted=False))  # the argument overrides the file


def test_steady_state_before_and_after(io: Any, toml_file: Path) -> None:
    """pymrio IOSystem -> Economy -> aggregated -> baseline: a quiet year stays at baseline output."""
    detailed = from_iosystem(io, domestic=("reg1", "reg2"))
    for economy in (detailed, aggregate(detailed, read_concordance(toml_file))):
        bl = economy.baseline()
        out = simulate(bl, ShockBatch.quiet(bl, 3), 365, trajectories="daily")
        assert out.production_path is not None
        x0 = bl.x0.reshape(bl.n_regions, bl.n_sectors).sum(axis=1)
        assert out.production_path.shape == (3, 365, bl.n_regions)
        np.testing.assert_allclose(out.production_path / x0, 1.0, rtol=0, atol=1e-12)


BAD_FILES = {
    "unknown source": (
        "x.toml",
        '[regions]\nreg1 = "a"\nreg9 = "a"\n',
        r"'.*x.toml': region labels \['reg9'\] are not in economy",
    ),
    "unlisted": ("x.toml", '[sectors]\nfood = "f"\n', r"'.*x.toml' does not map the sectors \['mining', .*'other'\]"),
    "empty target csv": (
        "x.csv",
        "kind,source,target\nregion,reg1,\n",
        r"'.*x.csv', line 2: region 'reg1' maps to an "
        "empty target",
    ),
    "empty target toml": ("x.toml", '[regions]\nreg1 = " "\n', r"'.*x.toml': region 'reg1' maps to an empty target"),
    "empty table": ("x.toml", "[regions]\n", r"'.*x.toml': \[regions\] is empty; leave it out"),
    "nothing mapped": ("x.csv", "kind,source,target\n", r"'.*x.csv' maps nothing"),
    "two targets csv": (
        "x.csv",
        "kind,source,target\nregion,reg1,a\nsector,reg1,b\nregion,reg1,b\n",
        r"'.*x.csv', line 4: region 'reg1' is mapped to 'a' \(line 2\) and to 'b'",
    ),
    "two targets toml": (
        "x.toml",
        '[regions]\nreg1 = "a"\nreg1 = "b"\n',
        r"'.*x.toml' is not valid TOML: .*the label in 'reg1 = \"b\"' is listed twice",
    ),
    "mixed domestic": (
        "x.toml",
        "keep_unlisted = true\n[regions]\nreg2 = 'reg3'\n",
        r"'.*x.toml': region 'reg3' merges domestic \['reg2'\] with foreign \['reg3'\]",
    ),
    "bad kind": ("x.csv", "kind,source,target\ncountry,reg1,a\n", r"'.*x.csv', line 2: kind 'country' is not region"),
    "bad header": (
        "x.csv",
        "source,target\nreg1,a\n",
        r"'.*x.csv': the first line must be the header kind,source,target",
    ),
    "unknown key": ("x.toml", '[region]\nreg1 = "a"\n', r"'.*x.toml': unknown keys \['region'\]; allowed: \['regions'"),
    "dotted label": (
        "x.toml",
        '[sectors]\nC10.1 = "food"\n',
        r"\[sectors\] 'C10' maps to \{'1': 'food'\}, not a label; quote labels that hold dots: \"C10.1\"",
    ),
    "bad keep_unlisted": ("x.toml", 'keep_unlisted = "yes"\n', r"keep_unlisted must be true or false, not 'yes'"),
    "suffix": ("x.json", "{}", r"'.*x.json': a concordance is a .csv or .toml file, not '.json'"),
}


@pytest.mark.parametrize(("name", "text", "match"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_concordance_is_refused(economy: Economy, tmp_path: Path, name: str, text: str, match: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(EconomyError, match=match):
        aggregate(economy, read_concordance(tmp_path / name))


def test_missing_concordance_file(tmp_path: Path) -> None:
    with pytest.raises(EconomyError, match=r"no such concordance file: '.*nope.toml'"):
        read_concordance(tmp_path / "nope.toml")


def test_concordance_built_in_code(economy: Economy) -> None:
    agg = aggregate(economy, Concordance(sectors=SECTORS, path="inline"), id="coarse")
    assert (agg.id, agg.regions, len(agg.sectors)) == ("coarse", economy.regions, 4)
    with pytest.raises(EconomyError, match=r"concordance 'inline': sector 'food' maps to an empty target"):
        Concordance(sectors={"food": ""}, path="inline")
    with pytest.raises(EconomyError, match=r"concordance 'inline': region 'a' is mapped to 'x' and to 'y'"):
        Concordance(regions={"a": "x", " a ": "y"}, path="inline")
