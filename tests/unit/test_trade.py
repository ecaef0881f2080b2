"""Trade by partner in the run's tables: country pairs by period, volume and value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cluster.runs import run_in_memory

CONFIGS = Path(__file__).parents[2] / "configs"
DOMESTIC = ("RU", "BY")
FRIENDLY = ("CN", "IN", "TR", "KZCA", "ROW")


@pytest.fixture(scope="module")
def replay() -> pa.Table:
    """The shipped replay, 4 draws over calendar 2022, status quo only."""
    out = run_in_memory(CONFIGS / "replay_2022.toml", draws=4, days=365, batch_size=8)
    assert out.trade is not None
    return out.trade.filter(pc.equal(out.trade["policy"], "status_quo"))


def _bloc_trade(trade: pa.Table, period: str, what: str) -> dict[str, np.ndarray]:
    """The domestic bloc's exports plus imports with each partner in a period, per scenario."""
    rows = trade.filter(pc.equal(trade["period"], period)).to_pydict()
    out: dict[str, np.ndarray] = {}
    for i, (o, d) in enumerate(zip(rows["origin"], rows["destination"], strict=True)):
        inside = (o in DOMESTIC, d in DOMESTIC)
        if inside == (True, False) or inside == (False, True):
            partner = d if inside[0] else o
            out.setdefault(partner, np.zeros(4))[rows["scenario_id"][i]] += rows[what][i]
    return out


@pytest.mark.parametrize("what", ["volume", "value"])
def test_the_eu_share_falls_and_the_friendly_share_rises(replay: pa.Table, what: str) -> None:
    before, after = _bloc_trade(replay, "2022Q1", what), _bloc_trade(replay, "2022Q4", what)

    def share(trade: dict[str, np.ndarray], partners: tuple[str, ...]) -> np.ndarray:
        return sum(trade[p] for p in partners) / sum(trade.values())

    assert np.all(share(after, ("EU",)) < share(before, ("EU",)))
    assert np.all(share(after, FRIENDLY) > share(before, FRIENDLY))


def test_trade_rows_add_up_over_periods_and_match_exports(replay: pa.Table) -> None:
    quarters = sum(_bloc_trade(replay, q, "volume")["EU"] for q in ("2022Q1", "2022Q2", "2022Q3", "2022Q4"))
    np.testing.assert_allclose(quarters, _bloc_trade(replay, "2022", "volume")["EU"], rtol=1e-12)
    np.testing.assert_allclose(quarters, _bloc_trade(replay, "all", "volume")["EU"], rtol=1e-12)
    ru_by = replay.filter(
        pc.and_(
            pc.equal(replay["period"], "all"),
            pc.and_(pc.equal(replay["origin"], "RU"), pc.equal(replay["destination"], "BY")),
        )
    )
    assert ru_by.num_rows == 4
    assert np.all(ru_by["volume"].to_numpy() > 0)  # Russia-Belarus trade is a row of its own


def test_a_world_price_rise_on_the_targets_exports_is_income_not_volume(tmp_path: Path) -> None:
    """``[prices]``: oil up 40% from the sanctions' start: the targets' income loss falls, their real value added
    (and every physical flow) is bit-identical; without prices, premia or discounts income equals value added."""
    base = (CONFIGS / "smoke.toml").read_text().replace("leakage_premium = 0.3", "leakage_premium = 0.0")
    base = base.replace("discount = 0.15", "discount = 0.0")
    plain = tmp_path / "plain.toml"
    plain.write_text(base)
    priced = tmp_path / "priced.toml"
    priced.write_text(base + "\n[prices]\nlevel = {oil_gas_mining = 0.4}\nonset = 10\ntau = 365\n")
    a = run_in_memory(plain, draws=8, batch_size=8).results
    b = run_in_memory(priced, draws=8, batch_size=8).results
    for name in ("va_loss", "unmet_final_demand", "exports_lost", "ct_exports"):
        assert a[name].equals(b[name]), name
    np.testing.assert_allclose(a["income_loss"].to_numpy(), a["va_loss"].to_numpy(), rtol=1e-9, atol=1e-9)
    ru = pc.starts_with(a["region"], "RU-")
    gain = a.filter(ru)["income_loss"].to_numpy() - b.filter(ru)["income_loss"].to_numpy()
    assert np.all(gain >= -1e-9)
    assert gain.sum() > 0  # Russia exports oil: a higher world price is income
